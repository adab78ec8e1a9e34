/**
 * The client side of `npm run bench:realtime` (bench/realtime.ts forks it): a separate process
 * holding the 50 socket.io clients and the 50 raw `ws` clients, and the MQTT publisher — so the
 * publish time and the receipt time come from one clock. Driven over IPC:
 *
 *   { cmd: 'connect', kind: 'sio' | 'ws', url, cookie?, n }  → { ok: 'connect', connected }
 *   { cmd: 'run', mqttUrl, codes, rate, seconds, warmup }     → { ok: 'run', … receipts and latencies }
 *   { cmd: 'flood', mqttUrl, codes, perSensor, t0, maxRate }  → { ok: 'flood', published, ms }
 *   { cmd: 'disconnect' }                                     → { ok: 'disconnect' }
 *
 * A reading's `ts` is its publish time; a client's latency for an item is receipt − ts.
 */
import mqtt from 'mqtt'
import type { Socket } from 'socket.io-client'
import WebSocket from 'ws'
import { connectSocket, percentile, sleep } from './lib.ts'

type Msg =
  | { cmd: 'connect'; kind: 'sio' | 'ws'; url: string; cookie?: string; n: number }
  | { cmd: 'run'; mqttUrl: string; codes: { code: string; value: number }[]; rate: number; seconds: number; warmup: number }
  | { cmd: 'flood'; mqttUrl: string; codes: { code: string; value: number }[]; perSensor: number; t0: number; maxRate: number }
  | { cmd: 'disconnect' }

interface Item {
  ts: string
}

const send = (m: unknown) => process.send!(m)

let sio: Socket[] = []
let ws: WebSocket[] = []
/** Receipts counted while a run measures: items whose ts lies in [from, to). */
const window = { from: Infinity, to: -Infinity }
let received = 0
let total = 0
let latencies = new Float64Array(1 << 20)
let nLat = 0

function receive(items: Item[]): void {
  const now = Date.now()
  for (const item of items) {
    total++
    const ts = Date.parse(item.ts)
    if (ts < window.from || ts >= window.to) continue
    received++
    if (nLat === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[nLat++] = now - ts
  }
}

async function connect(m: Extract<Msg, { cmd: 'connect' }>): Promise<number> {
  if (m.kind === 'sio') {
    sio = await Promise.all(
      Array.from({ length: m.n }, () =>
        connectSocket(m.url, {
          cookie: m.cookie,
          listen: (s) => s.on('telemetry', (p: { items: Item[] }) => receive(p.items)),
          // The whole city (and the world around it): every reading is in view.
          viewport: { bbox: [-180, -90, 180, 90], kinds: ['sensor'] },
        }),
      ),
    )
    return sio.filter((s) => s.connected).length
  }
  ws = await Promise.all(
    Array.from({ length: m.n }, async () => {
      const c = new WebSocket(m.url)
      await new Promise<void>((resolve, reject) => {
        c.once('open', () => resolve())
        c.once('error', reject)
      })
      c.on('message', (data) => receive((JSON.parse(data.toString()) as { items: Item[] }).items))
      return c
    }),
  )
  return ws.length
}

/** Publishes `rate` readings/s for `seconds` (round-robin over the sensors), QoS 0, ts = now. */
async function run(m: Extract<Msg, { cmd: 'run' }>) {
  const client = await mqtt.connectAsync(m.mqttUrl, { clientId: `bench-publisher-${process.pid}-${Date.now()}` })
  received = 0
  total = 0
  nLat = 0
  const start = Date.now()
  window.from = start + m.warmup * 1000
  window.to = window.from + m.seconds * 1000
  const end = window.to
  let published = 0
  let inWindow = 0
  let cursor = 0
  // Every 5 ms: the readings due by now (a steady rate, not bursts of a second's worth).
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - start) * m.rate) / 1000)
    while (published < due) {
      const s = m.codes[cursor++ % m.codes.length]!
      // A reading is keyed by sensor and time: each sensor reads once every codes/rate seconds here.
      const ts = Date.now()
      client.publish(`onegrid/sensors/${s.code}/reading`, `{"ts":"${new Date(ts).toISOString()}","value":${s.value}}`, { qos: 0 })
      published++
      if (ts >= window.from && ts < window.to) inWindow++
    }
    await sleep(5)
  }
  // Stragglers: until nothing more arrives for a second (at most 5 s).
  let last = -1
  for (let i = 0; i < 25 && received !== last; i++) {
    last = received
    await sleep(i < 5 ? 200 : 1000)
  }
  await client.endAsync()
  const lat = Array.from(latencies.subarray(0, nLat))
  const clients = sio.length || ws.length
  return { published, inWindow, expected: inWindow * clients, received, totalReceived: total, seconds: m.seconds, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), max: percentile(lat, 1) }
}

/** perSensor readings of every sensor, as fast as the broker takes them (at most maxRate/s: the ingest keeps 10 per device per 200 ms). */
async function flood(m: Extract<Msg, { cmd: 'flood' }>) {
  const client = await mqtt.connectAsync(m.mqttUrl, { clientId: `bench-flood-${process.pid}-${Date.now()}` })
  const start = Date.now()
  let published = 0
  const total = m.codes.length * m.perSensor
  for (let k = 0; k < m.perSensor; k++) {
    const ts = new Date(m.t0 + k).toISOString()
    for (const s of m.codes) {
      client.publish(`onegrid/sensors/${s.code}/reading`, `{"ts":"${ts}","value":${s.value}}`, { qos: 0 })
      published++
    }
    // Keep under maxRate, and let the socket drain.
    const ahead = (published / m.maxRate) * 1000 - (Date.now() - start)
    const buffered = (client.stream as { writableLength?: number }).writableLength ?? 0
    if (ahead > 0 || buffered > 4 * 1024 * 1024) await sleep(Math.max(1, ahead))
  }
  // Everything handed to the socket.
  while (((client.stream as { writableLength?: number }).writableLength ?? 0) > 0) await sleep(5)
  const ms = Date.now() - start
  await client.endAsync()
  return { published, total, ms }
}

process.on('message', (m: Msg) => {
  const reply = (p: Promise<Record<string, unknown>>) =>
    p.then(
      (r) => send({ ok: m.cmd, ...r }),
      (err: unknown) => send({ error: `${m.cmd}: ${(err as Error).message}` }),
    )
  if (m.cmd === 'connect') void reply(connect(m).then((connected) => ({ connected })))
  else if (m.cmd === 'run') void reply(run(m))
  else if (m.cmd === 'flood') void reply(flood(m))
  else if (m.cmd === 'disconnect') {
    for (const s of sio) s.close()
    for (const c of ws) c.close()
    sio = []
    ws = []
    send({ ok: 'disconnect' })
  }
})
send({ ok: 'started' })
