/**
 * Setup file of the integration and e2e projects: a copy of the seeded PostGIS database of this
 * test process's own as TEST_DATABASE_URL (tests/helpers/shared-db.ts), before the test file is
 * loaded. The copy is claimed with a session advisory lock held until the process exits, so two
 * files running at once never share one, whatever worker ids the runner hands out.
 */
import pg from 'pg'
import { MAX_TEST_WORKERS, workerDatabaseUrl } from './shared-db.ts'

const url = process.env.TEST_DATABASE_URL
// Once per process: a second file in the same process keeps the copy it has.
if (url && !process.env.ONEGRID_TEST_DATABASE_SOURCE) {
  const maintenance = new URL(url)
  maintenance.pathname = '/postgres'
  const lock = new pg.Client({ connectionString: maintenance.toString() })
  await lock.connect()
  // Held for the process's life; the socket must not keep the process alive after its tests.
  ;(lock as unknown as { connection: { stream: { unref(): void } } }).connection.stream.unref()
  lock.on('error', () => {})
  const started = Date.now()
  let claimed = 0
  while (!claimed) {
    for (let i = 1; i <= MAX_TEST_WORKERS && !claimed; i++) {
      const key = `onegrid-test-copy:${new URL(workerDatabaseUrl(url, i)).pathname}`
      const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key])
      if (rows[0].ok) claimed = i
    }
    if (!claimed) {
      if (Date.now() - started > 600_000) throw new Error(`no free copy of the test database after 10 min (${MAX_TEST_WORKERS} copies)`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  process.env.ONEGRID_TEST_DATABASE_SOURCE = url
  process.env.TEST_DATABASE_URL = workerDatabaseUrl(url, claimed)
}
