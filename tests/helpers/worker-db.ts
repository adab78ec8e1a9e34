/**
 * Setup file of the integration and e2e projects: this worker's own copy of the seeded PostGIS
 * database as TEST_DATABASE_URL (tests/helpers/shared-db.ts), before the test file is loaded.
 */
import { MAX_TEST_WORKERS, workerDatabaseUrl } from './shared-db.ts'

const url = process.env.TEST_DATABASE_URL
const poolId = Number(process.env.VITEST_POOL_ID ?? '1')
if (!Number.isInteger(poolId) || poolId < 1 || poolId > MAX_TEST_WORKERS) throw new Error(`test worker ${process.env.VITEST_POOL_ID} has no database copy: raise MAX_TEST_WORKERS in tests/helpers/shared-db.ts`)
// Set once per worker process: a second file in the same process finds it rewritten already.
if (url && !process.env.ONEGRID_TEST_DATABASE_SOURCE) {
  process.env.ONEGRID_TEST_DATABASE_SOURCE = url
  process.env.TEST_DATABASE_URL = workerDatabaseUrl(url, poolId)
}
