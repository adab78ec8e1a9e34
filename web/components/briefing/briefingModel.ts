/**
 * The incident briefing, the pure part (unit-tested in tests/unit/briefing-model.test.ts): the
 * scenes and the presenter's keys, the outcome's figures (durations against the deadlines that
 * were in force, read from the record as docs/indicators.md reads them), the lessons text, and
 * the after-action replay's events and speeds.
 */

/** The scenes, in order: what and where, who owns it and who is around, what was done, where it stands now, outcome and lessons. */
export const SCENES = ['what', 'who', 'done', 'now', 'outcome'] as const
export type SceneId = (typeof SCENES)[number]
export const SCENE_COUNT = SCENES.length

/** A scene index (0-based) within [0, count − 1]; anything not a whole number → 0. */
export function clampScene(n: unknown, count = SCENE_COUNT): number {
  const v = typeof n === 'string' && n.trim() !== '' ? Number(n) : n
  if (typeof v !== 'number' || !Number.isInteger(v)) return 0
  return Math.max(0, Math.min(count - 1, v))
}

export type PresenterCommand = 'next' | 'prev' | 'first' | 'last' | 'replay' | 'style' | 'auto'

/** What a key does on the presenter's page; null: nothing (a key with Ctrl/Alt/Meta, or typed into a field). */
export function presenterCommand(e: { key: string; ctrlKey?: boolean; altKey?: boolean; metaKey?: boolean }, typing = false): PresenterCommand | null {
  if (typing || e.ctrlKey || e.altKey || e.metaKey) return null
  switch (e.key) {
    // A presentation clicker sends PageDown / PageUp (some send the arrows).
    case 'ArrowRight':
    case 'ArrowDown':
    case 'PageDown':
    case ' ':
    case 'Spacebar':
      return 'next'
    case 'ArrowLeft':
    case 'ArrowUp':
    case 'PageUp':
      return 'prev'
    case 'Home':
      return 'first'
    case 'End':
      return 'last'
    case 'r':
    case 'R':
      return 'replay'
    case 'c':
    case 'C':
      return 'style'
    case 'a':
    case 'A':
      return 'auto'
    default:
      return null
  }
}

/** The scene a command leads to (first/last/next/prev; auto-advance stops at the last scene). */
export function stepScene(scene: number, cmd: 'next' | 'prev' | 'first' | 'last', count = SCENE_COUNT): number {
  switch (cmd) {
    case 'next':
      return Math.min(count - 1, scene + 1)
    case 'prev':
      return Math.max(0, scene - 1)
    case 'first':
      return 0
    case 'last':
      return count - 1
  }
}

/** Seconds per scene the auto-advance offers (0: off). */
export const AUTO_CHOICES = [0, 10, 20, 30, 60] as const

/** Map styles the briefing offers: contrast for projectors in a lit room, night for the wall, day. */
export const BRIEFING_STYLES = ['contrast', 'night', 'day'] as const
export type BriefingStyle = (typeof BRIEFING_STYLES)[number]

/* ── the record ─────────────────────────────────────────────────────────────────────────────── */

/** What the figures read of a timeline entry (server TimelineEntry). */
export interface RecordEntry {
  id: number
  action: string
  at: string
  actor: string
  actorName?: string | null
  comment: string | null
  from: string | null
  to: string | null
  payload: Record<string, unknown>
}

/** What the figures read of the case (server CaseSummary). */
export interface RecordCase {
  stage: string
  reportedAt: string
  deadlineAt: string | null
  closedAt: string | null
}

export interface Figure {
  /** dispatch (registration → dispatch), handling (dispatch → handled), check (handled → checked), total (report → closure or now). */
  key: 'dispatch' | 'handling' | 'check' | 'total'
  from: string | null
  to: string | null
  /** to − from (ms); null when either end is missing (not reached yet: `to` null while open). */
  durationMs: number | null
  /** The deadline in force (null: none recorded). */
  deadlineAt: string | null
  /** to ≤ deadline; null when not judged (no deadline, or not reached). */
  onTime: boolean | null
}

export interface Outcome {
  figures: Figure[]
  closed: boolean
  closedAt: string | null
  closedBy: string | null
  /** The evaluation's score 1–5 (the latest evaluate), null without one. */
  satisfaction: number | null
  evaluatedBy: string | null
  reworks: number
  urges: number
  supervises: number
  returns: number
  extensions: number
  extensionHours: number
  /** The lessons text on record: the evaluation's comment, else the closure's; null when the record has none. */
  lessons: string | null
  /** The handling result (the latest handle's outcome). */
  result: string | null
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null)
const latest = (tl: readonly RecordEntry[], action: string): RecordEntry | null => {
  for (let i = tl.length - 1; i >= 0; i--) if (tl[i]!.action === action) return tl[i]!
  return null
}
const indexOfEntry = (tl: readonly RecordEntry[], e: RecordEntry | null): number => (e ? tl.indexOf(e) : -1)

/**
 * The stage deadline in force when the entry at `index` happened: `payload.stageDeadlineAt` of the
 * latest earlier entry that recorded one (docs/indicators.md); undefined when none did (not judged).
 */
export function deadlineInForce(tl: readonly RecordEntry[], index: number): string | null | undefined {
  for (let i = index - 1; i >= 0; i--) {
    const p = tl[i]!.payload
    if (p && Object.hasOwn(p, 'stageDeadlineAt')) {
      const v = p.stageDeadlineAt
      return typeof v === 'string' ? v : null
    }
  }
  return undefined
}

function figure(key: Figure['key'], from: string | null, to: string | null, deadlineAt: string | null): Figure {
  const durationMs = from && to ? Date.parse(to) - Date.parse(from) : null
  const onTime = to && deadlineAt ? Date.parse(to) <= Date.parse(deadlineAt) : null
  return { key, from, to, durationMs, deadlineAt, onTime }
}

const name = (e: RecordEntry | null): string | null => (e ? (e.actorName ?? e.actor) : null)

/**
 * The outcome from the case and its record: each stage's time against the deadline in force (the
 * handling against the case's handling deadline `deadlineAt`, as the on-time disposal indicator
 * judges it), the evaluation, rework and the other interventions, and the lessons text.
 * `now` (ms) ends the total while the case is open.
 */
export function outcomeOf(c: RecordCase, tl: readonly RecordEntry[], now: number): Outcome {
  const closedStages = ['closed', 'evaluated', 'cancelled', 'merged']
  const closed = closedStages.includes(c.stage)
  const register = latest(tl, 'register')
  const dispatch = latest(tl, 'dispatch')
  const handle = latest(tl, 'handle')
  const check = latest(tl, 'check_pass')
  const close = latest(tl, 'close') ?? latest(tl, 'cancel') ?? latest(tl, 'merge')
  const evaluate = latest(tl, 'evaluate')

  const dispatchDue = dispatch ? deadlineInForce(tl, indexOfEntry(tl, dispatch)) : undefined
  const checkDue = check ? deadlineInForce(tl, indexOfEntry(tl, check)) : undefined
  const figures: Figure[] = [
    figure('dispatch', register?.at ?? (dispatch ? c.reportedAt : null), dispatch?.at ?? null, dispatchDue ?? null),
    figure('handling', dispatch?.at ?? null, handle?.at ?? null, dispatch ? c.deadlineAt : null),
    figure('check', handle?.at ?? null, check?.at ?? null, checkDue ?? null),
    figure('total', c.reportedAt, closed ? (c.closedAt ?? close?.at ?? null) : new Date(now).toISOString(), null),
  ]
  const count = (a: string) => tl.filter((e) => e.action === a).length
  const hours = tl.filter((e) => e.action === 'approve_extension').reduce((s, e) => s + (typeof e.payload?.hours === 'number' ? e.payload.hours : Number(e.payload?.hours) || 0), 0)
  const score = evaluate?.payload?.satisfaction
  return {
    figures,
    closed,
    closedAt: closed ? (c.closedAt ?? close?.at ?? null) : null,
    closedBy: name(close),
    satisfaction: typeof score === 'number' && score >= 1 && score <= 5 ? score : null,
    evaluatedBy: name(evaluate),
    reworks: count('check_fail'),
    urges: count('urge'),
    supervises: count('supervise'),
    returns: count('return'),
    extensions: count('approve_extension'),
    extensionHours: hours,
    lessons: str(evaluate?.comment) ?? str(close?.comment),
    result: str(handle?.payload?.outcome) ?? str(handle?.comment),
  }
}

/** Photos of the case: every attachment on its record, in order, with the action that brought it. */
export function photosOf(tl: readonly { action: string; at: string; attachments: readonly { id: string }[] }[]): { id: string; action: string; at: string }[] {
  return tl.flatMap((e) => e.attachments.map((a) => ({ id: a.id, action: e.action, at: e.at })))
}

/* ── the after-action replay ────────────────────────────────────────────────────────────────── */

/** A moment of the incident the replay shows when its clock passes it. */
export interface ReplayEvent {
  /** Epoch ms. */
  t: number
  kind: 'action' | 'alarm'
  /** Workflow action name, or the alarm's kind. */
  name: string
  /** Who (action) or which sensor (alarm). */
  who: string
  lon: number | null
  lat: number | null
  /** Stage the action led to (actions). */
  to: string | null
}

/** The record's actions and the incident's alarms as replay events, in time order. */
export function replayEvents(
  tl: readonly (RecordEntry & { lon: number | null; lat: number | null })[],
  alarms: readonly { raisedAt: string; kind: string; name: string; code: string; lon: number; lat: number }[],
): ReplayEvent[] {
  const events: ReplayEvent[] = [
    ...tl.map((e): ReplayEvent => ({ t: Date.parse(e.at), kind: 'action', name: e.action, who: e.actorName ?? e.actor, lon: e.lon, lat: e.lat, to: e.to })),
    ...alarms.map((a): ReplayEvent => ({ t: Date.parse(a.raisedAt), kind: 'alarm', name: a.kind, who: a.name || a.code, lon: a.lon, lat: a.lat, to: null })),
  ]
  return events.filter((e) => Number.isFinite(e.t)).sort((a, b) => a.t - b.t || (a.kind === b.kind ? 0 : a.kind === 'alarm' ? -1 : 1))
}

/** How many events have happened by time `t` (events sorted by time). */
export function eventsUntil(events: readonly { t: number }[], t: number): number {
  let lo = 0
  let hi = events.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (events[mid]!.t <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Replay speeds offered (× real time): an incident of minutes to days. */
export const REPLAY_SPEEDS = [10, 30, 60, 300, 900, 3600] as const
/** The replay aims to run through the span in about this long at the default speed. */
export const REPLAY_TARGET_S = 60

/** The slowest offered speed that plays the span within REPLAY_TARGET_S (the fastest when none does). */
export function defaultSpeed(spanMs: number): number {
  for (const s of REPLAY_SPEEDS) if (spanMs / s <= REPLAY_TARGET_S * 1000) return s
  return REPLAY_SPEEDS[REPLAY_SPEEDS.length - 1]!
}
