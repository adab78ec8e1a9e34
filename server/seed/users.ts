import crypto from 'node:crypto'
import type { Db, Queryable } from '../db/index.ts'
import { hashPassword } from '../auth/password.ts'

/** The demo accounts (README lists them). Scope is a node of the admin hierarchy. */
export const DEMO_USERS = [
  { username: 'admin', display_name: '平台管理员', role: 'admin', scope_code: '310000' },
  { username: 'dispatcher', display_name: '调度员', role: 'dispatcher', scope_code: '310000' },
  { username: 'leader', display_name: '领导', role: 'leader', scope_code: '310000' },
  { username: 'supervisor', display_name: '外滩街道监督员', role: 'supervisor', scope_code: '310101013' },
  { username: 'wall', display_name: '指挥大屏', role: 'wall', scope_code: '310000' },
  { username: 'auditor', display_name: '审计员', role: 'auditor', scope_code: '310000' },
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
      await tx.query(
        'INSERT INTO users (username, display_name, password_hash, role, scope_code) VALUES ($1, $2, $3, $4, $5)',
        [u.username, u.display_name, hash, u.role, u.scope_code],
      )
    }
    return true
  })
  return created ? { created, password, generated: seedPassword === undefined } : { created, generated: false }
}
