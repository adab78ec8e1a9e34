import type { Context } from 'koa'

/** The absolute base URL clients reach us at: ONEGRID_PUBLIC_URL, else the request's own. */
export function baseUrl(ctx: Context, publicUrl: string | undefined): string {
  return publicUrl ? publicUrl.replace(/\/$/, '') : `${ctx.protocol}://${ctx.host}`
}
