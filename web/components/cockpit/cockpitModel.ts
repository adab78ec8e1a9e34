/**
 * The cockpit's arithmetic (pure; unit-tested in tests/unit/cockpit-model.test.ts): periods in the
 * city's time zone, the drill-down levels, the KPI cards read from GET /api/stats/indicators, the
 * trend against the previous period, the choropleth's classes and colours, ranks of grid rows.
 */
import type { MessageKey } from '../../i18n/zh-CN.ts'

/** The city's time zone (server ONEGRID_TZ default): "today" is the city's today. */
export const CITY_TZ = 'Asia/Shanghai'

// ─── periods ─────────────────────────────────────────────────────────────────────────────────

export const PERIOD_PRESETS = ['today', 'week', 'month', 'custom'] as const
export type PeriodPreset = (typeof PERIOD_PRESETS)[number]

/** A period as the API takes it: local dates YYYY-MM-DD, both included. */
export interface Period {
  preset: PeriodPreset
  from: string
  to: string
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

/** Whether `s` is a real calendar date YYYY-MM-DD. */
export function isDate(s: unknown): s is string {
  if (typeof s !== 'string' || !DATE.test(s)) return false
  const d = new Date(`${s}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
}

/** The local date (YYYY-MM-DD) in `tz` at instant `now`. */
export function localDate(now: number, tz = CITY_TZ): string {
  // en-CA formats as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(now))
}

/** `date` moved by `days` (calendar arithmetic, no time zone involved). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/**
 * The period of a preset at `now`: today; this week from Monday; this month from the 1st —
 * each up to and including today. `custom` keeps the dates given (swapped when reversed), or
 * this month when they are not dates.
 */
export function periodOf(preset: PeriodPreset, now: number, custom?: { from?: unknown; to?: unknown }, tz = CITY_TZ): Period {
  const today = localDate(now, tz)
  switch (preset) {
    case 'today':
      return { preset, from: today, to: today }
    case 'week': {
      const weekday = new Date(`${today}T00:00:00Z`).getUTCDay() // 0 = Sunday
      return { preset, from: addDays(today, -((weekday + 6) % 7)), to: today }
    }
    case 'month':
      return { preset, from: `${today.slice(0, 8)}01`, to: today }
    case 'custom': {
      const { from, to } = custom ?? {}
      if (!isDate(from) || !isDate(to)) return periodOf('month', now, undefined, tz)
      return from <= to ? { preset, from, to } : { preset, from: to, to: from }
    }
  }
}

/** Days in a period (both ends included). */
export function periodDays(p: Pick<Period, 'from' | 'to'>): number {
  return Math.round((Date.parse(`${p.to}T00:00:00Z`) - Date.parse(`${p.from}T00:00:00Z`)) / 86_400_000) + 1
}

// ─── levels of the drill-down ────────────────────────────────────────────────────────────────

export const LEVELS = ['district', 'street', 'community', 'grid'] as const
export type Level = (typeof LEVELS)[number]
/** The kinds GET /api/stats/assessment scores (grids have no score: their table is the indicators'). */
export type AssessKind = 'district' | 'street' | 'community' | 'department' | 'worker'

/** Digits of a unit code per level. */
export const LEVEL_DIGITS: Record<Level, number> = { district: 6, street: 9, community: 12, grid: 15 }

/** Prefix of a code as the server reads scopes: a 6-digit code's trailing "00" pairs mean "all of them" (310000 = 31). */
export function codePrefix(code: string): string {
  if (code.length !== 6) return code
  let p = code
  while (p.length > 2 && p.endsWith('00')) p = p.slice(0, -2)
  return p
}

/** The level of a unit code (a 6-digit code of a city or prefecture is above the districts: null). */
export function levelOf(code: string): Level | null {
  if (code.length === 6) return codePrefix(code).length === 6 ? 'district' : null
  return LEVELS.find((l) => LEVEL_DIGITS[l] === code.length) ?? null
}

/** The level whose units make up `code` (the scope's or a drilled unit's): null below a grid. */
export function childLevel(code: string): Level | null {
  const level = levelOf(code)
  if (level === null) return 'district'
  const i = LEVELS.indexOf(level)
  return LEVELS[i + 1] ?? null
}

/** The vector source (catalog layer) drawing the units of a level, and its property naming the parent. */
export const LEVEL_SOURCE: Record<Level, { source: string; parentProp: string }> = {
  district: { source: 'districts', parentProp: 'parent_code' },
  street: { source: 'streets', parentProp: 'parent_code' },
  community: { source: 'communities', parentProp: 'parent_code' },
  grid: { source: 'grids', parentProp: 'community_code' },
}

// ─── KPI cards ───────────────────────────────────────────────────────────────────────────────

export const KPI_KEYS = [
  'open',
  'new',
  'closure',
  'onTimeClosure',
  'rework',
  'satisfaction',
  'sensorAvailability',
  'cameraAvailability',
  'workersOnDuty',
  'patrolCoverage',
] as const
export type KpiKey = (typeof KPI_KEYS)[number]

export interface KpiSpec {
  key: KpiKey
  label: MessageKey
  /** A share (0–1, shown as %) or a count. */
  format: 'percent' | 'count'
  /** Which way is good news (colours the trend); neutral: neither. */
  better: 'higher' | 'lower' | 'neutral'
  /** Field names in an indicators row to read, first found wins (the API's own name first). */
  fields: readonly string[]
  /** The choropleth indicator a tap on the card shows, when the map can colour by it. */
  indicator?: MapIndicator
  /** Show a ratio's numerator (a count, e.g. workers on duty) rather than its rate; the denominator beside it. */
  part?: 'numerator'
  /** The server measures it for a period that includes now only (null for a past period). */
  currentOnly?: true
}

export const KPIS: readonly KpiSpec[] = [
  { key: 'open', label: 'cockpit.kpi.open', format: 'count', better: 'lower', fields: ['open', 'openCases'] },
  { key: 'new', label: 'cockpit.kpi.new', format: 'count', better: 'neutral', fields: ['new', 'newCases', 'reported'] },
  { key: 'closure', label: 'cockpit.kpi.closure', format: 'percent', better: 'higher', fields: ['closure'], indicator: 'closure' },
  { key: 'onTimeClosure', label: 'cockpit.kpi.onTimeClosure', format: 'percent', better: 'higher', fields: ['onTimeClosure'], indicator: 'onTimeClosure' },
  { key: 'rework', label: 'cockpit.kpi.rework', format: 'percent', better: 'lower', fields: ['rework'], indicator: 'rework' },
  { key: 'satisfaction', label: 'cockpit.kpi.satisfaction', format: 'percent', better: 'higher', fields: ['satisfaction'], indicator: 'satisfaction' },
  { key: 'sensorAvailability', label: 'cockpit.kpi.sensorAvailability', format: 'percent', better: 'higher', fields: ['sensorAvailability'], indicator: 'sensorAvailability' },
  { key: 'cameraAvailability', label: 'cockpit.kpi.cameraAvailability', format: 'percent', better: 'higher', fields: ['cameraAvailability'], currentOnly: true },
  { key: 'workersOnDuty', label: 'cockpit.kpi.workersOnDuty', format: 'count', better: 'higher', fields: ['workersOnDuty'], part: 'numerator', currentOnly: true },
  { key: 'patrolCoverage', label: 'cockpit.kpi.patrolCoverage', format: 'percent', better: 'higher', fields: ['patrolCoverage'], indicator: 'patrolCoverage' },
]

/**
 * The one figure of an indicator field, whatever its shape: a number; a ratio's `rate`; else a
 * `value`, `count` or `average`. null when absent or not a number (e.g. a rate over nothing).
 */
export function figureOf(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (v === null || typeof v !== 'object') return null
  const o = v as Record<string, unknown>
  for (const k of ['rate', 'value', 'count', 'average']) {
    if (k in o) return typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null
  }
  return null
}

/** Whether a row has the field at all (a KPI the server does not compute yet is "not available", not 0). */
export function hasField(row: Record<string, unknown> | null | undefined, spec: KpiSpec): boolean {
  return !!row && spec.fields.some((f) => f in row)
}

/** A KPI's figure in an indicators row (total or a unit's). */
export function kpiValue(row: Record<string, unknown> | null | undefined, spec: KpiSpec): number | null {
  if (!row) return null
  const f = spec.fields.find((k) => k in row)
  if (f === undefined) return null
  const v = row[f]
  if (spec.part === 'numerator' && v !== null && typeof v === 'object') return figureOf((v as Record<string, unknown>).numerator)
  return figureOf(v)
}

/** The whole a numerator KPI is counted out of (workers on duty of all workers); null otherwise. */
export function kpiOf(row: Record<string, unknown> | null | undefined, spec: KpiSpec): number | null {
  if (!row || spec.part !== 'numerator') return null
  const f = spec.fields.find((k) => k in row)
  const v = f === undefined ? null : row[f]
  return v !== null && typeof v === 'object' ? figureOf((v as Record<string, unknown>).denominator) : null
}

export type TrendTone = 'good' | 'bad' | 'flat' | 'none'
export interface Trend {
  /** current − previous (a share's in percentage points ×100 is left to the formatter). */
  delta: number | null
  /** delta / previous (counts only; null when previous is 0 or unknown). */
  relative: number | null
  direction: 'up' | 'down' | 'flat' | 'none'
  tone: TrendTone
}

/** The trend of a KPI against the previous period, coloured by which way is good. */
export function trendOf(spec: Pick<KpiSpec, 'better' | 'format'>, current: number | null, previous: number | null): Trend {
  if (current === null || previous === null) return { delta: null, relative: null, direction: 'none', tone: 'none' }
  // Shares come to 4 decimals: compare at that precision so 0.1+0.2 noise is flat.
  const delta = spec.format === 'percent' ? Math.round((current - previous) * 1e4) / 1e4 : current - previous
  const relative = spec.format === 'count' && previous !== 0 ? delta / previous : null
  if (delta === 0) return { delta: 0, relative: relative === null ? null : 0, direction: 'flat', tone: 'flat' }
  const direction = delta > 0 ? 'up' : 'down'
  const tone: TrendTone = spec.better === 'neutral' ? 'flat' : (direction === 'up') === (spec.better === 'higher') ? 'good' : 'bad'
  return { delta, relative, direction, tone }
}

/** A KPI figure for display: shares as "87.3%", counts grouped ("1,234"), "—" when unknown. */
export function formatKpi(value: number | null, format: KpiSpec['format'], intlLocale: string): string {
  if (value === null) return '—'
  if (format === 'percent') return `${(value * 100).toFixed(1)}%`
  return new Intl.NumberFormat(intlLocale, { maximumFractionDigits: 1 }).format(value)
}

/** A trend for display: "+2.3 pp" for shares, "+12 (+8.0%)" for counts; "" when unknown. */
export function formatTrend(t: Trend, format: KpiSpec['format'], intlLocale: string, pp: string): string {
  if (t.delta === null) return ''
  const sign = t.delta > 0 ? '+' : t.delta < 0 ? '−' : '±'
  const abs = Math.abs(t.delta)
  if (format === 'percent') return `${sign}${(abs * 100).toFixed(1)} ${pp}`
  const n = new Intl.NumberFormat(intlLocale, { maximumFractionDigits: 1 }).format(abs)
  return t.relative === null ? `${sign}${n}` : `${sign}${n} (${sign}${Math.abs(t.relative * 100).toFixed(1)}%)`
}

// ─── the choropleth and the rankings ─────────────────────────────────────────────────────────

/** The rates a rule can score (server/assessment/score.ts SCORABLE), in its order, and which way is good. */
export const SCORABLE: Record<string, 'higher' | 'lower'> = {
  registration: 'higher',
  onTimeDispatch: 'higher',
  disposal: 'higher',
  onTimeDisposal: 'higher',
  closure: 'higher',
  onTimeClosure: 'higher',
  rework: 'lower',
  overdue: 'lower',
  satisfaction: 'higher',
}
export type ScorableKey = keyof typeof SCORABLE & string
export const SCORABLE_KEYS = Object.keys(SCORABLE) as ScorableKey[]

/** Shares GET /api/stats/indicators gives per unit besides the scorable ones (higher is better). */
export const UNIT_SHARES = ['sensorAvailability', 'patrolCoverage'] as const
/** What the map colours by: the assessment score, one of the scorable rates, or a unit share. */
export type MapIndicator = 'score' | ScorableKey | (typeof UNIT_SHARES)[number]
export const MAP_INDICATORS: readonly MapIndicator[] = ['score', ...SCORABLE_KEYS, ...UNIT_SHARES]

export function isMapIndicator(v: unknown): v is MapIndicator {
  return typeof v === 'string' && (MAP_INDICATORS as readonly string[]).includes(v)
}

/** Grids have no score (GET /api/stats/assessment has no grid kind): there the map shows this rate instead. */
export const GRID_FALLBACK_INDICATOR: ScorableKey = 'onTimeClosure'

export const GRADES = ['A', 'B', 'C', 'D', 'E'] as const
export type Grade = (typeof GRADES)[number]

/** Worst to best: five classes. */
export const RAMP = ['#ef4444', '#f97316', '#facc15', '#a3e635', '#22c55e'] as const
/** Units without a figure (no cases in the period). */
export const NO_DATA = '#475569'
/** Grade colours, A best. */
export const GRADE_COLORS: Record<Grade, string> = { A: RAMP[4], B: RAMP[3], C: RAMP[2], D: RAMP[1], E: RAMP[0] }

export interface ColorClass {
  color: string
  /** Lowest value of the class (grades: the band's lowest score). */
  min: number
  max: number
  /** The grade of a score class. */
  grade?: Grade
}

export interface Coloring {
  /** Unit code → fill colour. */
  colors: Map<string, string>
  /** Legend rows, best first. */
  classes: ColorClass[]
}

/**
 * Colours of units by value. Scores: the colour of their grade (bands from the rule, A ≥ bands.A).
 * Rates: five equal classes between the lowest and highest value shown (a relative map, as
 * leaders compare units), the best end green — for a rate where lower is better, the low end.
 */
export function colorUnits(values: ReadonlyMap<string, number | null>, indicator: MapIndicator, bands?: Partial<Record<Grade, number>>): Coloring {
  const colors = new Map<string, string>()
  if (indicator === 'score') {
    const b = { A: 90, B: 80, C: 70, D: 60, E: 0, ...bands }
    const gradeOf = (s: number): Grade => GRADES.find((g) => s >= b[g]) ?? 'E'
    for (const [code, v] of values) colors.set(code, v === null ? NO_DATA : GRADE_COLORS[gradeOf(v)])
    const classes = GRADES.map((g, i) => ({ color: GRADE_COLORS[g], min: b[g], max: i === 0 ? 100 : b[GRADES[i - 1]], grade: g }))
    return { colors, classes }
  }
  const nums = [...values.values()].filter((v): v is number => v !== null)
  if (!nums.length) {
    for (const code of values.keys()) colors.set(code, NO_DATA)
    return { colors, classes: [] }
  }
  const lo = Math.min(...nums)
  const hi = Math.max(...nums)
  const higherBetter = SCORABLE[indicator] !== 'lower'
  const n = RAMP.length
  const step = (hi - lo) / n
  const classOf = (v: number): number => (step === 0 ? n - 1 : Math.min(n - 1, Math.floor((v - lo) / step)))
  const colorOf = (k: number): string => RAMP[higherBetter ? k : n - 1 - k]
  for (const [code, v] of values) colors.set(code, v === null ? NO_DATA : colorOf(classOf(v)))
  const classes: ColorClass[] =
    step === 0
      ? [{ color: colorOf(n - 1), min: lo, max: hi }]
      : Array.from({ length: n }, (_, k) => ({ color: colorOf(k), min: lo + k * step, max: k === n - 1 ? hi : lo + (k + 1) * step }))
  // best first
  return { colors, classes: higherBetter ? classes.reverse() : classes }
}

/**
 * Ranks rows by value, best first (highest, or lowest where lower is better); equal values share
 * a rank (1, 2, 2, 4); rows without a value come last, unranked, in code order.
 */
export function rankBy<T extends { code: string }>(rows: readonly T[], value: (r: T) => number | null, better: 'higher' | 'lower'): (T & { rank: number | null; value: number | null })[] {
  const withValue = rows.map((r) => ({ ...r, value: value(r) }))
  const sign = better === 'higher' ? -1 : 1
  const sorted = withValue.sort((a, b) => {
    if (a.value === null || b.value === null) return a.value === null && b.value === null ? a.code.localeCompare(b.code) : a.value === null ? 1 : -1
    return sign * (a.value - b.value) || a.code.localeCompare(b.code)
  })
  let rank = 0
  return sorted.map((r, i) => {
    if (r.value === null) return { ...r, rank: null }
    if (i === 0 || r.value !== sorted[i - 1].value) rank = i + 1
    return { ...r, rank }
  })
}

/** A share as a percentage with one decimal ("—" for none). */
export function percent(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`
}
