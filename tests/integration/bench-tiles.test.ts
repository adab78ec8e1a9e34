/**
 * `npm run bench:tiles` stays runnable: the benchmark in --quick mode on the embedded backend (a
 * copy of the seeded test template) and, with TEST_DATABASE_URL, on a fresh PostGIS database it
 * creates and seeds itself. Checks that the table, the targets and the JSON results come out and
 * that every measurement was what it claims (cold requests were cache misses, no failed rows) —
 * not the speeds.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
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

async function bench(args: string[]): Promise<{ stdout: string; result: Result; out: string }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-bench-out-'))
  const { stdout } = await run(tsx, ['bench/tiles.ts', '--quick', `--out=${out}`, ...args], {
    cwd: projectRoot,
    env: { ...process.env, ONEGRID_SEED_PASSWORD: TEST_PASSWORD, BENCH_LOG_LEVEL: 'warn' },
    // Generous: a busy CI machine; the test is about the bench running, not its speed.
    timeout: BENCH_TIMEOUT,
    maxBuffer: 16 * 1024 * 1024,
  })
  const backend = args.find((a) => a.startsWith('--backend='))!.slice('--backend='.length)
  const result = JSON.parse(fs.readFileSync(path.join(out, `tiles-${backend}.json`), 'utf8')) as Result
  return { stdout, result, out }
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

describe('npm run bench:tiles --quick', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  it('embedded: prints the table and targets and writes the JSON results', async () => {
    const data = embeddedDataDir()
    cleanups.push(data.cleanup)
    expect(data.dir, 'the seeded test template (tests/helpers/global-setup.ts)').not.toBe('memory://')
    const { stdout, result, out } = await bench(['--backend=embedded', `--data-dir=${data.dir}`])
    cleanups.push(() => fs.rmSync(out, { recursive: true, force: true }))
    checkRun(stdout, result, 'embedded')
    // Embedded figures are information only: the targets are for PostgreSQL.
    expect(stdout).toContain('info only: the targets are for PostgreSQL')
  }, BENCH_TIMEOUT + 10_000)

  it.skipIf(!process.env.TEST_DATABASE_URL)('postgres: creates and seeds its database, prints the table and writes the JSON results', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!)
    const name = `onegrid_bench_t_${process.pid}_${Date.now()}`
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await c.end()
      }
    })
    url.pathname = `/${name}`
    const { stdout, result, out } = await bench(['--backend=postgres', `--database-url=${url.toString()}`])
    cleanups.push(() => fs.rmSync(out, { recursive: true, force: true }))
    checkRun(stdout, result, 'postgres')
    expect(stdout).toContain('(native MVT')
  }, BENCH_TIMEOUT + 10_000)
})
