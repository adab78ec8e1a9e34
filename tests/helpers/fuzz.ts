/**
 * Building blocks of the fuzz test (tests/integration/fuzz.test.ts): hostile values, fast-check
 * arbitraries of bad inputs, an oracle that says whether a route's own zod schema refuses an
 * input (so a generated input is known to be invalid before it is sent), a raw HTTP sender
 * (node:http: paths, headers and bodies exactly as generated, no URL normalisation) and a
 * bounded-concurrency runner that tallies statuses per group.
 */
import http from 'node:http'
import querystring from 'node:querystring'
import fc from 'fast-check'
import type { z } from 'zod'

// ---------------------------------------------------------------------------------------------
// Hostile values

export const SQLI = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "'; DROP TABLE cases; --",
  "1; DELETE FROM users; --",
  "1' AND (SELECT 1 FROM pg_sleep(3))::text='1",
  "'; SELECT pg_sleep(3); --",
  '" OR ""="',
  "') OR ('a'='a",
  "1 UNION SELECT password_hash, username FROM users --",
  "%' OR '%'='",
  "'||(SELECT version())||'",
  "$1",
  "$$; SELECT 1; $$",
  "E'\\x27'",
  "\\'; COPY (SELECT '') TO PROGRAM 'id'; --",
  "1::int",
  "ARRAY[1,2]",
  "'); INSERT INTO audit_log DEFAULT VALUES; --",
  "admin'--",
  "1 OR 1=1",
  '*/ OR /*',
  "'; UPDATE cases SET stage='closed'; --",
  "ST_GeomFromText('POINT(0 0)')",
  "'::geometry",
]

export const TRAVERSAL = [
  '../../../../etc/passwd',
  '..\\..\\..\\windows\\win.ini',
  '....//....//....//etc/passwd',
  '/etc/passwd',
  '/proc/self/environ',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%00/etc/passwd',
  '../../package.json',
  '../.env',
  '~/.ssh/id_rsa',
  'C:\\Windows\\system32\\config\\SAM',
  '\\\\server\\share\\x',
  'file:///etc/passwd',
  './../server/config.ts',
  '..',
  '.',
  '...',
]

export const WEIRD = [
  '\u0000',
  'a\u0000b',
  '\uFFFF\uFFFE',
  '\uD800',
  '\uDFFF\uD800',
  '🙂'.repeat(40),
  '\u202Egpj.exe',
  'ｓｅｌｅｃｔ',
  '中文字段',
  '%00',
  '%',
  '%zz',
  '{{7*7}}',
  '${jndi:ldap://x/a}',
  '<script>alert(1)</script>',
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-0',
  '0x1F',
  '1_000',
  ' 1',
  '1 ',
  '',
  ' ',
  '\t\r\n',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  '-1',
  '1.5',
  '2147483648',
  '99999999999999999999',
  '9007199254740993',
  '1e3',
  '+1',
]

/** Path-segment and query values that are already percent-encoded (broken UTF-8, encoded NUL, double encoding). */
export const PRE_ENCODED = ['%FF', '%E0%A4%A', '%ED%A0%80', '%C0%AF', '%00', '%2500', '%252e%252e%252f', '%u002e', '..%c0%af..%c0%afetc%c0%afpasswd', '%2e%2e', '%5c..%5c', '%0d%0aSet-Cookie:x=1']

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SQLI) },
  { weight: 2, arbitrary: fc.constantFrom(...TRAVERSAL) },
  { weight: 3, arbitrary: fc.constantFrom(...WEIRD) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...SQLI), fc.constantFrom(...WEIRD)).map(([a, b]) => a + b) },
)

/** The size and character of a long string (made only when used: see huge()). */
export const hugeSpec = fc.record({
  n: fc.oneof(fc.integer({ min: 2_000, max: 70_000 }), fc.integer({ min: 200_000, max: 1_200_000 })),
  c: fc.constantFrom('A', "'", '中', '\u0000', '🙂'),
})
/** A long string: kilobytes to just over a megabyte (the JSON body limit is 1 MB). */
export const huge = ({ n, c }: { n: number; c: string }): string => c.repeat(Math.ceil(n / c.length))
export const hugeString: fc.Arbitrary<string> = hugeSpec.map(huge)

/** Numbers JSON can carry that no field here accepts in general: out of range, fractional, negative, huge. */
export const badNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, -(2 ** 31) - 1, 1e-320, 361, -181, 91, -91, 100_001),
  fc.double({ noNaN: true }),
  fc.integer({ min: -1e9, max: 1e9 }),
)

/** Any JSON value, often of the wrong type, sometimes deeply nested. */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: badNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.array(fc.oneof(hostileString, badNumber, fc.constant(null)), { maxLength: 5 }) },
  { weight: 2, arbitrary: fc.dictionary(hostileString, fc.oneof(hostileString, badNumber), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 3_000 }).map((d) => nested(d)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
)

/** `{"a":{"a":…}}` `depth` levels deep. */
export function nested(depth: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v]
  return v
}

/** Text that is not JSON, or JSON a server must not take as an object body. */
export const garbageJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":',
    '[1,2',
    "{'a':1}",
    '{"a":1,}',
    '{a:1}',
    'NaN',
    'undefined',
    '\uFEFF{"a":1}x',
    '\u0000',
    '{"a":"\u0000"',
    '{"__proto__":{"admin":true}',
    '}{',
    '"unterminated',
    '{"a":1}{"b":2}',
    '[' .repeat(20_000),
    '{"a":'.repeat(5_000),
    '{"a":1e999999}x',
    'true false',
    '<xml/>',
    '--boundary\r\n',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }).filter((s) => !isJson(s)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null').map((s) => s.slice(0, Math.max(1, s.length - 1)) + '\u0000'),
)

function isJson(s: string): boolean {
  try {
    JSON.parse(s)
    return true
  } catch {
    return false
  }
}

/** JSON that parses but is not an object: arrays (objects inside), scalars. */
export const nonObjectJson: fc.Arbitrary<string> = fc
  .oneof(
    fc.array(wrongTypeValue, { maxLength: 4 }),
    fc.array(fc.dictionary(fc.string({ maxLength: 8 }), wrongTypeValue, { maxKeys: 3 }), { minLength: 1, maxLength: 3 }),
    hostileString,
    badNumber,
    fc.boolean(),
    fc.constant(null),
  )
  .map((v) => JSON.stringify(v))

// ---------------------------------------------------------------------------------------------
// Encoding

/** encodeURIComponent that cannot throw (lone surrogates become U+FFFD first). */
export function enc(s: string): string {
  return encodeURIComponent(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'))
}

/** What a path segment may be sent as unencoded: printable ASCII node lets through (no '?' or '#', which end the path). */
const RAW_OK = /^[\x21-\x22\x24-\x3e\x40-\x7e]+$/

/** Ids no demo row has, though well-formed (the route must look them up and answer 404). */
const UNKNOWN_IDS = new Set(['0', '999999999', '999999998'])

/** Might name a real row: a small whole number (serial ids), however written. */
function maybeRealId(segment: string): boolean {
  let v = segment
  try {
    v = decodeURIComponent(segment)
  } catch {
    /* not decodable: the router keeps it as it is */
  }
  return /^\d{1,9}$/.test(v) && !UNKNOWN_IDS.has(v)
}

/** A bad path-parameter value as sent: percent-encoded, raw (traversal as typed), or pre-encoded nastiness; never a small whole number, which may be a real id. */
export const badSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: hostileString.filter((s) => s.length > 0).map(enc) },
  { weight: 2, arbitrary: fc.constantFrom(...TRAVERSAL, ...SQLI.map((s) => s.replace(/ /g, '%20'))).filter((s) => RAW_OK.test(s)) },
  { weight: 2, arbitrary: fc.constantFrom(...PRE_ENCODED) },
  { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 9_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('999999999', '999999998', '2147483647', '4294967296', '-1', '0', '1.0', '1e2', '0x10', '00000000001') },
).filter((v) => !maybeRealId(v))

export type Query = Record<string, string | string[]>

/** A query string exactly as Koa will parse it (node's querystring), and the parsed form for the oracle. */
export function encodeQuery(q: Query, extraRaw: string[] = []): { qs: string; parsed: querystring.ParsedUrlQuery } {
  const parts: string[] = []
  for (const [k, v] of Object.entries(q)) for (const one of Array.isArray(v) ? v : [v]) parts.push(`${enc(k)}=${enc(one)}`)
  parts.push(...extraRaw)
  const qs = parts.join('&')
  return { qs, parsed: querystring.parse(qs) }
}

// ---------------------------------------------------------------------------------------------
// The oracle: does the route's own schema refuse this input?

export function refuses(schema: z.ZodType, input: unknown): boolean {
  try {
    return !schema.safeParse(input).success
  } catch {
    // A schema that throws instead of refusing: the route fails the same way, which the fuzz is to show.
    return true
  }
}

/** As parseBody does: no JSON object, or the schema refuses it. The input is what JSON.parse gives the server. */
export function bodyRefused(schema: z.ZodType, parsed: unknown): boolean {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return true
  return refuses(schema, parsed)
}

/** The JSON a server sees for this value (NaN/Infinity become null, undefined keys vanish). */
export function roundTrip(v: unknown): unknown {
  const s = JSON.stringify(v)
  return s === undefined ? undefined : JSON.parse(s)
}

/**
 * Objects near `base` that `refused` says are bad: one to three fields replaced by a wrong value,
 * removed, or joined by an unknown field; the other string fields filled with hostile text.
 */
export function brokenObject(base: Record<string, unknown>, refused: (v: unknown) => boolean, extraKeys: string[] = []): fc.Arbitrary<Record<string, unknown>> {
  const keys = [...new Set([...Object.keys(base), ...extraKeys])]
  const edit = fc.record({
    key: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: hostileString }),
    op: fc.constantFrom('wrong', 'wrong', 'wrong', 'huge', 'delete', 'hostile'),
    value: wrongTypeValue,
    huge: hugeSpec,
  })
  return fc
    .record({ edits: fc.array(edit, { minLength: 1, maxLength: 3 }), hostileStrings: fc.boolean(), fill: hostileString })
    .map(({ edits, hostileStrings, fill }) => {
      const o: Record<string, unknown> = { ...base }
      if (hostileStrings) for (const k of Object.keys(o)) if (typeof o[k] === 'string') o[k] = fill
      for (const e of edits) {
        if (e.op === 'delete') delete o[e.key]
        else if (e.op === 'huge') o[e.key] = huge(e.huge)
        else if (e.op === 'hostile') o[e.key] = fill
        else o[e.key] = e.value
      }
      return o
    })
    .filter((o) => refused(roundTrip(o)))
}

// ---------------------------------------------------------------------------------------------
// Geometry

type Pos = [number, number]
const ring = (pts: Pos[]): Pos[] => [...pts, pts[0]]

/**
 * Polygons that are not valid: self-intersecting, unclosed, too few points, out of range, zero
 * area, spikes, huge. `maxZigzag` caps the self-intersecting zig-zags (repairing one with
 * ST_MakeValid costs time growing with the square of its vertices).
 */
export function invalidPolygons(center: Pos, maxZigzag = 100_000): fc.Arbitrary<{ type: string; coordinates: unknown; why: string }> {
  const [x, y] = center
  const d = 0.002
  const bowtie = ring([[x, y], [x + d, y + d], [x + d, y], [x, y + d]])
  return fc.oneof(
    fc.constant({ type: 'Polygon', coordinates: [bowtie], why: 'self-intersecting bow-tie' }),
    fc.constant({ type: 'Polygon', coordinates: [[[x, y], [x + d, y], [x + d, y + d], [x, y + d]]], why: 'unclosed ring' }),
    fc.constant({ type: 'Polygon', coordinates: [[[x, y], [x + d, y], [x, y]]], why: 'ring of 3 positions' }),
    fc.constant({ type: 'Polygon', coordinates: [ring([[x, y], [x + d, y], [x + 2 * d, y]])], why: 'zero area' }),
    fc.constant({ type: 'Polygon', coordinates: [ring([[x, y], [x + d, y], [x + d, y + d], [x + d, y], [x, y + d]])], why: 'spike (repeated edge)' }),
    fc.constant({ type: 'Polygon', coordinates: [ring([[x, y], [x + d, y], [x + d, y + d], [x, y + d]]), ring([[x + 2 * d, y], [x + 3 * d, y], [x + 3 * d, y + d]])], why: 'hole outside the shell' }),
    fc.constant({ type: 'Polygon', coordinates: [ring([[500, 100], [501, 100], [501, 101]])], why: 'lon/lat out of range' }),
    fc.constant({ type: 'Polygon', coordinates: [[[x, y], [null, 'a'], [x + d, y + d], [x, y]]], why: 'non-numeric coordinates' }),
    fc.constant({ type: 'Polygon', coordinates: [], why: 'no rings' }),
    fc.constant({ type: 'Polygon', coordinates: 'POLYGON((0 0, 1 1))', why: 'WKT string as coordinates' }),
    fc.constant({ type: 'Circle', coordinates: [x, y], why: 'unknown geometry type' }),
    fc.constant({ type: 'Polygon', coordinates: [[[x, y, 1, 2, 3]]], why: 'positions of 5 numbers' }),
    fc.integer({ min: 10_001, max: 40_000 }).map((n) => Math.min(n, maxZigzag)).map((n) => ({ type: 'Polygon', coordinates: [zigzag(center, n)], why: `${n}-vertex self-intersecting zig-zag` })),
    fc.constant(Math.min(100_000, maxZigzag)).map((n) => ({ type: 'Polygon', coordinates: [zigzag(center, n)], why: `${n}-vertex self-intersecting zig-zag` })),
    fc.integer({ min: 20, max: 2_000 }).map((n) => Math.min(n, maxZigzag)).map((n) => ({ type: 'Polygon', coordinates: [zigzag(center, n)], why: `${n}-vertex self-intersecting zig-zag` })),
  )
}

/** A valid polygon of n vertices (a circle), for size rather than shape. */
export function circle([x, y]: Pos, n: number, r = 0.01): { type: string; coordinates: Pos[][] } {
  const pts: Pos[] = []
  for (let i = 0; i < n - 1; i++) pts.push([Math.round((x + r * Math.cos((2 * Math.PI * i) / (n - 1))) * 1e7) / 1e7, Math.round((y + r * Math.sin((2 * Math.PI * i) / (n - 1))) * 1e7) / 1e7])
  pts.push(pts[0])
  return { type: 'Polygon', coordinates: [pts] }
}

/** A closed ring of n positions that crosses itself over and over. */
export function zigzag([x, y]: Pos, n: number): Pos[] {
  const pts: Pos[] = []
  for (let i = 0; i < n - 1; i++) pts.push([Math.round((x + (i % 2 ? 0.01 : -0.01) + (i * 1e-7)) * 1e6) / 1e6, Math.round((y + (i % 3) * 0.001) * 1e6) / 1e6])
  pts.push(pts[0])
  return pts
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  status: number
  body: string
  headers: http.IncomingHttpHeaders
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

/**
 * One request with node:http: the path is sent as given (no normalisation of `..`), the body as
 * given. A connection the server closes after answering early (413) still yields its answer; a
 * connection closed with no answer at all is status 0.
 */
export function send(base: URL, method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve) => {
    let done = false
    const finish = (r: Reply) => {
      if (!done) {
        done = true
        resolve(r)
      }
    }
    const data = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body
    let req: http.ClientRequest
    try {
      req = http.request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path,
          agent: data && data.length > 512 * 1024 ? false : agent,
          headers: { ...(data ? { 'content-length': String(data.length) } : {}), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            if (size < 4096) chunks.push(c)
            size += c.length
          })
          res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096), headers: res.headers }))
          res.on('error', () => finish({ status: res.statusCode ?? 0, body: '', headers: res.headers }))
        },
      )
    } catch (err) {
      // node refuses to send it at all (e.g. a character not allowed in a header): no request was made.
      finish({ status: -1, body: (err as Error).message, headers: {} })
      return
    }
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')))
    req.on('error', (err) => finish({ status: 0, body: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`, headers: {} }))
    req.end(data)
  })
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

// ---------------------------------------------------------------------------------------------
// Tally

export class Tally {
  readonly byGroup = new Map<string, { inputs: number; statuses: Map<string, number> }>()
  readonly byRoute = new Map<string, number>()
  readonly failures: string[] = []

  add(group: string, route: string, status: string): void {
    let g = this.byGroup.get(group)
    if (!g) this.byGroup.set(group, (g = { inputs: 0, statuses: new Map() }))
    g.inputs++
    g.statuses.set(status, (g.statuses.get(status) ?? 0) + 1)
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1)
  }

  fail(message: string): void {
    if (this.failures.length < 200) this.failures.push(message)
  }

  get total(): number {
    let n = 0
    for (const g of this.byGroup.values()) n += g.inputs
    return n
  }

  table(): string {
    const rows = [...this.byGroup.entries()].map(([group, g]) => [
      group,
      String(g.inputs),
      [...g.statuses.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([s, n]) => `${s}×${n}`)
        .join(' '),
    ])
    rows.push(['total', String(this.total), ''])
    const w0 = Math.max(5, ...rows.map((r) => r[0].length))
    const w1 = Math.max(6, ...rows.map((r) => r[1].length))
    return [`${'group'.padEnd(w0)}  ${'inputs'.padStart(w1)}  statuses`, ...rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`)].join('\n')
  }
}
