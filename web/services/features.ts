/**
 * What the dispatch seat (/seat) asks the server: the card of a clicked feature
 * (GET /api/features/:layer/:id, server/features/types.ts), the case queue (GET /api/cases), the
 * dispatch recommendation, acknowledging an alarm, turning a PTZ camera, and a worker's track.
 * Workflow actions go through web/services/cases.ts `act()`.
 */
import type { CaseSummary } from '../../server/cases/types.ts'
import type { Recommendation, WorkerRecommendation, ResponsibleDepartment } from '../../server/cases/service.ts'
import type { FeatureCard, PtzRequest } from '../../server/features/types.ts'
import { apiFetch } from './http.ts'

export type { Recommendation, WorkerRecommendation, ResponsibleDepartment }
export type {
  AdminUnitCard, BuildingCard, CameraCard, CardKind, CaseCard, CaseLine, DeptRef, FeatureCard, GridCard, KeyPlaceCard, PartCard,
  SensorCard, TeamMember, UnitRef, WorkerCard,
} from '../../server/features/types.ts'

/** `GET /api/features/:layer/:id`: the card of one feature of a clickable catalog layer. */
export function fetchFeatureCard(layer: string, id: number): Promise<FeatureCard> {
  return apiFetch<FeatureCard>(`/api/features/${encodeURIComponent(layer)}/${id}`)
}

/** The queue's filters (each empty/undefined = any). */
export interface QueueFilters {
  /** Stages (several = any of them); empty: the open stages. */
  stages: string[]
  category: string
  source: string
  /** A grid or admin code (6–15 digits): the cases in it. */
  grid: string
  /** Code or address contains this. */
  q: string
}

/** The stages a queue shows when no stage is chosen: every open one. */
export const QUEUE_OPEN_STAGES = ['reported', 'accepted', 'verified', 'registered', 'dispatched', 'in_progress', 'handled', 'checked'] as const

/** How many cases one queue page shows (the server answers at most 500). */
export const QUEUE_LIMIT = 200

/**
 * The query string of GET /api/cases for these filters (the server sorts by the stage's deadline,
 * least time left first). A grid that is not 6–15 digits is left out (the server would answer 400).
 */
export function queueQuery(f: QueueFilters, limit = QUEUE_LIMIT): string {
  const p = new URLSearchParams()
  p.set('stage', (f.stages.length ? f.stages : QUEUE_OPEN_STAGES).join(','))
  if (f.category.trim()) p.set('category', f.category.trim())
  if (f.source.trim()) p.set('source', f.source.trim())
  if (/^\d{6,15}$/.test(f.grid.trim())) p.set('grid', f.grid.trim())
  if (f.q.trim()) p.set('q', f.q.trim().slice(0, 100))
  p.set('limit', String(limit))
  return p.toString()
}

/** `GET /api/cases?…`: the queue in the asker's scope, least time left first. */
export function fetchQueue(f: QueueFilters, limit = QUEUE_LIMIT): Promise<{ items: CaseSummary[]; total: number }> {
  return apiFetch<{ items: CaseSummary[]; total: number }>(`/api/cases?${queueQuery(f, limit)}`)
}

/** `GET /api/cases/:id/recommendation`: the responsible department and the workers ranked with reasons. */
export function fetchRecommendation(caseId: number): Promise<Recommendation & { deadlineAt?: string | null }> {
  return apiFetch<Recommendation & { deadlineAt?: string | null }>(`/api/cases/${caseId}/recommendation`)
}

/** `POST /api/alarms/:id/ack`. 409 when it was acknowledged meanwhile. */
export function ackAlarm(id: number, comment?: string): Promise<unknown> {
  return apiFetch(`/api/alarms/${id}/ack`, { method: 'POST', json: comment ? { comment } : {} })
}

/** `POST /api/cameras/:id/ptz {pan}`: turns a PTZ camera by `pan` degrees (+ clockwise); answers the camera's card. */
export function turnCamera(id: number, pan: number): Promise<FeatureCard> {
  const body: PtzRequest = { pan }
  return apiFetch<FeatureCard>(`/api/cameras/${id}/ptz`, { method: 'POST', json: body })
}

/** One worker's track between two times (GET /api/workers/:id/track). */
export interface WorkerTrack {
  workerId: number
  points: { ts: string; lon: number; lat: number }[]
  distanceM: number
  patrolS: number
  outOfGridS: number
}

export function fetchTrack(workerId: number, from: Date, to: Date): Promise<WorkerTrack> {
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() })
  return apiFetch<WorkerTrack>(`/api/workers/${workerId}/track?${q.toString()}`)
}

/** The thumbnail and the full photo of an uploaded attachment (GET /api/cases/attachments/:id). */
export function attachmentUrls(id: string): { url: string; thumbUrl: string } {
  const e = encodeURIComponent(id)
  return { url: `/api/cases/attachments/${e}`, thumbUrl: `/api/cases/attachments/${e}/thumb` }
}
