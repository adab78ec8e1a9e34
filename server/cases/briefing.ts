/**
 * The incident briefing of a case (GET /api/cases/:id/briefing, the web's /briefing/:caseId): what a
 * briefing shows beyond the case itself (GET /api/cases/:id) and its record (…/timeline) — the
 * names of its place in the hierarchy, the handling department, the workers it was dispatched to
 * with the time each held it, the alarms of the incident, and the replay's time span. SQL in
 * briefing.sql. The caller (CaseService.briefing) has checked that the case is in the asker's scope;
 * alarms are bounded by the same scope.
 */
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { Stage } from './types.ts'
import { CLOSED_STAGES } from './workflow.ts'

const sql = loadSql(new URL('./briefing.sql', import.meta.url))

/** The replay starts this long before the report: where the responders were when it came in. */
export const REPLAY_LEAD_MS = 10 * 60_000
/** The longest span a replay covers (the track API's longest range). */
export const REPLAY_MAX_MS = 31 * 86_400_000
/** Alarms of sensors this close to the case, raised during the span, belong to the incident. */
export const ALARM_RADIUS_M = 300
/** Most alarms one briefing lists (the earliest). */
export const MAX_ALARMS = 50

export interface BriefingUnit {
  code: string
  name: string
  level: 'district' | 'street' | 'community' | 'grid'
}

export interface BriefingWorker {
  id: number
  code: string
  name: string
  phone: string | null
  role: string
  department: { id: number; name: string } | null
  /** When the case was dispatched to them, and when they stopped holding it (re-dispatch, return, closure or now). */
  from: string
  to: string
}

export interface BriefingAlarm {
  id: number
  sensorId: number
  code: string
  name: string
  sensorType: string
  unit: string | null
  kind: string
  value: number
  threshold: number
  raisedAt: string
  ackedAt: string | null
  ackedBy: string | null
  resolvedAt: string | null
  resolvedBy: string | null
  /** Linked to the case (it opened the case or joined it), not only near it. */
  linked: boolean
  /** Metres from the case's place. */
  distanceM: number
  lon: number
  lat: number
}

/** GET /api/cases/:id/briefing. */
export interface CaseBriefing {
  caseId: number
  /** The hierarchy of the case's grid, top first (district → street → community → grid); empty outside every grid. */
  path: BriefingUnit[]
  department: { id: number; name: string; phone: string | null } | null
  workers: BriefingWorker[]
  alarms: BriefingAlarm[]
  /** More alarms than MAX_ALARMS: the earliest are listed. */
  alarmsTruncated: boolean
  /**
   * The replay's window: from REPLAY_LEAD_MS before the report to the closure (a closed, cancelled
   * or merged case: its closure time, else its last action), or now while the case is open; at
   * most REPLAY_MAX_MS long. `open`: the case is still open (the window ends now).
   */
  span: { from: string; to: string; open: boolean }
}

/** The case as the briefing needs it (the service's row, already checked to be in scope). */
export interface BriefingCase {
  id: number
  stage: Stage
  gridCode: string | null
  departmentId: number | null
  workerId: number | null
  reportedAt: string
  closedAt: string | null
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString())

export async function loadBriefing(q: Queryable, c: BriefingCase, scope: string | null, now: number): Promise<CaseBriefing> {
  // One connection may be a transaction: one query after another.
  const open = !CLOSED_STAGES.includes(c.stage)
  let end = now
  if (!open) {
    const last = (await q.query<{ at: Date | string | null }>(sql.last_action!, [c.id])).rows[0]?.at ?? null
    end = Date.parse(c.closedAt ?? iso(last) ?? c.reportedAt)
  }
  const from = Date.parse(c.reportedAt) - REPLAY_LEAD_MS
  const to = Math.max(from + 1000, Math.min(end, from + REPLAY_MAX_MS))
  const span = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), open }

  const path: BriefingUnit[] = []
  if (c.gridCode) {
    const p = (
      await q.query<{
        grid_code: string; grid_name: string; community_code: string; community_name: string | null; street_code: string; street_name: string | null
        district_code: string; district_name: string | null
      }>(sql.place!, [c.gridCode])
    ).rows[0]
    if (p) {
      path.push(
        { code: p.district_code, name: p.district_name ?? p.district_code, level: 'district' },
        { code: p.street_code, name: p.street_name ?? p.street_code, level: 'street' },
        { code: p.community_code, name: p.community_name ?? p.community_code, level: 'community' },
        { code: p.grid_code, name: p.grid_name, level: 'grid' },
      )
    }
  }

  const department = c.departmentId === null ? null : ((await q.query<{ id: number; name: string; phone: string | null }>(sql.department!, [c.departmentId])).rows[0] ?? null)

  const workers = (
    await q.query<{
      id: number; code: string; name: string; phone: string | null; role: string; department_id: number | null; department_name: string | null
      from_at: Date | string; to_at: Date | string
    }>(sql.workers!, [c.id, span.to, c.workerId])
  ).rows.map(
    (w): BriefingWorker => ({
      id: w.id,
      code: w.code,
      name: w.name,
      phone: w.phone,
      role: w.role,
      department: w.department_id === null ? null : { id: w.department_id, name: w.department_name ?? '' },
      from: iso(w.from_at)!,
      to: iso(w.to_at)!,
    }),
  )

  const rows = (
    await q.query<{
      id: number; sensor_id: number; code: string; name: string; type: string; unit: string | null; kind: string; value: number; threshold: number
      raised_at: Date | string; acked_at: Date | string | null; acked_by: string | null; resolved_at: Date | string | null; resolved_by: string | null
      linked: boolean; distance_m: number; lon: number; lat: number
    }>(sql.alarms!, [c.id, ALARM_RADIUS_M, span.from, span.to, scope, MAX_ALARMS + 1])
  ).rows
  const alarms = rows.slice(0, MAX_ALARMS).map(
    (a): BriefingAlarm => ({
      id: a.id,
      sensorId: a.sensor_id,
      code: a.code,
      name: a.name,
      sensorType: a.type,
      unit: a.unit,
      kind: a.kind,
      value: Number(a.value),
      threshold: Number(a.threshold),
      raisedAt: iso(a.raised_at)!,
      ackedAt: iso(a.acked_at),
      ackedBy: a.acked_by,
      resolvedAt: iso(a.resolved_at),
      resolvedBy: a.resolved_by,
      linked: a.linked,
      distanceM: Number(a.distance_m),
      lon: Number(a.lon),
      lat: Number(a.lat),
    }),
  )

  return { caseId: c.id, path, department, workers, alarms, alarmsTruncated: rows.length > MAX_ALARMS, span }
}
