/**
 * Backup and restore (issue 10, acceptance 7: "backup then restore into an empty database gives
 * identical data (checksum test)"; server/backup, docs/backup.md) on both backends. The seeded demo
 * city and a photo folder are backed up and restored into an EMPTY data folder / database, and the
 * restored data must be identical: every table's rows (the test's own checksum, see fingerprint —
 * independent of server/db/checksum.ts, which the manifest and the restore's own check use), the
 * schema (sequences' positions, indexes, constraints, triggers, functions, views) and the photos.
 * The manifest names every table with its row count. A restore into a non-empty target without
 * --force is refused, naming what is there, and changes nothing; --force over a changed PostgreSQL
 * database puts the backup back; the embedded folder of a running server is not backed up. The CLI
 * (`npm run backup` / `restore`'s script) runs as a child process on each backend: the embedded
 * backup, a refused embedded restore (exit code 1, one line), the PostgreSQL restore.
 *
 * No test server: the embedded source is a copy of the seeded template (global setup), the
 * PostgreSQL source the shared seeded database of TEST_DATABASE_URL, only read. (A server started on
 * the restored data proves nothing more: it opens the database as the restore's check does and
 * reads rows the checksums cover.) Each pass over the demo city's 800 000 rows costs seconds of CPU,
 * so there are as few as the proof needs, and the two backends' flows run at the same time
 * (describe.concurrent; each flow's steps in order with it.sequential): the embedded one is PGlite
 * in this process and in the CLI's, the PostgreSQL one mostly the database server, pg_dump and
 * pg_restore.
 *
 * PostGIS: the targets are databases of the run's own (og_backup_<pid>_…), one with nothing in it
 * and one with only CREATE EXTENSION postgis, dropped at the end.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest'
import { projectRoot } from '../../server/config.ts'
import {
  BackupError,
  choosePgTool,
  createBackup,
  folderDigest,
  parsePgToolVersion,
  readManifest,
  restoreBackup,
  type BackupManifest,
} from '../../server/backup/backup.ts'
import { openPglite } from '../../server/db/pglite.ts'
import { openPostgres } from '../../server/db/postgres.ts'
import type { Db, Queryable } from '../../server/db/types.ts'

const execFileP = promisify(execFile)
const CLI = path.join(projectRoot, 'server', 'backup', 'cli.ts')

/** `npm run backup|restore -- …` as a user runs it (the script is `tsx server/backup/cli.ts <cmd>`). */
async function cli(cmd: 'backup' | 'restore', args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = { ...process.env }
  delete clean.DATABASE_URL
  try {
    const r = await execFileP(process.execPath, ['--import', 'tsx', CLI, cmd, ...args], { cwd: projectRoot, env: { ...clean, LOG_LEVEL: 'silent', ...env }, timeout: 300_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))
const secs = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`

/** A photo and its thumbnail where the attachment store keeps them (<dir>/<2 chars>/<id>, <id>.thumb.jpg). */
async function writePhotos(dir: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="100%" height="100%" fill="#3a7"/><circle cx="100" cy="120" r="60" fill="#236"/></svg>`
  const id = 'bkTestPhoto0123456789_'
  fs.mkdirSync(path.join(dir, id.slice(0, 2)), { recursive: true })
  fs.writeFileSync(path.join(dir, id.slice(0, 2), id), await sharp(Buffer.from(svg)).jpeg().toBuffer())
  fs.writeFileSync(path.join(dir, id.slice(0, 2), `${id}.thumb.jpg`), await sharp(Buffer.from(svg)).resize(160).jpeg().toBuffer())
}

/** PostGIS's own table (filled by CREATE EXTENSION), not OneGrid's data. */
const NOT_OURS = 'spatial_ref_sys'

/** The test's own view of a database's data: rows per table, and the schema. */
interface Fingerprint {
  tables: Record<string, { rows: number; hash: string }>
  schema: string[]
}

/**
 * Per table of the schema (PostGIS's spatial_ref_sys aside), the row count and the sum of a 64-bit
 * hash of every row's text, under fixed text settings, in one snapshot; plus schemaFingerprint.
 * Independent of server/db/checksum.ts, which the manifest and the restore's own check use, and a
 * fraction of its cost (no sort: about 1/6 of it on PostgreSQL, 1/3 on PGlite).
 */
async function fingerprint(db: Db): Promise<Fingerprint> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
    for (const s of [`SET LOCAL TimeZone = 'UTC'`, `SET LOCAL DateStyle = 'ISO, YMD'`, `SET LOCAL IntervalStyle = 'postgres'`, `SET LOCAL extra_float_digits = 1`, `SET LOCAL bytea_output = 'hex'`]) {
      await tx.query(s)
    }
    const names = (
      await tx.query<{ name: string }>(`SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND relname <> $1 ORDER BY 1`, [NOT_OURS])
    ).rows.map((r) => r.name)
    // One statement for all tables: one snapshot, and one round trip (the server works on while this
    // process is busy with PGlite).
    const { rows } = await tx.query<{ t: string; n: number; h: string | null }>(
      names.map((t, i) => `SELECT ${i} AS i, $${i + 1}::text AS t, count(*)::int AS n, sum(hashtextextended(r::text, 0)::numeric)::text AS h FROM "${t.replace(/"/g, '""')}" r`).join('\n UNION ALL ') + '\n ORDER BY i',
      names,
    )
    const tables = Object.fromEntries(rows.map((r) => [r.t, { rows: r.n, hash: r.h ?? '' }]))
    return { tables, schema: await schemaFingerprint(tx) }
  })
}

/**
 * What the tables' rows do not show: sequences' positions (the next id handed out), indexes,
 * constraints, triggers, views and functions of the schema (not PostGIS's own), one line each.
 */
async function schemaFingerprint(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ line: string }>(
    `SELECT line FROM (
       SELECT format('sequence %I %s', sequencename, coalesce(last_value::text, 'unused')) AS line FROM pg_sequences WHERE schemaname = 'public'
       UNION ALL SELECT format('index %s %s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid))
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace
       UNION ALL SELECT format('constraint %s %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
       UNION ALL SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
       UNION ALL SELECT format('view %I %s', viewname, md5(definition)) FROM pg_views WHERE schemaname = 'public'
       UNION ALL SELECT format('matview %I %s', matviewname, md5(definition)) FROM pg_matviews WHERE schemaname = 'public'
       UNION ALL SELECT format('function %s %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)))
         FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ) s ORDER BY line COLLATE "C"`,
  )
  return rows.map((r) => r.line)
}

/** Identical data: the same tables, rows and schema (the demo city, not an empty schema). */
function expectSameData(expect: ExpectStatic, restored: Fingerprint, source: Fingerprint): void {
  expect(Object.keys(source.tables).length).toBeGreaterThan(30)
  expect(Object.values(source.tables).reduce((n, t) => n + t.rows, 0)).toBeGreaterThan(100_000)
  expect(source.schema.length).toBeGreaterThan(50)
  expect(Object.keys(restored.tables)).toEqual(Object.keys(source.tables))
  for (const [table, sum] of Object.entries(source.tables)) expect(restored.tables[table], table).toEqual(sum)
  expect(restored.schema).toEqual(source.schema)
}

/** The manifest names every data table with its row count (its checksums are the restore's to compare) and the migrations. */
function expectManifestOf(expect: ExpectStatic, manifest: BackupManifest, source: Fingerprint): void {
  const data = Object.entries(source.tables).filter(([t]) => t !== 'schema_migrations')
  expect(Object.keys(manifest.tables).sort()).toEqual(data.map(([t]) => t).sort())
  for (const [table, { rows }] of data) expect(manifest.tables[table].rows, table).toBe(rows)
  expect(manifest.migrations.length).toBe(source.tables.schema_migrations.rows)
}

describe('PostgreSQL client tools', () => {
  it('reads versions and picks a pg_dump at least as new as the server, or says what to install', () => {
    expect(parsePgToolVersion('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)')).toEqual({ version: '15.20', major: 15 })
    expect(parsePgToolVersion('pg_restore (PostgreSQL) 17beta1')).toEqual({ version: '17', major: 17 })
    const found = [
      { path: '/a/pg_dump', version: '14.9', major: 14 },
      { path: '/b/pg_dump', version: '17.2', major: 17 },
      { path: '/c/pg_dump', version: '15.20', major: 15 },
    ]
    expect(choosePgTool('pg_dump', found, 15, 'x').path).toBe('/c/pg_dump')
    expect(choosePgTool('pg_dump', found, 16, 'x').path).toBe('/b/pg_dump')
    expect(() => choosePgTool('pg_dump', found.slice(0, 1), 15, 'a PostgreSQL 15 server')).toThrow(
      /pg_dump is too old for a PostgreSQL 15 server: found 14\.9 at \/a\/pg_dump, need 15 or newer — install the PostgreSQL 15 client tools \(Debian: apt-get install postgresql-client-15\)/,
    )
    expect(() => choosePgTool('pg_dump', [], 15, 'x')).toThrow(/pg_dump not found/)
  })
})

describe.concurrent('backup and restore, embedded (PGlite data folder)', () => {
  const template = process.env.ONEGRID_TEST_TEMPLATE
  // The run's folder, made in beforeAll (not when a filtered run only collects this suite).
  let work = ''
  /** What `npm run backup` archives: a copy of the seeded template no process has opened. */
  let source = ''
  /**
   * Another copy of the template, byte for byte the source: the test opens it (as a running server
   * would) for its own checksums while the CLI backs up the source, and it is the non-empty folder
   * a restore is refused into.
   */
  let twin = ''
  let photos = ''
  let target = ''
  let targetPhotos = ''
  let before: Fingerprint
  let archive = ''

  beforeAll(async () => {
    if (!template || !fs.existsSync(template)) throw new Error('ONEGRID_TEST_TEMPLATE (tests/helpers/global-setup.ts) is missing')
    work = tmp('og_backup-embedded-')
    source = path.join(work, 'source')
    twin = path.join(work, 'twin')
    photos = path.join(work, 'photos')
    target = path.join(work, 'restored', 'pglite')
    targetPhotos = path.join(work, 'restored', 'photos')
    await Promise.all([fs.promises.cp(template, source, { recursive: true }), fs.promises.cp(template, twin, { recursive: true }), writePhotos(photos)])
  }, 240_000)

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  it.sequential('backs up with `npm run backup`: one archive, its manifest naming every table and the photos; a data folder in use is refused', async ({ expect }) => {
    const t = Date.now()
    // The CLI works in its own process while this one opens the twin.
    const backup = cli('backup', ['--out', `${path.join(work, 'backups')}/`], { ONEGRID_DATA_DIR: source, ONEGRID_ATTACHMENTS_DIR: photos })
    const db = await openPglite(twin)
    try {
      const out = path.join(work, 'refused')
      await expect(createBackup({ config: { ONEGRID_DATA_DIR: twin, ONEGRID_ATTACHMENTS_DIR: photos }, out: `${out}/` })).rejects.toThrow(
        /data folder .* is in use \(postmaster\.pid is there\): stop the OneGrid server first/,
      )
      expect(fs.readdirSync(out)).toEqual([])
      before = await fingerprint(db)
    } finally {
      await db.close()
    }
    const r = await backup
    expect(r.code, r.stderr).toBe(0)
    // The photo and its thumbnail.
    const files = (await folderDigest(photos)).files
    expect(files).toBe(2)
    const m = new RegExp(`backup written: (\\S+) \\(embedded, ${Object.keys(before.tables).length - 1} tables, \\d+ rows, photo folder: ${files} files`).exec(r.stdout)
    expect(m, r.stdout).not.toBeNull()
    archive = path.resolve(projectRoot, m![1])
    expect(fs.readdirSync(path.join(work, 'backups'))).toEqual([path.basename(archive)])
    const manifest = await readManifest(archive)
    expect(manifest).toMatchObject({ kind: 'embedded', attachments: { files } })
    expectManifestOf(expect, manifest, before)
    console.log(`[backup] embedded backup (CLI) and the test's checksums: ${(fs.statSync(archive).size / 1e6).toFixed(1)} MB in ${secs(t)}`)
  })

  it.sequential('restores into an empty folder: identical data, schema and photos; `npm run restore` into a folder holding a database is refused and changes nothing', async ({ expect }) => {
    expect(archive, 'the backup test failed').not.toBe('')
    const listing = (dir: string) =>
      (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
        .map((e) => {
          const p = path.join(e.parentPath, e.name)
          const st = fs.statSync(p)
          return `${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`
        })
        .sort()
    const was = listing(twin)
    const elsewhere = path.join(work, 'elsewhere')
    // The twin holds a database: the refused CLI runs in its own process while this one restores.
    const refused = cli('restore', [archive], { ONEGRID_DATA_DIR: twin, ONEGRID_ATTACHMENTS_DIR: elsewhere })

    const t = Date.now()
    const r = await restoreBackup({ config: { ONEGRID_DATA_DIR: target, ONEGRID_ATTACHMENTS_DIR: targetPhotos }, archive })
    console.log(`[backup] embedded restore: ${secs(t)}`)
    expect(r).toMatchObject({ tables: Object.keys(before.tables).length - 1, attachments: 2, movedAside: [], warnings: [] })
    expect((await folderDigest(targetPhotos)).sha256).toBe((await folderDigest(photos)).sha256)
    // No leftovers of the restore beside the folder.
    expect(fs.readdirSync(path.dirname(target)).sort()).toEqual(['pglite', 'photos'])
    const db = await openPglite(target)
    try {
      expectSameData(expect, await fingerprint(db), before)
    } finally {
      await db.close()
    }

    const no = await refused
    expect(no.code, no.stdout).toBe(1)
    expect(no.stderr).toMatch(/^onegrid restore: the data folder .*twin \(ONEGRID_DATA_DIR\) is not empty: it holds an embedded database\. Restore into an empty or new folder, or pass --force[^\n]*\n$/)
    expect(listing(twin)).toEqual(was)
    expect(fs.existsSync(elsewhere)).toBe(false)
    // A PostgreSQL target for an embedded archive is refused before anything is touched.
    await expect(restoreBackup({ config: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', ONEGRID_DATA_DIR: target, ONEGRID_ATTACHMENTS_DIR: targetPhotos }, archive })).rejects.toThrow(
      /holds an embedded database: restore it with DATABASE_URL unset/,
    )
  })
})

const pgUrl = process.env.TEST_DATABASE_URL

// (describe.concurrent.skipIf would drop `concurrent`: skipIf returns the plain describe.)
describe.skipIf(!pgUrl)('backup and restore, PostgreSQL + PostGIS (pg_dump / pg_restore)', { concurrent: true }, () => {
  let work = ''
  let photos = ''
  /** The run's own databases: [0] with nothing in it, [1] with only PostGIS. */
  const created: string[] = []
  let before: Fingerprint
  let archive = ''

  /** One statement on its own connection (closed whatever happens; a dropped connection is no crash). */
  const sqlOn = async (url: string, sql: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url })
    c.on('error', () => {})
    await c.connect()
    try {
      return await c.query(sql, params)
    } finally {
      await c.end().catch(() => {})
    }
  }
  const adminQuery = (sql: string) => sqlOn(pgUrl!, sql)
  const urlOf = (name: string) => {
    const u = new URL(pgUrl!)
    u.pathname = `/${name}`
    return u.toString()
  }
  const fingerprintOf = async (url: string): Promise<Fingerprint> => {
    const db = await openPostgres(url, 1)
    try {
      return await fingerprint(db)
    } finally {
      await db.close()
    }
  }
  const config = (url: string, attachments: string) => ({ DATABASE_URL: url, ONEGRID_DATA_DIR: 'memory://', ONEGRID_ATTACHMENTS_DIR: attachments })

  beforeAll(async () => {
    work = tmp('og_backup-postgres-')
    photos = path.join(work, 'photos')
    await writePhotos(photos)
    for (const postgis of [false, true]) {
      const name = `og_backup_${process.pid}_${created.length}`
      await adminQuery(`DROP DATABASE IF EXISTS ${name}`)
      await adminQuery(`CREATE DATABASE ${name}`)
      created.push(name)
      if (postgis) await sqlOn(urlOf(name), 'CREATE EXTENSION postgis')
    }
  }, 240_000)

  afterAll(async () => {
    for (const name of created) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err: unknown) => console.warn(`[backup] could not drop ${name}: ${(err as Error).message}`))
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  it.sequential('backs up one snapshot with pg_dump: the manifest names every table and the photos', async ({ expect }) => {
    const t = Date.now()
    // The test's checksums on their own connection while pg_dump runs (nothing writes meanwhile).
    const [state, { file, manifest }] = await Promise.all([fingerprintOf(pgUrl!), createBackup({ config: config(pgUrl!, photos), out: `${work}/` })])
    before = state
    archive = file
    console.log(`[backup] postgres backup and the test's checksums: ${(fs.statSync(file).size / 1e6).toFixed(1)} MB in ${secs(t)}`)
    expect(manifest).toMatchObject({ kind: 'postgres', attachments: { files: 2 } })
    expectManifestOf(expect, manifest, before)
    expect(manifest.database.pgDumpMajor).toBeGreaterThanOrEqual(manifest.database.serverMajor)
    expect(manifest.database.postgis).toMatch(/^3\./)
  })

  it.sequential('says so when no usable pg_dump or pg_restore is there; a database with only CREATE EXTENSION postgis counts as empty', async ({ expect }) => {
    expect(archive, 'the backup test failed').not.toBe('')
    const empty = path.join(work, 'no-tools')
    fs.mkdirSync(empty)
    const err = await createBackup({ config: config(pgUrl!, photos), out: `${work}/x/`, pgBin: empty }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BackupError)
    expect((err as Error).message).toMatch(/no runnable pg_dump in --pg-bin/)
    // PostGIS's own objects (spatial_ref_sys, its functions and types) are not "something there":
    // the restore goes past the emptiness check to look for pg_restore.
    const url = urlOf(created[1])
    const objects = `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace`
    const was = (await sqlOn(url, objects)).rows[0].n
    const noRestore = await restoreBackup({ config: config(url, path.join(work, 'restored-x')), archive, pgBin: empty }).catch((e: unknown) => e)
    expect(noRestore).toBeInstanceOf(BackupError)
    expect((noRestore as Error).message).toMatch(/no runnable pg_restore in --pg-bin/)
    expect((await sqlOn(url, objects)).rows[0].n).toBe(was)
    expect(fs.existsSync(path.join(work, 'restored-x'))).toBe(false)
  })

  it.sequential('restores with `npm run restore` into a database with nothing in it (not even PostGIS): identical data, schema and photos', async ({ expect }) => {
    expect(archive, 'the backup test failed').not.toBe('')
    const url = urlOf(created[0])
    const restoredPhotos = path.join(work, 'restored-a')
    const t = Date.now()
    const r = await cli('restore', [archive], { DATABASE_URL: url, ONEGRID_ATTACHMENTS_DIR: restoredPhotos })
    console.log(`[backup] postgres restore (CLI): ${secs(t)}`)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`restored, ${Object.keys(before.tables).length - 1} tables, checksums match the manifest; photo folder: 2 files`))
    expectSameData(expect, await fingerprintOf(url), before)
    expect((await folderDigest(restoredPhotos)).sha256).toBe((await folderDigest(photos)).sha256)
  })

  it.sequential('refuses a non-empty database without --force, naming what is there, and changes nothing; --force puts the backup back', async ({ expect }) => {
    expect(archive, 'the backup test failed').not.toBe('')
    const url = urlOf(created[0])
    // A change a restore would undo.
    expect((await sqlOn(url, `UPDATE map_labels SET name = name || ' (changed)' WHERE id = (SELECT min(id) FROM map_labels)`)).rowCount).toBe(1)
    const changed = await fingerprintOf(url)
    expect(changed.tables.map_labels).not.toEqual(before.tables.map_labels)
    const refused = await restoreBackup({ config: config(url, path.join(work, 'restored-c')), archive }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(BackupError)
    expect((refused as Error).message).toMatch(/^the database in DATABASE_URL \(.*\) is not empty: it holds \d+ tables \(public\.\w+, .*\) and \d+ other objects .* or pass --force/)
    expect(await fingerprintOf(url)).toEqual(changed)
    expect(fs.existsSync(path.join(work, 'restored-c'))).toBe(false)

    // --force: pg_restore --clean --if-exists; the photo folder (not empty) is moved aside.
    const restoredPhotos = path.join(work, 'restored-a')
    const t = Date.now()
    const forced = await restoreBackup({ config: config(url, restoredPhotos), archive, force: true })
    console.log(`[backup] postgres restore --force: ${secs(t)}`)
    expect(forced).toMatchObject({ tables: Object.keys(before.tables).length - 1, warnings: [] })
    expect(forced.movedAside).toEqual([`${restoredPhotos}.before-restore-${forced.movedAside[0]?.split('.before-restore-')[1]}`])
    expectSameData(expect, await fingerprintOf(url), before)
    expect((await folderDigest(restoredPhotos)).sha256).toBe((await folderDigest(photos)).sha256)
  })
})
