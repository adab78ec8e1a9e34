/**
 * `npm run simulate [-- options]`: the city simulator (simulator.ts) against a running OneGrid —
 * sensors publish over MQTT like a device fleet, workers on duty walk the roads and post their
 * positions through POST /api/positions, signed in as an admin or dispatcher.
 *
 * Reads the fleet and the roads from the database of the configuration (DATABASE_URL, else the
 * embedded data folder — which the running server keeps open, so a snapshot copy of it is read).
 *
 *   --url=URL          MQTT broker (MQTT_URL; default the embedded broker mqtt://127.0.0.1:ONEGRID_MQTT_PORT)
 *   --username=NAME    MQTT account (default simulator; password ONEGRID_MQTT_SECRET)
 *   --server=URL       OneGrid (ONEGRID_PUBLIC_URL; default http://127.0.0.1:PORT)
 *   --user=NAME        account positions are posted as (default admin); its password from
 *                      ONEGRID_SIM_PASSWORD, else ONEGRID_SEED_PASSWORD
 *   --rate=N           readings per second, all sensors together (ONEGRID_SIM_RATE; default 50)
 *   --duration=S       stop after S seconds (default: run until Ctrl-C)
 *   --pause=MS         pause between two publish batches (default 100; a batch is rate × pause)
 *   --seed=N           random seed (default ONEGRID_DEMO_SEED): the same seed gives the same run
 *   --no-faults        no silent sensors, no spikes over the alarm threshold
 *   --no-sensors / --no-workers
 *   --synthetic        also the synthetic (scale) sensors and workers
 *   --reports-per-hour=N  citizen reports an hour to the Open311 intake (ONEGRID_SIM_REPORTS_PER_HOUR; default 6)
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig, type Config } from '../config.ts'
import { openDb, type Db } from '../db/index.ts'
import { openPglite } from '../db/pglite.ts'
import { createLogger } from '../log.ts'
import { startSimulator } from './simulator.ts'

function fail(message: string): never {
  console.error(`onegrid simulate: ${message}`)
  process.exit(1)
}

function options() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        url: { type: 'string' },
        username: { type: 'string', default: 'simulator' },
        server: { type: 'string' },
        user: { type: 'string', default: 'dispatcher' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        pause: { type: 'string', default: '100' },
        seed: { type: 'string' },
        'no-faults': { type: 'boolean', default: false },
        'no-sensors': { type: 'boolean', default: false },
        'no-workers': { type: 'boolean', default: false },
        synthetic: { type: 'boolean', default: false },
        'reports-per-hour': { type: 'string' },
      },
      strict: true,
    }).values
  } catch (err) {
    fail(`${(err as Error).message}. Usage: npm run simulate -- [--rate=N] [--duration=S] [--pause=MS] [--url=mqtt://…] [--server=http://…] (see server/simulate/cli.ts)`)
  }
}
const values = options()

function configuration(): Config {
  try {
    return loadConfig()
  } catch (err) {
    fail((err as Error).message)
  }
}
const config = configuration()
const num = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}, not "${v}"`)
  return n
}
const rate = num('rate', values.rate, 0, 100_000) ?? config.ONEGRID_SIM_RATE
const reportsPerHour = num('reports-per-hour', values['reports-per-hour'], 0, 3600) ?? config.ONEGRID_SIM_REPORTS_PER_HOUR
const duration = num('duration', values.duration, 1, 365 * 86_400)
const pauseMs = num('pause', values.pause, 10, 10_000)!
const seed = num('seed', values.seed, 0, 2 ** 31) ?? config.ONEGRID_DEMO_SEED
const mqttUrl = values.url ?? config.MQTT_URL ?? `mqtt://127.0.0.1:${config.ONEGRID_MQTT_PORT ?? 1884}`
if (!/^(mqtts?|wss?):\/\//.test(mqttUrl)) fail(`--url must be an mqtt://, mqtts://, ws:// or wss:// URL, not "${mqttUrl}"`)
const server = (values.server ?? config.ONEGRID_PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/$/, '')
const password = process.env.ONEGRID_SIM_PASSWORD || config.ONEGRID_SEED_PASSWORD
if (!values['no-workers'] && !password) fail('set ONEGRID_SIM_PASSWORD (or ONEGRID_SEED_PASSWORD) to the password of --user, or pass --no-workers')
const log = createLogger(config.LOG_LEVEL)

/** The fleet's database: the server's, or a snapshot of the embedded folder (PGlite is one process's). */
async function openFleetDb(): Promise<{ db: Db; cleanup: () => void }> {
  if (config.DATABASE_URL) return { db: await openDb(config), cleanup: () => {} }
  const dir = config.ONEGRID_DATA_DIR
  if (!fs.existsSync(dir)) fail(`no database: set DATABASE_URL, or start OneGrid once so ${dir} exists`)
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-simulate-'))
  fs.cpSync(dir, copy, { recursive: true })
  return { db: await openPglite(copy), cleanup: () => fs.rmSync(copy, { recursive: true, force: true }) }
}

async function login(): Promise<Record<string, string>> {
  const res = await fetch(`${server}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: values.user, password }),
  })
  if (res.status !== 200) throw new Error(`signing in as ${values.user} at ${server} failed: ${res.status} ${(await res.text()).slice(0, 200)}`)
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('onegrid_session='))
  if (!cookie) throw new Error('signing in gave no session cookie')
  return { cookie: cookie.split(';')[0]! }
}

const fleet = await openFleetDb()
let headers: Record<string, string> | null = null
try {
  if (!values['no-workers']) headers = await login()
} catch (err) {
  fleet.cleanup()
  fail((err as Error).message)
}
const sim = await startSimulator({
  db: fleet.db,
  log,
  mqtt: values['no-sensors'] ? null : { url: mqttUrl, username: values.username, password: config.ONEGRID_MQTT_SECRET },
  http: values['no-workers']
    ? null
    : {
        url: server,
        headers: async (renew) => {
          if (renew || !headers) headers = await login()
          return headers
        },
      },
  rate,
  pauseMs,
  seed,
  tz: config.ONEGRID_TZ,
  faults: !values['no-faults'],
  synthetic: values.synthetic,
  citizens: { url: server, perHour: reportsPerHour, apiKey: config.ONEGRID_OPEN311_API_KEY?.split(',')[0]?.trim() },
})
// Everything is in memory now; the database is not needed any more.
await fleet.db.close()
fleet.cleanup()
console.log(
  `  Simulating ${sim.stats.sensors} sensors at ${rate} readings/s → ${mqttUrl}, ${sim.stats.workers} workers on ${sim.stats.roadNodes} road nodes → ${server}` +
    `${duration ? ` for ${duration} s` : ' (Ctrl-C stops)'}`,
)
const started = Date.now()
const report = setInterval(() => {
  const s = sim.stats
  const secs = (Date.now() - started) / 1000
  console.log(
    `  ${secs.toFixed(0)} s: ${s.published} readings (${(s.published / secs).toFixed(0)}/s), ${s.notSent} not sent${s.mqttConnected ? '' : ' [MQTT not connected]'}, ` +
      `${s.silentNow} silent, ${s.spikes} spikes; ${s.positionsPosted} positions posted${s.positionsRoute === 'missing' ? ' [no /api/positions on the server]' : ''}, ${s.positionErrors} failed`,
  )
}, 10_000)
const stop = async () => {
  clearInterval(report)
  await sim.stop()
  process.exit(0)
}
if (duration) setTimeout(() => void stop(), duration * 1000)
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())
