/**
 * `npm run bench:realtime` — the realtime benchmark of issue 5 (a benchmark, not a test).
 *
 * On the real PostgreSQL backend (BENCH_DATABASE_URL / --database-url; default
 * postgres://postgres@127.0.0.1:5432/onegrid_bench, created and seeded with the demo city if
 * missing) and a real MQTT broker (MQTT_URL / --mqtt-url; default Mosquitto at
 * mqtt://127.0.0.1:1883), it starts the OneGrid server in this process with telemetry
 * coalescing off (ONEGRID_TELEMETRY_MS=0: every reading is sent at once, like for like with a
 * raw broadcast), forks the clients into a SEPARATE process (bench/realtime-clients.ts), and:
 *
 *   socket.io  50 socket.io clients signed in as admin, viewport = the whole city; the client
 *              process publishes 1 k readings/s over MQTT for 20 s (1 000 distinct sensors, ts =
 *              publish time): MQTT → ingest → telemetry → socket.io → clients. Each client measures
 *              publish → receipt latency; delivered/s counts items received by all clients.
 *   raw ws     the floor, in the same run: a plain `ws` server in this process that subscribes to
 *              the same topic and broadcasts each reading, as the same payload ({ items: [item] }),
 *              to 50 `ws` clients in the same client process; the same publisher, rate and time.
 *              The OneGrid ingest keeps reading and storing meanwhile, as in the socket.io run.
 *   ingest     no clients; 100 k readings (100 per sensor) published as fast as the broker takes
 *              them (at most 25 k/s: the ingest keeps 10 readings per device per 200 ms window);
 *              readings persisted per second = rows in sensor_readings / time from the first
 *              publish until the count stops growing.
 *
 * Prints a table and the targets (fan-out ≥ 0.7 × raw ws, p99 < 250 ms, ≥ 10 k readings/s).
 * Options: --clients=50 --rate=1000 --seconds=20 --sensors=1000 --readings=100000 --quick (10 clients, 5 s, 20 k readings).
 * The demo accounts' password: ONEGRID_SEED_PASSWORD, default "onegrid-bench" (as bench:tiles).
 */
import { fork, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import { WebSocketServer, WebSocket } from 'ws'
import { loadConfig, projectRoot } from '../server/config.ts'
import { createLogger } from '../server/log.ts'
import { startServer, type RunningServer } from '../server/main.ts'
import { ensureDatabase, fmt, log, login, sleep, table, waitFor } from './lib.ts'

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'database-url': { type: 'string' },
    'mqtt-url': { type: 'string' },
    clients: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    sensors: { type: 'string' },
    readings: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
  strict: true,
})
const int = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, not "${v}"`)
  return n
}
const quick = values.quick
const opts = {
  databaseUrl: values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/onegrid_bench',
  mqttUrl: values['mqtt-url'] ?? process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  clients: int('clients', values.clients, quick ? 10 : 50),
  rate: int('rate', values.rate, 1000),
  seconds: int('seconds', values.seconds, quick ? 5 : 20),
  sensors: int('sensors', values.sensors, 1000),
  readings: int('readings', values.readings, quick ? 20_000 : 100_000),
  password: process.env.ONEGRID_SEED_PASSWORD ?? 'onegrid-bench',
  warmup: 2,
}
const FLOOD_MAX_RATE = 25_000

/** The client process and a request/answer over IPC. */
class Clients {
  readonly child: ChildProcess
  #waiting: ((m: Record<string, unknown>) => void) | null = null
  constructor() {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'realtime-clients.ts')
    this.child = fork(file, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (m: Record<string, unknown>) => {
      const w = this.#waiting
      this.#waiting = null
      w?.(m)
    })
  }
  started(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => (this.#waiting = resolve))
  }
  async ask<T = Record<string, unknown>>(m: Record<string, unknown>): Promise<T> {
    const answer = new Promise<Record<string, unknown>>((resolve) => (this.#waiting = resolve))
    this.child.send(m)
    const a = await answer
    if (a.error) throw new Error(`client process: ${String(a.error)}`)
    return a as T
  }
}

interface RunResult {
  published: number
  inWindow: number
  expected: number
  received: number
  totalReceived: number
  seconds: number
  p50: number
  p99: number
  max: number
}

interface Fleet {
  id: number
  code: string
  lon: number
  lat: number
  grid_code: string | null
  value: number
}

/** The floor: a raw `ws` broadcast of every reading on the topic, the same payload as OneGrid's telemetry. */
async function rawWsFloor(mqttUrl: string, fleet: Map<string, Fleet>): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer()
  const wss = new WebSocketServer({ server })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = await mqtt.connectAsync(mqttUrl, { clientId: `bench-ws-floor-${process.pid}` })
  await client.subscribeAsync('onegrid/sensors/+/reading', { qos: 0 })
  client.on('message', (topic, payload) => {
    const code = topic.split('/')[2]!
    const s = fleet.get(code)
    if (!s) return
    const r = JSON.parse(payload.toString('utf8')) as { ts: string; value: number }
    const data = JSON.stringify({ items: [{ kind: 'sensor', id: s.id, lon: s.lon, lat: s.lat, scope: s.grid_code, ts: r.ts, data: { value: r.value, status: 'online' } }] })
    for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(data)
  })
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      await client.endAsync()
      for (const c of wss.clients) c.terminate()
      wss.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function main(): Promise<void> {
  const t0 = Date.now()
  log(`database ${opts.databaseUrl.replace(/\/\/[^@]*@/, '//…@')}, broker ${opts.mqttUrl}; ${opts.clients} clients, ${opts.rate} readings/s for ${opts.seconds} s, ${opts.readings} readings for the ingest run`)
  await ensureDatabase(opts.databaseUrl)
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl,
    MQTT_URL: opts.mqttUrl,
    ONEGRID_SEED_PASSWORD: opts.password,
    ONEGRID_DEMO_SEED: '1',
    ONEGRID_DEMO_ANCHOR: '2026-11-01',
    ONEGRID_WEB_DIR: path.join(projectRoot, 'dist', 'web'),
    ONEGRID_TELEMETRY_MS: '0',
    ONEGRID_SIMULATE: 'off',
    ONEGRID_MQTT_PORT: 'off',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  })
  const server: RunningServer = await startServer(config, createLogger(config.LOG_LEVEL))
  const clients = new Clients()
  let floor: Awaited<ReturnType<typeof rawWsFloor>> | null = null
  try {
    await clients.started()
    const cookie = await login(server.url, opts.password)
    // The sensors: real ones first; a value well inside the normal range (no alarms).
    const { rows: fleetRows } = await server.db.query<Fleet>(
      `SELECT id, code, ST_X(geom) AS lon, ST_Y(geom) AS lat, grid_code,
              round(coalesce(least(last_value, (thresholds ->> 'warn')::float8 * 0.5), (thresholds ->> 'warn')::float8 * 0.5, 1)::numeric, 2)::float8 AS value
         FROM sensors ORDER BY synthetic, id LIMIT $1`,
      [opts.sensors],
    )
    if (fleetRows.length < opts.sensors) log(`only ${fleetRows.length} sensors in the database (asked for ${opts.sensors})`)
    const codes = fleetRows.map((r) => ({ code: r.code, value: r.value }))
    const fleet = new Map(fleetRows.map((r) => [r.code, r]))
    await waitFor(async () => (await health(server.url)).mqtt?.connected === true, 'the server to connect to the broker', 20_000)
    const load = os.loadavg()[0]!

    // ── socket.io through OneGrid ──
    const a = await clients.ask<{ connected: number }>({ cmd: 'connect', kind: 'sio', url: server.url, cookie, n: opts.clients })
    log(`socket.io: ${a.connected} clients connected; publishing ${opts.rate}/s for ${opts.warmup} + ${opts.seconds} s`)
    const before = await health(server.url)
    const sio = await clients.ask<RunResult>({ cmd: 'run', mqttUrl: opts.mqttUrl, codes, rate: opts.rate, seconds: opts.seconds, warmup: opts.warmup })
    const after = await health(server.url)
    await clients.ask({ cmd: 'disconnect' })

    // ── raw ws floor ──
    floor = await rawWsFloor(opts.mqttUrl, fleet)
    const b = await clients.ask<{ connected: number }>({ cmd: 'connect', kind: 'ws', url: floor.url, n: opts.clients })
    log(`raw ws: ${b.connected} clients connected; same publisher`)
    const raw = await clients.ask<RunResult>({ cmd: 'run', mqttUrl: opts.mqttUrl, codes, rate: opts.rate, seconds: opts.seconds, warmup: opts.warmup })
    await clients.ask({ cmd: 'disconnect' })
    await floor.close()
    floor = null

    // ── ingest: readings persisted per second ──
    const perSensor = Math.max(1, Math.ceil(opts.readings / codes.length))
    const tsFrom = Date.now() - 30 * 60_000
    const ids = fleetRows.map((r) => r.id)
    await server.db.query(`DELETE FROM sensor_readings WHERE sensor_id = ANY($1::int[]) AND ts >= $2 AND ts < $3`, [ids, new Date(tsFrom).toISOString(), new Date(tsFrom + perSensor).toISOString()])
    const countRows = async () =>
      (
        await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sensor_readings WHERE sensor_id = ANY($1::int[]) AND ts >= $2 AND ts < $3`, [
          ids,
          new Date(tsFrom).toISOString(),
          new Date(tsFrom + perSensor).toISOString(),
        ])
      ).rows[0]!.n
    const ingestBefore = (await health(server.url)).mqtt
    log(`ingest: publishing ${codes.length * perSensor} readings (${perSensor} per sensor) as fast as the broker takes them`)
    const started = Date.now()
    const floodDone = clients.ask<{ published: number; ms: number }>({ cmd: 'flood', mqttUrl: opts.mqttUrl, codes, perSensor, t0: tsFrom, maxRate: FLOOD_MAX_RATE })
    let persisted = 0
    let lastGrowth = Date.now()
    let published: { published: number; ms: number } | null = null
    void floodDone.then((p) => (published = p))
    for (;;) {
      await sleep(100)
      const n = await countRows()
      if (n > persisted) {
        persisted = n
        lastGrowth = Date.now()
      }
      if (published && (persisted >= (published as { published: number }).published || Date.now() - lastGrowth > 5000)) break
    }
    const ingestSeconds = (lastGrowth - started) / 1000
    const pub = (await floodDone) as { published: number; ms: number }
    const ingestAfter = (await health(server.url)).mqtt
    await server.db.query(`DELETE FROM sensor_readings WHERE sensor_id = ANY($1::int[]) AND ts >= $2 AND ts < $3`, [ids, new Date(tsFrom).toISOString(), new Date(tsFrom + perSensor).toISOString()])

    // ── report ──
    const rate = (r: RunResult) => r.received / r.seconds
    const ratio = rate(sio) / rate(raw)
    const ingestRate = persisted / ingestSeconds
    const row = (name: string, r: RunResult) => [name, fmt(r.inWindow / r.seconds, 0), fmt(r.expected / r.seconds, 0), fmt(rate(r), 0), fmt((100 * r.received) / Math.max(1, r.expected), 1) + '%', fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.max, 0)]
    console.log(`\nRealtime fan-out: ${opts.clients} clients, ${codes.length} sensors, ${opts.rate} readings/s over MQTT for ${opts.seconds} s (after ${opts.warmup} s warm-up); telemetry coalescing off`)
    console.log(`machine: ${os.cpus().length} cores, load ${load.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end\n`)
    console.log(
      table(
        ['path', 'published/s', 'expected/s', 'delivered/s', 'delivered', 'p50 ms', 'p99 ms', 'max ms'],
        [row('socket.io (OneGrid: MQTT → ingest → telemetry)', sio), row('raw ws broadcast (floor)', raw)],
      ),
    )
    const tel = after.telemetry
    const telBefore = before.telemetry
    console.log(`\nsocket.io ÷ raw ws delivered/s: ${ratio.toFixed(2)}   (server telemetry during the run: ${tel.sent - telBefore.sent} item deliveries, ${tel.dropped.slowClient - telBefore.dropped.slowClient} dropped for slow clients)`)
    const dropped = ingestAfter && ingestBefore ? Object.entries(ingestAfter.dropped).map(([k, v]) => [k, v - (ingestBefore.dropped[k] ?? 0)] as const).filter(([, v]) => v > 0) : []
    console.log(
      `\nIngest: ${pub.published} readings published in ${(pub.ms / 1000).toFixed(1)} s (${fmt(pub.published / (pub.ms / 1000), 0)}/s, capped at ${FLOOD_MAX_RATE}/s); ` +
        `${persisted} persisted in ${ingestSeconds.toFixed(1)} s → ${fmt(ingestRate, 0)} readings/s persisted` +
        (dropped.length ? ` (dropped by the ingest: ${dropped.map(([k, v]) => `${k} ${v}`).join(', ')})` : '') +
        (persisted < pub.published ? ` — ${pub.published - persisted} not persisted` : ''),
    )
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS')
    console.log(
      '\n' +
        table(
          ['target', 'value', 'result'],
          [
            ['socket.io fan-out ≥ 0.7 × raw ws', ratio.toFixed(2), verdict(ratio >= 0.7)],
            ['end-to-end p99 < 250 ms at 1 k events/s', `${fmt(sio.p99, 1)} ms`, verdict(sio.p99 < 250)],
            ['≥ 10 k readings/s ingested and persisted', `${fmt(ingestRate, 0)}/s`, verdict(ingestRate >= 10_000)],
          ],
        ),
    )
    console.log(`\n(${((Date.now() - t0) / 1000).toFixed(0)} s in all)`)
  } finally {
    await floor?.close().catch(() => {})
    clients.child.kill()
    await server.close()
  }
}

interface Health {
  mqtt?: { connected: boolean; dropped: Record<string, number> }
  telemetry: { sent: number; dropped: { slowClient: number } }
}
async function health(url: string): Promise<Health> {
  return (await (await fetch(`${url}/api/health`)).json()) as Health
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:realtime: ${(err as Error).stack ?? String(err)}`)
    process.exit(1)
  },
)
