/**
 * The assessment rules as stored (migration 017): read them, and save a new version of one with an
 * optimistic version check (409 when someone else saved first).
 */
import type { Db, Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { HttpError } from '../http/errors.ts'
import { GRADES, SCORABLE, SCORABLE_KEYS, type Kind, type Rule, type RuleIndicator, type RuleInput, type ScorableKey } from './score.ts'

export const sql = loadSql(new URL('./assessment.sql', import.meta.url))

interface RuleRow {
  kind: Kind
  grade_a: number
  grade_b: number
  grade_c: number
  grade_d: number
  grade_e: number
  version: number
  updated_at: Date | string
  updated_by: string | null
  weights: { indicator: string; weight: number }[] | string
}

const iso = (t: Date | string) => new Date(t).toISOString()

function toRule(r: RuleRow): Rule {
  const weights = typeof r.weights === 'string' ? (JSON.parse(r.weights) as { indicator: string; weight: number }[]) : r.weights
  const byKey = new Map(weights.map((w) => [w.indicator, Number(w.weight)]))
  const unknown = [...byKey.keys()].filter((k) => !(k in SCORABLE))
  // Only a hand edit of the database gets here; say what is wrong rather than score with part of the rule.
  if (unknown.length) throw new Error(`assessment rule "${r.kind}" names indicators the server cannot score: ${unknown.join(', ')}`)
  const indicators: RuleIndicator[] = SCORABLE_KEYS.filter((k) => byKey.has(k)).map((k) => ({ indicator: k, label: SCORABLE[k].label, better: SCORABLE[k].better, weight: byKey.get(k)! }))
  return {
    kind: r.kind,
    version: Number(r.version),
    updatedAt: iso(r.updated_at),
    updatedBy: r.updated_by,
    indicators,
    bands: { A: Number(r.grade_a), B: Number(r.grade_b), C: Number(r.grade_c), D: Number(r.grade_d), E: Number(r.grade_e) },
  }
}

export async function loadRules(q: Queryable): Promise<Rule[]> {
  return (await q.query<RuleRow>(sql.rules)).rows.map(toRule)
}

export async function loadRule(q: Queryable, kind: Kind): Promise<Rule> {
  const row = (await q.query<RuleRow>(sql.rule, [kind])).rows[0]
  if (!row) throw new Error(`no assessment rule for "${kind}" (migration 017 seeds one per kind)`)
  return toRule(row)
}

/** Saves `input` as the next version of the rule of `kind`; 409 unless `input.version` is the current one. */
export async function saveRule(db: Db, kind: Kind, input: RuleInput, username: string): Promise<Rule> {
  return db.transaction(async (tx) => {
    const b = input.bands
    const bumped = (await tx.query<{ version: number; updated_at: Date | string }>(sql.bump, [kind, input.version, b.A, b.B, b.C, b.D, b.E, username])).rows[0]
    if (!bumped) {
      const cur = (await tx.query<{ version: number; updated_at: Date | string; updated_by: string | null }>(sql.current, [kind])).rows[0]
      throw new HttpError(
        409,
        `the ${kind} rule is at version ${cur.version} (saved ${iso(cur.updated_at)} by ${cur.updated_by ?? 'the defaults'}), not ${input.version}: reload it and make your change again`,
        'version_conflict',
      )
    }
    const items = [...input.indicators].sort((x, y) => SCORABLE_KEYS.indexOf(x.indicator) - SCORABLE_KEYS.indexOf(y.indicator))
    await tx.query(sql.clear_weights, [kind])
    await tx.query(sql.insert_weights, [kind, items.map((i) => i.indicator), items.map((i) => i.weight)])
    const rule = {
      indicators: items.map((i) => ({ indicator: i.indicator as ScorableKey, weight: i.weight })),
      bands: Object.fromEntries(GRADES.map((g) => [g, b[g]])),
    }
    await tx.query(sql.history, [kind, bumped.version, JSON.stringify(rule), iso(bumped.updated_at), username])
    return loadRule(tx, kind)
  })
}
