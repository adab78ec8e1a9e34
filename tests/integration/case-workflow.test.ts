/**
 * The case workflow (issue 6): acceptance 1 (one case through every stage to evaluated, one
 * through rework, return, extension, suspend and merge; the timeline lists every action), 2 (every
 * stage × action × duty holder against the table in server/cases/workflow.ts: allowed ones succeed,
 * all others are refused and change nothing), 4 (concurrent dispatch: one 200, one 409; a retried
 * field action with the same idempotency key acts once) and 5 (a dispatch reaches the worker's
 * connected socket; the ack is recorded). Bad input: unknown category, outside every grid, a
 * deadline in the past, out of scope — 4xx and nothing changed.
 *
 * Re-runnable on the shared database: the run makes its own users and worker (named with the
 * run's id) and cases whose reporter text carries the run's id, in a seeded grid of 外滩街道, and
 * removes them afterwards.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../server/auth/password.ts'
import type { Db } from '../../server/db/index.ts'
import { ACTION_DEFS, ACTIONS, dutyFor, nextStage, STAGES, WORKFLOW, type Action, type ActionDef, type Stage } from '../../server/cases/workflow.ts'
import type { TaskPayload } from '../../server/realtime/events.ts'
import { dispatchAckJob } from '../../server/cases/ack-job.ts'
import { createLogger } from '../../server/log.ts'
import { EventLog } from '../../server/realtime/event-log.ts'
import { backends, login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

const BUND = '310101013'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The run's users: one per duty, one without any (a role that may work cases, but no duty), the
 * worker (reporter + handler), one outside the scope, and a system admin (no case permissions at all).
 */
const PEOPLE = {
  acceptor: { role: 'dispatcher', duties: ['acceptor'] },
  shift_leader: { role: 'dispatcher', duties: ['shift_leader'] },
  dispatcher: { role: 'dispatcher', duties: ['dispatcher'] },
  supervisor: { role: 'supervisor', duties: ['supervisor', 'reporter'] },
  handler: { role: 'handler', duties: ['handler'] },
  leader: { role: 'leader', duties: ['leader'] },
  reporter: { role: 'worker', duties: ['reporter'] },
  nobody: { role: 'dispatcher', duties: [] },
  sysadmin: { role: 'admin', duties: [] },
  worker: { role: 'worker', duties: ['reporter', 'handler'] },
  outsider: { role: 'dispatcher', duties: ['acceptor', 'shift_leader', 'dispatcher', 'supervisor', 'handler', 'leader'] },
} as const
type Who = keyof typeof PEOPLE

interface CaseBody {
  id: number
  code: string
  stage: Stage
  version: number
  [k: string]: unknown
}

describe.each(backends())('case workflow on $name', ({ name, databaseUrl }) => {
  let s: TestServer
  let db: Db
  const run = `${Date.now()}${process.pid}`
  const mark = `tcw-${run}`
  const uname = (w: Who) => `tcw_${run}_${w}`
  const cookies = {} as Record<Who, string>
  const userIds = {} as Record<Who, number>
  let workerId = 0
  let deptId = 0
  let place = { lon: 0, lat: 0 }
  let grid = ''
  let category = ''
  const sockets: Socket[] = []
  const photos = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-tcw-photos-'))

  const api = async (method: string, path: string, who: Who, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers: { cookie: cookies[who], 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      json = { text }
    }
    return { status: res.status, body: json }
  }
  const q = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows

  const report = async (who: Who = 'reporter', extra: Record<string, unknown> = {}) => {
    const res = await api('POST', '/api/cases', who, { categoryCode: category, source: 'patrol', description: `测试案件 ${mark}`, reporterText: mark, ...place, ...extra })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return (res.body.case as CaseBody)
  }
  const act = async (c: { id: number; version: number }, action: Action, who: Who, body: Record<string, unknown> = {}) =>
    api('POST', `/api/cases/${c.id}/actions/${action}`, who, { version: c.version, ...body })
  /** Acts and expects success; returns the case after. */
  const ok = async (c: { id: number; version: number }, action: Action, who: Who, body: Record<string, unknown> = {}) => {
    const res = await act(c, action, who, body)
    expect(res.status, `${action} by ${who}: ${JSON.stringify(res.body)}`).toBe(200)
    return (res.body as { case: CaseBody }).case
  }
  const snapshot = async (id: number) => {
    const [row] = await q<{ j: unknown }>('SELECT to_jsonb(c) AS j FROM cases c WHERE id = $1', [id])
    const [n] = await q<{ n: number }>('SELECT count(*)::int AS n FROM case_actions WHERE case_id = $1', [id])
    return { row: row!.j, actions: n!.n }
  }

  async function cleanUp(like: string) {
    await db.query(`DELETE FROM cases WHERE reporter LIKE $1`, [like])
    await db.query(`DELETE FROM workers WHERE code LIKE $1`, [like.toUpperCase()])
    await db.query(`DELETE FROM attachments WHERE uploader_id IN (SELECT id FROM users WHERE username LIKE $1)`, [like.replace('tcw-', 'tcw\\_').replace('%', '\\_%')])
    await db.query(`DELETE FROM users WHERE username LIKE $1`, [like.replace('tcw-', 'tcw\\_').replace('%', '\\_%')])
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_ATTACHMENTS_DIR: photos } })
    db = s.server.db
    // Leftovers of runs that could not clean up (older than an hour).
    const old = `${Date.now() - 3600_000}`
    const stale = await q<{ r: string }>(`SELECT DISTINCT substr(reporter, 5) AS r FROM cases WHERE reporter ~ '^tcw-[0-9]+$' AND substr(reporter, 5, 13) < $1`, [old])
    for (const { r } of stale) await cleanUp(`tcw-${r}%`)

    // A seeded grid of 外滩街道 and a point inside it; an event category.
    const g = (await q<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat FROM grids WHERE code LIKE $1 || '%' AND NOT synthetic ORDER BY code LIMIT 1`,
      [BUND],
    ))[0]!
    grid = g.code
    place = { lon: g.lon, lat: g.lat }
    category = (await q<{ code: string }>(`SELECT code FROM case_categories WHERE kind = 'event' ORDER BY code LIMIT 1`))[0]!.code
    deptId = (await q<{ id: number }>(`SELECT id FROM departments ORDER BY id LIMIT 1`))[0]!.id
    const otherStreet = (await q<{ code: string }>(`SELECT code FROM admin_units WHERE level = 'street' AND code <> $1 ORDER BY code LIMIT 1`, [BUND]))[0]!.code

    const hash = await hashPassword(TEST_PASSWORD)
    for (const [who, p] of Object.entries(PEOPLE) as [Who, (typeof PEOPLE)[Who]][]) {
      userIds[who] = (await q<{ id: number }>(
        `INSERT INTO users (username, display_name, password_hash, role, scope_code, duties, department_id) VALUES ($1, $1, $2, $3, $4, $5::text[], $6) RETURNING id`,
        [uname(who), hash, p.role, who === 'outsider' ? otherStreet : BUND, p.duties, who === 'handler' ? deptId : null],
      ))[0]!.id
    }
    workerId = (await q<{ id: number }>(
      `INSERT INTO workers (code, name, role, grid_code, user_id, duty_status, geom) VALUES ($1, '测试处置员', 'grid_worker', $2, $3, 'on_duty', ST_SetSRID(ST_MakePoint($4, $5), 4326)) RETURNING id`,
      [`${mark.toUpperCase()}-W`, grid, userIds.worker, place.lon + 0.001, place.lat],
    ))[0]!.id
    for (const who of Object.keys(PEOPLE) as Who[]) cookies[who] = await login(s.url, uname(who))
  }, 180_000)

  afterAll(async () => {
    for (const socket of sockets) socket.close()
    if (db) await cleanUp(`${mark}%`)
    await s?.close()
    fs.rmSync(photos, { recursive: true, force: true })
  })

  it('publishes the workflow table', async () => {
    const res = await api('GET', '/api/cases/workflow', 'nobody')
    expect(res.status).toBe(200)
    expect((res.body.actions as ActionDef[]).map((a) => a.action)).toEqual(WORKFLOW.map((a) => a.action))
    expect((res.body.stages as { stage: string }[]).map((x) => x.stage)).toEqual([...STAGES])
  })

  it('acceptance 1: one case through every stage to evaluated; the timeline lists every action with actor and time', async () => {
    let c = await report('reporter')
    expect(c).toMatchObject({ stage: 'reported', version: 1, gridCode: grid })
    expect(c.code).toMatch(/^C\d{13}$/)
    c = await ok(c, 'accept', 'acceptor')
    c = await ok(c, 'verify', 'supervisor', { ...place, comment: '现场核实属实' })
    c = await ok(c, 'register', 'shift_leader')
    const rec = await api('GET', `/api/cases/${c.id}/recommendation`, 'dispatcher')
    expect(rec.status).toBe(200)
    const workers = rec.body.workers as { workerId: number; reason: string; distanceM: number | null }[]
    expect(workers.some((w) => w.workerId === workerId)).toBe(true)
    expect(workers.find((w) => w.workerId === workerId)!.reason).toMatch(/本网格值班.*距案发地约 \d+ 米.*在办案件/)
    expect(rec.body.department).toMatchObject({ reason: expect.stringContaining('先属地') })
    c = await ok(c, 'dispatch', 'dispatcher', { workerId, departmentId: deptId, comment: '请尽快处置' })
    // The recommendation showed the deadline the dispatch then set (same category limit, same calendar).
    expect(Math.abs(Date.parse(rec.body.deadlineAt as string) - Date.parse(String(c.deadlineAt)))).toBeLessThan(60_000)
    // What the worker may do now honours the guards as the action itself does: ack once, not after.
    const allowed = async () => (await api('GET', `/api/cases/${c.id}`, 'worker')).body.allowedActions as string[]
    expect(await allowed()).toContain('ack_dispatch')
    c = await ok(c, 'ack_dispatch', 'worker')
    expect(await allowed()).not.toContain('ack_dispatch')
    expect(await allowed()).toContain('start')
    c = await ok(c, 'start', 'worker', place)
    // The result photo: uploaded first (POST /api/cases/attachments), then referred to by the action.
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a7' } }).jpeg().toBuffer())], { type: 'image/jpeg' }), 'photo-1.jpg')
    const up = await fetch(`${s.url}/api/cases/attachments`, { method: 'POST', headers: { cookie: cookies.worker }, body: form })
    expect(up.status).toBe(201)
    const photo = (await up.json()) as { id: string; type: string }
    c = await ok(c, 'handle', 'worker', { outcome: '已清理完毕', attachments: [{ id: photo.id, type: photo.type }], ...place })
    c = await ok(c, 'check_pass', 'supervisor', place)
    c = await ok(c, 'close', 'shift_leader')
    c = await ok(c, 'evaluate', 'acceptor', { satisfaction: 5, comment: '回访满意' })
    expect(c).toMatchObject({ stage: 'evaluated', version: 11 })
    const [row] = await q<Record<string, unknown>>('SELECT * FROM cases WHERE id = $1', [c.id])
    for (const col of ['reported_at', 'accepted_at', 'verified_at', 'registered_at', 'dispatched_at', 'dispatch_acked_at', 'in_progress_at', 'handled_at', 'checked_at', 'closed_at', 'evaluated_at']) {
      expect(row![col], col).not.toBeNull()
    }
    expect(row).toMatchObject({ satisfaction: 5, outcome: '已清理完毕', worker_id: workerId, department_id: deptId })

    const tl = await api('GET', `/api/cases/${c.id}/timeline`, 'leader')
    expect(tl.status).toBe(200)
    const acts = tl.body.actions as { action: string; actor: string; role: string; at: string; from: string; to: string; attachments: unknown[]; lon: number | null }[]
    expect(acts.map((a) => a.action)).toEqual(['report', 'accept', 'verify', 'register', 'dispatch', 'ack_dispatch', 'start', 'handle', 'check_pass', 'close', 'evaluate'])
    expect(acts.map((a) => a.actor)).toEqual([
      uname('reporter'), uname('acceptor'), uname('supervisor'), uname('shift_leader'), uname('dispatcher'), uname('worker'), uname('worker'), uname('worker'),
      uname('supervisor'), uname('shift_leader'), uname('acceptor'),
    ])
    expect(acts.map((a) => a.role)).toEqual(['reporter', 'acceptor', 'supervisor', 'shift_leader', 'dispatcher', 'handler', 'handler', 'handler', 'supervisor', 'shift_leader', 'acceptor'])
    for (const a of acts) expect(Number.isNaN(Date.parse(a.at))).toBe(false)
    expect(acts.map((a) => a.to)).toEqual(['reported', 'accepted', 'verified', 'registered', 'dispatched', 'dispatched', 'in_progress', 'handled', 'checked', 'closed', 'evaluated'])
    expect(acts[7]!.attachments).toEqual([{ id: photo.id, type: 'image/jpeg' }])
    expect(acts[7]!.lon).toBeCloseTo(place.lon, 6)
    // Every stage change records the stage deadline that came into force (the on-time indicators read it).
    const recorded = (tl.body.actions as { action: string; from: string | null; to: string; payload: Record<string, unknown> }[]).filter((a) => a.from !== a.to)
    for (const a of recorded) expect(a.payload, `${a.action} records its stage deadline`).toHaveProperty('stageDeadlineAt')
    expect(recorded.find((a) => a.action === 'register')!.payload.stageDeadlineAt).toEqual(expect.any(String))
  })

  it('acceptance 1: a case through rework, return, extension, suspend; a duplicate merged into it; a supervisor report starts verified', async () => {
    let c = await report('reporter', { urgency: 'urgent' })
    c = await ok(c, 'accept', 'acceptor')
    c = await ok(c, 'verify', 'supervisor')
    c = await ok(c, 'register', 'shift_leader')
    c = await ok(c, 'dispatch', 'dispatcher', { workerId })
    c = await ok(c, 'start', 'worker')
    c = await ok(c, 'handle', 'worker', { outcome: '已处置' })
    // 核查不通过 → rework, counted.
    c = await ok(c, 'check_fail', 'supervisor', { reason: '现场仍有垃圾' })
    expect(c.stage).toBe('in_progress')
    // 回退: the worker hands it back to dispatch.
    c = await ok(c, 'return', 'worker', { reason: '不属本人职责范围' })
    expect(c.stage).toBe('dispatched')
    c = await ok(c, 'start', 'worker')
    const before = (await q<{ stage_deadline_at: Date | null; deadline_at: Date | null }>('SELECT stage_deadline_at, deadline_at FROM cases WHERE id = $1', [c.id]))[0]!
    c = await ok(c, 'request_extension', 'worker', { hours: 8, reason: '需采购配件' })
    // Only one request waits at a time; approving needs one.
    expect((await act(c, 'request_extension', 'worker', { hours: 2, reason: 'x' })).status).toBe(422)
    c = await ok(c, 'approve_extension', 'dispatcher')
    expect((await act(c, 'approve_extension', 'dispatcher')).status).toBe(422)
    const after = (await q<{ stage_deadline_at: Date | null; deadline_at: Date | null; extension_hours: string }>('SELECT stage_deadline_at, deadline_at, extension_hours FROM cases WHERE id = $1', [c.id]))[0]!
    expect(Number(after.extension_hours)).toBe(8)
    if (before.deadline_at) expect(new Date(after.deadline_at!).getTime()).toBeGreaterThan(new Date(before.deadline_at).getTime())
    c = await ok(c, 'suspend', 'dispatcher', { reason: '待产权单位配合' })
    // Suspended: the handler cannot report a result until it is resumed.
    expect((await act(c, 'handle', 'worker', { outcome: 'x' })).status).toBe(422)
    c = await ok(c, 'resume', 'dispatcher')
    c = await ok(c, 'urge', 'dispatcher')
    c = await ok(c, 'supervise', 'leader')
    c = await ok(c, 'escalate', 'dispatcher', { reason: '涉及多部门' })

    // A duplicate report merged into it.
    let dup = await report('reporter')
    dup = await ok(dup, 'accept', 'acceptor')
    dup = await ok(dup, 'merge', 'acceptor', { targetCaseId: c.id })
    expect(dup.stage).toBe('merged')
    // Merging into a closed case, or into itself, is refused.
    const dup2 = await report('reporter')
    expect((await act(dup2, 'merge', 'acceptor', { targetCaseId: dup2.id })).status).toBe(422)
    expect((await act(dup2, 'merge', 'acceptor', { targetCaseId: dup.id })).status).toBe(422)

    c = await ok(c, 'handle', 'worker', { outcome: '返工后处置完毕' })
    c = await ok(c, 'check_pass', 'supervisor')
    c = await ok(c, 'close', 'shift_leader')
    const [row] = await q<Record<string, unknown>>('SELECT rework_count, urge_count, supervise_count, suspended_at, escalated_at, stage FROM cases WHERE id = $1', [c.id])
    expect(row).toMatchObject({ rework_count: 1, urge_count: 1, supervise_count: 1, suspended_at: null, stage: 'closed' })
    expect(row!.escalated_at).not.toBeNull()
    expect((await q<{ merged_into: number }>('SELECT merged_into FROM cases WHERE id = $1', [dup.id]))[0]!.merged_into).toBe(c.id)

    const tl = await api('GET', `/api/cases/${c.id}/timeline`, 'dispatcher')
    const acts = tl.body.actions as { action: string; actor: string; at: string; comment: string | null }[]
    expect(acts.map((a) => a.action)).toEqual([
      'report', 'accept', 'verify', 'register', 'dispatch', 'start', 'handle', 'check_fail', 'return', 'start', 'request_extension', 'approve_extension',
      'suspend', 'resume', 'urge', 'supervise', 'escalate', 'handle', 'check_pass', 'close',
    ])
    for (const a of acts) expect(a.actor && a.at).toBeTruthy()
    expect(acts.find((a) => a.action === 'check_fail')!.comment).toBe('现场仍有垃圾')

    // A supervisor's own report counts as verified.
    const own = await report('supervisor')
    expect(own.stage).toBe('verified')
  })

  it('acceptance 2: every stage × action × duty holder — allowed ones succeed, all others are refused and change nothing', async () => {
    const who = ['acceptor', 'shift_leader', 'dispatcher', 'supervisor', 'handler', 'leader', 'reporter', 'nobody', 'worker'] as const
    const target = await report('reporter')
    type Variant = 'base' | 'pending' | 'suspended'
    const setups: { stage: Stage; variant: Variant }[] = [
      ...STAGES.map((stage) => ({ stage, variant: 'base' as Variant })),
      ...(['dispatched', 'in_progress'] as Stage[]).flatMap((stage) => [{ stage, variant: 'pending' as Variant }, { stage, variant: 'suspended' as Variant }]),
    ]
    /** A case of the run, set directly to the stage: assigned to the run's worker and the handler's department. */
    const makeCase = async (stage: Stage, variant: Variant): Promise<CaseBody> => {
      const c = await report('reporter')
      await db.query(
        `UPDATE cases SET stage = $2, worker_id = $3, department_id = $4, suspended_at = CASE WHEN $5 THEN now() END, dispatch_acked_at = NULL WHERE id = $1`,
        [c.id, stage, workerId, deptId, variant === 'suspended'],
      )
      if (variant === 'pending') {
        await db.query(
          `INSERT INTO case_actions (case_id, action, actor, role, at, from_stage, to_stage, payload) VALUES ($1, 'request_extension', $2, 'handler', now(), $3, $3, '{"hours": 4}')`,
          [c.id, uname('worker'), stage],
        )
      }
      return { ...c, stage }
    }
    const body = (a: Action): Record<string, unknown> => ({
      reason: '测试原因', satisfaction: 4, workerId, targetCaseId: target.id, hours: 4, outcome: '已处置',
      ...(a === 'check_fail' ? { reworkTo: 'in_progress' } : {}),
    })
    const needs = (def: ActionDef) => {
      const b = body(def.action)
      const keep: Record<string, unknown> = {}
      if (def.needs.includes('reason')) keep.reason = b.reason
      if (def.needs.includes('satisfaction')) keep.satisfaction = b.satisfaction
      if (def.needs.includes('assignee')) keep.workerId = b.workerId
      if (def.needs.includes('target')) keep.targetCaseId = b.targetCaseId
      if (def.needs.includes('hours')) keep.hours = b.hours
      if (def.needs.includes('outcome')) keep.outcome = b.outcome
      if (def.action === 'check_fail') keep.reworkTo = 'in_progress'
      return keep
    }
    const guardOk = (def: ActionDef, variant: Variant) =>
      (def.guards ?? []).every((g) =>
        g === 'extension_pending' ? variant === 'pending'
        : g === 'no_extension_pending' ? variant !== 'pending'
        : g === 'suspended' ? variant === 'suspended'
        : g === 'not_suspended' ? variant !== 'suspended'
        : true)
    let allowed = 0
    let refused = 0
    for (const { stage, variant } of setups) {
      let c = await makeCase(stage, variant)
      for (const action of ACTIONS) {
        const def = ACTION_DEFS.get(action)!
        for (const w of who) {
          const expected = nextStage(def, stage) === null ? 422 : dutyFor(def, PEOPLE[w].duties) === null ? 403 : guardOk(def, variant) ? 200 : 422
          const before = await snapshot(c.id)
          const res = await act({ id: c.id, version: (before.row as { version: number }).version }, action, w, needs(def))
          expect(res.status, `${stage}/${variant} ${action} by ${w}: ${JSON.stringify(res.body)}`).toBe(expected)
          if (expected === 200) {
            allowed++
            const to = (res.body.case as CaseBody).stage
            expect(to, `${stage} ${action}`).toBe(nextStage(def, stage, 'in_progress'))
            // A fresh case for the rest.
            c = await makeCase(stage, variant)
          } else {
            refused++
            expect(await snapshot(c.id), `${stage}/${variant} ${action} by ${w} changed the case`).toEqual(before)
          }
        }
      }
    }
    console.log(`[case-workflow] ${name}: ${allowed} allowed and ${refused} refused stage × action × duty combinations checked`)
    expect(allowed).toBeGreaterThan(40)
  }, 600_000)

  it('refuses bad input and other scopes with 4xx, and a stale version with 409 and the current state', async () => {
    expect((await api('POST', '/api/cases', 'reporter', { categoryCode: 'NOPE', source: 'patrol', description: 'x', reporterText: mark, ...place })).status).toBe(422)
    const outside = await api('POST', '/api/cases', 'reporter', { categoryCode: category, source: 'patrol', description: 'x', reporterText: mark, lon: 100.5, lat: 10.5 })
    expect(outside.status).toBe(422)
    expect(JSON.stringify(outside.body)).toContain('outside every grid')
    expect((await api('POST', '/api/cases', 'reporter', { categoryCode: category, source: 'nowhere', description: 'x', ...place })).status).toBe(422)
    // An account without any workflow duty has no case rights.
    const noDuty = await api('POST', '/api/cases', 'nobody', { categoryCode: category, source: 'patrol', description: 'x', reporterText: mark, ...place })
    expect(noDuty.status).toBe(403)
    expect(JSON.stringify(noDuty.body)).toContain('needs a workflow duty')
    // The system admin handles no cases: neither reports nor reads them.
    const sysadmin = await api('POST', '/api/cases', 'sysadmin', { categoryCode: category, source: 'patrol', description: 'x', reporterText: mark, ...place })
    expect(sysadmin.status).toBe(403)
    expect(JSON.stringify(sysadmin.body)).toContain('this needs the permission cases.act, which the admin role does not hold')
    expect((await api('GET', '/api/cases/workflow', 'sysadmin')).status).toBe(403)
    expect((await api('GET', '/api/cases', 'sysadmin')).status).toBe(403)
    // Outside the reporter's scope: refused.
    expect((await api('POST', '/api/cases', 'outsider', { categoryCode: category, source: 'patrol', description: 'x', reporterText: mark, ...place })).status).toBe(403)
    let c = await report('reporter')
    c = await ok(c, 'accept', 'acceptor')
    c = await ok(c, 'verify', 'supervisor')
    c = await ok(c, 'register', 'shift_leader')
    const before = await snapshot(c.id)
    const past = await act(c, 'dispatch', 'dispatcher', { workerId, deadlineAt: new Date(Date.now() - 3600_000).toISOString() })
    expect(past.status).toBe(422)
    expect(JSON.stringify(past.body)).toContain('in the past')
    // Outside the scope the case does not exist.
    expect((await act(c, 'dispatch', 'outsider', { workerId })).status).toBe(404)
    expect((await api('GET', `/api/cases/${c.id}`, 'outsider')).status).toBe(404)
    expect((await api('GET', `/api/cases/${c.id}/timeline`, 'outsider')).status).toBe(404)
    // Stale version: 409 with the current stage and version.
    const stale = await act({ id: c.id, version: c.version - 1 }, 'dispatch', 'dispatcher', { workerId })
    expect(stale.status).toBe(409)
    expect(stale.body.current).toMatchObject({ id: c.id, stage: 'registered', version: c.version })
    // Missing fields: 422 naming them.
    const none = await act(c, 'dispatch', 'dispatcher', {})
    expect(none.status).toBe(422)
    expect(JSON.stringify(none.body)).toContain('workerId or departmentId')
    expect((await act(c, 'dispatch', 'dispatcher', { workerId, satisfaction: 9 })).status).toBe(422)
    expect(await snapshot(c.id)).toEqual(before)
    // The queue finds it by code, in scope only.
    const list = await api('GET', `/api/cases?q=${c.code}&stage=registered`, 'dispatcher')
    expect(list.status).toBe(200)
    expect((list.body.items as CaseBody[]).map((x) => x.id)).toEqual([c.id])
    expect((await api('GET', `/api/cases?q=${c.code}`, 'outsider')).body.items).toEqual([])
    expect((await api('GET', '/api/cases?stage=bogus', 'dispatcher')).status).toBe(400)
  })

  it('acceptance 4: two concurrent dispatches — one wins, the other gets 409; a retried field action acts once', async () => {
    let c = await report('reporter')
    c = await ok(c, 'accept', 'acceptor')
    c = await ok(c, 'verify', 'supervisor')
    c = await ok(c, 'register', 'shift_leader')
    const [a, b] = await Promise.all([act(c, 'dispatch', 'dispatcher', { workerId }), act(c, 'dispatch', 'dispatcher', { departmentId: deptId })])
    expect([a.status, b.status].sort()).toEqual([200, 409])
    const lost = a.status === 409 ? a : b
    expect(lost.body.current).toMatchObject({ stage: 'dispatched', version: c.version + 1 })
    expect((await q<{ n: number }>(`SELECT count(*)::int AS n FROM case_actions WHERE case_id = $1 AND action = 'dispatch'`, [c.id]))[0]!.n).toBe(1)
    c = ((a.status === 200 ? a : b).body as { case: CaseBody }).case
    await db.query('UPDATE cases SET worker_id = $2 WHERE id = $1', [c.id, workerId])

    // The phone retries `start` (the first answer was lost): same key, same old version → the stored result.
    const first = await act(c, 'start', 'worker', { idempotencyKey: `start-${run}` })
    expect(first.status).toBe(200)
    const retry = await act(c, 'start', 'worker', { idempotencyKey: `start-${run}` })
    expect(retry.status).toBe(200)
    expect(retry.body).toMatchObject({ replayed: true, actionId: first.body.actionId })
    c = (first.body as { case: CaseBody }).case
    // Two copies of `handle` at once with one key: one action.
    const both = await Promise.all([0, 1].map(() => act(c, 'handle', 'worker', { outcome: '已处置', idempotencyKey: `handle-${run}` })))
    expect(both.map((r) => r.status)).toEqual([200, 200])
    expect(new Set(both.map((r) => r.body.actionId)).size).toBe(1)
    const counts = await q<{ action: string; n: number }>(`SELECT action, count(*)::int AS n FROM case_actions WHERE case_id = $1 GROUP BY 1`, [c.id])
    expect(Object.fromEntries(counts.map((r) => [r.action, r.n]))).toMatchObject({ start: 1, handle: 1 })
    expect((await q<{ version: number }>('SELECT version FROM cases WHERE id = $1', [c.id]))[0]!.version).toBe(c.version + 1)
  })

  it('acceptance 5: a dispatch reaches the worker’s connected device within 10 s and its ack is recorded', async () => {
    const ws = connect(s.url, { path: '/socket.io', extraHeaders: { cookie: cookies.worker }, transports: ['websocket'], autoConnect: false })
    sockets.push(ws)
    const tasks: { p: TaskPayload; at: number }[] = []
    ws.on('task:assigned', (p: TaskPayload) => tasks.push({ p, at: Date.now() }))
    const hello = new Promise<void>((resolve) => ws.once('hello', () => resolve()))
    ws.connect()
    await hello
    let c = await report('reporter')
    c = await ok(c, 'accept', 'acceptor')
    c = await ok(c, 'verify', 'supervisor')
    c = await ok(c, 'register', 'shift_leader')
    const sent = Date.now()
    c = await ok(c, 'dispatch', 'dispatcher', { workerId, comment: '请立即前往' })
    const start = Date.now()
    while (!tasks.some((t) => t.p.caseId === c.id) && Date.now() - start < 10_000) await sleep(10)
    const got = tasks.find((t) => t.p.caseId === c.id)
    expect(got, 'task:assigned at the worker within 10 s').toBeDefined()
    console.log(`[case-workflow] ${name}: dispatch POST → task:assigned at the worker's socket in ${got!.at - sent} ms`)
    expect(got!.p).toMatchObject({ kind: 'assigned', code: c.code, stage: 'dispatched', version: c.version, comment: '请立即前往', by: uname('dispatcher') })
    // The phone acknowledges with the version it got.
    const ack = await ok({ id: c.id, version: got!.p.version }, 'ack_dispatch', 'worker')
    expect(ack.stage).toBe('dispatched')
    const [row] = await q<{ dispatch_acked_at: Date | null }>('SELECT dispatch_acked_at FROM cases WHERE id = $1', [c.id])
    expect(row!.dispatch_acked_at).not.toBeNull()
    expect((await act(ack, 'ack_dispatch', 'worker')).status).toBe(422)
    // Urging reaches the worker too.
    const notices: TaskPayload[] = []
    ws.on('task:notice', (p: TaskPayload) => notices.push(p))
    await ok(ack, 'urge', 'dispatcher', { comment: '请加快' })
    const t0 = Date.now()
    while (!notices.some((n) => n.caseId === c.id) && Date.now() - t0 < 10_000) await sleep(10)
    expect(notices.find((n) => n.caseId === c.id)).toMatchObject({ kind: 'urge', comment: '请加快' })
  })

  it('tells the dispatchers once when a dispatch is not acknowledged in time (cases:dispatch-ack)', async () => {
    let c = await report('reporter')
    c = await ok(c, 'accept', 'acceptor')
    c = await ok(c, 'verify', 'supervisor')
    c = await ok(c, 'register', 'shift_leader')
    c = await ok(c, 'dispatch', 'dispatcher', { workerId })
    const job = dispatchAckJob({ db, events: new EventLog(db), log: createLogger('silent'), ackWithinMs: 60_000 })
    const notices = async () => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM event_log WHERE type = 'case:ack_overdue' AND payload ->> 'id' = $1`, [String(c.id)]))[0]!.n
    // Within the time: nothing.
    await job.run(new Date(Date.now() + 30_000))
    expect(await notices()).toBe(0)
    // Past it: one notice, and only one however often the job runs.
    await job.run(new Date(Date.now() + 120_000))
    await job.run(new Date(Date.now() + 180_000))
    expect(await notices()).toBe(1)
    const [row] = await q<{ version: number; dispatch_ack_noticed_at: Date | null }>('SELECT version, dispatch_ack_noticed_at FROM cases WHERE id = $1', [c.id])
    expect(row).toMatchObject({ version: c.version })
    expect(row!.dispatch_ack_noticed_at).not.toBeNull()
  })
})
