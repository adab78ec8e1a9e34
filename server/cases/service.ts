/**
 * CaseService: reports, workflow actions, the record (timeline) and the dispatch recommendation.
 *
 * Every action runs in one transaction with its event (EventLog.write): the case row is locked
 * (FOR UPDATE), then checked in this order — scope (404: a case outside the actor's scope does not
 * exist for them), a repeated idempotency key (the stored result, nothing done again), version
 * (409 with the current stage and version), stage × action (422), duty (403), the action's guards
 * and fields (422). A refusal changes nothing. What is allowed is the table in workflow.ts.
 */
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Db, Queryable } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import type { EventLog } from '../realtime/event-log.ts'
import type { UserNotifier } from '../realtime/notify.ts'
import type { TaskPayload } from '../realtime/events.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import { zoneClock } from '../time/zone.ts'
import { usableAttachments } from './attachments.ts'
import { loadBriefing, type CaseBriefing } from './briefing.ts'
import { loadCalendar } from './calendar.ts'
import { extendDeadline, loadSlaSettings, resumeDeadline, stageDeadline, type CategoryLimits } from './deadlines.ts'
import type { ActInput, ActResult, AttachmentRef, CaseSummary, Reporter, ReportInput, ReportResult, Stage, TimelineEntry } from './types.ts'
import { ACTION_DEFS, CLOSED_STAGES, dutyFor, initialStage, nextStage, STAGE_COLUMN, type Action, type ActionDef } from './workflow.ts'

/**
 * The highest sequence number among the case codes of one day (`day` = `C<yyyymmdd>`, local in
 * ONEGRID_TZ); codes are `${day}${nnnnn}`. Also used by the CSV case import (server/import/cases.ts).
 */
export async function lastCaseNumber(q: Queryable, day: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT coalesce(max(substr(code, 10)::int), 0) AS n FROM cases
      WHERE code BETWEEN $1::text || '00000' AND $1::text || '99999' AND code ~ '^C[0-9]{13}$'`,
    [day],
  )
  return Number(rows[0]!.n)
}

/** 409: the client acted on an old version; `current` is the case as it is now. */
export class CaseConflict extends HttpError {
  constructor(readonly current: CaseSummary) {
    super(409, `the case changed meanwhile: it is now at stage ${current.stage}, version ${current.version}; reload and try again`, 'stale_version')
  }
}

interface CaseRow {
  id: number
  code: string
  stage: Stage
  version: number
  category_code: string
  source: CaseSummary['source']
  urgency: CaseSummary['urgency']
  description: string
  address: string | null
  grid_code: string | null
  department_id: number | null
  worker_id: number | null
  reporter: string | null
  lon: number
  lat: number
  reported_at: Date | string
  stage_started_at: Date | string | null
  stage_deadline_at: Date | string | null
  deadline_at: Date | string | null
  closed_at: Date | string | null
  suspended_at: Date | string | null
  dispatch_acked_at: Date | string | null
  sla_level: string | null
  extension_hours: string | number
}

const CASE_COLUMNS = `c.id, c.code, c.stage, c.version, c.category_code, c.source, c.urgency, c.description, c.address, c.grid_code,
  c.department_id, c.worker_id, c.reporter, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.reported_at, c.stage_started_at,
  c.stage_deadline_at, c.deadline_at, c.closed_at, c.suspended_at, c.dispatch_acked_at, c.sla_level, c.extension_hours`

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString())

function summary(r: CaseRow): CaseSummary {
  const g = r.grid_code
  return {
    id: r.id,
    code: r.code,
    stage: r.stage,
    version: r.version,
    categoryCode: r.category_code,
    source: r.source,
    urgency: r.urgency,
    description: r.description,
    address: r.address,
    gridCode: g,
    communityCode: g ? g.slice(0, 12) : null,
    streetCode: g ? g.slice(0, 9) : null,
    districtCode: g ? g.slice(0, 6) : null,
    departmentId: r.department_id,
    workerId: r.worker_id,
    reporter: r.reporter,
    lon: r.lon,
    lat: r.lat,
    reportedAt: iso(r.reported_at)!,
    stageStartedAt: iso(r.stage_started_at),
    stageDeadlineAt: iso(r.stage_deadline_at),
    deadlineAt: iso(r.deadline_at),
    closedAt: iso(r.closed_at),
    slaLevel: r.sla_level,
  }
}

interface Category extends CategoryLimits {
  code: string
  kind: 'event' | 'part'
  minor_name: string
  dept: string | null
}

export interface ResponsibleDepartment {
  id: number
  code: string
  name: string
  /** Why this department (zh-CN), naming the rule. */
  reason: string
}

export interface WorkerRecommendation {
  workerId: number
  code: string
  name: string
  role: string
  gridCode: string | null
  userId: number | null
  dutyStatus: string
  distanceM: number | null
  openCases: number
  /** Lower is better: distance in metres plus OPEN_CASE_METRES per open case. */
  score: number
  reason: string
}

export interface Recommendation {
  department: ResponsibleDepartment | null
  /** Other departments the rule names, in its order (e.g. the owner after the territory). */
  alternatives: ResponsibleDepartment[]
  workers: WorkerRecommendation[]
  /** Where the workers come from: the case's grid, else its neighbouring grids. */
  workersFrom: 'grid' | 'neighbours' | 'none'
  /** The handling deadline (处置时限) a dispatch now would set from the category's limit; null: the category has none. */
  deadlineAt: string | null
}

/** How many metres of extra walk one open case on hand weighs when ranking workers. */
export const OPEN_CASE_METRES = 300
/** A part case refers to the part of its class nearest to the report within this distance. */
export const PART_RADIUS_M = 50

export interface ListFilters {
  stage?: Stage[]
  category?: string
  source?: string
  grid?: string
  q?: string
  /** Only the actor's own tasks: assigned to their worker or to their department. */
  mine?: boolean
  limit?: number
  offset?: number
}

interface UserDuties {
  duties: string[]
  department_id: number | null
}

interface Notice {
  userId: number
  event: 'task:assigned' | 'task:notice'
  payload: TaskPayload
}

type NoticeTarget = Omit<Notice, 'payload'>

export class CaseService {
  private readonly now: () => number

  constructor(
    private readonly opts: {
      db: Db
      events: EventLog
      tiles?: TileInvalidator
      notifier?: UserNotifier
      tz: string
      /** The clock (tests); Date.now by default. */
      now?: () => number
    },
  ) {
    this.now = opts.now ?? Date.now
  }

  // ─── report ────────────────────────────────────────────────────────────────────────────

  /** A new case: located, its department found by the rule, numbered C<yyyymmdd><nnnnn>. */
  async report(input: ReportInput, reporter: Reporter): Promise<ReportResult> {
    const system = 'system' in reporter ? reporter.system : null
    const actor = system === null ? (reporter as Actor) : null
    const who = actor ? actor.username : system!
    const db = this.opts.db
    const category = await this.category(db, input.categoryCode)
    if (!category) throw new HttpError(422, `unknown case category ${JSON.stringify(input.categoryCode)}`)
    if (input.lon === undefined || input.lat === undefined) {
      throw new HttpError(422, input.address ? 'the place is needed as lon/lat: an address alone cannot be located' : 'the place is needed as lon/lat')
    }
    const grid = await this.gridAt(db, input.lon, input.lat)
    if (!grid) throw new HttpError(422, `the place ${input.lon}, ${input.lat} is outside every grid`)
    if (actor && !actor.unrestricted && !grid.code.startsWith(actor.scopePrefix)) {
      // Not which grid: the grids of other nodes are not the reporter's to read (the scope matrix test).
      throw new HttpError(403, `the place is outside your scope ${actor.scopeCode}`)
    }
    const duties = actor ? (await this.userDuties(db, actor.userId)).duties : []
    // Any workflow duty may report (a dispatcher takes hotline calls); accounts without one (admin, wall, auditor) have no case rights.
    if (actor && duties.length === 0) throw new HttpError(403, 'reporting a case needs a workflow duty; your account has none')
    const cal = await loadCalendar(db, this.opts.tz)
    const settings = await loadSlaSettings(db)
    const urgency = input.urgency ?? 'normal'
    // Uploads must be the reporter's own (attachments.ts); system channels (Open311) bring links of their own.
    const attachments = actor ? await usableAttachments(db, input.attachments ?? [], actor, null) : (input.attachments ?? [])
    const at = this.now()
    const result = await this.opts.events.write(async (tx, append) => {
      if (input.idempotencyKey) {
        // The same reporter retrying the same report: the first case, not a second one.
        // (A newline between them: PostgreSQL text cannot hold NUL, a NUL here failed every keyed report.)
        await tx.query('SELECT pg_advisory_xact_lock(7142011, hashtext($1::text))', [`${who}\n${input.idempotencyKey}`])
        const { rows } = await tx.query<CaseRow>(
          `SELECT ${CASE_COLUMNS} FROM case_actions a JOIN cases c ON c.id = a.case_id
            WHERE a.action = 'report' AND a.actor = $1 AND a.idempotency_key = $2 LIMIT 1`,
          [who, input.idempotencyKey],
        )
        if (rows[0]) return { case: summary(rows[0]), created: false }
      }
      const stage = initialStage(duties)
      const dept = (await this.responsible(tx, category, input.lon!, input.lat!, grid.street_code))[0] ?? null
      const deadline = stageDeadline(cal, category, stage, at, { urgency, settings })
      const day = `C${zoneClock(this.opts.tz).ymd(at)}`
      let n = await lastCaseNumber(tx, day)
      let row: CaseRow | undefined
      // Another writer (an alarm's auto-case, another report) may take the number meanwhile: take the next.
      for (let tries = 0; !row; tries++) {
        if (tries >= 50) throw new Error(`no free case code on ${day}`)
        n++
        row = (await tx.query<CaseRow>(
          `INSERT INTO cases AS c (code, category_code, source, urgency, stage, description, address, grid_code, department_id, reporter,
                                   reported_at, verified_at, stage_started_at, stage_deadline_at, geom)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::timestamptz, CASE WHEN $5 = 'verified' THEN $11::timestamptz END, $11::timestamptz,
                   $12::timestamptz, ST_SetSRID(ST_MakePoint($13, $14), 4326))
           ON CONFLICT (code) DO NOTHING
           RETURNING ${CASE_COLUMNS}`,
          [`${day}${String(n).padStart(5, '0')}`, category.code, input.source, urgency, stage, input.description, input.address ?? null, grid.code,
            dept?.id ?? null, input.reporterText ?? (actor ? actor.displayName : system), new Date(at).toISOString(),
            deadline === null ? null : new Date(deadline).toISOString(), input.lon, input.lat],
        )).rows[0]
      }
      await tx.query(
        `INSERT INTO case_actions (case_id, action, actor, role, at, note, geom, from_stage, to_stage, attachments, idempotency_key, payload)
         VALUES ($1, 'report', $2, $3, $4::timestamptz, $5, ST_SetSRID(ST_MakePoint($6, $7), 4326), NULL, $8, $9::jsonb, $10, $11::jsonb)`,
        [row.id, who, actor ? 'reporter' : 'system', new Date(at).toISOString(), input.description, input.lon, input.lat, stage,
          JSON.stringify(attachments), input.idempotencyKey ?? null,
          JSON.stringify({
            source: input.source,
            department: dept ? { id: dept.id, reason: dept.reason } : null,
            stageDeadlineAt: deadline === null ? null : new Date(deadline).toISOString(),
          })],
      )
      await append({
        type: 'case:created',
        scope: row.grid_code,
        payload: { id: row.id, code: row.code, stage, category: category.code, source: input.source, urgency, gridCode: row.grid_code, lon: row.lon, lat: row.lat, version: row.version, by: who },
      })
      return { case: summary(row), created: true }
    })
    if (result.created) this.tilesChanged(result.case)
    return result
  }

  // ─── act ──────────────────────────────────────────────────────────────────────────────

  /** Takes one workflow action on a case (see the file comment for the order of checks). */
  async act(caseId: number, action: string, actor: Actor, input: ActInput): Promise<ActResult> {
    const def = ACTION_DEFS.get(action as Action)
    if (!def) throw new HttpError(422, `unknown action ${JSON.stringify(action)}; actions: ${[...ACTION_DEFS.keys()].join(', ')}`)
    const cal = await loadCalendar(this.opts.db, this.opts.tz)
    const settings = await loadSlaSettings(this.opts.db)
    const targets: NoticeTarget[] = []
    const notices: Notice[] = []
    let result: ActResult
    try {
      result = await this.opts.events.write(async (tx, append) => {
        const c = await this.lockedCase(tx, caseId, actor)
        if (input.idempotencyKey) {
          const replay = await this.replayed(tx, c, input.idempotencyKey)
          if (replay) return replay
        }
        if (input.version !== c.version) throw new CaseConflict(summary(c))
        const from = c.stage
        const to = nextStage(def, from, input.reworkTo)
        if (to === null) {
          throw new HttpError(422, `cannot ${def.action} a case at stage ${from}: ${def.action} is allowed from ${def.from.join(', ')}`, 'illegal_transition')
        }
        const user = await this.userDuties(tx, actor.userId)
        const duty = dutyFor(def, user.duties)
        if (!duty) {
          throw new HttpError(403, `${def.action} needs the duty ${def.duties.join(' or ')}; you hold ${user.duties.length ? user.duties.join(', ') : 'none'}`)
        }
        if (duty === 'handler') await this.checkOwnTask(tx, c, actor, user)
        const pending = await this.pendingExtension(tx, c.id)
        for (const g of def.guards ?? []) this.checkGuard(g, def, c, pending)
        this.checkNeeds(def, input)
        // Photos: the actor's own uploads or ones already on this case (422 otherwise), with the type on record.
        const attachments = await usableAttachments(tx, input.attachments ?? [], actor, c.id)

        const at = this.now()
        const atIso = new Date(at).toISOString()
        // Column → SQL value expression; values go into params.
        const params: unknown[] = [c.id]
        const sets: string[] = []
        const payload: Record<string, unknown> = {}
        const set = (col: string, value: unknown, cast = '') => {
          params.push(value)
          sets.push(`${col} = $${params.length}${cast}`)
          // The record keeps every stage deadline that came into force (on-time indicators read it: docs/indicators.md).
          if (col === 'stage_deadline_at') payload.stageDeadlineAt = value
        }
        const opts = { urgency: c.urgency, settings }
        if (def.stamp) set(def.stamp, atIso, '::timestamptz')
        if (def.count) sets.push(`${def.count} = ${def.count} + 1`)
        if (to !== from) {
          set('stage', to)
          set('stage_started_at', atIso, '::timestamptz')
          // Stages that run against the same limit keep its clock (dispatched → in_progress: the handling time began at dispatch).
          if (settings.stage_limits[to] && settings.stage_limits[to] === settings.stage_limits[from] && c.stage_deadline_at !== null) {
            set('stage_deadline_at', new Date(c.stage_deadline_at).toISOString(), '::timestamptz')
          } else {
            const category = (await this.category(tx, c.category_code))!
            const due = stageDeadline(cal, category, to, at, opts)
            set('stage_deadline_at', due === null ? null : new Date(due).toISOString(), '::timestamptz')
          }
        }
        switch (def.action) {
          case 'dispatch': {
            const a = await this.assignee(tx, c, input)
            set('department_id', a.departmentId)
            set('worker_id', a.workerId)
            set('dispatch_acked_at', null, '::timestamptz')
            set('dispatch_ack_noticed_at', null, '::timestamptz')
            let deadline: number | null
            if (input.deadlineAt !== undefined) {
              deadline = new Date(input.deadlineAt).getTime()
              if (!(deadline > at)) throw new HttpError(422, `deadlineAt ${input.deadlineAt} is in the past`)
            } else {
              deadline = stageDeadline(cal, (await this.category(tx, c.category_code))!, 'dispatched', at, opts)
            }
            // The handling deadline of the whole case (处置时限) runs from dispatch.
            set('deadline_at', deadline === null ? null : new Date(deadline).toISOString(), '::timestamptz')
            Object.assign(payload, { workerId: a.workerId, departmentId: a.departmentId })
            if (a.workerUserId !== null) targets.push({ userId: a.workerUserId, event: 'task:assigned' })
            break
          }
          case 'handle':
            set('outcome', input.outcome)
            payload.outcome = input.outcome
            break
          case 'evaluate':
            set('satisfaction', input.satisfaction)
            payload.satisfaction = input.satisfaction
            break
          case 'check_fail':
            // Rework: the handling and its check are done again.
            set('handled_at', null, '::timestamptz')
            if (to === 'dispatched') set('in_progress_at', null, '::timestamptz')
            payload.reworkTo = to
            break
          case 'return':
            // The stage left is undone (its timestamp cleared); the record keeps that it happened.
            set(STAGE_COLUMN[from], null, '::timestamptz')
            if (from === 'dispatched') set('dispatch_acked_at', null, '::timestamptz')
            break
          case 'request_extension':
            payload.hours = input.hours
            break
          case 'approve_extension': {
            const hours = pending!.hours
            sets.push(`extension_hours = extension_hours + ${Number(hours)}`)
            const stageDue = c.stage_deadline_at === null ? null : extendDeadline(cal, new Date(c.stage_deadline_at).getTime(), hours, opts)
            const caseDue = c.deadline_at === null ? null : extendDeadline(cal, new Date(c.deadline_at).getTime(), hours, opts)
            set('stage_deadline_at', stageDue === null ? null : new Date(stageDue).toISOString(), '::timestamptz')
            set('deadline_at', caseDue === null ? null : new Date(caseDue).toISOString(), '::timestamptz')
            Object.assign(payload, { hours, requestId: pending!.id })
            break
          }
          case 'reject_extension':
            Object.assign(payload, { hours: pending!.hours, requestId: pending!.id })
            break
          case 'resume': {
            // 缓办 stops the clock: the deadlines move by the (working) time the case was suspended.
            const since = new Date(c.suspended_at!).getTime()
            const move = (v: Date | string | null) => (v === null ? null : new Date(resumeDeadline(cal, new Date(v).getTime(), since, at, opts)).toISOString())
            set('suspended_at', null, '::timestamptz')
            set('stage_deadline_at', move(c.stage_deadline_at), '::timestamptz')
            set('deadline_at', move(c.deadline_at), '::timestamptz')
            payload.suspendedSince = iso(c.suspended_at)
            break
          }
          case 'merge': {
            const target = await this.mergeTarget(tx, c, actor, input.targetCaseId!)
            set('merged_into', target.id)
            Object.assign(payload, { targetCaseId: target.id, targetCode: target.code })
            break
          }
          case 'urge':
          case 'supervise': {
            const userId = await this.handlerUser(tx, c)
            if (userId !== null) targets.push({ userId, event: 'task:notice' })
            break
          }
          default:
            break
        }
        if (input.reason !== undefined) payload.reason = input.reason
        sets.push('version = version + 1')
        const updated = (await tx.query<CaseRow>(
          `UPDATE cases c SET ${sets.join(', ')} WHERE c.id = $1 RETURNING ${CASE_COLUMNS}`,
          params,
        )).rows[0]!
        const hasPlace = input.lon !== undefined && input.lat !== undefined
        const comment = input.comment ?? input.reason ?? (def.action === 'handle' ? input.outcome : undefined) ?? null
        const stored = { stage: updated.stage, version: updated.version }
        const { rows } = await tx.query<{ id: number }>(
          `INSERT INTO case_actions (case_id, action, actor, role, at, note, geom, from_stage, to_stage, attachments, idempotency_key, payload)
           VALUES ($1, $2, $3, $4, $5::timestamptz, $6,
                   CASE WHEN $7::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($7::float8, $8::float8), 4326) END,
                   $9, $10, $11::jsonb, $12, $13::jsonb)
           RETURNING id`,
          [c.id, def.action, actor.username, duty, atIso, comment, hasPlace ? input.lon : null, hasPlace ? input.lat : null, from, updated.stage,
            JSON.stringify(attachments), input.idempotencyKey ?? null, JSON.stringify({ ...payload, result: stored })],
        )
        await append({
          type: 'case:changed',
          scope: updated.grid_code,
          payload: { id: updated.id, code: updated.code, action: def.action, from, to: updated.stage, version: updated.version, by: actor.username },
        })
        const s = summary(updated)
        for (const t of targets) {
          notices.push({
            ...t,
            payload: {
              kind: def.action === 'dispatch' ? 'assigned' : (def.action as 'urge' | 'supervise'),
              caseId: s.id, code: s.code, stage: s.stage, version: s.version, categoryCode: s.categoryCode, description: s.description,
              address: s.address, lon: s.lon, lat: s.lat, stageDeadlineAt: s.stageDeadlineAt, comment, by: actor.username, at: atIso,
            },
          })
        }
        return { case: s, actionId: rows[0]!.id, replayed: false }
      })
    } catch (err) {
      // Two retries of one field action racing: the unique index lets one in; the other answers with its result.
      if ((err as { code?: string }).code === '23505' && input.idempotencyKey && String((err as { constraint?: string; message?: string }).constraint ?? (err as Error).message).includes('case_actions_idempotency')) {
        const again = await this.opts.db.transaction(async (tx) => this.replayed(tx, await this.lockedCase(tx, caseId, actor), input.idempotencyKey!))
        if (again) return again
      }
      throw err
    }
    if (!result.replayed) {
      this.tilesChanged(result.case)
      for (const n of notices) this.opts.notifier?.toUser(n.userId, n.event, n.payload)
    }
    return result
  }

  // ─── reading ──────────────────────────────────────────────────────────────────────────

  async get(caseId: number, actor: Actor): Promise<CaseSummary & { allowedActions: string[] }> {
    const c = await this.visibleCase(this.opts.db, caseId, actor)
    const user = await this.userDuties(this.opts.db, actor.userId)
    // What the asker may do now: the stage, their duty and the action's guards (as act() checks them).
    const pending = await this.pendingExtension(this.opts.db, c.id)
    const allowed = [...ACTION_DEFS.values()]
      .filter((d) => d.from.includes(c.stage) && dutyFor(d, user.duties) !== null && (d.guards ?? []).every((g) => guardFailure(g, c, pending) === null))
      .map((d) => d.action)
    return { ...summary(c), allowedActions: allowed }
  }

  /** The queue: cases in scope, the least time left first (no deadline last), then the oldest. */
  async list(actor: Actor, f: ListFilters): Promise<{ items: CaseSummary[]; total: number }> {
    const where: string[] = [`($1::text IS NULL OR c.grid_code LIKE $1::text || '%')`]
    const params: unknown[] = [scopeFilter(actor)]
    const add = (sql: (p: string) => string, v: unknown) => {
      params.push(v)
      where.push(sql(`$${params.length}`))
    }
    if (f.stage?.length) add((p) => `c.stage = ANY(${p}::text[])`, f.stage)
    if (f.category) add((p) => `c.category_code = ${p}`, f.category)
    if (f.source) add((p) => `c.source = ${p}`, f.source)
    if (f.grid) add((p) => `c.grid_code LIKE ${p} || '%'`, f.grid)
    if (f.q) add((p) => `(c.code ILIKE '%' || ${p} || '%' OR c.address ILIKE '%' || ${p} || '%')`, f.q.replace(/[\\%_]/g, (m) => `\\${m}`))
    if (f.mine) {
      add((p) => `(c.worker_id IN (SELECT id FROM workers WHERE user_id = ${p})
                   OR c.department_id = (SELECT department_id FROM users WHERE id = ${p}))`, actor.userId)
    }
    const limit = Math.min(Math.max(f.limit ?? 50, 1), 500)
    const offset = Math.max(f.offset ?? 0, 0)
    const sql = `FROM cases c WHERE ${where.join(' AND ')}`
    const [items, total] = await Promise.all([
      this.opts.db.query<CaseRow>(
        `SELECT ${CASE_COLUMNS} ${sql} ORDER BY c.stage_deadline_at ASC NULLS LAST, c.reported_at ASC, c.id LIMIT ${limit} OFFSET ${offset}`,
        params,
      ),
      this.opts.db.query<{ n: number }>(`SELECT count(*)::int AS n ${sql}`, params),
    ])
    return { items: items.rows.map(summary), total: total.rows[0]!.n }
  }

  /** Every action on the case, in order: actor (username and display name), duty, time, place, comment, attachments, stages. */
  async timeline(caseId: number, actor: Actor): Promise<TimelineEntry[]> {
    await this.visibleCase(this.opts.db, caseId, actor)
    const { rows } = await this.opts.db.query<{
      id: number; action: string; actor: string; actor_name: string | null; role: string | null; at: Date | string; lon: number | null; lat: number | null
      note: string | null; attachments: AttachmentRef[]; from_stage: string | null; to_stage: string | null; payload: Record<string, unknown>
    }>(
      `SELECT a.id, a.action, a.actor, u.display_name AS actor_name, a.role, a.at, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat, a.note, a.attachments,
              a.from_stage, a.to_stage, a.payload
         FROM case_actions a LEFT JOIN users u ON u.username = a.actor
        WHERE a.case_id = $1 ORDER BY a.at, a.id`,
      [caseId],
    )
    return rows.map((r) => ({
      id: r.id, action: r.action, actor: r.actor, actorName: r.actor_name, role: r.role, at: iso(r.at)!, lon: r.lon, lat: r.lat, comment: r.note,
      attachments: r.attachments ?? [], from: r.from_stage, to: r.to_stage, payload: r.payload ?? {},
    }))
  }

  /** What a briefing of the case shows beyond the case and its record (briefing.ts): place names, department, workers, alarms, the replay's span. */
  async briefing(caseId: number, actor: Actor): Promise<CaseBriefing> {
    const c = await this.visibleCase(this.opts.db, caseId, actor)
    return loadBriefing(
      this.opts.db,
      { id: c.id, stage: c.stage, gridCode: c.grid_code, departmentId: c.department_id, workerId: c.worker_id, reportedAt: iso(c.reported_at)!, closedAt: iso(c.closed_at) },
      scopeFilter(actor),
      this.now(),
    )
  }

  /**
   * What the dispatcher sees: the responsible department (by the rule, with why) and the on-duty
   * workers of the case's grid — of the neighbouring grids when it has none — ranked by distance
   * plus OPEN_CASE_METRES per open case they already have.
   */
  async recommendation(caseId: number, actor: Actor): Promise<Recommendation> {
    const db = this.opts.db
    const c = await this.visibleCase(db, caseId, actor)
    const category = (await this.category(db, c.category_code))!
    const depts = c.grid_code ? await this.responsible(db, category, c.lon, c.lat, c.grid_code.slice(0, 9)) : []
    let from: Recommendation['workersFrom'] = 'none'
    let workers: WorkerRecommendation[] = []
    if (c.grid_code) {
      workers = await this.rankWorkers(db, c, false)
      from = 'grid'
      if (workers.length === 0) {
        workers = await this.rankWorkers(db, c, true)
        from = workers.length ? 'neighbours' : 'none'
      }
    }
    // The handling deadline a dispatch now would set (the category's limit on the work calendar), for the form to show.
    const cal = await loadCalendar(db, this.opts.tz)
    const settings = await loadSlaSettings(db)
    const due = stageDeadline(cal, category, 'dispatched', this.now(), { urgency: c.urgency, settings })
    return { department: depts[0] ?? null, alternatives: depts.slice(1), workers, workersFrom: from, deadlineAt: due === null ? null : new Date(due).toISOString() }
  }

  // ─── helpers ──────────────────────────────────────────────────────────────────────────

  private async rankWorkers(q: Queryable, c: CaseRow, neighbours: boolean): Promise<WorkerRecommendation[]> {
    const { rows } = await q.query<{
      id: number; code: string; name: string; role: string; grid_code: string | null; user_id: number | null; duty_status: string
      distance_m: number | null; open_cases: number; grid_name: string | null
    }>(
      `WITH here AS (SELECT geom FROM grids WHERE code = $1),
            near AS (SELECT g.code FROM grids g, here
                      WHERE CASE WHEN $4 THEN g.code <> $1 AND ST_Intersects(g.geom, here.geom) ELSE g.code = $1 END)
       SELECT w.id, w.code, w.name, w.role, w.grid_code, w.user_id, w.duty_status,
              CASE WHEN w.geom IS NULL THEN NULL ELSE ST_Distance(w.geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography) END AS distance_m,
              (SELECT count(*)::int FROM cases o WHERE o.worker_id = w.id AND o.stage = ANY($5::text[])) AS open_cases,
              (SELECT name FROM grids WHERE code = w.grid_code) AS grid_name
         FROM workers w
        WHERE w.duty_status = 'on_duty'
          AND (w.grid_code IN (SELECT code FROM near)
               OR EXISTS (SELECT 1 FROM grid_team gt WHERE gt.worker_id = w.id AND gt.grid_code IN (SELECT code FROM near)))`,
      [c.grid_code, c.lon, c.lat, neighbours, ['dispatched', 'in_progress', 'handled']],
    )
    return rows
      .map((w) => {
        const score = (w.distance_m ?? 5000) + OPEN_CASE_METRES * w.open_cases
        const where = neighbours ? `相邻网格${w.grid_name ? `（${w.grid_name}）` : ''}值班` : '本网格值班'
        const far = w.distance_m === null ? '暂无定位' : `距案发地约 ${Math.round(w.distance_m)} 米`
        return {
          workerId: w.id, code: w.code, name: w.name, role: w.role, gridCode: w.grid_code, userId: w.user_id, dutyStatus: w.duty_status,
          distanceM: w.distance_m === null ? null : Math.round(w.distance_m), openCases: w.open_cases, score: Math.round(score),
          reason: `${where}，${far}，手头 ${w.open_cases} 件在办案件`,
        }
      })
      .sort((a, b) => a.score - b.score || a.workerId - b.workerId)
  }

  /**
   * The departments the rule names, in order: parts — owner first, then territory (先属主后属地);
   * events — territory first, then owner (先属地后属主). The owner of a part case is the owner
   * department of the nearest part of its class; of an event, the category's department.
   */
  private async responsible(q: Queryable, category: Category, lon: number, lat: number, streetCode: string): Promise<ResponsibleDepartment[]> {
    const dept = async (sql: string, params: unknown[]) => (await q.query<{ id: number; code: string; name: string }>(sql, params)).rows[0] ?? null
    const territory = await dept('SELECT id, code, name FROM departments WHERE code = $1', [`JD${streetCode}`])
    const out: ResponsibleDepartment[] = []
    const push = (d: { id: number; code: string; name: string } | null, reason: string) => {
      if (d && !out.some((o) => o.id === d.id)) out.push({ ...d, reason })
    }
    if (category.kind === 'part') {
      const part = (await q.query<{ code: string; owner_id: number | null; maintainer_id: number | null; d: number }>(
        `SELECT p.code, p.owner_dept_id AS owner_id, p.maintainer_dept_id AS maintainer_id,
                ST_Distance(p.geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography) AS d
           FROM parts p
          WHERE p.class_code = $1 AND ST_DWithin(p.geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $4)
          ORDER BY d LIMIT 1`,
        [category.code.replace(/^P/, ''), lon, lat, PART_RADIUS_M],
      )).rows[0]
      if (part) {
        push(await dept('SELECT id, code, name FROM departments WHERE id = $1', [part.owner_id]), `部件类案件先属主：部件 ${part.code}（约 ${Math.round(part.d)} 米）的主管部门`)
        push(await dept('SELECT id, code, name FROM departments WHERE id = $1', [part.maintainer_id]), `部件 ${part.code} 的养护单位`)
      }
      push(territory, part ? '后属地：案发地所在街道' : `附近 ${PART_RADIUS_M} 米内无该类部件登记，按属地：案发地所在街道`)
    } else {
      push(territory, '事件类案件先属地：案发地所在街道')
      if (category.dept && category.dept !== 'street' && category.dept !== 'part') {
        push(await dept('SELECT id, code, name FROM departments WHERE code = $1', [category.dept]), `后属主：${category.minor_name}的主管部门`)
      }
    }
    return out
  }

  private async category(q: Queryable, code: string): Promise<Category | null> {
    // to_jsonb: limits_days and dept come from later migrations; read whatever the row has.
    const { rows } = await q.query<{ j: Record<string, unknown> }>('SELECT to_jsonb(cc) AS j FROM case_categories cc WHERE code = $1', [code])
    const j = rows[0]?.j
    if (!j) return null
    return {
      code: j.code as string,
      kind: j.kind as 'event' | 'part',
      minor_name: j.minor_name as string,
      dept: (j.dept as string | undefined) ?? null,
      limits_hours: (j.limits_hours as Record<string, number>) ?? {},
      limits_days: (j.limits_days as Record<string, number> | undefined) ?? null,
    }
  }

  private async gridAt(q: Queryable, lon: number, lat: number) {
    const { rows } = await q.query<{ code: string; street_code: string }>(
      `SELECT code, street_code FROM grids WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY code LIMIT 1`,
      [lon, lat],
    )
    return rows[0] ?? null
  }

  private async userDuties(q: Queryable, userId: number): Promise<UserDuties> {
    const { rows } = await q.query<UserDuties>('SELECT duties, department_id FROM users WHERE id = $1', [userId])
    return rows[0] ?? { duties: [], department_id: null }
  }

  private async visibleCase(q: Queryable, caseId: number, actor: Actor, lock = false): Promise<CaseRow> {
    const { rows } = await q.query<CaseRow>(
      `SELECT ${CASE_COLUMNS} FROM cases c WHERE c.id = $1 AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%')${lock ? ' FOR UPDATE' : ''}`,
      [caseId, scopeFilter(actor)],
    )
    if (!rows[0]) throw new HttpError(404, `no case ${caseId} in your scope`)
    return rows[0]
  }

  private lockedCase(tx: Queryable, caseId: number, actor: Actor): Promise<CaseRow> {
    return this.visibleCase(tx, caseId, actor, true)
  }

  /** The stored result of an earlier action with this key on this case, or null. */
  private async replayed(tx: Queryable, c: CaseRow, key: string): Promise<ActResult | null> {
    const { rows } = await tx.query<{ id: number }>('SELECT id FROM case_actions WHERE case_id = $1 AND idempotency_key = $2', [c.id, key])
    return rows[0] ? { case: summary(c), actionId: rows[0].id, replayed: true } : null
  }

  /** Acting as handler: only on one's own task — the assigned worker's user, or a user of the case's department. */
  private async checkOwnTask(tx: Queryable, c: CaseRow, actor: Actor, user: UserDuties): Promise<void> {
    if (user.department_id !== null && user.department_id === c.department_id) return
    if (c.worker_id !== null) {
      const { rows } = await tx.query<{ user_id: number | null }>('SELECT user_id FROM workers WHERE id = $1', [c.worker_id])
      if (rows[0]?.user_id === actor.userId) return
    }
    throw new HttpError(403, `case ${c.code} is not your task: it is assigned to another worker or department`)
  }

  private async pendingExtension(tx: Queryable, caseId: number): Promise<{ id: number; hours: number } | null> {
    const { rows } = await tx.query<{ id: number; action: string; payload: { hours?: number } }>(
      `SELECT id, action, payload FROM case_actions
        WHERE case_id = $1 AND action IN ('request_extension', 'approve_extension', 'reject_extension')
        ORDER BY at DESC, id DESC LIMIT 1`,
      [caseId],
    )
    const last = rows[0]
    return last?.action === 'request_extension' ? { id: last.id, hours: Number(last.payload.hours ?? 0) } : null
  }

  private checkGuard(g: NonNullable<ActionDef['guards']>[number], def: ActionDef, c: CaseRow, pending: { id: number } | null): void {
    const why = guardFailure(g, c, pending)
    if (why) throw new HttpError(422, `cannot ${def.action} case ${c.code}: ${why}`, 'illegal_transition')
  }

  private checkNeeds(def: ActionDef, input: ActInput): void {
    const missing = (what: string) => {
      throw new HttpError(422, `${def.action} needs ${what}`)
    }
    for (const n of def.needs) {
      if (n === 'reason' && !(input.reason ?? input.comment)?.trim()) missing('a reason')
      if (n === 'satisfaction' && input.satisfaction === undefined) missing('satisfaction (1–5)')
      if (n === 'assignee' && input.workerId === undefined && input.departmentId === undefined) missing('workerId or departmentId')
      if (n === 'target' && input.targetCaseId === undefined) missing('targetCaseId (the case this one duplicates)')
      if (n === 'hours' && input.hours === undefined) missing('hours (the extension asked for)')
      if (n === 'outcome' && !input.outcome?.trim()) missing('outcome (what was done)')
    }
    if (def.action === 'check_fail' || input.reworkTo === undefined) return
    throw new HttpError(422, 'reworkTo applies to check_fail only')
  }

  private async assignee(tx: Queryable, c: CaseRow, input: ActInput): Promise<{ workerId: number | null; departmentId: number | null; workerUserId: number | null }> {
    let departmentId = input.departmentId ?? null
    let workerId: number | null = null
    let workerUserId: number | null = null
    if (input.workerId !== undefined) {
      const { rows } = await tx.query<{ id: number; user_id: number | null; department_id: number | null; grid_code: string | null }>(
        'SELECT id, user_id, department_id, grid_code FROM workers WHERE id = $1',
        [input.workerId],
      )
      const w = rows[0]
      if (!w) throw new HttpError(422, `no worker ${input.workerId}`)
      workerId = w.id
      workerUserId = w.user_id
      departmentId ??= w.department_id ?? c.department_id
    }
    if (departmentId !== null && (await tx.query('SELECT 1 FROM departments WHERE id = $1', [departmentId])).rows.length === 0) {
      throw new HttpError(422, `no department ${departmentId}`)
    }
    return { workerId, departmentId, workerUserId }
  }

  private async mergeTarget(tx: Queryable, c: CaseRow, actor: Actor, targetId: number): Promise<{ id: number; code: string }> {
    if (targetId === c.id) throw new HttpError(422, 'a case cannot be merged into itself')
    const { rows } = await tx.query<{ id: number; code: string; stage: Stage }>(
      `SELECT id, code, stage FROM cases WHERE id = $1 AND ($2::text IS NULL OR grid_code LIKE $2::text || '%')`,
      [targetId, scopeFilter(actor)],
    )
    const t = rows[0]
    if (!t) throw new HttpError(422, `no case ${targetId} in your scope to merge into`)
    if (CLOSED_STAGES.includes(t.stage)) throw new HttpError(422, `case ${t.code} is ${t.stage}: merge into an open case`)
    return t
  }

  /** The user to tell about a task: the assigned worker's account. */
  private async handlerUser(tx: Queryable, c: CaseRow): Promise<number | null> {
    if (c.worker_id === null) return null
    const { rows } = await tx.query<{ user_id: number | null }>('SELECT user_id FROM workers WHERE id = $1', [c.worker_id])
    return rows[0]?.user_id ?? null
  }

  private tilesChanged(c: CaseSummary): void {
    const bbox: [number, number, number, number] = [c.lon, c.lat, c.lon, c.lat]
    this.opts.tiles?.changed('cases', bbox, c.gridCode)
    this.opts.tiles?.changed('case_heat', bbox, c.gridCode)
  }
}

/** Why a guard of an action does not hold for the case now, or null when it holds. */
function guardFailure(g: NonNullable<ActionDef['guards']>[number], c: CaseRow, pending: { id: number } | null): string | null {
  if (g === 'extension_pending' && !pending) return 'no extension request is waiting'
  if (g === 'no_extension_pending' && pending) return 'an extension request is already waiting for a decision'
  if (g === 'suspended' && c.suspended_at === null) return 'it is not suspended'
  if (g === 'not_suspended' && c.suspended_at !== null) return 'it is suspended (缓办); resume it first'
  if (g === 'not_acked' && c.worker_id === null) return 'it was dispatched to a department, not to a worker'
  if (g === 'not_acked' && c.dispatch_acked_at !== null) return 'it is already acknowledged'
  return null
}
