/**
 * `npm run seed`: builds the demo city on the configured database (as the first `npm start`
 * does), and with `--scale[=n]` adds synthetic districts for benchmarks (see scale.ts).
 */
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import { ConfigError, loadConfig } from '../config.ts'
import { openDb, StartupError } from '../db/index.ts'
import { migrate } from '../db/migrate.ts'
import { createLogger } from '../log.ts'
import { ensureSeeded, seedSettings } from './index.ts'
import { scaleUp } from './scale.ts'

function fail(message: string): never {
  console.error(`onegrid seed: ${message}`)
  process.exit(1)
}

// `--scale` alone means one province's worth.
const argv = process.argv.slice(2).map((a) => (a === '--scale' ? '--scale=1' : a))
let scale: number | undefined
try {
  const { values } = parseArgs({ args: argv, options: { scale: { type: 'string' } }, strict: true })
  if (values.scale !== undefined) {
    scale = Number(values.scale)
    if (!Number.isFinite(scale) || scale <= 0 || scale > 20) fail(`--scale must be a number above 0 and at most 20, not "${values.scale}"`)
  }
} catch (err) {
  fail(`${(err as Error).message}. Usage: npm run seed [-- --scale[=n]]`)
}

let config
try {
  config = loadConfig()
} catch (err) {
  fail((err as ConfigError).message)
}
const log = createLogger(config.LOG_LEVEL)
const started = Date.now()
try {
  const db = await openDb(config)
  try {
    await migrate(db)
    await ensureSeeded(db, seedSettings(config, log))
    console.log(`  Demo city ready (${((Date.now() - started) / 1000).toFixed(1)} s).`)
    if (scale !== undefined) {
      const t = Date.now()
      const bar = new cliProgress.SingleBar({ format: '  synthetic districts [{bar}] {value}/{total} · {eta_formatted} left' }, cliProgress.Presets.shades_classic)
      let started = false
      const counts = await scaleUp(db, scale, (done, total) => {
        if (!started) {
          bar.start(total, 0)
          started = true
        }
        bar.update(done)
      })
      if (started) bar.stop()
      const seconds = (Date.now() - t) / 1000
      console.log(
        `  Scale ${scale}: ${counts.synthetic_districts} synthetic districts; now ${counts.grids.toLocaleString('en')} grids, ` +
          `${counts.sensors.toLocaleString('en')} sensors, ${counts.cameras.toLocaleString('en')} cameras, ${counts.workers.toLocaleString('en')} workers.`,
      )
      console.log(`  Scaling took ${seconds.toFixed(1)} s.`)
    }
  } finally {
    await db.close()
  }
} catch (err) {
  if (err instanceof StartupError) fail(err.message)
  throw err
}
