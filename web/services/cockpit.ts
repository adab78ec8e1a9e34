/**
 * Client of what the leaders' cockpit (/cockpit) reads: the indicators (GET /api/stats/indicators,
 * server/stats/indicators.ts), the assessment tables and one unit's breakdown (GET
 * /api/stats/assessment…, server/assessment/routes.ts), and the URLs of their CSV/XLSX exports.
 * Every call takes an AbortSignal: a drill-down or a new period cancels what the last one asked.
 */
import type { IndicatorRow, Indicators } from '../../server/stats/indicators.ts'
import type { Assessment, AssessmentRow, Breakdown, BreakdownComponent } from '../../server/assessment/service.ts'
import type { LostCase } from '../../server/assessment/cases.ts'
import type { Rule } from '../../server/assessment/score.ts'
import type { AssessKind, Level } from '../components/cockpit/cockpitModel.ts'
import { apiFetch } from './http.ts'

export type { Assessment, AssessmentRow, Breakdown, BreakdownComponent, IndicatorRow, Indicators, LostCase, Rule }

/**
 * An indicators answer with `compare=previous`: the same shape for the period before, of the same
 * length (its `total`, and `rows` when grouped). Optional: a server without it leaves trends out.
 */
export type IndicatorsWithPrevious = Indicators & {
  previous?: { from?: string; to?: string; total?: IndicatorRow | Record<string, unknown>; rows?: (IndicatorRow | Record<string, unknown>)[] } | null
}

export interface PeriodQuery {
  from: string
  to: string
}

/** A query string from the defined values (in a fixed order, so equal queries make equal URLs). */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** The cockpit's KPIs: the totals of an area over a period, with the previous period beside them. */
export function fetchKpis(p: PeriodQuery & { code: string | null }, signal?: AbortSignal): Promise<IndicatorsWithPrevious> {
  return apiFetch(`/api/stats/indicators${queryString({ from: p.from, to: p.to, code: p.code, compare: 'previous' })}`, { signal })
}

/** The indicators of an area's units of one level (the grid table; the map's rates the rule does not score). */
export function fetchUnitIndicators(p: PeriodQuery & { code: string | null; groupBy: Level }, signal?: AbortSignal): Promise<Indicators> {
  return apiFetch(`/api/stats/indicators${queryString({ from: p.from, to: p.to, code: p.code, groupBy: p.groupBy })}`, { signal })
}

/** The ranked scores of a kind of unit inside an area (departments and workers: their cases there). */
export function fetchAssessment(p: PeriodQuery & { code: string | null; kind: AssessKind }, signal?: AbortSignal): Promise<Assessment> {
  return apiFetch(`/api/stats/assessment${queryString({ kind: p.kind, from: p.from, to: p.to, code: p.code })}`, { signal })
}

/** One unit's score with its components and the cases behind the lost points. */
export function fetchBreakdown(
  p: PeriodQuery & { kind: AssessKind; code: string; area: string | null; limit?: number },
  signal?: AbortSignal,
): Promise<Breakdown> {
  const area = p.kind === 'department' || p.kind === 'worker' ? p.area : null
  return apiFetch(
    `/api/stats/assessment/${encodeURIComponent(p.kind)}/${encodeURIComponent(p.code)}${queryString({ from: p.from, to: p.to, area, limit: p.limit })}`,
    { signal },
  )
}

/**
 * Where the current table downloads as a file: the assessment of a kind of unit, or (grids,
 * which have no score) the indicators grouped by grid.
 */
export function exportUrl(
  table: { kind: AssessKind } | { groupBy: Level },
  p: PeriodQuery & { code: string | null },
  format: 'csv' | 'xlsx',
): string {
  if ('kind' in table) return `/api/stats/assessment.${format}${queryString({ kind: table.kind, from: p.from, to: p.to, code: p.code })}`
  return `/api/stats/indicators.${format}${queryString({ groupBy: table.groupBy, from: p.from, to: p.to, code: p.code })}`
}
