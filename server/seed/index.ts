import type { Db } from '../db/index.ts'
import type { Logger } from '../log.ts'
import { seedSkeleton } from './skeleton.ts'
import { seedUsers } from './users.ts'

/** First start: build the demo hierarchy and the demo accounts if the database has none. */
export async function ensureSeeded(db: Db, opts: { seedPassword?: string; log: Logger }): Promise<void> {
  const t = Date.now()
  const r = await seedSkeleton(db)
  if (r.units > 0) opts.log.info({ ...r, ms: Date.now() - t }, 'seeded the demo admin/grid hierarchy')
  const users = await seedUsers(db, opts.seedPassword)
  if (users.created && users.generated) {
    // Printed once, on the console, never logged to a file by us and never stored in clear.
    process.stdout.write(
      `\n  Demo accounts created: admin, dispatcher, leader, supervisor, wall\n  Their password (shown only now): ${users.password}\n  Set ONEGRID_SEED_PASSWORD before the first start to choose it.\n\n`,
    )
  } else if (users.created) {
    opts.log.info('demo accounts created with the password from ONEGRID_SEED_PASSWORD')
  }
}
