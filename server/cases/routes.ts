/**
 * The case workflow over HTTP (CaseService; the table in workflow.ts decides what is allowed):
 * - POST /api/cases — report a case (上报): category, source, description, lon/lat, …
 * - GET /api/cases — the queue in scope: ?stage=a,b&category=&source=&grid=&q=&mine=1&limit=&offset=,
 *   least time left first
 * - GET /api/cases/workflow — the table (stages, actions, duties) for the UI
 * - GET /api/cases/:id — the case with the actions the asker may take now
 * - POST /api/cases/:id/actions/:action — `{ version, comment?, lon?, lat?, idempotencyKey?, … }`
 * - GET /api/cases/:id/timeline — every action on record (with the actor's display name)
 * - GET /api/cases/:id/briefing — what an incident briefing shows beyond the case and its record (briefing.ts)
 * - GET /api/cases/:id/recommendation — responsible department and ranked on-duty workers
 * 422 illegal transition / unknown category / outside every grid / deadline in the past / bad body;
 * 409 stale version (the body carries the current case); 403 no duty; 404 outside scope.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import { HttpError } from '../http/errors.ts'
import { IdParam, parseBody, parseParams } from '../http/validate.ts'
import { CaseConflict, type CaseService } from './service.ts'
import { SOURCES, STAGES, URGENCIES } from './types.ts'
import { ACTIONS, PREVIOUS_STAGE, STAGE_LABELS, WORKFLOW } from './workflow.ts'
import { DUTIES } from './types.ts'

const Lon = z.number({ error: 'lon must be a number' }).min(-180, 'lon must be within -180…180').max(180, 'lon must be within -180…180')
const Lat = z.number({ error: 'lat must be a number' }).min(-90, 'lat must be within -90…90').max(90, 'lat must be within -90…90')
const Key = z.string().trim().min(1).max(100, 'idempotencyKey: at most 100 characters')
export const Attachment = z.strictObject({
  id: z.string().min(1).max(200),
  type: z.string().max(100).optional(),
  name: z.string().max(200).optional(),
})
const Attachments = z.array(Attachment).max(20, 'at most 20 attachments')

export const ReportBody = z
  .strictObject({
    categoryCode: z.string({ error: 'categoryCode is required' }).trim().min(1).max(20),
    source: z.enum(SOURCES, { error: `source must be one of ${SOURCES.join(', ')}` }),
    description: z.string({ error: 'description is required' }).trim().min(1, 'description must not be empty').max(2000),
    lon: Lon.optional(),
    lat: Lat.optional(),
    address: z.string().trim().max(300).optional(),
    reporterText: z.string().trim().max(200).optional(),
    urgency: z.enum(URGENCIES, { error: `urgency must be one of ${URGENCIES.join(', ')}` }).optional(),
    attachments: Attachments.optional(),
    idempotencyKey: Key.optional(),
  })
  .refine((b) => (b.lon === undefined) === (b.lat === undefined), { message: 'give both lon and lat', path: ['lon'] })

export const ActBody = z
  .strictObject({
    version: z.number({ error: 'version (the case version you saw) is required' }).int().positive(),
    comment: z.string().trim().max(2000).optional(),
    lon: Lon.optional(),
    lat: Lat.optional(),
    idempotencyKey: Key.optional(),
    attachments: Attachments.optional(),
    reason: z.string().trim().min(1, 'reason must not be empty').max(2000).optional(),
    satisfaction: z.number().int('satisfaction must be a whole number').min(1, 'satisfaction is 1–5').max(5, 'satisfaction is 1–5').optional(),
    workerId: z.number().int().positive().optional(),
    departmentId: z.number().int().positive().optional(),
    targetCaseId: z.number().int().positive().optional(),
    hours: z.number().positive('hours must be more than 0').max(2000, 'hours: at most 2000').optional(),
    outcome: z.string().trim().min(1, 'outcome must not be empty').max(2000).optional(),
    reworkTo: z.enum(['dispatched', 'in_progress'], { error: 'reworkTo must be dispatched or in_progress' }).optional(),
    deadlineAt: z.iso.datetime({ offset: true, error: 'deadlineAt must be an ISO 8601 date-time with offset' }).optional(),
  })
  .refine((b) => (b.lon === undefined) === (b.lat === undefined), { message: 'give both lon and lat', path: ['lon'] })

const csv = <T extends readonly [string, ...string[]]>(values: T, name: string) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values, { error: `${name} must be among ${values.join(', ')} (comma-separated)` })).min(1))

export const ListQuery = z.strictObject({
  stage: csv(STAGES, 'stage').optional(),
  category: z.string().max(20).optional(),
  source: z.enum(SOURCES, { error: `source must be one of ${SOURCES.join(', ')}` }).optional(),
  grid: z.string().regex(/^\d{6,15}$/, 'grid must be an admin or grid code (6–15 digits)').optional(),
  q: z.string().trim().max(100).optional(),
  mine: z.enum(['1', 'true', '0', 'false']).transform((v) => v === '1' || v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(500, 'limit: at most 500').optional(),
  offset: z.coerce.number().int().min(0).optional(),
})

const ActionParam = z.object({
  id: IdParam.shape.id,
  action: z.enum(ACTIONS, { error: `action must be one of ${ACTIONS.join(', ')}` }),
})

export function caseRoutes(opts: { cases: CaseService }): Router {
  const r = new Router({ prefix: '/api/cases' })
  const { cases } = opts

  r.get('/workflow', (ctx) => {
    ctx.body = { stages: STAGES.map((s) => ({ stage: s, label: STAGE_LABELS[s], previous: PREVIOUS_STAGE[s] ?? null })), duties: DUTIES, actions: WORKFLOW }
  })

  r.post('/', async (ctx) => {
    const body = parseBody(ReportBody, ctx.request.body)
    const actor: Actor = ctx.state.actor
    const res = await cases.report(body, actor)
    ctx.status = res.created ? 201 : 200
    ctx.body = res
  })

  r.get('/', async (ctx) => {
    const q = parseParams(ListQuery, ctx.query)
    ctx.body = await cases.list(ctx.state.actor, q)
  })

  r.get('/:id', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    ctx.body = await cases.get(id, ctx.state.actor)
  })

  r.get('/:id/timeline', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    ctx.body = { caseId: id, actions: await cases.timeline(id, ctx.state.actor) }
  })

  r.get('/:id/briefing', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await cases.briefing(id, ctx.state.actor)
  })

  r.get('/:id/recommendation', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    ctx.body = await cases.recommendation(id, ctx.state.actor)
  })

  r.post('/:id/actions/:action', async (ctx) => {
    const { id, action } = parseParams(ActionParam, { id: ctx.params.id, action: ctx.params.action })
    const body = parseBody(ActBody, ctx.request.body)
    try {
      ctx.body = await cases.act(id, action, ctx.state.actor, body)
    } catch (err) {
      if (!(err instanceof CaseConflict)) throw err
      // 409 with the case as it is now, so the client can show it and retry on the new version.
      ctx.status = 409
      ctx.body = { error: { code: err.code, message: err.message }, current: err.current }
    }
  })

  r.all('/:id/actions', () => {
    throw new HttpError(404, 'name the action: POST /api/cases/:id/actions/:action')
  })

  return r
}
