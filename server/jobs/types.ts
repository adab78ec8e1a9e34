/**
 * A periodic job (offline detection, alarm reminders, deadlines): run by the scheduler on the
 * one elected leader process only, never overlapping itself.
 */
export interface Job {
  /** Unique, for logs and /api/health. */
  name: string
  /** How often it runs. */
  everyMs: number
  /** One run; `now` is the scheduler's clock (tests may pass their own). Errors are logged, not fatal. */
  run(now: Date): Promise<void>
}
