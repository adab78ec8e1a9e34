/**
 * What integration and end-to-end tests share (unit tests need none of it, so their project skips it):
 *
 * - The demo city seeded once into an embedded (PGlite) data folder that embedded test servers copy
 *   instead of seeding again (seeding takes about a minute on PGlite). The folder is kept under
 *   data/ keyed by a hash of the migrations, the seeder, the modules it imports and the versions of
 *   the packages they use, so later runs reuse it while it is what the seeder would make now.
 *   ONEGRID_TEST_TEMPLATE names it for the test processes.
 * - An empty embedded database (PGlite's initdb and PostGIS), kept the same way, that the
 *   template and tests' fresh embedded databases start from: ONEGRID_TEST_BLANK.
 * - Meanwhile, the PostGIS database of TEST_DATABASE_URL seeded (database work, mostly on the
 *   other core) and copied for each test worker (tests/helpers/shared-db.ts).
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { projectRoot } from '../../server/config.ts'
import type { Db } from '../../server/db/index.ts'
import { openPglite } from '../../server/db/pglite.ts'
import { migrate } from '../../server/db/migrate.ts'
import { createLogger } from '../../server/log.ts'
import { ensureSeeded } from '../../server/seed/index.ts'
import { TEST_ANCHOR, TEST_PASSWORD, TEST_SEED, TEST_TZ } from './constants.ts'
import { prepareSharedDatabases } from './shared-db.ts'

function hashTree(dir: string, h: crypto.Hash): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) hashTree(p, h)
    else h.update(entry.name).update(fs.readFileSync(p))
  }
}

/**
 * Hashes the modules that build the template outside server/seed (found by following the value
 * imports of the seeder, the embedded database and the migrator) and the version of every package
 * they import: a change to, say, the case workflow, faker or PGlite changes the template as much
 * as a change to the seeder does.
 */
function hashSeederImports(h: crypto.Hash): void {
  const seedDir = path.join(projectRoot, 'server', 'seed')
  const queue = ['seed/index.ts', 'db/pglite.ts', 'db/migrate.ts'].map((f) => path.join(projectRoot, 'server', f))
  const files = new Set<string>()
  const packages = new Set<string>()
  // `import … from '…'`, `export … from '…'`, `import '…'`; not `import type` (nothing at run time).
  const imports = /^\s*(?:import|export)\s+(?!type\s)(?:[^;'"]*?\sfrom\s*)?['"]([^'"]+)['"]/gm
  while (queue.length) {
    const file = queue.pop()!
    if (files.has(file)) continue
    files.add(file)
    for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(imports)) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec)
        if (fs.existsSync(target)) queue.push(target)
      } else if (!spec.startsWith('node:')) {
        packages.add(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'))
      }
    }
  }
  for (const file of [...files].filter((f) => !f.startsWith(seedDir + path.sep)).sort()) h.update(path.relative(projectRoot, file)).update(fs.readFileSync(file))
  for (const name of [...packages].sort()) {
    const manifest = path.join(projectRoot, 'node_modules', name, 'package.json')
    h.update(`${name}@${fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version : 'missing'}`)
  }
}

/**
 * Closes an embedded database and removes the WAL segments PostgreSQL pre-allocated for later
 * (recycled from the seeding's): after a clean shutdown only the segment of the last insert
 * position and the next one (where the shutdown checkpoint record may have gone) are read again,
 * and a missing later segment is simply created when needed. They were about 300 of the seeded
 * template's 480 MB, copied by every embedded test server.
 */
async function closeTrimmed(db: Db, dataDir: string): Promise<void> {
  const { rows } = await db.query<{ segment: string }>('SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS segment')
  await db.close()
  const wal = path.join(dataDir, 'pg_wal')
  const later = fs
    .readdirSync(wal)
    .filter((f) => /^[0-9A-F]{24}$/.test(f) && f > rows[0].segment)
    .sort()
  for (const f of later.slice(1)) fs.rmSync(path.join(wal, f))
}

/**
 * Makes the data folder `dir` with `fill` unless it is there already. Built in a folder of this
 * run's own, then renamed into place: two runs at once (two checkouts' test commands, say) each
 * build their own and the first rename wins.
 */
async function buildOnce(dir: string, what: string, fill: (own: string) => Promise<void>): Promise<void> {
  if (fs.existsSync(path.join(dir, '.complete'))) return
  const own = `${dir}.building-${process.pid}`
  fs.rmSync(own, { recursive: true, force: true })
  const t = Date.now()
  try {
    await fill(own)
    fs.writeFileSync(path.join(own, '.complete'), '')
    if (!fs.existsSync(path.join(dir, '.complete'))) {
      fs.rmSync(dir, { recursive: true, force: true })
      try {
        fs.renameSync(own, dir)
      } catch (err) {
        // Another run renamed its own into place a moment earlier: use that one.
        if (!fs.existsSync(path.join(dir, '.complete'))) throw err
      }
    }
  } finally {
    fs.rmSync(own, { recursive: true, force: true })
  }
  console.log(`[tests] made the ${what} in ${((Date.now() - t) / 1000).toFixed(1)} s: ${dir}`)
}

/** The versions of the embedded database's packages (what an empty data folder depends on). */
function embeddedVersions(): string {
  return ['@electric-sql/pglite', '@electric-sql/pglite-postgis']
    .map((name) => `${name}@${(JSON.parse(fs.readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version}`)
    .join('|')
}

/** Once per vitest process, whichever of the integration and e2e projects comes first. */
const SHARED = Symbol.for('onegrid.tests.global-setup')
type Shared = { ready: Promise<{ dropCopies?: () => Promise<void> }>; users: number }

/** The projects that start servers (vitest.config.ts); unit tests need none of this. */
const SERVER_PROJECTS = new Set(['integration', 'integration-serial', 'e2e', 'e2e-serial'])

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (!SERVER_PROJECTS.has(project.name)) return
  const g = globalThis as typeof globalThis & { [SHARED]?: Shared }
  g[SHARED] ??= {
    users: 0,
    ready: (async () => {
      const url = process.env.TEST_DATABASE_URL
      // Settles (never rejects) once the PostGIS databases are ready or have failed.
      const shared = url ? prepareSharedDatabases(url).then((drop) => ({ drop }), (error: Error) => ({ error })) : undefined
      const h = crypto.createHash('sha256').update(`${TEST_SEED}|${TEST_ANCHOR}|${TEST_PASSWORD}|${TEST_TZ}`)
      hashTree(path.join(projectRoot, 'server', 'db', 'migrations'), h)
      hashTree(path.join(projectRoot, 'server', 'seed'), h)
      hashSeederImports(h)
      const dir = path.join(projectRoot, 'data', `test-template-${h.digest('hex').slice(0, 16)}`)
      // An empty embedded database (initdb and PostGIS, ~10–25 s in PGlite): the seeded template
      // starts from a copy, and so does every freshDatabase('embedded') (tests/helpers/db.ts).
      const blankKey = crypto.createHash('sha256').update(embeddedVersions()).update(fs.readFileSync(path.join(projectRoot, 'server', 'db', 'pglite.ts')))
      const blank = path.join(projectRoot, 'data', `test-blank-${blankKey.digest('hex').slice(0, 16)}`)
      try {
        await buildOnce(blank, 'empty embedded database', async (own) => closeTrimmed(await openPglite(own), own))
        await buildOnce(dir, 'embedded demo-city template', async (own) => {
          fs.cpSync(blank, own, { recursive: true })
          const db = await openPglite(own)
          await migrate(db)
          await ensureSeeded(db, { seedPassword: TEST_PASSWORD, seed: TEST_SEED, anchor: TEST_ANCHOR, tz: TEST_TZ, log: createLogger('warn') })
          await closeTrimmed(db, own)
        })
      } catch (err) {
        // The run stops here: not before the seeding child has ended, holding the database.
        const done = await shared
        if (done && 'drop' in done) await done.drop()
        throw err
      }
      process.env.ONEGRID_TEST_BLANK = blank
      process.env.ONEGRID_TEST_TEMPLATE = dir
      const done = await shared
      if (done && 'error' in done) throw done.error
      return { dropCopies: done?.drop }
    })(),
  }
  const shared = g[SHARED]
  const { dropCopies } = await shared.ready
  shared.users++
  // The workers' database copies go when the last project that uses them is done.
  return async () => {
    if (--shared.users === 0) await dropCopies?.()
  }
}
