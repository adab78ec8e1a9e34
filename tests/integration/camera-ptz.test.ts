/**
 * The demo PTZ (POST /api/cameras/:id/ptz, issue 8): a turn changes the camera's heading in its
 * record, in the cameras tiles (heading_deg, which the map's icon and deck.gl cone draw from) and
 * in its OGC item, with a camera:ptz event in the log; it answers the camera's card. A fixed or
 * offline camera is 409, one outside the asker's scope 404; roles and bad bodies are refused.
 *
 * Re-runnable on the shared database: the headings and statuses it changes and the user it adds
 * are put back / removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../server/auth/password.ts'
import type { Db } from '../../server/db/index.ts'
import type { CameraCard } from '../../server/features/types.ts'
import { decodeLayer, tileOf } from '../helpers/mvt.ts'
import { backends, login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

interface Cam {
  id: number
  code: string
  kind: string
  status: string
  heading_deg: number
  grid_code: string
  lon: number
  lat: number
}

describe.each(backends())('camera PTZ on $name', ({ databaseUrl }) => {
  let s: TestServer
  let db: Db
  const cookies: Record<string, string> = {}
  let street: string
  /** An online PTZ camera of the street, a fixed one, another online PTZ one (made offline for a test), and an online PTZ camera of another street. */
  let ptz: Cam
  let fixed: Cam
  let spare: Cam
  let foreign: Cam
  const localDispatcher = `ptz-${process.pid}-${Date.now() % 100000}`

  const q = async <T,>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows
  const pan = (id: number | string, body: unknown, who = 'dispatcher') =>
    fetch(`${s.url}/api/cameras/${id}/ptz`, { method: 'POST', headers: { cookie: cookies[who]!, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const CAM = `SELECT id, code, kind, status, heading_deg, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM cameras`
  const heading = async (id: number) => Number((await q<{ h: number }>(`SELECT heading_deg AS h FROM cameras WHERE id = $1`, [id]))[0]!.h)
  /** The camera's heading_deg in the cameras tile (z16) that holds it, as the browser gets it. */
  async function tileHeading(c: Cam): Promise<number> {
    const t = tileOf(c.lon, c.lat, 16)
    const res = await fetch(`${s.url}/tiles/cameras/${t.z}/${t.x}/${t.y}.mvt`, { headers: { cookie: cookies.dispatcher! } })
    expect(res.status).toBe(200)
    const layer = decodeLayer(new Uint8Array(await res.arrayBuffer()), 'cameras')
    const f = layer?.features.find((x) => x.id === c.id)
    expect(f, `camera ${c.id} in its tile`).toBeDefined()
    return Number(f!.properties.heading_deg)
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    db = s.server.db
    street = (await q<{ scope_code: string }>(`SELECT scope_code FROM users WHERE username = 'supervisor'`))[0]!.scope_code
    const online = await q<Cam>(`${CAM} WHERE kind = 'ptz' AND status = 'online' AND grid_code LIKE $1 || '%' ORDER BY id LIMIT 2`, [street])
    expect(online).toHaveLength(2)
    ;[ptz, spare] = online as [Cam, Cam]
    fixed = (await q<Cam>(`${CAM} WHERE kind = 'fixed' AND grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`, [street]))[0]!
    foreign = (await q<Cam>(`${CAM} WHERE kind = 'ptz' AND status = 'online' AND grid_code NOT LIKE $1 || '%' ORDER BY id LIMIT 1`, [street]))[0]!
    // A dispatcher who sees only the supervisor's street.
    await db.query(`INSERT INTO users (username, display_name, password_hash, role, scope_code, duties) VALUES ($1, $1, $2, 'dispatcher', $3, ARRAY['dispatcher'])`, [
      localDispatcher,
      await hashPassword(TEST_PASSWORD),
      street,
    ])
    for (const who of ['dispatcher', 'admin', 'supervisor', 'leader']) cookies[who] = await login(s.url, who)
    cookies.local = await login(s.url, localDispatcher)
  })
  afterAll(async () => {
    if (db) {
      for (const c of [ptz, fixed, spare, foreign].filter(Boolean)) await db.query(`UPDATE cameras SET heading_deg = $2, status = $3 WHERE id = $1`, [c.id, c.heading_deg, c.status])
      await db.query(`DELETE FROM users WHERE username = $1`, [localDispatcher])
    }
    await s?.close()
  })

  it('turns a PTZ camera: the heading changes in its record, its tile and its OGC item, with a camera:ptz event, and the answer is its card', async () => {
    const before = Number(ptz.heading_deg)
    expect(await tileHeading(ptz)).toBeCloseTo(before, 6)
    const lastSeq = Number((await q<{ last: string }>(`SELECT last FROM event_seq WHERE id = 1`))[0]!.last)

    const res = await pan(ptz.id, { pan: 45 })
    expect(res.status, await res.clone().text()).toBe(200)
    const card: CameraCard = await res.json()
    const expected = Math.round(((before + 45) % 360) * 10) / 10
    expect(card).toMatchObject({ kind: 'camera', layer: 'cameras', id: ptz.id, code: ptz.code, cameraKind: 'ptz', status: 'online', ptz: true, simulated: true, gridCode: ptz.grid_code })
    expect(card.headingDeg).toBeCloseTo(expected, 6)
    expect(await heading(ptz.id)).toBeCloseTo(expected, 6)
    // The cached tile was dropped: the browser gets the new heading (icon rotation and cone).
    expect(await tileHeading(ptz)).toBeCloseTo(expected, 6)
    const item = await (await fetch(`${s.url}/ogc/collections/cameras/items/${ptz.id}`, { headers: { cookie: cookies.dispatcher! } })).json()
    expect(Number(item.properties.heading_deg)).toBeCloseTo(expected, 6)
    // The card the seat opens agrees.
    const again: CameraCard = await (await fetch(`${s.url}/api/features/cameras/${ptz.id}`, { headers: { cookie: cookies.dispatcher! } })).json()
    expect(again).toEqual(card)

    const events = await q<{ type: string; scope: string; payload: Record<string, unknown> }>(`SELECT type, scope, payload FROM event_log WHERE seq > $1 ORDER BY seq`, [lastSeq])
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'camera:ptz', scope: ptz.grid_code, payload: { id: ptz.id, code: ptz.code, pan: 45, by: 'dispatcher' } })
    expect(Number(events[0]!.payload.headingDeg)).toBeCloseTo(expected, 6)
    expect(Number(events[0]!.payload.previousDeg)).toBeCloseTo(before, 6)
  })

  it('keeps the heading in [0, 360) both ways round', async () => {
    await db.query(`UPDATE cameras SET heading_deg = 10 WHERE id = $1`, [ptz.id])
    const left = await pan(ptz.id, { pan: -20.25 }, 'dispatcher')
    expect(left.status).toBe(200)
    expect((await left.json()).headingDeg).toBeCloseTo(349.8, 6)
    expect(await heading(ptz.id)).toBeCloseTo(349.8, 6)
    const right = await pan(ptz.id, { pan: 180 }, 'dispatcher')
    expect((await right.json()).headingDeg).toBeCloseTo(169.8, 6)
    const full = await pan(ptz.id, { pan: -169.8 }, 'dispatcher')
    expect((await full.json()).headingDeg).toBe(0)
    expect(await heading(ptz.id)).toBe(0)
  })

  it('refuses a fixed camera and an offline one with 409, changing nothing', async () => {
    const res = await pan(fixed.id, { pan: 10 })
    expect(res.status).toBe(409)
    expect((await res.json()).error.message).toMatch(/fixed/)
    expect(await heading(fixed.id)).toBeCloseTo(Number(fixed.heading_deg), 6)
    const fixedCard: CameraCard = await (await fetch(`${s.url}/api/features/cameras/${fixed.id}`, { headers: { cookie: cookies.dispatcher! } })).json()
    expect(fixedCard.ptz).toBe(false)

    await db.query(`UPDATE cameras SET status = 'offline' WHERE id = $1`, [spare.id])
    const off = await pan(spare.id, { pan: 10 })
    expect(off.status).toBe(409)
    expect((await off.json()).error.message).toMatch(/offline/)
    expect(await heading(spare.id)).toBeCloseTo(Number(spare.heading_deg), 6)
    const offCard: CameraCard = await (await fetch(`${s.url}/api/features/cameras/${spare.id}`, { headers: { cookie: cookies.dispatcher! } })).json()
    expect(offCard).toMatchObject({ cameraKind: 'ptz', status: 'offline', ptz: false })
  })

  it('answers 404 outside the asker\'s scope or for an unknown camera, 403 for other roles', async () => {
    const out = await pan(foreign.id, { pan: 10 }, 'local')
    expect(out.status).toBe(404)
    expect(await heading(foreign.id)).toBeCloseTo(Number(foreign.heading_deg), 6)
    const inside = await pan(ptz.id, { pan: 1 }, 'local')
    expect(inside.status).toBe(200)
    expect((await pan(2_000_000_000, { pan: 10 })).status).toBe(404)
    // Roles without cameras.ptz, the system admin among them (it maintains cameras, it does not watch or turn them).
    for (const who of ['supervisor', 'leader', 'admin']) {
      const res = await pan(ptz.id, { pan: 10 }, who)
      expect(res.status, who).toBe(403)
      expect((await res.json()).error.message, who).toBe(`this needs the permission cameras.ptz, which the ${who} role does not hold`)
    }
    const anon = await fetch(`${s.url}/api/cameras/${ptz.id}/ptz`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"pan":1}' })
    expect(anon.status).toBe(401)
  })

  it('answers 422 for a bad body and 400 for a bad id, naming the problem', async () => {
    const h = await heading(ptz.id)
    for (const body of [{}, { pan: 'left' }, { pan: 180.5 }, { pan: -181 }, { pan: null }, { pan: 10, tilt: 5 }]) {
      const res = await pan(ptz.id, body)
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect((await res.json()).error.message).toMatch(/pan|tilt|key/)
    }
    const notJson = await fetch(`${s.url}/api/cameras/${ptz.id}/ptz`, { method: 'POST', headers: { cookie: cookies.dispatcher!, 'content-type': 'application/json' }, body: '{pan:' })
    expect(notJson.status).toBe(400)
    for (const id of ['0', 'abc', '-3', '1.5']) expect((await pan(id, { pan: 1 })).status, id).toBe(400)
    expect(await heading(ptz.id)).toBe(h)
  })
})
