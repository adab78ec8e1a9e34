/**
 * The seat's feature cards: what `GET /api/features/:layer/:id` answers for each clickable catalog
 * layer (the layer's `card` names the kind). Shared by the server and the web (import type only).
 * Every list is bounded; counts are exact. Personal data of residents never appears here: a
 * building card gives counts only; workers' phones are work phones (staff, not residents).
 */
import type { CaseSummary } from '../cases/types.ts'

export type CardKind = 'grid' | 'admin_unit' | 'building' | 'part' | 'key_place' | 'sensor' | 'camera' | 'worker' | 'case'

/** One level of the admin hierarchy (district 6 digits, street 9, community 12, grid 15). */
export interface UnitRef {
  code: string
  name: string
  level: 'district' | 'street' | 'community' | 'grid'
}

export interface TeamMember {
  workerId: number
  code: string
  name: string
  role: 'grid_leader' | 'grid_worker' | 'supervisor'
  phone: string | null
  dutyStatus: 'on_duty' | 'off_duty' | 'busy' | 'leave'
}

/** A case as a line in a card (the full case: GET /api/cases/:id). */
export interface CaseLine {
  id: number
  code: string
  stage: string
  categoryCode: string
  description: string
  reportedAt: string
  deadlineAt: string | null
}

interface CardBase {
  kind: CardKind
  /** Catalog layer id the feature was picked on. */
  layer: string
  /** The feature id in that layer (the MVT feature id). */
  id: number
  /** WGS84 point to centre on / ask `around` at (a polygon's label point). */
  lon: number
  lat: number
  /** The hierarchy above the feature, top first (district → … → its grid). */
  path: UnitRef[]
}

export interface GridCard extends CardBase {
  kind: 'grid'
  code: string
  name: string
  areaM2: number
  team: TeamMember[]
  partyBranch: { name: string; secretary: string } | null
  houses: { total: number; byUse: Record<string, number>; rental: number }
  people: { total: number; byCategory: Record<string, number> }
  /** Parts by class (4-digit class code), most numerous first. */
  parts: { classCode: string; name: string; count: number }[]
  sensors: { online: number; offline: number; alarm: number }
  cameras: { online: number; offline: number; fault: number }
  openCases: { total: number; items: CaseLine[] }
}

export interface AdminUnitCard extends CardBase {
  kind: 'admin_unit'
  code: string
  name: string
  level: 'district' | 'street' | 'community'
  grids: number
  openCases: { total: number; items: CaseLine[] }
}

export interface BuildingCard extends CardBase {
  kind: 'building'
  name: string | null
  address: string | null
  use: string | null
  heightM: number
  heightEstimated: boolean
  levels: number | null
  gridCode: string | null
  houses: { total: number; byUse: Record<string, number> }
  /** Counts only: residents' names, ID and phone numbers are not on the card. */
  residents: { total: number; byCategory: Record<string, number> }
}

export interface DeptRef {
  id: number
  name: string
  phone: string | null
}

export interface PartCard extends CardBase {
  kind: 'part'
  code: string
  name: string
  classCode: string
  className: string
  majorName: string
  owner: DeptRef | null
  maintainer: DeptRef | null
  propertyUnit: string | null
  state: 'intact' | 'damaged' | 'lost' | 'occupied'
  gridCode: string | null
  cases: CaseLine[]
}

export interface KeyPlaceCard extends CardBase {
  kind: 'key_place'
  name: string
  placeKind: string
  riskColor: string
  gridCode: string | null
}

export interface SensorCard extends CardBase {
  kind: 'sensor'
  code: string
  name: string
  type: string
  unit: string
  status: 'online' | 'offline' | 'alarm'
  lastValue: number | null
  lastSeen: string | null
  /** As stored (e.g. { warn, alarm } or { min, max }); the chart draws them as lines. */
  thresholds: Record<string, number>
  /** The last 24 h of readings, oldest first, at most 500 (evenly thinned). */
  readings: { ts: string; value: number }[]
  /** Newest first, at most 20. */
  alarms: { id: number; kind: string; status: string; raisedAt: string; value: number | null; caseId: number | null }[]
  gridCode: string | null
}

export interface CameraCard extends CardBase {
  kind: 'camera'
  code: string
  name: string
  cameraKind: 'ptz' | 'fixed'
  headingDeg: number
  fovDeg: number
  rangeM: number
  status: 'online' | 'offline' | 'fault'
  /** What the browser plays through hls.js: a real camera's stream, or OneGrid's own demo loop. */
  streamUrl: string | null
  /** true when streamUrl is OneGrid's simulated test-pattern loop (labelled so in the UI). */
  simulated: boolean
  /** PTZ buttons are shown only when true (kind ptz and online). */
  ptz: boolean
  gridCode: string | null
}

export interface WorkerCard extends CardBase {
  kind: 'worker'
  code: string
  name: string
  role: string
  phone: string | null
  dutyStatus: 'on_duty' | 'off_duty' | 'busy' | 'leave'
  lastSeen: string | null
  gridCode: string | null
  department: DeptRef | null
  /** Open cases assigned to the worker. */
  tasks: CaseLine[]
  /** Today's (local day) track summary; the points: GET /api/workers/:id/track. */
  today: { points: number; distanceM: number; patrolS: number }
}

export interface CaseCard extends CardBase {
  kind: 'case'
  case: CaseSummary
}

export type FeatureCard = GridCard | AdminUnitCard | BuildingCard | PartCard | KeyPlaceCard | SensorCard | CameraCard | WorkerCard | CaseCard

/** POST /api/cameras/:id/ptz body: a relative turn (degrees, + = clockwise) — the demo PTZ. */
export interface PtzRequest {
  pan: number
}
