/**
 * Assessment tables and breakdowns: the indicators of server/stats/indicators.ts (loadIndicators,
 * grouped by the kind of unit) scored by the kind's rule (score.ts, rules.ts).
 */
import { z } from 'zod'
import type { Queryable } from '../db/index.ts'
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter, scopePrefix } from '../auth/scope.ts'
import { HttpError } from '../http/errors.ts'
import { IndicatorsQuery, loadIndicators, periodOf, type IndicatorRow, type Indicators } from '../stats/indicators.ts'
import { KindParam, REGION_DIGITS, SCORABLE, rank, scoreRow, type Component, type Grade, type Kind, type Rule } from './score.ts'
import { loadRule, sql } from './rules.ts'
import { lostCases, type LostCase } from './cases.ts'

type Scope = Pick<Actor, 'scopeCode' | 'scopePrefix' | 'unrestricted'>

const Period = IndicatorsQuery.pick({ from: true, to: true })

export const AssessmentQuery = Period.extend({
  kind: KindParam,
  code: IndicatorsQuery.shape.code,
})
export type AssessmentQuery = z.infer<typeof AssessmentQuery>

export const BreakdownParams = z.object({ kind: KindParam, code: z.string() })

export const BreakdownQuery = Period.extend({
  /** For departments and workers: only their cases inside this area (as `code` of the table). */
  area: IndicatorsQuery.shape.code,
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be a whole number').min(0, 'limit must be 0 or more').max(500, 'limit must be 500 or less').default(50),
})
export type BreakdownQuery = z.infer<typeof BreakdownQuery>

export interface AssessmentRow {
  code: string
  name: string | null
  score: number
  grade: Grade
  rank: number
  components: Component[]
}

export interface Assessment {
  kind: Kind
  from: string
  to: string
  tz: string
  asOf: string
  /** The area the table is limited to (the `code` asked for), null for the asker's whole scope. */
  code: string | null
  rule: Rule
  rows: AssessmentRow[]
}

export interface BreakdownComponent extends Component {
  label: string
  better: 'higher' | 'lower'
  /** How many cases cost points here, and the first `limit` of them by id. */
  lostCaseCount: number
  lostCases: LostCase[]
}

export interface Breakdown {
  kind: Kind
  code: string
  name: string | null
  from: string
  to: string
  tz: string
  asOf: string
  /** Departments and workers: the area their cases were counted in; null for the asker's whole scope. */
  area: string | null
  rule: Rule
  score: number
  grade: Grade
  components: BreakdownComponent[]
  limit: number
}

/** The ranked table of a kind of unit within the asker's scope. */
export async function loadAssessment(q: Queryable, query: AssessmentQuery, scope: Scope, tz: string, now = Date.now()): Promise<Assessment> {
  const rule = await loadRule(q, query.kind)
  const ind = await loadIndicators(q, { from: query.from, to: query.to, code: query.code, groupBy: query.kind }, scope, tz, now).catch((err: unknown) => {
    // The indicators' grouping is this table's kind: say so in its terms.
    if (err instanceof HttpError && err.status === 400 && err.message.startsWith('groupBy:')) {
      throw new HttpError(400, `kind: ${query.kind} is above the selected area ${query.code ?? scope.scopeCode}; choose a kind of unit inside it`)
    }
    throw err
  })
  const scored = ind.rows
    // Cases with no department or worker are nobody's to answer for.
    .filter((r): r is IndicatorRow & { code: string } => r.code !== null)
    .map((r) => ({ code: r.code, name: r.name, ...scoreRow(r, rule) }))
  const rows = rank(scored).map(({ code, name, score, grade, rank: n, components }) => ({ code, name, score, grade, rank: n, components }))
  return { kind: query.kind, from: ind.from, to: ind.to, tz, asOf: ind.asOf, code: ind.code, rule, rows }
}

/** One unit's score with the cases behind each component's lost points. */
export async function loadBreakdown(q: Queryable, kind: Kind, code: string, query: BreakdownQuery, scope: Scope, tz: string, now = Date.now()): Promise<Breakdown> {
  const digits = REGION_DIGITS[kind]
  let ind: Indicators
  let area: string | null
  if (digits !== undefined) {
    if (!new RegExp(`^\\d{${digits}}$`).test(code)) throw new HttpError(400, `code: a ${kind} code has ${digits} digits, not "${code}"`)
    if (query.area) throw new HttpError(400, `area: only departments and workers are counted inside an area; a ${kind} is its own area`)
    // loadIndicators checks the code: 404 for no such unit, 403 outside the asker's scope.
    ind = await loadIndicators(q, { from: query.from, to: query.to, code, groupBy: kind }, scope, tz, now)
    area = scopePrefix(code)
  } else {
    if (!/^\d{1,9}$/.test(code)) throw new HttpError(400, `code: a ${kind} is named by its id (a positive integer), not "${code}"`)
    const unit = (await q.query<{ code: string }>(kind === 'department' ? sql.department : sql.worker, [code])).rows[0]
    if (!unit) throw new HttpError(404, `no ${kind} has the id ${code}`)
    ind = await loadIndicators(q, { from: query.from, to: query.to, code: query.area, groupBy: kind }, scope, tz, now)
    area = query.area ? scopePrefix(query.area) : null
  }
  const row = ind.rows.find((r) => r.code === code)
  // Departments and workers are listed (and scored) only where they have cases.
  if (!row) throw new HttpError(404, `${kind} ${code} has no cases from ${ind.from} to ${ind.to} in ${ind.code ?? `your scope (${scope.scopeCode})`}`)
  const rule = await loadRule(q, kind)
  const scored = scoreRow(row, rule)
  const { from, to } = periodOf({ from: query.from, to: query.to }, tz, now)
  const lost = await lostCases(
    q,
    rule.indicators.map((i) => i.indicator),
    [scopeFilter(scope), area, new Date(from).toISOString(), new Date(to).toISOString(), kind],
    code,
    query.limit,
  )
  return {
    kind,
    code,
    name: row.name,
    from: ind.from,
    to: ind.to,
    tz,
    asOf: ind.asOf,
    area: digits === undefined ? (ind.code ?? null) : null,
    rule,
    score: scored.score,
    grade: scored.grade,
    components: scored.components.map((c, i) => ({
      ...c,
      label: SCORABLE[c.indicator].label,
      better: SCORABLE[c.indicator].better,
      lostCaseCount: lost[i].count,
      lostCases: lost[i].cases,
    })),
    limit: query.limit,
  }
}
