/**
 * `cases:deadlines`: keeps each case's five-colour level (cases.sla_level) and overdue flag and
 * announces what changed — `case:due_soon` when a stage enters its last quarter, `case:overdue`
 * when its deadline passes, `case:level` whenever the colour changes — in the transaction of the
 * update, then has the case tiles refetched. `run(now)` takes the clock, so tests drive time.
 *
 * What was last announced is the stored sla_level: a run compares the level at `now` with it.
 * A case whose level was never set (NULL: the seeded backlog, or a case from before this job) is
 * levelled silently once, so a first run over a large history does not flood the screens.
 * Working time is the calendar's (calendar.ts), reloaded every run so an admin's change applies.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Db } from '../db/index.ts'
import type { Logger } from '../log.ts'
import type { EventLog } from '../realtime/event-log.ts'
import type { Job } from '../jobs/types.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import { loadCalendar } from './calendar.ts'
import { levelOf, loadSlaSettings, type Level } from './deadlines.ts'

/**
 * Cases read and updated per transaction. Small, and the job gives the event loop a turn between
 * batches: the embedded database runs in this process, so a batch blocks everything else while
 * it runs (a first run over a seeded or imported backlog of 1000-case batches held the loop ~2 s).
 */
export const DEADLINE_BATCH = 200
/** At most this many cases per run; the next run goes on after the last one. */
export const DEADLINE_RUN_MAX = 20_000

export interface DeadlineJobDeps {
  db: Db
  events: EventLog
  tiles: TileInvalidator
  log: Logger
  /** ONEGRID_TZ: the zone of the working calendar. */
  tz: string
  /** How often the job runs (default 60 s). */
  everyMs?: number
}

interface Row {
  id: number
  code: string
  version: number
  stage: string
  urgency: string
  grid_code: string | null
  reported_at: Date
  stage_started_at: Date | null
  stage_deadline_at: Date | null
  deadline_at: Date | null
  closed_at: Date | null
  suspended_at: Date | null
  overdue: boolean
  sla_level: Level | null
  lon: number
  lat: number
}

// Open cases, and closed ones still showing an open colour (or none yet): they turn green/orange/red once.
const SELECT = `
  SELECT id, code, version, stage, urgency, grid_code, reported_at, stage_started_at, stage_deadline_at, deadline_at,
         closed_at, suspended_at, overdue, sla_level, ST_X(geom) AS lon, ST_Y(geom) AS lat
    FROM cases
   WHERE id > $1
     -- A stage that begins after \`now\` cannot be judged at \`now\` (a clock set back, in tests).
     AND COALESCE(stage_started_at, reported_at) <= $3
     AND (stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged')
          OR (stage IN ('closed', 'evaluated') AND (sla_level IS NULL OR sla_level IN ('yellow', 'blue'))))
   ORDER BY id
   LIMIT $2`

// Only rows nobody acted on since they were read (same version): a stage change wins over the job.
// The version is not bumped — a colour is not an action, and a dispatcher must not get a 409 for it.
const UPDATE = `
  UPDATE cases c SET sla_level = v.level, overdue = c.overdue OR v.overdue
    FROM unnest($1::int[], $2::int[], $3::text[], $4::bool[]) AS v(id, version, level, overdue)
   WHERE c.id = v.id AND c.version = v.version
  RETURNING c.id`

export function deadlineJob(deps: DeadlineJobDeps): Job {
  let after = 0
  return {
    name: 'cases:deadlines',
    everyMs: deps.everyMs ?? 60_000,
    async run(now: Date) {
      const cal = await loadCalendar(deps.db, deps.tz, true)
      const settings = await loadSlaSettings(deps.db)
      const overdueLevels = new Set(settings.level_rules.filter((r) => r.overdue === true).map((r) => r.level))
      const dueSoonLevels = new Set(settings.level_rules.filter((r) => r.due_soon === true).map((r) => r.level))
      const t = now.getTime()
      let seen = 0, changed = 0, announced = 0
      while (seen < DEADLINE_RUN_MAX) {
        const { rows } = await deps.db.query<Row>(SELECT, [after, DEADLINE_BATCH, now.toISOString()])
        seen += rows.length
        // A short page is the end: the next run starts from the first case again.
        const last = rows.length < DEADLINE_BATCH
        after = last ? 0 : rows[rows.length - 1]!.id
        const updates: { row: Row; level: Level | null; overdue: boolean; dueSoon: boolean }[] = []
        for (const row of rows) {
          const r = levelOf(row, t, cal, settings)
          const overdue = r.overdue && !['closed', 'evaluated'].includes(row.stage)
          if (r.level !== row.sla_level || (overdue && !row.overdue)) updates.push({ row, level: r.level, overdue, dueSoon: r.dueSoon })
        }
        const done = !updates.length ? [] : await deps.events.write(async (tx, append) => {
          const ids = new Set((await tx.query<{ id: number }>(UPDATE, [
            updates.map((u) => u.row.id), updates.map((u) => u.row.version), updates.map((u) => u.level), updates.map((u) => u.overdue),
          ])).rows.map((x) => Number(x.id)))
          const applied = updates.filter((u) => ids.has(u.row.id))
          for (const { row, level, overdue, dueSoon } of applied) {
            // The backlog's first levelling is silent (see above).
            if (row.sla_level === null) continue
            const open = !['closed', 'evaluated'].includes(row.stage)
            const base = { id: row.id, code: row.code, stage: row.stage, deadline: row.stage_deadline_at ? new Date(row.stage_deadline_at).toISOString() : null }
            if (open && overdue && !overdueLevels.has(row.sla_level)) {
              await append({ type: 'case:overdue', scope: row.grid_code, payload: base })
              announced++
            } else if (open && dueSoon && !dueSoonLevels.has(row.sla_level)) {
              await append({ type: 'case:due_soon', scope: row.grid_code, payload: base })
              announced++
            }
            if (level !== row.sla_level) {
              await append({ type: 'case:level', scope: row.grid_code, payload: { id: row.id, code: row.code, level, from: row.sla_level } })
              announced++
            }
          }
          return applied
        })
        changed += done.length
        for (const { row, level } of done) {
          if (row.sla_level !== null && level !== row.sla_level) deps.tiles.changed('cases', [row.lon, row.lat, row.lon, row.lat], row.grid_code)
        }
        if (last) break
        await nextTurn()
      }
      if (changed) deps.log.info({ seen, changed, announced }, 'case deadlines: levels updated')
    },
  }
}
