/**
 * Acceptance 3: deadlines on a controllable clock. A case whose handling stage starts on Friday
 * 16:00 with a 4-working-hour limit is due at Monday 11:00 (periods 08:30–12:00, 13:00–17:30);
 * the `cases:deadlines` job, run at chosen instants, turns it yellow (due soon: under a quarter
 * of its working time left) just after Monday 10:00 and orange (overdue) at 11:00 — not over the
 * weekend — and the events reach a connected socket.
 *
 * The week is in July 2026, before the demo history (August–October 2026), and the job skips
 * stages that begin after its `now`: on the shared database the runs leave others' cases alone.
 */
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import type { Db } from '../../server/db/index.ts'
import { loadCalendar } from '../../server/cases/calendar.ts'
import { stageDeadline, type CategoryLimits } from '../../server/cases/deadlines.ts'
import { deadlineJob } from '../../server/cases/jobs.ts'
import { createLogger } from '../../server/log.ts'
import { EventLog } from '../../server/realtime/event-log.ts'
import { zoneClock } from '../../server/time/zone.ts'
import { TileCache } from '../../tiles/cache.ts'
import { TileInvalidator } from '../../tiles/invalidation.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const TZ = 'Asia/Shanghai'
const sh = zoneClock(TZ)
const PREFIX = 'T6D-'

interface Pushed {
  seq: number
  type: string
  payload: { id?: number; level?: string; from?: string | null; deadline?: string }
}

describe.each(backends())('case deadlines on $name', ({ databaseUrl }) => {
  let s: TestServer
  let db: Db
  let socket: Socket
  const got: Pushed[] = []
  const log = createLogger('silent')

  const cleanup = () => db.query(`DELETE FROM cases WHERE code LIKE $1`, [`${PREFIX}%`])

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    db = s.server.db
    // Runs that stopped before cleaning up leave their cases: gone first.
    await cleanup()
    // The city-wide dispatcher's seat: case events (the system admin handles no cases).
    const dispatcher = await login(s.url, 'dispatcher')
    socket = connect(s.url, { path: '/socket.io', extraHeaders: { cookie: dispatcher }, transports: ['websocket'], autoConnect: false })
    socket.on('event', (e: Pushed) => got.push(e))
    const hello = new Promise<void>((resolve) => socket.once('hello', () => resolve()))
    socket.connect()
    await hello
  })
  afterAll(async () => {
    socket?.close()
    if (db) await cleanup()
    await s?.close()
  })

  const until = (check: () => boolean | Promise<boolean>, what: string, ms = 10_000) => waitUntil(check, what, ms, 25)

  it('reads the working calendar from the database: 2026 holidays and 调休 days', async () => {
    const cal = await loadCalendar(db, TZ, true)
    expect(cal.isWorkday(sh.parse('2026-10-01 10:00'))).toBe(false) // 国庆
    expect(cal.isWorkday(sh.parse('2026-10-10 10:00'))).toBe(true) // 调休 Saturday
    expect(cal.isWorkday(sh.parse('2026-07-18 10:00'))).toBe(false) // a plain Saturday
    expect(cal.hoursPerDay).toBe(8)
  })

  it('flips due-soon and overdue at the right working time across a weekend, and pushes the events', async () => {
    const cal = await loadCalendar(db, TZ, true)
    const category = (await db.query<CategoryLimits & { code: string }>(
      `SELECT code, limits_hours, limits_days FROM case_categories WHERE (limits_hours->>'handle')::numeric = 4 ORDER BY code LIMIT 1`,
    )).rows[0]!
    expect(category, 'a category with a 4-working-hour handling limit').toBeDefined()
    const start = sh.parse('2026-07-17 16:00') // Friday
    const due = stageDeadline(cal, category, 'dispatched', start, { urgency: 'normal' })!
    expect(new Date(due).toISOString()).toBe(new Date(sh.parse('2026-07-20 11:00')).toISOString()) // Monday

    const { rows: [grid] } = await db.query<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT code, ST_PointOnSurface(geom) AS p FROM grids ORDER BY code LIMIT 1) g`,
    )
    const code = `${PREFIX}${Date.now().toString(36)}`
    const { rows: [row] } = await db.query<{ id: number }>(
      `INSERT INTO cases (code, category_code, source, urgency, stage, description, grid_code, reported_at, accepted_at,
                          verified_at, registered_at, dispatched_at, stage_started_at, stage_deadline_at, deadline_at, sla_level, geom)
       VALUES ($1, $2, 'patrol', 'normal', 'dispatched', '期限测试', $3, $4, $4, $4, $4, $5, $5, $6, $6, 'blue',
               ST_SetSRID(ST_MakePoint($7, $8), 4326))
       RETURNING id`,
      [code, category.code, grid!.code, new Date(start - 3_600_000), new Date(start), new Date(due), grid!.lon, grid!.lat],
    )
    const id = row!.id
    const events = new EventLog(db)
    events.bind(s.server.io)
    const job = deadlineJob({ db, events, tiles: new TileInvalidator(new TileCache({ maxBytes: 1 << 20, maxEntries: 100 })), log, tz: TZ })
    const state = async () => (await db.query<{ sla_level: string; overdue: boolean }>('SELECT sla_level, overdue FROM cases WHERE id = $1', [id])).rows[0]!
    const mine = () => got.filter((e) => e.payload.id === id)
    const runAt = async (wall: string) => {
      await job.run(new Date(sh.parse(wall)))
      return state()
    }

    // The weekend does not count: 2.5 of the 4 working hours are still left on Monday morning.
    for (const t of ['2026-07-17 17:00', '2026-07-18 12:00', '2026-07-19 23:00', '2026-07-20 08:30', '2026-07-20 09:59']) {
      expect(await runAt(t), t).toEqual({ sla_level: 'blue', overdue: false })
    }
    // Under a quarter (1 h) left after Monday 10:00.
    expect(await runAt('2026-07-20 10:01')).toEqual({ sla_level: 'yellow', overdue: false })
    let ms = await until(() => mine().length >= 2, 'case:due_soon and case:level')
    console.log(`[deadlines] due-soon events pushed ${ms} ms after the run`)
    expect(mine().map((e) => e.type)).toEqual(['case:due_soon', 'case:level'])
    expect(mine()[1]!.payload).toMatchObject({ level: 'yellow', from: 'blue' })
    // Still due soon, nothing new, until the deadline.
    expect(await runAt('2026-07-20 10:30')).toEqual({ sla_level: 'yellow', overdue: false })
    expect(await runAt('2026-07-20 10:59')).toEqual({ sla_level: 'yellow', overdue: false })
    expect(await runAt('2026-07-20 11:00')).toEqual({ sla_level: 'orange', overdue: true })
    ms = await until(() => mine().length >= 4, 'case:overdue and case:level')
    console.log(`[deadlines] overdue events pushed ${ms} ms after the run`)
    expect(await runAt('2026-07-20 15:00')).toEqual({ sla_level: 'orange', overdue: true })
    await sleep(300)
    expect(mine().map((e) => e.type)).toEqual(['case:due_soon', 'case:level', 'case:overdue', 'case:level'])
    expect(mine()[2]!.payload.deadline).toBe(new Date(due).toISOString())
    expect(mine()[3]!.payload).toMatchObject({ level: 'orange', from: 'yellow' })

    // The same events are in the log, in order, scoped to the case's grid.
    const { rows: logged } = await db.query<{ type: string; scope: string }>(
      `SELECT type, scope FROM event_log WHERE payload->>'id' = $1::text AND type LIKE 'case:%' AND seq >= $2 ORDER BY seq`,
      [String(id), mine()[0]!.seq],
    )
    expect(logged.map((e) => e.type)).toEqual(['case:due_soon', 'case:level', 'case:overdue', 'case:level'])
    expect(new Set(logged.map((e) => e.scope))).toEqual(new Set([grid!.code]))

    // Closed within its deadline: green, announced once.
    const { rows: [other] } = await db.query<{ id: number }>(
      `INSERT INTO cases (code, category_code, source, urgency, stage, description, grid_code, reported_at, dispatched_at,
                          closed_at, stage_started_at, deadline_at, sla_level, geom)
       VALUES ($1, $2, 'patrol', 'normal', 'closed', '期限测试', $3, $4, $4, $5, $5, $6, 'yellow', ST_SetSRID(ST_MakePoint($7, $8), 4326))
       RETURNING id`,
      [`${code}-2`, category.code, grid!.code, new Date(start), new Date(sh.parse('2026-07-20 10:40')), new Date(due), grid!.lon, grid!.lat],
    )
    await job.run(new Date(sh.parse('2026-07-20 15:00')))
    expect((await db.query('SELECT sla_level, overdue FROM cases WHERE id = $1', [other!.id])).rows[0]).toEqual({ sla_level: 'green', overdue: false })
    await until(() => got.some((e) => e.payload.id === other!.id), 'case:level green')
    expect(got.filter((e) => e.payload.id === other!.id).map((e) => `${e.type}:${e.payload.level}`)).toEqual(['case:level:green'])
  })
})
