import pg from 'pg'
import type { Db } from '../../server/db/index.ts'
import { openPglite } from '../../server/db/pglite.ts'
import { openPostgres } from '../../server/db/postgres.ts'

export interface FreshDatabase {
  db: Db
  /** Closes the connection and, on a server, drops the database. */
  drop(): Promise<void>
}

let counter = 0

/**
 * An empty database with PostGIS: PGlite in memory, or a new database on the server of
 * TEST_DATABASE_URL (dropped afterwards), so tests that seed do not collide.
 */
export async function freshDatabase(backend: 'embedded' | 'postgres'): Promise<FreshDatabase> {
  if (backend === 'embedded') {
    const db = await openPglite('memory://')
    return { db, drop: () => db.close() }
  }
  const url = process.env.TEST_DATABASE_URL
  if (!url) throw new Error('TEST_DATABASE_URL is not set')
  const name = `onegrid_t_${process.pid}_${Date.now()}_${counter++}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const u = new URL(url)
  u.pathname = `/${name}`
  const db = await openPostgres(u.toString())
  return {
    db,
    async drop() {
      await db.close()
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}
