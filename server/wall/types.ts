/**
 * What the wall's panels show, in one answer (GET /api/wall/summary), within the caller's scope.
 * Shared by server (server/wall/summary.ts) and web (web/services/wall.ts): the wall's e2e test
 * compares every number on screen with this answer.
 */
import type { DomainEvent } from '../realtime/events.ts'
import type { Ratio } from '../stats/indicators.ts'

/** One bar or slice: a stage, source or category code, with a name where the database has one. */
export interface WallCount {
  key: string
  /** Category names come from case_categories; stages and sources are named by the web (i18n). */
  name: string | null
  count: number
}

export interface WallRates {
  /** Local dates (ONEGRID_TZ), `to` included: the same period GET /api/stats/indicators?from&to gives. */
  from: string
  to: string
  closure: Ratio
  onTimeClosure: Ratio
}

export interface WallSensorType {
  /** sensor_types code (smoke, gas, noise, …). */
  type: string
  online: number
  offline: number
  /** Sensors with an open (unresolved) alarm, or in the status `alarm` (red on the map); they also count in online or offline. */
  alarm: number
}

export interface WallTopGrid {
  code: string
  name: string | null
  open: number
  overdue: number
}

export interface WallSummary {
  /** When this was computed (ISO) and the local day "today" means (YYYY-MM-DD, ONEGRID_TZ). */
  at: string
  day: string
  cases: {
    /** Cases reported today (local day), by stage now, by source, by category (largest first). */
    today: { reported: number; byStage: WallCount[]; bySource: WallCount[]; byCategory: WallCount[] }
    /** Cases open now (not closed, evaluated, cancelled or merged), and how many of them are overdue. */
    open: number
    overdue: number
  }
  /** Closure and on-time closure over the last 7 and 30 local days (today included), from the indicators. */
  rates: { days7: WallRates; days30: WallRates }
  sensors: { total: { online: number; offline: number; alarm: number }; byType: WallSensorType[] }
  /** offDuty: off duty or on leave; outOfGrid: as the geofence and the map judge it (worker_map.out_of_grid). */
  workers: { total: number; onDuty: number; busy: number; offDuty: number; outOfGrid: number }
  /** open: not resolved; unacked: of those, not acknowledged either. */
  alarms: { open: number; unacked: number }
  /** The grids with the most open cases (at most 5, most first). */
  topGrids: WallTopGrid[]
  /** The latest events for the ticker (alarm:raised, alarm:acked, alarm:resolved, case:created, case:changed, worker:out_of_grid, worker:back_in_grid), newest first, at most 30. */
  recent: DomainEvent[]
}

/** GET /api/wall/live?bbox=w,s,e,n — what the wall's live overlays start from (events keep it current). */
export interface WallLiveCase {
  id: number
  code: string
  stage: string
  urgency: string
  categoryCode: string
  lon: number
  lat: number
  reportedAt: string
  /** The running stage's clock (for the SLA countdown ring); null when the stage has no limit. */
  stageStartedAt: string | null
  stageDeadlineAt: string | null
  overdue: boolean
}
export interface WallLiveAlarm {
  id: number
  sensorId: number
  code: string
  name: string
  sensorType: string
  kind: string
  lon: number
  lat: number
  raisedAt: string
  acked: boolean
}
export interface WallLiveWorker {
  id: number
  code: string
  name: string
  lon: number
  lat: number
  dutyStatus: string
  outOfGrid: boolean
  /** Time of the last fix; null when none. */
  ts: string | null
}
export interface WallLive {
  at: string
  /** Open cases in the box and scope (at most 5000, most urgent and oldest first). */
  cases: WallLiveCase[]
  /** Alarms not resolved, in the box and scope (at most 2000, latest raised first). */
  alarms: WallLiveAlarm[]
  /** Workers on duty or busy with a known position, in the box and scope (at most 5000). */
  workers: WallLiveWorker[]
}
