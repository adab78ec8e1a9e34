import fs from 'node:fs'

/**
 * Loads a .sql file made of named statements, each introduced by a `-- name: <name>` line.
 * The comment block at the top of the file names the parameters and output columns.
 */
export function loadSql(url: URL): Record<string, string> {
  const text = fs.readFileSync(url, 'utf8')
  const out: Record<string, string> = {}
  const parts = text.split(/^-- name: *([a-z_]+) *$/m)
  for (let i = 1; i < parts.length; i += 2) out[parts[i]] = parts[i + 1].trim().replace(/;\s*$/, '')
  return out
}
