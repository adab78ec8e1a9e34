import crypto from 'node:crypto'
import Router from '@koa/router'
import type { Context, Next } from 'koa'
import { z } from 'zod'
import type { Db } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { parseBody } from '../http/validate.ts'
import { hashPassword, verifyPassword } from './password.ts'
import type { LoginLimits } from './limits.ts'
import type { AuditLog } from '../audit/log.ts'
import { auditLogin, auditLogout, LOGIN_FAILURE } from '../audit/middleware.ts'
import { publicUser, SESSION_COOKIE, toActor, tokenFrom, USER_COLUMNS, type Sessions, type UserRow } from './sessions.ts'

const LoginBody = z.object({
  username: z.string().trim().toLowerCase().min(1, 'username is required').max(64),
  password: z.string().min(1, 'password is required').max(256),
  /** Devices ask for the token in the body to send it as a bearer token. */
  bearer: z.boolean().optional(),
})


/** Attaches ctx.state.actor when the request carries a valid session. */
export function loadActor(sessions: Sessions) {
  return async (ctx: Context, next: Next) => {
    const token = tokenFrom(ctx.cookies.get(SESSION_COOKIE), ctx.get('authorization') || undefined)
    ctx.state.token = token
    ctx.state.actor = await sessions.lookup(token)
    await next()
  }
}

export function requireUser() {
  return async (ctx: Context, next: Next) => {
    if (!ctx.state.actor) throw new HttpError(401, 'sign in first: this needs a session cookie or a bearer token')
    await next()
  }
}

export function authRoutes(db: Db, sessions: Sessions, hours: number, limits: LoginLimits, audit?: AuditLog): Router {
  const r = new Router({ prefix: '/api/auth' })
  // Verified against when the user does not exist, so the answer's timing does not tell.
  const dummyHash = hashPassword(crypto.randomBytes(16).toString('hex'))
  // Logins, failed ones and logouts go to the audit log (server/audit/middleware.ts).
  r.post('/login', auditLogin(audit), async (ctx) => {
    const body = parseBody(LoginBody, ctx.request.body)
    const { rows } = await db.query<UserRow & { password_hash: string; disabled: boolean }>(
      `SELECT ${USER_COLUMNS}, u.password_hash, u.disabled
         FROM users u JOIN admin_units a ON a.code = u.scope_code WHERE u.username = $1`,
      [body.username],
    )
    const u = rows[0]
    // 429 with Retry-After while the username or the client address is locked out; failures are counted there (limits.ts).
    const ok = await limits.attempt(
      body.username,
      ctx.ip,
      async () => (await verifyPassword(u?.password_hash ?? (await dummyHash), body.password)) && !!u && !u.disabled,
      (seconds) => ctx.set('Retry-After', String(seconds)),
    )
    if (!u || !ok || u.disabled) {
      ctx.state[LOGIN_FAILURE] = !u ? 'unknown user' : u.disabled ? 'account disabled' : 'wrong password'
      throw new HttpError(401, 'wrong username or password', 'bad_credentials')
    }
    const { token, expires } = await sessions.create(u.id, ctx.get('user-agent') || undefined)
    ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, expires, overwrite: true })
    ctx.body = { user: publicUser(toActor(u)), expiresAt: expires.toISOString(), ...(body.bearer ? { token } : {}) }
  })
  r.post('/logout', auditLogout(audit), async (ctx) => {
    if (ctx.state.token) await sessions.destroy(ctx.state.token)
    ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', expires: new Date(0), overwrite: true })
    ctx.status = 204
  })
  // Sign out everywhere: every session of the signed-in user ends (other processes honour them for at most SESSION_RECHECK_MS).
  r.post('/logout-all', requireUser(), auditLogout(audit), async (ctx) => {
    const ended = await sessions.destroyAll(ctx.state.actor.userId)
    ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', expires: new Date(0), overwrite: true })
    ctx.body = { ended }
  })
  r.get('/me', requireUser(), (ctx) => {
    ctx.body = { user: publicUser(ctx.state.actor), sessionHours: hours }
  })
  return r
}
