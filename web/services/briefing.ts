/**
 * The incident briefing's data (web/components/briefing/): the case (GET /api/cases/:id), its record
 * (…/timeline, with the actors' names), what the briefing adds (…/briefing: place names,
 * department, the workers it was dispatched to, the incident's alarms, the replay span —
 * server/cases/briefing.ts) and who and what is around it (GET /api/spatial/around). Each part
 * loads on its own: a briefing shows what it has.
 */
import type { BriefingAlarm, BriefingUnit, BriefingWorker, CaseBriefing } from '../../server/cases/briefing.ts'
import { fetchAround, type Around } from './around.ts'
import { apiFetch } from './http.ts'
import type { CaseDetail, TimelineEntry } from './cases.ts'

export type { Around, BriefingAlarm, BriefingUnit, BriefingWorker, CaseBriefing, CaseDetail, TimelineEntry }

/** Radius (m) of "who and what is around" (the around API's default). */
export const AROUND_RADIUS_M = 300

export function fetchBriefing(caseId: number, init: RequestInit = {}): Promise<CaseBriefing> {
  return apiFetch<CaseBriefing>(`/api/cases/${caseId}/briefing`, init)
}

export function fetchCaseDetail(caseId: number, init: RequestInit = {}): Promise<CaseDetail> {
  return apiFetch<CaseDetail>(`/api/cases/${caseId}`, init)
}

export async function fetchCaseTimeline(caseId: number, init: RequestInit = {}): Promise<TimelineEntry[]> {
  return (await apiFetch<{ actions: TimelineEntry[] }>(`/api/cases/${caseId}/timeline`, init)).actions
}

export function fetchAroundCase(lon: number, lat: number, init: RequestInit = {}): Promise<Around> {
  return fetchAround(lon, lat, AROUND_RADIUS_M, init)
}

/** Everything a briefing shows, as far as it has loaded (null: not yet, or not available). */
export interface BriefingData {
  detail: CaseDetail | null
  timeline: TimelineEntry[]
  briefing: CaseBriefing | null
  around: Around | null
  /** Why `around` is missing (its request failed), else null. */
  aroundError: string | null
}
