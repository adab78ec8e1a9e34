/**
 * Formatting the seat shows everywhere (pure; unit-tested in tests/unit/seat-format.test.ts): the
 * time left to a deadline and its state, durations, distances, dates in the city's time zone.
 */
import type { Locale } from '../../composables/useI18n.ts'

/** The city's time zone (server ONEGRID_TZ default): every clock on the seat reads it. */
export const CITY_TZ = 'Asia/Shanghai'
/** Due soon when at most this fraction of the stage's time is left (the map's SLA rings agree). */
export const DUE_SOON_FRACTION = 0.25

export type LeftState = 'overdue' | 'due_soon' | 'on_time' | 'none'

/**
 * Time left to `deadline` at `now` (ms; negative when overdue) and its state: overdue past the
 * deadline, due soon in the last DUE_SOON_FRACTION of the span since `started`, on time before,
 * none without a deadline.
 */
export function timeLeft(deadline: string | null | undefined, now: number, started?: string | null): { ms: number | null; state: LeftState } {
  if (!deadline) return { ms: null, state: 'none' }
  const end = Date.parse(deadline)
  if (Number.isNaN(end)) return { ms: null, state: 'none' }
  const ms = end - now
  if (ms <= 0) return { ms, state: 'overdue' }
  const start = started ? Date.parse(started) : NaN
  const span = Number.isNaN(start) ? NaN : end - start
  const dueSoon = span > 0 ? ms / span <= DUE_SOON_FRACTION : ms <= 3_600_000
  return { ms, state: dueSoon ? 'due_soon' : 'on_time' }
}

/**
 * A duration as a dispatcher reads it: "2天3小时", "3小时05分", "12分", "45秒" (en: "2d 3h",
 * "3h 05m", "12m", "45s"); the sign is not shown (the state says overdue).
 */
export function formatDuration(ms: number, locale: Locale): string {
  const s = Math.floor(Math.abs(ms) / 1000)
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const zh = locale === 'zh-CN'
  if (d > 0) return zh ? `${d}天${h}小时` : `${d}d ${h}h`
  if (h > 0) return zh ? `${h}小时${String(m).padStart(2, '0')}分` : `${h}h ${String(m).padStart(2, '0')}m`
  if (m > 0) return zh ? `${m}分` : `${m}m`
  return zh ? `${s % 60}秒` : `${s % 60}s`
}

/** Metres: "850 m", "1.2 km". */
export function formatDistance(m: number | null | undefined): string {
  if (m === null || m === undefined || !Number.isFinite(m)) return '—'
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`
}

/** Date and time in the city's zone: "11-21 14:05" (with the year when not this year's). */
export function formatDateTime(iso: string | null | undefined, intlLocale: string, now = Date.now()): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return '—'
  const sameYear = new Date(now).getUTCFullYear() === d.getUTCFullYear()
  return new Intl.DateTimeFormat(intlLocale, {
    timeZone: CITY_TZ,
    ...(sameYear ? {} : { year: 'numeric' }),
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d)
}

/** A value for an `<input type="datetime-local">` in the city's zone ("2026-11-21T14:05"). */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: CITY_TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  )
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`
}

/** An `<input type="datetime-local">` value read in the city's zone (UTC+8, no daylight saving) as ISO 8601 with offset. */
export function fromLocalInput(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return null
  const d = new Date(`${value}:00+08:00`)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

/** Seconds as "1小时20分" / "1h 20m" (patrol time). */
export function formatSeconds(s: number, locale: Locale): string {
  return formatDuration(s * 1000, locale)
}
