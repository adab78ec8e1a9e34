/**
 * POST /api/cameras/:id/ptz `{ pan }` — turn a PTZ camera by `pan` degrees (-180…180, + clockwise):
 * admins and dispatchers; 404 unknown or outside the scope, 409 a fixed or not-online camera,
 * 422 a bad body. Answers the camera's card after the turn (server/features/types.ts CameraCard).
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import { parseBody, parseParams } from '../http/validate.ts'
import { FeatureId } from '../features/routes.ts'
import type { PtzRequest } from '../features/types.ts'
import type { CameraService } from './service.ts'

export const PtzBody = z.strictObject({
  pan: z
    .number({ error: 'pan must be a number of degrees (-180…180, + turns clockwise)' })
    .min(-180, 'pan must be within -180…180 degrees')
    .max(180, 'pan must be within -180…180 degrees'),
}) satisfies z.ZodType<PtzRequest>

export function cameraRoutes(opts: { cameras: CameraService }): Router {
  const r = new Router({ prefix: '/api/cameras' })

  r.post('/:id/ptz', async (ctx) => {
    const { id } = parseParams(FeatureId, { id: ctx.params.id })
    const { pan } = parseBody(PtzBody, ctx.request.body)
    ctx.set('Cache-Control', 'no-store')
    ctx.body = await opts.cameras.pan(id, pan, ctx.state.actor as Actor)
  })

  return r
}
