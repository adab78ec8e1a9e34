/**
 * A street-scoped user's case tiles and OGC items hold only that street's cases (issue 4,
 * acceptance 5), while an unrestricted user's hold others too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import { decodeLayer, tileOf } from '../helpers/mvt.ts'

const STREET = '310101013' // 外滩街道, the supervisor's scope

describe.each(backends())('case scope on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** Unrestricted (scope 310000) and holding cases.read. */
  let dispatcher: string
  let supervisor: string
  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    dispatcher = await login(s.url, 'dispatcher')
    supervisor = await login(s.url, 'supervisor')
  })
  afterAll(async () => {
    await s?.close()
  })

  it('case tiles: the supervisor gets only the street’s cases', async () => {
    // A z15 tile around a case of the street, which also holds cases of other streets.
    const { rows } = await s.server.db.query<{ lon: number; lat: number }>(
      `SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM cases WHERE grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`,
      [STREET],
    )
    const { z, x, y } = tileOf(rows[0].lon, rows[0].lat, 15)
    const codes = async (cookie: string) => {
      const res = await fetch(`${s.url}/tiles/cases/${z}/${x}/${y}.mvt`, { headers: { cookie } })
      expect(res.status).toBe(200)
      return decodeLayer(new Uint8Array(await res.arrayBuffer()), 'cases')!.features.map((f) => String(f.properties.grid_code))
    }
    const mine = await codes(supervisor)
    const all = await codes(dispatcher)
    expect(mine.length).toBeGreaterThan(0)
    expect(mine.every((c) => c.startsWith(STREET))).toBe(true)
    expect(all.some((c) => !c.startsWith(STREET))).toBe(true)
  })

  it('OGC case items: the supervisor gets only the street’s cases, and numberMatched counts only those', async () => {
    const res = await fetch(`${s.url}/ogc/collections/cases/items?limit=1000`, { headers: { cookie: supervisor } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { numberMatched: number; features: { properties: { grid_code: string } }[] }
    expect(body.features.length).toBeGreaterThan(0)
    expect(body.features.every((f) => f.properties.grid_code.startsWith(STREET))).toBe(true)
    const { rows } = await s.server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE grid_code LIKE $1 || '%'`, [STREET])
    expect(body.numberMatched).toBe(rows[0].n)
  })
})
