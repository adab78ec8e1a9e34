import type { Config } from '../config.ts'
import { openPglite } from './pglite.ts'
import { openPostgres } from './postgres.ts'
import type { Db } from './types.ts'

export type { Db, Queryable, QueryResult } from './types.ts'
export { StartupError } from './types.ts'

/** The real server when DATABASE_URL is set, otherwise the embedded database in ONEGRID_DATA_DIR. */
export function openDb(config: Pick<Config, 'DATABASE_URL' | 'ONEGRID_DATA_DIR'>): Promise<Db> {
  return config.DATABASE_URL ? openPostgres(config.DATABASE_URL) : openPglite(config.ONEGRID_DATA_DIR)
}
