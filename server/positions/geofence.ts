/**
 * The geofence with hysteresis, as a pure function of a worker's previous fence state and their
 * new fixes (in time order), each with its signed distance to the fence edge (metres, + outside,
 * − inside; PostGIS measures it, service.ts). A worker walking along the edge with GPS jitter
 * does not flicker:
 *
 * - out: a fix more than OUT_M outside, on CONFIRM_FIXES consecutive fixes (one multipath spike in
 *   a street canyon is not an exit); the worker counts as out from the first of those fixes;
 * - back in: one fix more than IN_M inside;
 * - anything in between keeps the state. Fixes less accurate than MAX_ACCURACY_M keep it too.
 */

export const OUT_M = 30
export const IN_M = 10
export const CONFIRM_FIXES = 2
export const MAX_ACCURACY_M = 100

export interface FenceState {
  outside: boolean
  /** When the current state began (ISO 8601). */
  since: string
  /** The last fix judged (ISO 8601); later fixes only are judged. */
  lastFix: string
  /** The first fix of a run beyond OUT_M that is not confirmed yet. */
  pendingSince: string | null
  pendingCount: number
}

export interface FenceFix {
  ts: string
  /** Signed distance to the fence edge in metres: positive outside, negative inside. */
  distanceM: number
  accuracy?: number | null
}

export interface Transition {
  to: 'out' | 'in'
  /** The fix that changed the state (index into the fixes given). */
  index: number
  /** For `out`: the first fix of the confirmed run (the worker has been out since then). */
  since: string
}

export interface Judged {
  state: FenceState
  /** The state after each fix (true: outside), including the run that led to an exit. */
  outside: boolean[]
  transitions: Transition[]
  /** An exit confirmed here whose run began before these fixes: mark the stored fixes from this time on as outside too. */
  outsideSinceBefore: string | null
}

/** Runs the fence over `fixes` (sorted by ts, all after `prev.lastFix`); `prev` null: no state yet (inside until shown otherwise). */
export function judge(prev: FenceState | null, fixes: FenceFix[]): Judged {
  const state: FenceState = prev
    ? { ...prev }
    : { outside: false, since: fixes[0]?.ts ?? new Date(0).toISOString(), lastFix: fixes[0]?.ts ?? new Date(0).toISOString(), pendingSince: null, pendingCount: 0 }
  const outside: boolean[] = []
  const transitions: Transition[] = []
  let outsideSinceBefore: string | null = null
  // Index of the first fix of the pending run among these fixes (-1: it began earlier).
  let pendingStart = -1

  fixes.forEach((fix, i) => {
    state.lastFix = fix.ts
    const usable = fix.accuracy == null || fix.accuracy <= MAX_ACCURACY_M
    if (usable && !state.outside) {
      if (fix.distanceM > OUT_M) {
        if (state.pendingCount === 0) {
          state.pendingSince = fix.ts
          pendingStart = i
        }
        state.pendingCount++
        if (state.pendingCount >= CONFIRM_FIXES) {
          const since = state.pendingSince ?? fix.ts
          transitions.push({ to: 'out', index: i, since })
          if (pendingStart < 0) outsideSinceBefore = since
          for (let k = Math.max(0, pendingStart); k < i; k++) outside[k] = true
          Object.assign(state, { outside: true, since, pendingSince: null, pendingCount: 0 })
        }
      } else {
        state.pendingSince = null
        state.pendingCount = 0
      }
    } else if (usable && state.outside && fix.distanceM < -IN_M) {
      transitions.push({ to: 'in', index: i, since: fix.ts })
      Object.assign(state, { outside: false, since: fix.ts })
    }
    outside[i] = state.outside
  })
  return { state, outside, transitions, outsideSinceBefore }
}
