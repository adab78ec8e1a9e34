/**
 * Koa hooks that feed the audit log (docs/audit.md): every state-changing request of a signed-in
 * user (auditWrites), and logins and logouts (auditLogin, auditLogout, on the auth routes).
 * Request bodies are never recorded: they may hold passwords.
 */
import { fromDbError } from '../http/errors.ts'
import type { Context, Next } from 'koa'
import type { AuditEntry, AuditLog } from './log.ts'

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Requests auditWrites leaves to others: logins and logouts (recorded by their own hooks, with
 * more to say), and workers' GPS fixes (telemetry like the MQTT readings: kept in their own
 * table with worker and time, and posted every few seconds per device).
 */
export function defaultSkip(ctx: Context): boolean {
  return ctx.path === '/api/auth/login' || ctx.path === '/api/auth/logout' || ctx.path === '/api/auth/logout-all' || (ctx.method === 'POST' && ctx.path === '/api/positions')
}

/** Who asks and from where, as an audit entry wants it: actor, role, ip, request id, method and path. */
export function auditFacts(ctx: Context): Pick<AuditEntry, 'actor' | 'role' | 'ip' | 'reqId' | 'method' | 'target'> {
  const actor = ctx.state.actor as { username?: string; role?: string } | null | undefined
  return { actor: actor?.username ?? null, role: actor?.role ?? null, ip: ctx.ip || null, reqId: (ctx.state.reqId as string | undefined) ?? null, method: ctx.method, target: ctx.path }
}

/** The status a thrown error will be answered with (what errorHandler makes of it). */
function statusOf(err: unknown): number {
  // A database error the client caused is answered 400 (or 503 for a timeout) by errorHandler: record that.
  const e = (fromDbError(err) ?? err) as { status?: unknown; statusCode?: unknown }
  const s = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500
  return s >= 400 && s <= 599 ? s : 500
}

/**
 * Records every POST/PUT/PATCH/DELETE a signed-in user made, after it was answered — refused
 * ones (4xx) and failed ones (5xx) too: action `config.change` under /api/admin/, `write`
 * elsewhere; method, path (without the query), status, actor, role, ip and request id. Goes
 * after loadActor. The row is written before the response is sent; a failure to write it is
 * logged and does not change the answer (the change itself is already committed).
 */
export function auditWrites(audit: AuditLog, opts: { skip?: (ctx: Context) => boolean } = {}) {
  const skip = opts.skip ?? defaultSkip
  return async (ctx: Context, next: Next) => {
    if (!WRITE_METHODS.has(ctx.method) || skip(ctx)) return next()
    // Taken before the handler: a refused upload may close the socket, and ctx.ip then throws.
    const facts = auditFacts(ctx)
    let status: number | undefined
    try {
      await next()
    } catch (err) {
      status = statusOf(err)
      throw err
    } finally {
      // The actor of the request (loadActor ran before); a request without a session is not a user's write.
      if (ctx.state.actor) {
        await audit.recordQuietly({
          ...facts,
          action: ctx.path.startsWith('/api/admin/') ? 'config.change' : 'write',
          status: status ?? ctx.status,
        })
      }
    }
  }
}

/** Why a login failed, set by the login handler before it answers 401 (unknown user, wrong password, account disabled). */
export const LOGIN_FAILURE = 'loginFailure'

/**
 * On POST /api/auth/login, before the handler: `login.success` with the user and role, or
 * `login.failure` with the attempted username, ip, the reason (ctx.state.loginFailure when the
 * handler set one, else the error's message: bad input, too many attempts, …) and the status.
 * The password is never recorded.
 */
export function auditLogin(audit: AuditLog | undefined) {
  return async (ctx: Context, next: Next) => {
    if (!audit) return next()
    const body = ctx.request.body as { username?: unknown } | undefined
    const attempted = typeof body?.username === 'string' ? body.username.trim().toLowerCase() : null
    const facts = { ip: ctx.ip || null, reqId: (ctx.state.reqId as string | undefined) ?? null, method: ctx.method, target: ctx.path }
    const userAgent = ctx.get('user-agent').slice(0, 200) || undefined
    try {
      await next()
    } catch (err) {
      const reason = (ctx.state[LOGIN_FAILURE] as string | undefined) ?? (err as Error).message
      await audit.recordQuietly({ ...facts, action: 'login.failure', actor: attempted, status: statusOf(err), detail: { reason, userAgent } })
      throw err
    }
    const user = (ctx.body as { user?: { username?: string; role?: string } } | undefined)?.user
    await audit.recordQuietly({ ...facts, action: 'login.success', actor: user?.username ?? attempted, role: user?.role ?? null, status: ctx.status, detail: { userAgent } })
  }
}

/** On POST /api/auth/logout, before the handler: `logout` of the signed-in user (nothing when there was no session). */
export function auditLogout(audit: AuditLog | undefined) {
  return async (ctx: Context, next: Next) => {
    if (!audit) return next()
    const facts = auditFacts(ctx)
    await next()
    if (facts.actor) await audit.recordQuietly({ ...facts, action: 'logout', status: ctx.status })
  }
}
