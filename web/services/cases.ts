/**
 * Client of the case workflow API (/api/cases…, server/cases/routes.ts) and of the attachment
 * upload (POST /api/cases/attachments), as the field page uses them.
 */
import { ApiError, apiFetch } from './http.ts'

import type { AttachmentRef, CaseSummary, TimelineEntry } from '../../server/cases/types.ts'

// The shapes the server sends, from the server's own declarations.
export type { AttachmentRef, CaseSummary, TimelineEntry }

export interface CaseDetail extends CaseSummary {
  /** The actions the signed-in user may take now (stage × duties). */
  allowedActions: string[]
}

export interface WorkflowAction {
  action: string
  label: { 'zh-CN': string; en: string }
  from: string[]
  duties: string[]
  needs: string[]
}

export interface Workflow {
  stages: { stage: string; label: { 'zh-CN': string; en: string }; previous: string | null }[]
  duties: string[]
  actions: WorkflowAction[]
}

/** Answer of POST /api/cases/attachments. */
export interface UploadedAttachment {
  id: string
  type: string
  size: number
  url: string
  thumbUrl: string
}

/** A category of the Open311 service list (our categories; majors as `group`). */
export interface Category {
  code: string
  name: string
  group: string
}

/** Body of an action (server ActBody); version and idempotencyKey are always sent. */
export interface ActBody {
  version: number
  idempotencyKey: string
  comment?: string
  outcome?: string
  lon?: number
  lat?: number
  attachments?: AttachmentRef[]
}

export interface ReportBody {
  categoryCode: string
  source: 'patrol'
  description: string
  lon: number
  lat: number
  attachments?: AttachmentRef[]
  idempotencyKey: string
}

/** A 409 of an action: the case changed meanwhile; `current` is the case as it is now. */
export class StaleCase extends Error {
  constructor(
    message: string,
    readonly current: CaseSummary | null,
  ) {
    super(message)
    this.name = 'StaleCase'
  }
}

/** A fresh key per user intent: the same key is resent on a retry, so the server acts once. */
export function newIdempotencyKey(): string {
  // randomUUID exists only in secure contexts; a phone on the LAN over plain http has getRandomValues.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** My tasks: open cases dispatched to me (or my department), least time left first. */
export async function fetchMyTasks(): Promise<CaseSummary[]> {
  const body = await apiFetch<{ items: CaseSummary[] }>('/api/cases?mine=1&stage=dispatched,in_progress&limit=200')
  return body.items
}

export function fetchCase(id: number): Promise<CaseDetail> {
  return apiFetch<CaseDetail>(`/api/cases/${id}`)
}

export async function fetchTimeline(id: number): Promise<TimelineEntry[]> {
  return (await apiFetch<{ actions: TimelineEntry[] }>(`/api/cases/${id}/timeline`)).actions
}

export function fetchWorkflow(): Promise<Workflow> {
  return apiFetch<Workflow>('/api/cases/workflow')
}

/** Our categories through the Open311 service list (public, same origin). */
export async function fetchCategories(): Promise<Category[]> {
  const list = await apiFetch<{ service_code: string; service_name: string; group?: string }[]>('/open311/v2/services.json')
  return list.map((s) => ({ code: s.service_code, name: s.service_name, group: s.group ?? '' }))
}

/**
 * POST /api/cases/:id/actions/:action. A 409 (stale version) rejects with StaleCase carrying the
 * current case; other failures with ApiError.
 */
export async function act(id: number, action: string, body: ActBody): Promise<CaseSummary> {
  const lang = document.documentElement.lang
  const res = await fetch(`/api/cases/${id}/actions/${action}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(lang ? { 'Accept-Language': lang } : {}) },
    body: JSON.stringify(body),
  }).catch((cause: unknown) => {
    throw new ApiError(0, 'network_error', cause instanceof Error ? cause.message : String(cause))
  })
  const parsed = (await res.json().catch(() => null)) as
    | { case?: CaseSummary; error?: { code?: string; message?: string }; current?: CaseSummary }
    | null
  if (res.status === 409) throw new StaleCase(parsed?.error?.message ?? 'conflict', parsed?.current ?? null)
  if (!res.ok) throw new ApiError(res.status, parsed?.error?.code ?? `http_${res.status}`, parsed?.error?.message ?? res.statusText)
  return parsed!.case!
}

export async function reportCase(body: ReportBody): Promise<CaseSummary> {
  return (await apiFetch<{ case: CaseSummary }>('/api/cases', { method: 'POST', json: body })).case
}

/** Uploads one photo (multipart field `file`). */
export function uploadPhoto(file: File): Promise<UploadedAttachment> {
  const form = new FormData()
  form.append('file', file, file.name)
  return apiFetch<UploadedAttachment>('/api/cases/attachments', { method: 'POST', body: form })
}

/**
 * Where the map opens without a GPS fix: the middle of the first grid in my scope (OGC API
 * Features answers only inside the asker's scope), or null when there is none.
 */
export async function fetchHomeCenter(): Promise<[number, number] | null> {
  const fc = await apiFetch<{ features?: { geometry?: { coordinates?: unknown } | null }[] }>('/ogc/collections/grids/items?limit=1')
  const points: number[][] = []
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number' && typeof c[1] === 'number') points.push(c as number[])
    else if (Array.isArray(c)) c.forEach(walk)
  }
  walk(fc.features?.[0]?.geometry?.coordinates)
  if (points.length === 0) return null
  const xs = points.map((p) => p[0]!)
  const ys = points.map((p) => p[1]!)
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2]
}
