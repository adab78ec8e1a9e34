import crypto from 'node:crypto'
import type { Context } from 'koa'

/** A strong ETag (quoted) for these exact bytes. */
export const strongEtag = (bytes: string | Buffer): string => `"${crypto.createHash('sha1').update(bytes).digest('base64url')}"`

/**
 * Answers with `body` under a strong ETag, or 304 Not Modified when the request's
 * If-None-Match already names it (Koa's `ctx.fresh`). Set Cache-Control before calling.
 */
export function sendTagged(ctx: Context, type: string, body: string | Buffer, etag: string): void {
  ctx.set('ETag', etag)
  ctx.type = type
  ctx.status = 200
  if (ctx.fresh) {
    ctx.status = 304
    return
  }
  ctx.body = body
}
