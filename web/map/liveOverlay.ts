/**
 * The wall's live overlay data (implements LiveOverlaySource, web/map/view.ts): starts from
 * GET /api/wall/live for the view, then follows the domain events (alarms, cases, geofence) and
 * the `telemetry` worker positions. Plain objects, not reactive; the arrays handed out are the
 * same arrays refilled, and `version` grows on every change (deck.gl updateTriggers).
 *
 * The owner (WallView) feeds it: `applyEvent(e)` for each socket `event`, `applyTelemetry(items)`
 * for LiveTelemetry's changes, `setViewport(bbox)` when the map settles (MapView does this when
 * given the overlay), `dispose()` on unmount.
 */
import type { DomainEvent } from '../../server/realtime/events.ts'
import type { TelemetryItem } from '../../server/realtime/telemetry.ts'
import type { WallLive, WallLiveAlarm, WallLiveCase, WallLiveWorker } from '../../server/wall/types.ts'
import { apiFetch } from '../services/http.ts'
import type { LiveOverlaySource } from './view.ts'

/** [west, south, east, north], WGS84. */
export type BBox = [number, number, number, number]

/** An alarm as drawn: what the live answer gives, plus what an alarm:raised event adds. */
export interface LiveAlarm extends WallLiveAlarm {
  /** The reading and the level it crossed (from alarm:raised; absent when loaded from the live answer). */
  value?: number
  threshold?: number
  unit?: string | null
  /** Local clock (ms) when it was raised here: it pulses for PULSE_MS from then; null: no pulse (already open when loaded). */
  pulseFrom: number | null
}

/** A case as drawn, with its five-colour SLA level once a case:level event named it. */
export interface LiveCase extends WallLiveCase {
  slaLevel?: string | null
}

/** A worker as drawn at one moment; the object is reused between calls (only lon/lat change while it moves). */
export interface LiveWorker extends Omit<WallLiveWorker, 'ts'> {
  /** Past fixes, oldest first, at most TRAIL_POINTS and TRAIL_MS old (the latest fix is where the dot is heading). */
  trail: [number, number][]
}

interface WorkerState {
  out: LiveWorker
  from: [number, number]
  to: [number, number]
  /** Local ms when the move from → to started, and how long it takes. */
  t0: number
  dur: number
  /** Time of the latest fix (ms; NaN when unknown). */
  fixTs: number
  trailTs: number[]
}

/** How long a new alarm's ring keeps expanding. */
export const PULSE_MS = 60_000
/** A worker's trail: at most this many past fixes, none older than TRAIL_MS. */
export const TRAIL_POINTS = 20
export const TRAIL_MS = 10 * 60_000
/** A move between two fixes takes their time apart, within these bounds (a fix after a long gap does not crawl). */
export const MOVE_MIN_MS = 250
export const MOVE_MAX_MS = 10_000
/** Most cases and most alarms held (the live answer gives at most 5000 cases). */
export const MAX_ITEMS = 5000
/** Stages after which a case leaves the map. */
export const CLOSED_STAGES: readonly string[] = ['closed', 'evaluated', 'cancelled', 'merged']

export interface LiveOverlayOptions {
  /** GET /api/wall/live?bbox=… (a fake in tests). */
  fetchLive?: (bbox: BBox) => Promise<WallLive>
  /** One case with its stage clock, after an event that does not carry it (GET /api/cases/:id); null: not visible. */
  fetchCase?: (id: number) => Promise<Partial<WallLiveCase> & { id: number; stage: string } | null>
  /** Wait this long after the last setViewport before loading (the map settles in steps); default 400. */
  debounceMs?: number
  /** Clock (ms), for tests. */
  now?: () => number
  onError?: (error: unknown) => void
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function defaultFetchLive(bbox: BBox): Promise<WallLive> {
  return apiFetch<WallLive>(`/api/wall/live?bbox=${bbox.map((v) => v.toFixed(5)).join(',')}`)
}
function defaultFetchCase(id: number): Promise<WallLiveCase> {
  return apiFetch<WallLiveCase>(`/api/cases/${id}`)
}

export class LiveOverlay implements LiveOverlaySource {
  version = 0
  readonly #cases = new Map<number, LiveCase>()
  readonly #alarms = new Map<number, LiveAlarm>()
  readonly #workers = new Map<number, WorkerState>()
  // The arrays handed out: refilled in place when the maps change.
  readonly #caseList: LiveCase[] = []
  readonly #alarmList: LiveAlarm[] = []
  readonly #workerList: LiveWorker[] = []
  #listsAt = -1
  readonly #listeners = new Set<() => void>()
  #bbox: BBox | null = null
  #timer: ReturnType<typeof setTimeout> | null = null
  #seq = 0
  #disposed = false
  readonly #fetchLive: (bbox: BBox) => Promise<WallLive>
  readonly #fetchCase: NonNullable<LiveOverlayOptions['fetchCase']>
  readonly #debounceMs: number
  readonly #now: () => number
  readonly #onError: (error: unknown) => void

  constructor(opts: LiveOverlayOptions = {}) {
    this.#fetchLive = opts.fetchLive ?? defaultFetchLive
    this.#fetchCase = opts.fetchCase ?? defaultFetchCase
    this.#debounceMs = opts.debounceMs ?? 400
    this.#now = opts.now ?? (() => Date.now())
    this.#onError = opts.onError ?? ((e) => console.warn('[onegrid] live overlay:', e))
  }

  // ─── LiveOverlaySource ───────────────────────────────────────────────────────────────────

  cases(): readonly LiveCase[] {
    this.#refill()
    return this.#caseList
  }

  alarms(): readonly LiveAlarm[] {
    this.#refill()
    return this.#alarmList
  }

  /** Workers at `now`: each moving from where it was drawn when its latest fix came towards that fix. */
  workers(now = this.#now()): readonly LiveWorker[] {
    this.#refill()
    for (const w of this.#workers.values()) {
      const f = w.dur <= 0 ? 1 : Math.min(1, Math.max(0, (now - w.t0) / w.dur))
      w.out.lon = w.from[0] + (w.to[0] - w.from[0]) * f
      w.out.lat = w.from[1] + (w.to[1] - w.from[1]) * f
    }
    return this.#workerList
  }

  onChange(cb: () => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  // ─── what the layers ask between changes ─────────────────────────────────────────────────

  /** Alarms whose ring is expanding at `now`. */
  pulsing(now = this.#now()): boolean {
    for (const a of this.#alarms.values()) if (a.pulseFrom !== null && now - a.pulseFrom < PULSE_MS) return true
    return false
  }

  /** Whether anything moves at `now` (a pulse, a worker between fixes): the map animates only then. */
  animating(now = this.#now()): boolean {
    if (this.pulsing(now)) return true
    for (const w of this.#workers.values()) if (now - w.t0 < w.dur) return true
    return false
  }

  // ─── inputs ──────────────────────────────────────────────────────────────────────────────

  /** The map now shows this box: reload the live answer for it (debounced; a later box wins). */
  setViewport(bbox: BBox): void {
    if (this.#disposed) return
    this.#bbox = [...bbox]
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = null
      void this.reload()
    }, this.#debounceMs)
  }

  /** Loads the live answer for the current box now (resolves when applied or superseded). */
  async reload(): Promise<void> {
    const bbox = this.#bbox
    if (!bbox || this.#disposed) return
    const mine = ++this.#seq
    let live: WallLive
    try {
      live = await this.#fetchLive(bbox)
    } catch (error) {
      if (mine === this.#seq) this.#onError(error)
      return
    }
    if (mine !== this.#seq || this.#disposed) return // a later box was asked for meanwhile
    this.#load(live)
  }

  #load(live: WallLive): void {
    this.#cases.clear()
    for (const c of live.cases.slice(0, MAX_ITEMS)) this.#cases.set(c.id, { ...c })
    const had = new Map(this.#alarms)
    this.#alarms.clear()
    for (const a of live.alarms.slice(0, MAX_ITEMS)) {
      const old = had.get(a.id)
      // An alarm already known keeps its pulse and the reading its event carried.
      this.#alarms.set(a.id, { ...old, ...a, pulseFrom: old?.pulseFrom ?? null })
    }
    const seen = new Set<number>()
    const now = this.#now()
    for (const w of live.workers) {
      seen.add(w.id)
      this.#upsertWorker(w, now)
    }
    for (const id of this.#workers.keys()) if (!seen.has(id)) this.#workers.delete(id)
    this.#changed()
  }

  /** One domain event from the socket (or the replay after a reconnect). Unknown types are ignored. */
  applyEvent(e: DomainEvent): void {
    if (this.#disposed) return
    const p = e.payload
    const id = num(p.id)
    switch (e.type) {
      case 'alarm:raised': {
        const lon = num(p.lon), lat = num(p.lat)
        if (id === undefined || lon === undefined || lat === undefined) return
        this.#alarms.set(id, {
          id,
          sensorId: num(p.sensorId) ?? 0,
          code: str(p.code) ?? '',
          name: str(p.name) ?? '',
          sensorType: str(p.sensorType) ?? '',
          kind: str(p.kind) ?? '',
          lon,
          lat,
          raisedAt: str(p.raisedAt) ?? e.at,
          acked: false,
          value: num(p.value),
          threshold: num(p.threshold),
          unit: str(p.unit) ?? null,
          pulseFrom: this.#now(),
        })
        this.#trim(this.#alarms)
        return this.#changed()
      }
      case 'alarm:acked': {
        const a = id === undefined ? undefined : this.#alarms.get(id)
        if (!a || a.acked) return
        a.acked = true
        return this.#changed()
      }
      case 'alarm:resolved':
        if (id !== undefined && this.#alarms.delete(id)) this.#changed()
        return
      case 'case:created': {
        const lon = num(p.lon), lat = num(p.lat), stage = str(p.stage)
        if (id === undefined || lon === undefined || lat === undefined || !stage || CLOSED_STAGES.includes(stage)) return
        this.#cases.set(id, {
          id,
          code: str(p.code) ?? '',
          stage,
          urgency: str(p.urgency) ?? 'normal',
          // the workflow names it `category`, a case opened by an alarm `categoryCode`
          categoryCode: str(p.categoryCode) ?? str(p.category) ?? '',
          lon,
          lat,
          reportedAt: str(p.reportedAt) ?? e.at,
          stageStartedAt: e.at,
          stageDeadlineAt: null,
          overdue: false,
        })
        this.#trim(this.#cases)
        this.#changed()
        // the event does not carry the stage's deadline: ask for it
        void this.#completeCase(id)
        return
      }
      case 'case:changed': {
        const to = str(p.to)
        if (id === undefined || !to) return
        if (CLOSED_STAGES.includes(to)) {
          if (this.#cases.delete(id)) this.#changed()
          return
        }
        const c = this.#cases.get(id)
        if (c && c.stage !== to) {
          c.stage = to
          // a new stage runs a new clock, which the event does not carry: unknown until asked
          c.stageStartedAt = e.at
          c.stageDeadlineAt = null
          c.overdue = false
          this.#changed()
        }
        // a case not held (e.g. reopened) or a changed clock: ask for it
        void this.#completeCase(id)
        return
      }
      case 'case:overdue':
      case 'case:due_soon': {
        const c = id === undefined ? undefined : this.#cases.get(id)
        if (!c) return
        const deadline = str(p.deadline)
        if (deadline) c.stageDeadlineAt = deadline
        if (e.type === 'case:overdue') c.overdue = true
        return this.#changed()
      }
      case 'case:level': {
        const c = id === undefined ? undefined : this.#cases.get(id)
        if (!c) return
        c.slaLevel = str(p.level) ?? null
        return this.#changed()
      }
      case 'worker:out_of_grid':
      case 'worker:back_in_grid': {
        const w = this.#workers.get(num(p.workerId) ?? -1)
        const out = e.type === 'worker:out_of_grid'
        if (!w || w.out.outOfGrid === out) return
        w.out.outOfGrid = out
        return this.#changed()
      }
    }
  }

  /** Telemetry items (LiveTelemetry's onChange); only workers are drawn from it. */
  applyTelemetry(items: readonly TelemetryItem[]): void {
    if (this.#disposed) return
    const now = this.#now()
    let changed = false
    for (const item of items) {
      if (item.kind !== 'worker') continue
      const outOfGrid = typeof item.data.outOfGrid === 'boolean' ? item.data.outOfGrid : undefined
      changed = this.#upsertWorker({ id: item.id, lon: item.lon, lat: item.lat, ts: item.ts, outOfGrid }, now) || changed
    }
    if (changed) this.#changed()
  }

  /**
   * A worker's new fix: the dot moves from where it is drawn now to the fix, over the time
   * between this fix and the previous one (bounded), and the previous fix joins the trail.
   * Returns whether anything changed (an older or repeated fix does not).
   */
  #upsertWorker(w: Partial<WallLiveWorker> & { id: number; lon: number; lat: number; ts: string | null }, now: number): boolean {
    const ts = w.ts ? Date.parse(w.ts) : NaN
    const s = this.#workers.get(w.id)
    if (!s) {
      const out: LiveWorker = {
        id: w.id,
        code: w.code ?? '',
        name: w.name ?? '',
        lon: w.lon,
        lat: w.lat,
        dutyStatus: w.dutyStatus ?? 'on_duty',
        outOfGrid: w.outOfGrid ?? false,
        trail: [],
      }
      this.#workers.set(w.id, { out, from: [w.lon, w.lat], to: [w.lon, w.lat], t0: now, dur: 0, fixTs: ts, trailTs: [] })
      return true
    }
    let changed = false
    const fields = { code: w.code, name: w.name, dutyStatus: w.dutyStatus, outOfGrid: w.outOfGrid }
    for (const k of Object.keys(fields) as (keyof typeof fields)[]) {
      const value = fields[k]
      if (value === undefined || value === s.out[k]) continue
      ;(s.out as unknown as Record<string, unknown>)[k] = value
      changed = true
    }
    const newer = Number.isNaN(ts) || Number.isNaN(s.fixTs) ? w.lon !== s.to[0] || w.lat !== s.to[1] : ts > s.fixTs
    if (newer) {
      const f = s.dur <= 0 ? 1 : Math.min(1, Math.max(0, (now - s.t0) / s.dur))
      const here: [number, number] = [s.from[0] + (s.to[0] - s.from[0]) * f, s.from[1] + (s.to[1] - s.from[1]) * f]
      s.out.trail.push([s.to[0], s.to[1]])
      s.trailTs.push(Number.isNaN(s.fixTs) ? now : s.fixTs)
      const gap = Number.isNaN(ts) || Number.isNaN(s.fixTs) ? MOVE_MAX_MS / 5 : ts - s.fixTs
      s.from = here
      s.to = [w.lon, w.lat]
      s.t0 = now
      s.dur = Math.min(MOVE_MAX_MS, Math.max(MOVE_MIN_MS, gap))
      s.fixTs = ts
      this.#trimTrail(s, Number.isNaN(ts) ? now : ts)
      changed = true
    }
    return changed
  }

  #trimTrail(s: WorkerState, latest: number): void {
    let drop = Math.max(0, s.out.trail.length - TRAIL_POINTS)
    while (drop < s.trailTs.length && latest - s.trailTs[drop]! > TRAIL_MS) drop++
    if (drop > 0) {
      s.out.trail.splice(0, drop)
      s.trailTs.splice(0, drop)
    }
  }

  /** Fills in a case's stage clock (and position) from the API after an event that lacks it. */
  async #completeCase(id: number): Promise<void> {
    let c: Awaited<ReturnType<NonNullable<LiveOverlayOptions['fetchCase']>>>
    try {
      c = await this.#fetchCase(id)
    } catch (error) {
      // 403/404: not ours to show any more; anything else is worth a line in the console
      if ((error as { status?: number }).status !== 403 && (error as { status?: number }).status !== 404) this.#onError(error)
      return
    }
    if (this.#disposed) return
    if (!c || CLOSED_STAGES.includes(c.stage)) {
      if (this.#cases.delete(id)) this.#changed()
      return
    }
    const held = this.#cases.get(id)
    // a case not held joins only where the map looks (the next reload would drop it anyway)
    if (!held && (c.lon === undefined || c.lat === undefined || !this.#inView(c.lon, c.lat))) return
    const merged: LiveCase = {
      ...(held ?? { code: '', urgency: 'normal', categoryCode: '', reportedAt: '', stageStartedAt: null, stageDeadlineAt: null, overdue: false, lon: 0, lat: 0 }),
      id,
      code: c.code ?? held?.code ?? '',
      stage: c.stage,
      urgency: c.urgency ?? held?.urgency ?? 'normal',
      categoryCode: c.categoryCode ?? held?.categoryCode ?? '',
      lon: c.lon ?? held!.lon,
      lat: c.lat ?? held!.lat,
      reportedAt: c.reportedAt ?? held?.reportedAt ?? '',
      stageStartedAt: c.stageStartedAt ?? null,
      stageDeadlineAt: c.stageDeadlineAt ?? null,
      overdue: c.overdue ?? (c.stageDeadlineAt ? Date.parse(c.stageDeadlineAt) < this.#now() : false),
    }
    if (held) Object.assign(held, merged)
    else {
      this.#cases.set(id, merged)
      this.#trim(this.#cases)
    }
    this.#changed()
  }

  #inView(lon: number, lat: number): boolean {
    const b = this.#bbox
    return !b || (lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3])
  }

  /** Keeps a map within MAX_ITEMS by dropping the entries held longest (insertion order). */
  #trim<T>(m: Map<number, T>): void {
    for (const k of m.keys()) {
      if (m.size <= MAX_ITEMS) break
      m.delete(k)
    }
  }

  #refill(): void {
    if (this.#listsAt === this.version) return
    this.#listsAt = this.version
    this.#caseList.length = 0
    for (const c of this.#cases.values()) this.#caseList.push(c)
    this.#alarmList.length = 0
    for (const a of this.#alarms.values()) this.#alarmList.push(a)
    this.#workerList.length = 0
    for (const w of this.#workers.values()) this.#workerList.push(w.out)
  }

  #changed(): void {
    this.version++
    for (const cb of this.#listeners) {
      try {
        cb()
      } catch (error) {
        this.#onError(error)
      }
    }
  }

  /** The alarm with this id, if held (for the alarm card). */
  alarm(id: number): LiveAlarm | undefined {
    return this.#alarms.get(id)
  }

  /** The case with this id, if held (for the card). */
  case(id: number): LiveCase | undefined {
    return this.#cases.get(id)
  }

  dispose(): void {
    this.#disposed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#listeners.clear()
    this.#cases.clear()
    this.#alarms.clear()
    this.#workers.clear()
    this.#caseList.length = 0
    this.#alarmList.length = 0
    this.#workerList.length = 0
  }
}
