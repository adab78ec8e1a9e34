/**
 * GET /api/features/:layer/:id — the card of one clicked feature (server/features/types.ts):
 * `:layer` a catalog layer with `card` (404 naming the layer otherwise), `:id` its feature id (the
 * MVT feature id; a positive integer, else 400). Permission: the layer's, and cases.read for base
 * layers (mayOpenCards; 403 for others). A feature outside the asker's scope is 404, like an unknown one.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'
import { catalog, type LayerDef } from '../../layers/index.ts'
import type { CardKind } from './types.ts'
import { mayOpenCards, type FeatureService } from './service.ts'

/** A feature id: a positive integer that fits a serial column. */
export const FeatureId = z.object({
  id: z.string().regex(/^[1-9]\d{0,9}$/, 'id must be a positive integer').transform(Number).refine((n) => n <= 2_147_483_647, 'id is too large'),
})

/** The catalog layer with a card, or 404 naming what is wrong. */
export function cardLayer(id: string): LayerDef & { card: CardKind } {
  const layer = catalog.get(id)
  if (!layer) throw new HttpError(404, `unknown layer "${id}"; see /tiles/catalog.json`)
  if (!layer.card) throw new HttpError(404, `layer "${id}" has no feature cards (its features are not clickable)`)
  return layer as LayerDef & { card: CardKind }
}

export function featureRoutes(opts: { features: FeatureService }): Router {
  const r = new Router({ prefix: '/api/features' })

  r.get('/:layer/:id', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const layer = cardLayer(ctx.params.layer)
    const { id } = parseParams(FeatureId, { id: ctx.params.id })
    if (!mayOpenCards(layer, actor)) throw new HttpError(403, `the cards of layer "${layer.id}" are not shown to ${actor.role} users (permissions ${layer.permission ?? 'map.base'} and cases.read)`)
    const card = await opts.features.card(layer, id, actor)
    if (!card) throw new HttpError(404, `no feature ${id} of layer "${layer.id}" in your scope`)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = card
  })

  return r
}
