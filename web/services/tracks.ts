/**
 * Track playback (TrackPlayback.vue): a worker's track between two times and the day's patrol
 * figures (server/positions/routes.ts), who was in a grid between two times, and the workers in
 * the map's view to pick from (OGC API Features, within the asker's scope).
 */
import { apiFetch } from './http.ts'
import type { TrackAnswer } from '../map/playback.ts'

export type { TrackAnswer }

/** GET /api/workers/:id/patrol?day=: one local day (the server's time zone). */
export interface PatrolAnswer {
  workerId: number
  code: string
  name: string
  day: string
  from: string
  to: string
  distanceM: number
  patrolS: number
  outOfGridS: number
  stops: number
}

/** GET /api/grids/:code/presence: who was in the grid, and when. */
export interface PresenceRow {
  workerId: number
  code: string
  name: string
  intervals: { from: string; to: string }[]
}

/** A worker to pick for replay. */
export interface WorkerRef {
  id: number
  code: string
  name: string
  dutyStatus: string
}

const range = (from: number, to: number) => new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() }).toString()

/** The track in [from, to) (epoch ms). */
export function fetchWorkerTrack(workerId: number, from: number, to: number, init: RequestInit = {}): Promise<TrackAnswer> {
  return apiFetch<TrackAnswer>(`/api/workers/${workerId}/track?${range(from, to)}`, init)
}

/** The patrol figures of one day (YYYY-MM-DD; undefined: the server's today, in its time zone). */
export function fetchPatrol(workerId: number, day: string | undefined, init: RequestInit = {}): Promise<PatrolAnswer> {
  return apiFetch<PatrolAnswer>(`/api/workers/${workerId}/patrol${day ? `?day=${encodeURIComponent(day)}` : ''}`, init)
}

export function fetchPresence(gridCode: string, from: number, to: number, init: RequestInit = {}): Promise<PresenceRow[]> {
  return apiFetch<PresenceRow[]>(`/api/grids/${encodeURIComponent(gridCode)}/presence?${range(from, to)}`, init)
}

/** Workers in a box [w, s, e, n] (at most `limit`), by code. */
export async function fetchWorkersIn(bbox: [number, number, number, number], limit = 200, init: RequestInit = {}): Promise<WorkerRef[]> {
  const b = bbox.map((v) => v.toFixed(6)).join(',')
  const fc = await apiFetch<{ features?: { id?: number | string; properties?: Record<string, unknown> }[] }>(
    `/ogc/collections/workers/items?bbox=${b}&limit=${limit}`,
    init,
  )
  return (fc.features ?? [])
    .map((f) => ({
      id: Number(f.properties?.id ?? f.id),
      code: String(f.properties?.code ?? ''),
      name: String(f.properties?.name ?? ''),
      dutyStatus: String(f.properties?.duty_status ?? ''),
    }))
    .filter((w) => Number.isInteger(w.id) && w.id > 0)
    .sort((a, b) => a.code.localeCompare(b.code))
}

/** The local day (YYYY-MM-DD) of an instant. */
export function localDay(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}
