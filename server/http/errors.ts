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

/**
 * First in the chain: every failure becomes JSON `{ error: { code, message } }` with its
 * status. Client errors keep their message; anything unexpected is a logged 500 whose
 * message names the request id, never internals.
 */
export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next()
    } catch (err) {
      const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string; code?: string; type?: string }
      const status = e instanceof HttpError ? e.status : (e.status ?? e.statusCode ?? 500)
      if (status >= 500) {
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
