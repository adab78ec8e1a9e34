import { apiFetch } from './http.ts'

type Label = { 'zh-CN': string; en: string }

/** GET /api/admin/permissions (server/admin/access.ts). */
export interface PermissionMatrix {
  roles: { role: string; label: Label }[]
  permissions: { key: string; label: Label }[]
  matrix: Record<string, string[]>
  /** Each administrator role's own permissions, which no other role may hold. */
  separation: Record<string, string[]>
}

export interface AccountRow {
  username: string
  displayName: string
  role: string
  scope: string
  disabled: boolean
}

export const fetchMatrix = () => apiFetch<PermissionMatrix>('/api/admin/permissions')

export const saveRolePermissions = (role: string, permissions: string[]) =>
  apiFetch<{ role: string; permissions: string[] }>(`/api/admin/permissions/${encodeURIComponent(role)}`, { method: 'PUT', json: { permissions } })

export const fetchAccounts = () => apiFetch<{ users: AccountRow[] }>('/api/admin/users').then((r) => r.users)

export const assignRole = (username: string, role: string) =>
  apiFetch<{ username: string; role: string }>(`/api/admin/users/${encodeURIComponent(username)}/role`, { method: 'PUT', json: { role } })
