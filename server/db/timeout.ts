import { HttpError } from '../http/errors.ts'
import type { Db, Queryable } from './types.ts'

/**
 * Runs fn with a statement timeout on the postgres backend (SET LOCAL inside a read
 * transaction); a query that runs out of time is a 503 saying `tooLong`, not a generic failure.
 * The embedded database has no timeout (one process, one user).
 */
export async function withStatementTimeout<T>(db: Db, timeoutMs: number, tooLong: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
  try {
    if (db.kind !== 'postgres') return await fn(db)
    return await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL statement_timeout = ${Math.round(timeoutMs)}`)
      return fn(tx)
    })
  } catch (err) {
    if ((err as { code?: string }).code === '57014') throw new HttpError(503, tooLong, 'timeout')
    throw err
  }
}
