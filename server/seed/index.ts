import type { Db } from '../db/index.ts'
import type { Logger } from '../log.ts'
import { seedGeography } from './geography.ts'
import { seedUsers } from './users.ts'

export interface SeedSettings {
  seedPassword?: string
  log: Logger
}

/** First start: build the demo city and the demo accounts if the database has none. */
export async function ensureSeeded(db: Db, opts: SeedSettings): Promise<void> {
  const t = Date.now()
  const geo = await seedGeography(db, (msg) => opts.log.debug(msg))
  if (geo) opts.log.info({ ...geo, ms: Date.now() - t }, 'seeded the demo city geography')
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
