import type { Queryable } from './types.ts'

/** Tables of the schema that are not data of ours (PostGIS's own, the migration ledger). */
const NOT_DATA = new Set(['spatial_ref_sys', 'schema_migrations'])

/** The public tables holding data, by name. */
export async function dataTables(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  )
  return rows.map((r) => r.name).filter((n) => !NOT_DATA.has(n))
}

/**
 * Row count and an md5 over every row's text form (in sorted order, so neither physical order
 * nor ids handed out in another order change it) of each table: equal checksums mean equal data.
 * `tables` defaults to every data table. Each row is hashed first and the hashes sorted in the "C"
 * collation: the result depends neither on the database's collation nor on table size (a string_agg
 * of whole rows stops at PostgreSQL's 1 GB limit). The rows' text depends on the session's
 * TimeZone, DateStyle and IntervalStyle: compare checksums taken under the same settings
 * (server/backup/backup.ts `databaseState` fixes them).
 */
export async function tableChecksums(db: Queryable, tables?: string[]): Promise<Record<string, { rows: number; md5: string }>> {
  const out: Record<string, { rows: number; md5: string }> = {}
  for (const t of tables ?? (await dataTables(db))) {
    const q = `"${t.replace(/"/g, '""')}"`
    const { rows } = await db.query<{ n: number; md5: string | null }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(h, '' ORDER BY h COLLATE "C"), '')) AS md5
         FROM (SELECT md5(t::text) AS h FROM ${q} t) s`,
    )
    out[t] = { rows: rows[0].n, md5: rows[0].md5 ?? '' }
  }
  return out
}
