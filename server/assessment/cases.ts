/**
 * The cases behind the points a unit lost: for an indicator where higher is better, the cases in
 * its denominator but not in its numerator (e.g. dispatched and not handled on time); where lower
 * is better, the cases in its numerator (e.g. overdue, reworked).
 *
 * Which case counts where is defined once, in server/stats/indicators.sql. So that the lists
 * cannot drift from the counts, the query here is assembled from that file rather than written
 * again: its CTEs (up to `f`, one row per case of the period with its flags and group `key`) are
 * taken as they are, and each count's predicate — `count(*) FILTER (WHERE <predicate>)::int AS
 * <name>` in its final SELECT — is applied per case. Parameters: indicators.sql's $1–$5 (scope,
 * area, from, to, grouping), then $6 the unit's key and $7 how many cases to list per indicator.
 * Output: one row, for each indicator i of the request n<i> (how many cases) and c<i> (JSON array
 * of the first $7 by id: {id, code, stage, gridCode}). If indicators.sql changes shape so this
 * cannot be done, a breakdown fails with a 500 naming what is missing, and
 * tests/integration/assessment.test.ts fails.
 */
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { SCORABLE, type ScorableKey } from './score.ts'

const INDICATORS_SQL = loadSql(new URL('../stats/indicators.sql', import.meta.url)).indicators

export interface LostCase {
  id: number
  code: string
  stage: string
  gridCode: string | null
}

interface Parts {
  /** The WITH … f AS (…) part of the indicators statement. */
  ctes: string
  /** Predicate of each named count of its final SELECT. */
  predicates: Map<string, string>
}

/** Splits the indicators statement into its CTEs and the predicates of its counts. */
export function parseIndicatorsSql(text: string): Parts {
  const at = text.search(/^SELECT key\b/m)
  if (at < 0 || !/^WITH\b/.test(text)) throw new Error('server/stats/indicators.sql: expected WITH … followed by a final "SELECT key, …" line')
  const ctes = text.slice(0, at).trimEnd()
  if (!/\bf AS \(/.test(ctes)) throw new Error('server/stats/indicators.sql: no CTE "f" (one row per case) before the final SELECT')
  const params = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))
  if (params !== 5) throw new Error(`server/stats/indicators.sql takes ${params} parameters; server/assessment/cases.ts passes 5`)
  const select = text.slice(at)
  const predicates = new Map<string, string>()
  const start = /count\(\*\) FILTER \(WHERE /g
  for (let m = start.exec(select); m; m = start.exec(select)) {
    let depth = 1
    let i = start.lastIndex
    for (; i < select.length && depth > 0; i++) {
      if (select[i] === '(') depth++
      else if (select[i] === ')') depth--
    }
    const name = /^::int AS (\w+)/.exec(select.slice(i))?.[1]
    if (name) predicates.set(name, select.slice(start.lastIndex, i - 1))
  }
  return { ctes, predicates }
}

let parts: Parts | undefined
/** Parsed on first use: a change of indicators.sql that this cannot follow fails breakdowns (500, and the test), not the server's start. */
function indicatorsParts(): Parts {
  if (parts) return parts
  const p = parseIndicatorsSql(INDICATORS_SQL)
  for (const [key, s] of Object.entries(SCORABLE)) {
    for (const col of [s.num, s.den]) {
      if (!p.predicates.has(col)) throw new Error(`server/stats/indicators.sql has no count "${col}" (${key}); server/assessment/score.ts SCORABLE names it`)
    }
  }
  parts = p
  return p
}

/** SQL of the lost-cases query for the indicators, in their order. */
export function lostCasesSql(indicators: ScorableKey[]): string {
  const PARTS = indicatorsParts()
  const p = (col: string) => `coalesce((${PARTS.predicates.get(col)}), false)`
  const lost = indicators.map((k, i) => {
    const s = SCORABLE[k]
    return `${s.better === 'higher' ? `${p(s.den)} AND NOT ${p(s.num)}` : p(s.num)} AS l${i}`
  })
  const cols = indicators.map(
    (_, i) =>
      `count(*) FILTER (WHERE l${i})::int AS n${i}, ` +
      `coalesce(to_json((array_agg(json_build_object('id', id, 'code', code, 'stage', stage, 'gridCode', grid_code) ORDER BY id) FILTER (WHERE l${i}))[1:$7::int]), '[]'::json) AS c${i}`,
  )
  // MATERIALIZED keeps the unit's key filter out of f: pushed into its joins, it made the planner
  // (without statistics, as on the embedded database) choose nested loops over the whole period's
  // actions — 78 s instead of 1.6 s for a district's 90 days.
  return `${PARTS.ctes},
lost AS MATERIALIZED (SELECT key, id, code, stage, grid_code${lost.map((l) => `, ${l}`).join('')} FROM f)
SELECT ${cols.length ? cols.join(',\n       ') : '1 AS none'} FROM lost WHERE key = $6::text`
}

/** The lost cases of one unit: `params` are indicators.sql's $1–$5, `key` the unit's group key. */
export async function lostCases(
  q: Queryable,
  indicators: ScorableKey[],
  params: [scope: string | null, area: string | null, from: string, to: string, groupBy: string],
  key: string,
  limit: number,
): Promise<{ count: number; cases: LostCase[] }[]> {
  const row = (await q.query<Record<string, unknown>>(lostCasesSql(indicators), [...params, key, limit])).rows[0] ?? {}
  return indicators.map((_, i) => {
    const c = row[`c${i}`]
    return { count: Number(row[`n${i}`] ?? 0), cases: (typeof c === 'string' ? JSON.parse(c) : (c ?? [])) as LostCase[] }
  })
}
