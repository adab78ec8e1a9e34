/**
 * `npm run audit:verify` — checks the audit log's hash chain (docs/audit.md) in the database the
 * server is configured with (DATABASE_URL, or the embedded one in ONEGRID_DATA_DIR; stop the
 * server first for the embedded one, which one process opens at a time).
 *
 * Prints the number of rows checked, then `audit chain OK` (exit 0) or the first broken row's id
 * and why (exit 1). Exit 2: the database could not be opened or has no audit log.
 */
import { ConfigError, loadConfig } from '../config.ts'
import { openDb, StartupError, type Db } from '../db/index.ts'
import { verify } from './log.ts'

async function run(): Promise<number> {
  let db: Db
  try {
    db = await openDb(loadConfig())
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartupError) {
      console.error(`audit:verify: ${err.message}`)
      return 2
    }
    throw err
  }
  try {
    const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('audit_log')::text AS t`)
    if (!exists.rows[0]?.t) {
      console.error('audit:verify: this database has no audit_log table: start the server once so that it migrates')
      return 2
    }
    const started = Date.now()
    const result = await verify(db)
    const secs = ((Date.now() - started) / 1000).toFixed(1)
    console.log(`checked ${result.rows} rows of the audit log in ${secs} s`)
    if (result.ok) {
      console.log(result.lastId === undefined ? 'audit chain OK (the log is empty)' : `audit chain OK: last row ${result.lastId}, hash ${result.lastHash}`)
      return 0
    }
    console.log(`audit chain BROKEN at row ${result.firstBroken!.id}: ${result.firstBroken!.reason}`)
    if (result.lastId !== undefined) console.log(`rows up to ${result.lastId} are intact (hash ${result.lastHash})`)
    return 1
  } finally {
    await db.close()
  }
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`audit:verify: ${(err as Error).message}`)
    process.exit(2)
  },
)
