/**
 * Seeds the demo city once per test run into an embedded (PGlite) data folder that embedded test
 * servers copy instead of seeding again (seeding takes about a minute on PGlite). The folder is
 * kept under data/ keyed by a hash of the migrations and the seeder, so later runs reuse it.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { projectRoot } from '../../server/config.ts'
import { openPglite } from '../../server/db/pglite.ts'
import { migrate } from '../../server/db/migrate.ts'
import { createLogger } from '../../server/log.ts'
import { ensureSeeded } from '../../server/seed/index.ts'
import { TEST_ANCHOR, TEST_PASSWORD, TEST_SEED } from './constants.ts'

function hashTree(dir: string, h: crypto.Hash): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) hashTree(p, h)
    else h.update(entry.name).update(fs.readFileSync(p))
  }
}

export default async function setup(): Promise<void> {
  const h = crypto.createHash('sha256').update(`${TEST_SEED}|${TEST_ANCHOR}|${TEST_PASSWORD}`)
  hashTree(path.join(projectRoot, 'server', 'db', 'migrations'), h)
  hashTree(path.join(projectRoot, 'server', 'seed'), h)
  const dir = path.join(projectRoot, 'data', `test-template-${h.digest('hex').slice(0, 16)}`)
  if (!fs.existsSync(path.join(dir, '.complete'))) {
    fs.rmSync(dir, { recursive: true, force: true })
    const t = Date.now()
    const db = await openPglite(dir)
    await migrate(db)
    await ensureSeeded(db, { seedPassword: TEST_PASSWORD, seed: TEST_SEED, anchor: TEST_ANCHOR, tz: 'Asia/Shanghai', log: createLogger('warn') })
    await db.close()
    fs.writeFileSync(path.join(dir, '.complete'), '')
    console.log(`[tests] seeded the embedded demo-city template in ${((Date.now() - t) / 1000).toFixed(1)} s: ${dir}`)
  }
  process.env.ONEGRID_TEST_TEMPLATE = dir
}
