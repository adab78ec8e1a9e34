import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
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
 * An empty database with PostGIS: PGlite in a temporary copy of the empty data folder global setup
 * made (ONEGRID_TEST_BLANK; in memory without one — PGlite's initdb then takes 10–25 s), or a new
 * database on the server of TEST_DATABASE_URL (dropped afterwards), so tests that seed do not collide.
 */
export async function freshDatabase(backend: 'embedded' | 'postgres'): Promise<FreshDatabase> {
  if (backend === 'embedded') {
    const blank = process.env.ONEGRID_TEST_BLANK
    if (!blank || !fs.existsSync(blank)) {
      const db = await openPglite('memory://')
      return { db, drop: () => db.close() }
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-fresh-'))
    let db: Db
    try {
      fs.cpSync(blank, dir, { recursive: true })
      db = await openPglite(dir)
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true })
      throw err
    }
    return {
      db,
      async drop() {
        await db.close()
        fs.rmSync(dir, { recursive: true, force: true })
      },
    }
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
