/**
 * Track playback (TrackPlayback.vue), the pure part: a worker's track as the server sends it
 * (GET /api/workers/:id/track, server/positions/service.ts) → runs to draw (inside / out of the
 * grid, broken where the device was off), a position at any moment, the shared timeline of
 * several workers, stops of at least N minutes, and the replay clock.
 *
 * Distances, patrol time, stops and out-of-grid intervals are the server's (server/positions/
 * track.ts): nothing here recomputes a figure the panel reports. Out-of-grid runs are found from
 * the server's `outOfGrid` intervals: a fix is out when its time lies in one of them.
 */
import { GAP_S } from '../../server/positions/track.ts'

export { GAP_S }

/** The track answer (GET /api/workers/:id/track). */
export interface TrackAnswer {
  workerId: number
  code: string
  name: string
  gridCode: string | null
  from: string
  to: string
  points: { ts: string; lon: number; lat: number }[]
  pointCount: number
  truncated: boolean
  distanceM: number
  patrolS: number
  outOfGridS: number
  stops: { from: string; to: string; lon: number; lat: number; durationS: number }[]
  outOfGrid: { from: string; to: string }[]
}

/** A run of consecutive fixes all inside or all out of the grid, with no gap longer than GAP_S. */
export interface TrackRun {
  workerId: number
  outside: boolean
  /** [lon, lat] per fix. */
  path: [number, number][]
  /** Seconds since the timeline's start, per fix (deck.gl TripsLayer `getTimestamps`). */
  timestamps: number[]
  /** Epoch ms of the first and last fix. */
  t0: number
  t1: number
}

export interface PreparedTrack {
  workerId: number
  code: string
  name: string
  /** Epoch ms per fix, ascending. */
  t: Float64Array
  lon: Float64Array
  lat: Float64Array
  outside: Uint8Array
  runs: TrackRun[]
  /** Out-of-grid intervals (epoch ms), from the server. */
  outIntervals: { from: number; to: number }[]
}

/**
 * A track ready to draw and replay. `origin` is the timeline's start (ms): the runs' timestamps
 * are seconds since it (float32 on the GPU keeps seconds exact over a month's range).
 *
 * A fix is out of the grid when its time lies in one of the server's intervals, which run from
 * the first fix out to the fix that came back in (that one is inside): [from, to). A segment
 * between two fixes is out when either end is, so the crossing itself is marked. Runs break where
 * the fixes are more than GAP_S apart (the device was off: nothing is drawn across) and where the
 * segments change colour; consecutive runs share the fix where they meet, so the path is whole.
 */
export function prepareTrack(answer: TrackAnswer, origin: number): PreparedTrack {
  const n = answer.points.length
  const t = new Float64Array(n)
  const lon = new Float64Array(n)
  const lat = new Float64Array(n)
  const outside = new Uint8Array(n)
  const outIntervals = answer.outOfGrid.map((i) => ({ from: Date.parse(i.from), to: Date.parse(i.to) }))
  answer.points.forEach((p, i) => {
    t[i] = Date.parse(p.ts)
    lon[i] = p.lon
    lat[i] = p.lat
  })
  // An interval that ends at the track's last fix cannot say whether that fix came back in or the
  // track ended outside; it is taken as outside (the segment into it is out either way).
  for (let i = 0; i < n; i++) outside[i] = outIntervals.some((iv) => t[i]! >= iv.from && (t[i]! < iv.to || (t[i] === iv.to && i === n - 1))) ? 1 : 0
  const runs: TrackRun[] = []
  let run: TrackRun | null = null
  let last = -1
  const add = (i: number) => {
    run!.path.push([lon[i]!, lat[i]!])
    run!.timestamps.push((t[i]! - origin) / 1000)
    run!.t1 = t[i]!
    last = i
  }
  for (let i = 1; i < n; i++) {
    if (t[i]! - t[i - 1]! > GAP_S * 1000) continue
    const out = outside[i - 1] === 1 || outside[i] === 1
    if (!run || run.outside !== out || last !== i - 1) {
      if (run) runs.push(run)
      run = { workerId: answer.workerId, outside: out, path: [], timestamps: [], t0: t[i - 1]!, t1: t[i - 1]! }
      add(i - 1)
    }
    add(i)
  }
  if (run) runs.push(run)
  return { workerId: answer.workerId, code: answer.code, name: answer.name, t, lon, lat, outside, runs, outIntervals }
}

/** Whether time t (ms) lies in one of the out-of-grid intervals. */
export function isOutsideAt(track: PreparedTrack, at: number): boolean {
  return track.outIntervals.some((iv) => at >= iv.from && at <= iv.to)
}

/** Where a worker was at time `at` (ms): interpolated between fixes; null before the first fix, after the last, or in a gap longer than GAP_S. */
export function positionAt(track: PreparedTrack, at: number): { lon: number; lat: number; outside: boolean } | null {
  const { t } = track
  const n = t.length
  if (n === 0 || at < t[0]! || at > t[n - 1]!) return null
  let lo = 0
  let hi = n - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (t[mid]! <= at) lo = mid
    else hi = mid
  }
  if (t[lo] === at || n === 1) return { lon: track.lon[lo]!, lat: track.lat[lo]!, outside: track.outside[lo] === 1 }
  const dt = t[hi]! - t[lo]!
  if (dt > GAP_S * 1000) return null
  const u = dt > 0 ? (at - t[lo]!) / dt : 0
  return {
    lon: track.lon[lo]! + u * (track.lon[hi]! - track.lon[lo]!),
    lat: track.lat[lo]! + u * (track.lat[hi]! - track.lat[lo]!),
    outside: track.outside[lo] === 1,
  }
}

/** The time all replayed tracks share: from the earliest fix to the latest; null when none has a fix. */
export function timeline(tracks: readonly PreparedTrack[]): { start: number; end: number } | null {
  let start = Infinity
  let end = -Infinity
  for (const tr of tracks) {
    if (!tr.t.length) continue
    start = Math.min(start, tr.t[0]!)
    end = Math.max(end, tr.t[tr.t.length - 1]!)
  }
  return Number.isFinite(start) ? { start, end } : null
}

/** The server's stops that lasted at least `minMinutes`. */
export function stopsAtLeast<S extends { durationS: number }>(stops: readonly S[], minMinutes: number): S[] {
  return stops.filter((s) => s.durationS >= minMinutes * 60)
}

/** Stop lengths offered (minutes); the server finds stops of 3 minutes or more (STOP_MIN_S). */
export const STOP_CHOICES = [3, 5, 10, 15, 30] as const
/** Replay speeds offered. */
export const SPEEDS = [1, 5, 10, 30, 60] as const

/**
 * The replay clock: time runs at `speed` × real time while playing and stops at the end.
 * `tick(realMs)` advances it by a frame's real duration (the component calls it from
 * requestAnimationFrame); `seek` jumps, clamped to the range.
 */
export class PlaybackClock {
  time: number
  speed = 1
  playing = false

  constructor(
    public start: number,
    public end: number,
  ) {
    this.time = start
  }

  /** Advances by `realMs` of wall time; returns true when the time changed. */
  tick(realMs: number): boolean {
    if (!this.playing || realMs <= 0) return false
    const before = this.time
    this.time = Math.min(this.end, this.time + realMs * this.speed)
    if (this.time >= this.end) this.playing = false
    return this.time !== before
  }

  seek(t: number): void {
    this.time = Math.max(this.start, Math.min(this.end, t))
  }

  /** Plays from the start again when at the end. */
  play(): void {
    if (this.time >= this.end) this.time = this.start
    this.playing = this.end > this.start
  }

  pause(): void {
    this.playing = false
  }

  /** Where the clock is, 0 … 1. */
  get progress(): number {
    return this.end > this.start ? (this.time - this.start) / (this.end - this.start) : 0
  }
}

/** Colours per worker (index in the selection), and the out-of-grid colour shared by all. */
export const WORKER_COLORS: readonly [number, number, number][] = [
  [34, 211, 238],
  [163, 230, 53],
  [250, 204, 21],
  [192, 132, 252],
  [96, 165, 250],
  [52, 211, 153],
]
export const OUTSIDE_COLOR: [number, number, number] = [239, 68, 68]

export function workerColor(index: number): [number, number, number] {
  return WORKER_COLORS[((index % WORKER_COLORS.length) + WORKER_COLORS.length) % WORKER_COLORS.length]!
}

/** Seconds as "1 h 05 min" / "12 min 30 s" / "45 s" (units from the caller for i18n). */
export function formatDuration(s: number, units: { h: string; min: string; s: string }): string {
  const total = Math.max(0, Math.round(s))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const sec = total % 60
  if (h > 0) return `${h} ${units.h} ${String(m).padStart(2, '0')} ${units.min}`
  if (m > 0) return `${m} ${units.min}${sec ? ` ${String(sec).padStart(2, '0')} ${units.s}` : ''}`
  return `${sec} ${units.s}`
}

/** Metres as "850 m" / "12.35 km". */
export function formatDistance(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(2)} km` : `${Math.round(m)} m`
}

/** A `<input type="datetime-local">` value (local time, minutes) for an epoch ms, and back. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

export function fromLocalInput(v: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return null
  const t = new Date(v).getTime()
  return Number.isFinite(t) ? t : null
}

/** The ranges offered: today so far, yesterday, the last 24 h (local days). */
export type RangePreset = 'today' | 'yesterday' | 'last24h'

export function presetRange(preset: RangePreset, now = Date.now()): { from: number; to: number } {
  const d = new Date(now)
  const midnight = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
  switch (preset) {
    case 'today':
      return { from: midnight, to: now }
    case 'yesterday': {
      const y = new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1).getTime()
      return { from: y, to: midnight }
    }
    case 'last24h':
      return { from: now - 86_400_000, to: now }
  }
}
