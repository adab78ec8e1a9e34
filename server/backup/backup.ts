/**
 * Backup and restore of the whole of OneGrid's data (docs/backup.md): the database and the case
 * photos (ONEGRID_ATTACHMENTS_DIR), in one tar archive with a manifest.
 *
 * - PostgreSQL (DATABASE_URL): `pg_dump --format=custom` of one REPEATABLE READ snapshot, the same
 *   snapshot the manifest's checksums are taken from, so a backup of a running server is consistent.
 *   Restored with `pg_restore --single-transaction` into an empty database (all or nothing).
 * - Embedded (PGlite in ONEGRID_DATA_DIR): the data folder, copied while no server uses it, opened
 *   once by PGlite (crash recovery, checksums, a clean shutdown) and archived without the
 *   pre-allocated WAL segments; restored by unpacking into a new folder that is verified before it
 *   takes the configured folder's place.
 *
 * Archive layout: `manifest.json`, then `database.dump` (PostgreSQL) or `pgdata/` (embedded), then
 * `attachments/`. A restore verifies every table's checksum and the migration ids against the
 * manifest, and the photos' digest.
 */
import { spawn, execFile } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import * as tar from 'tar'
import { z } from 'zod'
import { projectRoot, version as appVersion, type Config } from '../config.ts'
import { tableChecksums } from '../db/checksum.ts'
import { openPglite } from '../db/pglite.ts'
import { wrap } from '../db/postgres.ts'
import type { Queryable } from '../db/types.ts'

/** Something the operator must fix: the CLI prints the message as one line and exits 1. */
export class BackupError extends Error {}

export type BackupKind = 'embedded' | 'postgres'
export type Checksums = Record<string, { rows: number; md5: string }>

const ManifestSchema = z.object({
  format: z.literal('onegrid-backup'),
  formatVersion: z.literal(1),
  kind: z.enum(['embedded', 'postgres']),
  createdAt: z.string(),
  appVersion: z.string(),
  database: z.object({
    /** `SELECT version()` of the source (for PGlite it names the PGlite release). */
    server: z.string(),
    serverMajor: z.number().int(),
    postgis: z.string().nullable(),
    /** PostgreSQL only: the pg_dump that wrote database.dump. */
    pgDump: z.string().optional(),
    pgDumpMajor: z.number().int().optional(),
  }),
  migrations: z.array(z.string()),
  tables: z.record(z.string(), z.object({ rows: z.number().int(), md5: z.string() })),
  attachments: z.object({ files: z.number().int(), bytes: z.number(), sha256: z.string() }),
})
export type BackupManifest = z.infer<typeof ManifestSchema>

export type BackupConfig = Pick<Config, 'DATABASE_URL' | 'ONEGRID_DATA_DIR' | 'ONEGRID_ATTACHMENTS_DIR'>

export interface BackupOptions {
  config: BackupConfig
  /** The archive to write, or a folder to write it into; default backups/onegrid-<kind>-<UTC time>.tar[.gz]. */
  out?: string
  /** Embedded: archive the data folder although it looks in use (postmaster.pid: a server runs, or was killed). */
  force?: boolean
  /** Folder of pg_dump/pg_restore; default: the PATH and /usr/lib/postgresql/<major>/bin. */
  pgBin?: string
  log?: (line: string) => void
}

export interface RestoreOptions {
  config: BackupConfig
  archive: string
  /** Replace what is there: pg_restore --clean --if-exists; the embedded folder and the photos are moved aside. */
  force?: boolean
  pgBin?: string
  log?: (line: string) => void
}

export interface RestoreResult {
  manifest: BackupManifest
  tables: number
  attachments: number
  /** Folders the restore moved aside (--force, embedded data folder and photos). */
  movedAside: string[]
  warnings: string[]
}

// ————————————————————————————————————————— database state

/**
 * Session settings every checksum is taken under: the text of timestamps, intervals and floats
 * depends on them, and a restore may run under another time zone than its backup.
 */
const STABLE_TEXT = [
  `SET LOCAL TimeZone = 'UTC'`,
  `SET LOCAL DateStyle = 'ISO, YMD'`,
  `SET LOCAL IntervalStyle = 'postgres'`,
  `SET LOCAL extra_float_digits = 1`,
  `SET LOCAL bytea_output = 'hex'`,
]

export interface DatabaseState {
  tables: Checksums
  migrations: string[]
  server: string
  serverMajor: number
  postgis: string | null
}

/** Reads the state inside a transaction the caller opened (REPEATABLE READ for a consistent view). */
async function readState(q: Queryable): Promise<DatabaseState> {
  for (const s of STABLE_TEXT) await q.query(s)
  const info = (
    await q.query<{ server: string; num: number; postgis: string | null; ledger: boolean }>(
      `SELECT version() AS server, current_setting('server_version_num')::int AS num,
              (SELECT extversion FROM pg_extension WHERE extname = 'postgis') AS postgis,
              to_regclass('public.schema_migrations') IS NOT NULL AS ledger`,
    )
  ).rows[0]
  const migrations = info.ledger ? (await q.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id')).rows.map((r) => r.id) : []
  return { tables: await tableChecksums(q), migrations, server: info.server, serverMajor: Math.floor(info.num / 10000), postgis: info.postgis }
}

/**
 * Every data table's checksum and the applied migrations, read in one REPEATABLE READ transaction
 * under fixed text settings — what a backup's manifest records and a restore compares.
 */
export async function databaseState(db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> }): Promise<DatabaseState> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
    return readState(tx)
  })
}

export interface ChecksumDiff {
  /** Tables whose rows differ, with both sides. */
  differ: { table: string; expected: { rows: number; md5: string }; actual: { rows: number; md5: string } }[]
  /** In the manifest, not in the database. */
  missing: string[]
  /** In the database, not in the manifest (left over by a --force restore). */
  extra: string[]
}

export function compareChecksums(expected: Checksums, actual: Checksums): ChecksumDiff {
  const differ: ChecksumDiff['differ'] = []
  const missing: string[] = []
  for (const [table, e] of Object.entries(expected)) {
    const a = actual[table]
    if (!a) missing.push(table)
    else if (a.rows !== e.rows || a.md5 !== e.md5) differ.push({ table, expected: e, actual: a })
  }
  const extra = Object.keys(actual).filter((t) => !(t in expected))
  return { differ, missing, extra }
}

function describeDiff(diff: ChecksumDiff, migrations: { expected: string[]; actual: string[] }): string | null {
  const parts: string[] = []
  if (diff.differ.length) parts.push(`tables that differ: ${diff.differ.map((d) => `${d.table} (${d.actual.rows} rows, backup had ${d.expected.rows})`).join(', ')}`)
  if (diff.missing.length) parts.push(`tables missing: ${diff.missing.join(', ')}`)
  if (migrations.expected.join() !== migrations.actual.join()) parts.push(`migrations differ: backup had ${migrations.expected.length}, restored ${migrations.actual.length}`)
  return parts.length ? parts.join('; ') : null
}

// ————————————————————————————————————————— PostgreSQL client tools

export interface PgTool {
  path: string
  version: string
  major: number
}

/** "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" → 15.20 / 15. */
export function parsePgToolVersion(text: string): { version: string; major: number } | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text)
  return m ? { version: m[2] === undefined ? m[1] : `${m[1]}.${m[2]}`, major: Number(m[1]) } : null
}

/**
 * The tool to use among those found: the oldest one at least `need` (pg_dump must be as new as the
 * server it dumps; pg_restore as new as the pg_dump that wrote the archive).
 */
export function choosePgTool(name: string, found: PgTool[], need: number, why: string): PgTool {
  const fits = found.filter((t) => t.major >= need).sort((a, b) => a.major - b.major)
  if (fits.length) return fits[0]
  const install = `install the PostgreSQL ${need} client tools (Debian: apt-get install postgresql-client-${need}) or give their folder with --pg-bin`
  if (!found.length) throw new BackupError(`${name} not found (looked in PATH and /usr/lib/postgresql/*/bin): ${install}`)
  const seen = found.map((t) => `${t.version} at ${t.path}`).join(', ')
  throw new BackupError(`${name} is too old for ${why}: found ${seen}, need ${need} or newer — ${install}`)
}

const execFileP = promisify(execFile)

async function findPgTools(name: string, pgBin?: string): Promise<PgTool[]> {
  const candidates: string[] = []
  if (pgBin) candidates.push(path.join(pgBin, name))
  else {
    // Debian's versioned folders first: /usr/bin/pg_dump there is a wrapper that picks a version itself.
    const debian = '/usr/lib/postgresql'
    if (fs.existsSync(debian)) for (const v of fs.readdirSync(debian).sort()) candidates.push(path.join(debian, v, 'bin', name))
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, name))
  }
  const seen = new Set<string>()
  const out: PgTool[] = []
  for (const c of candidates) {
    let real: string
    try {
      real = fs.realpathSync(c)
      fs.accessSync(real, fs.constants.X_OK)
    } catch {
      continue
    }
    if (seen.has(real)) continue
    seen.add(real)
    try {
      const { stdout } = await execFileP(c, ['--version'], { timeout: 15_000 })
      const v = parsePgToolVersion(stdout)
      if (v) out.push({ path: c, ...v })
    } catch {
      // not runnable: skip it
    }
  }
  if (pgBin && !out.length) throw new BackupError(`no runnable ${name} in --pg-bin ${pgBin}`)
  return out
}

/** libpq takes the URL as --dbname; its password goes through PGPASSWORD instead, out of the process list. */
function toolConnection(url: string): { uri: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url)
  const env: NodeJS.ProcessEnv = { ...process.env }
  if (u.password) {
    env.PGPASSWORD = decodeURIComponent(u.password)
    u.password = ''
  }
  return { uri: u.toString(), env }
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 5432}${u.pathname}`
  } catch {
    return 'the given URL'
  }
}

/** Runs a program; rejects with the end of its stderr when it exits non-zero. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString()).slice(-8000)
    })
    child.on('error', (e) => reject(new BackupError(`cannot run ${cmd}: ${e.message}`)))
    child.on('close', (code, signal) => {
      if (code === 0) resolve()
      else reject(new BackupError(`${path.basename(cmd)} failed (${signal ?? `exit ${code}`}): ${err.trim().split('\n').slice(-6).join(' | ') || 'no message'}`))
    })
  })
}

async function connect(url: string, what: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    throw new BackupError(`cannot connect to ${what} (${describeUrl(url)}): ${(err as Error).message}`)
  }
  return client
}

/** What a PostgreSQL database holds besides extensions' own objects (empty: nothing). */
async function userObjects(c: pg.Client): Promise<{ tables: string[]; others: number }> {
  const rel = await c.query<{ name: string; table: boolean }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind IN ('r', 'p') AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1`,
  )
  const other = await c.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
          + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE t.typtype IN ('e', 'd', 'r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')) AS n`,
  )
  const tables = rel.rows.filter((r) => r.table).map((r) => r.name)
  return { tables, others: rel.rows.length - tables.length + Number(other.rows[0].n) }
}

// ————————————————————————————————————————— files

/** Files of the photo store: count, bytes and a digest over their relative paths and contents. */
export async function folderDigest(dir: string): Promise<BackupManifest['attachments']> {
  const h = crypto.createHash('sha256')
  let files = 0
  let bytes = 0
  if (fs.existsSync(dir)) {
    const walk = async (rel: string): Promise<void> => {
      const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      for (const e of entries) {
        const r = rel ? `${rel}/${e.name}` : e.name
        if (e.isDirectory()) await walk(r)
        else if (e.isFile()) {
          const fh = crypto.createHash('sha256')
          let size = 0
          for await (const chunk of fs.createReadStream(path.join(dir, r))) {
            fh.update(chunk as Buffer)
            size += (chunk as Buffer).length
          }
          h.update(`${r}\t${size}\t${fh.digest('hex')}\n`)
          files++
          bytes += size
        }
      }
    }
    await walk('')
  }
  return { files, bytes, sha256: h.digest('hex') }
}

function nonEmpty(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

function countFiles(dir: string): number {
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length : 0
}

/** Moves a folder into place (rename; copy when it crosses file systems). `dst` must be absent or empty. */
function moveDir(src: string, dst: string): void {
  if (fs.existsSync(dst)) fs.rmdirSync(dst)
  fs.mkdirSync(path.dirname(dst), { recursive: true })
  try {
    fs.renameSync(src, dst)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
    fs.cpSync(src, dst, { recursive: true })
    fs.rmSync(src, { recursive: true, force: true })
  }
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '').replace('T', '-')
}

function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`
}

/** The archive's path: `out` itself, or a default name inside `out` (a folder) or backups/. */
function archivePath(kind: BackupKind, out: string | undefined): string {
  const name = `onegrid-${kind}-${stamp()}.${kind === 'embedded' ? 'tar.gz' : 'tar'}`
  if (!out) return path.join(projectRoot, 'backups', name)
  const abs = path.resolve(out)
  if (out.endsWith('/') || (fs.existsSync(abs) && fs.statSync(abs).isDirectory())) return path.join(abs, name)
  return abs
}

/**
 * Writes the staging folder's entries (and the photo store) as one tar, gzip when the name says so
 * (level 1: on the demo city's data folder 12 % larger than level 6, in less than half the time).
 */
async function writeArchive(staging: string, entries: string[], attachmentsDir: string, file: string): Promise<void> {
  // The photos are packed from their own folder through a link (follow: the files, not the link).
  if (fs.existsSync(attachmentsDir)) {
    fs.symlinkSync(path.resolve(attachmentsDir), path.join(staging, 'attachments'), 'dir')
    entries.push('attachments')
  }
  const partial = `${file}.partial`
  try {
    await tar.create({ file: partial, cwd: staging, gzip: /\.(tgz|gz)$/.test(file) ? { level: 1 } : false, portable: true, follow: true }, entries)
    fs.renameSync(partial, file)
  } catch (err) {
    fs.rmSync(partial, { force: true })
    throw new BackupError(`cannot write ${file}: ${(err as Error).message}`)
  }
}

/** The manifest of an archive, read without unpacking the rest. */
export async function readManifest(archive: string): Promise<BackupManifest> {
  if (!fs.existsSync(archive)) throw new BackupError(`no such file: ${archive}`)
  const chunks: Buffer[] = []
  try {
    await tar.list({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        if (entry.path === 'manifest.json') entry.on('data', (c: Buffer) => chunks.push(c))
        else entry.resume()
      },
    })
  } catch (err) {
    throw new BackupError(`${archive} is not a readable tar archive: ${(err as Error).message}`)
  }
  if (!chunks.length) throw new BackupError(`${archive} is not a OneGrid backup: it has no manifest.json`)
  let json: unknown
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new BackupError(`${archive}: manifest.json is not JSON`)
  }
  const parsed = ManifestSchema.safeParse(json)
  if (!parsed.success) throw new BackupError(`${archive}: manifest.json is not a OneGrid backup manifest (${parsed.error.issues[0]?.message})`)
  return parsed.data
}

// ————————————————————————————————————————— backup

export async function createBackup(opts: BackupOptions): Promise<{ file: string; manifest: BackupManifest }> {
  const kind: BackupKind = opts.config.DATABASE_URL ? 'postgres' : 'embedded'
  const log = opts.log ?? (() => {})
  const file = archivePath(kind, opts.out)
  if (fs.existsSync(file)) throw new BackupError(`${file} already exists: give another --out`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const staging = path.join(path.dirname(file), `.onegrid-backup-${process.pid}-${Date.now()}`)
  fs.mkdirSync(staging)
  try {
    const part = kind === 'postgres' ? await dumpPostgres(opts.config.DATABASE_URL!, staging, opts.pgBin, log) : await copyEmbedded(opts.config.ONEGRID_DATA_DIR, staging, opts.force === true, log)
    log(`photos: ${opts.config.ONEGRID_ATTACHMENTS_DIR}`)
    const attachments = await folderDigest(opts.config.ONEGRID_ATTACHMENTS_DIR)
    const manifest: BackupManifest = {
      format: 'onegrid-backup',
      formatVersion: 1,
      kind,
      createdAt: new Date().toISOString(),
      appVersion,
      database: part.database,
      migrations: part.state.migrations,
      tables: part.state.tables,
      attachments,
    }
    fs.writeFileSync(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    log(`writing ${file}`)
    await writeArchive(staging, ['manifest.json', part.entry], opts.config.ONEGRID_ATTACHMENTS_DIR, file)
    return { file, manifest }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

async function dumpPostgres(url: string, staging: string, pgBin: string | undefined, log: (line: string) => void) {
  const client = await connect(url, 'the database in DATABASE_URL')
  try {
    const major = Math.floor(Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v) / 10000)
    const pgDump = choosePgTool('pg_dump', await findPgTools('pg_dump', pgBin), major, `a PostgreSQL ${major} server`)
    log(`pg_dump ${pgDump.version} (${pgDump.path}) of ${describeUrl(url)}, PostgreSQL ${major}`)
    // One snapshot for the dump and the checksums: what the manifest says is what the dump holds,
    // even while servers keep writing.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY')
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0].s
    const { uri, env } = toolConnection(url)
    const dump = run(pgDump.path, ['--format=custom', `--snapshot=${snapshot}`, `--file=${path.join(staging, 'database.dump')}`, `--dbname=${uri}`], env)
    // Checksums while the dump runs (same snapshot); the transaction stays open until both finish.
    const state = readState(wrap(client))
    const [, s] = await Promise.all([dump, state])
    await client.query('COMMIT')
    return {
      entry: 'database.dump',
      state: s,
      database: { server: s.server, serverMajor: s.serverMajor, postgis: s.postgis, pgDump: pgDump.version, pgDumpMajor: pgDump.major },
    }
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * A copy of the embedded data folder, opened by PGlite (crash recovery when the source was
 * killed; checksums), checkpointed and shut down cleanly, minus the WAL segments a cleanly shut
 * down database does not need (PostgreSQL keeps up to min_wal_size of recycled ones).
 */
async function copyEmbedded(dataDir: string, staging: string, force: boolean, log: (line: string) => void) {
  if (dataDir.startsWith('memory://')) throw new BackupError('ONEGRID_DATA_DIR is memory://: an in-memory database has nothing on disk to back up')
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) throw new BackupError(`no embedded database in ${dataDir} (no PG_VERSION): check ONEGRID_DATA_DIR`)
  if (fs.existsSync(path.join(dataDir, 'postmaster.pid')) && !force) {
    throw new BackupError(
      `the data folder ${dataDir} is in use (postmaster.pid is there): stop the OneGrid server first — the embedded database has one user. If no server runs (it was killed), pass --force`,
    )
  }
  const copy = path.join(staging, 'pgdata')
  log(`copying ${dataDir}`)
  fs.cpSync(dataDir, copy, { recursive: true })
  log('opening the copy (PGlite) for checksums')
  const db = await openPglite(copy)
  let state: DatabaseState
  let keep: Set<string>
  try {
    state = await databaseState(db)
    await db.query('CHECKPOINT')
    const wal = (
      await db.query<{ cur: string; next: string }>(
        `SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS cur,
                pg_walfile_name(pg_current_wal_insert_lsn() + pg_size_bytes(current_setting('wal_segment_size'))) AS next`,
      )
    ).rows[0]
    // The shutdown checkpoint lands in the current segment or (at its very end) the next one.
    keep = new Set([wal.cur, wal.next])
  } finally {
    await db.close()
  }
  for (const f of fs.readdirSync(path.join(copy, 'pg_wal'))) {
    if (/^[0-9A-F]{24}$/.test(f) && !keep.has(f)) fs.rmSync(path.join(copy, 'pg_wal', f))
  }
  fs.rmSync(path.join(copy, 'postmaster.pid'), { force: true })
  return { entry: 'pgdata', state, database: { server: state.server, serverMajor: state.serverMajor, postgis: state.postgis } }
}

// ————————————————————————————————————————— restore

export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const log = opts.log ?? (() => {})
  const archive = path.resolve(opts.archive)
  const kind: BackupKind = opts.config.DATABASE_URL ? 'postgres' : 'embedded'
  const attachmentsDir = path.resolve(opts.config.ONEGRID_ATTACHMENTS_DIR)
  const manifest = await readManifest(archive)
  if (manifest.kind !== kind) {
    throw new BackupError(
      manifest.kind === 'embedded'
        ? `${archive} holds an embedded database: restore it with DATABASE_URL unset, into ONEGRID_DATA_DIR`
        : `${archive} holds a PostgreSQL dump: restore it with DATABASE_URL set to an empty database`,
    )
  }
  const warnings: string[] = []
  const known = new Set(fs.readdirSync(path.join(projectRoot, 'server', 'db', 'migrations')))
  const unknown = manifest.migrations.filter((m) => !known.has(m))
  if (unknown.length) warnings.push(`the backup has migrations this OneGrid does not know (${unknown.join(', ')}): it comes from a newer version — upgrade OneGrid before starting the server`)

  const result = kind === 'postgres' ? await restorePostgres(opts, manifest, archive, attachmentsDir, log) : await restoreEmbedded(opts, manifest, archive, attachmentsDir, log)
  if (result.extra.length) warnings.push(`tables not in the backup were left as they were: ${result.extra.join(', ')}`)
  return { manifest, tables: Object.keys(manifest.tables).length, attachments: manifest.attachments.files, movedAside: result.movedAside, warnings }
}

/** The photo folder must be empty unless --force (checked before anything is written). */
function refuseNonEmptyPhotos(attachmentsDir: string, force: boolean | undefined): void {
  if (nonEmpty(attachmentsDir).length && !force) {
    throw new BackupError(`the photo folder ${attachmentsDir} (ONEGRID_ATTACHMENTS_DIR) is not empty (${countFiles(attachmentsDir)} files): restore into an empty one, or pass --force to move it aside`)
  }
}

/** Unpacks the archive into `staging` (created), checking the photos against the manifest. */
async function unpack(archive: string, staging: string, manifest: BackupManifest, log: (line: string) => void): Promise<void> {
  fs.mkdirSync(staging, { recursive: true })
  log(`unpacking ${archive}`)
  try {
    await tar.extract({ file: archive, cwd: staging, strict: true })
  } catch (err) {
    throw new BackupError(`cannot unpack ${archive}: ${(err as Error).message}`)
  }
  const got = await folderDigest(path.join(staging, 'attachments'))
  if (got.sha256 !== manifest.attachments.sha256) {
    throw new BackupError(`the photos in ${archive} do not match its manifest (${got.files} files, manifest says ${manifest.attachments.files}): the archive is damaged`)
  }
}

/** Puts the unpacked photos in place (moving a non-empty folder aside under --force). */
function placePhotos(staging: string, attachmentsDir: string, stampText: string, movedAside: string[]): void {
  const src = path.join(staging, 'attachments')
  if (nonEmpty(attachmentsDir).length) {
    const aside = `${attachmentsDir}.before-restore-${stampText}`
    fs.renameSync(attachmentsDir, aside)
    movedAside.push(aside)
  }
  if (fs.existsSync(src)) moveDir(src, attachmentsDir)
}

async function restoreEmbedded(opts: RestoreOptions, manifest: BackupManifest, archive: string, attachmentsDir: string, log: (line: string) => void) {
  const dataDir = path.resolve(opts.config.ONEGRID_DATA_DIR)
  if (opts.config.ONEGRID_DATA_DIR.startsWith('memory://')) throw new BackupError('ONEGRID_DATA_DIR is memory://: give the folder to restore into')
  if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
    throw new BackupError(`the data folder ${dataDir} is in use (postmaster.pid is there): stop the OneGrid server first. If none runs (it was killed), delete ${path.join(dataDir, 'postmaster.pid')} and pass --force`)
  }
  const there = nonEmpty(dataDir)
  if (there.length && !opts.force) {
    const what = there.includes('PG_VERSION') ? 'an embedded database' : `${there.length} entries (${there.slice(0, 3).join(', ')}${there.length > 3 ? ', …' : ''})`
    throw new BackupError(`the data folder ${dataDir} (ONEGRID_DATA_DIR) is not empty: it holds ${what}. Restore into an empty or new folder, or pass --force to move it aside`)
  }
  refuseNonEmptyPhotos(attachmentsDir, opts.force)
  const staging = path.join(path.dirname(dataDir), `.onegrid-restore-${process.pid}-${Date.now()}`)
  const movedAside: string[] = []
  try {
    await unpack(archive, staging, manifest, log)
    const restored = path.join(staging, 'pgdata')
    if (!fs.existsSync(path.join(restored, 'PG_VERSION'))) throw new BackupError(`${archive} has no pgdata/ folder: the archive is damaged`)
    log('opening the restored database (PGlite) to verify it')
    let db
    try {
      db = await openPglite(restored)
    } catch (err) {
      throw new BackupError(`the restored database does not open (${(err as Error).message}); the backup was made by ${manifest.database.server}`)
    }
    let state: DatabaseState
    try {
      state = await databaseState(db)
    } finally {
      await db.close()
    }
    const diff = compareChecksums(manifest.tables, state.tables)
    const problem = describeDiff(diff, { expected: manifest.migrations, actual: state.migrations })
    if (problem) throw new BackupError(`the restored database does not match the manifest — ${problem}; ${dataDir} was left as it was`)
    // Verified: the restored folder takes the configured one's place.
    const t = stamp()
    if (there.length) {
      const aside = `${dataDir}.before-restore-${t}`
      fs.renameSync(dataDir, aside)
      movedAside.push(aside)
    }
    moveDir(restored, dataDir)
    placePhotos(staging, attachmentsDir, t, movedAside)
    return { extra: diff.extra, movedAside }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

async function restorePostgres(opts: RestoreOptions, manifest: BackupManifest, archive: string, attachmentsDir: string, log: (line: string) => void) {
  const url = opts.config.DATABASE_URL!
  const client = await connect(url, 'the database in DATABASE_URL (it must exist: createdb it first)')
  const movedAside: string[] = []
  const staging = path.join(path.dirname(attachmentsDir), `.onegrid-restore-${process.pid}-${Date.now()}`)
  try {
    const there = await userObjects(client)
    if ((there.tables.length || there.others) && !opts.force) {
      const tables = there.tables.length ? `${there.tables.length} tables (${there.tables.slice(0, 4).join(', ')}${there.tables.length > 4 ? ', …' : ''})` : 'no tables'
      throw new BackupError(
        `the database in DATABASE_URL (${describeUrl(url)}) is not empty: it holds ${tables} and ${there.others} other objects (views, sequences, functions, types). Restore into an empty database (createdb), or pass --force to replace what the backup holds (pg_restore --clean)`,
      )
    }
    refuseNonEmptyPhotos(attachmentsDir, opts.force)
    const major = Math.floor(Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v) / 10000)
    const need = manifest.database.pgDumpMajor ?? manifest.database.serverMajor
    const pgRestore = choosePgTool('pg_restore', await findPgTools('pg_restore', opts.pgBin), need, `an archive written by pg_dump ${manifest.database.pgDump ?? need}`)
    await unpack(archive, staging, manifest, log)
    const dump = path.join(staging, 'database.dump')
    if (!fs.existsSync(dump)) throw new BackupError(`${archive} has no database.dump: the archive is damaged`)
    log(`pg_restore ${pgRestore.version} (${pgRestore.path}) into ${describeUrl(url)}, PostgreSQL ${major}`)
    const { uri, env } = toolConnection(url)
    // One transaction: a restore that fails changes nothing. Objects belong to the DATABASE_URL user.
    const args = ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', ...(opts.force ? ['--clean', '--if-exists'] : []), `--dbname=${uri}`, dump]
    try {
      await run(pgRestore.path, args, env)
    } catch (err) {
      const msg = (err as Error).message
      const hint = /permission denied to create extension|must be (superuser|owner)/.test(msg)
        ? ' — the restoring user may not create PostGIS: have a superuser run CREATE EXTENSION postgis in the target database first'
        : ''
      throw new BackupError(`${msg}${hint}; the target database was left as it was`)
    }
    log('verifying the restored database')
    const state = await databaseState({
      transaction: async (fn) => {
        await client.query('BEGIN')
        try {
          const out = await fn(wrap(client))
          await client.query('COMMIT')
          return out
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {})
          throw e
        }
      },
    })
    const diff = compareChecksums(manifest.tables, state.tables)
    const problem = describeDiff(diff, { expected: manifest.migrations, actual: state.migrations })
    if (problem) throw new BackupError(`the restored database does not match the manifest — ${problem}; do not use it, the photos were not restored`)
    placePhotos(staging, attachmentsDir, stamp(), movedAside)
    return { extra: diff.extra, movedAside }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
    await client.end().catch(() => {})
  }
}

export { formatBytes }
