/**
 * GET /api/admin/stats — admins only: how many of each kind of thing the database holds within
 * the admin's scope, and for located kinds how many lie outside every unit grid.
 */
import Router from '@koa/router'
import type { Db } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'

const sql = loadSql(new URL('./stats.sql', import.meta.url))

/** Kinds in display order; the located ones also have an outside-grids count. */
export const STAT_KINDS = ['districts', 'streets', 'communities', 'grids', 'buildings', 'houses', 'people', 'organizations', 'key_places', 'parts', 'sensors', 'cameras', 'workers', 'cases'] as const
export const LOCATED_KINDS = ['buildings', 'houses', 'people', 'organizations', 'key_places', 'parts', 'sensors', 'cameras', 'workers', 'cases'] as const

export type StatKind = (typeof STAT_KINDS)[number]
export type LocatedKind = (typeof LOCATED_KINDS)[number]

export interface Stats {
  scope: string
  counts: Record<StatKind, number>
  outsideGrids: Record<LocatedKind, number>
}

export async function loadStats(db: Db, actor: Pick<Actor, 'scopeCode' | 'scopePrefix' | 'unrestricted'>): Promise<Stats> {
  const { rows } = await db.query<Record<string, number>>(sql.stats, [scopeFilter(actor)])
  const row = rows[0]
  const counts = Object.fromEntries(STAT_KINDS.map((k) => [k, Number(row[k])])) as Record<StatKind, number>
  const outsideGrids = Object.fromEntries(LOCATED_KINDS.map((k) => [k, Number(row[`${k}_outside`])])) as Record<LocatedKind, number>
  return { scope: actor.scopeCode, counts, outsideGrids }
}

export function adminRoutes(opts: { db: Db }): Router {
  const r = new Router({ prefix: '/api/admin' })
  r.get('/stats', async (ctx) => {
    ctx.body = await loadStats(opts.db, ctx.state.actor)
  })
  return r
}
