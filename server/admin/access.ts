/**
 * Who may do what (issue 10), split between the three administrators (三员):
 * - GET /api/admin/permissions — the matrix: roles × permissions, with the catalog and labels
 *   (security admin).
 * - PUT /api/admin/permissions/:role `{ permissions: [...] }` — replaces one role's permissions
 *   (security admin). 422 names an unknown permission or one the separation of the three
 *   administrators forbids (server/auth/permissions.ts separationConflict).
 * - GET /api/admin/users — the accounts within the asker's scope (system admin; security admin,
 *   who assigns roles).
 * - POST /api/admin/users `{ username, displayName, password, role, scope }` — creates an account
 *   (system admin) with an operational role: the administrator roles are the security admin's.
 * - PATCH /api/admin/users/:username `{ displayName?, scope?, disabled?, password? }` — the system
 *   admin edits an account; disabling it or changing its password ends its sessions.
 * - PUT /api/admin/users/:username/role `{ role }` — the security admin assigns a role.
 * Which permission each route needs is in server/auth/route-permissions.ts; every write is in
 * the audit log. Scope: an administrator sees and makes accounts within their own node only.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Db, Queryable } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { parseBody, parseParams } from '../http/validate.ts'
import { hashPassword } from '../auth/password.ts'
import { ADMIN_PERMISSIONS, PERMISSION_KEYS, PERMISSIONS, ROLE_LABELS, ROLES, separationConflict, type Permission, type Role } from '../auth/permissions.ts'
import type { Actor } from '../auth/sessions.ts'
import { inScope } from '../auth/scope.ts'

const RoleParam = z.object({ role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }) })
const UsernameParam = z.object({ username: z.string().regex(/^[a-z0-9_.-]{2,64}$/, 'username is 2–64 of a-z 0-9 _ . -') })
const PermissionsBody = z.object({
  permissions: z
    .array(z.enum(PERMISSION_KEYS as [Permission, ...Permission[]], { error: `each permission must be one of ${PERMISSION_KEYS.join(', ')}` }), { error: 'permissions must be an array of permission names' })
    .max(PERMISSION_KEYS.length * 2, 'too many permissions'),
})
const ADMIN_ROLES = Object.keys(ADMIN_PERMISSIONS) as Role[]
const OPERATIONAL_ROLES = ROLES.filter((r) => !ADMIN_ROLES.includes(r))
const Password = z.string().min(10, 'password must be at least 10 characters').max(256, 'password is at most 256 characters')
const ScopeCode = z.string().regex(/^\d{6,15}$/, 'scope must be an admin-unit code (6–15 digits), e.g. 310101013')
const CreateUserBody = z.object({
  username: z.string().trim().toLowerCase().regex(/^[a-z0-9_.-]{2,64}$/, 'username is 2–64 of a-z 0-9 _ . -'),
  displayName: z.string().trim().min(1, 'displayName is required').max(64, 'displayName is at most 64 characters'),
  password: Password,
  role: z.enum(OPERATIONAL_ROLES as [Role, ...Role[]], { error: `role must be one of ${OPERATIONAL_ROLES.join(', ')} (the administrator roles are assigned by the security admin)` }),
  scope: ScopeCode,
})
const PatchUserBody = z
  .object({
    displayName: z.string().trim().min(1, 'displayName must not be empty').max(64, 'displayName is at most 64 characters'),
    scope: ScopeCode,
    disabled: z.boolean({ error: 'disabled must be true or false' }),
    password: Password,
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one of displayName, scope, disabled, password')
const RoleBody = z.object({ role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }) }).strict()

interface UserListRow {
  username: string
  display_name: string
  role: string
  scope_code: string
  disabled: boolean
  created_at: Date | string
}

/** The account, if it lies within the actor's scope (404 otherwise, like an unknown one). */
async function userInScope(q: Queryable, actor: Actor, username: string): Promise<{ id: number; role: string; scope_code: string }> {
  const { rows } = await q.query<{ id: number; role: string; scope_code: string }>('SELECT id, role, scope_code FROM users WHERE username = $1', [username])
  const u = rows[0]
  if (!u || !(actor.unrestricted || inScope(actor.scopePrefix, u.scope_code))) throw new HttpError(404, `no user ${username} in your scope`)
  return u
}

/** 422 unless the scope is an admin unit within the actor's own. */
async function checkScope(q: Queryable, actor: Actor, code: string): Promise<void> {
  const { rows } = await q.query('SELECT 1 FROM admin_units WHERE code = $1', [code])
  if (!rows.length) throw new HttpError(422, `scope: no admin unit ${code}`)
  if (!actor.unrestricted && !inScope(actor.scopePrefix, code)) throw new HttpError(422, `scope: ${code} is outside your own scope ${actor.scopeCode}`)
}

export async function loadMatrix(q: Queryable): Promise<Record<Role, Permission[]>> {
  const { rows } = await q.query<{ role: Role; permission: Permission }>('SELECT role, permission FROM role_permissions ORDER BY role, permission')
  const m = Object.fromEntries(ROLES.map((r) => [r, [] as Permission[]])) as Record<Role, Permission[]>
  for (const r of rows) m[r.role]?.push(r.permission)
  return m
}

export function accessRoutes(opts: { db: Db }): Router {
  const { db } = opts
  const r = new Router({ prefix: '/api/admin' })

  r.get('/permissions', async (ctx) => {
    ctx.set('Cache-Control', 'no-store')
    ctx.body = {
      roles: ROLES.map((role) => ({ role, label: ROLE_LABELS[role] })),
      permissions: PERMISSION_KEYS.map((key) => ({ key, label: PERMISSIONS[key] })),
      matrix: await loadMatrix(db),
      /** What separation fixes: each administrator role's own permissions, held by no other role. */
      separation: ADMIN_PERMISSIONS,
    }
  })

  r.put('/permissions/:role', async (ctx) => {
    const { role } = parseParams(RoleParam, ctx.params)
    const { permissions } = parseBody(PermissionsBody, ctx.request.body)
    const wanted = [...new Set(permissions)].sort()
    const conflicts = wanted.map((p) => separationConflict(role, p)).filter((c): c is string => c !== null)
    if (conflicts.length) throw new HttpError(422, conflicts.join('; '))
    const matrix = await db.transaction(async (tx) => {
      await tx.query('DELETE FROM role_permissions WHERE role = $1', [role])
      if (wanted.length) await tx.query('INSERT INTO role_permissions (role, permission) SELECT $1, unnest($2::text[])', [role, wanted])
      return loadMatrix(tx)
    })
    ctx.body = { role, permissions: matrix[role] }
  })

  r.get('/users', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const { rows } = await db.query<UserListRow>(
      `SELECT username, display_name, role, scope_code, disabled, created_at FROM users
        WHERE $1::text IS NULL OR scope_code LIKE $1 || '%' ORDER BY username`,
      [actor.unrestricted ? null : actor.scopePrefix],
    )
    ctx.set('Cache-Control', 'no-store')
    ctx.body = {
      users: rows.map((u) => ({ username: u.username, displayName: u.display_name, role: u.role, scope: u.scope_code, disabled: u.disabled, createdAt: new Date(u.created_at).toISOString() })),
    }
  })

  r.post('/users', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const body = parseBody(CreateUserBody, ctx.request.body)
    await checkScope(db, actor, body.scope)
    const hash = await hashPassword(body.password)
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO users (username, display_name, password_hash, role, scope_code) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (username) DO NOTHING RETURNING id`,
      [body.username, body.displayName, hash, body.role, body.scope],
    )
    if (!rows.length) throw new HttpError(409, `user ${body.username} exists already`)
    ctx.status = 201
    ctx.body = { user: { username: body.username, displayName: body.displayName, role: body.role, scope: body.scope, disabled: false } }
  })

  r.patch('/users/:username', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const { username } = parseParams(UsernameParam, ctx.params)
    const body = parseBody(PatchUserBody, ctx.request.body)
    if (username === actor.username && body.disabled) throw new HttpError(422, 'you cannot disable your own account')
    const hash = body.password ? await hashPassword(body.password) : null
    await db.transaction(async (tx) => {
      const u = await userInScope(tx, actor, username)
      if (body.scope) await checkScope(tx, actor, body.scope)
      await tx.query(
        `UPDATE users SET display_name = coalesce($2, display_name), scope_code = coalesce($3, scope_code),
                          disabled = coalesce($4, disabled), password_hash = coalesce($5, password_hash) WHERE id = $1`,
        [u.id, body.displayName ?? null, body.scope ?? null, body.disabled ?? null, hash],
      )
      if (body.disabled || hash) await tx.query('DELETE FROM sessions WHERE user_id = $1', [u.id])
    })
    ctx.status = 204
  })

  r.put('/users/:username/role', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const { username } = parseParams(UsernameParam, ctx.params)
    const { role } = parseBody(RoleBody, ctx.request.body)
    if (username === actor.username) throw new HttpError(422, 'you cannot change your own role')
    await db.transaction(async (tx) => {
      const u = await userInScope(tx, actor, username)
      await tx.query('UPDATE users SET role = $2 WHERE id = $1', [u.id, role])
    })
    ctx.body = { username, role }
  })
  return r
}
