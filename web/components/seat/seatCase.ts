/**
 * The case workflow's conditions beyond the stage (server/cases/workflow.ts `Guard`), judged from
 * the case's timeline the way the server judges them from its record, so the seat offers only
 * the actions that will succeed now (the server's allowedActions looks at stage and duties only).
 * Pure; unit-tested in tests/unit/seat-case.test.ts.
 */

export interface TimelineLike {
  action: string
}

/** The case's record as the guards see it. */
export interface GuardState {
  /** A request_extension without an approve/reject after it. */
  extensionPending: boolean
  /** A suspend without a resume after it. */
  suspended: boolean
  /** Dispatched (to a worker), not yet acknowledged (ack_dispatch or start after the latest dispatch). */
  acked: boolean
}

export function guardState(timeline: readonly TimelineLike[]): GuardState {
  let extensionPending = false
  let suspended = false
  let acked = false
  for (const e of timeline) {
    switch (e.action) {
      case 'request_extension':
        extensionPending = true
        break
      case 'approve_extension':
      case 'reject_extension':
        extensionPending = false
        break
      case 'suspend':
        suspended = true
        break
      case 'resume':
        suspended = false
        break
      case 'dispatch':
        acked = false
        break
      case 'ack_dispatch':
      case 'start':
        acked = true
        break
    }
  }
  return { extensionPending, suspended, acked }
}

/** Whether every guard of an action holds for a case with this timeline (unknown guards hold: the server decides). */
export function guardsHold(guards: readonly string[], timeline: readonly TimelineLike[]): boolean {
  if (guards.length === 0) return true
  const s = guardState(timeline)
  return guards.every((g) => {
    switch (g) {
      case 'extension_pending':
        return s.extensionPending
      case 'no_extension_pending':
        return !s.extensionPending
      case 'suspended':
        return s.suspended
      case 'not_suspended':
        return !s.suspended
      case 'not_acked':
        return !s.acked
      default:
        return true
    }
  })
}
