/**
 * Assessment (考核, issue 9) and the cockpit's table exports. Contract: docs/assessment.md.
 *
 *   GET /api/stats/assessment?kind&from&to&code          ranked scores of a kind of unit, with the rule
 *   GET /api/stats/assessment.csv | .xlsx (same query)   that table as a file
 *   GET /api/stats/assessment/:kind/:code?from&to&area&limit   one unit's breakdown, with the cases behind lost points
 *   GET /api/stats/indicators.csv | .xlsx?groupBy&from&to&code&compare  GET /api/stats/indicators as a file
 *   GET /api/admin/assessment-rules                       the rules (admins)
 *   PUT /api/admin/assessment-rules/:kind                 a new version of a rule (admins; 409 on a stale version)
 *
 * Reads are for any signed-in user within their scope, like GET /api/stats/indicators.
 */
import Router from '@koa/router'
import type { Context } from 'koa'
import type { Db } from '../db/index.ts'
import type { Actor } from '../auth/sessions.ts'
import { withStatementTimeout } from '../db/timeout.ts'
import { HttpError } from '../http/errors.ts'
import { describeIssues, parseParams } from '../http/validate.ts'
import { IndicatorsQuery, loadCockpitIndicators } from '../stats/indicators.ts'
import { AssessmentQuery, BreakdownParams, BreakdownQuery, loadAssessment, loadBreakdown } from './service.ts'
import { KindParam, RuleInput, SCORABLE, SCORABLE_KEYS } from './score.ts'
import { loadRules, saveRule } from './rules.ts'
import { assessmentTable, indicatorsTable, toCsv, toXlsx, XLSX_TYPE, type Table } from './export.ts'

/** As GET /api/stats/indicators: a huge period is a 503 after this long, not a stuck request. */
const STATEMENT_TIMEOUT_MS = 30_000
const TOO_LONG = 'the assessment took too long; ask for a shorter period or a smaller area'

async function sendTable(ctx: Context, table: Table, format: 'csv' | 'xlsx') {
  ctx.set('Cache-Control', 'private, no-store')
  ctx.set('Content-Disposition', `attachment; filename="${table.name}.${format}"`)
  if (format === 'csv') {
    ctx.type = 'text/csv; charset=utf-8'
    ctx.body = toCsv(table)
  } else {
    ctx.type = XLSX_TYPE
    ctx.body = await toXlsx(table)
  }
}

export function assessmentRoutes(opts: { db: Db; tz: string }): Router {
  const { db, tz } = opts
  const r = new Router()
  const read = <T>(fn: Parameters<typeof withStatementTimeout<T>>[3]) => withStatementTimeout(db, STATEMENT_TIMEOUT_MS, TOO_LONG, fn)

  const table = async (ctx: Context) => {
    const query = parseParams(AssessmentQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    return read((q) => loadAssessment(q, query, actor, tz))
  }
  r.get('/api/stats/assessment', async (ctx) => {
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await table(ctx)
  })
  r.get('/api/stats/assessment.csv', async (ctx) => sendTable(ctx, assessmentTable(await table(ctx)), 'csv'))
  r.get('/api/stats/assessment.xlsx', async (ctx) => sendTable(ctx, assessmentTable(await table(ctx)), 'xlsx'))

  r.get('/api/stats/assessment/:kind/:code', async (ctx) => {
    const { kind, code } = parseParams(BreakdownParams, ctx.params)
    const query = parseParams(BreakdownQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await read((q) => loadBreakdown(q, kind, code, query, actor, tz))
  })

  const indicators = async (ctx: Context) => {
    const query = parseParams(IndicatorsQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    // What GET /api/stats/indicators answers (the case indicators and the cockpit's).
    return read((q) => loadCockpitIndicators(q, query, actor, tz))
  }
  r.get('/api/stats/indicators.csv', async (ctx) => sendTable(ctx, indicatorsTable(await indicators(ctx)), 'csv'))
  r.get('/api/stats/indicators.xlsx', async (ctx) => sendTable(ctx, indicatorsTable(await indicators(ctx)), 'xlsx'))

  r.get('/api/admin/assessment-rules', async (ctx) => {
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = {
      indicators: SCORABLE_KEYS.map((k) => ({ indicator: k, label: SCORABLE[k].label, better: SCORABLE[k].better })),
      rules: await loadRules(db),
    }
  })
  r.put('/api/admin/assessment-rules/:kind', async (ctx) => {
    const kind = parseParams(KindParam, ctx.params.kind)
    const body = ctx.request.body
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpError(400, 'expected a JSON object body {version, indicators: [{indicator, weight}], bands: {A, B, C, D, E}} (Content-Type: application/json)')
    }
    const parsed = RuleInput.safeParse(body)
    if (!parsed.success) throw new HttpError(400, describeIssues(parsed.error))
    const actor: Actor = ctx.state.actor
    ctx.body = await saveRule(db, kind, parsed.data, actor.username)
  })
  return r
}
