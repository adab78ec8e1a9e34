/**
 * The scope matrix (issue 10, acceptance 1): every route the app answers, every tile layer, every
 * OGC collection, every export and the socket topics, probed as three users of the same role (the
 * dispatcher's, which holds the most read permissions) scoped to different nodes: 外滩街道
 * (310101013) and 豫园街道 (310101018), two streets of 黄浦区, and 浦东新区 (310115), a district.
 * Each must see its own part of the city and never another's. MQTT topics too: a device cannot
 * publish to another device's topic.
 *
 * Generated from the router and the catalog: the routes are read from the running app
 * (server/http/route-table.ts) and the layers from the catalog, and every route must have an entry
 * in PROBES below — a new route without one fails the test ("no probe for …"), as does an entry
 * whose route is gone.
 *
 * What counts as a leak: an answer that names an object of another node. Every answer (JSON, CSV,
 * GeoJSON) is cut into tokens and each token looked up among the codes of the city's objects
 * (cases, sensors, cameras, workers, parts) and of its admin units and grids, each mapped to the
 * grid (or unit) it belongs to; a token whose owner lies outside the user's node — neither inside
 * it nor one of its ancestors — is a leak, as is an object outside every grid (unrestricted users
 * only). Tiles are decoded: a feature of a scoped layer must be one of the node's own rows (by its
 * id), and an aggregated cell may count only the node's own rows. A request for another node's
 * object by id (read or write) must be refused with 403 or 404 and change nothing. "Sees its own":
 * the lists, tiles and collections must hold the user's own objects (counted and printed).
 *
 * Base-map data (roads, water, the admin boundaries, place labels) is the same for everyone
 * (scopeColumn null in layers/*.ts): its layers are not scanned, and the routes that answer
 * reference data only say so in their entry.
 */
import { parse as parseCsv } from 'csv-parse/sync'
import mqtt from 'mqtt'
import { io as ioClient, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalog, type LayerDef } from '../../layers/index.ts'
import { hashPassword } from '../../server/auth/password.ts'
import { exportLayers } from '../../server/export/layers.ts'
import { ROUTE_PERMISSIONS } from '../../server/auth/route-permissions.ts'
import { routeTable } from '../../server/http/route-table.ts'
import { decodeLayer, tileOf } from '../helpers/mvt.ts'
import { backends, login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'
import { sleep, until } from '../helpers/wait.ts'

interface Area {
  user: string
  code: string
  /** Another user's node: the objects its id probes ask for. */
  other: string
}
const AREAS: Area[] = [
  { user: 'scope_street_a', code: '310101013', other: '310101018' },
  { user: 'scope_street_b', code: '310101018', other: '310101013' },
  { user: 'scope_district', code: '310115', other: '310101013' },
]

/** Owner of a token: the grid/unit code it belongs to, or null for an object outside every grid. */
type Owners = Map<string, string | null>

const inside = (prefix: string, owner: string) => owner.startsWith(prefix) || prefix.startsWith(owner)

const tokens = (text: string): string[] => text.match(/[A-Za-z0-9_-]{5,}/g) ?? []

/**
 * Fields of free text: what a person (or a device's alert template) wrote when the object was
 * made. A case of one street whose description mentions a sensor of the next street tells the
 * reader nothing they may not read — the case is theirs — so the scan leaves such text out.
 */
const FREE_TEXT = new Set(['description', 'address', 'reporter', 'reporterText', 'comment', 'note', 'outcome', 'reason', 'title', 'text', 'summary'])

/** The structured part of an answer as text: JSON without its free-text fields, CSV without those columns. */
function structured(reply: Reply): string {
  if (/json/.test(reply.type)) {
    const out: string[] = []
    const walk = (v: unknown): void => {
      if (typeof v === 'string' || typeof v === 'number') out.push(String(v))
      else if (Array.isArray(v)) v.forEach(walk)
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          if (FREE_TEXT.has(k)) continue
          out.push(k)
          walk(x)
        }
    }
    try {
      walk(JSON.parse(reply.text))
      return out.join(' ')
    } catch {
      return reply.text
    }
  }
  if (/csv/.test(reply.type)) {
    const rows = parseCsv(reply.text, { columns: true, bom: true, relax_column_count: true }) as Record<string, string>[]
    return rows.map((r) => Object.entries(r).filter(([k]) => !FREE_TEXT.has(k)).map(([, v]) => v).join(' ')).join('\n')
  }
  return reply.text
}

interface Reply {
  status: number
  text: string
  bytes: Uint8Array
  type: string
}

interface ProbeRequest {
  method: string
  path: string
  body?: unknown
  /** ok: must answer 2xx (the user's own); refused: must answer 403 or 404 (another node's object); any: whatever the status. */
  expect: 'ok' | 'refused' | 'any'
  /** Scan the answer for other nodes' objects (default true). */
  scan?: boolean
  /** A list whose own objects are counted towards "sees its own". */
  own?: boolean
}

interface Fixture {
  /** Objects of a node: first ids of each kind, for the id probes. */
  of(code: string): NodeObjects
  layers: string[]
  collections: string[]
  exportLayers: string[]
  screens: string[]
  /** A case category that exists. */
  category: string
}

interface NodeObjects {
  caseId: number
  caseVersion: number
  sensorId: number
  cameraId: number
  workerId: number
  gridCode: string
  alarmId: number | null
  personId: number | null
  lon: number
  lat: number
}

/** A route's probes for one user, or the reason it is not probed per user. */
type Probe = ((a: Area, f: Fixture) => ProbeRequest[]) | { skip: string }

const get = (path: string, extra: Partial<ProbeRequest> = {}): ProbeRequest => ({ method: 'GET', path, expect: 'ok', ...extra })
const refused = (method: string, path: string, body?: unknown): ProbeRequest => ({ method, path, body, expect: 'refused' })

/**
 * Every route (METHOD path as its router declares it): what is asked of it. Scoped reads are asked
 * for lists (scanned, own objects counted) and for another node's object by id (refused); writes
 * are asked for another node's object only (refused, nothing changes).
 */
const PROBES: Record<string, Probe> = {
  'GET /api/health': () => [get('/api/health')],
  'GET /api/openapi.json': () => [get('/api/openapi.json', { scan: false })],
  'POST /api/auth/login': { skip: 'signing in: every user of the matrix signs in through it' },
  'POST /api/auth/logout': { skip: 'ends the session; answers no data' },
  'POST /api/auth/logout-all': { skip: 'ends every session of the user; answers no data' },
  'GET /api/auth/me': () => [get('/api/auth/me')],
  'GET /tiles/catalog.json': () => [get('/tiles/catalog.json')],
  'GET /tiles/:layer.json': (_, f) => f.layers.map((l) => get(`/tiles/${l}.json`)),
  'GET /tiles/:layers/:z/:x/:y.mvt': { skip: 'decoded per layer by the tile probes below' },
  'GET /ogc': () => [get('/ogc')],
  'GET /ogc/conformance': () => [get('/ogc/conformance')],
  'GET /ogc/collections': () => [get('/ogc/collections')],
  'GET /ogc/collections/:id': (_, f) => f.collections.map((c) => get(`/ogc/collections/${c}`)),
  'GET /ogc/collections/:id/items': { skip: 'checked per collection by the OGC probes below' },
  'GET /ogc/collections/:id/items/:fid': { skip: 'checked per collection by the OGC probes below' },
  'GET /styles/sprite.json': () => [get('/styles/sprite.json', { scan: false })],
  'GET /styles/sprite.png': () => [get('/styles/sprite.png', { scan: false })],
  'GET /styles/sprite@2x.json': () => [get('/styles/sprite@2x.json', { scan: false })],
  'GET /styles/sprite@2x.png': () => [get('/styles/sprite@2x.png', { scan: false })],
  'GET /styles/echarts/:name.json': () => [get('/styles/echarts/night.json', { expect: 'any', scan: false })],
  'GET /styles/:name.json': () => [get('/styles/night.json', { scan: false })],
  // The dispatcher's role holds neither data.manage nor config.manage: refused for everyone.
  'GET /api/import/layers': () => [refused('GET', '/api/import/layers')],
  'POST /api/import/:layer': () => [refused('POST', '/api/import/buildings', {})],
  'GET /api/admin/stats': () => [refused('GET', '/api/admin/stats')],
  'GET /api/admin/assessment-rules': () => [refused('GET', '/api/admin/assessment-rules')],
  'PUT /api/admin/assessment-rules/:kind': () => [refused('PUT', '/api/admin/assessment-rules/street', {})],
  'POST /api/import/cases': { skip: 'bulk case import: its scope check is in case-import.test (rows outside the importer’s node are refused)' },
  'GET /api/export/:layer.geojson': { skip: 'checked per layer by the export probes below' },
  'GET /api/export/:layer.csv': { skip: 'checked per layer by the export probes below' },
  // Reverse geocoding of a point: base-map names for a point of another node are reference data.
  // The grid, community and street at a point: another node's point is not the user's to look up.
  'GET /api/locate': (a, f) => [refused('GET', `/api/locate?lon=${f.of(a.other).lon}&lat=${f.of(a.other).lat}`), get(`/api/locate?lon=${f.of(a.code).lon}&lat=${f.of(a.code).lat}`, { own: true })],
  'GET /api/spatial/nearest': (a, f) =>
    ['cases', 'sensors', 'cameras', 'workers', 'parts'].flatMap((layer) => [
      get(`/api/spatial/nearest?lon=${f.of(a.other).lon}&lat=${f.of(a.other).lat}&layer=${layer}&k=50`, { expect: 'any' }),
      get(`/api/spatial/nearest?lon=${f.of(a.code).lon}&lat=${f.of(a.code).lat}&layer=${layer}&k=20`, { own: true, expect: 'any' }),
    ]),
  'GET /api/spatial/around': (a, f) => [
    get(`/api/spatial/around?lon=${f.of(a.other).lon}&lat=${f.of(a.other).lat}&radius=2000`),
    get(`/api/spatial/around?lon=${f.of(a.code).lon}&lat=${f.of(a.code).lat}&radius=1000`, { own: true }),
  ],
  'POST /api/spatial/within': (a, f) => [
    { method: 'POST', path: '/api/spatial/within', body: { circle: { lon: f.of(a.other).lon, lat: f.of(a.other).lat, radius_m: 3000 }, limit: 200 }, expect: 'ok' },
    { method: 'POST', path: '/api/spatial/within', body: { circle: { lon: f.of(a.code).lon, lat: f.of(a.code).lat, radius_m: 1000 }, limit: 200 }, expect: 'ok', own: true },
  ],
  'GET /api/stats/choropleth': () => ['district', 'street', 'community', 'grid'].map((level) => get(`/api/stats/choropleth?level=${level}&indicator=cases_total`, { own: level === 'grid' })),
  'GET /api/stats/indicators': (a) => [get('/api/stats/indicators?groupBy=grid', { own: true }), get('/api/stats/indicators?groupBy=street'), refused('GET', `/api/stats/indicators?code=${a.other}`)],
  'GET /api/stats/indicators.csv': (a) => [get('/api/stats/indicators.csv?groupBy=grid', { own: true }), refused('GET', `/api/stats/indicators.csv?code=${a.other}`)],
  'GET /api/stats/indicators.xlsx': (a) => [get('/api/stats/indicators.xlsx?groupBy=grid', { scan: false }), refused('GET', `/api/stats/indicators.xlsx?code=${a.other}`)],
  'GET /api/stats/assessment': () => [get('/api/stats/assessment?kind=grid', { expect: 'any' }), get('/api/stats/assessment', { expect: 'any' })],
  'GET /api/stats/assessment.csv': () => [get('/api/stats/assessment.csv', { expect: 'any' })],
  'GET /api/stats/assessment.xlsx': () => [get('/api/stats/assessment.xlsx', { expect: 'any', scan: false })],
  'GET /api/stats/assessment/:kind/:code': (a, f) => [
    refused('GET', `/api/stats/assessment/community/${f.of(a.other).gridCode.slice(0, 12)}`),
    refused('GET', `/api/stats/assessment/street/${a.other}`),
    get(`/api/stats/assessment/community/${f.of(a.code).gridCode.slice(0, 12)}`, { expect: 'any' }),
  ],
  'PATCH /api/sensors/:id': (a, f) => [refused('PATCH', `/api/sensors/${f.of(a.other).sensorId}`, { status: 'offline' })],
  'POST /api/positions': (a, f) => [
    refused('POST', '/api/positions', { positions: [{ workerId: f.of(a.other).workerId, ts: new Date().toISOString(), lon: f.of(a.other).lon, lat: f.of(a.other).lat }] }),
  ],
  'GET /api/workers/:id/track': (a, f) => [refused('GET', `/api/workers/${f.of(a.other).workerId}/track`), get(`/api/workers/${f.of(a.code).workerId}/track`)],
  'GET /api/workers/:id/patrol': (a, f) => [refused('GET', `/api/workers/${f.of(a.other).workerId}/patrol`), get(`/api/workers/${f.of(a.code).workerId}/patrol`, { expect: 'any' })],
  'GET /api/grids/:code/presence': (a, f) => [refused('GET', `/api/grids/${f.of(a.other).gridCode}/presence`), get(`/api/grids/${f.of(a.code).gridCode}/presence`, { expect: 'any' })],
  'POST /api/devices/:code/credentials': () => [refused('POST', '/api/devices/x/credentials', {})],
  'DELETE /api/devices/:code/credentials': () => [refused('DELETE', '/api/devices/x/credentials')],
  'GET /api/alarms': () => [get('/api/alarms?limit=1000', { own: true }), get('/api/alarms?state=resolved&limit=1000')],
  'POST /api/alarms/:id/ack': (a, f) => (f.of(a.other).alarmId ? [refused('POST', `/api/alarms/${f.of(a.other).alarmId}/ack`, {})] : []),
  'POST /api/alarms/:id/resolve': (a, f) => (f.of(a.other).alarmId ? [refused('POST', `/api/alarms/${f.of(a.other).alarmId}/resolve`, {})] : []),
  'GET /api/wall/summary': () => [get('/api/wall/summary', { own: true })],
  'GET /api/wall/live': () => [get('/api/wall/live', { own: true })],
  'GET /api/screens/:id': (_, f) => f.screens.map((id) => get(`/api/screens/${id}`, { expect: 'any' })),
  'POST /api/cases/attachments': { skip: 'an upload is nobody’s until a case action attaches it (that action is scoped)' },
  'GET /api/cases/attachments/:id': { skip: 'checked by the attachment probe below (an attachment of another node’s case)' },
  'GET /api/cases/attachments/:id/thumb': { skip: 'checked by the attachment probe below' },
  'GET /api/cases/workflow': () => [get('/api/cases/workflow')],
  'POST /api/cases': (a, f) => [
    refused('POST', '/api/cases', { categoryCode: f.category, source: 'hotline', description: 'scope matrix: a report placed in another node', lon: f.of(a.other).lon, lat: f.of(a.other).lat }),
  ],
  'GET /api/cases': () => [get('/api/cases?limit=500', { own: true }), get('/api/cases?limit=500&offset=500')],
  'GET /api/cases/:id': (a, f) => [refused('GET', `/api/cases/${f.of(a.other).caseId}`), get(`/api/cases/${f.of(a.code).caseId}`, { own: true })],
  'GET /api/cases/:id/timeline': (a, f) => [refused('GET', `/api/cases/${f.of(a.other).caseId}/timeline`), get(`/api/cases/${f.of(a.code).caseId}/timeline`)],
  'GET /api/cases/:id/briefing': (a, f) => [refused('GET', `/api/cases/${f.of(a.other).caseId}/briefing`), get(`/api/cases/${f.of(a.code).caseId}/briefing`, { own: true })],
  'GET /api/cases/:id/recommendation': (a, f) => [refused('GET', `/api/cases/${f.of(a.other).caseId}/recommendation`), get(`/api/cases/${f.of(a.code).caseId}/recommendation`, { expect: 'any' })],
  'POST /api/cases/:id/actions/:action': (a, f) =>
    ['urge', 'supervise', 'cancel', 'suspend'].map((action) => refused('POST', `/api/cases/${f.of(a.other).caseId}/actions/${action}`, { version: f.of(a.other).caseVersion, reason: 'scope matrix', comment: 'scope matrix' })),
  'ALL /api/cases/:id/actions': { skip: 'the 405 for other methods on the actions path: answers no data' },
  // Open311 is the public intake (GeoReport v2): its own API keys and limits, the same for everyone.
  'GET /open311/discovery.json': { skip: 'Open311 discovery: public reference data' },
  'GET /open311/v2/:file': { skip: 'Open311 service list: public reference data' },
  'GET /open311/v2/services/:file': { skip: 'Open311 service definition: public reference data' },
  'GET /open311/v2/requests/:file': { skip: 'Open311 public requests: public by the standard, with no grid or personal data' },
  'POST /open311/v2/:file': { skip: 'Open311 public intake: anyone may report anywhere' },
  'GET /api/features/:layer/:id': { skip: 'checked per card layer by the feature-card probes below' },
  'POST /api/cameras/:id/ptz': (a, f) => [refused('POST', `/api/cameras/${f.of(a.other).cameraId}/ptz`, { pan: 10 })],
  'GET /api/people': () => [get('/api/people?limit=200', { own: true })],
  'GET /api/people/:id': (a, f) => (f.of(a.other).personId ? [refused('GET', `/api/people/${f.of(a.other).personId}`)] : []),
  // The three administrators' routes: the dispatcher's role holds none of their permissions.
  'GET /api/admin/permissions': () => [refused('GET', '/api/admin/permissions')],
  'PUT /api/admin/permissions/:role': () => [refused('PUT', '/api/admin/permissions/dispatcher', { permissions: [] })],
  'GET /api/admin/users': () => [refused('GET', '/api/admin/users')],
  'POST /api/admin/users': () => [refused('POST', '/api/admin/users', {})],
  'PATCH /api/admin/users/:username': () => [refused('PATCH', '/api/admin/users/dispatcher', {})],
  'PUT /api/admin/users/:username/role': () => [refused('PUT', '/api/admin/users/dispatcher/role', { role: 'admin' })],
  'GET /api/admin/audit': () => [refused('GET', '/api/admin/audit')],
  'GET /api/admin/audit.csv': () => [refused('GET', '/api/admin/audit.csv')],
}

/** Layers holding scoped rows (the others are base map, the same for everyone). */
const scopedLayers = [...catalog.values()].filter((d): d is LayerDef & { scopeColumn: string } => d.scopeColumn !== null)

const backend = backends().find((b) => b.name === 'postgres') ?? backends()[0]

describe(`scope matrix (${backend.name})`, () => {
  let s: TestServer
  const cookies = new Map<string, string>()
  let owners: Owners
  let fixture: Fixture
  /** Per layer: the owner (scope code) of each row id. */
  const rowOwners = new Map<string, Map<number, string | null>>()
  const alarms: number[] = []
  let sensorsBefore: { id: number; status: string; status_at: string | null }[] = []
  const tally = { probes: 0, leaks: [] as string[], failures: [] as string[], own: new Map<string, number>() }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl: backend.databaseUrl, env: { ONEGRID_MQTT_PORT: '0', ONEGRID_MQTT_SECRET: `scope-matrix-${process.pid}-secret-0123456789` } })
    const db = s.server.db
    const hash = await hashPassword(TEST_PASSWORD)
    for (const a of AREAS) {
      await db.query(`INSERT INTO users (username, display_name, password_hash, role, scope_code) VALUES ($1, $1, $2, 'dispatcher', $3) ON CONFLICT (username) DO NOTHING`, [a.user, hash, a.code])
      cookies.set(a.user, await login(s.url, a.user))
    }
    cookies.set('dispatcher', await login(s.url, 'dispatcher'))
    cookies.set('admin', await login(s.url, 'admin'))

    // Every token that names something of the city, and whose it is.
    owners = new Map()
    const add = (sql: string) => db.query<{ token: string; owner: string | null }>(sql).then(({ rows }) => rows.forEach((r) => owners.set(r.token, r.owner)))
    await add(`SELECT code AS token, code AS owner FROM admin_units`)
    await add(`SELECT code AS token, code AS owner FROM grids`)
    for (const t of ['cases', 'sensors', 'cameras', 'workers', 'parts']) await add(`SELECT code AS token, grid_code AS owner FROM ${t} WHERE code IS NOT NULL`)
    for (const def of scopedLayers) {
      const { rows } = await db.query<{ id: number; owner: string | null }>(`SELECT ${def.idColumn} AS id, ${def.scopeColumn} AS owner FROM ${def.table}`)
      rowOwners.set(def.id, new Map(rows.map((r) => [Number(r.id), r.owner])))
    }

    // The demo city starts without alarms: one open alarm on a sensor of each node (removed afterwards).
    for (const code of new Set(AREAS.flatMap((a) => [a.code, a.other]))) {
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO alarms (sensor_id, kind, value, threshold, raised_at, grid_code)
         SELECT id, 'threshold', 99, 50, now(), grid_code FROM sensors WHERE grid_code LIKE $1 || '%' ORDER BY id DESC LIMIT 1
         ON CONFLICT DO NOTHING RETURNING id`,
        [code],
      )
      alarms.push(...rows.map((r) => r.id))
    }
    sensorsBefore = (await db.query<{ id: number; status: string; status_at: string | null }>('SELECT id, status, status_at FROM sensors')).rows
    const nodes = new Map<string, NodeObjects>()
    for (const code of new Set(AREAS.flatMap((a) => [a.code, a.other]))) {
      const one = async <T,>(sql: string): Promise<T | undefined> => (await db.query<T & Record<string, unknown>>(sql, [code])).rows[0]
      const c = (await one<{ id: number; version: number; lon: number; lat: number }>(
        `SELECT id, version, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM cases WHERE grid_code LIKE $1 || '%' AND stage NOT IN ('closed', 'evaluated', 'cancelled') ORDER BY id LIMIT 1`,
      ))!
      nodes.set(code, {
        caseId: c.id,
        caseVersion: c.version,
        lon: c.lon,
        lat: c.lat,
        sensorId: (await one<{ id: number }>(`SELECT id FROM sensors WHERE grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`))!.id,
        cameraId: (await one<{ id: number }>(`SELECT id FROM cameras WHERE grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`))!.id,
        workerId: (await one<{ id: number }>(`SELECT id FROM workers WHERE grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`))!.id,
        gridCode: (await one<{ code: string }>(`SELECT code FROM grids WHERE code LIKE $1 || '%' ORDER BY code LIMIT 1`))!.code,
        alarmId: (await one<{ id: number }>(`SELECT id FROM alarms WHERE grid_code LIKE $1 || '%' AND resolved_at IS NULL ORDER BY id LIMIT 1`))?.id ?? null,
        personId: (await one<{ id: number }>(`SELECT id FROM people WHERE grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`))?.id ?? null,
      })
    }
    const auth = { cookie: cookies.get('dispatcher')! }
    const json = async <T,>(path: string) => (await (await fetch(`${s.url}${path}`, { headers: auth })).json()) as T
    fixture = {
      of: (code) => nodes.get(code)!,
      layers: (await json<{ layers: { id: string }[] }>('/tiles/catalog.json')).layers.map((l) => l.id),
      collections: (await json<{ collections: { id: string }[] }>('/ogc/collections')).collections.map((c) => c.id),
      exportLayers: [...exportLayers.keys()],
      category: (await db.query<{ c: string }>('SELECT category_code AS c FROM cases ORDER BY id LIMIT 1')).rows[0].c,
      screens: (await db.query<{ id: string }>('SELECT id FROM screens ORDER BY id')).rows.map((r) => r.id).concat('hall'),
    }
  })

  afterAll(async () => {
    // What the probes set up or the socket test changed goes back (later files share this database).
    if (s) {
      const db = s.server.db
      await db.query(`DELETE FROM users WHERE username = ANY($1::text[])`, [AREAS.map((a) => a.user)]).catch(() => {})
      await db.query('DELETE FROM alarms WHERE id = ANY($1::int[])', [alarms]).catch(() => {})
      await db.query(
        `UPDATE sensors s SET status = b.status, status_at = b.status_at FROM jsonb_to_recordset($1::jsonb) AS b(id int, status text, status_at timestamptz) WHERE s.id = b.id AND s.status IS DISTINCT FROM b.status`,
        [JSON.stringify(sensorsBefore)],
      ).catch(() => {})
    }
    await s?.close()
    console.log(
      `[scope-matrix] ${backend.name}: ${tally.probes} probes over ${AREAS.length} users, ${tally.leaks.length} leaks, ${tally.failures.length} failed probes; own objects seen: ` +
        [...tally.own].map(([k, n]) => `${k} ${n}`).join(', '),
    )
  })

  async function send(a: Area, req: Pick<ProbeRequest, 'method' | 'path' | 'body'>): Promise<Reply> {
    const headers: Record<string, string> = { cookie: cookies.get(a.user)!, origin: s.url }
    if (req.body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`${s.url}${req.path}`, { method: req.method, headers, body: req.body === undefined ? undefined : JSON.stringify(req.body) })
    const bytes = new Uint8Array(await res.arrayBuffer())
    const type = res.headers.get('content-type') ?? ''
    return { status: res.status, bytes, type, text: /json|csv|text/.test(type) ? new TextDecoder().decode(bytes) : '' }
  }

  /**
   * The other nodes' tokens in an answer, and how many of the user's own it holds. Free text
   * (FREE_TEXT) is left out, and so are the tokens the request named itself (an error message
   * may repeat the code it was asked for).
   */
  function scan(a: Area, reply: Reply, asked: string): { leaks: string[]; own: number } {
    const leaks = new Set<string>()
    const named = new Set(tokens(asked))
    let own = 0
    for (const token of tokens(structured(reply))) {
      if (!owners.has(token) || named.has(token)) continue
      const owner = owners.get(token)!
      if (owner === null || !inside(a.code, owner)) leaks.add(token)
      else if (owner.startsWith(a.code) && owner.length > a.code.length) own++
    }
    return { leaks: [...leaks].slice(0, 5), own }
  }

  function judge(a: Area, label: string, reply: Reply, req: Pick<ProbeRequest, 'expect' | 'scan' | 'own' | 'body'>): void {
    tally.probes++
    const where = `${a.user} ${label} → ${reply.status}`
    if (reply.status >= 500) tally.failures.push(`${where}: a server error`)
    else if (req.expect === 'ok' && (reply.status < 200 || reply.status >= 300)) tally.failures.push(`${where}: the user's own request was not served (${reply.text.slice(0, 160)})`)
    else if (req.expect === 'refused' && reply.status !== 403 && reply.status !== 404) {
      if (reply.status >= 200 && reply.status < 300) tally.leaks.push(`${where}: another node's object was served or changed`)
      else tally.failures.push(`${where}: refused, but not for scope (403/404 expected): ${reply.text.slice(0, 160)}`)
    }
    if (req.scan !== false && reply.text) {
      const found = scan(a, reply, `${label} ${req.body === undefined ? '' : JSON.stringify(req.body)}`)
      if (found.leaks.length) tally.leaks.push(`${where}: names ${found.leaks.join(', ')}`)
      if (req.own) tally.own.set(label.split('?')[0], (tally.own.get(label.split('?')[0]) ?? 0) + found.own)
    }
  }

  it('has a probe for every route the app answers, and no probe for a route that is gone', () => {
    const routes = routeTable(s.server.app).map((r) => `${r.method} ${r.path}`)
    const probed = (key: string) => key in PROBES || `ALL ${key.slice(key.indexOf(' ') + 1)}` in PROBES
    expect(routes.filter((k) => !probed(k)).map((k) => `no probe for ${k}`)).toEqual([])
    const known = new Set([...routes, ...Object.keys(ROUTE_PERMISSIONS).filter((k) => k.startsWith('ALL '))])
    expect(Object.keys(PROBES).filter((k) => !known.has(k)).map((k) => `a probe for ${k}, which the app does not answer`)).toEqual([])
  })

  it('every route, as each user: own objects only, and another node’s objects refused', async () => {
    const mark = { leaks: tally.leaks.length, failures: tally.failures.length }
    const routes = routeTable(s.server.app).map((r) => `${r.method} ${r.path}`)
    const before = await s.server.db.query<{ n: string }>(`SELECT (SELECT max(seq) FROM event_log)::text || '/' || (SELECT count(*) FROM cases)::text AS n`)
    for (const key of [...new Set([...routes, ...Object.keys(PROBES)])]) {
      const probe = PROBES[key] ?? PROBES[`ALL ${key.slice(key.indexOf(' ') + 1)}`]
      if (!probe || 'skip' in probe) continue
      for (const a of AREAS) {
        for (const req of probe(a, fixture)) judge(a, `${req.method} ${req.path}`, await send(a, req), req)
      }
    }
    // The refused writes changed nothing: no event was logged and no case was added.
    const after = await s.server.db.query<{ n: string }>(`SELECT (SELECT max(seq) FROM event_log)::text || '/' || (SELECT count(*) FROM cases)::text AS n`)
    expect(after.rows[0].n, 'refused writes must change nothing').toBe(before.rows[0].n)
    expect(tally.failures.slice(mark.failures)).toEqual([])
    expect(tally.leaks.slice(mark.leaks)).toEqual([])
    for (const list of ['GET /api/cases', 'GET /api/cases/:id', 'GET /api/alarms', 'GET /api/people', 'GET /api/wall/live', 'POST /api/spatial/within']) {
      const n = [...tally.own].filter(([k]) => k.startsWith(list.split(':')[0].replace(/\/$/, ''))).reduce((sum, [, v]) => sum + v, 0)
      expect(n, `${list} shows the users their own objects`).toBeGreaterThan(0)
    }
  })

  it('tiles: a scoped layer holds only the user’s rows, an aggregated cell counts only them, another node’s tile is empty', async () => {
    const mark = { leaks: tally.leaks.length, failures: tally.failures.length }
    const db = s.server.db
    for (const a of AREAS) {
      const mine = fixture.of(a.code)
      // A tile at the user's own case (it also holds other nodes' objects nearby), a low-zoom tile
      // over both streets and the river (aggregated cells), and a tile of the other node's.
      const own15 = tileOf(mine.lon, mine.lat, 15)
      const low = tileOf(121.49, 31.235, 12)
      const foreign = await emptyTileFor(a)
      for (const [t, kind] of [[own15, 'own'], [low, 'low'], [foreign, 'foreign']] as const) {
        for (const def of scopedLayers) {
          const reply = await send(a, { method: 'GET', path: `/tiles/${def.id}/${t.z}/${t.x}/${t.y}.mvt` })
          const label = `GET /tiles/${def.id}/${t.z}/${t.x}/${t.y}.mvt (${kind})`
          judge(a, label, reply, { expect: 'ok', scan: false })
          const layer = reply.bytes.length ? decodeLayer(reply.bytes, def.id) : null
          const features = layer?.features ?? []
          const cells = features.filter((f) => 'count' in f.properties)
          const points = features.filter((f) => !('count' in f.properties))
          const strangers = points.filter((f) => {
            const owner = rowOwners.get(def.id)!.get(Number(f.id))
            return owner === undefined || owner === null || !owner.startsWith(a.code)
          })
          if (strangers.length) tally.leaks.push(`${a.user} ${label}: ${strangers.length} features of other nodes (ids ${strangers.slice(0, 3).map((f) => f.id).join(', ')})`)
          const counted = cells.reduce((n, f) => n + Number(f.properties.count), 0)
          if (counted) {
            // At most the user's own rows in the tile and its buffer.
            const { rows } = await db.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM ${def.table} WHERE ${def.scopeColumn} LIKE $4 || '%' AND ${def.geomColumn} && ST_TileEnvelope($1, $2, $3, margin => 0.1)`,
              [t.z, t.x, t.y, a.code],
            )
            if (counted > rows[0].n) tally.leaks.push(`${a.user} ${label}: cells count ${counted}, the user's own rows there are ${rows[0].n}`)
          }
          if (kind === 'foreign' && features.length) tally.leaks.push(`${a.user} ${label}: ${features.length} features in a tile of another node`)
          if (kind === 'own') tally.own.set(`tiles ${def.id}`, (tally.own.get(`tiles ${def.id}`) ?? 0) + points.length + counted)
        }
      }
      // All scoped layers in one request (the composite tile the map asks for).
      const ids = scopedLayers.map((d) => d.id).join(',')
      const t = own15
      const reply = await send(a, { method: 'GET', path: `/tiles/${ids}/${t.z}/${t.x}/${t.y}.mvt` })
      judge(a, `GET /tiles/<all scoped>/${t.z}/${t.x}/${t.y}.mvt`, reply, { expect: 'ok', scan: false })
      for (const def of scopedLayers) {
        for (const f of decodeLayer(reply.bytes, def.id)?.features ?? []) {
          if ('count' in f.properties) continue
          const owner = rowOwners.get(def.id)!.get(Number(f.id))
          if (!owner?.startsWith(a.code)) tally.leaks.push(`${a.user} composite tile ${def.id}: feature ${f.id} of ${owner}`)
        }
      }
    }
    expect(tally.leaks.slice(mark.leaks)).toEqual([])
    expect(tally.failures.slice(mark.failures)).toEqual([])
    for (const l of ['cases', 'sensors', 'cameras', 'grids', 'buildings']) expect(tally.own.get(`tiles ${l}`), `tiles of ${l} show the users their own`).toBeGreaterThan(0)

    /** A z17 tile around another node's case with none of the user's rows of any scoped layer near it. */
    async function emptyTileFor(a: Area): Promise<{ z: number; x: number; y: number }> {
      // Cases of other nodes, farthest from the user's own first.
      const mine = fixture.of(a.code)
      const { rows } = await db.query<{ lon: number; lat: number }>(
        `SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM cases WHERE grid_code NOT LIKE $1 || '%'
          ORDER BY geom <-> ST_SetSRID(ST_MakePoint($2, $3), 4326) DESC LIMIT 100`,
        [a.code, mine.lon, mine.lat],
      )
      for (const r of rows) {
        const t = tileOf(r.lon, r.lat, 17)
        let near = 0
        for (const def of scopedLayers) {
          const q = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${def.table} WHERE ${def.scopeColumn} LIKE $4 || '%' AND ${def.geomColumn} && ST_TileEnvelope($1, $2, $3, margin => 0.5)`,
            [t.z, t.x, t.y, a.code],
          )
          near += q.rows[0].n
        }
        if (near === 0) return t
      }
      throw new Error(`no tile of another node away from ${a.code}`)
    }
  })

  it('OGC collections, exports and feature cards: own rows only; another node’s item refused', async () => {
    const mark = { leaks: tally.leaks.length, failures: tally.failures.length }
    const db = s.server.db
    for (const a of AREAS) {
      for (const c of fixture.collections) {
        const def = catalog.get(c)
        const reply = await send(a, { method: 'GET', path: `/ogc/collections/${c}/items?limit=1000` })
        judge(a, `GET /ogc/collections/${c}/items`, reply, { expect: 'any', scan: def?.scopeColumn != null, own: true })
        if (reply.status === 200 && def?.scopeColumn) {
          const body = JSON.parse(reply.text) as { features: { id: number | string }[] }
          const strangers = body.features.filter((f) => !rowOwners.get(def.id)!.get(Number(f.id))?.startsWith(a.code))
          if (strangers.length) tally.leaks.push(`${a.user} OGC ${c}: ${strangers.length} items of other nodes`)
          // Another node's item by id.
          const { rows } = await db.query<{ id: number }>(`SELECT ${def.idColumn} AS id FROM ${def.table} WHERE ${def.scopeColumn} LIKE $1 || '%' ORDER BY 1 LIMIT 1`, [a.other])
          if (rows[0]) judge(a, `GET /ogc/collections/${c}/items/${rows[0].id} (other node)`, await send(a, { method: 'GET', path: `/ogc/collections/${c}/items/${rows[0].id}` }), { expect: 'refused' })
        }
      }
      for (const layer of fixture.exportLayers) {
        const def = catalog.get(layer)
        for (const ext of ['geojson', 'csv'] as const) {
          const reply = await send(a, { method: 'GET', path: `/api/export/${layer}.${ext}` })
          judge(a, `GET /api/export/${layer}.${ext}`, reply, { expect: 'any', scan: def?.scopeColumn != null, own: true })
          const column = def?.scopeColumn
          if (reply.status !== 200 || !def || !column) continue
          // GeoJSON: each feature's id is a row of the layer; CSV: each row's scope column (ids are not exported).
          const owned: (string | null | undefined)[] =
            ext === 'geojson'
              ? (JSON.parse(reply.text) as { features: { id?: number }[] }).features.map((f) => rowOwners.get(def.id)?.get(Number(f.id)))
              : (parseCsv(reply.text, { columns: true, bom: true }) as Record<string, string>[]).map((r) => r[column] ?? undefined)
          const strangers = owned.filter((o) => !o?.startsWith(a.code))
          if (strangers.length) tally.leaks.push(`${a.user} export ${layer}.${ext}: ${strangers.length} of ${owned.length} rows of other nodes (${strangers.slice(0, 3).join(', ')})`)
          if (!owned.length) tally.failures.push(`${a.user} export ${layer}.${ext}: no rows of the user's own`)
        }
      }
      // Feature cards: another node's object of each card layer by id.
      const other = fixture.of(a.other)
      for (const [layer, id] of [['cases', other.caseId], ['sensors', other.sensorId], ['cameras', other.cameraId], ['workers', other.workerId]] as const) {
        judge(a, `GET /api/features/${layer}/${id} (other node)`, await send(a, { method: 'GET', path: `/api/features/${layer}/${id}` }), { expect: 'refused' })
      }
      const mine = fixture.of(a.code)
      judge(a, `GET /api/features/cases/${mine.caseId}`, await send(a, { method: 'GET', path: `/api/features/cases/${mine.caseId}` }), { expect: 'ok', own: true })
    }
    expect(tally.failures.slice(mark.failures)).toEqual([])
    expect(tally.leaks.slice(mark.leaks)).toEqual([])
  })

  it('an attachment of another node’s case is refused', async () => {
    const mark = { leaks: tally.leaks.length, failures: tally.failures.length }
    // Uploaded and attached by the unrestricted dispatcher to a case of 外滩街道.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
    const form = new FormData()
    form.append('file', new Blob([png], { type: 'image/png' }), 'scope.png')
    const cookie = cookies.get('dispatcher')!
    const up = await fetch(`${s.url}/api/cases/attachments`, { method: 'POST', headers: { cookie, origin: s.url }, body: form })
    expect(up.status, await up.clone().text()).toBe(201)
    const { id } = (await up.json()) as { id: string }
    const target = fixture.of('310101013')
    const act = await fetch(`${s.url}/api/cases/${target.caseId}/actions/urge`, {
      method: 'POST',
      headers: { cookie, origin: s.url, 'content-type': 'application/json' },
      body: JSON.stringify({ version: target.caseVersion, comment: 'scope matrix photo', attachments: [{ id, type: 'image/png', name: 'scope.png' }] }),
    })
    expect(act.status, await act.clone().text()).toBe(200)
    const owner = AREAS[0]
    for (const a of AREAS) {
      for (const path of [`/api/cases/attachments/${id}`, `/api/cases/attachments/${id}/thumb`]) {
        judge(a, `GET ${path}`, await send(a, { method: 'GET', path }), { expect: a === owner ? 'ok' : 'refused', scan: false })
      }
    }
    expect(tally.failures.slice(mark.failures)).toEqual([])
    expect(tally.leaks.slice(mark.leaks)).toEqual([])
  })

  it('socket topics: another node’s room is refused; events reach only the sockets of the node they are about; replay holds only own events', async () => {
    const mark = { leaks: tally.leaks.length, failures: tally.failures.length }
    const sockets = new Map<string, { socket: Socket; got: { seq: number; type: string; scope: string | null }[] }>()
    try {
      for (const a of [...AREAS, { user: 'dispatcher', code: '', other: '' }]) {
        const socket = ioClient(s.url, { path: '/socket.io', transports: ['websocket'], extraHeaders: { cookie: cookies.get(a.user)!, origin: s.url } })
        const entry = { socket, got: [] as { seq: number; type: string; scope: string | null }[] }
        socket.on('event', (e: { seq: number; type: string; scope: string | null }) => entry.got.push(e))
        sockets.set(a.user, entry)
        await new Promise<void>((resolve, reject) => {
          socket.once('hello', () => resolve())
          socket.once('connect_error', reject)
        })
      }
      const ask = (socket: Socket, event: string, req: unknown) => socket.timeout(10_000).emitWithAck(event, req) as Promise<{ error?: string; rooms?: string[]; events?: { scope: string | null }[] }>
      for (const a of AREAS) {
        const { socket } = sockets.get(a.user)!
        const other = fixture.of(a.other)
        for (const room of [`scope:${a.other}`, `scope:${other.gridCode}`, `case:${other.caseId}`, 'scope:*', 'scope:31']) {
          const ans = await ask(socket, 'subscribe', { rooms: [room] })
          judge(a, `socket subscribe ${room}`, { status: ans.error ? 403 : 200, text: '', bytes: new Uint8Array(), type: '' }, { expect: 'refused', scan: false })
        }
        const mine = fixture.of(a.code)
        for (const room of [`scope:${mine.gridCode}`, `case:${mine.caseId}`]) {
          const ans = await ask(socket, 'subscribe', { rooms: [room] })
          judge(a, `socket subscribe ${room} (own)`, { status: ans.error ? 403 : 200, text: ans.error ?? '', bytes: new Uint8Array(), type: '' }, { expect: 'ok', scan: false })
        }
        const replay = await ask(socket, 'replay', { since: 0, limit: 2000 })
        const strangers = (replay.events ?? []).filter((e) => !e.scope || !e.scope.startsWith(a.code))
        tally.probes++
        if (strangers.length) tally.leaks.push(`${a.user} socket replay: ${strangers.length} events of other nodes`)
        tally.own.set('socket replay', (tally.own.get('socket replay') ?? 0) + (replay.events?.length ?? 0))
      }
      // Events in each node, raised by the unrestricted dispatcher: a sensor's status.
      const raised = new Map<string, number>()
      for (const code of new Set(AREAS.map((a) => a.code))) {
        const sensor = fixture.of(code).sensorId
        for (const status of ['offline', 'online']) {
          const res = await fetch(`${s.url}/api/sensors/${sensor}`, { method: 'PATCH', headers: { cookie: cookies.get('dispatcher')!, origin: s.url, 'content-type': 'application/json' }, body: JSON.stringify({ status }) })
          expect(res.status).toBe(200)
        }
        raised.set(code, 2)
      }
      await until(() => sockets.get('dispatcher')!.got.filter((e) => e.type.startsWith('sensor')).length >= 2 * raised.size, 'the unrestricted dispatcher to get every event', 20_000)
      await sleep(500)
      for (const a of AREAS) {
        const { got } = sockets.get(a.user)!
        tally.probes += 2
        const strangers = got.filter((e) => !e.scope || !e.scope.startsWith(a.code))
        if (strangers.length) tally.leaks.push(`${a.user} socket events: ${strangers.length} of other nodes (${strangers.map((e) => `${e.type} ${e.scope}`).slice(0, 3).join(', ')})`)
        const own = got.filter((e) => e.type.startsWith('sensor') && e.scope?.startsWith(a.code)).length
        if (own < 2) tally.failures.push(`${a.user} socket events: got ${own} of the 2 events of its own node`)
        tally.own.set('socket events', (tally.own.get('socket events') ?? 0) + own)
      }
    } finally {
      for (const { socket } of sockets.values()) socket.close()
    }
    expect(tally.failures.slice(mark.failures)).toEqual([])
    expect(tally.leaks.slice(mark.leaks)).toEqual([])
  })

  it('MQTT: a device cannot publish to another device’s topic (or read the city’s readings)', async () => {
    const mark = { leaks: tally.leaks.length, failures: tally.failures.length }
    const health = async () => (await (await fetch(`${s.url}/api/health`)).json()) as { broker?: { port: number; refused: { publish: number; subscribe: number } } }
    const h = await health()
    expect(h.broker, 'the embedded broker').toBeDefined()
    const { rows } = await s.server.db.query<{ code: string; grid_code: string }>(
      `SELECT DISTINCT ON (left(grid_code, 9)) code, grid_code FROM sensors WHERE grid_code LIKE ANY($1::text[]) ORDER BY left(grid_code, 9), id`,
      [AREAS.map((a) => `${a.code}%`)],
    )
    expect(rows.length).toBeGreaterThanOrEqual(3)
    const admin = cookies.get('admin')!
    for (const device of rows) {
      const res = await fetch(`${s.url}/api/devices/${encodeURIComponent(device.code)}/credentials`, { method: 'POST', headers: { cookie: admin, origin: s.url } })
      expect(res.status, await res.clone().text()).toBe(201)
      const { password } = (await res.json()) as { password: string }
      for (const target of rows.filter((r) => r !== device)) {
        for (const topic of [`onegrid/sensors/${target.code}/reading`, `onegrid/sensors/${target.code}/status`]) {
          const before = (await health()).broker!.refused.publish
          const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.broker!.port}`, { username: device.code, password, protocolVersion: 4, reconnectPeriod: 0, clientId: `scope-${device.code}-${Math.random().toString(16).slice(2, 6)}` })
          const gone = new Promise<void>((resolve) => client.once('close', () => resolve()))
          client.publish(topic, JSON.stringify({ value: 1, ts: new Date().toISOString() }), { qos: 0 })
          await gone
          await until(async () => (await health()).broker!.refused.publish > before, `the broker to refuse ${device.code} on ${topic}`, 10_000)
          tally.probes++
          await client.endAsync(true).catch(() => {})
        }
      }
      // Nor may it read other devices' readings.
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.broker!.port}`, { username: device.code, password, protocolVersion: 4, reconnectPeriod: 0 })
      const granted = await client.subscribeAsync('onegrid/sensors/+/reading', { qos: 0 }).catch(() => [{ qos: 128 }])
      tally.probes++
      if (!granted.every((g) => g.qos === 128)) tally.leaks.push(`MQTT ${device.code}: may subscribe to every sensor's readings`)
      await client.endAsync(true).catch(() => {})
      await s.server.db.query('DELETE FROM mqtt_accounts WHERE username = $1', [device.code])
    }
    expect(tally.leaks.slice(mark.leaks)).toEqual([])
  })
})
