import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Db } from './types.ts'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations')

/** Plain-SQL migrations, applied in file-name order, each once, on both backends. */
export async function migrate(db: Db): Promise<string[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
  return db.transaction(async (tx) => {
    // Several server processes may start at once against one database: one migrates, the others wait.
    await tx.query('SELECT pg_advisory_xact_lock(7142001)')
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
    const done = new Set((await tx.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id))
    const applied: string[] = []
    for (const file of files) {
      if (done.has(file)) continue
      await tx.exec(fs.readFileSync(path.join(dir, file), 'utf8'))
      await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [file])
      applied.push(file)
    }
    return applied
  })
}
