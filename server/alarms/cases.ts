/**
 * Cases opened by alarms, correlated: when a raised alarm's rule has open_case, the alarm joins an
 * open auto-case of its sensor type and category that has an alarm within the rule's window (time)
 * and distance (metres) — else it opens a case (source sensor, stage reported, a `report` action
 * by system). Alarms are taken in the order they were raised, in the caller's transaction, after
 * a per-type advisory lock, so alarms of one batch, of two batches or of two processes that are
 * close in place and time end in one case.
 *
 * Call it before anything else in the transaction locks sensor rows or appends events (both are
 * held until commit): the advisory lock is the one that may wait.
 */
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { AlarmRow } from './service.ts'
import { zoneClock } from '../time/zone.ts'

const sql = loadSql(new URL('./cases.sql', import.meta.url))

export interface CaseLink {
  alarm: AlarmRow
  caseId: number
  caseCode: string
  /** A new case (case:created), else the alarm joined an open one (case:alarm-linked). */
  created: boolean
  /** Of a new case. */
  category?: string
  urgency?: 'normal' | 'urgent' | 'critical'
  description?: string
  gridCode: string | null
  lon: number
  lat: number
  reportedAt: string
}

interface CaseRow {
  id: number
  code: string
  grid_code: string | null
  lon: number
  lat: number
}

interface Rule {
  id: number
  sensor_type: string
  case_category: string
  urgency: 'normal' | 'urgent' | 'critical'
  correlate_window_s: number
  correlate_distance_m: number
}

const num = (v: number, digits = 2) => String(Math.round(v * 10 ** digits) / 10 ** digits)

/** The case text, in the words the seed's sensor cases use. */
export function describe(a: AlarmRow): string {
  const unit = a.unit ?? ''
  const who = `${a.name}（${a.code}）`
  if (a.kind === 'rate') return `${who}告警：变化过快 ${num(a.value)}${unit}/分钟（告警值 ${num(a.threshold)}${unit}/分钟）。物联感知告警自动立案`
  if (a.kind === 'offline') return `${who}离线：${Math.round(a.value / 60)} 分钟无数据。物联感知告警自动立案`
  return `${who}告警：${num(a.value)}${unit}（告警值 ${num(a.threshold)}${unit}）。物联感知告警自动立案`
}

/** Opens or joins cases for the raised alarms whose rules ask for one; returns what it did, in order. */
export async function linkCases(tx: Queryable, raised: AlarmRow[], tz: string): Promise<CaseLink[]> {
  const ruleIds = [...new Set(raised.filter((a) => a.change === 'raised' && a.rule_id !== null).map((a) => a.rule_id!))]
  if (ruleIds.length === 0) return []
  const rules = new Map((await tx.query<Rule>(sql.rules, [ruleIds])).rows.map((r) => [r.id, r]))
  const todo = raised
    .filter((a) => a.change === 'raised' && a.rule_id !== null && rules.has(a.rule_id))
    .sort((x, y) => new Date(x.raised_at).getTime() - new Date(y.raised_at).getTime() || x.id - y.id)
  if (todo.length === 0) return []
  // One lock per sensor type, always taken in the same order, so two transactions cannot wait on each other.
  for (const type of [...new Set(todo.map((a) => rules.get(a.rule_id!)!.sensor_type))].sort()) await tx.query(sql.lock_type, [type])
  const links: CaseLink[] = []
  for (const a of todo) {
    const rule = rules.get(a.rule_id!)!
    const raisedAt = new Date(a.raised_at)
    const { rows } = await tx.query<{ id: number; code: string; grid_code: string | null }>(sql.correlate, [
      a.sensor_id, a.id, a.type, rule.case_category, raisedAt.toISOString(), rule.correlate_window_s, rule.correlate_distance_m,
    ])
    const found = rows[0]
    if (found) {
      await tx.query(sql.link, [a.id, found.id])
      await tx.query(sql.insert_action, [found.id, 'link_alarm', raisedAt.toISOString(), `关联告警 #${a.id}：${describe(a)}`, a.sensor_id])
      links.push({ alarm: a, caseId: found.id, caseCode: found.code, created: false, gridCode: found.grid_code, lon: a.lon, lat: a.lat, reportedAt: raisedAt.toISOString() })
      continue
    }
    const description = describe(a)
    const day = `C${zoneClock(tz).ymd(raisedAt.getTime())}`
    let n = (await tx.query<{ n: number }>(sql.last_code, [day])).rows[0]!.n
    let made: CaseRow | undefined
    // Another writer may take the same number meanwhile (the insert then waits for it and skips): take the next.
    for (let tries = 0; !made; tries++) {
      if (tries >= 50) throw new Error(`no free case code on ${day}`)
      n++
      made = (await tx.query<CaseRow>(sql.insert_case, [`${day}${String(n).padStart(5, '0')}`, rule.case_category, rule.urgency, description, raisedAt.toISOString(), a.sensor_id])).rows[0]
    }
    await tx.query(sql.insert_action, [made.id, 'report', raisedAt.toISOString(), `物联感知告警自动立案（告警 #${a.id}）`, a.sensor_id])
    await tx.query(sql.link, [a.id, made.id])
    links.push({
      alarm: a,
      caseId: made.id,
      caseCode: made.code,
      created: true,
      category: rule.case_category,
      urgency: rule.urgency,
      description,
      gridCode: made.grid_code,
      lon: made.lon,
      lat: made.lat,
      reportedAt: raisedAt.toISOString(),
    })
  }
  for (const l of links) l.alarm.case_id = l.caseId
  return links
}
