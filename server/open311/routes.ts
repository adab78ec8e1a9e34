/**
 * Public intake: Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2, JSON
 * only (the spec's XML is not offered: `.xml` answers 400 saying so; discovery.json lists the format).
 *
 * - GET services.json — our case categories as services (group: the major class).
 * - GET services/{code}.json — a service definition (no extra attributes: metadata is false).
 * - POST requests.json — form-encoded as the spec shows; `api_key` when ONEGRID_OPEN311_API_KEY is
 *   set (403 without or wrong); a location as `lat`+`long`, or an `address_string` that names a
 *   building or place we know (we have no geocoder: anything else is 400 saying so); a case with
 *   source 'public' through the workflow's `CaseService.report`.
 * - GET requests.json (filters service_request_id, service_code, status, start_date, end_date;
 *   at most 90 days and 1000 requests) and GET requests/{id}.json.
 *
 * Which requests are public: cases that came in as public reports (source 'public': this API, the
 * hotline's web form…). Patrol, sensor, video and assigned cases are the city's own work records and
 * stay inside. The reporter (name, phone, e-mail) is stored for the case's handlers and never shown here.
 *
 * Errors are the spec's `[{ "code", "description" }]` with the HTTP status: 404 for what does not
 * exist, 403 for the api_key, 429 (with Retry-After) past the rate limit, 400 for anything else.
 * Requests are limited per client address (the socket's: app.proxy is off) and minute, POSTs by
 * ONEGRID_OPEN311_RATE and GETs by ONEGRID_OPEN311_READ_RATE, in this process's memory.
 */
import crypto from 'node:crypto'
import Router from '@koa/router'
import { bodyParser } from '@koa/bodyparser'
import type { Context, Middleware, Next } from 'koa'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { z } from 'zod'
import type { Config } from '../config.ts'
import type { Db } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { baseUrl } from '../http/base-url.ts'
import { fromDbError, HttpError } from '../http/errors.ts'
import { describeIssues } from '../http/validate.ts'
import type { Logger } from '../log.ts'
import type { ReportInput, ReportResult, Reporter, Stage } from '../cases/types.ts'
import { STAGE_LABELS } from '../cases/workflow.ts'

const sql = loadSql(new URL('./open311.sql', import.meta.url))

/** What Open311 needs of the case workflow (server/cases/service.ts). */
export interface CaseReporter {
  report(input: ReportInput, reporter: Reporter): Promise<ReportResult>
}

export interface Open311Deps {
  db: Db
  cases: CaseReporter
  config: Pick<Config, 'ONEGRID_OPEN311_API_KEY' | 'ONEGRID_OPEN311_RATE' | 'ONEGRID_OPEN311_READ_RATE' | 'ONEGRID_PUBLIC_URL'>
  log: Logger
}

const PREFIX = '/open311'
/** How a media_url is kept among a report's attachments (a link, not an uploaded file); open311.sql reads it back. */
const MEDIA_LINK = 'text/uri-list'
const SPEC = 'http://wiki.open311.org/GeoReport_v2'
const DAY = 86_400_000
/** The spec's default window and cap of GET requests. */
const WINDOW_DAYS = 90
const MAX_REQUESTS = 1000

/** The stages a citizen sees as closed. */
const CLOSED: ReadonlySet<Stage> = new Set<Stage>(['closed', 'evaluated', 'cancelled', 'merged'])

// ---------------------------------------------------------------------------------------------
// Input

/** The spec: an empty optional argument is the same as one not sent. */
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v)
const text = (name: string, max: number) =>
  z.preprocess(blank, z.string({ error: `${name} must be text (sent once)` }).trim().max(max, `${name}: at most ${max} characters`).optional())
const coordinate = (name: string, min: number, max: number) =>
  z.preprocess(
    blank,
    z.coerce
      .number({ error: `${name} must be a number (WGS84 degrees)` })
      .refine(Number.isFinite, `${name} must be a number (WGS84 degrees)`)
      .min(min, `${name} must be between ${min} and ${max}`)
      .max(max, `${name} must be between ${min} and ${max}`)
      .optional(),
  )

/** POST requests.json, form fields as the spec names them; others (jurisdiction_id, attribute[…]) are ignored. */
export const RequestForm = z
  .object({
    api_key: text('api_key', 200),
    service_code: z.preprocess(blank, z.string({ error: 'service_code was not provided' }).trim().max(40, 'service_code: at most 40 characters')),
    lat: coordinate('lat', -90, 90),
    long: coordinate('long', -180, 180),
    address_string: text('address_string', 500),
    address_id: text('address_id', 100),
    email: z.preprocess(blank, z.email({ error: 'email is not a valid e-mail address' }).max(254, 'email: at most 254 characters').optional()),
    device_id: text('device_id', 200),
    account_id: text('account_id', 200),
    first_name: text('first_name', 100),
    last_name: text('last_name', 100),
    phone: z.preprocess(blank, z.string({ error: 'phone must be text' }).trim().regex(/^[0-9+()\-. ]{3,40}$/, 'phone: digits, spaces and + ( ) - only, at most 40').optional()),
    // The spec: free text, line breaks allowed, at most 4,000 characters.
    description: text('description', 4000),
    media_url: z.preprocess(blank, z.url({ protocol: /^https?$/, error: 'media_url must be an http(s) URL' }).max(2000, 'media_url: at most 2000 characters').optional()),
  })
  .refine((f) => (f.lat === undefined) === (f.long === undefined), { message: 'lat and long must be sent together', path: ['lat'] })

const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z.preprocess(
    blank,
    z
      .string({ error: 'give one value or several comma-separated, once' })
      .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))])
      .pipe(z.array(item).min(1).max(MAX_REQUESTS))
      .optional(),
  )
const w3 = (name: string) =>
  z.preprocess(blank, z.iso.datetime({ offset: true, error: `${name} must be a w3 date-time with its zone, e.g. 2010-01-01T00:00:00Z` }).transform((s) => new Date(s)).optional())

/** GET requests.json filters (jurisdiction_id and anything else unknown is ignored). */
export const RequestsQuery = z.object({
  service_request_id: list(z.string().max(40, 'service_request_id: at most 40 characters each')),
  service_code: list(z.string().max(40, 'service_code: at most 40 characters each')),
  status: list(z.enum(['open', 'closed'], { error: 'status must be open or closed (comma-separated for both)' })),
  start_date: w3('start_date'),
  end_date: w3('end_date'),
})

// ---------------------------------------------------------------------------------------------
// Output

interface CategoryRow {
  code: string
  kind: 'event' | 'part'
  major_code: string
  major_name: string
  minor_name: string
}

interface RequestRow {
  code: string
  stage: Stage
  category_code: string
  service_name: string
  description: string
  agency: string | null
  reported_at: Date | string
  updated_at: Date | string
  deadline_at: Date | string | null
  address: string | null
  lon: number
  lat: number
  merged_into_code: string | null
  media_url: string | null
}

const iso = (v: Date | string) => new Date(v).toISOString()

function service(c: CategoryRow) {
  const kind = c.kind === 'part' ? '部件' : '事件'
  return {
    service_code: c.code,
    service_name: c.minor_name,
    description: `${kind} · ${c.major_name} · ${c.minor_name}`,
    metadata: false,
    type: 'realtime',
    keywords: [c.minor_name, c.major_name, kind].join(', '),
    group: c.major_name,
  }
}

/** A case as an Open311 service request: the spec's names and JSON types. */
function serviceRequest(r: RequestRow) {
  const notes = r.stage === 'merged' && r.merged_into_code ? `已合并到案件 ${r.merged_into_code}` : STAGE_LABELS[r.stage]['zh-CN']
  return {
    service_request_id: r.code,
    status: CLOSED.has(r.stage) ? 'closed' : 'open',
    status_notes: `${notes}（${r.stage}）`,
    service_name: r.service_name,
    service_code: r.category_code,
    description: r.description,
    agency_responsible: r.agency,
    service_notice: null,
    requested_datetime: iso(r.reported_at),
    updated_datetime: iso(r.updated_at),
    expected_datetime: r.deadline_at ? iso(r.deadline_at) : null,
    address: r.address,
    address_id: null,
    zipcode: null,
    lat: Number(r.lat),
    long: Number(r.lon),
    media_url: r.media_url,
  }
}

// ---------------------------------------------------------------------------------------------
// Errors and limits

/** `[{ code, description }]` with the status; 4xx other than 403/404/429 are 400 as the spec asks. */
function open311Errors(log: Logger): Middleware {
  return async (ctx: Context, next: Next) => {
    try {
      await next()
    } catch (caught) {
      const err = fromDbError(caught) ?? caught
      const e = err as { status?: number; statusCode?: number; message?: string }
      let status = e instanceof HttpError ? e.status : (e.status ?? e.statusCode ?? 500)
      let description = e.message || 'bad request'
      if (status >= 500) {
        log.error({ err, reqId: ctx.state.reqId, path: ctx.path }, 'open311 request failed')
        description = `internal error (request ${ctx.state.reqId}); please tell us`
      } else if (![403, 404, 429].includes(status)) {
        status = 400
      }
      ctx.status = status
      ctx.body = [{ code: status, description }]
    }
  }
}

function rateLimit(perMinute: { write: number; read: number }): Middleware {
  const write = new RateLimiterMemory({ points: perMinute.write, duration: 60 })
  const read = new RateLimiterMemory({ points: perMinute.read, duration: 60 })
  return async (ctx, next) => {
    const post = ctx.method === 'POST'
    try {
      await (post ? write : read).consume(ctx.ip || 'unknown')
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res
      const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000))
      ctx.set('Retry-After', String(seconds))
      const limit = post ? perMinute.write : perMinute.read
      throw new HttpError(429, `too many requests: at most ${limit} ${post ? 'reports' : 'reads'} a minute from one address; try again in ${seconds} s`)
    }
    await next()
  }
}

/** Constant-time comparison of the given key with each configured one. */
function keyAccepted(given: string | undefined, keys: string[]): boolean {
  if (keys.length === 0) return true
  if (!given) return false
  const g = crypto.createHash('sha256').update(given).digest()
  let ok = false
  for (const k of keys) ok = crypto.timingSafeEqual(g, crypto.createHash('sha256').update(k).digest()) || ok
  return ok
}

/** `name.json` → name; `.xml` and other formats are refused plainly (JSON only). */
function jsonName(file: string | undefined): string {
  const m = /^(.+)\.([A-Za-z]+)$/.exec(file ?? '')
  if (!m) throw new HttpError(404, `no such resource: add .json (${file ?? ''})`)
  if (m[2].toLowerCase() !== 'json') throw new HttpError(400, `format ${m[2]} is not offered: this server answers JSON only (.json)`)
  return m[1]
}

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input)
  if (!r.success) throw new HttpError(400, describeIssues(r.error))
  return r.data
}

// ---------------------------------------------------------------------------------------------

/** The /open311 middleware (routes, its error format, its rate limits, its form body parser). */
export function open311Routes({ db, cases, config, log }: Open311Deps): Middleware {
  const keys = (config.ONEGRID_OPEN311_API_KEY ?? '').split(',').map((k) => k.trim()).filter(Boolean)
  // The app's JSON parser leaves /open311 alone: the spec's POST is a form.
  const form = bodyParser({
    enableTypes: ['form'],
    formLimit: '64kb',
    onError: (err) => {
      throw new HttpError(400, `request body is not a valid form: ${err.message}`)
    },
  })
  const router = new Router({ prefix: PREFIX })

  router.get('/discovery.json', (ctx) => {
    const base = baseUrl(ctx, config.ONEGRID_PUBLIC_URL)
    ctx.body = {
      changeset: '2026-11-21T00:00:00Z',
      contact: 'OneGrid city operations centre',
      key_service: keys.length ? 'ask the city operations centre for an api_key' : 'no api_key needed',
      endpoints: [{ specification: SPEC, url: `${base}${PREFIX}/v2`, changeset: '2026-11-21T00:00:00Z', type: 'production', formats: ['application/json'] }],
    }
  })

  router.get('/v2/:file', async (ctx, next) => {
    const name = jsonName(ctx.params.file)
    if (name === 'services') {
      ctx.body = (await db.query<CategoryRow>(sql.services)).rows.map(service)
      return
    }
    if (name === 'requests') {
      ctx.body = await listRequests(db, parse(RequestsQuery, ctx.query))
      return
    }
    return next()
  })

  router.get('/v2/services/:file', async (ctx) => {
    const code = jsonName(ctx.params.file)
    const found = (await db.query<CategoryRow>(sql.service, [code])).rows[0]
    if (!found) throw new HttpError(404, `service_code ${code} was not found`)
    ctx.body = { service_code: found.code, attributes: [] }
  })

  router.get('/v2/requests/:file', async (ctx) => {
    const id = jsonName(ctx.params.file)
    const rows = (await db.query<RequestRow>(sql.requests, [[id], null, null, null, null, 1])).rows
    if (rows.length === 0) throw new HttpError(404, `service_request_id ${id} was not found`)
    ctx.body = rows.map(serviceRequest)
  })

  router.post('/v2/:file', form, async (ctx) => {
    if (jsonName(ctx.params.file) !== 'requests') throw new HttpError(404, `no such resource: POST ${ctx.path}`)
    if (!ctx.is('application/x-www-form-urlencoded')) {
      throw new HttpError(400, `send the request as application/x-www-form-urlencoded (got ${ctx.get('content-type') || 'no content type'})`)
    }
    const body = (ctx.request.body ?? {}) as Record<string, unknown>
    // The key first: without it nothing else is looked at (the spec's example sends it in the body; a query string works too).
    const given = typeof body.api_key === 'string' ? body.api_key : typeof ctx.query.api_key === 'string' ? ctx.query.api_key : undefined
    if (!keyAccepted(given, keys)) throw new HttpError(403, given ? 'invalid api_key received -- cannot create the request' : 'api_key was not provided')
    const f = parse(RequestForm, body)

    const category = (await db.query<CategoryRow>(sql.service, [f.service_code])).rows[0]
    if (!category) throw new HttpError(404, `service_code ${f.service_code} was not found: see services.json`)

    let point: { lon: number; lat: number } | undefined = f.lat !== undefined && f.long !== undefined ? { lon: f.long, lat: f.lat } : undefined
    let address = f.address_string ?? null
    if (!point && f.address_string) {
      // No geocoder: an address is a place only when it names a building or place we hold.
      const q = f.address_string.toLowerCase().replace(/\s+/g, '')
      const hit = (await db.query<{ lon: number; lat: number; label: string }>(sql.address, [q])).rows[0]
      if (!hit) throw new HttpError(400, `address_string "${f.address_string}" is not a building or place we know: send lat and long`)
      point = { lon: Number(hit.lon), lat: Number(hit.lat) }
      address = f.address_string
    }
    if (!point && f.address_id) throw new HttpError(400, 'address_id is not supported here: send lat and long, or an address_string')
    if (!point) throw new HttpError(400, 'location was not provided: send lat and long, or an address_string')

    const name = [f.first_name, f.last_name].filter(Boolean).join(' ')
    // Only what a handler needs to call the citizen back; device and account ids are not kept.
    const reporterText = ['市民', name, f.phone, f.email].filter(Boolean).join(' · ').slice(0, 300)
    const input: ReportInput = {
      categoryCode: category.code,
      source: 'public',
      description: f.description ?? `市民反映：${category.minor_name}`,
      lon: point.lon,
      lat: point.lat,
      ...(address ? { address } : {}),
      reporterText,
      // The photo stays where the citizen's app put it: a link among the report's attachments.
      ...(f.media_url ? { attachments: [{ id: f.media_url, type: MEDIA_LINK, name: 'media_url' }] } : {}),
    }
    const { case: made } = await cases.report(input, { system: 'open311' })
    ctx.body = [
      {
        service_request_id: made.code,
        service_notice: `已收到您的反映，案件编号 ${made.code}；处理进度可凭此编号查询。`,
        account_id: null,
      },
    ]
  })

  const routes = router.routes() as Middleware
  const errors = open311Errors(log)
  const limit = rateLimit({ write: config.ONEGRID_OPEN311_RATE, read: config.ONEGRID_OPEN311_READ_RATE })
  const open311: Middleware = async (ctx, next) => {
    if (!(ctx.path === PREFIX || ctx.path.startsWith(`${PREFIX}/`))) return next()
    // What no route answers falls through to the app's 404, still inside our error format.
    return errors(ctx, () => limit(ctx, () => routes(ctx, next)))
  }
  // The router behind the wrapper, for the app's route table (server/http/route-table.ts); not
  // `.router`, which would make auth/route-permissions.ts guard these public routes.
  return Object.assign(open311, { innerRouter: router })
}

async function listRequests(db: Db, q: z.infer<typeof RequestsQuery>) {
  // service_request_id overrides every other argument (the spec).
  if (q.service_request_id) {
    return (await db.query<RequestRow>(sql.requests, [q.service_request_id, null, null, null, null, MAX_REQUESTS])).rows.map(serviceRequest)
  }
  const span = WINDOW_DAYS * DAY
  let from = q.start_date
  let to = q.end_date
  if (!from && !to) to = new Date()
  if (!from) from = new Date(to!.getTime() - span)
  if (!to) to = new Date(from.getTime() + span)
  if (from > to) throw new HttpError(400, 'start_date is after end_date')
  if (to.getTime() - from.getTime() > span) throw new HttpError(400, `start_date to end_date may span at most ${WINDOW_DAYS} days`)
  const rows = await db.query<RequestRow>(sql.requests, [null, q.service_code ?? null, q.status ?? null, from.toISOString(), to.toISOString(), MAX_REQUESTS])
  return rows.rows.map(serviceRequest)
}
