/**
 * Around this incident (AroundPanel.vue): GET /api/spatial/around (server/spatial/service.ts
 * `Around`), the camera cards the video grid plays (GET /api/features/cameras/:id → CameraCard
 * with its stream), the case asked about (GET /api/cases/:id), and which nearby open cases may
 * be duplicates of it.
 */
import { apiFetch } from './http.ts'

import type { Around, Feature } from '../../server/spatial/service.ts'
import type { CameraCard } from '../../server/features/types.ts'
import type { CaseDetail } from './cases.ts'

export type { Around, CameraCard, CaseDetail, Feature }

/** What CameraVideo plays: a camera card's id, code, name and stream (CameraCard has them all). */
export interface CameraRef {
  id: number
  code: string
  name: string
  streamUrl: string | null
  simulated: boolean
}

/** Radii offered (metres); the API's default is 300. */
export const AROUND_RADII = [100, 300, 500] as const
export type AroundRadius = (typeof AROUND_RADII)[number]

/** Most cameras the panel opens together (a 3×3 grid). */
export const MAX_VIDEOS = 9

/** A nearby open case may duplicate the case asked about when it has the same category, … */
export const DUP_DISTANCE_M = 200
/** … lies within DUP_DISTANCE_M of it and was reported within DUP_WINDOW_H hours of it. */
export const DUP_WINDOW_H = 72

export function fetchAround(lon: number, lat: number, radius: number, init: RequestInit = {}): Promise<Around> {
  const q = new URLSearchParams({ lon: String(lon), lat: String(lat), radius: String(radius) })
  return apiFetch<Around>(`/api/spatial/around?${q.toString()}`, init)
}

/** The camera's card (its stream URL and whether it is OneGrid's simulated loop). */
export function fetchCameraCard(id: number, init: RequestInit = {}): Promise<CameraCard> {
  return apiFetch<CameraCard>(`/api/features/cameras/${id}`, init)
}

export function fetchCaseDetail(id: number, init: RequestInit = {}): Promise<CaseDetail> {
  return apiFetch<CaseDetail>(`/api/cases/${id}`, init)
}

/** What the duplicate test needs of the case asked about. */
export interface DupSubject {
  id: number
  categoryCode: string
  reportedAt: string
  lon: number
  lat: number
}

/** A nearby open case as the panel lists it. */
export interface NearbyCase {
  id: number
  code: string
  categoryCode: string
  stage: string
  description: string
  address: string | null
  reportedAt: string | null
  /** Metres from the asked point (the API's). */
  distanceM: number
  /** Metres from the subject case (null without one). */
  fromSubjectM: number | null
  duplicate: boolean
}

/** Metres between two points (haversine; the duplicate test only needs tens of metres right). */
function metres(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180
  const dLat = (b[1] - a[1]) * rad
  const dLon = (b[0] - a[0]) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)))
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v))

/**
 * The around answer's open cases without the subject itself (nor cases already merged), each flagged as a possible duplicate
 * when it has the subject's category, lies within DUP_DISTANCE_M of it and was reported within
 * DUP_WINDOW_H hours of it. Duplicates first (nearest to the subject first), then the rest by
 * distance as the API ordered them.
 */
export function nearbyCases(openCases: readonly Feature[], subject: DupSubject | null): NearbyCase[] {
  const subjectAt = subject ? Date.parse(subject.reportedAt) : NaN
  const rows = openCases
    .filter((f) => (!subject || f.id !== subject.id) && f.properties.stage !== 'merged')
    .map((f, order): NearbyCase & { order: number } => {
      const p = f.properties
      const reportedAt = p.reported_at == null ? null : new Date(p.reported_at as string).toISOString()
      const fromSubjectM = subject ? Math.round(metres([subject.lon, subject.lat], f.geometry.coordinates) * 10) / 10 : null
      const dt = reportedAt && Number.isFinite(subjectAt) ? Math.abs(Date.parse(reportedAt) - subjectAt) : Infinity
      const duplicate =
        subject !== null && str(p.category_code) === subject.categoryCode && fromSubjectM! <= DUP_DISTANCE_M && dt <= DUP_WINDOW_H * 3_600_000
      return {
        id: f.id,
        code: str(p.code),
        categoryCode: str(p.category_code),
        stage: str(p.stage),
        description: str(p.description),
        address: p.address == null ? null : str(p.address),
        reportedAt,
        distanceM: Number(p.distance_m),
        fromSubjectM,
        duplicate,
        order,
      }
    })
  rows.sort((a, b) => (a.duplicate === b.duplicate ? (a.duplicate ? a.fromSubjectM! - b.fromSubjectM! || a.order - b.order : a.order - b.order) : a.duplicate ? -1 : 1))
  return rows.map(({ order: _order, ...r }) => r)
}

/** The cameras that see the spot (`covers`), nearest first as the API orders them, at most `max`. */
export function coveringCameras(cameras: readonly Feature[], max = MAX_VIDEOS): { shown: Feature[]; more: number } {
  const covering = cameras.filter((c) => c.properties.covers === true)
  return { shown: covering.slice(0, max), more: Math.max(0, covering.length - max) }
}
