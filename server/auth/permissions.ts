/**
 * Roles and permissions (issue 10). The catalog of permissions lives here, with what each one
 * opens; which role holds which permission is data (table `role_permissions`, defaults in
 * migration 020, edited by the security admin through /api/admin/permissions). Every route of
 * the app names the permission it needs in server/auth/route-permissions.ts; geographic scope
 * then bounds what a permitted user reads and changes (server/auth/scope.ts). docs/permissions.md
 * shows the default matrix.
 */

/** The roles of users (users.role), with the three administrators (三员) first. */
export const ROLES = [
  'admin', // 系统管理员: users, configuration, base geodata — no cases, no personal data
  'security_admin', // 安全管理员: roles and permissions
  'auditor', // 安全审计员: reads the audit log only
  'leader', // 领导
  'acceptor', // 受理员
  'shift_leader', // 值班长
  'dispatcher', // 派遣员
  'supervisor', // 监督员
  'handler', // 处置部门
  'worker', // 网格员
  'citizen', // 公众: public intake only
  'wall', // 大屏 kiosk, bound to its screen
] as const
export type Role = (typeof ROLES)[number]

export const ROLE_LABELS: Record<Role, { 'zh-CN': string; en: string }> = {
  admin: { 'zh-CN': '系统管理员', en: 'System administrator' },
  security_admin: { 'zh-CN': '安全管理员', en: 'Security administrator' },
  auditor: { 'zh-CN': '安全审计员', en: 'Audit administrator' },
  leader: { 'zh-CN': '领导', en: 'Leader' },
  acceptor: { 'zh-CN': '受理员', en: 'Acceptor' },
  shift_leader: { 'zh-CN': '值班长', en: 'Shift leader' },
  dispatcher: { 'zh-CN': '派遣员', en: 'Dispatcher' },
  supervisor: { 'zh-CN': '监督员', en: 'Supervisor' },
  handler: { 'zh-CN': '处置部门', en: 'Department handler' },
  worker: { 'zh-CN': '网格员', en: 'Grid worker' },
  citizen: { 'zh-CN': '公众', en: 'Citizen' },
  wall: { 'zh-CN': '指挥大屏', en: 'Wall kiosk' },
}

/** Every permission, with what it opens (docs/permissions.md repeats this table). */
export const PERMISSIONS = {
  'map.base': { 'zh-CN': '底图与行政区划、网格图层', en: 'Base map, admin divisions and grids' },
  'map.objects': { 'zh-CN': '城市部件、感知设备、摄像机、重点场所图层与周边查询', en: 'City parts, sensors, cameras, key places and spatial queries' },
  'cases.read': { 'zh-CN': '查看案件', en: 'Read cases' },
  'cases.act': { 'zh-CN': '上报与办理案件（具体环节由职责决定）', en: 'Report and work cases (the duties decide which steps)' },
  'cases.import': { 'zh-CN': '导入热线案件', en: 'Import hotline cases' },
  'workers.read': { 'zh-CN': '查看网格员位置与轨迹', en: 'Read workers’ positions and tracks' },
  'positions.report': { 'zh-CN': '上报自身位置', en: 'Report own position' },
  'positions.relay': { 'zh-CN': '代报网格员位置（终端平台、模拟器）', en: 'Report positions for other workers (terminal platforms, the simulator)' },
  'people.read': { 'zh-CN': '查看实有人口（脱敏）', en: 'Read residents (masked)' },
  'people.unmask': { 'zh-CN': '查看未脱敏个人信息（留痕审计）', en: 'Read personal data unmasked (audited)' },
  'stats.read': { 'zh-CN': '查看指标、考核与统计', en: 'Read indicators, assessment and statistics' },
  'wall.view': { 'zh-CN': '观看大屏与大屏接口', en: 'Watch the wall' },
  'screens.push': { 'zh-CN': '向大屏推送视角', en: 'Push a view to a screen' },
  'alarms.read': { 'zh-CN': '查看告警', en: 'Read alarms' },
  'alarms.handle': { 'zh-CN': '确认与处理告警', en: 'Acknowledge and resolve alarms' },
  'cameras.view': { 'zh-CN': '观看视频', en: 'Watch camera streams' },
  'cameras.ptz': { 'zh-CN': '控制云台', en: 'Turn cameras (PTZ)' },
  'sensors.manage': { 'zh-CN': '维护感知设备', en: 'Maintain sensors' },
  'devices.manage': { 'zh-CN': '管理设备接入凭据', en: 'Manage device credentials' },
  'data.manage': { 'zh-CN': '导入基础地理数据与数据统计', en: 'Import base geodata; data statistics' },
  'data.export': { 'zh-CN': '导出图层数据', en: 'Export layer data' },
  'config.manage': { 'zh-CN': '系统配置（考核规则等）', en: 'System configuration (assessment rules…)' },
  'users.manage': { 'zh-CN': '管理用户账号（创建、停用、管辖范围）', en: 'Manage user accounts (create, disable, scope)' },
  'permissions.manage': { 'zh-CN': '分配角色与编辑权限矩阵', en: 'Assign roles and edit the permission matrix' },
  'audit.read': { 'zh-CN': '查阅与导出审计日志', en: 'Browse and export the audit log' },
} as const
export type Permission = keyof typeof PERMISSIONS
export const PERMISSION_KEYS = Object.keys(PERMISSIONS) as Permission[]

/**
 * The permissions of the three administrators are fixed: none of them may hold another's
 * (三员分立), whatever the matrix is edited to. Roles outside this table may hold none of these.
 */
export const ADMIN_PERMISSIONS: Partial<Record<Role, readonly Permission[]>> = {
  admin: ['users.manage', 'config.manage', 'data.manage', 'devices.manage'],
  security_admin: ['permissions.manage'],
  auditor: ['audit.read'],
}

/** Why the role may not hold this permission, or null when it may. */
export function separationConflict(role: Role, permission: Permission): string | null {
  for (const [owner, perms] of Object.entries(ADMIN_PERMISSIONS) as [Role, readonly Permission[]][]) {
    if (owner !== role && perms.includes(permission)) return `${permission} belongs to the ${owner} role only (separation of the three administrators)`
  }
  // The administrators do their own job only: no cases, no personal data, no operations.
  const own = ADMIN_PERMISSIONS[role]
  if (own && role !== 'admin' && !own.includes(permission)) return `the ${role} role holds ${own.join(', ')} only (separation of the three administrators)`
  if (role === 'admin' && /^(cases|people|workers|positions|screens|alarms|cameras|stats|wall)\./.test(permission)) {
    return `the system administrator handles no cases or personal data (${permission})`
  }
  return null
}

/** Whether an actor holds the permission. */
export function can(actor: { permissions: ReadonlySet<string> } | null | undefined, p: Permission): boolean {
  return actor?.permissions.has(p) ?? false
}
