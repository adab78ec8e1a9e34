/**
 * Cross-site request forgery (issue 10). A browser sends the session cookie (SameSite=Lax) with a
 * form POST or a WebSocket from any site; what it also sends — and a page cannot forge — is where
 * the request comes from: `Sec-Fetch-Site` and `Origin`. A state-changing request (POST, PUT,
 * PATCH, DELETE) authenticated by the session cookie, and every sign-in (login CSRF), is refused
 * with 403 when the browser says it comes from another site:
 *
 * - `Sec-Fetch-Site: cross-site` or `same-site` (a sibling subdomain is another site here too);
 * - an `Origin` that is not the server's own: ONEGRID_PUBLIC_URL's origin, or the `Host` header's
 *   host over the request's scheme (or https, for a TLS proxy in front that keeps the Host);
 *   `Origin: null` (sandboxed frames, redirects) is not ours either.
 *
 * Open311 (public intake, no session) is left alone. Requests without either header (devices, scripts, tests — no browser, no ambient cookie) pass,
 * and so do requests that carry `Authorization: Bearer …`, which no other site can make a browser
 * add. The socket.io handshake (server/realtime/socket.ts) uses the same check when it is
 * authenticated by the cookie: cross-site WebSocket hijacking.
 */
import type { Context, Next } from 'koa'
import { SESSION_COOKIE, tokenFrom } from '../auth/sessions.ts'
import { HttpError } from './errors.ts'

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Paths checked whether or not a cookie comes with them: signing in from another site plants a session (login CSRF). */
const ALWAYS = /^\/api\/auth\/login\/?$/
/** Public intake takes no session (an api_key at most): a stray cookie there authenticates nothing. */
const SESSIONLESS = /^\/open311(\/|$)/

export interface RequestOrigin {
  /** The `Origin` header. */
  origin?: string
  /** The `Sec-Fetch-Site` header. */
  secFetchSite?: string
  /** The `Host` header. */
  host?: string
  /** The request came over TLS to this process. */
  secure: boolean
}

/** Why the browser says the request comes from another site, or null when it does not. */
export function crossSiteReason(req: RequestOrigin, publicUrl: string | undefined): string | null {
  const site = req.secFetchSite?.trim().toLowerCase()
  if (site === 'cross-site' || site === 'same-site') return `the browser says it comes from another site (Sec-Fetch-Site: ${site})`
  const origin = req.origin?.trim()
  if (!origin) return null
  if (isOwnOrigin(origin, req, publicUrl)) return null
  return `it comes from ${origin === 'null' ? 'an opaque origin (Origin: null)' : origin}, not from this server`
}

function isOwnOrigin(origin: string, req: RequestOrigin, publicUrl: string | undefined): boolean {
  if (origin === 'null') return false
  let o: URL
  try {
    o = new URL(origin)
  } catch {
    return false
  }
  if (publicUrl) {
    try {
      if (new URL(publicUrl).origin === o.origin) return true
    } catch {
      // config.ts checks it is a URL
    }
  }
  const host = req.host?.trim().toLowerCase()
  if (!host) return false
  const schemes = req.secure ? ['https:'] : ['http:', 'https:']
  if (!schemes.includes(o.protocol)) return false
  try {
    // Through URL, so default ports and case compare equal (Host: example.org:443 is https://example.org).
    return o.host === new URL(`${o.protocol}//${host}`).host
  } catch {
    return false
  }
}

/** The request is authenticated by the session cookie (a bearer token, when given, wins: tokenFrom). */
export function byCookie(cookie: string | undefined, authorization: string | undefined): boolean {
  return !!cookie && !tokenFrom(undefined, authorization)
}

/** Koa middleware: 403 for state-changing cookie requests (and sign-ins) from another site. */
export function csrfGuard(opts: { publicUrl?: string } = {}) {
  return async (ctx: Context, next: Next) => {
    const cookieAuth = !SESSIONLESS.test(ctx.path) && byCookie(ctx.cookies.get(SESSION_COOKIE), ctx.get('authorization') || undefined)
    if (UNSAFE.has(ctx.method) && (ALWAYS.test(ctx.path) || cookieAuth)) {
      const why = crossSiteReason(
        { origin: ctx.get('origin') || undefined, secFetchSite: ctx.get('sec-fetch-site') || undefined, host: ctx.get('host') || undefined, secure: ctx.secure },
        opts.publicUrl,
      )
      if (why) throw new HttpError(403, `cross-site request refused: ${why}; a signed-in browser may only change things from OneGrid's own pages`, 'cross_site')
    }
    await next()
  }
}
