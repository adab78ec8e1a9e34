/**
 * The wall over HTTP, for users holding wall.view (server/auth/route-permissions.ts; others 403),
 * within the asker's scope:
 * - GET /api/wall/summary — every number of the wall's panels (WallSummary, summary.ts).
 * - GET /api/wall/live?bbox=w,s,e,n — open cases, unresolved alarms and workers on duty in the box
 *   (default: the whole scope) for the live overlays (WallLive, live.ts); a bad bbox is 400.
 * - GET /api/screens/:id — the view-sync state of a screen (ScreenState, server/realtime/screens.ts);
 *   view null when released or never pushed; 400 for a bad id.
 * Answers are private and not cached: they are the asker's scope, now.
 */
import Router from '@koa/router'
import type { Actor } from '../auth/sessions.ts'
import type { Db } from '../db/index.ts'
import { withStatementTimeout } from '../db/timeout.ts'
import { parseParams } from '../http/validate.ts'
import { parseScreenId, ScreenStore } from '../realtime/screens.ts'
import { loadWallLive, LiveQuery } from './live.ts'
import { loadWallSummary } from './summary.ts'

/** A wall asks every few seconds; one answer must not hold a connection longer than this (503 then). */
const STATEMENT_TIMEOUT_MS = 15_000

export function wallRoutes(opts: { db: Db; tz: string }): Router {
  const r = new Router({ prefix: '/api' })
  const screens = new ScreenStore(opts.db)

  r.get('/wall/summary', async (ctx) => {
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await withStatementTimeout(opts.db, STATEMENT_TIMEOUT_MS, 'the wall summary took too long; try again', (q) => loadWallSummary(q, actor, opts.tz))
  })

  r.get('/wall/live', async (ctx) => {
    const query = parseParams(LiveQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await withStatementTimeout(opts.db, STATEMENT_TIMEOUT_MS, 'the wall’s live state took too long; ask for a smaller box', (q) => loadWallLive(q, query, actor))
  })

  r.get('/screens/:id', async (ctx) => {
    const id = parseScreenId(ctx.params.id ?? '')
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await screens.get(id)
  })
  return r
}
