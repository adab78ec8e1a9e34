/**
 * Nothing missed: domain events are logged with the change, numbered in commit order, pushed
 * after commit to the sockets that may see them, and a client that was away gets exactly what it
 * missed — by socket.io recovery after a short drop, by replay from the log after a long one.
 */
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import { appendEvent } from '../../server/realtime/event-log.ts'
import { MAX_MESSAGE_BYTES } from '../../server/realtime/socket.ts'
import { EventStream, type DomainEvent } from '../../web/services/eventStream.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const BUND = '310101013'

interface SensorRow {
  id: number
  status: string
}

describe.each(backends())('event log on $name', ({ name, databaseUrl }) => {
  let s: TestServer
  /** Maintains the sensors (sensors.manage): changes their status. */
  let admin: string
  /** The city-wide dispatcher's seat: watches every event. */
  let dispatcher: string
  let supervisor: string
  let inBund: SensorRow
  let outside: SensorRow
  const sockets: Socket[] = []

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    admin = await login(s.url, 'admin')
    dispatcher = await login(s.url, 'dispatcher')
    supervisor = await login(s.url, 'supervisor')
    const pick = async (where: string) =>
      (await s.server.db.query<SensorRow>(`SELECT id, status FROM sensors WHERE ${where} AND status = 'online' ORDER BY id LIMIT 1`)).rows[0]!
    inBund = await pick(`grid_code LIKE '${BUND}%'`)
    outside = await pick(`grid_code NOT LIKE '${BUND}%'`)
  })
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    for (const x of [inBund, outside]) if (x) await s?.server.db.query('UPDATE sensors SET status = $2 WHERE id = $1', [x.id, x.status])
    await s?.close()
  })

  const patch = async (id: number, status: string) => {
    const res = await fetch(`${s.url}/api/sensors/${id}`, { method: 'PATCH', headers: { cookie: admin, 'content-type': 'application/json' }, body: JSON.stringify({ status }) })
    expect(res.status).toBe(200)
  }

  /** A socket with an EventStream recording what it hands on, connected and past its hello. */
  async function client(cookie: string, opts: { reconnectionDelay?: number } = {}) {
    const socket = connect(s.url, {
      path: '/socket.io',
      extraHeaders: { cookie },
      transports: ['websocket'],
      autoConnect: false,
      reconnectionDelay: opts.reconnectionDelay ?? 200,
      reconnectionDelayMax: opts.reconnectionDelay ?? 200,
      randomizationFactor: 0,
    })
    sockets.push(socket)
    const got: DomainEvent[] = []
    const errors: string[] = []
    const stream = new EventStream(socket, (e) => got.push(e), (m) => errors.push(m))
    const hello = new Promise<void>((resolve) => socket.once('hello', () => resolve()))
    socket.connect()
    await hello
    return { socket, got, errors, stream }
  }
  const until = (check: () => boolean | Promise<boolean>, what: string, ms = 20_000) => waitUntil(check, what, ms, 50)

  it('logs a status change with the change and pushes it only to the sockets that may see it', async () => {
    const a = await client(dispatcher)
    const sup = await client(supervisor)
    const before = a.stream.lastSeq!
    await patch(inBund.id, 'offline')
    await patch(outside.id, 'offline')
    await until(() => a.got.length >= 2, 'two events at the dispatcher')
    await until(() => sup.got.length >= 1, 'one event at the supervisor')
    await sleep(300)
    expect(a.got.map((e) => e.payload.id)).toEqual([inBund.id, outside.id])
    expect(a.got.map((e) => e.seq)).toEqual([before + 1, before + 2])
    expect(a.got[0]).toMatchObject({ type: 'sensor:status', payload: { status: 'offline', previous: 'online', by: 'admin' } })
    expect(sup.got.map((e) => e.payload.id)).toEqual([inBund.id])
    const { rows } = await s.server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_log WHERE seq > $1', [before])
    expect(rows[0]!.n).toBe(2)
    // An unchanged status is no event.
    await patch(inBund.id, 'offline')
    await sleep(300)
    expect(a.got).toHaveLength(2)
    a.socket.close()
    sup.socket.close()
  })

  it('a client away for 10 s gets what it missed by recovery, in order, once', async () => {
    const c = await client(dispatcher, { reconnectionDelay: 10_000 })
    const start = c.stream.lastSeq!
    // The connection drops (not a client disconnect): socket.io will try again in 10 s.
    c.socket.io.engine.close()
    await until(() => !c.socket.connected, 'the drop')
    const droppedAt = Date.now()
    for (const status of ['alarm', 'offline', 'online']) await patch(inBund.id, status)
    expect(c.got).toEqual([])
    await until(() => c.socket.connected, 'the reconnect', 30_000)
    const away = (Date.now() - droppedAt) / 1000
    await until(() => c.got.length >= 3, 'three events after recovery')
    await sleep(500)
    console.log(`[events] ${name}: away ${away.toFixed(1)} s, recovered: ${c.socket.recovered}`)
    expect(away).toBeGreaterThanOrEqual(9)
    expect(c.socket.recovered).toBe(true)
    expect(c.got.map((e) => e.seq)).toEqual([start + 1, start + 2, start + 3])
    expect(c.got.map((e) => e.payload.status)).toEqual(['alarm', 'offline', 'online'])
    expect(c.errors).toEqual([])
    c.socket.close()
  }, 60_000)

  it('a client away longer than recovery covers (a new connection) gets what it missed by replay, in order, once', async () => {
    const c = await client(dispatcher)
    const start = c.stream.lastSeq!
    // As after ten minutes away: the server no longer holds the socket's state, the client
    // comes back on a fresh connection (not recovered) and asks for the events after its last seq.
    c.socket.disconnect()
    for (const status of ['alarm', 'online']) await patch(inBund.id, status)
    await patch(outside.id, 'alarm')
    const hello = new Promise<void>((resolve) => c.socket.once('hello', () => resolve()))
    c.socket.connect()
    await hello
    expect(c.socket.recovered).toBe(false)
    // Live events meanwhile are held until the replay is in, then handed on in order.
    await patch(outside.id, 'online')
    await until(() => c.got.length >= 4, 'four events after replay')
    await sleep(500)
    expect(c.got.map((e) => e.seq)).toEqual([start + 1, start + 2, start + 3, start + 4])
    expect(c.got.map((e) => [e.payload.id, e.payload.status])).toEqual([
      [inBund.id, 'alarm'],
      [inBund.id, 'online'],
      [outside.id, 'alarm'],
      [outside.id, 'online'],
    ])
    expect(c.errors).toEqual([])
    c.socket.close()
  })

  it('replays only what the asker’s scope may see, in pages, and refuses a bad request with the reason', async () => {
    const sup = await client(supervisor)
    const all = (await sup.socket.emitWithAck('replay', { since: 0 })) as { events: DomainEvent[]; more: boolean }
    expect(all.events.length).toBeGreaterThan(0)
    for (const e of all.events) expect(e.scope).toMatch(new RegExp(`^${BUND}`))
    const page = (await sup.socket.emitWithAck('replay', { since: 0, limit: 1 })) as { events: DomainEvent[]; more: boolean }
    expect(page.events).toHaveLength(1)
    expect(page.more).toBe(all.events.length > 1)
    for (const bad of [{ since: -1 }, { since: 'x' }, { since: 0, limit: 100_000 }, { since: 0, room: 'scope:*' }, null]) {
      const answer = (await sup.socket.emitWithAck('replay', bad)) as { error?: string }
      expect(answer.error, JSON.stringify(bad)).toMatch(/bad replay request/)
    }
    expect(sup.socket.connected).toBe(true)
    sup.socket.close()
  })

  it('refuses a socket asking to join another street’s room, and lets it join rooms inside its own scope', async () => {
    const sup = await client(supervisor)
    const health = async () => ((await (await fetch(`${s.url}/api/health`)).json()) as { realtime: { refused: { outOfScope: number } } }).realtime.refused
    const before = await health()
    const other = (await sup.socket.emitWithAck('subscribe', { rooms: ['scope:310115005'] })) as { error?: string }
    expect(other.error).toMatch(/outside your scope \(310101013\): scope:310115005/)
    const broader = (await sup.socket.emitWithAck('subscribe', { rooms: [`scope:${BUND.slice(0, 6)}`] })) as { error?: string }
    expect(broader.error).toMatch(/outside your scope/)
    expect((await health()).outOfScope).toBe(before.outOfScope + 2)
    // Nothing was joined: an event in 陆家嘴 does not reach it.
    const lujiazui = (await s.server.db.query<SensorRow>(`SELECT id, status FROM sensors WHERE grid_code LIKE '310115005%' AND status = 'online' ORDER BY id LIMIT 1`)).rows[0]!
    try {
      await patch(lujiazui.id, 'offline')
      await sleep(500)
      expect(sup.got.filter((e) => e.payload.id === lujiazui.id)).toEqual([])
    } finally {
      await s.server.db.query('UPDATE sensors SET status = $2 WHERE id = $1', [lujiazui.id, lujiazui.status])
    }
    // Inside its scope: a grid of its street, one of its cases, a screen.
    const { rows } = await s.server.db.query<{ grid: string; mine: number; theirs: number }>(
      `SELECT (SELECT code FROM grids WHERE code LIKE '${BUND}%' ORDER BY code LIMIT 1) AS grid,
              (SELECT id FROM cases WHERE grid_code LIKE '${BUND}%' ORDER BY id LIMIT 1) AS mine,
              (SELECT id FROM cases WHERE grid_code NOT LIKE '${BUND}%' ORDER BY id LIMIT 1) AS theirs`,
    )
    const { grid, mine, theirs } = rows[0]!
    const ok = (await sup.socket.emitWithAck('subscribe', { rooms: [`scope:${grid}`, `case:${mine}`, 'screen:wall-1'] })) as { rooms?: string[] }
    expect(ok.rooms).toEqual([`scope:${grid}`, `case:${mine}`, 'screen:wall-1'])
    const theirCase = (await sup.socket.emitWithAck('subscribe', { rooms: [`case:${theirs}`, 'case:999999999999'] })) as { error?: string }
    expect(theirCase.error).toMatch(new RegExp(`case:${theirs}, case:999999999999`))
    for (const bad of [{ rooms: [] }, { rooms: ['scope:*'] }, { rooms: ['user:1'] }, { rooms: 'scope:310101013' }, {}]) {
      const answer = (await sup.socket.emitWithAck('subscribe', bad)) as { error?: string }
      expect(answer.error, JSON.stringify(bad)).toMatch(/bad subscribe request/)
    }
    expect(sup.socket.connected).toBe(true)
    sup.socket.close()
  })

  it('ends the connection of a client sending an oversized message, and goes on serving the others', async () => {
    const big = await client(dispatcher)
    const other = await client(dispatcher)
    const start = other.stream.lastSeq!
    const dropped = new Promise<string>((resolve) => big.socket.once('disconnect', (reason) => resolve(reason)))
    big.socket.emit('replay', { since: 0, pad: 'x'.repeat(MAX_MESSAGE_BYTES + 1024) }, () => {})
    expect(await dropped).toMatch(/transport (close|error)/)
    big.socket.close()
    await patch(inBund.id, 'offline')
    await patch(inBund.id, 'online')
    await until(() => other.got.length >= 2, 'the events after the oversized message')
    expect(other.got.map((e) => e.seq)).toEqual([start + 1, start + 2])
    expect((await fetch(`${s.url}/api/health`)).status).toBe(200)
    other.socket.close()
  })

  it('numbers events in commit order: a writer that commits later gets the later number, and a rollback leaves no hole', async () => {
    const db = s.server.db
    const first = await db.query<{ last: string }>('SELECT last FROM event_seq')
    const base = Number(first.rows[0]!.last)
    // A rolled-back event takes no number.
    await expect(
      db.transaction(async (tx) => {
        await appendEvent(tx, { type: 'test:rolled-back', scope: null, payload: {} })
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    const order: string[] = []
    const slow = db.transaction(async (tx) => {
      const e = await appendEvent(tx, { type: 'test:slow', scope: null, payload: {} })
      await sleep(400)
      order.push('slow commits')
      return e.seq
    })
    await sleep(100)
    const quick = db.transaction(async (tx) => {
      const e = await appendEvent(tx, { type: 'test:quick', scope: null, payload: {} })
      order.push('quick commits')
      return e.seq
    })
    const [slowSeq, quickSeq] = await Promise.all([slow, quick])
    expect(order).toEqual(['slow commits', 'quick commits'])
    expect([slowSeq, quickSeq]).toEqual([base + 1, base + 2])
    const { rows } = await db.query<{ type: string }>('SELECT type FROM event_log WHERE seq > $1 ORDER BY seq', [base])
    expect(rows.map((r) => r.type)).toEqual(['test:slow', 'test:quick'])
  })
})
