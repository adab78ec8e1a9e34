import type { Context, Next } from 'koa'
import type { Logger } from '../log.ts'

/** A failure the client caused or can fix, with the status it maps to. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string = defaultCode(status),
  ) {
    super(message)
  }
}

function defaultCode(status: number): string {
  return (
    { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type', 422: 'invalid' }[status] ??
    (status >= 500 ? 'internal' : 'error')
  )
}

/** Seconds a client is told to wait (Retry-After) when the server sheds load or the database ran out of time. */
export const RETRY_AFTER_S = 5

/**
 * A database error that a request's values cause, as the HttpError it is: PostgreSQL's data
 * exceptions (SQLSTATE class 22: a value that does not cast, is out of range, or text with a NUL
 * byte) are the client's (400); a statement cancelled by its timeout (57014) is a 503. Null for
 * anything else (a bug or an outage: a 500).
 */
export function fromDbError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return null
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return null
  if (code.startsWith('22')) return new HttpError(400, `a value in the request cannot be used: ${String(message ?? code)}`, 'invalid_value')
  if (code === '57014') return new HttpError(503, 'the database took too long to answer; try again shortly', 'timeout')
  return null
}

/**
 * First in the chain: every failure becomes JSON `{ error: { code, message } }` with its
 * status. Client errors keep their message; a 503 (timeout, load) keeps its message and says
 * when to retry (Retry-After); anything unexpected is a logged 500 whose message names the
 * request id, never internals.
 */
export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next()
    } catch (caught) {
      const err = fromDbError(caught) ?? caught
      const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string; code?: string; type?: string }
      const status = e instanceof HttpError ? e.status : (e.status ?? e.statusCode ?? 500)
      if (status === 503 && e instanceof HttpError) {
        log.warn({ reqId: ctx.state.reqId, path: ctx.path, reason: e.message }, 'request shed')
        ctx.status = 503
        if (!ctx.response.get('Retry-After')) ctx.set('Retry-After', String(RETRY_AFTER_S))
        ctx.body = { error: { code: e.code, message: e.message } }
      } else if (status >= 500) {
        log.error({ err, reqId: ctx.state.reqId, path: ctx.path }, 'request failed')
        ctx.status = status
        ctx.body = { error: { code: 'internal', message: `internal error (request ${ctx.state.reqId})` } }
      } else {
        ctx.status = status
        const code = e instanceof HttpError ? e.code : (e.type?.replace(/\./g, '_') ?? defaultCode(status))
        ctx.body = { error: { code, message: e.message || 'bad request' } }
      }
    }
  }
}
