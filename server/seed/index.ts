import type { Config } from '../config.ts'
import type { Db } from '../db/index.ts'
import type { Logger } from '../log.ts'
import { seedGeography } from './geography.ts'
import { localMidnight, seedObjects } from './objects.ts'
import { DEMO_USERS, seedUsers } from './users.ts'

export interface SeedSettings {
  seedPassword?: string
  /** Random seed of the demo city (ONEGRID_DEMO_SEED). */
  seed: number
  /** The day the history ends, YYYY-MM-DD (ONEGRID_DEMO_ANCHOR); default today in tz. */
  anchor?: string
  tz: string
  log: Logger
}

/** 00:00 in tz of a YYYY-MM-DD day, or of today. */
export function anchorDate(anchor: string | undefined, tz: string): Date {
  if (!anchor) return localMidnight(new Date(), tz)
  // Noon UTC of that day lies inside the same local day for any zone within ±12 h.
  return localMidnight(new Date(`${anchor}T12:00:00Z`), tz)
}

/** The seed settings of a configuration. */
export function seedSettings(config: Config, log: Logger): SeedSettings {
  return { seedPassword: config.ONEGRID_SEED_PASSWORD, seed: config.ONEGRID_DEMO_SEED, anchor: config.ONEGRID_DEMO_ANCHOR, tz: config.ONEGRID_TZ, log }
}

/**
 * First start: build the demo city (geography, then objects and their history) and the demo
 * accounts — each step only on a database that does not have it yet.
 */
export async function ensureSeeded(db: Db, opts: SeedSettings): Promise<void> {
  const t = Date.now()
  const geo = await seedGeography(db, (msg) => opts.log.debug(msg))
  if (geo) opts.log.info({ ...geo, ms: Date.now() - t }, 'seeded the demo city geography')
  const t2 = Date.now()
  const objects = await seedObjects(db, { seed: opts.seed, anchor: anchorDate(opts.anchor, opts.tz), tz: opts.tz, log: (msg) => opts.log.debug(msg) })
  if (Object.keys(objects).length) opts.log.info({ ...objects, ms: Date.now() - t2 }, 'seeded the demo city objects and history')
  if (geo || Object.keys(objects).length) {
    // Fresh tables have no statistics until autovacuum comes by (PGlite has none): without them
    // the planner takes the case record for empty and the indicators take 30 s instead of 1.
    const t3 = Date.now()
    await db.query('ANALYZE')
    opts.log.debug(`analyzed the seeded tables in ${Date.now() - t3} ms`)
  }
  const users = await seedUsers(db, opts.seedPassword)
  if (users.created && users.generated) {
    // Printed once, on the console, never logged to a file by us and never stored in clear.
    process.stdout.write(
      `\n  Demo accounts created: ${DEMO_USERS.map((u) => u.username).join(', ')}\n  Their password (shown only now): ${users.password}\n  Set ONEGRID_SEED_PASSWORD before the first start to choose it.\n\n`,
    )
  } else if (users.created) {
    opts.log.info('demo accounts created with the password from ONEGRID_SEED_PASSWORD')
  }
}
