/**
 * A burst of triggers (socket events) becomes one call: `fn` runs once the triggers have been
 * quiet for `quietMs`, and at least every `maxWaitMs` while they keep coming (the wall's summary
 * and the seat's queue refresh this way).
 */
export interface Coalescer {
  /** Another trigger: (re)start the quiet wait, never past maxWaitMs from the first pending one. */
  schedule(): void
  /** A call is waiting. */
  readonly pending: boolean
  /** Drop the waiting call (on unmount). */
  cancel(): void
}

export function coalescer(fn: () => void, quietMs: number, maxWaitMs: number): Coalescer {
  let timer: ReturnType<typeof setTimeout> | undefined
  let firstPendingAt: number | null = null
  return {
    schedule() {
      const t = Date.now()
      firstPendingAt ??= t
      if (timer !== undefined) clearTimeout(timer)
      const delay = Math.min(quietMs, firstPendingAt + maxWaitMs - t)
      timer = setTimeout(() => {
        timer = undefined
        firstPendingAt = null
        fn()
      }, Math.max(0, delay))
    },
    get pending() {
      return timer !== undefined
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      firstPendingAt = null
    },
  }
}
