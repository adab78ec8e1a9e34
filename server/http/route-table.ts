/**
 * The routes an app answers, read from the app itself: every @koa/router mounted with
 * `app.use(router.routes())` (its dispatch function carries `.router`), including routers
 * mounted inside another router. Tests generated from the router (fuzzing, the scope matrix)
 * walk this list, so a new route is covered without editing the test.
 *
 * Middleware that wraps a router in its own function (e.g. Open311's error format and rate
 * limit) exposes it as `.router` on the wrapper, so it is found too.
 */
import type Koa from 'koa'

export interface RouteEntry {
  /** GET, POST, PUT, PATCH or DELETE (HEAD, implied by GET, and the exotic methods of `router.all` are left out). */
  method: string
  /** The path template with its prefix, e.g. `/api/cases/:id/actions/:action`. */
  path: string
  /** The router's layer: its `stack` is the route's middleware (guardRoutes puts the permission check first). */
  layer: { stack: unknown[] }
}

interface LayerLike {
  path: string | RegExp
  methods: string[]
  stack: unknown[]
}
interface RouterLike {
  stack: LayerLike[]
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])

const routerOf = (fn: unknown): RouterLike | undefined => {
  const f = fn as { router?: RouterLike; innerRouter?: RouterLike } | null
  const r = f?.router ?? f?.innerRouter
  return r && Array.isArray(r.stack) ? r : undefined
}

function walk(router: RouterLike, out: RouteEntry[], seen: Set<RouterLike>): void {
  if (seen.has(router)) return
  seen.add(router)
  for (const layer of router.stack) {
    for (const fn of layer.stack) {
      const nested = routerOf(fn)
      if (nested) walk(nested, out, seen)
    }
    if (typeof layer.path !== 'string') continue
    for (const method of layer.methods) if (METHODS.has(method)) out.push({ method, path: layer.path, layer })
  }
}

/** Every route of the routers mounted on `app`, in mount order, without duplicates. */
export function routeTable(app: Koa): RouteEntry[] {
  const out: RouteEntry[] = []
  const seen = new Set<RouterLike>()
  for (const mw of app.middleware) {
    const router = routerOf(mw)
    if (router) walk(router, out, seen)
  }
  const keys = new Set<string>()
  return out.filter((r) => {
    const k = `${r.method} ${r.path}`
    if (keys.has(k)) return false
    keys.add(k)
    return true
  })
}
