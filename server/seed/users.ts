import crypto from 'node:crypto'
import type { Db, Queryable } from '../db/index.ts'
import { hashPassword } from '../auth/password.ts'

/**
 * The demo accounts (README lists them). Scope is a node of the admin hierarchy. The three
 * administrators (三员) are admin (system), secadmin (security) and auditor (audit).
 */
export const DEMO_USERS = [
  { username: 'admin', display_name: '系统管理员', role: 'admin', scope_code: '310000', duties: [] },
  { username: 'secadmin', display_name: '安全管理员', role: 'security_admin', scope_code: '310000', duties: [] },
  // One seat doing 受理, 立案 (值班长) and 派遣 together, as small centres do.
  { username: 'dispatcher', display_name: '调度员', role: 'dispatcher', scope_code: '310000', duties: ['acceptor', 'shift_leader', 'dispatcher'] },
  { username: 'leader', display_name: '领导', role: 'leader', scope_code: '310000', duties: ['leader'] },
  { username: 'supervisor', display_name: '外滩街道监督员', role: 'supervisor', scope_code: '310101013', duties: ['supervisor', 'reporter'] },
  // A handling department's seat (处置部门): the department that handles most of 外滩街道's cases.
  { username: 'handler', display_name: '处置部门', role: 'handler', scope_code: '310101013', duties: ['handler'] },
  // The field page's demo (/field): a grid worker of 外滩街道 who reports (随手拍) and handles the tasks sent to them.
  { username: 'worker', display_name: '外滩街道网格员', role: 'worker', scope_code: '310101013', duties: ['reporter', 'handler'] },
  { username: 'wall', display_name: '指挥大屏', role: 'wall', scope_code: '310000', duties: [] },
  { username: 'auditor', display_name: '审计员', role: 'auditor', scope_code: '310000', duties: [] },
] as const

/**
 * Creates the demo accounts when there are no users yet. Their password is
 * ONEGRID_SEED_PASSWORD, or a random one returned here to be printed once.
 */
export async function seedUsers(db: Db, seedPassword: string | undefined): Promise<{ created: boolean; password?: string; generated: boolean }> {
  const count = async (q: Queryable) => (await q.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0].n
  if ((await count(db)) > 0) return { created: false, generated: false }
  const password = seedPassword ?? crypto.randomBytes(12).toString('base64url')
  const hash = await hashPassword(password)
  const created = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7142003)')
    if ((await count(tx)) > 0) return false
    for (const u of DEMO_USERS) {
      // The handler seat belongs to the department most of its scope's cases went to (none before the city is seeded).
      await tx.query(
        `INSERT INTO users (username, display_name, password_hash, role, scope_code, duties, department_id)
         VALUES ($1, $2, $3, $4, $5, $6::text[],
                 CASE WHEN $4 = 'handler' THEN (SELECT department_id FROM cases
                                                 WHERE grid_code LIKE $5 || '%' AND department_id IS NOT NULL
                                                 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) END)`,
        [u.username, u.display_name, hash, u.role, u.scope_code, u.duties],
      )
    }
    // The worker account is one of the seeded on-duty grid workers of its street (the first by
    // grid and code, so every seed links the same one); none before the city is seeded.
    await tx.query(
      `UPDATE workers SET user_id = (SELECT id FROM users WHERE username = 'worker')
        WHERE id = (SELECT id FROM workers
                     WHERE role = 'grid_worker' AND duty_status = 'on_duty' AND user_id IS NULL
                       AND grid_code LIKE (SELECT scope_code FROM users WHERE username = 'worker') || '%'
                     ORDER BY grid_code, code LIMIT 1)`,
    )
    return true
  })
  return created ? { created, password, generated: seedPassword === undefined } : { created, generated: false }
}
