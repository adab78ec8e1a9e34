/**
 * The PostGIS database of TEST_DATABASE_URL, which every PostGIS test server shares. Seeding it
 * (the demo city, as the first server start would) is mostly the database server's work, so
 * global setup starts it in a child process at once and lets it run beside the embedded template
 * build and the first test files instead of inside the first PostGIS test's hook. Meanwhile global
 * setup holds a session advisory lock on that database; test servers take it shared before they
 * start (waitForSharedSeed), so none sees the database half seeded (say, before its ANALYZE).
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import pg from 'pg'
import { projectRoot } from '../../server/config.ts'
import { TEST_ANCHOR, TEST_PASSWORD, TEST_SEED } from './constants.ts'

/** Advisory lock key held while the shared database is being seeded (the server's own are 7142001…7142004). */
const SEEDING_LOCK = 7142090

/**
 * Takes the seeding lock, then runs `npm run seed`'s CLI on `url` with the test servers' seed
 * settings (tests/helpers/server.ts startTestServer); resolves once the lock is held. `done`
 * settles when the seeding has ended and the lock is released; it never rejects: a failure is
 * printed, and the first PostGIS test server then fails seeding with the same error itself.
 */
export async function startSharedSeed(url: string): Promise<{ done: Promise<void> }> {
  const lock = new pg.Client({ connectionString: url })
  // A dropped connection only ends the lock early; the seeding itself goes on.
  lock.on('error', (err) => console.error(`[tests] the shared database's seeding lock connection failed: ${err.message}`))
  try {
    await lock.connect()
    await lock.query('SELECT pg_advisory_lock($1)', [SEEDING_LOCK])
  } catch (err) {
    await lock.end().catch(() => {})
    throw new Error(`TEST_DATABASE_URL: cannot reach the PostGIS database to seed it (${(err as Error).message})`)
  }
  const started = Date.now()
  const done = new Promise<string>((resolve, reject) => {
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
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`exit code ${code}: ${output.trim()}`))))
  })
    .then(
      (output) => console.log(`[tests] shared PostGIS database ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${output.trim() || 'no output'})`),
      (err: Error) => console.error(`[tests] seeding the shared PostGIS database failed: ${err.message}`),
    )
    .finally(() => lock.end().catch(() => {}))
  return { done }
}

/** Waits until no global setup is seeding the database of `url` (at once when none is). */
export async function waitForSharedSeed(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    await c.query('SELECT pg_advisory_lock_shared($1)', [SEEDING_LOCK])
  } finally {
    await c.end()
  }
}
