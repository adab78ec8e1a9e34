import type { ImportProgressPayload } from '../../server/realtime/events.ts'
import type { ImportIssue, ImportReport } from '../../server/import/service.ts'
import type { Stats } from '../../server/admin/stats.ts'
import type { Grade as AssessmentGrade, Kind as AssessmentKind, Rule as AssessmentRule, RuleInput as AssessmentRuleInput, ScorableKey } from '../../server/assessment/score.ts'
import { ApiError, apiFetch } from './http.ts'

export type { AssessmentGrade, AssessmentKind, AssessmentRule, AssessmentRuleInput, ImportIssue, ImportProgressPayload, ScorableKey }
export type AdminStats = Stats
export type ImportPhase = ImportProgressPayload['phase']
export type ImportCrs = 'wgs84' | 'gcj02'
export type ImportFormat = 'geojson' | 'csv'

/** What `GET /api/import/layers` says about one importable layer. */
export interface ImportLayerInfo {
  id: string
  title: { 'zh-CN': string; en: string }
  geometry: 'point' | 'line' | 'polygon'
  geometryTypes: string[]
  formats: ImportFormat[]
  externalId: string[]
  properties: { name: string; aliases?: string[]; type: string; required: boolean; enum?: string[]; default?: unknown; note?: string }[]
}

/** The server's report, with the id the progress events carry. */
export type ImportResult = ImportReport & { importId: string }

/** The file was read but features were rejected (422): nothing was written; the report says why. */
export class ImportRejectedError extends ApiError {
  readonly report: ImportResult

  constructor(message: string, report: ImportResult) {
    super(422, 'rejected', message)
    this.name = 'ImportRejectedError'
    this.report = report
  }
}

/** `GET /api/import/layers` — importable layers and the size limit (admins). */
export function fetchImportLayers(): Promise<{ maxBytes: number; layers: ImportLayerInfo[] }> {
  return apiFetch('/api/import/layers')
}

/** `GET /api/admin/stats` — counts per kind within the admin's scope. */
export function fetchStats(): Promise<AdminStats> {
  return apiFetch('/api/admin/stats')
}

/** The format the server should read a file as: CSV by name or type, else GeoJSON. */
export function formatOf(file: { name: string; type: string }): ImportFormat {
  return /\.csv$/i.test(file.name) || file.type === 'text/csv' ? 'csv' : 'geojson'
}

/**
 * `POST /api/import/:layer` with the file as the raw body. Resolves with the report; rejects
 * with ImportRejectedError (422, with the report) or ApiError. Not `apiFetch`: a 422 here
 * carries the report beside the error, which apiFetch does not keep.
 */
export async function uploadImport(opts: { layer: string; file: Blob; format: ImportFormat; crs: ImportCrs; importId: string }): Promise<ImportResult> {
  const query = new URLSearchParams({ format: opts.format, crs: opts.crs, importId: opts.importId })
  const headers = new Headers({
    Accept: 'application/json',
    'Content-Type': opts.format === 'csv' ? 'text/csv' : 'application/geo+json',
  })
  const lang = typeof document !== 'undefined' ? document.documentElement.lang : ''
  if (lang) headers.set('Accept-Language', lang)
  let response: Response
  try {
    response = await fetch(`/api/import/${encodeURIComponent(opts.layer)}?${query}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers,
      body: opts.file,
    })
  } catch (cause) {
    throw new ApiError(0, 'network_error', cause instanceof Error ? cause.message : String(cause))
  }
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  if (response.ok) return body as ImportResult
  const err = (body as { error?: { code?: string; message?: string }; report?: ImportResult } | undefined) ?? {}
  const message = err.error?.message ?? (response.statusText || `HTTP ${response.status}`)
  if (response.status === 422 && err.report) throw new ImportRejectedError(message, err.report)
  throw new ApiError(response.status, err.error?.code ?? `http_${response.status}`, message)
}

// ——— Assessment rules (考核规则, issue 9): GET / PUT /api/admin/assessment-rules, docs/assessment.md ———

/** The kinds of unit a rule belongs to, in the order the panel offers them. */
export const ASSESSMENT_KINDS = ['district', 'street', 'community', 'department', 'worker'] as const satisfies readonly AssessmentKind[]
export const ASSESSMENT_GRADES = ['A', 'B', 'C', 'D', 'E'] as const satisfies readonly AssessmentGrade[]

/** An indicator a rule can score (`indicators` of GET /api/admin/assessment-rules). */
export interface ScorableIndicator {
  indicator: ScorableKey
  label: string
  better: 'higher' | 'lower'
}

export interface AssessmentRulesResponse {
  indicators: ScorableIndicator[]
  rules: AssessmentRule[]
}

/** `GET /api/admin/assessment-rules` — the scorable indicators and the rule of each kind (admins). */
export function fetchAssessmentRules(): Promise<AssessmentRulesResponse> {
  return apiFetch('/api/admin/assessment-rules')
}

/**
 * `PUT /api/admin/assessment-rules/:kind` — saves a new version; rejects with ApiError 400 (the
 * message names the problem) or 409 (`version_conflict`: someone saved since `input.version`).
 */
export function saveAssessmentRule(kind: AssessmentKind, input: AssessmentRuleInput): Promise<AssessmentRule> {
  return apiFetch(`/api/admin/assessment-rules/${encodeURIComponent(kind)}`, { method: 'PUT', json: input })
}

/**
 * A rule as the panel edits it: the inputs' text, so a half-typed value stays as typed. A blank
 * weight leaves the indicator out of the rule; `version` is the version the edit started from.
 */
export interface RuleDraft {
  version: number
  weights: Record<ScorableKey, string>
  bands: Record<AssessmentGrade, string>
}

/** Something the server would refuse in a draft, as a message code and its parameters. */
export type DraftProblem =
  | { code: 'weight'; indicator: ScorableKey }
  | { code: 'empty' }
  | { code: 'sum'; sum: number }
  | { code: 'band'; grade: AssessmentGrade }
  | { code: 'order'; hi: AssessmentGrade; lo: AssessmentGrade }
  | { code: 'floor' }

/** A number as an input shows it: 12.5 → "12.5", 10 → "10". */
const show = (n: number) => String(Math.round(n * 10) / 10)

/** The draft of a saved rule: every scorable indicator, blank where the rule leaves it out. */
export function draftOf(rule: AssessmentRule, indicators: readonly ScorableIndicator[]): RuleDraft {
  const byKey = new Map(rule.indicators.map((i) => [i.indicator, i.weight]))
  const weights = Object.fromEntries(indicators.map(({ indicator }) => [indicator, byKey.has(indicator) ? show(byKey.get(indicator)!) : ''])) as Record<ScorableKey, string>
  const bands = Object.fromEntries(ASSESSMENT_GRADES.map((g) => [g, show(rule.bands[g])])) as Record<AssessmentGrade, string>
  return { version: rule.version, weights, bands }
}

/** A typed value: a number 0–100 with at most one decimal, or NaN. */
export function parsePoints(text: string): number {
  const s = text.trim()
  if (!/^\d+(\.\d+)?$/.test(s)) return Number.NaN
  const n = Number(s)
  if (n > 100 || Math.abs(Math.round(n * 10) - n * 10) > 1e-9) return Number.NaN
  return n
}

/** The indicators a draft puts in the rule (non-blank weights), in the draft's order. */
export function draftIndicators(draft: RuleDraft): ScorableKey[] {
  return (Object.keys(draft.weights) as ScorableKey[]).filter((k) => draft.weights[k].trim() !== '')
}

/** The sum of the draft's valid weights, to 0.1 (what the running total shows). */
export function draftSum(draft: RuleDraft): number {
  const sum = draftIndicators(draft).reduce((s, k) => s + (parsePoints(draft.weights[k]) || 0), 0)
  return Math.round(sum * 10) / 10
}

/** What the server would refuse in `draft` (the checks of RuleInput in server/assessment/score.ts); empty when it can be saved. */
export function draftProblems(draft: RuleDraft): DraftProblem[] {
  const problems: DraftProblem[] = []
  const keys = draftIndicators(draft)
  for (const k of keys) if (Number.isNaN(parsePoints(draft.weights[k]))) problems.push({ code: 'weight', indicator: k })
  if (!keys.length) problems.push({ code: 'empty' })
  else if (!problems.length && draftSum(draft) !== 100) problems.push({ code: 'sum', sum: draftSum(draft) })
  const bands = ASSESSMENT_GRADES.map((g) => parsePoints(draft.bands[g]))
  ASSESSMENT_GRADES.forEach((g, i) => {
    if (Number.isNaN(bands[i])) problems.push({ code: 'band', grade: g })
  })
  for (let i = 1; i < ASSESSMENT_GRADES.length; i++) {
    if (!Number.isNaN(bands[i - 1]) && !Number.isNaN(bands[i]) && !(bands[i - 1] > bands[i])) problems.push({ code: 'order', hi: ASSESSMENT_GRADES[i - 1], lo: ASSESSMENT_GRADES[i] })
  }
  if (bands[4] !== 0 && !Number.isNaN(bands[4])) problems.push({ code: 'floor' })
  return problems
}

/** The body of the PUT for a draft (unparsable values become NaN, which the server refuses). */
export function ruleInputOf(draft: RuleDraft): AssessmentRuleInput {
  return {
    version: draft.version,
    indicators: draftIndicators(draft).map((indicator) => ({ indicator, weight: parsePoints(draft.weights[indicator]) })),
    bands: Object.fromEntries(ASSESSMENT_GRADES.map((g) => [g, parsePoints(draft.bands[g])])) as Record<AssessmentGrade, number>,
  }
}

/** An input's value for comparing: blank, the number it parses to, or the text as typed. */
function normal(text: string): string {
  const s = text.trim()
  const n = parsePoints(s)
  return s === '' || Number.isNaN(n) ? s : String(n)
}

/** Whether the draft differs from the saved rule (by value: "10" and "10.0" are the same). */
export function draftChanged(draft: RuleDraft, rule: AssessmentRule, indicators: readonly ScorableIndicator[]): boolean {
  const saved = draftOf(rule, indicators)
  return (
    (Object.keys(saved.weights) as ScorableKey[]).some((k) => normal(draft.weights[k] ?? '') !== normal(saved.weights[k])) ||
    ASSESSMENT_GRADES.some((g) => normal(draft.bands[g]) !== normal(saved.bands[g]))
  )
}
