import fs from 'node:fs'
import path from 'node:path'
import { PGlite, type Transaction } from '@electric-sql/pglite'
import { postgis } from '@electric-sql/pglite-postgis'
import { StartupError, type Db, type Queryable, type QueryResult } from './types.ts'

function wrap(q: PGlite | Transaction): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
      const r = await q.query<T>(sql, params)
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length }
    },
    async exec(sql: string) {
      await q.exec(sql)
    },
  }
}

function checkWritable(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true })
    const probe = path.join(dir, `.write-test-${process.pid}`)
    fs.writeFileSync(probe, '')
    fs.unlinkSync(probe)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new StartupError(
      `data folder ${dir} is not writable (${code}): set ONEGRID_DATA_DIR to a folder this user can write, or fix its permissions`,
    )
  }
}

/** Opens (or creates) the embedded database in dataDir; `memory://` keeps it in memory (tests). */
export async function openPglite(dataDir: string): Promise<Db> {
  if (!dataDir.startsWith('memory://')) checkWritable(dataDir)
  let pg: PGlite
  try {
    pg = await PGlite.create({ dataDir, extensions: { postgis } })
    await pg.exec('CREATE EXTENSION IF NOT EXISTS postgis')
  } catch (err) {
    throw new StartupError(
      `cannot open the embedded database in ${dataDir} (${(err as Error).message}): if another OneGrid process uses this folder stop it, otherwise move the folder away to start afresh`,
    )
  }
  const base = wrap(pg)
  return {
    kind: 'embedded',
    query: base.query,
    exec: base.exec,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  }
}
