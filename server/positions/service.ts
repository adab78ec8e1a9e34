/**
 * Worker positions: fixes from the field page (socket `position`) or a terminal platform
 * (POST /api/positions), stored as tracks; the geofence judged on them with hysteresis
 * (geofence.ts), its `worker:out_of_grid` / `worker:back_in_grid` events logged in the same
 * transaction; after commit, each new fix goes to the live telemetry and the `workers` tiles
 * around the moves are invalidated once per batch. Track, presence and patrol queries read
 * the stored fixes.
 *
 * Who may report: a worker for themself only (workers.user_id); admins and dispatchers for any
 * worker in their scope (the worker is named in each fix).
 */
import gcoord from 'gcoord'
import { can } from '../auth/permissions.ts'
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Db, Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { HttpError } from '../http/errors.ts'
import type { EventLog, NewEvent } from '../realtime/event-log.ts'
import { WORKER_BACK_IN_GRID, WORKER_OUT_OF_GRID, type DomainEvent, type PositionReport, type WorkerFencePayload } from '../realtime/events.ts'
import { noTelemetry, type TelemetrySink } from '../realtime/telemetry.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import { judge, type FenceState } from './geofence.ts'
import { GAP_S, summarize, type TrackSummary } from './track.ts'

const sql = loadSql(new URL('./positions.sql', import.meta.url))

/** A fix may be at most this far in the future (device clocks drift) … */
export const FUTURE_SLACK_MS = 5 * 60_000
/** … and at most this old (a phone that was offline for a week still uploads; older is a broken clock). */
export const MAX_AGE_MS = 7 * 86_400_000
/** Longest range a track, presence or patrol query covers. */
export const MAX_RANGE_MS = 31 * 86_400_000
/** Most track points one answer carries; a longer track is thinned evenly (`truncated`). */
export const MAX_TRACK_POINTS = 20_000


export interface IngestResult {
  accepted: number
  duplicates: number
  events: number
}

interface WorkerRow {
  id: number
  code: string
  name: string
  grid_code: string | null
  scope: string | null
  duty_status: string
  last_seen: Date | string | null
  lon: number | null
  lat: number | null
}

interface StoredFix {
  worker_id: number
  ts: Date | string
  lon: number
  lat: number
  accuracy: number | null
  speed: number | null
  heading: number | null
  signed_m: number | null
}

interface FenceRow {
  worker_id: number
  outside: boolean
  since: Date | string
  last_fix: Date | string
  pending_since: Date | string | null
  pending_count: number
}

const iso = (t: Date | string) => new Date(t).toISOString()
const round1 = (x: number) => Math.round(x * 10) / 10

/** After commit: what to tell the live map. */
interface Moved {
  offers: { worker: WorkerRow; fix: StoredFix; outside: boolean | null }[]
  bboxes: Map<string | null, [number, number, number, number]>
}

export class PositionService {
  readonly #telemetry: TelemetrySink

  constructor(private readonly opts: { db: Db; events: EventLog; tiles: TileInvalidator; telemetry?: TelemetrySink }) {
    this.#telemetry = opts.telemetry ?? noTelemetry
  }

  /**
   * Stores a report's fixes in one transaction and judges the fence. `ownOnly`: the sender's own
   * worker only, whatever their role (the field page). 403 for another worker's fix from a
   * worker, 404 for a worker outside the reporter's scope, 422 for a time too far ahead or back.
   */
  async ingest(actor: Actor, report: PositionReport, opts: { ownOnly?: boolean } = {}): Promise<IngestResult> {
    const now = Date.now()
    report.positions.forEach((p, i) => {
      const t = Date.parse(p.ts)
      if (t > now + FUTURE_SLACK_MS) throw new HttpError(422, `positions.${i}.ts: ${p.ts} is more than 5 minutes in the future (check the device clock)`)
      if (t < now - MAX_AGE_MS) throw new HttpError(422, `positions.${i}.ts: ${p.ts} is more than 7 days old`)
    })
    // Reporting for other workers (terminal platforms, the simulator) needs positions.relay; others report their own fixes only.
    const own = opts.ownOnly === true || !can(actor, 'positions.relay')
    const fixes = report.positions.map((p) => {
      const [lon, lat] = report.crs === 'gcj02' ? gcoord.transform([p.lon, p.lat] as [number, number], gcoord.GCJ02, gcoord.WGS84) : [p.lon, p.lat]
      return { ...p, lon, lat }
    })

    const moved: Moved = { offers: [], bboxes: new Map() }
    const result = await this.opts.events.write(async (tx, append) => {
      if (own) {
        const mine = (await tx.query<{ id: number }>(sql.own_workers!, [actor.userId])).rows.map((r) => r.id)
        if (mine.length === 0) throw new HttpError(403, `your account (${actor.username}) is not linked to a worker, so it has no positions to report`)
        fixes.forEach((f, i) => {
          if (f.workerId === undefined) {
            if (mine.length > 1) throw new HttpError(422, `positions.${i}.workerId: your account is linked to several workers (${mine.join(', ')}); name one`)
            f.workerId = mine[0]
          } else if (!mine.includes(f.workerId)) throw new HttpError(403, `positions.${i}.workerId: you may report only your own positions (worker ${mine.join(', ')})`)
        })
      } else {
        fixes.forEach((f, i) => {
          if (f.workerId === undefined) throw new HttpError(422, `positions.${i}.workerId: required when reporting for workers`)
        })
      }
      const ids = [...new Set(fixes.map((f) => f.workerId!))].sort((a, b) => a - b)
      const workers = new Map(
        (await tx.query<WorkerRow>(sql.lock_workers!, [ids, own ? null : scopeFilter(actor)])).rows.map((w) => [w.id, w]),
      )
      const missing = ids.filter((id) => !workers.has(id))
      if (missing.length) throw new HttpError(404, `no worker ${missing.join(', ')} in your scope`)

      const stored = (
        await tx.query<StoredFix>(sql.insert_fixes!, [
          fixes.map((f) => f.workerId),
          fixes.map((f) => f.ts),
          fixes.map((f) => f.lon),
          fixes.map((f) => f.lat),
          fixes.map((f) => f.accuracy ?? null),
          fixes.map((f) => f.speed ?? null),
          fixes.map((f) => f.heading ?? null),
        ])
      ).rows
      const events = await this.#fence(tx, append, workers, stored, moved)

      // The latest fix of each worker becomes their position (unless a later one is known).
      const latest = new Map<number, StoredFix>()
      for (const f of stored) latest.set(f.worker_id, f)
      const last = [...latest.values()]
      const movedIds = new Set(
        (
          await tx.query<{ id: number }>(sql.move_workers!, [last.map((f) => f.worker_id), last.map((f) => f.ts), last.map((f) => f.lon), last.map((f) => f.lat)])
        ).rows.map((r) => r.id),
      )
      for (const id of movedIds) {
        const w = workers.get(id)!
        const f = latest.get(id)!
        const box = moved.bboxes.get(w.grid_code) ?? [f.lon, f.lat, f.lon, f.lat]
        for (const [x, y] of [[f.lon, f.lat], ...(w.lon != null && w.lat != null ? [[w.lon, w.lat]] : [])] as [number, number][]) {
          box[0] = Math.min(box[0], x)
          box[1] = Math.min(box[1], y)
          box[2] = Math.max(box[2], x)
          box[3] = Math.max(box[3], y)
        }
        moved.bboxes.set(w.grid_code, box)
      }
      return { accepted: stored.length, duplicates: fixes.length - stored.length, events }
    })

    // Committed: the live map gets the new fixes, the tiles around the moves are refetched.
    for (const { worker, fix, outside } of moved.offers) {
      this.#telemetry.offer({
        kind: 'worker',
        id: worker.id,
        lon: fix.lon,
        lat: fix.lat,
        scope: worker.scope,
        ts: iso(fix.ts),
        data: { speed: fix.speed, heading: fix.heading, accuracy: fix.accuracy, outOfGrid: outside === true && ['on_duty', 'busy'].includes(worker.duty_status) },
      })
    }
    for (const [grid, bbox] of moved.bboxes) this.opts.tiles.changed('workers', bbox, grid)
    return result
  }

  /** Judges the fence over the new fixes of each worker (in time order), stores the state and appends the events; returns how many. */
  async #fence(
    tx: Queryable,
    append: (e: NewEvent) => Promise<DomainEvent>,
    workers: Map<number, WorkerRow>,
    stored: StoredFix[],
    moved: Moved,
  ): Promise<number> {
    if (stored.length === 0) return 0
    const byWorker = new Map<number, StoredFix[]>()
    for (const f of stored) (byWorker.get(f.worker_id) ?? byWorker.set(f.worker_id, []).get(f.worker_id)!).push(f)
    const states = new Map(
      (await tx.query<FenceRow>(sql.fence_states!, [[...byWorker.keys()]])).rows.map((r): [number, FenceState] => [
        r.worker_id,
        { outside: r.outside, since: iso(r.since), lastFix: iso(r.last_fix), pendingSince: r.pending_since ? iso(r.pending_since) : null, pendingCount: r.pending_count },
      ]),
    )
    const marks: { id: number; ts: Date | string; outside: boolean }[] = []
    const saved: { id: number; state: FenceState; fix: StoredFix }[] = []
    let events = 0
    for (const [id, all] of byWorker) {
      const worker = workers.get(id)!
      const prev = states.get(id) ?? null
      const lastSeen = worker.last_seen ? new Date(worker.last_seen).getTime() : -Infinity
      // Only fixes after the last one judged move the fence (a late fix keeps outside NULL: the
      // track query then uses plain containment for it); a worker without a grid has no fence.
      const fresh = all.filter((f) => f.signed_m !== null && (!prev || new Date(f.ts).getTime() > Date.parse(prev.lastFix)))
      const judged = judge(prev, fresh.map((f) => ({ ts: iso(f.ts), distanceM: f.signed_m!, accuracy: f.accuracy })))
      fresh.forEach((f, i) => marks.push({ id, ts: f.ts, outside: judged.outside[i]! }))
      if (fresh.length) saved.push({ id, state: judged.state, fix: fresh[fresh.length - 1]! })
      if (judged.outsideSinceBefore && fresh.length) await tx.query(sql.mark_outside_since!, [id, judged.outsideSinceBefore, fresh[0]!.ts])
      const flag = new Map(fresh.map((f, i) => [f, judged.outside[i]!]))
      for (const f of all) if (new Date(f.ts).getTime() > lastSeen) moved.offers.push({ worker, fix: f, outside: flag.get(f) ?? null })
      // Only a worker on duty (or busy on a case) raises events; the state follows them anyway.
      if (!['on_duty', 'busy'].includes(worker.duty_status)) continue
      for (const t of judged.transitions) {
        const f = fresh[t.index]!
        const payload: WorkerFencePayload = {
          workerId: id,
          code: worker.code,
          name: worker.name,
          gridCode: worker.grid_code,
          lon: f.lon,
          lat: f.lat,
          at: iso(f.ts),
          distanceM: round1(f.signed_m!),
          ...(t.to === 'out' ? { since: t.since } : {}),
        }
        await append({ type: t.to === 'out' ? WORKER_OUT_OF_GRID : WORKER_BACK_IN_GRID, scope: worker.scope, payload })
        events++
      }
    }
    if (marks.length) await tx.query(sql.mark_fixes!, [marks.map((m) => m.id), marks.map((m) => m.ts), marks.map((m) => m.outside)])
    if (saved.length) {
      await tx.query(sql.save_fences!, [
        saved.map((s) => s.id),
        saved.map((s) => s.state.outside),
        saved.map((s) => s.state.since),
        saved.map((s) => s.state.lastFix),
        saved.map((s) => s.fix.lon),
        saved.map((s) => s.fix.lat),
        saved.map((s) => s.fix.signed_m),
        saved.map((s) => s.state.pendingSince),
        saved.map((s) => s.state.pendingCount),
      ])
    }
    return events
  }

  /**
   * The worker the actor may see: in their scope with workers.read, else (a worker reporting
   * their own positions) themself only. 404 unknown or outside the scope, 403 someone else's.
   */
  async worker(actor: Actor, id: number): Promise<{ id: number; code: string; name: string; grid_code: string | null }> {
    const self = !can(actor, 'workers.read')
    const { rows } = await this.opts.db.query<{ id: number; code: string; name: string; grid_code: string | null; user_id: number | null }>(sql.worker!, [
      id,
      self ? null : scopeFilter(actor),
    ])
    const w = rows[0]
    if (!w) throw new HttpError(404, `no worker ${id} in your scope`)
    if (self && w.user_id !== actor.userId) throw new HttpError(403, 'a worker may see only their own track')
    return w
  }

  /** A worker's track in [from, to): points (thinned to MAX_TRACK_POINTS), stops, distance, patrol and out-of-grid time. */
  async track(
    workerId: number,
    from: Date,
    to: Date,
  ): Promise<TrackSummary & { from: string; to: string; points: { ts: string; lon: number; lat: number }[]; pointCount: number; truncated: boolean }> {
    const { rows } = await this.opts.db.query<{ ts: Date | string; lon: number; lat: number; outside: boolean }>(sql.track!, [workerId, from.toISOString(), to.toISOString()])
    const fixes = rows.map((r) => ({ t: new Date(r.ts).getTime(), lon: r.lon, lat: r.lat, outside: r.outside }))
    const step = Math.ceil(fixes.length / MAX_TRACK_POINTS) || 1
    const points = fixes
      .filter((_, i) => i % step === 0 || i === fixes.length - 1)
      .map((f) => ({ ts: new Date(f.t).toISOString(), lon: f.lon, lat: f.lat }))
    return { from: from.toISOString(), to: to.toISOString(), points, pointCount: fixes.length, truncated: step > 1, ...summarize(fixes) }
  }

  /** Who was in a grid in [from, to), and when. 404 for a grid unknown or outside the scope. */
  async presence(actor: Actor, gridCode: string, from: Date, to: Date): Promise<{ workerId: number; code: string; name: string; intervals: { from: string; to: string }[] }[]> {
    const grid = await this.opts.db.query(sql.grid!, [gridCode, scopeFilter(actor)])
    if (!grid.rows[0]) throw new HttpError(404, `no grid ${gridCode} in your scope`)
    const { rows } = await this.opts.db.query<{ worker_id: number; code: string; name: string; from: Date | string; to: Date | string }>(sql.presence!, [
      gridCode,
      from.toISOString(),
      to.toISOString(),
      GAP_S,
    ])
    const out = new Map<number, { workerId: number; code: string; name: string; intervals: { from: string; to: string }[] }>()
    for (const r of rows) {
      const w = out.get(r.worker_id) ?? out.set(r.worker_id, { workerId: r.worker_id, code: r.code, name: r.name, intervals: [] }).get(r.worker_id)!
      w.intervals.push({ from: iso(r.from), to: iso(r.to) })
    }
    return [...out.values()]
  }
}
