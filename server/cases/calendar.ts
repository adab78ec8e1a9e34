/**
 * The working calendar that case time limits run on (工作时间): working ISO weekdays, the working
 * periods of a day, public holidays and make-up working days on weekends (调休), all data
 * (migration 012: work_calendar_settings + work_calendar_days), in ONEGRID_TZ. All local-time math
 * goes through ZoneClock, so a DST zone works the same (a period is wall-clock time each day).
 */
import type { Queryable } from '../db/index.ts'
import { zoneClock, type ZoneClock } from '../time/zone.ts'

const HOUR = 3_600_000

export interface CalendarConfig {
  /** Working ISO weekdays, 1 = Monday … 7 = Sunday. */
  weekdays: number[]
  /** Working periods of a day as local `HH:MM` pairs, in order, not overlapping. */
  periods: [string, string][]
  /** Local dates `YYYY-MM-DD` that are not worked although their weekday is. */
  holidays: string[]
  /** Local dates `YYYY-MM-DD` that are worked although their weekday is not (调休). */
  workdays?: string[]
}

const minutes = (s: string) => +s.slice(0, 2) * 60 + +s.slice(3, 5)

export class WorkCalendar {
  private readonly periods: [number, number][]
  private readonly weekdays: Set<number>
  private readonly holidays: Set<string>
  private readonly workdays: Set<string>

  constructor(
    readonly clock: ZoneClock,
    cfg: CalendarConfig,
  ) {
    this.periods = cfg.periods.map(([a, b]) => [minutes(a), minutes(b)])
    this.weekdays = new Set(cfg.weekdays)
    this.holidays = new Set(cfg.holidays)
    this.workdays = new Set(cfg.workdays ?? [])
  }

  /** Whether the local day containing `day` is worked: a 调休 day is, a holiday is not, else by weekday. */
  isWorkday(day: number): boolean {
    const ymd = this.clock.ymd(day, '-')
    if (this.workdays.has(ymd)) return true
    if (this.holidays.has(ymd)) return false
    return this.weekdays.has(this.clock.isoWeekday(day))
  }

  /** The working periods of the local day containing `day`, as instants (none on a day off). */
  periodsOf(day: number): [number, number][] {
    if (!this.isWorkday(day)) return []
    const w = this.clock.wall(day)
    const y = w.getUTCFullYear(), m = w.getUTCMonth(), d = w.getUTCDate()
    return this.periods.map(([a, b]) => [this.clock.at(y, m, d, 0, a), this.clock.at(y, m, d, 0, b)])
  }

  /** The instant `hours` working hours after `start` (a start outside working time counts from the next period; 0 hours gives that period's start). */
  addWorkingHours(start: number, hours: number): number {
    let left = hours * HOUR
    let day = this.clock.day(start)
    // Bounded: a calendar without any working day would otherwise loop for ever.
    for (let guard = 0; guard < 800; guard++) {
      for (const [pa, pb] of this.periodsOf(day)) {
        const s = Math.max(start, pa)
        if (s >= pb) continue
        if (pb - s >= left) return s + left
        left -= pb - s
      }
      day = this.clock.day(day, 1)
    }
    return start + hours * HOUR
  }

  /** The seed's name for addWorkingHours. */
  add(start: number, hours: number): number {
    return this.addWorkingHours(start, hours)
  }

  /**
   * The end of the `days`-th working day after the day of `start` (the start day itself does not
   * count, as usual for periods in days: 期间开始之日不计算在内). 0 days: the end of the start day's
   * work if it is a working day, else of the next working day.
   */
  addWorkingDays(start: number, days: number): number {
    let day = this.clock.day(start)
    let left = Math.max(0, Math.ceil(days))
    if (left === 0 && this.isWorkday(day)) return this.endOfWork(day)
    for (let guard = 0; guard < 2000; guard++) {
      day = this.clock.day(day, 1)
      if (this.isWorkday(day) && --left <= 0) return this.endOfWork(day)
    }
    return start + days * 24 * HOUR
  }

  /** Working time between two instants, in ms (negative when b is before a). */
  workingMsBetween(a: number, b: number): number {
    if (b < a) return -this.workingMsBetween(b, a)
    let total = 0
    let day = this.clock.day(a)
    for (let guard = 0; day < b && guard < 4000; guard++) {
      for (const [pa, pb] of this.periodsOf(day)) {
        const s = Math.max(a, pa), e = Math.min(b, pb)
        if (e > s) total += e - s
      }
      day = this.clock.day(day, 1)
    }
    return total
  }

  /** Working hours in a full working day (8 with the default periods). */
  get hoursPerDay(): number {
    return this.periods.reduce((s, [a, b]) => s + (b - a), 0) / 60
  }

  private endOfWork(day: number): number {
    const p = this.periodsOf(day)
    return p.length ? p[p.length - 1]![1] : this.clock.day(day, 1)
  }
}

interface SettingsRow {
  weekdays: number[]
  periods: [string, string][]
}

/** Reads the calendar tables (migration 012). */
export async function readCalendarConfig(db: Queryable): Promise<CalendarConfig> {
  const s = await db.query<SettingsRow>('SELECT weekdays, periods FROM work_calendar_settings LIMIT 1')
  const d = await db.query<{ day: string; kind: string }>(`SELECT to_char(day, 'YYYY-MM-DD') AS day, kind FROM work_calendar_days`)
  const row = s.rows[0] ?? { weekdays: [1, 2, 3, 4, 5], periods: [['08:30', '12:00'], ['13:00', '17:30']] as [string, string][] }
  return {
    weekdays: row.weekdays.map(Number),
    periods: row.periods,
    holidays: d.rows.filter((r) => r.kind === 'holiday').map((r) => r.day),
    workdays: d.rows.filter((r) => r.kind === 'workday').map((r) => r.day),
  }
}

const cache = new WeakMap<object, Map<string, Promise<WorkCalendar>>>()

/**
 * The calendar of a database in a zone, read once and cached; `reload` reads it again (after an
 * admin changed the tables). A failed read is not cached.
 */
export function loadCalendar(db: Queryable, tz: string, reload = false): Promise<WorkCalendar> {
  let byTz = cache.get(db)
  if (!byTz) cache.set(db, (byTz = new Map()))
  let p = reload ? undefined : byTz.get(tz)
  if (!p) {
    const fresh = readCalendarConfig(db).then((cfg) => new WorkCalendar(zoneClock(tz), cfg))
    fresh.catch(() => byTz.delete(tz))
    byTz.set(tz, (p = fresh))
  }
  return p
}
