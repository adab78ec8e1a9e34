/**
 * Live telemetry to screens (server/realtime/telemetry.ts) on the real server with real
 * socket.io clients: values are coalesced per interval (latest wins), filtered to the client's
 * viewport and scope, capped per message, and a bad `viewport` message is refused with the reason.
 * The database plays no part in it, so this runs on the embedded backend only.
 */
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import type { TelemetryItem } from '../../server/realtime/telemetry.ts'
import { login, startTestServer, type TestServer } from '../helpers/server.ts'

const INTERVAL = 200

/** Ids far above the demo city's, so nothing else offers them. */
let nextId = 900_000_000 + (process.pid % 1000) * 10_000
const item = (over: Partial<TelemetryItem> = {}): TelemetryItem => ({
  kind: 'sensor',
  id: nextId++,
  lon: 121.49,
  lat: 31.24,
  scope: '310101013001001',
  ts: new Date().toISOString(),
  data: { value: 1 },
  ...over,
})

interface Client {
  socket: Socket
  messages: TelemetryItem[][]
  items: () => TelemetryItem[]
}

describe('telemetry: coalesced, viewport- and scope-filtered live values', () => {
  let s: TestServer
  const clients: Client[] = []

  beforeAll(async () => {
    s = await startTestServer({ env: { ONEGRID_TELEMETRY_MS: String(INTERVAL), ONEGRID_SIMULATE: 'off' } })
  })
  afterAll(async () => {
    for (const c of clients) c.socket.close()
    await s?.close()
  })

  async function client(user: string): Promise<Client> {
    const cookie = await login(s.url, user)
    const socket = connect(s.url, { path: '/socket.io', extraHeaders: { cookie }, transports: ['websocket'], autoConnect: false })
    const messages: TelemetryItem[][] = []
    socket.on('telemetry', (p: { items: TelemetryItem[] }) => messages.push(p.items))
    const hello = new Promise<void>((resolve) => socket.once('hello', () => resolve()))
    socket.connect()
    await hello
    const c = { socket, messages, items: () => messages.flat() }
    clients.push(c)
    return c
  }
  const viewport = (c: Client, req: unknown) => c.socket.timeout(5000).emitWithAck('viewport', req) as Promise<{ error?: string; bbox?: unknown }>
  const until = (check: () => boolean | Promise<boolean>, what: string, ms = 10_000) => waitUntil(check, what, ms, 10)

  it('100 values of one sensor within one interval reach a client as one item with the latest value; a viewport elsewhere gets nothing', async () => {
    const wall = await client('wall')
    // Two more city-wide seats: one looking elsewhere, one that never says where it looks.
    const elsewhere = await client('dispatcher')
    const silent = await client('leader')
    expect(await viewport(wall, { bbox: [121.4, 31.2, 121.6, 31.3], kinds: ['sensor', 'worker'] })).toEqual({ bbox: [121.4, 31.2, 121.6, 31.3], kinds: ['sensor', 'worker'] })
    expect((await viewport(elsewhere, { bbox: [120, 30, 120.5, 30.5] })).error).toBeUndefined()
    // `silent` never says what it looks at: it gets nothing.
    const id = nextId++
    const t0 = Date.now()
    for (let i = 0; i < 100; i++) s.server.telemetry.offer(item({ id, ts: new Date(t0 + i).toISOString(), data: { value: i } }))
    await until(() => wall.items().some((x) => x.id === id), 'the telemetry message')
    console.log(`[telemetry] offer → client in ${Date.now() - t0} ms (interval ${INTERVAL} ms)`)
    // Three more intervals: nothing else comes for it.
    await sleep(INTERVAL * 3)
    const got = wall.items().filter((x) => x.id === id)
    expect(got).toHaveLength(1)
    expect(got[0]).toMatchObject({ kind: 'sensor', id, data: { value: 99 }, scope: '310101013001001' })
    expect(elsewhere.items().filter((x) => x.id === id)).toHaveLength(0)
    expect(silent.items()).toHaveLength(0)

    // An older value offered after a newer one does not replace it.
    s.server.telemetry.offer(item({ id, ts: new Date(t0 + 500).toISOString(), data: { value: 500 } }))
    s.server.telemetry.offer(item({ id, ts: new Date(t0 + 400).toISOString(), data: { value: 400 } }))
    await until(() => wall.items().filter((x) => x.id === id).length === 2, 'the second value')
    expect(wall.items().filter((x) => x.id === id)[1]!.data).toEqual({ value: 500 })

    // Only the kinds asked for: a worker is not sent to a sensors-only viewport.
    expect((await viewport(elsewhere, { bbox: [121.4, 31.2, 121.6, 31.3], kinds: ['sensor'] })).error).toBeUndefined()
    const worker = item({ kind: 'worker', data: { speed: 1.2 } })
    const sensor = item()
    s.server.telemetry.offer(worker)
    s.server.telemetry.offer(sensor)
    await until(() => elsewhere.items().some((x) => x.id === sensor.id) && wall.items().some((x) => x.id === worker.id), 'the worker and the sensor')
    expect(elsewhere.items().some((x) => x.kind === 'worker')).toBe(false)

    // bbox null: no more telemetry.
    expect(await viewport(elsewhere, { bbox: null })).toEqual({ bbox: null, kinds: ['sensor', 'worker'] })
    const after = item()
    s.server.telemetry.offer(after)
    await until(() => wall.items().some((x) => x.id === after.id), 'the wall to get it')
    await sleep(INTERVAL * 2)
    expect(elsewhere.items().some((x) => x.id === after.id)).toBe(false)
  })

  it('a client out of scope gets nothing of another street, and the values of its own', async () => {
    // supervisor: 外滩街道 (310101013).
    const supervisor = await client('supervisor')
    expect((await viewport(supervisor, { bbox: [121, 31, 122, 32] })).error).toBeUndefined()
    const outside = item({ scope: '310101002001001' })
    const unplaced = item({ scope: null })
    const inside = item({ scope: '310101013002003' })
    s.server.telemetry.offer(outside)
    s.server.telemetry.offer(unplaced)
    s.server.telemetry.offer(inside)
    await until(() => supervisor.items().some((x) => x.id === inside.id), 'the value inside its scope')
    await sleep(INTERVAL * 2)
    const ids = supervisor.items().map((x) => x.id)
    expect(ids).not.toContain(outside.id)
    expect(ids).not.toContain(unplaced.id)
  })

  it('caps a message at 5000 items and sends the rest in the next one', async () => {
    const wall = await client('wall')
    expect((await viewport(wall, { bbox: [121.4, 31.2, 121.6, 31.3] })).error).toBeUndefined()
    const first = nextId
    for (let i = 0; i < 6000; i++) s.server.telemetry.offer(item({ lon: 121.4 + (i % 100) * 0.001, lat: 31.2 + Math.floor(i / 100) * 0.001 }))
    const mine = () => wall.messages.map((m) => m.filter((x) => x.id >= first && x.id < first + 6000).length).filter((n) => n > 0)
    await until(() => mine().reduce((a, n) => a + n, 0) >= 6000, 'all 6000 items')
    expect(mine()).toEqual([5000, 1000])
  })

  it('skips a slow client while its last message has not left, then sends it only the latest values', async () => {
    const slow = await client('wall')
    expect((await viewport(slow, { bbox: [121.4, 31.2, 121.6, 31.3] })).error).toBeUndefined()
    // Stop reading from the connection: the server's writes fill the TCP buffers and stay pending.
    const tcp = (slow.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket
    tcp.pause()
    const ids = Array.from({ length: 3000 }, () => nextId++)
    const pad = 'x'.repeat(600)
    const rounds = 25
    for (let r = 1; r <= rounds; r++) {
      const ts = new Date().toISOString()
      for (const id of ids) s.server.telemetry.offer(item({ id, ts, data: { round: r, pad } }))
      await sleep(INTERVAL)
    }
    const health = async () => (await (await fetch(`${s.url}/api/health`)).json()) as { telemetry: { messages: number } }
    tcp.resume()
    const latest = () => {
      const last = new Map<number, number>()
      for (const x of slow.items()) if (x.id >= ids[0]! && x.id <= ids.at(-1)!) last.set(x.id, x.data.round as number)
      return last
    }
    await until(() => latest().size === ids.length && [...latest().values()].every((v) => v === rounds), 'the latest round for every object', 30_000)
    const messages = slow.messages.filter((m) => m.some((x) => x.id >= ids[0]! && x.id <= ids.at(-1)!)).length
    console.log(`[telemetry] slow client: ${messages} messages for ${rounds} rounds (the rest skipped while it did not read); ${(await health()).telemetry.messages} messages sent in all`)
    expect(messages).toBeLessThan(rounds)
  })

  it('refuses a bad viewport message with the reason and counts it', async () => {
    const c = await client('wall')
    const before = (await (await fetch(`${s.url}/api/health`)).json()) as { realtime: { refused: { viewport: number } } }
    const bad = await viewport(c, { bbox: [1, 2, 3] })
    expect(bad.error).toMatch(/^bad viewport request: .*bbox/)
    const flipped = await viewport(c, { bbox: [122, 31, 121, 32] })
    expect(flipped.error).toMatch(/west ≤ east/)
    const extra = await viewport(c, { bbox: [121, 31, 122, 32], rooms: ['scope:31'] })
    expect(extra.error).toMatch(/bad viewport request/)
    const kinds = await viewport(c, { bbox: [121, 31, 122, 32], kinds: ['camera'] })
    expect(kinds.error).toMatch(/kinds/)
    // A message without an ack is refused and counted too, and the socket stays usable.
    c.socket.emit('viewport', 'everything')
    const health = async () => (await (await fetch(`${s.url}/api/health`)).json()) as { realtime: { refused: { viewport: number } }; telemetry: { offered: number; sent: number; clients: number } }
    let after = await health()
    const start = Date.now()
    while (after.realtime.refused.viewport - before.realtime.refused.viewport < 5 && Date.now() - start < 5000) {
      await sleep(50)
      after = await health()
    }
    expect(after.realtime.refused.viewport - before.realtime.refused.viewport).toBe(5)
    expect(after.telemetry.offered).toBeGreaterThan(6000)
    expect(after.telemetry.sent).toBeGreaterThan(6000)
    expect((await viewport(c, { bbox: [121, 31, 122, 32] })).error).toBeUndefined()
  })
})

const redisUrl = process.env.REDIS_URL
if (!redisUrl && process.env.CI === 'true') throw new Error('CI=true but REDIS_URL is not set: .ci/run starts Redis and sets it')

describe.skipIf(!redisUrl)('telemetry across two processes (Redis adapter)', () => {
  let a: TestServer
  let b: TestServer
  let socket: Socket | undefined

  beforeAll(async () => {
    // A prefix of this run's own, so other servers on the same Redis are not peers of these two.
    const env = { REDIS_URL: redisUrl!, ONEGRID_REDIS_PREFIX: `onegrid-telemetry-test-${process.pid}`, ONEGRID_TELEMETRY_MS: String(INTERVAL), ONEGRID_SIMULATE: 'off' }
    a = await startTestServer({ env })
    b = await startTestServer({ env })
  })
  afterAll(async () => {
    socket?.close()
    await a?.close()
    await b?.close()
  })

  it('a value offered on process A reaches a client connected to process B, once', async () => {
    const cookie = await login(b.url, 'wall')
    socket = connect(b.url, { path: '/socket.io', extraHeaders: { cookie }, transports: ['websocket'] })
    const got: TelemetryItem[] = []
    socket.on('telemetry', (p: { items: TelemetryItem[] }) => got.push(...p.items))
    await new Promise<void>((resolve) => socket!.once('hello', () => resolve()))
    expect(await socket.timeout(5000).emitWithAck('viewport', { bbox: [121.4, 31.2, 121.6, 31.3] })).toMatchObject({ kinds: ['sensor', 'worker'] })
    // The processes find each other by the adapter's heartbeat: offer until one arrives.
    const id = nextId++
    const start = Date.now()
    let value = 0
    while (!got.some((x) => x.id === id)) {
      if (Date.now() - start > 30_000) throw new Error('nothing offered on A reached the client on B within 30 s')
      a.server.telemetry.offer(item({ id, ts: new Date().toISOString(), data: { value: ++value } }))
      await sleep(INTERVAL)
    }
    console.log(`[telemetry] A → B after ${Date.now() - start} ms (peers found by heartbeat)`)
    // Now connected: 50 values in one interval arrive as one item, the latest.
    const again = nextId++
    const t0 = Date.now()
    for (let i = 1; i <= 50; i++) a.server.telemetry.offer(item({ id: again, ts: new Date(t0 + i).toISOString(), data: { value: i } }))
    const sent = Date.now()
    while (!got.some((x) => x.id === again) && Date.now() - sent < 10_000) await sleep(10)
    console.log(`[telemetry] A → B in ${Date.now() - sent} ms (interval ${INTERVAL} ms on each side)`)
    await sleep(INTERVAL * 3)
    expect(got.filter((x) => x.id === again).map((x) => x.data)).toEqual([{ value: 50 }])
    const health = (await (await fetch(`${b.url}/api/health`)).json()) as { telemetry: { fromPeers: number } }
    expect(health.telemetry.fromPeers).toBeGreaterThan(0)
  })
})

