import pg from 'pg'
import { StartupError, type Db, type Queryable, type QueryResult } from './types.ts'

function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 5432}${u.pathname}`
  } catch {
    return 'the given URL'
  }
}

/** A pg pool, pooled client or plain client as our Queryable (the backup tool wraps its own client with it). */
export function wrap(c: pg.Pool | pg.PoolClient | pg.Client): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
      const r = await c.query(sql, params)
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length }
    },
    async exec(sql: string) {
      await c.query(sql)
    },
  }
}

/** Connects a pool to a real PostgreSQL server and makes sure PostGIS is there. */
export async function openPostgres(url: string, poolSize = 10): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 })
  // An idle client that loses its server must not crash the process.
  pool.on('error', () => {})
  const where = describeUrl(url)
  try {
    await pool.query('SELECT 1')
  } catch (err) {
    await pool.end().catch(() => {})
    throw new StartupError(
      `cannot connect to the database in DATABASE_URL (${where}): ${(err as Error).message} — check that PostgreSQL is running and the URL, user and database name are right`,
    )
  }
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS postgis')
    await pool.query('SELECT postgis_lib_version()')
  } catch (err) {
    await pool.end().catch(() => {})
    throw new StartupError(
      `the database in DATABASE_URL (${where}) has no PostGIS: ${(err as Error).message} — install PostGIS on the server (Debian: apt-get install postgresql-15-postgis-3) and run CREATE EXTENSION postgis as a superuser`,
    )
  }
  const base = wrap(pool)
  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    async transaction(fn) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const out = await fn(wrap(client))
        await client.query('COMMIT')
        return out
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        client.release()
      }
    },
    close: () => pool.end(),
  }
}
