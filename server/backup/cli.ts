/**
 * `npm run backup -- [--out <file or folder>] [--force] [--pg-bin <dir>]`
 * `npm run restore -- <archive> [--force] [--pg-bin <dir>]`
 *
 * Backs up / restores the configured database (DATABASE_URL, else the embedded one in
 * ONEGRID_DATA_DIR) together with the case photos (ONEGRID_ATTACHMENTS_DIR); see docs/backup.md and
 * server/backup/backup.ts. Exit code 0 when done, 1 with one line on stderr for anything the
 * operator must fix (nothing is changed then).
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config.ts'
import { BackupError, createBackup, formatBytes, restoreBackup } from './backup.ts'

const USAGE = `usage: npm run backup -- [--out <file.tar|file.tar.gz|folder>] [--force: archive an embedded data folder that looks in use] [--pg-bin <dir>]
       npm run restore -- <archive> [--force: replace what the target holds] [--pg-bin <dir>]`

const OPTIONS = {
  out: { type: 'string' },
  force: { type: 'boolean' },
  'pg-bin': { type: 'string' },
  help: { type: 'boolean' },
} as const

/** Where the user typed the command (npm runs scripts in the project folder and says where it was called in INIT_CWD). */
const userCwd = process.env.INIT_CWD ?? process.cwd()

/** Relative to the user's folder when inside it, else absolute. */
function displayPath(file: string): string {
  const rel = path.relative(userCwd, file)
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file
}

function fail(cmd: string, message: string): never {
  process.stderr.write(`onegrid ${cmd}: ${message}\n`)
  process.exit(1)
}

async function main(): Promise<void> {
  const cmd = process.argv[2]
  if (cmd !== 'backup' && cmd !== 'restore') fail('backup', `the first argument must be backup or restore\n${USAGE}`)
  let args
  try {
    args = parseArgs({ args: process.argv.slice(3), options: OPTIONS, allowPositionals: true })
  } catch (err) {
    fail(cmd, `${(err as Error).message}\n${USAGE}`)
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) fail(cmd, err.message)
    throw err
  }
  const log = (line: string) => process.stdout.write(`  ${line}\n`)
  const started = Date.now()
  const secs = () => `${((Date.now() - started) / 1000).toFixed(1)} s`
  try {
    if (cmd === 'backup') {
      if (args.positionals.length) fail(cmd, `unexpected ${args.positionals.join(' ')}\n${USAGE}`)
      const out = args.values.out === undefined ? undefined : path.resolve(userCwd, args.values.out) + (/[/\\]$/.test(args.values.out) ? path.sep : '')
      const { file, manifest } = await createBackup({ config, out, force: args.values.force, pgBin: args.values['pg-bin'] && path.resolve(userCwd, args.values['pg-bin']), log })
      const rows = Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0)
      process.stdout.write(
        `backup written: ${displayPath(file)} (${manifest.kind}, ${Object.keys(manifest.tables).length} tables, ${rows} rows, ` +
          `photo folder: ${manifest.attachments.files} files, ${formatBytes(manifest.attachments.bytes)}) in ${secs()}\n`,
      )
    } else {
      if (args.values.out) fail(cmd, `--out is for backup\n${USAGE}`)
      if (args.positionals.length !== 1) fail(cmd, `give exactly one archive\n${USAGE}`)
      const r = await restoreBackup({ config, archive: path.resolve(userCwd, args.positionals[0]), force: args.values.force, pgBin: args.values['pg-bin'] && path.resolve(userCwd, args.values['pg-bin']), log })
      for (const w of r.warnings) process.stdout.write(`  warning: ${w}\n`)
      for (const m of r.movedAside) process.stdout.write(`  moved aside: ${m}\n`)
      process.stdout.write(`restored, ${r.tables} tables, checksums match the manifest; photo folder: ${r.attachments} files (backup of ${r.manifest.createdAt}) in ${secs()}\n`)
    }
  } catch (err) {
    if (err instanceof BackupError) fail(cmd, err.message)
    throw err
  }
}

await main()
