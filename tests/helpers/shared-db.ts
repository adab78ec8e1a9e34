/**
 * The PostGIS databases of a test run. Global setup seeds the database of TEST_DATABASE_URL with
 * the demo city (as the first server start would; ~15 s, in a child process so it runs beside the
 * embedded template build) and then copies it, one copy per test worker (CREATE DATABASE …
 * TEMPLATE, under a second): integration files run two at a time, and each worker's files use
 * their own copy (workerDatabaseUrl, set as TEST_DATABASE_URL by tests/helpers/worker-db.ts), so
 * a file that counts rows, compares checksums or watches events never sees another file's writes.
 * The seeded database itself is only the source of the copies; the copies are dropped at the end.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import pg from 'pg'
import { projectRoot } from '../../server/config.ts'
import { TEST_ANCHOR, TEST_PASSWORD, TEST_SEED } from './constants.ts'

/** Most test workers of any project (vitest.config.ts): one database copy each. */
export const MAX_TEST_WORKERS = 2

function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1))
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`TEST_DATABASE_URL: use a database name of lower-case letters, digits and _ (not "${name}")`)
  return name
}

/** The copy of the seeded database that test worker `poolId` (1…MAX_TEST_WORKERS) uses. */
export function workerDatabaseUrl(url: string, poolId: number): string {
  return withDatabase(url, `${databaseName(url)}_w${poolId}`)
}

/** Runs `npm run seed`'s CLI on `url` with the test servers' seed settings (tests/helpers/server.ts startTestServer). */
function seed(url: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // Only the settings startTestServer gives its servers, nothing from this shell (an
    // ONEGRID_TZ there would seed another city than the one the servers expect).
    const child = spawn(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['server/seed/cli.ts'], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: url,
        ONEGRID_SEED_PASSWORD: TEST_PASSWORD,
        ONEGRID_DEMO_SEED: String(TEST_SEED),
        ONEGRID_DEMO_ANCHOR: TEST_ANCHOR,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`seeding TEST_DATABASE_URL failed (exit code ${code}): ${output.trim()}`))))
  })
}

async function onServer<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  // The server's maintenance database: the seeded one must have no connections while it is copied.
  const c = new pg.Client({ connectionString: withDatabase(url, 'postgres') })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

/**
 * Seeds the database of `url` (a no-op when it is seeded already) and makes the workers' copies
 * afresh. Resolves with a function that drops the copies.
 */
export async function prepareSharedDatabases(url: string): Promise<() => Promise<void>> {
  const source = databaseName(url)
  const started = Date.now()
  const output = await seed(url)
  const copies = Array.from({ length: MAX_TEST_WORKERS }, (_, i) => databaseName(workerDatabaseUrl(url, i + 1)))
  const drop = () =>
    onServer(url, async (c) => {
      for (const name of copies) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    })
  await drop()
  // FILE_COPY: a copy of the files after a checkpoint, instead of WAL-logging every block.
  await onServer(url, async (c) => {
    for (const name of copies) await c.query(`CREATE DATABASE ${name} TEMPLATE ${source} STRATEGY FILE_COPY`)
  })
  console.log(`[tests] PostGIS: ${source} seeded and copied for ${copies.length} test workers in ${((Date.now() - started) / 1000).toFixed(1)} s (${output.trim() || 'no output'})`)
  return drop
}
