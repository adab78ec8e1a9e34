/**
 * Wall-clock time in one IANA time zone (ONEGRID_TZ): the zone's rules come from the platform's
 * Intl data; the offset of each UTC hour is looked up once and cached, so converting is cheap
 * enough for every reading at 10 k/s. The seed, the simulator's daily rhythms, case codes, the
 * CNEMC feed's local timestamps and "which day" questions all go through this one clock.
 */
const HOUR = 3_600_000
const pad = (n: number, w: number) => String(n).padStart(w, '0')
/** A local date-time without offset: `2022-01-01T00:00:00`, `2022-01-01 08:30`. */
const WALL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/

export class ZoneClock {
  private readonly fmt: Intl.DateTimeFormat
  private readonly cache = new Map<number, number>()

  /** Throws a RangeError for a zone the platform does not know (config checks it first). */
  constructor(readonly tz: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
  }

  /** The zone's offset from UTC at an instant, in ms. */
  offset(ms: number): number {
    const h = Math.floor(ms / HOUR)
    let o = this.cache.get(h)
    if (o === undefined) {
      const p = Object.fromEntries(this.fmt.formatToParts(new Date(h * HOUR)).map((x) => [x.type, x.value]))
      o = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) - h * HOUR
      if (this.cache.size > 10_000) this.cache.clear()
      this.cache.set(h, o)
    }
    return o
  }

  /** The wall clock of an instant, as a Date to read with getUTC*. */
  wall(ms: number): Date {
    return new Date(ms + this.offset(ms))
  }

  /** The instant of a wall-clock time (fields may overflow, as in Date.UTC). */
  at(y: number, m0: number, d: number, hh = 0, mm = 0, ss = 0): number {
    const g = Date.UTC(y, m0, d, hh, mm, ss)
    const t = g - this.offset(g)
    // Near a change of offset the one at the guess may differ from the one at the instant.
    return g - this.offset(t)
  }

  /** The instant of a local date-time string without offset (`2022-01-01T00:00:00`); NaN if it is not one. */
  parse(wall: string): number {
    const m = WALL.exec(wall)
    return m ? this.at(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0)) : NaN
  }

  /** Local midnight of a calendar date `YYYY-MM-DD`, and of the day after: that day as [from, to). NaN for anything else. */
  dayBounds(date: string): { from: number; to: number } {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
    if (!m) return { from: NaN, to: NaN }
    return { from: this.at(+m[1]!, +m[2]! - 1, +m[3]!), to: this.at(+m[1]!, +m[2]! - 1, +m[3]! + 1) }
  }

  /** Local midnight `k` days after the local day of `ms`. */
  day(ms: number, k = 0): number {
    const w = this.wall(ms)
    return this.at(w.getUTCFullYear(), w.getUTCMonth(), w.getUTCDate() + k)
  }

  /** The local hour of day, to the minute (8.5 = 08:30). */
  hour(ms: number): number {
    const w = this.wall(ms)
    return w.getUTCHours() + w.getUTCMinutes() / 60
  }

  /** 1 = Monday … 7 = Sunday. */
  isoWeekday(ms: number): number {
    return this.wall(ms).getUTCDay() || 7
  }

  /** The local date: `20260121`, or with a separator `2026-01-21`. */
  ymd(ms: number, sep = ''): string {
    const w = this.wall(ms)
    return [w.getUTCFullYear(), pad(w.getUTCMonth() + 1, 2), pad(w.getUTCDate(), 2)].join(sep)
  }
}

const clocks = new Map<string, ZoneClock>()
/** One shared clock per zone. */
export function zoneClock(tz: string): ZoneClock {
  let c = clocks.get(tz)
  if (!c) clocks.set(tz, (c = new ZoneClock(tz)))
  return c
}

/** Whether a string is a local date-time without offset (for schemas). */
export const LOCAL_DATE_TIME = WALL
