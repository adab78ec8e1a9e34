/**
 * The case workflow's public types: what callers of CaseService (routes, Open311, the field page,
 * alarms) pass and get back. Stages, actions and duties are defined in workflow.ts; these are the
 * shapes only, so a caller can code against them without the service.
 */
import type { Actor } from '../auth/sessions.ts'

export const STAGES = [
  'reported', 'accepted', 'verified', 'registered', 'cancelled', 'dispatched', 'in_progress',
  'handled', 'checked', 'closed', 'evaluated', 'merged',
] as const
export type Stage = (typeof STAGES)[number]

export const SOURCES = ['patrol', 'public', 'hotline', 'sensor', 'video', 'assigned'] as const
export type CaseSource = (typeof SOURCES)[number]

export const URGENCIES = ['normal', 'urgent', 'critical'] as const
export type Urgency = (typeof URGENCIES)[number]

/** Workflow duties a user may hold (users.duties). */
export const DUTIES = ['acceptor', 'shift_leader', 'dispatcher', 'handler', 'supervisor', 'leader', 'reporter'] as const
export type Duty = (typeof DUTIES)[number]

/** A reference to an uploaded file (photo) kept with a case or an action. */
export interface AttachmentRef {
  /** The stored file's id/name as the upload endpoint returned it. */
  id: string
  /** MIME type checked from the content. */
  type?: string
  name?: string
}

/**
 * Input of `CaseService.report(input, reporter)`. Give the place as lon/lat (WGS84) or as an
 * address (then lon/lat are required anyway unless a geocoder resolves it — the service answers
 * 422 "location needed" without a point). `reporterText` is who reported it as shown on the case
 * (a citizen's name/contact, a sensor code); the acting user is the `reporter` argument.
 */
export interface ReportInput {
  categoryCode: string
  source: CaseSource
  description: string
  lon?: number
  lat?: number
  address?: string
  reporterText?: string
  urgency?: Urgency
  attachments?: AttachmentRef[]
  /** A retried report with the same key (per reporting user) returns the first case instead of a second. */
  idempotencyKey?: string
}

/**
 * Who reports. A signed-in user (Actor) — a supervisor's report starts verified — or the
 * system on behalf of an outside channel (Open311, sensors): `{ system: 'open311' }`.
 */
export type Reporter = Actor | { system: string }

/** The case as the workflow API returns it. */
export interface CaseSummary {
  id: number
  code: string
  stage: Stage
  version: number
  categoryCode: string
  source: CaseSource
  urgency: Urgency
  description: string
  address: string | null
  gridCode: string | null
  communityCode: string | null
  streetCode: string | null
  districtCode: string | null
  departmentId: number | null
  workerId: number | null
  reporter: string | null
  lon: number
  lat: number
  reportedAt: string
  stageStartedAt: string | null
  stageDeadlineAt: string | null
  deadlineAt: string | null
  closedAt: string | null
  slaLevel: string | null
}

/** Output of `report`: the new (or, for a repeated idempotency key, the earlier) case. */
export interface ReportResult {
  case: CaseSummary
  /** false when an earlier report with the same idempotency key is returned. */
  created: boolean
}

/** Fields an action may carry (which ones it needs: workflow.ts). */
export interface ActInput {
  /** The version the client saw; a different current version answers 409. */
  version: number
  comment?: string
  lon?: number
  lat?: number
  idempotencyKey?: string
  attachments?: AttachmentRef[]
  reason?: string
  satisfaction?: number
  workerId?: number
  departmentId?: number
  targetCaseId?: number
  hours?: number
  outcome?: string
  /** dispatch: the handling deadline (ISO 8601); by default the category's limit. In the past: 422. */
  deadlineAt?: string
  /** rework target of check_fail: back to 'dispatched' or 'in_progress' (default in_progress). */
  reworkTo?: 'dispatched' | 'in_progress'
}

export interface ActResult {
  case: CaseSummary
  actionId: number
  /** true when a retried idempotency key returned the stored result without acting again. */
  replayed: boolean
}

export interface TimelineEntry {
  id: number
  action: string
  /** The acting user's username ('system' for the server's own entries). */
  actor: string
  /** Their display name (null when no user has that username, e.g. 'system'). */
  actorName: string | null
  role: string | null
  at: string
  lon: number | null
  lat: number | null
  comment: string | null
  attachments: AttachmentRef[]
  from: string | null
  to: string | null
  payload: Record<string, unknown>
}
