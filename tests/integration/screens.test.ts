/**
 * View sync (issue 7): a dispatcher pushes a view to `screen:<id>` and the walls in that room get
 * it with who pushed; a wall that joins later gets the current state at once; release sends
 * `view: null`; GET /api/screens/:id gives the same state. Roles without the permission
 * screens.push (a worker, the wall kiosk, a supervisor) and bad payloads are refused with the
 * reason and counted. On PostgreSQL with Redis: a push on one server reaches a wall on another,
 * and the state outlives the server that stored it.
 */
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../server/auth/password.ts'
import type { ScreenAnswer, ScreenState, ScreenView, SubscribeAnswer } from '../../server/realtime/events.ts'
import { until } from '../helpers/wait.ts'
import { backends, login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

const VIEW: ScreenView = { camera: { center: [121.49, 31.24], zoom: 15.5, bearing: 30, pitch: 50 }, mode: '3d', layers: ['cases', 'sensors'], selection: { kind: 'case', id: 42 } }
const run = `${process.pid}-${Date.now()}`
/** A screen id of this run (removed afterwards). */
const screenId = (name: string) => `twall-${name}-${run}`

interface Health {
  realtime: { refused: Record<string, number> }
}

/** A socket.io client signed in with `cookie`, connected and past its hello, recording the screen states it gets. */
async function client(url: string, cookie: string, sockets: Socket[]) {
  const socket = connect(url, { path: '/socket.io', extraHeaders: { cookie }, transports: ['websocket'], autoConnect: false })
  sockets.push(socket)
  const states: ScreenState[] = []
  socket.on('screen:state', (s) => states.push(s))
  const hello = new Promise<void>((resolve) => socket.once('hello', () => resolve()))
  socket.connect()
  await hello
  const ask = <T>(event: string, body: unknown) => socket.timeout(10_000).emitWithAck(event, body) as Promise<T>
  return {
    socket,
    states,
    subscribe: (rooms: string[]) => ask<SubscribeAnswer>('subscribe', { rooms }),
    push: (body: unknown) => ask<ScreenAnswer>('screen:push', body),
    release: (body: unknown) => ask<ScreenAnswer>('screen:release', body),
  }
}

describe.each(backends())('view sync on $name', ({ databaseUrl }) => {
  let s: TestServer
  const cookies: Record<string, string> = {}
  const sockets: Socket[] = []
  const shiftLeader = `twall-shift-${process.pid}`.slice(0, 60)

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    // A shift leader (值班长, a role holding screens.push) of the street may push; the demo supervisor may not.
    await s.server.db.query('DELETE FROM users WHERE username = $1', [shiftLeader])
    await s.server.db.query(
      `INSERT INTO users (username, display_name, password_hash, role, scope_code, duties) VALUES ($1, '值班长', $2, 'shift_leader', '310101013', ARRAY['shift_leader'])`,
      [shiftLeader, await hashPassword(TEST_PASSWORD)],
    )
    for (const u of ['dispatcher', 'wall', 'worker', 'supervisor', 'leader', shiftLeader]) cookies[u] = await login(s.url, u)
  }, 180_000)

  afterAll(async () => {
    for (const socket of sockets) socket.close()
    if (s) {
      await s.server.db.query(`DELETE FROM screens WHERE id LIKE 'twall-%'`)
      await s.server.db.query('DELETE FROM users WHERE username = $1', [shiftLeader])
    }
    await s?.close()
  })

  const getState = async (id: string, who = 'wall') => {
    const res = await fetch(`${s.url}/api/screens/${encodeURIComponent(id)}`, { headers: { cookie: cookies[who]! } })
    return { status: res.status, body: (await res.json()) as ScreenState & { error?: { message: string } } }
  }
  const refused = async () => ((await (await fetch(`${s.url}/api/health`)).json()) as Health).realtime.refused

  it('a dispatcher’s push reaches the walls in the room with who pushed; a late joiner gets it at once; release sends view null', async () => {
    const id = screenId('hall')
    const wall = await client(s.url, cookies.wall!, sockets)
    const other = await client(s.url, cookies.wall!, sockets)
    expect(await wall.subscribe([`screen:${id}`])).toEqual({ rooms: [`screen:${id}`] })
    expect(await other.subscribe([`screen:${screenId('elsewhere')}`])).toEqual({ rooms: [`screen:${screenId('elsewhere')}`] })
    // Never pushed: nothing on join, and the HTTP state is released since the epoch.
    expect(await getState(id)).toEqual({ status: 200, body: { screen: id, view: null, by: null, at: new Date(0).toISOString() } })

    const seat = await client(s.url, cookies.dispatcher!, sockets)
    const sent = Date.now()
    const answer = await seat.push({ screen: id, view: VIEW })
    expect(answer).toMatchObject({ screen: id, view: VIEW, by: { username: 'dispatcher', name: '调度员' } })
    const state = answer as ScreenState
    const ms = await until(() => wall.states.length > 0, 'the pushed view at the wall')
    console.log(`[screens] push → wall in ${Date.now() - sent} ms (waited ${ms} ms)`)
    expect(wall.states).toEqual([state])
    expect(Date.parse(state.at)).toBeGreaterThan(sent - 60_000)
    // Only that screen's room got it.
    expect(other.states).toEqual([])
    expect(seat.states).toEqual([])
    expect(await getState(id)).toEqual({ status: 200, body: state })

    // A wall that connects later gets the current state right after it joins.
    const late = await client(s.url, cookies.wall!, sockets)
    await late.subscribe([`screen:${id}`])
    await until(() => late.states.length > 0, 'the current state at the late joiner')
    expect(late.states).toEqual([state])

    // Defaults are filled in: a camera without bearing and pitch, no mode.
    const plain = (await seat.push({ screen: id, view: { camera: { center: [121.5, 31.23], zoom: 12 } } })) as ScreenState
    expect(plain.view).toEqual({ camera: { center: [121.5, 31.23], zoom: 12, bearing: 0, pitch: 0 }, mode: '2d' })
    await until(() => wall.states.length === 2 && late.states.length === 2, 'the second view at both walls')
    expect(Date.parse(plain.at)).toBeGreaterThanOrEqual(Date.parse(state.at))

    const released = (await seat.release({ screen: id })) as ScreenState
    expect(released).toMatchObject({ screen: id, view: null, by: null })
    await until(() => wall.states.length === 3 && late.states.length === 3, 'the release at both walls')
    expect(wall.states[2]).toEqual(released)
    expect(await getState(id)).toEqual({ status: 200, body: released })
    // A wall joining a released screen is told it is released.
    const later = await client(s.url, cookies.wall!, sockets)
    await later.subscribe([`screen:${id}`])
    await until(() => later.states.length > 0, 'the released state at a later joiner')
    expect(later.states).toEqual([released])
  })

  it('leaders and shift leaders may push; a worker, the wall kiosk and a supervisor (no screens.push) are refused with the reason', async () => {
    const id = screenId('roles')
    for (const who of ['leader', shiftLeader]) {
      const c = await client(s.url, cookies[who]!, sockets)
      expect(await c.push({ screen: id, view: VIEW }), who).toMatchObject({ screen: id, by: { username: who } })
    }
    const before = await refused()
    for (const who of ['worker', 'wall', 'supervisor']) {
      const c = await client(s.url, cookies[who]!, sockets)
      const answer = await c.push({ screen: id, view: VIEW })
      expect(answer, who).toEqual({ error: `pushing a view to a screen needs the permission screens.push, which the ${who} role does not hold` })
      expect(await c.release({ screen: id }), who).toEqual({ error: `pushing a view to a screen needs the permission screens.push, which the ${who} role does not hold` })
    }
    expect((await refused()).screenDenied - before.screenDenied).toBe(6)
    // Nothing changed: the shift leader's push stands.
    expect((await getState(id)).body.by).toEqual({ username: shiftLeader, name: '值班长' })

    // A worker may not watch a screen either (the room is for the roles that see the wall's layers).
    const w = await client(s.url, cookies.worker!, sockets)
    expect(await w.subscribe([`screen:${id}`])).toEqual({ error: `watching a screen needs the permission wall.view, which the worker role does not hold (screen:${id})` })
    expect((await refused()).screenDenied - before.screenDenied).toBe(7)
    const res = await fetch(`${s.url}/api/screens/${id}`, { headers: { cookie: cookies.worker! } })
    expect(res.status).toBe(403)
  })

  it('refuses bad payloads with a message naming the problem, and a bad id over HTTP with 400', async () => {
    const seat = await client(s.url, cookies.dispatcher!, sockets)
    const before = await refused()
    const bad: [unknown, string][] = [
      [{ screen: 'Hall!', view: VIEW }, 'bad screen:push request: screen: a screen id is lower-case letters'],
      [{ screen: 'hall' }, 'bad screen:push request: view:'],
      [{ screen: 'hall', view: { camera: { center: [121.5, 31.2], zoom: 99 } } }, 'view.camera.zoom'],
      [{ screen: 'hall', view: { camera: { center: [200, 31.2], zoom: 10 } } }, 'view.camera.center.0'],
      [{ screen: 'hall', view: { ...VIEW, extra: 1 } }, 'extra'],
      ['hall', 'bad screen:push request'],
    ]
    for (const [body, message] of bad) expect(await seat.push(body), JSON.stringify(body)).toEqual({ error: expect.stringContaining(message) })
    expect(await seat.release({ screen: 'x'.repeat(65) })).toEqual({ error: expect.stringContaining('bad screen:release request: screen:') })
    expect((await refused()).screen - before.screen).toBe(bad.length + 1)
    // None of them stored anything.
    expect((await getState('hall')).body.view).toBeNull()

    for (const id of ['Hall', 'a b', '-x', 'x'.repeat(65)]) {
      const r = await getState(id)
      expect(r.status, id).toBe(400)
      expect(r.body.error!.message).toContain('is not a screen id')
    }
  })
})

const redisUrl = process.env.REDIS_URL
const databaseUrl = process.env.TEST_DATABASE_URL

describe.skipIf(!redisUrl || !databaseUrl)('view sync across two servers (PostgreSQL + Redis)', () => {
  const prefix = `onegrid-test-screens-${run}`
  const env = { REDIS_URL: redisUrl!, ONEGRID_REDIS_PREFIX: prefix }
  let a: TestServer
  let b: TestServer
  const sockets: Socket[] = []

  beforeAll(async () => {
    a = await startTestServer({ databaseUrl, env })
    b = await startTestServer({ databaseUrl, env })
  }, 180_000)
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await a?.server.db.query(`DELETE FROM screens WHERE id LIKE 'twall-%'`)
    await a?.close()
    await b?.close()
  })

  it('a push on one server reaches a wall on the other, and a wall that starts after the pushing server stopped still gets the state', async () => {
    const id = screenId('x')
    // Sessions are in the shared database: one sign-in works on both.
    const wallCookie = await login(b.url, 'wall')
    const wall = await client(b.url, wallCookie, sockets)
    await wall.subscribe([`screen:${id}`])
    const seat = await client(a.url, await login(a.url, 'dispatcher'), sockets)
    const state = (await seat.push({ screen: id, view: VIEW })) as ScreenState
    await until(() => wall.states.length > 0, 'the push from server A at a wall on server B', 15_000)
    expect(wall.states).toEqual([state])

    seat.socket.close()
    await a.close()
    const late = await client(b.url, wallCookie, sockets)
    await late.subscribe([`screen:${id}`])
    await until(() => late.states.length > 0, 'the stored state at a wall joining after server A stopped')
    expect(late.states).toEqual([state])
    // A fresh server on the same database reads it too.
    a = await startTestServer({ databaseUrl, env })
    const res = await fetch(`${a.url}/api/screens/${id}`, { headers: { cookie: wallCookie } })
    expect(await res.json()).toEqual(state)
  })
})
