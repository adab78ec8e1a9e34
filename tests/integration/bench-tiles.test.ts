/**
 * `npm run bench:tiles` stays runnable: the benchmark in --quick mode on the embedded backend (a
 * copy of the seeded test template) and, with TEST_DATABASE_URL, on that PostGIS database — the
 * demo city every PostGIS test server shares, already seeded (or seeded by the bench if not). The
 * two runs go side by side: one is mostly this machine's PGlite, the other the database server.
 * Checks that the table, the targets and the JSON results come out and that every measurement was
 * what it claims (cold requests were cache misses, no failed rows) — not the speeds; and that the
 * bench creates a database that does not exist yet (bench/lib.ts ensureDatabase).
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureDatabase } from '../../bench/lib.ts'
import { projectRoot } from '../../server/config.ts'
import { embeddedDataDir, TEST_PASSWORD } from '../helpers/server.ts'

const run = promisify(execFile)
const BENCH_TIMEOUT = 200_000
const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx')

interface Result {
  backend: string
  quick: boolean
  rows: {
    layer: string
    z: number
    tiles: number
    raw: { p50: number; p95: number }
    cold: { p50: number; p95: number }
    coldRatio: number
    cachedRps: number
    staticRps: number
    maxBytes: number
    anomalies: string[]
  }[]
  failures: string[]
  around: { points: number; raw: { p50: number }; http: { p50: number; p95: number }; anomalies: string[] }
  targets: { name: string; pass: boolean | null }[]
}

async function bench(args: string[], env: Record<string, string>): Promise<{ stdout: string; result: Result; out: string }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-bench-out-'))
  try {
    const { stdout } = await run(tsx, ['bench/tiles.ts', '--quick', `--out=${out}`, ...args], {
      cwd: projectRoot,
      // The embedded MQTT broker on any free port: the two runs at once would both want 1884.
      env: { ...process.env, ONEGRID_SEED_PASSWORD: TEST_PASSWORD, BENCH_LOG_LEVEL: 'warn', ONEGRID_MQTT_PORT: '0', ...env },
      // Generous: a busy CI machine; the test is about the bench running, not its speed.
      timeout: BENCH_TIMEOUT,
      maxBuffer: 16 * 1024 * 1024,
    })
    const backend = args.find((a) => a.startsWith('--backend='))!.slice('--backend='.length)
    const result = JSON.parse(fs.readFileSync(path.join(out, `tiles-${backend}.json`), 'utf8')) as Result
    return { stdout, result, out }
  } catch (err) {
    fs.rmSync(out, { recursive: true, force: true })
    throw err
  }
}

function checkRun(stdout: string, result: Result, backend: string): void {
  expect(stdout).toContain(`== ${backend} (`)
  for (const col of ['layer', 'raw ms p50/p95', 'cold ms p50/p95', 'cold÷raw', 'cached rps', 'static rps', 'cached÷static', 'max KB']) expect(stdout).toContain(col)
  expect(stdout).toContain('around-incident')
  expect(stdout.match(/^ {2}(PASS|MISS| n\/a) {2}/gm)).toHaveLength(5)

  expect(result.backend).toBe(backend)
  expect(result.quick).toBe(true)
  expect(result.failures).toEqual([])
  // Every catalog layer the admin sees, at the quick zooms it has: the grids at least.
  expect(result.rows.map((r) => r.layer)).toContain('grids')
  for (const r of result.rows) {
    expect(r.anomalies, `${r.layer} z${r.z}`).toEqual([])
    expect(r.tiles).toBeGreaterThan(0)
    for (const v of [r.raw.p50, r.raw.p95, r.cold.p50, r.cold.p95, r.coldRatio]) expect(Number.isFinite(v) && v > 0, `${r.layer} z${r.z}`).toBe(true)
    expect(r.cachedRps).toBeGreaterThan(0)
    expect(r.staticRps).toBeGreaterThan(0)
    expect(r.maxBytes).toBeGreaterThanOrEqual(0)
    // The table has the row.
    expect(stdout).toMatch(new RegExp(`^${r.layer} +${r.z} `, 'm'))
  }
  // Some tile has features: the bench measured real tiles, not only empty ones.
  expect(Math.max(...result.rows.map((r) => r.maxBytes))).toBeGreaterThan(0)
  expect(result.around.points).toBeGreaterThan(0)
  expect(result.around.anomalies).toEqual([])
  expect(result.around.http.p95).toBeGreaterThan(0)
  expect(result.targets).toHaveLength(5)
}

type Run = Awaited<ReturnType<typeof bench>>

describe('npm run bench:tiles --quick', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  const url = process.env.TEST_DATABASE_URL
  let embedded: Promise<Run>
  let postgres: Promise<Run> | undefined
  const keep = (run: Promise<Run>) => {
    // Awaited by its test; cleaned up whatever happens (and no unhandled rejection meanwhile).
    run.then(({ out }) => cleanups.push(() => fs.rmSync(out, { recursive: true, force: true }))).catch(() => {})
    return run
  }

  beforeAll(async () => {
    const data = embeddedDataDir()
    cleanups.push(data.cleanup)
    expect(data.dir, 'the seeded test template (tests/helpers/global-setup.ts)').not.toBe('memory://')
    // No simulator and no periodic jobs, as in every test server: moving workers would turn the
    // live layers' repeated requests into cache misses (an anomaly), and on the shared database
    // overdue marks or offline alarms would change the demo city under the files that come later.
    const quiet = { ONEGRID_SIMULATE: 'off', ONEGRID_JOBS: 'off' }
    embedded = keep(bench(['--backend=embedded', `--data-dir=${data.dir}`], quiet))
    if (url) {
      postgres = keep(bench(['--backend=postgres', `--database-url=${url}`], quiet))
    }
  })
  afterAll(async () => {
    await Promise.allSettled([embedded, postgres])
    for (const c of cleanups.reverse()) await c()
  })

  it('embedded: prints the table and targets and writes the JSON results', async () => {
    const { stdout, result } = await embedded
    checkRun(stdout, result, 'embedded')
    // Embedded figures are information only: the targets are for PostgreSQL.
    expect(stdout).toContain('info only: the targets are for PostgreSQL')
  }, BENCH_TIMEOUT + 10_000)

  it.skipIf(!url)('postgres: on the shared test database, prints the table and writes the JSON results', async () => {
    const { stdout, result } = await postgres!
    checkRun(stdout, result, 'postgres')
    expect(stdout).toContain('(native MVT')
  }, BENCH_TIMEOUT + 10_000)

  it.skipIf(!url)('creates its database when it does not exist', async () => {
    const u = new URL(url!)
    const name = `onegrid_bench_t_${process.pid}_${Date.now()}`
    u.pathname = `/${name}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      const exists = async () => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount
      expect(await exists()).toBe(0)
      await ensureDatabase(u.toString())
      expect(await exists()).toBe(1)
      // Again: the database is there, nothing to do.
      await ensureDatabase(u.toString())
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  })
})
