/**
 * Public intake, Open311 GeoReport v2 at /open311/v2 (issue 6, acceptance 6): a request posted
 * form-encoded over plain HTTP with the spec's example fields becomes a case (source public, its
 * grid found); GET requests.json and requests/{id}.json return it with the spec's names and JSON
 * types; the filters; services as our categories; bad input refused in the spec's error format
 * with no case made; 429 with Retry-After past the per-address limit.
 *
 * Re-runnable on the shared database: every request this run posts carries the run's mark in its
 * description, and the run removes those cases (with their record) afterwards.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../server/db/index.ts'
import { backends, startTestServer, type TestServer } from '../helpers/server.ts'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
/** A point in the East China Sea, far from any grid of the demo city. */
const SEA = { lat: 30.5, long: 123.5 }

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: unknown
}

/** A POST over plain HTTP with node's http module: a form body exactly as the spec's example sends it. */
function postForm(base: string, path: string, form: string, opts: { contentType?: string; localAddress?: string } = {}): Promise<Reply> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: 'POST',
        localAddress: opts.localAddress,
        headers: { 'Content-Type': opts.contentType ?? 'application/x-www-form-urlencoded; charset=utf-8', 'Content-Length': Buffer.byteLength(form) },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let body: unknown = text
          try {
            body = JSON.parse(text)
          } catch {
            /* not JSON: the assertion shows the text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
        })
      },
    )
    req.on('error', reject)
    req.end(form)
  })
}

async function get(base: string, path: string): Promise<Reply> {
  const res = await fetch(new URL(path, base))
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    /* shown by the assertion */
  }
  return { status: res.status, headers: Object.fromEntries(res.headers) as http.IncomingHttpHeaders, body }
}

/** The spec's error body: an array of { code, description }, the code matching the status. */
function expectError(r: Reply, status: number, about: RegExp) {
  expect(r.status, JSON.stringify(r.body)).toBe(status)
  expect(Array.isArray(r.body)).toBe(true)
  const [e] = r.body as { code: number; description: string }[]
  expect(e.code).toBe(status)
  expect(typeof e.description).toBe('string')
  expect(e.description).toMatch(about)
}

type Request = Record<string, unknown>

describe.each(backends())('Open311 GeoReport v2 on $name', ({ databaseUrl }) => {
  const run = `o311-${Date.now().toString(36)}-${process.pid}`
  const KEY = `key-${run}`
  let s: TestServer
  let db: Db
  let base: string
  /** A grid of the demo city and a point inside it; a building address we know and its grid. */
  let grid: { code: string; lon: number; lat: number }
  let building: { address: string; grid: string }
  let service: { code: string; name: string; other: string }

  /** The spec's example request, field for field, with this run's values. */
  function exampleForm(over: Record<string, string | undefined> = {}): string {
    const fields: Record<string, string | undefined> = {
      api_key: KEY,
      jurisdiction_id: 'city.gov',
      service_code: service.code,
      lat: String(grid.lat),
      long: String(grid.lon),
      address_string: '1234 5th street',
      email: 'smit333@sfgov.edu',
      device_id: 'tt222111',
      account_id: '123456',
      first_name: 'john',
      last_name: 'smith',
      phone: '111111111',
      description: `A large sinkhole is destroying the street ${run}`,
      media_url: 'http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg',
      ...over,
    }
    const p = new URLSearchParams()
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) p.append(k, v)
    // The spec's example also sends service attributes; we have none, they are ignored.
    p.append('attribute[WHISPAWN]', '123456')
    return p.toString()
  }
  const ours = async () => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE description LIKE $1`, [`%${run}%`])).rows[0]!.n)

  beforeAll(async () => {
    s = await startTestServer({
      databaseUrl,
      env: { ONEGRID_OPEN311_API_KEY: `other-app-key,${KEY}`, ONEGRID_OPEN311_RATE: '1000', ONEGRID_OPEN311_READ_RATE: '1000' },
    })
    db = s.server.db
    base = s.url
    const g = await db.query<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat FROM grids CROSS JOIN LATERAL ST_PointOnSurface(geom) AS p WHERE NOT synthetic ORDER BY code LIMIT 1`,
    )
    grid = g.rows[0]!
    const b = await db.query<{ address: string; grid: string }>(
      `SELECT b.address, g.code AS grid FROM buildings b JOIN grids g ON ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
        WHERE b.address IS NOT NULL ORDER BY b.id LIMIT 1`,
    )
    building = b.rows[0]!
    const c = await db.query<{ code: string; minor_name: string }>(`SELECT code, minor_name FROM case_categories ORDER BY code LIMIT 2`)
    service = { code: c.rows[0]!.code, name: c.rows[0]!.minor_name, other: c.rows[1]!.code }
    const sea = await db.query(`SELECT 1 FROM grids WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))`, [SEA.long, SEA.lat])
    expect(sea.rowCount, 'the sea point must be outside every grid').toBe(0)
  }, 120_000)

  afterAll(async () => {
    if (db) await db.query(`DELETE FROM cases WHERE description LIKE $1`, [`%${run}%`])
    await s?.close()
  })

  it('lists our case categories as services, majors as group, and gives each one a definition', async () => {
    const r = await get(base, '/open311/v2/services.json')
    expect(r.status).toBe(200)
    expect(String(r.headers['content-type'])).toMatch(/^application\/json; charset=utf-8/)
    const list = r.body as Record<string, unknown>[]
    const n = Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM case_categories')).rows[0]!.n)
    expect(list).toHaveLength(n)
    const mine = list.find((x) => x.service_code === service.code)!
    expect(mine).toMatchObject({ service_code: service.code, service_name: service.name, metadata: false, type: 'realtime' })
    for (const x of list) {
      expect(typeof x.service_code).toBe('string')
      expect(typeof x.group).toBe('string')
      expect(typeof x.keywords).toBe('string')
      expect(typeof x.description).toBe('string')
    }
    const def = await get(base, `/open311/v2/services/${service.code}.json`)
    expect(def.status).toBe(200)
    expect(def.body).toEqual({ service_code: service.code, attributes: [] })
    expectError(await get(base, '/open311/v2/services/NOPE.json'), 404, /NOPE/)
    expectError(await get(base, '/open311/v2/services.xml'), 400, /JSON only/)
    expectError(await get(base, '/open311/v2/nothing.json'), 404, /no route/)
    const disc = await get(base, '/open311/discovery.json')
    expect(disc.status).toBe(200)
    expect((disc.body as { endpoints: { url: string }[] }).endpoints[0]!.url).toBe(`${base}/open311/v2`)
  })

  it('a request posted form-encoded as the spec shows becomes a public case in its grid, and GET returns it with Open311 names and types (acceptance 6)', async () => {
    const before = await ours()
    const posted = await postForm(base, '/open311/v2/requests.json', exampleForm())
    expect(posted.status, JSON.stringify(posted.body)).toBe(200)
    const [made] = posted.body as { service_request_id: string; service_notice: string; account_id: null }[]
    expect(typeof made.service_request_id).toBe('string')
    expect(made.service_notice).toContain(made.service_request_id)
    expect(made.account_id).toBeNull()
    expect(await ours()).toBe(before + 1)

    const row = (
      await db.query<{ source: string; stage: string; grid_code: string; category_code: string; reporter: string; address: string; lon: number; lat: number }>(
        `SELECT source, stage, grid_code, category_code, reporter, address, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM cases WHERE code = $1`,
        [made.service_request_id],
      )
    ).rows[0]!
    expect(row).toMatchObject({ source: 'public', stage: 'reported', grid_code: grid.code, category_code: service.code, address: '1234 5th street' })
    expect(row.lon).toBeCloseTo(grid.lon, 6)
    expect(row.lat).toBeCloseTo(grid.lat, 6)
    // Who to call back is kept for the handlers; the device and account ids are not.
    expect(row.reporter).toContain('john smith')
    expect(row.reporter).toContain('111111111')
    expect(row.reporter).not.toContain('tt222111')

    const expectShape = (r: Request) => {
      expect(r).toMatchObject({
        service_request_id: made.service_request_id,
        status: 'open',
        service_code: service.code,
        service_name: service.name,
        description: `A large sinkhole is destroying the street ${run}`,
        address: '1234 5th street',
        media_url: 'http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg',
      })
      expect(Object.keys(r).sort()).toEqual(
        ['address', 'address_id', 'agency_responsible', 'description', 'expected_datetime', 'lat', 'long', 'media_url', 'requested_datetime', 'service_code', 'service_name', 'service_notice', 'service_request_id', 'status', 'status_notes', 'updated_datetime', 'zipcode'].sort(),
      )
      expect(typeof r.lat).toBe('number')
      expect(typeof r.long).toBe('number')
      expect(r.lat as number).toBeCloseTo(grid.lat, 6)
      expect(r.long as number).toBeCloseTo(grid.lon, 6)
      expect(r.requested_datetime).toMatch(ISO)
      expect(r.updated_datetime).toMatch(ISO)
      if (r.expected_datetime !== null) expect(r.expected_datetime).toMatch(ISO)
      expect(Math.abs(Date.parse(r.requested_datetime as string) - Date.now())).toBeLessThan(10 * 60_000)
      expect(r.status_notes).toMatch(/（reported）$/)
      // Nothing personal goes out.
      expect(JSON.stringify(r)).not.toMatch(/john|smith|111111111|smit333/)
    }

    const all = await get(base, '/open311/v2/requests.json')
    expect(all.status).toBe(200)
    const listed = (all.body as Request[]).filter((r) => r.service_request_id === made.service_request_id)
    expect(listed).toHaveLength(1)
    expectShape(listed[0]!)
    // Only public cases are listed.
    const codes = (all.body as Request[]).map((r) => r.service_request_id as string)
    const sources = await db.query<{ source: string }>(`SELECT DISTINCT source FROM cases WHERE code = ANY($1::text[])`, [codes])
    expect(sources.rows.map((x) => x.source)).toEqual(['public'])
    expect(codes.length).toBeLessThanOrEqual(1000)

    const one = await get(base, `/open311/v2/requests/${made.service_request_id}.json`)
    expect(one.status).toBe(200)
    expect(one.body).toHaveLength(1)
    expectShape((one.body as Request[])[0]!)
    expectError(await get(base, '/open311/v2/requests/C0000000000000.json'), 404, /C0000000000000/)
    // The city's own cases (patrol, sensors, …) are not public.
    const patrol = (await db.query<{ code: string }>(`SELECT code FROM cases WHERE source = 'patrol' ORDER BY id LIMIT 1`)).rows[0]!.code
    expectError(await get(base, `/open311/v2/requests/${patrol}.json`), 404, /not found/)

    // Filters.
    const has = async (query: string) => {
      const r = await get(base, `/open311/v2/requests.json?${query}`)
      expect(r.status, `${query}: ${JSON.stringify(r.body)}`).toBe(200)
      return (r.body as Request[]).some((x) => x.service_request_id === made.service_request_id)
    }
    const hour = 3_600_000
    const at = (ms: number) => new Date(Date.now() + ms).toISOString()
    expect(await has(`service_request_id=C0000000000000,${made.service_request_id}`)).toBe(true)
    // service_request_id overrides every other argument.
    expect(await has(`service_request_id=${made.service_request_id}&status=closed&service_code=${service.other}`)).toBe(true)
    expect(await has(`service_code=${service.code}`)).toBe(true)
    expect(await has(`service_code=${service.other}`)).toBe(false)
    expect(await has(`service_code=${service.other},${service.code}`)).toBe(true)
    expect(await has('status=open')).toBe(true)
    expect(await has('status=closed')).toBe(false)
    expect(await has('status=open,closed')).toBe(true)
    expect(await has(`start_date=${at(-hour)}&end_date=${at(hour)}`)).toBe(true)
    expect(await has(`start_date=${at(hour)}`)).toBe(false)
    expect(await has(`end_date=${at(-hour)}`)).toBe(false)
    expect(await has(`start_date=${encodeURIComponent(new Date(Date.now() - hour).toISOString().replace('Z', '+00:00'))}`)).toBe(true)
    expect(await has('jurisdiction_id=city.gov&status=')).toBe(true)
    expectError(await get(base, `/open311/v2/requests.json?start_date=${at(-100 * 24 * hour)}&end_date=${at(0)}`), 400, /90 days/)
    expectError(await get(base, '/open311/v2/requests.json?start_date=yesterday'), 400, /start_date/)
    expectError(await get(base, '/open311/v2/requests.json?status=pending'), 400, /status/)
  })

  it('takes an address_string alone when it names a building we know, and places the case there', async () => {
    const posted = await postForm(base, '/open311/v2/requests.json', exampleForm({ lat: undefined, long: undefined, address_string: ` ${building.address} ` }))
    expect(posted.status, JSON.stringify(posted.body)).toBe(200)
    const [made] = posted.body as { service_request_id: string }[]
    const row = (await db.query<{ grid_code: string; address: string }>(`SELECT grid_code, address FROM cases WHERE code = $1`, [made.service_request_id])).rows[0]!
    expect(row).toEqual({ grid_code: building.grid, address: building.address })
  })

  it('refuses bad input in the spec error format and makes no case', async () => {
    const before = await ours()
    const post = (form: string, contentType?: string) => postForm(base, '/open311/v2/requests.json', form, { contentType })
    expectError(await post(exampleForm({ service_code: undefined, description: `no service ${run}` })), 400, /service_code was not provided/)
    expectError(await post(exampleForm({ service_code: '', description: `empty service ${run}` })), 400, /service_code was not provided/)
    expectError(await post(exampleForm({ lat: undefined, long: undefined, address_string: undefined, description: `nowhere ${run}` })), 400, /location was not provided/)
    expectError(await post(exampleForm({ long: undefined, address_string: undefined, description: `half a point ${run}` })), 400, /lat and long/)
    expectError(await post(exampleForm({ lat: 'north', description: `bad lat ${run}` })), 400, /lat must be a number/)
    expectError(await post(exampleForm({ lat: undefined, long: undefined, address_string: `无此地址 ${run}`, description: `unknown address ${run}` })), 400, /not a building or place we know/)
    expectError(await post(exampleForm({ lat: String(SEA.lat), long: String(SEA.long), description: `at sea ${run}` })), 400, /grid/)
    expectError(await post(exampleForm({ service_code: 'NOPE', description: `unknown service ${run}` })), 404, /service_code NOPE was not found/)
    expectError(await post(exampleForm({ api_key: 'wrong', description: `bad key ${run}` })), 403, /api_key/)
    expectError(await post(exampleForm({ api_key: undefined, description: `no key ${run}` })), 403, /api_key was not provided/)
    expectError(await post(exampleForm({ media_url: 'javascript:alert(1)', description: `bad media ${run}` })), 400, /media_url/)
    expectError(await post(exampleForm({ description: `${'长'.repeat(4001)} ${run}` })), 400, /description: at most 4000/)
    expectError(await post(JSON.stringify({ api_key: KEY, service_code: service.code, lat: grid.lat, long: grid.lon, description: `json ${run}` }), 'application/json'), 400, /x-www-form-urlencoded/)
    expectError(await postForm(base, '/open311/v2/requests.xml', exampleForm({ description: `xml ${run}` })), 400, /JSON only/)
    expect(await ours()).toBe(before)
  })
})

describe('Open311 rate limit', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer({ env: { ONEGRID_OPEN311_RATE: '3', ONEGRID_OPEN311_READ_RATE: '5' } })
  }, 120_000)
  afterAll(async () => {
    await s?.close()
  })

  it('answers 429 with Retry-After past the per-address limit, for POSTs and GETs separately, and not for another address', async () => {
    // Bad posts count too (no service_code: 400, nothing made).
    for (let i = 0; i < 3; i++) expect((await postForm(s.url, '/open311/v2/requests.json', 'description=x')).status).toBe(400)
    const over = await postForm(s.url, '/open311/v2/requests.json', 'description=x')
    expectError(over, 429, /at most 3 reports a minute/)
    const retry = Number(over.headers['retry-after'])
    expect(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${over.headers['retry-after']}`).toBe(true)
    // Reads have their own allowance.
    for (let i = 0; i < 5; i++) expect((await get(s.url, '/open311/v2/services.json')).status).toBe(200)
    const readOver = await get(s.url, '/open311/v2/services.json')
    expectError(readOver, 429, /at most 5 reads a minute/)
    expect(Number(readOver.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    // Another client address (the whole of 127/8 is this machine) has its own count.
    expect((await postForm(s.url, '/open311/v2/requests.json', 'description=x', { localAddress: '127.0.0.2' })).status).toBe(400)
  })
})
