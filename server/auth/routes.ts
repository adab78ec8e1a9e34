import crypto from 'node:crypto'
import Router from '@koa/router'
import type { Context, Next } from 'koa'
import { z } from 'zod'
import type { Db } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { parseBody } from '../http/validate.ts'
import { hashPassword, verifyPassword } from './password.ts'
import { publicUser, SESSION_COOKIE, toActor, tokenFrom, type Sessions } from './sessions.ts'

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

/** 403 unless the signed-in user has one of the roles. */
export function requireRole(...roles: string[]) {
  return async (ctx: Context, next: Next) => {
    const role = ctx.state.actor?.role
    if (!roles.includes(role)) {
      throw new HttpError(403, `only ${roles.join(' or ')} users may do this; you are signed in as ${role ?? 'nobody'}`)
    }
    await next()
  }
}

export function authRoutes(db: Db, sessions: Sessions, hours: number): Router {
  const r = new Router({ prefix: '/api/auth' })
  // Verified against when the user does not exist, so the answer's timing does not tell.
  const dummyHash = hashPassword(crypto.randomBytes(16).toString('hex'))
  r.post('/login', async (ctx) => {
    const body = parseBody(LoginBody, ctx.request.body)
    const { rows } = await db.query<{ id: number; username: string; display_name: string; role: string; scope_code: string; scope_is_root: boolean; password_hash: string; disabled: boolean }>(
      `SELECT u.id, u.username, u.display_name, u.role, u.scope_code, a.parent_code IS NULL AS scope_is_root, u.password_hash, u.disabled
         FROM users u JOIN admin_units a ON a.code = u.scope_code WHERE u.username = $1`,
      [body.username],
    )
    const u = rows[0]
    const ok = await verifyPassword(u?.password_hash ?? (await dummyHash), body.password)
    if (!u || !ok || u.disabled) throw new HttpError(401, 'wrong username or password', 'bad_credentials')
    const { token, expires } = await sessions.create(u.id, ctx.get('user-agent') || undefined)
    ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, expires, overwrite: true })
    ctx.body = { user: publicUser(toActor(u)), expiresAt: expires.toISOString(), ...(body.bearer ? { token } : {}) }
  })
  r.post('/logout', async (ctx) => {
    if (ctx.state.token) await sessions.destroy(ctx.state.token)
    ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', expires: new Date(0), overwrite: true })
    ctx.status = 204
  })
  r.get('/me', requireUser(), (ctx) => {
    ctx.body = { user: publicUser(ctx.state.actor), sessionHours: hours }
  })
  return r
}
