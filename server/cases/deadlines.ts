/**
 * Case time limits and the five-colour level (五色灯).
 *
 * Limits are data: case_categories.limits_hours holds working hours per limit key (accept, verify,
 * dispatch, handle, check; the CSV columns), and case_categories.limits_days (migration 012) working
 * days for a key that is counted in days (违法搭建 "15 个工作日"): a key in limits_days wins over the
 * same key in limits_hours. A stage runs against the limit of the step that ends it
 * (`settings.stage_limits`: reported → accept, accepted → verify, …). The rest is data too
 * (sla_settings, migration 012): the urgency factor, the urgencies counted in clock hours around
 * the clock (critical), the due-soon fraction and the ordered level rules.
 *
 * Who calls what:
 * - the workflow (CaseService) on every stage start: `stage_deadline_at = stageDeadline(...)`;
 *   on an approved extension `extendDeadline(...)`; on resume after 缓办 `resumeDeadline(...)`
 *   (a suspended case's clock does not run: its deadline moves by the working time it was suspended);
 * - the `cases:deadlines` job (jobs.ts): `levelOf(...)` for open cases, announcing changes.
 */
import type { Queryable } from '../db/index.ts'
import type { WorkCalendar } from './calendar.ts'

const HOUR = 3_600_000

export type Level = 'red' | 'orange' | 'yellow' | 'blue' | 'green'
export const LEVELS: readonly Level[] = ['red', 'orange', 'yellow', 'blue', 'green']

/** A category's limits as stored (case_categories). */
export interface CategoryLimits {
  limits_hours: Record<string, number>
  limits_days?: Record<string, number> | null
}

/** One level rule: the first rule whose conditions all hold gives the level (omitted = any). */
export interface LevelRule {
  level: Level
  /** The stage's deadline has passed (for a closed case: it was closed late or flagged overdue). */
  overdue?: boolean
  /** Less than `due_soon_fraction` of the stage's working time is left (and not overdue). */
  due_soon?: boolean
  /** closed or evaluated. */
  closed?: boolean
  /** The case's urgency is one of these. */
  urgency?: string[]
}

export interface SlaSettings {
  /** stage → the limit key whose time the stage runs against; stages not listed have no deadline. */
  stage_limits: Record<string, string>
  /** Limits are multiplied by this per urgency (missing = 1). */
  urgency_factor: Record<string, number>
  /** Urgencies whose limits run around the clock (plain hours/days), not on the working calendar. */
  clock_urgencies: string[]
  /** Limit keys used when a category does not give one (hours). */
  default_limits_hours: Record<string, number>
  /** Due soon when less than this fraction of the stage's time is left. */
  due_soon_fraction: number
  /** Ordered; the first match wins. */
  level_rules: LevelRule[]
}

export const DEFAULT_SLA: SlaSettings = {
  stage_limits: {
    reported: 'accept', accepted: 'verify', verified: 'register', registered: 'dispatch',
    dispatched: 'handle', in_progress: 'handle', handled: 'check',
  },
  urgency_factor: { normal: 1, urgent: 0.5, critical: 0.5 },
  clock_urgencies: ['critical'],
  default_limits_hours: { register: 1 },
  due_soon_fraction: 0.25,
  level_rules: [
    { level: 'red', overdue: true, urgency: ['urgent', 'critical'] },
    { level: 'orange', overdue: true },
    { level: 'green', closed: true },
    { level: 'yellow', due_soon: true },
    { level: 'blue' },
  ],
}

export interface DeadlineOptions {
  urgency?: string
  /** Extra hours granted (cases.extension_hours), added in the stage's own time (working or clock). */
  extensionHours?: number
  settings?: SlaSettings
}

const runsOnClock = (o: DeadlineOptions, s: SlaSettings) => o.urgency !== undefined && s.clock_urgencies.includes(o.urgency)

/**
 * The deadline (epoch ms) of `stage` begun at `startMs` for a case of `category`, or null when the
 * stage has no limit (terminal stages, or no limit in the data).
 */
export function stageDeadline(cal: WorkCalendar, category: CategoryLimits, stage: string, startMs: number, opts: DeadlineOptions = {}): number | null {
  const s = opts.settings ?? DEFAULT_SLA
  const key = s.stage_limits[stage]
  if (!key) return null
  const f = (opts.urgency !== undefined ? s.urgency_factor[opts.urgency] : undefined) ?? 1
  const clock = runsOnClock(opts, s)
  const days = category.limits_days?.[key]
  let due: number
  if (typeof days === 'number' && days > 0) {
    // Days scaled by urgency become working hours when they no longer make whole days.
    const d = days * f
    due = clock ? startMs + d * 24 * HOUR
      : Number.isInteger(d) ? cal.addWorkingDays(startMs, d)
      : cal.addWorkingHours(startMs, d * cal.hoursPerDay)
  } else {
    const h = category.limits_hours?.[key] ?? s.default_limits_hours[key]
    if (typeof h !== 'number' || !(h > 0)) return null
    due = clock ? startMs + h * f * HOUR : cal.addWorkingHours(startMs, h * f)
  }
  return extendDeadline(cal, due, opts.extensionHours ?? 0, opts)
}

/** A deadline moved by granted extension hours (延期), in the stage's own time. */
export function extendDeadline(cal: WorkCalendar, deadlineMs: number, hours: number, opts: DeadlineOptions = {}): number {
  if (!(hours > 0)) return deadlineMs
  return runsOnClock(opts, opts.settings ?? DEFAULT_SLA) ? deadlineMs + hours * HOUR : cal.addWorkingHours(deadlineMs, hours)
}

/**
 * The deadline after a suspension (缓办) from `suspendedAtMs` to `resumedAtMs`: the clock did not
 * run, so the deadline moves by the (working) time the case was suspended.
 */
export function resumeDeadline(cal: WorkCalendar, deadlineMs: number, suspendedAtMs: number, resumedAtMs: number, opts: DeadlineOptions = {}): number {
  const clock = runsOnClock(opts, opts.settings ?? DEFAULT_SLA)
  const lost = clock ? Math.max(0, resumedAtMs - suspendedAtMs) : cal.workingMsBetween(suspendedAtMs, resumedAtMs)
  return extendDeadline(cal, deadlineMs, lost / HOUR, opts)
}

/** What levelOf needs of a case (cases columns). */
export interface CaseClock {
  stage: string
  urgency: string
  /** A case without a stage start (history from before stage deadlines) runs against deadline_at from its report. */
  reported_at?: Date | string | null
  stage_started_at: Date | string | null
  stage_deadline_at: Date | string | null
  deadline_at?: Date | string | null
  closed_at?: Date | string | null
  suspended_at?: Date | string | null
  /** Flagged overdue before (sticky: a case that overran stays overdue for the record). */
  overdue?: boolean
}

export interface LevelResult {
  level: Level | null
  overdue: boolean
  dueSoon: boolean
  /** Working (or clock) ms left to the stage deadline; null without one. */
  leftMs: number | null
}

export const OPEN_STAGES = ['reported', 'accepted', 'verified', 'registered', 'dispatched', 'in_progress', 'handled', 'checked'] as const
const CLOSED = new Set(['closed', 'evaluated'])
const ms = (v: Date | string | null | undefined) => (v == null ? null : new Date(v).getTime())

/**
 * The five-colour level of a case at `now` by `settings.level_rules`. Cancelled and merged cases
 * have none. A suspended case is measured at the moment it was suspended (its clock stands still).
 */
export function levelOf(c: CaseClock, now: number, cal: WorkCalendar, settings: SlaSettings = DEFAULT_SLA): LevelResult {
  if (c.stage === 'cancelled' || c.stage === 'merged') return { level: null, overdue: false, dueSoon: false, leftMs: null }
  const closed = CLOSED.has(c.stage)
  const clock = settings.clock_urgencies.includes(c.urgency)
  const between = (a: number, b: number) => (clock ? b - a : cal.workingMsBetween(a, b))
  let overdue = false, dueSoon = false
  let leftMs: number | null = null
  if (closed) {
    const end = ms(c.closed_at), due = ms(c.deadline_at)
    overdue = !!c.overdue || (end !== null && due !== null && end > due)
  } else {
    const at = ms(c.suspended_at) ?? now
    // A case recorded before stages had their own clock (no stage start) still has its case deadline.
    const own = ms(c.stage_deadline_at)
    const due = own ?? (c.stage_started_at == null ? ms(c.deadline_at) : null)
    if (due !== null) {
      overdue = at >= due
      leftMs = overdue ? -between(due, at) : between(at, due)
      const start = own !== null ? ms(c.stage_started_at) : ms(c.reported_at)
      const total = start !== null ? between(start, due) : null
      dueSoon = !overdue && total !== null && total > 0 && leftMs < total * settings.due_soon_fraction
    }
  }
  const rule = settings.level_rules.find((r) =>
    (r.overdue === undefined || r.overdue === overdue) &&
    (r.due_soon === undefined || r.due_soon === dueSoon) &&
    (r.closed === undefined || r.closed === closed) &&
    (r.urgency === undefined || r.urgency.includes(c.urgency)))
  return { level: rule?.level ?? null, overdue, dueSoon, leftMs }
}

/** sla_settings (migration 012) over the defaults; a missing row or field keeps the default. */
export async function loadSlaSettings(db: Queryable): Promise<SlaSettings> {
  const { rows } = await db.query<{ settings: Partial<SlaSettings> }>('SELECT settings FROM sla_settings LIMIT 1')
  return { ...DEFAULT_SLA, ...(rows[0]?.settings ?? {}) }
}
