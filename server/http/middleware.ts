import crypto from 'node:crypto'
import type { Context, Next } from 'koa'
import type { Logger } from '../log.ts'

export function requestId() {
  return async (ctx: Context, next: Next) => {
    const given = ctx.get('x-request-id')
    ctx.state.reqId = /^[A-Za-z0-9_-]{1,64}$/.test(given) ? given : crypto.randomUUID()
    ctx.set('X-Request-Id', ctx.state.reqId)
    await next()
  }
}

export function accessLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const start = performance.now()
    try {
      await next()
    } finally {
      log.info(
        { reqId: ctx.state.reqId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - start), user: ctx.state.actor?.username },
        'request',
      )
    }
  }
}

/**
 * Security headers. The app loads nothing from other hosts, so the policy says so.
 * Strict-Transport-Security only where the browser reached us over https — this process's own TLS,
 * or ONEGRID_PUBLIC_URL being https (a TLS proxy in front); browsers ignore it over plain http.
 */
export function securityHeaders(opts: { publicUrl?: string } = {}) {
  const httpsInFront = opts.publicUrl?.startsWith('https:') ?? false
  // The field page follows the worker's position and the briefing goes full screen; nothing uses the rest.
  const permissions = [
    'geolocation=(self)',
    'fullscreen=(self)',
    'camera=()',
    'microphone=()',
    'payment=()',
    'usb=()',
    'serial=()',
    'bluetooth=()',
    'midi=()',
    'display-capture=()',
  ].join(', ')
  const csp = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    // hls.js plays camera streams through Media Source Extensions: the <video> source is a blob: URL.
    "media-src 'self' blob:",
    "font-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "worker-src 'self' blob:",
    "child-src 'self' blob:",
    "frame-ancestors 'self'",
    "base-uri 'self'",
    "object-src 'none'",
  ].join('; ')
  return async (ctx: Context, next: Next) => {
    ctx.set('X-Content-Type-Options', 'nosniff')
    ctx.set('Referrer-Policy', 'same-origin')
    ctx.set('X-Frame-Options', 'SAMEORIGIN')
    ctx.set('Content-Security-Policy', csp)
    ctx.set('Permissions-Policy', permissions)
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin')
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin')
    if (ctx.secure || httpsInFront) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains')
    await next()
  }
}
