/**
 * Fuzzing (issue 10, acceptance 2): at least 10,000 generated bad inputs, at least 200 in each
 * group (API, imports and uploads, tiles, OGC, Open311, socket messages) → every HTTP answer is
 * a 4xx (never a 5xx, never a 2xx for a write), every bad socket message is answered with an
 * error that is not an internal failure, the server stays up, and the business tables are
 * unchanged afterwards (tableChecksums before and after; the tables that may legitimately grow
 * are listed in MAY_GROW).
 *
 * The routes come from the app itself (server/http/route-table.ts over createApp), so a new
 * route is fuzzed without editing this file: bad path parameters, forged sessions, structurally
 * bad bodies. Routes named in SPECS also get inputs built from their own zod schemas: a valid
 * example broken in one to three places, or queries with wrong values, each kept only when the
 * route's schema refuses it (so it is known to be invalid, and nothing may be written). Socket
 * messages are those the server listens to on a connected socket.
 *
 * Runs on PostGIS when TEST_DATABASE_URL is set, else on the embedded database. FUZZ_SEED
 * replays a run; FUZZ_SCALE (default 1) multiplies the number of inputs.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import querystring from 'node:querystring'
import fc from 'fast-check'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { createApp } from '../../server/app.ts'
import { loadConfig, projectRoot } from '../../server/config.ts'
import { dataTables, tableChecksums } from '../../server/db/checksum.ts'
import { routeTable, type RouteEntry } from '../../server/http/route-table.ts'
import { createLogger } from '../../server/log.ts'
import { ActBody, ListQuery, ReportBody } from '../../server/cases/routes.ts'
import { ACTIONS } from '../../server/cases/workflow.ts'
import { AckBody, AlarmListQuery, ResolveBody } from '../../server/alarms/routes.ts'
import { SensorPatch } from '../../server/sensors/routes.ts'
import { PtzBody } from '../../server/cameras/routes.ts'
import { AroundQuery, ChoroplethQuery, LocateQuery, MAX_VERTICES, NearestQuery, WithinBody, countVertices } from '../../server/spatial/params.ts'
import { IndicatorsQuery } from '../../server/stats/indicators.ts'
import { AssessmentQuery, BreakdownQuery } from '../../server/assessment/service.ts'
import { KINDS, RuleInput } from '../../server/assessment/score.ts'
import { LiveQuery } from '../../server/wall/live.ts'
import { DayQuery, RangeQuery } from '../../server/positions/routes.ts'
import { ItemsQuery, PlainQuery } from '../../server/ogc/params.ts'
import { TileCoords } from '../../tiles/coords.ts'
import { RequestForm, RequestsQuery } from '../../server/open311/routes.ts'
import { CaseImportBody, CaseImportQuery, ImportQuery } from '../../server/import/routes.ts'
import { CaseMapping } from '../../server/import/cases.ts'
import {
  PositionFix,
  PositionReport,
  ReplayRequest,
  SCREEN_ID,
  ScreenPushRequest,
  ScreenReleaseRequest,
  SubscribeRequest,
  ViewportRequest,
} from '../../server/realtime/events.ts'
import {
  badNumber,
  badSegment,
  bodyRefused,
  circle,
  brokenObject,
  enc,
  encodeQuery,
  garbageJsonText,
  hostileString,
  huge,
  hugeSpec,
  invalidPolygons,
  nonObjectJson,
  pool,
  refuses,
  roundTrip,
  send,
  SQLI,
  Tally,
  TRAVERSAL,
  WEIRD,
  wrongTypeValue,
  zigzag,
  type Query,
} from '../helpers/fuzz.ts'
import { backends, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

type Group = 'api' | 'imports' | 'tiles' | 'ogc' | 'open311' | 'socket'
const GROUPS: Group[] = ['api', 'imports', 'tiles', 'ogc', 'open311', 'socket']

/** Inputs per group (× FUZZ_SCALE); the probes of every route with every user come on top. */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1)
const TARGET: Record<Group, number> = { api: 3500, imports: 500, tiles: 2000, ogc: 1800, open311: 1300, socket: 1000 }
const CONCURRENCY = 8
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))

/**
 * Tables that may change while bad input is refused: the audit log (failed writes and logins are
 * recorded), sessions (the fuzzing users sign in; a lookup may touch a session), and the
 * sign-in failure counts of the login limits (failed logins with made-up names are counted).
 */
const MAY_GROW: Record<string, string> = {
  audit_log: 'refused writes and failed sign-ins are audited',
  sessions: 'the fuzzing users sign in (and lookups refresh a session)',
  login_failures: 'failed sign-ins with made-up usernames are counted (login rate limit and lockout)',
}

/** Users that sign in for the fuzz (those the seed has); requests go to the ones the route lets in. */
const USERS = ['dispatcher', 'admin', 'supervisor', 'leader', 'auditor', 'secadmin', 'worker']
type Who = string // a username above, 'anon' (no session) or 'forged' (a made-up token or cookie)

interface Input {
  group: Group
  /** The route key, `METHOD /template`, or a label for inputs beyond the routers. */
  route: string
  /** What is wrong with it (failure messages). */
  kind: string
  method: string
  path: string
  who: Who
  headers?: Record<string, string>
  body?: string | Buffer
  /** Why a 2xx is acceptable for a GET (it legitimately answers); absent: only a 4xx is. */
  ok2xx?: string
  /** Why a 2xx is acceptable whatever the method (signing out without a session changes nothing). */
  noop?: string
}

/** Real values of path parameters and ids, read from the running server. */
interface Known {
  caseIds: string[]
  sensorIds: string[]
  cameraIds: string[]
  workerIds: string[]
  gridCodes: string[]
  layers: string[]
  cardLayers: string[]
  collections: string[]
  importLayers: { id: string; point: boolean }[]
  mapping: unknown
}

interface Spec {
  /** Real values of path parameters, used with a refused query or body. */
  real?: Record<string, string[]>
  /** Path parameters any well-formed value of which has an answer (the route's own rule): bad values must break it. */
  wellFormed?: Record<string, RegExp>
  /** The route's query schema and plausible values per key: queries it refuses. */
  query?: { schema: z.ZodType; keys: Record<string, string[]> }
  /** The route's JSON body schema (parseBody) and a valid example to break. */
  body?: { schema: z.ZodType; base: Record<string, unknown>; refused?: (parsed: unknown) => boolean }
  /** More inputs of the route's own kind (files, forms, tile coordinates, geometries). */
  more?: fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'> & { who?: Who }>
}

function pickBackend(): { name: string; databaseUrl?: string } {
  const all = backends() // throws when CI=true without TEST_DATABASE_URL
  return all.find((b) => b.name === 'postgres') ?? all[0]
}

const backend = pickBackend()

describe(`fuzz: bad input bounces (${backend.name})`, () => {
  let s: TestServer
  let base: URL
  let attachmentsDir: string
  const tokens = new Map<string, string>()
  let known: Known
  let routes: RouteEntry[]
  const tally = new Tally()
  const timing = new Map<string, { n: number; ms: number }>()
  /** Generated inputs per route (the probes not counted). */
  const fuzzed = new Map<string, number>()
  let before: Record<string, { rows: number; md5: string }>
  const started = Date.now()
  let fuzzMs = 0

  beforeAll(async () => {
    attachmentsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-fuzz-attachments-'))
    s = await startTestServer({
      databaseUrl: backend.databaseUrl,
      env: {
        // Open311's per-address limits would answer 429 to nearly everything here: raise them so validation is reached.
        ONEGRID_OPEN311_RATE: '1000000',
        ONEGRID_OPEN311_READ_RATE: '1000000',
        // Failed sign-ins with made-up names from one address: no per-address lockout, so the login validation is reached.
        ONEGRID_LOGIN_IP_FAILURES: '0',
        // Small limits, so "too large" is reached with small bodies.
        ONEGRID_IMPORT_MAX_MB: '4',
        ONEGRID_ATTACHMENT_MAX_MB: '1',
        ONEGRID_ATTACHMENTS_DIR: attachmentsDir,
      },
    })
    base = new URL(s.url)
    const db = s.server.db
    const { rows: users } = await db.query<{ username: string }>('SELECT username FROM users WHERE username = ANY($1::text[]) AND NOT disabled', [USERS])
    for (const { username } of users) tokens.set(username, await bearer(s.url, username))
    expect(tokens.has('dispatcher')).toBe(true)

    // The routes, from the app the server runs (the same createApp, over the same database).
    const config = loadConfig({ ONEGRID_DATA_DIR: 'memory://', ONEGRID_OPEN311_RATE: '1000000' })
    routes = routeTable(createApp({ config, db, caps: s.server.caps, log: createLogger('silent') }).app)
    expect(routes.length).toBeGreaterThan(40)

    const ids = async (sql: string) => (await db.query<{ id: string | number }>(sql)).rows.map((r) => String(r.id))
    const auth = { authorization: `Bearer ${tokens.get('dispatcher')}` }
    const catalog = (await (await fetch(`${s.url}/tiles/catalog.json`, { headers: auth })).json()) as { layers: { id: string; card: unknown }[] }
    const collections = (await (await fetch(`${s.url}/ogc/collections`, { headers: auth })).json()) as { collections: { id: string }[] }
    const importer = tokens.get('admin') ?? tokens.get('dispatcher')
    const imports = (await (await fetch(`${s.url}/api/import/layers`, { headers: { authorization: `Bearer ${importer}` } })).json()) as {
      layers?: { id: string; geometryTypes?: string[]; formats?: string[] }[]
    }
    known = {
      caseIds: await ids('SELECT id FROM cases ORDER BY id LIMIT 5'),
      sensorIds: await ids('SELECT id FROM sensors ORDER BY id LIMIT 5'),
      cameraIds: await ids('SELECT id FROM cameras ORDER BY id LIMIT 5'),
      workerIds: await ids('SELECT id FROM workers ORDER BY id LIMIT 5'),
      gridCodes: await ids('SELECT code AS id FROM grids ORDER BY code LIMIT 3'),
      layers: catalog.layers.map((l) => l.id),
      cardLayers: catalog.layers.filter((l) => l.card).map((l) => l.id),
      collections: collections.collections.map((c) => c.id),
      importLayers: (imports.layers ?? []).map((l) => ({ id: l.id, point: (l.geometryTypes ?? []).includes('Point') || (l.formats ?? []).includes('csv') })),
      mapping: JSON.parse(fs.readFileSync(path.join(projectRoot, 'tests', 'fixtures', 'hotline-mapping.json'), 'utf8')),
    }
    expect(known.caseIds.length).toBeGreaterThan(0)
    expect(known.layers.length).toBeGreaterThan(3)
    expect(known.collections.length).toBeGreaterThan(0)
    before = await tableChecksums(db, await businessTables())
  })

  afterAll(async () => {
    await s?.close()
    if (attachmentsDir) fs.rmSync(attachmentsDir, { recursive: true, force: true })
  })

  async function businessTables(): Promise<string[]> {
    return (await dataTables(s.server.db)).filter((t) => !(t in MAY_GROW))
  }

  // -------------------------------------------------------------------------------------------
  // Sending and judging

  function authHeaders(who: Who, forged: string, cookie: boolean): Record<string, string> {
    if (who === 'anon') return {}
    if (who === 'forged') return cookie ? { cookie: `onegrid_session=${forged}` } : { authorization: `Bearer ${forged}` }
    const token = tokens.get(who)!
    return cookie ? { cookie: `onegrid_session=${token}` } : { authorization: `Bearer ${token}` }
  }

  /** Sends one input and judges the answer; `tally2xx: false` leaves a harmless 2xx (a probe of a public GET) out of the counts. */
  async function run(input: Input & { forged: string; cookie: boolean }, opts: { tally2xx?: boolean } = {}): Promise<number> {
    const headers = { ...authHeaders(input.who, input.forged, input.cookie), ...input.headers }
    const t = performance.now()
    const reply = await send(base, input.method, input.path, headers, input.body)
    if (process.env.FUZZ_VERBOSE) {
      const k = `${input.route} | ${input.kind.replace(/:.*$/, '')}`
      const e = timing.get(k) ?? { n: 0, ms: 0 }
      timing.set(k, { n: e.n + 1, ms: e.ms + performance.now() - t })
    }
    const status = reply.status
    const label = status <= 0 ? 'no answer' : String(status)
    if (status >= 300 || status <= 0 || opts.tally2xx !== false) tally.add(input.group, input.route, label)
    const what = () =>
      `${input.group} ${input.kind}: ${input.method} ${input.path.slice(0, 160)}${input.path.length > 160 ? '…' : ''} as ${input.who} ` +
      `(body ${input.body === undefined ? 'none' : `${input.body.length} bytes: ${String(input.body).slice(0, 120)}`}) → ${label} ${reply.body.slice(0, 300)}`
    if (status >= 500 || status <= 0) tally.fail(what())
    else if (status < 400 && !(input.ok2xx && input.method === 'GET') && !input.noop) tally.fail(`accepted: ${what()}`)
    return status
  }

  /** Samples n inputs of `arb` and sends them, `CONCURRENCY` at a time. */
  async function fuzz(arb: fc.Arbitrary<Input>, n: number, seed: number): Promise<void> {
    const withAuth = fc.record({ input: arb, forged: forgedToken, cookie: fc.nat(9).map((n) => n < 3) })
    const tg = Date.now()
    const items = fc.sample(withAuth, { numRuns: n, seed })
    if (process.env.FUZZ_VERBOSE) console.log(`generated ${n} in ${Date.now() - tg} ms`)
    await pool(items, CONCURRENCY, async ({ input, forged, cookie }) => {
      fuzzed.set(input.route, (fuzzed.get(input.route) ?? 0) + 1)
      await run({ ...input, forged, cookie })
    })
  }

  // -------------------------------------------------------------------------------------------
  // Routes

  const paramsOf = (p: string) => [...p.matchAll(/:(\w+)/g)].map((m) => m[1])
  const groupOf = (r: { method: string; path: string }): Group =>
    r.path.startsWith('/tiles')
      ? 'tiles'
      : r.path.startsWith('/ogc')
        ? 'ogc'
        : r.path.startsWith('/open311')
          ? 'open311'
          : r.path.startsWith('/api/import') || (r.path === '/api/cases/attachments' && r.method === 'POST')
            ? 'imports'
            : 'api'
  const key = (r: RouteEntry) => `${r.method} ${r.path}`
  /** Routes that end the caller's sessions: only ever sent without a real session. */
  const endsSessions = (r: RouteEntry) => /\/logout/.test(r.path)
  const isWrite = (m: string) => m !== 'GET'

  /** The template with each `:param` replaced (values already encoded). */
  function fill(template: string, values: Record<string, string>): string {
    return template.replace(/:(\w+)/g, (_, name: string) => values[name] ?? 'x')
  }
  const withQuery = (p: string, qs: string) => (qs ? `${p}?${qs}` : p)
  /** A path segment as the router hands it to the route (percent-decoded when that works). */
  const decoded = (v: string) => {
    try {
      return decodeURIComponent(v)
    } catch {
      return v
    }
  }

  const forgedToken = fc.oneof(
    fc.constantFrom('', 'null', 'undefined', 'deleted', 'Bearer', 'a'.repeat(64), '0'.repeat(64), "' OR '1'='1", '../../etc/passwd', '%00', 'admin'),
    fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((t) => t.replace(/[^\x21-\x7e]/g, '')),
    fc.integer({ min: 4_000, max: 12_000 }).map((n) => 'A'.repeat(n)),
    fc.string({ minLength: 64, maxLength: 64, unit: fc.constantFrom(...'0123456789abcdef') }),
  )

  type Body = { body?: string; ct?: string }
  const noBody = fc.constant<Body>({})
  /** Bodies for requests that are already bad elsewhere (path, auth): anything. */
  const anyBody: fc.Arbitrary<Body> = fc.oneof(
    noBody,
    garbageJsonText.map((body) => ({ body, ct: 'application/json' })),
    nonObjectJson.map((body) => ({ body, ct: 'application/json' })),
    fc.dictionary(hostileString, wrongTypeValue, { maxKeys: 4 }).map((o) => ({ body: JSON.stringify(o), ct: 'application/json' })),
    fc.tuple(fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data', 'application/x-www-form-urlencoded', 'image/png', 'application/json; charset=utf-16', '*/*', 'application/json;;;'), hostileString).map(([ct, body]) => ({ body, ct })),
  )

  /** Bodies every JSON-object route refuses whatever its schema: not JSON, not an object, or over the 1 MB limit. */
  const refusedJsonBody = fc.oneof(
    { weight: 4, arbitrary: garbageJsonText },
    { weight: 4, arbitrary: nonObjectJson },
    { weight: 1, arbitrary: fc.integer({ min: 1_050_000, max: 1_400_000 }).map((n) => `{"a":"${'x'.repeat(n)}"}`) },
  )

  /** Junk query parameters (a route may ignore them: only ever added to inputs bad elsewhere). */
  const junkQuery = fc.dictionary(fc.oneof(hostileString, fc.constantFrom('limit', 'offset', 'bbox', 'q', 'id', 'sort', 'filter', 'crs')), hostileString, { maxKeys: 3 })

  function specs(): Record<string, Spec> {
    const K = known
    const when = ['2026-01-01', '2026-03-01T00:00:00+08:00']
    const lonlat = { lon: ['121.4737'], lat: ['31.2304'] }
    const square = (x: number, y: number, d = 0.002) => ({ type: 'Polygon', coordinates: [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]] })
    const ruleBase = { version: 1, indicators: [{ indicator: 'rework', weight: 50 }, { indicator: 'overdue', weight: 50 }], bands: { A: 90, B: 80, C: 70, D: 60, E: 0 } }
    const out: Record<string, Spec> = {
      'GET /api/cases': { query: { schema: ListQuery, keys: { stage: ['reported,accepted'], category: ['E0102'], source: ['patrol'], grid: [K.gridCodes[0]], q: ['垃圾'], mine: ['1'], limit: ['50'], offset: ['0'] } } },
      'POST /api/cases': {
        body: { schema: ReportBody, base: { categoryCode: 'E0102', source: 'patrol', description: '人行道垃圾', lon: 121.4737, lat: 31.2304, address: '中山东一路', urgency: 'normal' } },
        more: nonFinite('/api/cases', [
          '{"categoryCode":"E0102","source":"patrol","description":"x","lon":1e999,"lat":31.23}',
          '{"categoryCode":"E0102","source":"patrol","description":"x","lon":121.47,"lat":-Infinity}',
        ]),
      },
      'POST /api/cases/:id/actions/:action': {
        real: { id: K.caseIds, action: [...ACTIONS] },
        body: {
          schema: ActBody,
          base: { version: 1, comment: '已处理', lon: 121.47, lat: 31.23, idempotencyKey: 'fuzz-1', satisfaction: 5, workerId: 1, hours: 2, outcome: '完成', reworkTo: 'dispatched', deadlineAt: '2031-01-01T00:00:00+08:00' },
        },
      },
      'GET /api/alarms': { query: { schema: AlarmListQuery, keys: { state: ['open,acked'], since: ['2026-01-01T00:00:00Z'], limit: ['10'] } } },
      'POST /api/alarms/:id/ack': { real: { id: ['1', '2'] }, body: { schema: AckBody, base: { comment: '已确认' } } },
      'POST /api/alarms/:id/resolve': { real: { id: ['1', '2'] }, body: { schema: ResolveBody, base: { comment: '已处理' } } },
      'PATCH /api/sensors/:id': { real: { id: K.sensorIds }, body: { schema: SensorPatch, base: { status: 'online' } } },
      'POST /api/cameras/:id/ptz': { real: { id: K.cameraIds }, body: { schema: PtzBody, base: { pan: 10 } } },
      'POST /api/positions': {
        body: { schema: PositionReport, base: { crs: 'wgs84', positions: [{ ts: '2026-11-21T09:30:00+08:00', lon: 121.47, lat: 31.23, accuracy: 5 }] } },
        more: fc.oneof(
          positionsMore(),
          nonFinite('/api/positions', [
            '{"positions":[{"ts":"2026-11-21T09:30:00+08:00","lon":1e999,"lat":31.23}]}',
            '{"positions":[{"ts":"2026-11-21T09:30:00+08:00","lon":121.47,"lat":NaN}]}',
            '{"positions":[{"ts":"2026-11-21T09:30:00+08:00","lon":121.47,"lat":31.23,"speed":-1e999}]}',
          ]),
        ),
      },
      'GET /api/locate': { query: { schema: LocateQuery, keys: lonlat } },
      'GET /api/spatial/nearest': { query: { schema: NearestQuery, keys: { ...lonlat, layer: ['workers'], k: ['5'], onDuty: ['true'] } } },
      'GET /api/spatial/around': { query: { schema: AroundQuery, keys: { ...lonlat, radius: ['300'] } } },
      'POST /api/spatial/within': {
        body: { schema: WithinBody, base: { geometry: square(121.47, 31.23), layers: ['cases'], limit: 20 }, refused: (b) => withinRefused(b) },
        more: withinMore(),
      },
      'GET /api/stats/choropleth': { query: { schema: ChoroplethQuery, keys: { level: ['grid'], indicator: ['cases_open'] } } },
      'GET /api/stats/assessment/:kind/:code': { real: { kind: [...KINDS], code: ['310101'] }, query: { schema: BreakdownQuery, keys: { from: when, to: when, area: ['310101'], limit: ['10'] } } },
      'PUT /api/admin/assessment-rules/:kind': { real: { kind: [...KINDS] }, body: { schema: RuleInput, base: ruleBase } },
      'GET /api/wall/live': { query: { schema: LiveQuery, keys: { bbox: ['121.4,31.2,121.5,31.3'] } } },
      'GET /api/workers/:id/track': { real: { id: K.workerIds }, query: { schema: RangeQuery, keys: { from: ['2026-11-20T00:00:00+08:00'], to: ['2026-11-21T00:00:00+08:00'] } } },
      'GET /api/workers/:id/patrol': { real: { id: K.workerIds }, query: { schema: DayQuery, keys: { day: ['2026-11-21'] } } },
      'GET /api/grids/:code/presence': { real: { code: K.gridCodes }, query: { schema: RangeQuery, keys: { from: ['2026-11-20T00:00:00+08:00'], to: ['2026-11-21T00:00:00+08:00'] } } },
      'GET /api/features/:layer/:id': { real: { layer: K.cardLayers } },
      // A screen never pushed to answers its state ("released"): only ids that are not screen ids are bad.
      'GET /api/screens/:id': { wellFormed: { id: SCREEN_ID } },
      'POST /api/auth/login': { body: { schema: LoginShape, base: { username: 'nobody-fuzz', password: 'not-the-password', bearer: true } } },
      // Tiles
      'GET /tiles/:layers/:z/:x/:y.mvt': { more: tileMore() },
      // OGC API – Features
      'GET /ogc': { query: { schema: PlainQuery, keys: OGC_KEYS } },
      'GET /ogc/conformance': { query: { schema: PlainQuery, keys: OGC_KEYS } },
      'GET /ogc/collections': { query: { schema: PlainQuery, keys: OGC_KEYS } },
      'GET /ogc/collections/:id': { real: { id: K.collections }, query: { schema: PlainQuery, keys: OGC_KEYS } },
      'GET /ogc/collections/:id/items': { real: { id: K.collections }, query: { schema: ItemsQuery, keys: OGC_KEYS } },
      'GET /ogc/collections/:id/items/:fid': { real: { id: K.collections } },
      // Open311
      'GET /open311/v2/:file': {
        real: { file: ['requests.json'] },
        query: { schema: RequestsQuery, keys: { service_request_id: ['20260101001'], service_code: ['E0102'], status: ['open'], start_date: ['2026-01-01T00:00:00Z'], end_date: ['2026-01-20T00:00:00Z'], jurisdiction_id: ['x'] } },
      },
      'GET /open311/v2/services/:file': { more: open311Lookup('services') },
      'GET /open311/v2/requests/:file': { more: open311Lookup('requests') },
      'POST /open311/v2/:file': { more: open311PostMore() },
      // Imports and uploads
      'POST /api/import/:layer': { more: importMore() },
      'POST /api/import/cases': { more: caseImportMore() },
      'POST /api/cases/attachments': { more: uploadMore() },
    }
    for (const p of ['/api/stats/indicators', '/api/stats/indicators.csv', '/api/stats/indicators.xlsx']) {
      out[`GET ${p}`] = { query: { schema: IndicatorsQuery, keys: { from: when, to: when, code: ['310101'], groupBy: ['grid'], compare: ['previous'] } } }
    }
    for (const p of ['/api/stats/assessment', '/api/stats/assessment.csv', '/api/stats/assessment.xlsx']) {
      out[`GET ${p}`] = { query: { schema: AssessmentQuery, keys: { from: when, to: when, kind: ['street'], code: ['310101'] } } }
    }
    return out
  }

  /** The rule of LoginBody (server/auth/routes.ts), which is not exported. */
  const LoginShape = {
    safeParse: (b: unknown) => {
      const o = b as { username?: unknown; password?: unknown; bearer?: unknown }
      const ok =
        typeof o?.username === 'string' &&
        o.username.trim().length >= 1 &&
        o.username.trim().length <= 64 &&
        typeof o.password === 'string' &&
        o.password.length >= 1 &&
        o.password.length <= 256 &&
        (o.bearer === undefined || typeof o.bearer === 'boolean')
      return { success: ok }
    },
  } as unknown as z.ZodType

  const OGC_KEYS: Record<string, string[]> = {
    f: ['json'],
    limit: ['10'],
    offset: ['0'],
    bbox: ['121.4,31.2,121.5,31.3'],
    datetime: ['2026-01-01T00:00:00Z/..'],
    crs: ['http://www.opengis.net/def/crs/OGC/1.3/CRS84'],
    'bbox-crs': ['http://www.opengis.net/def/crs/EPSG/0/4326'],
    filter: ["name='x'"],
    'filter-lang': ['cql2-text'],
    properties: ['name'],
    sortby: ['-id'],
  }

  /** Values for a query key: plausible, hostile, repeated, huge, or out of range. */
  function queryValue(plausible: string[]): fc.Arbitrary<string | string[]> {
    return fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...plausible) },
      { weight: 4, arbitrary: hostileString },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...plausible), fc.constantFrom(...plausible)).map(([a, b]) => [a, b]) },
      { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 6_000 }).map((n) => '9'.repeat(n)) },
      { weight: 2, arbitrary: badNumber.map(String) },
      { weight: 1, arbitrary: fc.constantFrom('-1,-1,-1,-1', '200,100,-200,-100', '1,2,3', 'NaN,NaN,NaN,NaN', '1e999,0,0,0', '0000-00-00', '2026-13-45', '2026-02-30T25:61:61Z', '../..', '9999-99-99', '2026-11-21T09:30:00') },
    )
  }

  function queryArb(keys: Record<string, string[]>): fc.Arbitrary<Query> {
    const entries = Object.entries(keys)
    return fc
      .tuple(
        fc.tuple(...entries.map(([k, plausible]) => fc.option(queryValue(plausible), { nil: undefined, freq: 2 }).map((v) => [k, v] as const))),
        fc.option(junkQuery, { nil: undefined, freq: 4 }),
      )
      .map(([pairs, junk]) => {
        const q: Query = {}
        for (const [k, v] of pairs) if (v !== undefined) q[k] = v
        return { ...q, ...(junk ?? {}) }
      })
  }

  // -------------------------------------------------------------------------------------------
  // Generic inputs from the route table

  function who(eligible: Who[]): fc.Arbitrary<Who> {
    return eligible.length ? fc.constantFrom(...eligible) : fc.constantFrom('anon', 'forged')
  }

  function routeArbs(r: RouteEntry, spec: Spec | undefined, eligible: Who[], isPublic: boolean): fc.Arbitrary<Input>[] {
    const group = groupOf(r)
    const route = key(r)
    const params = paramsOf(r.path)
    const arbs: fc.Arbitrary<Input>[] = []
    const realOf = (name: string) => spec?.real?.[name]
    const realValue = (name: string): fc.Arbitrary<string> => {
      const real = realOf(name)
      return real?.length ? fc.constantFrom(...real.map(enc)) : badSegment
    }
    const users = endsSessions(r) ? [] : eligible

    // A forged or missing session on a route that needs one.
    if (!isPublic) {
      arbs.push(
        fc
          .record({
            who: fc.constantFrom('anon', 'forged'),
            values: fc.tuple(...params.map((p) => fc.oneof(realValue(p), badSegment))),
            body: isWrite(r.method) ? anyBody : noBody,
          })
          .map(({ who, values, body }) => ({
            group,
            route,
            kind: 'forged or missing session',
            method: r.method,
            path: fill(r.path, Object.fromEntries(params.map((p, i) => [p, values[i]]))),
            who,
            ...(body.body !== undefined ? { body: body.body, headers: { 'content-type': body.ct! } } : {}),
          })),
      )
    }

    // Bad path parameters (at least one; the others may be real).
    if (params.length) {
      arbs.push(
        fc
          .record({
            who: who(users),
            bad: fc.subarray(params, { minLength: 1 }),
            values: fc.tuple(...params.map((p) => realValue(p))),
            badValues: fc.tuple(...params.map((p) => (spec?.wellFormed?.[p] ? badSegment.filter((v) => !spec.wellFormed![p].test(decoded(v))) : badSegment))),
            query: junkQuery,
            body: isWrite(r.method) ? anyBody : noBody,
          })
          .map(({ who, bad, values, badValues, query, body }) => {
            const filled = Object.fromEntries(params.map((p, i) => [p, bad.includes(p) ? badValues[i] : values[i]]))
            return {
              group,
              route,
              kind: `bad ${bad.map((b) => `:${b}`).join(', ')}`,
              method: r.method,
              path: withQuery(fill(r.path, filled), encodeQuery(query).qs),
              who,
              ...(body.body !== undefined ? { body: body.body, headers: { 'content-type': body.ct! } } : {}),
            }
          }),
      )
    }

    // A body no JSON-object route takes (writes whose parameters are real or absent; never multipart or raw-file routes, see their own inputs).
    const rawBody = group === 'imports' || group === 'open311'
    if (isWrite(r.method) && !rawBody && users.length && params.every((p) => realOf(p)?.length)) {
      arbs.push(
        fc.record({ who: who(users), values: fc.tuple(...params.map((p) => realValue(p))), body: refusedJsonBody }).map(({ who, values, body }) => ({
          group,
          route,
          kind: 'body not a JSON object',
          method: r.method,
          path: fill(r.path, Object.fromEntries(params.map((p, i) => [p, values[i]]))),
          who,
          body,
          headers: { 'content-type': 'application/json' },
        })),
      )
    }

    // The route's own schemas.
    if (spec?.query && users.length + (isPublic ? 1 : 0) > 0) {
      const schema = spec.query.schema
      arbs.push(
        fc
          .record({ who: isPublic ? fc.constant('anon') : who(users), values: fc.tuple(...params.map((p) => realValue(p))), query: queryArb(spec.query.keys) })
          .map(({ who, values, query }) => ({ who, values, ...encodeQuery(query) }))
          .filter(({ parsed }) => refuses(schema, parsed))
          .map(({ who, values, qs }) => ({
            group,
            route,
            kind: 'query its schema refuses',
            method: r.method,
            path: withQuery(fill(r.path, Object.fromEntries(params.map((p, i) => [p, values[i]]))), qs),
            who,
            ...(isWrite(r.method) ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}),
          })),
      )
    }
    if (spec?.body && (users.length || isPublic)) {
      const { schema, base: example } = spec.body
      const refused = spec.body.refused ?? ((b: unknown) => bodyRefused(schema, b))
      arbs.push(
        fc
          .record({ who: isPublic ? fc.constant('anon') : who(users), values: fc.tuple(...params.map((p) => realValue(p))), body: brokenObject(example, refused) })
          .map(({ who, values, body }) => ({
            group,
            route,
            kind: 'body its schema refuses',
            method: r.method,
            path: fill(r.path, Object.fromEntries(params.map((p, i) => [p, values[i]]))),
            who,
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          })),
      )
    }
    if (spec?.more) {
      arbs.push(
        fc.record({ who: isPublic ? fc.constant('anon') : who(users), more: spec.more }).map(({ who, more }) => ({ who, ...more, group, route })),
      )
    }
    return arbs
  }

  // -------------------------------------------------------------------------------------------
  // Inputs of particular routes

  function positionsMore(): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    const fix = { ts: '2026-11-21T09:30:00+08:00', lon: 121.47, lat: 31.23, accuracy: 5, speed: 1, heading: 90 }
    const badFix = brokenObject(fix, (f) => refuses(PositionFix, f), ['workerId'])
    return fc
      .oneof(
        fc.tuple(fc.array(fc.constant(fix), { maxLength: 3 }), badFix).map(([good, bad]) => ({ crs: 'wgs84', positions: [...good, bad] })),
        fc.constant({ crs: 'wgs84', positions: [] }),
        fc.integer({ min: 1_001, max: 1_500 }).map((n) => ({ crs: 'wgs84', positions: Array.from({ length: n }, () => fix) })),
        fc.constant({ crs: 'wgs84', positions: [{ ...fix, lon: 0, lat: 0 }] }),
        fc.constantFrom('bd09', 'EPSG:4326', "wgs84'--").map((crs) => ({ crs, positions: [fix] })),
      )
      .filter((b) => bodyRefused(PositionReport, roundTrip(b)))
      .map((b) => ({ kind: 'position fixes their schema refuses', method: 'POST', path: '/api/positions', body: JSON.stringify(b), headers: { 'content-type': 'application/json' } }))
  }

  /** As the route: 413 past MAX_VERTICES, else the schema. */
  function withinRefused(b: unknown): boolean {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return true
    const o = b as { geometry?: { coordinates?: unknown }; line?: { coordinates?: unknown } }
    if (countVertices(o.geometry?.coordinates) + countVertices(o.line?.coordinates) > MAX_VERTICES) return true
    return refuses(WithinBody, b)
  }

  function withinMore(): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    const post = (kind: string, body: unknown) => ({ kind, method: 'POST', path: '/api/spatial/within', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    const [x, y] = [121.47, 31.23]
    // Polygons PostGIS calls invalid (self-intersecting, unclosed, …): refused with 422 naming why, or 413 past MAX_VERTICES.
    const polygons = fc.record({ g: invalidPolygons([x, y]), multi: fc.boolean(), extra: fc.constantFrom({}, { limit: 20 }, { layers: ['cases', 'workers'] }) }).map(({ g, multi, extra }) =>
      post(`query polygon: ${g.why}`, { geometry: multi && g.type === 'Polygon' ? { type: 'MultiPolygon', coordinates: [g.coordinates] } : { type: g.type, coordinates: g.coordinates }, ...extra }),
    )
    // Lines the schema refuses (a line may cross itself: a buffered route is a fair query).
    const badLine = fc.constantFrom<unknown>([[x, y]], [[500, 100], [x, y]], [['a', null], [x, y]], [], 'LINESTRING(0 0, 1 1)', [[x, y, 1, 2], [x, y]], [[x, 86], [x, 89]])
    const lines = fc
      .record({ c: fc.oneof(badLine, fc.constant([[x, y], [x + 0.01, y]])), buffer: fc.oneof(fc.constant(undefined), badNumber, fc.constant(50)), also: fc.constantFrom({}, { circle: { lon: x, lat: y, radius_m: 100 } }) })
      .map(({ c, buffer, also }) => ({ line: { type: 'LineString', coordinates: c }, ...(buffer === undefined ? {} : { buffer_m: buffer }), ...also }))
      .filter((b) => withinRefused(roundTrip(b)))
      .map((b) => post('query line its schema refuses', b))
    const circles = brokenObject({ lon: x, lat: y, radius_m: 100 }, () => true)
      .map((c) => ({ circle: c }))
      .filter((b) => withinRefused(roundTrip(b)))
      .map((b) => post('query circle its schema refuses', b))
    return fc.oneof({ weight: 3, arbitrary: polygons }, { weight: 1, arbitrary: lines }, { weight: 1, arbitrary: circles }, { weight: 1, arbitrary: nonFinite('/api/spatial/within', [
      '{"geometry":{"type":"Polygon","coordinates":[[[NaN,31.23],[121.48,31.23],[121.48,31.24],[NaN,31.23]]]}}',
      '{"geometry":{"type":"Polygon","coordinates":[[[121.47,31.23],[1e999,31.23],[121.48,31.24],[121.47,31.23]]]}}',
      '{"circle":{"lon":1e999,"lat":31.23,"radius_m":100}}',
      '{"circle":{"lon":121.47,"lat":-1e999,"radius_m":-1e999}}',
      '{"line":{"type":"LineString","coordinates":[[Infinity,0],[0,0]]},"buffer_m":10}',
      '{"line":{"type":"LineString","coordinates":[[121.47,31.23],[121.48,31.23]]},"buffer_m":1e999}',
    ]) })
  }

  /** JSON with NaN or Infinity (not JSON: 400) or numbers beyond a double (1e999 parses as Infinity: refused by the schema). */
  function nonFinite(path: string, texts: string[]): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    return fc.constantFrom(...texts).map((body) => ({ kind: 'NaN or Infinity as a number', method: 'POST', path, body, headers: { 'content-type': 'application/json' } }))
  }

  function tileMore(): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    const layers = known.layers
    const coord = fc.oneof(
      fc.integer({ min: -5, max: 40 }).map(String),
      fc.integer({ min: 0, max: 2 ** 30 }).map(String),
      fc.constantFrom('-1', '1.5', '1e3', '0x10', '+1', '', ' 1', 'NaN', 'Infinity', '99999999', '123456789', '4294967296', '00000001', 'z', '\u0000', '..', '1/2', '%2e'),
      hostileString,
    )
    const goodLayers = fc.oneof(fc.constantFrom(...layers), fc.subarray(layers, { minLength: 2, maxLength: 4 }).map((l) => l.join(',')))
    const badLayers = fc.oneof(
      badSegment,
      fc.constantFrom(...layers).map((l) => `${l},${l}`),
      fc.constant(Array.from({ length: 17 }, (_, i) => layers[i % layers.length] + (i >= layers.length ? `_${i}` : '')).join(',')),
      fc.constantFrom(...layers).map((l) => `${l},${enc("' OR 1=1 --")}`),
      fc.constantFrom(',', ',,', `${layers[0]},`, 'catalog', 'health', 'metrics', '.', '..'),
    )
    const mvt = fc.constantFrom('.mvt', '.mvt', '.pbf', '.png', '', '.mvt.gz', '.MVT')
    return fc.oneof(
      // Real layers, coordinates TileCoords refuses (z > 22, x or y ≥ 2^z, negative, not integers).
      fc
        .record({ l: goodLayers, z: coord, x: coord, y: coord, q: junkQuery })
        .filter(({ z, x, y }) => refuses(TileCoords, { z, x, y }))
        .map(({ l, z, x, y, q }) => ({ kind: 'tile coordinates out of range or not integers', method: 'GET', path: withQuery(`/tiles/${l}/${enc(z)}/${enc(x)}/${enc(y)}.mvt`, encodeQuery(q).qs) })),
      // Layers that do not exist, twice, too many.
      fc.record({ l: badLayers, z: coord, x: coord, y: coord, ext: mvt }).map(({ l, z, x, y, ext }) => ({ kind: 'unknown, repeated or too many layers', method: 'GET', path: `/tiles/${l}/${enc(z)}/${enc(x)}/${enc(y)}${ext}` })),
      // Traversal through the tile path.
      fc.constantFrom(...TRAVERSAL).map((t) => ({ kind: 'traversal in the tile path', method: 'GET', path: `/tiles/${t}` })),
      // Writes to tiles.
      fc.record({ l: goodLayers, m: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH') }).map(({ l, m }) => ({ kind: 'write to a tile', method: m, path: `/tiles/${l}/14/13722/6700.mvt`, body: '{}', headers: { 'content-type': 'application/json' } })),
    )
  }

  function open311Lookup(kind: 'services' | 'requests'): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    return fc
      .record({ v: fc.oneof(hostileString, fc.constantFrom(...SQLI)), ext: fc.constantFrom('.json', '.json', '.xml', '', '.JSON', '.json.bak') })
      .filter(({ v }) => v.length > 0)
      .map(({ v, ext }) => ({ kind: `unknown or hostile ${kind} id`, method: 'GET', path: `/open311/v2/${kind}/${enc(v)}${ext}` }))
  }

  function open311PostMore(): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    const form = { service_code: 'E0102', lat: '31.2304', long: '121.4737', description: '路面有垃圾', email: 'a@example.com', phone: '13800000000', first_name: '张', last_name: '三', media_url: 'https://example.com/a.jpg' }
    const formBody = (o: Record<string, unknown>) =>
      Object.entries(o)
        .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${enc(k)}=${enc(String(x))}`) : [`${enc(k)}=${enc(typeof v === 'string' ? v : JSON.stringify(v) ?? '')}`]))
        .join('&')
    /** What the form parser gives the route (flat keys; repeated keys become lists). */
    const parsedForm = (body: string) => querystring.parse(body)
    const ct = 'application/x-www-form-urlencoded'
    return fc.oneof(
      { weight: 6, arbitrary: brokenObject(form, () => true, ['address_string', 'address_id', 'device_id', 'account_id', 'api_key'])
        .map((o) => formBody(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' || Array.isArray(v) ? v : JSON.stringify(v) ?? '']))))
        .filter((b) => refuses(RequestForm, parsedForm(b)))
        .map((body) => ({ kind: 'form its schema refuses', method: 'POST', path: '/open311/v2/requests.json', body, headers: { 'content-type': ct } })) },
      // A well-formed form whose service_code is hostile text: looked up, not found (SQL gets it as a value).
      { weight: 2, arbitrary: fc.constantFrom(...SQLI, ...WEIRD.filter((w) => w.trim() && w.length <= 40 && !w.includes('\u0000'))).map((code) => {
        const body = formBody({ ...form, service_code: code })
        return { kind: 'unknown, hostile service_code', method: 'POST', path: '/open311/v2/requests.json', body, headers: { 'content-type': ct } }
      }).filter((i) => !refuses(RequestForm, parsedForm(i.body))) },
      // Not a form.
      { weight: 2, arbitrary: fc.record({ t: fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml', ''), b: fc.oneof(garbageJsonText, hostileString) }).map(({ t, b }) => ({
        kind: 'not a form', method: 'POST', path: '/open311/v2/requests.json', body: b, headers: t ? { 'content-type': t } : ({} as Record<string, string>),
      })) },
      // Garbage form bodies, too large (64 kB limit), other files.
      { weight: 1, arbitrary: fc.integer({ min: 70_000, max: 200_000 }).map((n) => ({ kind: 'form over 64 kB', method: 'POST', path: '/open311/v2/requests.json', body: `description=${'x'.repeat(n)}`, headers: { 'content-type': ct } })) },
      { weight: 1, arbitrary: fc.record({ f: badSegment, ext: fc.constantFrom('.json', '.xml', '') }).map(({ f, ext }) => ({ kind: 'unknown file', method: 'POST', path: `/open311/v2/${f}${ext}`, body: formBody(form), headers: { 'content-type': ct } })) },
    )
  }

  function importMore(): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    const layers = known.importLayers.length ? known.importLayers : [{ id: 'key_places', point: true }]
    const center: [number, number] = [121.47, 31.23]
    const fine = (i: number) => ({ type: 'Feature', id: `fz${i}`, properties: { id: `fz${i}`, code: `fz${i}`, name: SQLI[i % SQLI.length] }, geometry: { type: 'Point', coordinates: [121.47 + i * 1e-4, 31.23] } })
    // A feature every layer rejects: no usable geometry or coordinates out of range (plus no id sometimes).
    const rejected = fc.oneof(
      fc.constant({ type: 'Feature', properties: { name: 'x' }, geometry: null }),
      fc.constant({ type: 'Feature', properties: { id: 'r1' }, geometry: { type: 'Point', coordinates: [500, 100] } }),
      fc.constant({ type: 'Feature', properties: { id: 'r2' }, geometry: { type: 'Point', coordinates: ['a', null] } }),
      fc.constant({ type: 'Feature', properties: { id: 'r3' }, geometry: { type: 'Polygon', coordinates: [[[121.47, 31.23], [121.48, 31.23], [121.48, 31.24]]] } }),
      fc.constant({ type: 'Feature', properties: { id: 'r4' }, geometry: { type: 'Circle', coordinates: [121.47, 31.23] } }),
      fc.constant({ type: 'Feature', properties: { id: 'r5' }, geometry: 'POINT(121 31)' }),
      fc.constant({ type: 'Feature', properties: { id: 'r6' }, geometry: { type: 'Point' } }),
      fc.constant({ type: 'Feature', properties: { id: 'r7' }, geometry: { type: 'Polygon', coordinates: [[[121.47, 31.23], [121.48, 31.23], [121.48, 31.24], [121.47, 31.24]]] } }),
    )
    const others = fc.array(
      fc.oneof(
        fc.nat(50).map(fine),
        // Small zig-zags here: the big ones are among the fixed inputs (importExtras), as each costs seconds to check.
        fc.tuple(invalidPolygons(center, 200), fc.nat(1000)).map(([g, i]) => ({ type: 'Feature', properties: { id: `g${i}`, name: g.why }, geometry: { type: g.type, coordinates: g.coordinates } })),
      ),
      { maxLength: 4 },
    )
    const geojsonFile = fc.record({ bad: rejected, others, at: fc.nat() }).map(({ bad, others, at }) => {
      const features: unknown[] = [...others]
      features.splice(at % (features.length + 1), 0, bad)
      return JSON.stringify({ type: 'FeatureCollection', features })
    })
    const csvFile = fc
      .record({ rows: fc.array(fc.tuple(hostileString, fc.oneof(fc.constantFrom('121.47', 'abc', '', '500', 'NaN'), hostileString), fc.constantFrom('31.23', '-100', 'x', '')), { minLength: 1, maxLength: 5 }) })
      .map(({ rows }) => ['id,name,lon,lat', ...rows.map(([n, lon, lat], i) => `fz${i},"${n.replace(/"/g, '""')}",${lon},${lat}`), 'bad,"row",not-a-number,also-not'].join('\n'))
    const garbage = fc.oneof(
      garbageJsonText,
      nonObjectJson,
      fc.constantFrom('{"type":"FeatureCollection"}', '{"type":"FeatureCollection","features":{}}', '{"type":"Feature"}', '{"type":"Topology"}', '', 'PK\u0003\u0004garbage-xlsx', '%PDF-1.4 garbage'),
      fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b).toString('latin1')),
    )
    const query = fc.record({ format: fc.constantFrom(undefined, 'geojson', 'csv', 'xlsx', 'shp', "geojson'--"), crs: fc.constantFrom(undefined, 'wgs84', 'gcj02', 'bd09', 'EPSG:3857'), importId: fc.option(fc.oneof(fc.constantFrom('ok-1'), hostileString), { nil: undefined }) })
    const qsOf = (q: Record<string, string | undefined>) => encodeQuery(Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as Query)
    const types = ['application/geo+json', 'application/json', 'text/csv', 'application/octet-stream', 'text/plain']
    return fc.oneof(
      { weight: 4, arbitrary: fc.record({ l: fc.constantFrom(...layers), f: geojsonFile, q: query, t: fc.constantFrom('application/geo+json', 'application/json', 'application/octet-stream') }).map(({ l, f, q, t }) => ({
        kind: 'GeoJSON with a rejected feature', method: 'POST', path: withQuery(`/api/import/${enc(l.id)}`, qsOf({ ...q, format: q.format === 'csv' ? 'geojson' : q.format }).qs), body: f, headers: { 'content-type': t },
      })) },
      { weight: 2, arbitrary: fc.record({ l: fc.constantFrom(...layers), f: csvFile, q: query }).map(({ l, f, q }) => ({
        kind: 'CSV with a rejected row', method: 'POST', path: withQuery(`/api/import/${enc(l.id)}`, qsOf({ ...q, format: 'csv' }).qs), body: f, headers: { 'content-type': 'text/csv' },
      })) },
      { weight: 3, arbitrary: fc.record({ l: fc.constantFrom(...layers), f: garbage, q: query, t: fc.constantFrom(...types) }).map(({ l, f, q, t }) => ({
        kind: 'not a GeoJSON or CSV file', method: 'POST', path: withQuery(`/api/import/${enc(l.id)}`, qsOf(q).qs), body: f, headers: { 'content-type': t },
      })) },
      { weight: 1, arbitrary: fc.record({ l: fc.constantFrom(...layers), t: fc.constantFrom('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'image/png', 'multipart/form-data; boundary=x', 'application/zip', 'text/html') }).map(({ l, t }) => ({
        kind: 'wrong content type', method: 'POST', path: `/api/import/${enc(l.id)}`, body: 'PK\u0003\u0004', headers: { 'content-type': t },
      })) },
      { weight: 1, arbitrary: fc.record({ l: fc.constantFrom(...layers), q: queryArb({ format: ['geojson'], crs: ['wgs84'], importId: ['ok-1'] }) }).map(({ l, q }) => ({ l, ...encodeQuery(q) })).filter(({ parsed }) => refuses(ImportQuery, parsed)).map(({ l, qs }) => ({
        kind: 'query its schema refuses', method: 'POST', path: withQuery(`/api/import/${enc(l.id)}`, qs), body: '{"type":"FeatureCollection","features":[]}', headers: { 'content-type': 'application/geo+json' },
      })) },
      { weight: 1, arbitrary: fc.record({ t: fc.constantFrom(...TRAVERSAL, ...SQLI), f: geojsonFile }).map(({ t, f }) => ({
        kind: 'traversal or SQL as the layer', method: 'POST', path: `/api/import/${enc(t)}`, body: f, headers: { 'content-type': 'application/geo+json' },
      })) },
    )
  }

  /**
   * Fixed import inputs, each costly: files over the 4 MB limit, a 100k-vertex polygon (valid)
   * next to a rejected feature, and on PostgreSQL a polygon crossing itself thousands of times
   * (its repair is time-limited there; the embedded database has no statement timeout).
   */
  function importExtras(): Input[] {
    const layer = known.importLayers.find((l) => !l.point)?.id ?? 'water'
    const center: [number, number] = [121.47, 31.23]
    const file = (geometry: unknown) =>
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', properties: { id: 'big', name: 'big' }, geometry },
          { type: 'Feature', properties: { id: 'bad' }, geometry: { type: 'Point', coordinates: [500, 100] } },
        ],
      })
    const post = (kind: string, body: string | Buffer, t = 'application/geo+json'): Input => ({
      group: 'imports', route: 'POST /api/import/:layer', kind, method: 'POST', path: `/api/import/${layer}`, who: tokens.has('admin') ? 'admin' : 'dispatcher', body, headers: { 'content-type': t },
    })
    return [
      post('file over the import limit', Buffer.alloc(4_300_000, 0x20)),
      post('file over the import limit (CSV)', `id,lon,lat\n${'x,1,2\n'.repeat(800_000)}`, 'text/csv'),
      post('100k-vertex polygon beside a rejected feature', file(circle(center, 100_000))),
      // Repairing it would take PostgreSQL hours: the check's statement timeout ends it (a few seconds).
      ...(backend.databaseUrl ? [post('100k-vertex zig-zag beside a rejected feature', file({ type: 'Polygon', coordinates: [zigzag(center, 100_000)] }))] : []),
    ]
  }

  function caseImportMore(): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    const mapping = known.mapping as Record<string, unknown>
    const header = '工单编号,受理时间,问题类型,问题描述,地址,经度,纬度,派单时间,处置状态,办结时间,满意度,来电人'
    // Every file has a row without a place (经度 empty): rejected, so nothing is written.
    const badRow = (i: number) => `FZ${Date.now()}${i},2026-10-05 08:30:00,暴露垃圾,无位置,地址,,31.24,,已受理,,,`
    const row = fc
      .tuple(hostileString, fc.oneof(fc.constantFrom('2026-10-05 08:30:00', '2026-13-45 99:99', 'yesterday', ''), hostileString), fc.constantFrom('暴露垃圾', '不存在的类型', "'; DROP TABLE cases; --"), fc.constantFrom('121.488684', 'abc', '', '999'))
      .map(([code, at, cat, lon]) => [code, at, cat, 'desc', 'addr', lon, '31.24', '', '已受理', '', '', ''].map((v) => `"${v.replace(/"/g, '""')}"`).join(','))
    const csv = fc.record({ rows: fc.array(row, { maxLength: 4 }), at: fc.nat(), n: fc.nat(1000) }).map(({ rows, at, n }) => {
      const all = [...rows]
      all.splice(at % (all.length + 1), 0, badRow(n))
      return [header, ...all].join('\n')
    })
    const badMapping = brokenObject(mapping, (m) => refuses(CaseMapping, m))
    const fileName = fc.oneof(fc.constantFrom(...TRAVERSAL), hostileString)
    return fc.oneof(
      { weight: 3, arbitrary: fc.record({ c: csv, f: fileName }).map(({ c, f }) => ({
        kind: 'CSV with a rejected row (mapping in the query)', method: 'POST', path: withQuery('/api/import/cases', encodeQuery({ mapping: JSON.stringify(mapping), file: f.slice(0, 200) }).qs), body: c, headers: { 'content-type': 'text/csv' },
      })) },
      { weight: 3, arbitrary: fc.record({ c: csv, f: fileName }).map(({ c, f }) => ({
        kind: 'JSON {mapping, csv} with a rejected row', method: 'POST', path: '/api/import/cases', body: JSON.stringify({ mapping, csv: c, file: f.slice(0, 200) }), headers: { 'content-type': 'application/json' },
      })) },
      { weight: 2, arbitrary: fc.record({ m: badMapping, c: csv }).map(({ m, c }) => ({
        kind: 'mapping its schema refuses', method: 'POST', path: '/api/import/cases', body: JSON.stringify({ mapping: m, csv: c }), headers: { 'content-type': 'application/json' },
      })) },
      { weight: 2, arbitrary: fc.record({ body: fc.oneof(garbageJsonText, nonObjectJson, fc.dictionary(hostileString, wrongTypeValue, { maxKeys: 3 }).map((o) => JSON.stringify(o))) }).filter(({ body }) => {
        try {
          return refuses(CaseImportBody, JSON.parse(body))
        } catch {
          return true
        }
      }).map(({ body }) => ({ kind: 'JSON body its schema refuses', method: 'POST', path: '/api/import/cases', body, headers: { 'content-type': 'application/json' } })) },
      { weight: 2, arbitrary: fc.record({ q: queryArb({ mapping: [JSON.stringify(mapping), '{}', '[]'], file: ['a.csv'], importId: ['ok-1'] }), c: csv }).map(({ q, c }) => ({ c, ...encodeQuery(q) })).filter(({ parsed }) => {
        // Refused by the query schema, or no mapping at all, or a mapping that is not the mapping schema's.
        if (refuses(CaseImportQuery, parsed)) return true
        const m = parsed.mapping
        if (typeof m !== 'string') return true
        try {
          return refuses(CaseMapping, JSON.parse(m))
        } catch {
          return true
        }
      }).map(({ qs, c }) => ({ kind: 'query without a usable mapping', method: 'POST', path: withQuery('/api/import/cases', qs), body: c, headers: { 'content-type': 'text/csv' } })) },
      { weight: 1, arbitrary: fc.constantFrom('image/png', 'application/xml', 'multipart/form-data; boundary=x').map((t) => ({
        kind: 'wrong content type', method: 'POST', path: withQuery('/api/import/cases', encodeQuery({ mapping: JSON.stringify(mapping) }).qs), body: 'a,b', headers: { 'content-type': t },
      })) },
    )
  }

  function uploadMore(): fc.Arbitrary<Omit<Input, 'group' | 'route' | 'who'>> {
    const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00])
    const WEBP = Buffer.from('RIFF\u0010\u0000\u0000\u0000WEBPVP8 ', 'latin1')
    // Never a decodable image: garbage, a known header followed by garbage, other types, nothing.
    const content = fc.oneof(
      fc.uint8Array({ maxLength: 3_000 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.constantFrom(PNG, JPEG, WEBP), fc.uint8Array({ maxLength: 2_000 })).map(([h, b]) => Buffer.concat([h, Buffer.from(b)])),
      fc.constantFrom(
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        Buffer.from('GIF89a\u0001\u0000\u0001\u0000\u0000\u0000\u0000;', 'latin1'),
        Buffer.from('%PDF-1.4\n%garbage'),
        Buffer.from('#!/bin/sh\nrm -rf /\n'),
        Buffer.from('PK\u0003\u0004garbage', 'latin1'),
        Buffer.alloc(0),
      ),
      fc.integer({ min: 1_100_000, max: 1_400_000 }).map((n) => Buffer.concat([PNG, Buffer.alloc(n, 1)])),
    )
    const filename = fc.oneof(fc.constantFrom(...TRAVERSAL.map((t) => `${t}.jpg`), '../../../../tmp/pwned.png', '..\\..\\evil.jpg', 'a\u0000.jpg', '.htaccess', 'con.jpg', ''), hostileString.map((s) => `${s}.png`), hugeSpec.map((h) => huge({ n: Math.min(h.n, 5_000), c: h.c })))
    const multipart = (parts: { field: string; filename?: string; type?: string; data: Buffer }[], boundary: string) =>
      Buffer.concat([
        ...parts.flatMap((p) => [
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.field}"${p.filename !== undefined ? `; filename="${p.filename.replace(/"/g, '%22').replace(/\r|\n/g, '')}"` : ''}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`, 'utf8'),
          p.data,
          Buffer.from('\r\n'),
        ]),
        Buffer.from(`--${boundary}--\r\n`),
      ])
    const boundary = 'fuzzBoundary7MA4YWxkTrZu0gW'
    return fc.oneof(
      { weight: 5, arbitrary: fc.record({ data: content, name: filename, type: fc.constantFrom('image/jpeg', 'image/png', 'application/octet-stream', 'text/html', '../x') }).map(({ data, name, type }) => ({
        kind: 'no decodable image (file name with traversal or garbage)', method: 'POST', path: '/api/cases/attachments', body: multipart([{ field: 'file', filename: name, type, data }], boundary), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      })) },
      { weight: 1, arbitrary: fc.record({ data: content, field: fc.oneof(fc.constantFrom('photo', 'files[]', '../file', 'FILE'), hostileString.filter((f) => f !== 'file')) }).map(({ data, field }) => ({
        kind: 'image in another field', method: 'POST', path: '/api/cases/attachments', body: multipart([{ field: field.replace(/"/g, ''), filename: 'a.png', type: 'image/png', data }], boundary), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      })) },
      { weight: 1, arbitrary: fc.record({ body: fc.oneof(hostileString, garbageJsonText, fc.constant(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n\u0089PNG`)), t: fc.constantFrom(`multipart/form-data; boundary=${boundary}`, 'multipart/form-data', 'multipart/form-data; boundary=', 'multipart/mixed; boundary=x', 'image/png', 'application/json', 'text/plain') }).map(({ body, t }) => ({
        kind: 'broken multipart or not multipart', method: 'POST', path: '/api/cases/attachments', body, headers: { 'content-type': t },
      })) },
      { weight: 1, arbitrary: fc.constant(null).map(() => ({
        kind: 'declared larger than the limit', method: 'POST', path: '/api/cases/attachments', body: multipart([{ field: 'file', filename: 'a.png', type: 'image/png', data: Buffer.concat([PNG, Buffer.alloc(1_200_000, 2)]) }], boundary), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      })) },
    )
  }

  // -------------------------------------------------------------------------------------------

  it(`refuses ≥ 10,000 bad inputs with 4xx (never 5xx), socket messages with errors, and writes nothing (seed ${SEED})`, { timeout: 180_000 }, async () => {
    const t0 = Date.now()
    const spec = specs()
    const db = s.server.db

    // Who each route lets in: probe it with every user (a bad request: bad parameters, a refused body).
    const eligible = new Map<string, Who[]>()
    const publicRoutes = new Set<string>()
    const probes: Input[] = []
    for (const r of routes) {
      const params = paramsOf(r.path)
      let path = fill(r.path, Object.fromEntries(params.map((p) => [p, 'fuzz%27%20OR%201%3D1'])))
      const body = isWrite(r.method) ? { body: '[{"a":1}]', headers: { 'content-type': 'application/json' } } : {}
      const group = groupOf(r)
      const noop = endsSessions(r) ? 'signing out without a session changes nothing' : undefined
      probes.push({ group, route: key(r), kind: 'probe without a session', method: r.method, path, who: 'anon', noop, ...body })
      if (endsSessions(r)) continue
      // A GET without parameters has nothing bad to probe with unless its query has a schema: a query that schema refuses.
      const q = spec[key(r)]?.query
      if (!isWrite(r.method) && !params.length) {
        if (!q) continue
        const refused = fc.sample(queryArb(q.keys).map((v) => encodeQuery(v)).filter(({ parsed }) => refuses(q.schema, parsed)), { numRuns: 1, seed: SEED })[0]
        path = withQuery(path, refused.qs)
      }
      for (const u of tokens.keys()) probes.push({ group, route: key(r), kind: `probe as ${u}`, method: r.method, path, who: u, ...body })
    }
    if (process.env.FUZZ_VERBOSE) console.log(`${probes.length} probes`)
    await pool(probes, CONCURRENCY, async (p) => {
      const status = await run({ ...p, forged: '', cookie: false, ok2xx: 'a GET without parameters may answer' }, { tally2xx: false })
      const k = p.route
      if (p.who === 'anon') {
        if (status !== 401) publicRoutes.add(k)
      } else if (status !== 401 && status !== 403) {
        eligible.set(k, [...(eligible.get(k) ?? []), p.who])
      }
    })

    // Every route's generic and own inputs, by group.
    const byGroup = new Map<Group, { arb: fc.Arbitrary<Input>; weight: number }[]>()
    const noInputs: string[] = []
    for (const r of routes) {
      const k = key(r)
      const arbs = routeArbs(r, spec[k], eligible.get(k) ?? [], publicRoutes.has(k))
      if (!arbs.length) {
        noInputs.push(k)
        continue
      }
      const list = byGroup.get(groupOf(r)) ?? []
      for (const arb of arbs) list.push({ arb, weight: spec[k] ? 3 : 1 })
      byGroup.set(groupOf(r), list)
    }
    // Beyond the routers: the demo camera stream and Cesium's static files, with traversal.
    byGroup.get('api')!.push({
      weight: 1,
      arb: fc.oneof(
        fc.constantFrom(...TRAVERSAL, ...['-1.ts', '99999999999999999.ts', '1.5.ts', 'live.m3u8%00', '..%2f..%2fpackage.json', 'x.ts']).map((t) => `/media/demo/${t}`),
        fc.constantFrom(...TRAVERSAL).map((t) => `/cesium/${t}`),
        fc.constantFrom('../package.json', '..%2f..%2fpackage.json', '%2e%2e/%2e%2e/package.json', 'Cesium.js%00.txt').map((t) => `/cesium/1.140.0/${t}`),
      ).map((p) => ({ group: 'api' as const, route: 'static: /media, /cesium', kind: 'traversal in a static path', method: 'GET', path: p, who: 'dispatcher' })),
    })

    for (const g of GROUPS) {
      if (g === 'socket') continue
      const arbs = byGroup.get(g) ?? []
      expect(arbs.length, `inputs for ${g}`).toBeGreaterThan(0)
      const tg = Date.now()
      if (g === 'imports') await pool(importExtras(), 2, (input) => run({ ...input, forged: '', cookie: false }).then(() => {}))
      await fuzz(fc.oneof(...arbs.map(({ arb, weight }) => ({ arbitrary: arb, weight }))), Math.round(TARGET[g] * SCALE), SEED + GROUPS.indexOf(g))
      if (process.env.FUZZ_VERBOSE) console.log(`${g}: ${tally.byGroup.get(g)?.inputs} inputs, ${Date.now() - tg} ms`)
    }

    if (process.env.FUZZ_VERBOSE) {
      console.log([...timing.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([k, v]) => `${v.ms.toFixed(0).padStart(7)} ms ${String(v.n).padStart(5)} × ${k}`).join('\n'))
    }
    const socketInputs = await fuzzSockets(Math.round(TARGET.socket * SCALE), SEED + 99)
    fuzzMs = Date.now() - t0

    // The server is up and answers.
    const health = await fetch(`${s.url}/api/health`)
    expect(health.status).toBe(200)
    const refused = ((await health.json()) as { realtime: { refused: Record<string, number> } }).realtime.refused
    expect(Object.values(refused).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)

    // Nothing written: the business tables are as they were; no upload left behind.
    const after = await tableChecksums(db, await businessTables())
    const changed = Object.keys(before).filter((t) => before[t].md5 !== after[t]?.md5 || before[t].rows !== after[t]?.rows)
    const files = fs.readdirSync(attachmentsDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())

    const totalMs = Date.now() - started
    console.log(
      [
        `fuzz (${backend.name}, seed ${SEED}): ${tally.total} inputs over ${routes.length} routes + socket messages, ${(fuzzMs / 1000).toFixed(1)} s fuzzing, ${(totalMs / 1000).toFixed(1)} s with start-up and checksums`,
        tally.table(),
        `routes with no bad input to send (public GETs without parameters): ${noInputs.join(', ') || 'none'}`,
        `tables not compared (may grow): ${Object.entries(MAY_GROW).map(([t, why]) => `${t} (${why})`).join('; ')}`,
        `changed tables: ${changed.join(', ') || 'none'}; files left in the attachments folder: ${files.length}; socket messages: ${socketInputs}`,
        ...(tally.failures.length ? ['failures:', ...tally.failures.slice(0, 40)] : []),
      ].join('\n'),
    )

    expect(tally.failures, tally.failures.slice(0, 20).join('\n')).toEqual([])
    expect(changed).toEqual([])
    expect(files.map((f) => f.name)).toEqual([])
    expect(tally.total).toBeGreaterThanOrEqual(10_000 * Math.min(1, SCALE))
    for (const g of GROUPS) expect(tally.byGroup.get(g)?.inputs ?? 0, g).toBeGreaterThanOrEqual(200 * Math.min(1, SCALE))
    // Every route got generated bad inputs beyond its probes, except the public ones that take no input.
    for (const r of routes) {
      const k = key(r)
      if (noInputs.includes(k)) continue
      expect(fuzzed.get(k) ?? 0, k).toBeGreaterThan(0)
    }
  })

  // -------------------------------------------------------------------------------------------
  // Socket messages

  /** Answers that say the server failed, not that the message was wrong. */
  const INTERNAL = /failed; (try again|send them again)|internal/i

  async function fuzzSockets(n: number, seed: number): Promise<number> {
    const users = ['dispatcher', 'supervisor', 'admin'].filter((u) => tokens.has(u))
    const sockets = await Promise.all(users.map((u) => open(u)))
    // The messages the server listens to, from a connected socket (so a new one gets fuzzed).
    const serverSocket = [...s.server.io.sockets.sockets.values()][0]
    const RESERVED = new Set(['disconnect', 'disconnecting', 'error', 'newListener', 'removeListener'])
    const names = serverSocket.eventNames().map(String).filter((e) => !RESERVED.has(e))
    expect(names).toEqual(expect.arrayContaining(['replay', 'subscribe', 'unsubscribe', 'viewport', 'position', 'screen:push', 'screen:release']))

    const schemas: Record<string, { schema: z.ZodType; base: Record<string, unknown> }> = {
      replay: { schema: ReplayRequest, base: { since: 0, limit: 10 } },
      subscribe: { schema: SubscribeRequest, base: { rooms: ['case:1', 'screen:wall'] } },
      unsubscribe: { schema: SubscribeRequest, base: { rooms: ['case:1'] } },
      viewport: { schema: ViewportRequest, base: { bbox: [121.4, 31.2, 121.5, 31.3], kinds: ['sensor'] } },
      position: { schema: PositionReport, base: { crs: 'wgs84', positions: [{ ts: '2026-11-21T09:30:00+08:00', lon: 121.47, lat: 31.23 }] } },
      'screen:push': { schema: ScreenPushRequest, base: { screen: 'wall', view: { camera: { center: [121.47, 31.23], zoom: 14 }, mode: '2d' } } },
      'screen:release': { schema: ScreenReleaseRequest, base: { screen: 'wall' } },
    }
    const garbage = fc.oneof(
      wrongTypeValue,
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
      fc.integer({ min: 10_000, max: 300_000 }).map((k) => ({ rooms: ['x'.repeat(k)] })),
    )
    const message = fc.constantFrom(...names).chain((name) => {
      const known = schemas[name]
      const bad = known ? fc.oneof({ weight: 3, arbitrary: brokenObject(known.base, (v) => refuses(known.schema, v)) as fc.Arbitrary<unknown> }, { weight: 2, arbitrary: garbage }) : garbage
      return fc.record({
        name: fc.constant(name),
        // Below the 512 kB message limit (a larger message ends the connection by design: see the oversized ones below).
        payload: bad.filter((p) => (p instanceof Buffer ? p.length : Buffer.byteLength(JSON.stringify(p) ?? '')) < 400_000).filter((p) => !known || refuses(known.schema, p instanceof Buffer ? p : roundTrip(p))),
        socket: fc.nat(sockets.length - 1),
      })
    })
    const items = fc.sample(message, { numRuns: n, seed })
    const dropped: string[] = []
    const recent: string[] = []
    sockets.forEach((sock, i) => sock.on('disconnect', (reason) => dropped.push(`${users[i]}: ${reason}`)))
    await pool(items, CONCURRENCY, async ({ name, payload, socket }) => {
      const sock = sockets[socket]
      if (!sock.connected) {
        tally.fail(`socket of ${users[socket]} was disconnected (${dropped.join('; ')}); the messages sent just before: ${recent.join(' | ')}`)
        sockets[socket] = await open(users[socket])
        sockets[socket].on('disconnect', (reason) => dropped.push(`${users[socket]}: ${reason}`))
        return
      }
      recent.push(`${name} ${(payload instanceof Buffer ? `<${payload.length} bytes>` : JSON.stringify(payload))?.slice(0, 150)}`)
      if (recent.length > 8) recent.shift()
      let label: string
      try {
        const answer = (await sock.timeout(5_000).emitWithAck(name, payload)) as { error?: unknown }
        if (typeof answer?.error !== 'string') {
          label = 'accepted'
          tally.fail(`socket ${name} accepted ${JSON.stringify(payload)?.slice(0, 200)} → ${JSON.stringify(answer).slice(0, 200)}`)
        } else if (INTERNAL.test(answer.error)) {
          label = 'internal error'
          tally.fail(`socket ${name} ${JSON.stringify(payload)?.slice(0, 200)} → ${answer.error}`)
        } else label = 'error ack'
      } catch {
        label = 'no answer'
        tally.fail(`socket ${name} ${JSON.stringify(payload)?.slice(0, 200)}: no answer within 5 s`)
      }
      tally.add('socket', `socket ${name}`, label)
    })
    for (const [i, sock] of sockets.entries()) {
      if (!sock.connected) tally.fail(`socket of ${users[i]} is no longer connected: ${dropped.join('; ')}`)
      sock.close()
    }
    // Messages over the limit (MAX_MESSAGE_BYTES): that connection ends; the server and the other sockets do not notice.
    const oversized = names.slice(0, 4)
    for (const name of oversized) {
      const sock = await open(users[0])
      const closed = new Promise<string>((resolve) => sock.once('disconnect', (reason) => resolve(reason)))
      sock.emit(name, { rooms: ['x'.repeat(600_000)] })
      const reason = await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still connected after 5 s'), 5_000))])
      tally.add('socket', `socket ${name}`, 'over 512 kB: disconnected')
      if (reason === 'still connected after 5 s') tally.fail(`socket ${name} with a 600 kB message: ${reason}`)
      sock.close()
    }
    return items.length + oversized.length
  }

  function open(user: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const sock = connect(s.url, { path: '/socket.io', transports: ['websocket'], auth: { token: tokens.get(user) }, reconnection: false })
      sock.once('connect', () => resolve(sock))
      sock.once('connect_error', reject)
    })
  }
})

/** Signs in and returns a bearer token (CSRF checks do not apply to bearer requests). */
async function bearer(url: string, username: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: TEST_PASSWORD, bearer: true }),
  })
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}

