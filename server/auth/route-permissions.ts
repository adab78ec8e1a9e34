import type Koa from 'koa'
import type { Context, Next } from 'koa'
import { HttpError } from '../http/errors.ts'
import { routeTable } from '../http/route-table.ts'
import { can, PERMISSION_KEYS, type Permission } from './permissions.ts'

/**
 * What each route needs, by `METHOD path` exactly as its router declares it. `public`: anyone;
 * `signed-in`: any session (the route then decides by what it serves: a layer's permission, the
 * asker's own data); otherwise the permission (a list: any one of them). Scope is not decided here: every query filters by
 * the asker's node (server/auth/scope.ts). guardRoutes() puts the check in front of every route
 * and refuses to start when a route is missing here, so a new route cannot ship unguarded.
 */
export type RouteNeed = Permission | readonly Permission[] | 'public' | 'signed-in'

export const ROUTE_PERMISSIONS: Record<string, RouteNeed> = {
  'GET /api/health': 'public',
  'GET /api/openapi.json': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/logout': 'public',
  'POST /api/auth/logout-all': 'signed-in',
  'GET /api/auth/me': 'signed-in',
  // Tiles and OGC: the layer's own permission (layers/*.ts `permission`), checked by the routes.
  'GET /tiles/catalog.json': 'signed-in',
  'GET /tiles/:layer.json': 'signed-in',
  'GET /tiles/:layers/:z/:x/:y.mvt': 'signed-in',
  'GET /ogc': 'signed-in',
  'GET /ogc/conformance': 'signed-in',
  'GET /ogc/collections': 'signed-in',
  'GET /ogc/collections/:id': 'signed-in',
  'GET /ogc/collections/:id/items': 'signed-in',
  'GET /ogc/collections/:id/items/:fid': 'signed-in',
  // Map styles, sprites and chart themes hold no data.
  'GET /styles/sprite.json': 'public',
  'GET /styles/sprite.png': 'public',
  'GET /styles/sprite@2x.json': 'public',
  'GET /styles/sprite@2x.png': 'public',
  'GET /styles/echarts/:name.json': 'public',
  'GET /styles/:name.json': 'public',
  'GET /api/import/layers': 'data.manage',
  'POST /api/import/cases': 'cases.import',
  'POST /api/import/:layer': 'data.manage',
  'GET /api/export/:layer.geojson': 'data.export',
  'GET /api/export/:layer.csv': 'data.export',
  'GET /api/admin/stats': 'data.manage',
  'GET /api/locate': 'map.base',
  'GET /api/spatial/nearest': 'map.objects',
  'GET /api/spatial/around': 'map.objects',
  'POST /api/spatial/within': 'map.objects',
  'GET /api/stats/choropleth': 'stats.read',
  'GET /api/stats/indicators': 'stats.read',
  'GET /api/stats/indicators.csv': 'stats.read',
  'GET /api/stats/indicators.xlsx': 'stats.read',
  'GET /api/stats/assessment': 'stats.read',
  'GET /api/stats/assessment.csv': 'stats.read',
  'GET /api/stats/assessment.xlsx': 'stats.read',
  'GET /api/stats/assessment/:kind/:code': 'stats.read',
  'GET /api/admin/assessment-rules': 'config.manage',
  'PUT /api/admin/assessment-rules/:kind': 'config.manage',
  'PATCH /api/sensors/:id': 'sensors.manage',
  'POST /api/positions': 'positions.report',
  // A worker (positions.report without workers.read) reads their own track only (PositionService.worker).
  'GET /api/workers/:id/track': ['workers.read', 'positions.report'],
  'GET /api/workers/:id/patrol': ['workers.read', 'positions.report'],
  'GET /api/grids/:code/presence': 'workers.read',
  'POST /api/devices/:code/credentials': 'devices.manage',
  'DELETE /api/devices/:code/credentials': 'devices.manage',
  'GET /api/alarms': 'alarms.read',
  'POST /api/alarms/:id/ack': 'alarms.handle',
  'POST /api/alarms/:id/resolve': 'alarms.handle',
  'GET /api/wall/summary': 'wall.view',
  'GET /api/wall/live': 'wall.view',
  'GET /api/screens/:id': 'wall.view',
  'POST /api/cases/attachments': 'cases.act',
  'GET /api/cases/attachments/:id': 'cases.read',
  'GET /api/cases/attachments/:id/thumb': 'cases.read',
  'GET /api/cases/workflow': 'cases.read',
  'POST /api/cases': 'cases.act',
  'GET /api/cases': 'cases.read',
  'GET /api/cases/:id': 'cases.read',
  'GET /api/cases/:id/timeline': 'cases.read',
  'GET /api/cases/:id/briefing': 'cases.read',
  'GET /api/cases/:id/recommendation': 'cases.read',
  'POST /api/cases/:id/actions/:action': 'cases.act',
  // Any other method on this path answers 405 (the router's own route).
  'ALL /api/cases/:id/actions': 'cases.act',
  // Open311 GeoReport v2: public intake (its own API key and rate limits, server/open311/routes.ts).
  'GET /open311/discovery.json': 'public',
  'GET /open311/v2/:file': 'public',
  'GET /open311/v2/services/:file': 'public',
  'GET /open311/v2/requests/:file': 'public',
  'POST /open311/v2/:file': 'public',
  'GET /api/features/:layer/:id': 'signed-in',
  'POST /api/cameras/:id/ptz': 'cameras.ptz',
  'GET /api/people': 'people.read',
  'GET /api/people/:id': 'people.read',
  'GET /api/admin/permissions': 'permissions.manage',
  'PUT /api/admin/permissions/:role': 'permissions.manage',
  'GET /api/admin/users': ['users.manage', 'permissions.manage'],
  'POST /api/admin/users': 'users.manage',
  'PATCH /api/admin/users/:username': 'users.manage',
  'PUT /api/admin/users/:username/role': 'permissions.manage',
  'GET /api/admin/audit': 'audit.read',
  'GET /api/admin/audit.csv': 'audit.read',
}

function guard(need: Exclude<RouteNeed, 'public'>) {
  const anyOf: readonly Permission[] | null = need === 'signed-in' ? null : typeof need === 'string' ? [need] : need
  const check = async (ctx: Context, next: Next) => {
    const actor = ctx.state.actor
    if (!actor) throw new HttpError(401, 'sign in first: this needs a session cookie or a bearer token')
    if (anyOf && !anyOf.some((p) => can(actor, p))) {
      throw new HttpError(403, `this needs the permission ${anyOf.join(' or ')}, which the ${actor.role} role does not hold`)
    }
    await next()
  }
  return Object.assign(check, { permission: need })
}

/**
 * Puts each route's check (ROUTE_PERMISSIONS) in front of its handlers. Throws, naming them,
 * when a route is not in the table or the table names a permission that does not exist.
 */
export function guardRoutes(app: Koa): void {
  const routes = routeTable(app).map((r) => ({ ...r, key: `${r.method} ${r.path}`, need: ROUTE_PERMISSIONS[`${r.method} ${r.path}`] ?? ROUTE_PERMISSIONS[`ALL ${r.path}`] }))
  const missing = routes.filter((r) => r.need === undefined).map((r) => r.key)
  if (missing.length) throw new Error(`routes without a permission in server/auth/route-permissions.ts: ${missing.join(', ')}`)
  for (const [key, need] of Object.entries(ROUTE_PERMISSIONS)) {
    const named = need === 'public' || need === 'signed-in' ? [] : typeof need === 'string' ? [need] : need
    for (const p of named) if (!PERMISSION_KEYS.includes(p)) throw new Error(`${key}: unknown permission ${p}`)
  }
  // One check per layer (a layer answering several methods has one need).
  const needs = new Map<{ stack: unknown[] }, RouteNeed>()
  for (const { key, layer, need } of routes) {
    const before = needs.get(layer)
    if (before !== undefined && before !== need) throw new Error(`${key}: one route with two permissions (${String(before)}, ${String(need)})`)
    needs.set(layer, need!)
  }
  for (const [layer, need] of needs) if (need !== 'public') layer.stack.unshift(guard(need))
}
