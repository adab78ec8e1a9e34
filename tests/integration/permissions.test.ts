/**
 * Roles and permissions (issue 10): the three administrators cannot do each other's jobs
 * (acceptance 6, second half); personal data is masked for a dispatcher and unmasked only with
 * people.unmask, each unmasked read audited (acceptance 4); the route table covers every route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import { ROUTE_PERMISSIONS } from '../../server/auth/route-permissions.ts'
import { routeTable } from '../../server/http/route-table.ts'
import { separationConflict } from '../../server/auth/permissions.ts'

describe.each(backends())('permissions on $name', ({ databaseUrl }) => {
  let s: TestServer
  const cookies: Record<string, string> = {}
  const call = async (user: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers: { cookie: cookies[user], ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let json: unknown = null
    try {
      json = JSON.parse(text)
    } catch {
      // CSV, MVT or empty
    }
    return { status: res.status, json: json as Record<string, unknown> & { error?: { message: string } } }
  }
  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    for (const u of ['admin', 'secadmin', 'auditor', 'dispatcher']) cookies[u] = await login(s.url, u)
  })
  afterAll(async () => {
    await s?.close()
  })

  it('every route the app declares has its permission, and the table names no route that is gone', () => {
    const routes = routeTable(s.server.app)
    const declared = new Set(routes.flatMap((r) => [`${r.method} ${r.path}`, `ALL ${r.path}`]))
    // guardRoutes refused to start otherwise; this names the stale entries.
    const stale = Object.keys(ROUTE_PERMISSIONS).filter((k) => !declared.has(k))
    expect(stale).toEqual([])
    expect(routes.length).toBeGreaterThan(60)
  })

  it('the system admin manages accounts and base data, but reads no cases, people, audit log or permission matrix', async () => {
    for (const [method, path] of [
      ['GET', '/api/cases'],
      ['GET', '/api/people'],
      ['GET', '/api/admin/audit'],
      ['GET', '/api/admin/permissions'],
      ['GET', '/api/stats/indicators'],
      ['GET', '/api/wall/summary'],
    ] as const) {
      const r = await call('admin', method, path)
      expect(r.status, `${method} ${path}`).toBe(403)
      expect(r.json.error!.message).toMatch(/permission/)
    }
    expect((await call('admin', 'GET', '/tiles/cases/15/27445/13394.mvt')).status).toBe(403)
    // Nor by the side doors: exports, spatial queries and a grid's team.
    for (const path of ['/api/export/cases.csv', '/api/export/workers.geojson', '/api/spatial/nearest?lon=121.49&lat=31.24&layer=workers', '/api/spatial/nearest?lon=121.49&lat=31.24&layer=cases']) {
      expect((await call('admin', 'GET', path)).status, path).toBe(403)
    }
    const spot = '?lon=121.4905&lat=31.2400'
    const around = await call('admin', 'GET', `/api/spatial/around${spot}&radius=500`)
    expect(around.status).toBe(200)
    expect([around.json.workers, around.json.openCases, around.json.team]).toEqual([[], [], []])
    const aroundD = await call('dispatcher', 'GET', `/api/spatial/around${spot}&radius=500`)
    expect((aroundD.json.openCases as unknown[]).length + (aroundD.json.team as unknown[]).length).toBeGreaterThan(0)
    const within = await call('admin', 'POST', '/api/spatial/within', { circle: { lon: 121.4905, lat: 31.24, radius_m: 300 } })
    expect(within.status).toBe(200)
    expect(Object.keys(within.json.counts as object).sort()).toEqual(['buildings', 'cameras', 'key_places', 'parts', 'sensors'])
    expect((await call('admin', 'POST', '/api/spatial/within', { circle: { lon: 121.4905, lat: 31.24, radius_m: 300 }, layers: ['cases'] })).status).toBe(403)
    expect((await call('admin', 'PUT', '/api/admin/permissions/dispatcher', { permissions: [] })).status).toBe(403)
    // …its own jobs work.
    expect((await call('admin', 'GET', '/api/admin/stats')).status).toBe(200)
    expect((await call('admin', 'GET', '/api/import/layers')).status).toBe(200)
    const created = await call('admin', 'POST', '/api/admin/users', { username: 'shiftlead', displayName: '值班长甲', password: 'correct-horse-1', role: 'shift_leader', scope: '310000' })
    expect(created.status).toBe(201)
    // An administrator role is the security admin's to give.
    const sneaky = await call('admin', 'POST', '/api/admin/users', { username: 'sneaky', displayName: 'x', password: 'correct-horse-1', role: 'auditor', scope: '310000' })
    expect(sneaky.status).toBe(422)
    expect(sneaky.json.error!.message).toMatch(/security admin/)
    expect((await call('admin', 'PUT', '/api/admin/users/shiftlead/role', { role: 'auditor' })).status).toBe(403)
  })

  it('the security admin edits roles and the matrix only, within the separation of the three', async () => {
    for (const [method, path] of [
      ['GET', '/api/cases'],
      ['GET', '/api/people'],
      ['GET', '/api/admin/audit'],
      ['GET', '/api/admin/stats'],
      ['GET', '/api/import/layers'],
    ] as const) {
      expect((await call('secadmin', method, path)).status, `${method} ${path}`).toBe(403)
    }
    expect((await call('secadmin', 'POST', '/api/admin/users', { username: 'other', displayName: 'x', password: 'correct-horse-1', role: 'worker', scope: '310000' })).status).toBe(403)
    const m = await call('secadmin', 'GET', '/api/admin/permissions')
    expect(m.status).toBe(200)
    expect((m.json.matrix as Record<string, string[]>).admin).not.toContain('cases.read')
    // The matrix refuses to break the separation: no audit log for the security admin, no cases for the system admin.
    const grabAudit = await call('secadmin', 'PUT', '/api/admin/permissions/security_admin', { permissions: ['permissions.manage', 'audit.read'] })
    expect(grabAudit.status).toBe(422)
    expect(grabAudit.json.error!.message).toMatch(/audit\.read belongs to the auditor/)
    expect((await call('secadmin', 'PUT', '/api/admin/permissions/admin', { permissions: ['users.manage', 'cases.read'] })).status).toBe(422)
    expect((await call('secadmin', 'PUT', '/api/admin/permissions/dispatcher', { permissions: ['cases.read', 'no.such'] })).status).toBe(422)
    expect(separationConflict('auditor', 'map.base')).toMatch(/auditor role holds audit.read only/)
    // Users may be listed (to assign roles) but not created or edited.
    expect((await call('secadmin', 'GET', '/api/admin/users')).status).toBe(200)
    expect((await call('secadmin', 'PATCH', '/api/admin/users/dispatcher', { disabled: true })).status).toBe(403)
  })

  it('the audit admin reads the audit log only', async () => {
    expect((await call('auditor', 'GET', '/api/admin/audit')).status).toBe(200)
    for (const [method, path, body] of [
      ['GET', '/api/cases', undefined],
      ['GET', '/api/people', undefined],
      ['GET', '/api/admin/permissions', undefined],
      ['GET', '/api/admin/users', undefined],
      ['GET', '/api/admin/stats', undefined],
      ['GET', '/tiles/roads/14/13722/6697.mvt', undefined],
      ['PUT', '/api/admin/permissions/auditor', { permissions: ['audit.read', 'cases.read'] }],
      ['POST', '/api/admin/users', { username: 'x2', displayName: 'x', password: 'correct-horse-1', role: 'worker', scope: '310000' }],
    ] as const) {
      expect((await call('auditor', method, path, body)).status, `${method} ${path}`).toBe(403)
    }
  })

  it('a dispatcher reads residents masked; unmasked needs people.unmask, and every unmasked read is in the audit log', async () => {
    const masked = await call('dispatcher', 'GET', '/api/people?limit=5')
    expect(masked.status).toBe(200)
    const people = masked.json.people as { id: number; name: string; idNumber: string; phone: string | null }[]
    expect(people).toHaveLength(5)
    for (const p of people) {
      expect(p.idNumber).toMatch(/^\d{4}\*{10}[\dX]{4}$/)
      expect(p.name).toMatch(/^.\*+$/u)
      if (p.phone) expect(p.phone).toMatch(/^\d{3}\*+\d{4}$/)
    }
    const refused = await call('dispatcher', 'GET', '/api/people?limit=5&unmasked=true')
    expect(refused.status).toBe(403)
    expect(refused.json.error!.message).toMatch(/people\.unmask/)

    // The security admin grants people.unmask to shift leaders; the shift leader made above reads unmasked.
    const matrix = (await call('secadmin', 'GET', '/api/admin/permissions')).json.matrix as Record<string, string[]>
    expect((await call('secadmin', 'PUT', '/api/admin/permissions/shift_leader', { permissions: [...matrix.shift_leader, 'people.unmask'] })).status).toBe(200)
    cookies.shiftlead = await login(s.url, 'shiftlead', 'correct-horse-1')
    const open = await call('shiftlead', 'GET', '/api/people?limit=5&unmasked=true')
    expect(open.status).toBe(200)
    const clear = open.json.people as { id: number; idNumber: string }[]
    const { rows } = await s.server.db.query<{ id: number; id_number: string }>('SELECT id, id_number FROM people WHERE id = ANY($1::int[]) ORDER BY id', [clear.map((p) => p.id)])
    expect(clear.map((p) => p.idNumber)).toEqual(rows.map((r) => r.id_number))
    expect(clear[0].idNumber.slice(0, 4)).toBe(people.find((p) => p.id === clear[0].id)?.idNumber.slice(0, 4))
    const one = await call('shiftlead', 'GET', `/api/people/${clear[0].id}?unmasked=true`)
    expect(one.status).toBe(200)

    const { rows: audit } = await s.server.db.query<{ actor: string; action: string; target: string; detail: { people: number[] } }>(
      `SELECT actor, action, target, detail FROM audit_log WHERE action = 'read.sensitive' ORDER BY id`,
    )
    expect(audit.map((a) => a.actor)).toEqual(['shiftlead', 'shiftlead'])
    expect(audit[0].detail.people).toEqual(clear.map((p) => p.id))
    expect(audit[1].detail.people).toEqual([clear[0].id])
    // A masked read is not a sensitive read.
    expect(audit.some((a) => a.target.includes('unmasked=false'))).toBe(false)
  })
})
