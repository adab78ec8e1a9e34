/**
 * Assessment scores (考核) from the indicators of GET /api/stats/indicators and a rule of weights
 * and grade bands — pure functions, no database. The rule and its arithmetic: docs/assessment.md.
 */
import { z } from 'zod'
import type { IndicatorRow } from '../stats/indicators.ts'

export const KINDS = ['district', 'street', 'community', 'department', 'worker'] as const
export type Kind = (typeof KINDS)[number]

/** Digits of a unit code for the region kinds. */
export const REGION_DIGITS: Partial<Record<Kind, number>> = { district: 6, street: 9, community: 12 }

export const GRADES = ['A', 'B', 'C', 'D', 'E'] as const
export type Grade = (typeof GRADES)[number]
export type Bands = Record<Grade, number>

/**
 * The indicators a rule can score: the rates of GET /api/stats/indicators, each with whether a
 * higher rate is better, the counts (of server/stats/indicators.sql) its numerator and denominator
 * are, and the Chinese name. `handlingTime` (hours, no rate) is not scorable.
 */
export const SCORABLE = {
  registration: { label: '立案率', better: 'higher', num: 'registration_num', den: 'registration_den' },
  onTimeDispatch: { label: '按时派遣率', better: 'higher', num: 'on_time_dispatch_num', den: 'on_time_dispatch_den' },
  disposal: { label: '处置率', better: 'higher', num: 'disposal_num', den: 'disposal_den' },
  onTimeDisposal: { label: '按期处置率', better: 'higher', num: 'on_time_disposal_num', den: 'disposal_den' },
  closure: { label: '结案率', better: 'higher', num: 'closure_num', den: 'closure_den' },
  onTimeClosure: { label: '按期结案率', better: 'higher', num: 'on_time_closure_num', den: 'closure_den' },
  rework: { label: '返工率', better: 'lower', num: 'rework_num', den: 'disposal_num' },
  overdue: { label: '超期率', better: 'lower', num: 'overdue_num', den: 'disposal_den' },
  satisfaction: { label: '满意率', better: 'higher', num: 'satisfaction_num', den: 'satisfaction_den' },
} as const satisfies Record<string, { label: string; better: 'higher' | 'lower'; num: string; den: string }>
export type ScorableKey = keyof typeof SCORABLE
export const SCORABLE_KEYS = Object.keys(SCORABLE) as ScorableKey[]

const KIND_ERROR = { error: (iss: { input?: unknown }) => `unknown kind "${String(iss.input)}"; kinds: ${KINDS.join(', ')}` }
export const KindParam = z.enum(KINDS, KIND_ERROR)

/** Tenths at most: scores are given to 0.1 and a weight's points should be too. */
const tenths = (x: number) => Math.abs(Math.round(x * 10) - x * 10) < 1e-9
const Points = z.number({ error: 'must be a number' }).finite().min(0, 'must be 0 or more').max(100, 'must be 100 or less').refine(tenths, 'must have at most one decimal')

/** A rule as an admin sends it (PUT /api/admin/assessment-rules/:kind). */
export const RuleInput = z
  .object({
    version: z.number({ error: 'version (the version you edited, from GET /api/admin/assessment-rules) is required' }).int().min(1),
    indicators: z
      .array(
        z.object({
          indicator: z.enum(SCORABLE_KEYS as [ScorableKey, ...ScorableKey[]], {
            error: (iss) => `unknown or unscorable indicator "${String(iss.input)}"; scorable: ${SCORABLE_KEYS.join(', ')}`,
          }),
          weight: Points,
        }),
        { error: 'indicators must be a list of {indicator, weight}' },
      )
      .min(1, 'indicators: at least one indicator is needed'),
    bands: z.object(Object.fromEntries(GRADES.map((g) => [g, Points])) as Record<Grade, typeof Points>, { error: 'bands must be an object {A, B, C, D, E} of lowest scores' }),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>()
    r.indicators.forEach((i, n) => {
      if (seen.has(i.indicator)) ctx.addIssue({ code: 'custom', path: ['indicators', n, 'indicator'], message: `${i.indicator} is listed twice` })
      seen.add(i.indicator)
    })
    const sum = r.indicators.reduce((s, i) => s + i.weight, 0)
    if (Math.abs(sum - 100) > 1e-6) ctx.addIssue({ code: 'custom', path: ['indicators'], message: `the weights add up to ${round1(sum)}, not 100` })
    for (let g = 1; g < GRADES.length; g++) {
      const [hi, lo] = [GRADES[g - 1], GRADES[g]]
      if (!(r.bands[hi] > r.bands[lo])) ctx.addIssue({ code: 'custom', path: ['bands', hi], message: `${hi} (${r.bands[hi]}) must be above ${lo} (${r.bands[lo]}): bands descend from A to E` })
    }
    if (r.bands.E !== 0) ctx.addIssue({ code: 'custom', path: ['bands', 'E'], message: 'E is the floor and must be 0' })
  })
export type RuleInput = z.infer<typeof RuleInput>

export interface RuleIndicator {
  indicator: ScorableKey
  label: string
  better: 'higher' | 'lower'
  weight: number
}

export interface Rule {
  kind: Kind
  version: number
  updatedAt: string
  /** Username of the admin who made this version; null for the defaults. */
  updatedBy: string | null
  /** In the order of SCORABLE (the order docs/indicators.md lists them). */
  indicators: RuleIndicator[]
  bands: Bands
}

export interface Component {
  indicator: ScorableKey
  weight: number
  numerator: number
  denominator: number
  /** numerator / denominator to 4 decimals; null when the denominator is 0 (the weight is earned in full). */
  rate: number | null
  earned: number
  lost: number
}

export interface Scored {
  score: number
  grade: Grade
  components: Component[]
}

/** Non-negative x to 0.1, halves up, without binary-fraction surprises (0.35 → 0.4). */
export function round1(x: number): number {
  return Math.round(Number((x * 10).toFixed(6))) / 10
}

export function gradeOf(score: number, bands: Bands): Grade {
  return GRADES.find((g) => score >= bands[g]) ?? 'E'
}

/** The numerator and denominator an indicator row gives for a scorable indicator. */
function ratioOf(row: IndicatorRow, key: ScorableKey): { numerator: number; denominator: number } {
  const v = row[key] as { numerator: number; denominator: number }
  return { numerator: Number(v.numerator), denominator: Number(v.denominator) }
}

/**
 * A unit's score under a rule: each indicator earns weight × rate (weight × (1 − rate) where lower
 * is better), to 0.1; an indicator with no cases (denominator 0) earns its whole weight; the score
 * is the sum of what the components earned, so the parts add up to it exactly.
 */
export function scoreRow(row: IndicatorRow, rule: Pick<Rule, 'indicators' | 'bands'>): Scored {
  const components = rule.indicators.map(({ indicator, weight, better }): Component => {
    const { numerator, denominator } = ratioOf(row, indicator)
    const rate = denominator ? numerator / denominator : null
    const earned = rate === null ? weight : round1(weight * (better === 'higher' ? rate : 1 - rate))
    return { indicator, weight, numerator, denominator, rate: rate === null ? null : Math.round(rate * 1e4) / 1e4, earned, lost: round1(weight - earned) }
  })
  const score = round1(components.reduce((s, c) => s + c.earned, 0))
  return { score, grade: gradeOf(score, rule.bands), components }
}

/** Ranks by score, highest first; equal scores share a rank (1, 2, 2, 4) and are ordered by code (ids numerically). */
export function rank<T extends { code: string; score: number }>(rows: T[]): (T & { rank: number })[] {
  const sorted = [...rows].sort((a, b) => b.score - a.score || a.code.localeCompare(b.code, 'en', { numeric: true }))
  let rankNow = 0
  return sorted.map((r, i) => {
    if (i === 0 || r.score !== sorted[i - 1].score) rankNow = i + 1
    return { ...r, rank: rankNow }
  })
}
