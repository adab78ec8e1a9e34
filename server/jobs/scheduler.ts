/**
 * Runs the periodic jobs (offline detection, alarm reminders, deadlines) on the elected leader
 * only (server/jobs/leader.ts): each job every `everyMs`, the next run timed from the end of the
 * last one so a job never overlaps itself. A failing run is logged and counted, and the job runs
 * again at its next turn. Its state is in /api/health.
 */
import type { Logger } from '../log.ts'
import type { Leader } from './leader.ts'
import type { Job } from './types.ts'

export interface JobStats {
  everyMs: number
  runs: number
  errors: number
  running: boolean
  lastRun: string | null
  lastMs: number | null
  lastError: string | null
}

const FOLLOWER_POLL_MS = 1_000

interface Entry {
  job: Job
  stats: JobStats
  timer: NodeJS.Timeout | null
  current: Promise<void> | null
}

export class Scheduler {
  readonly #entries = new Map<string, Entry>()
  readonly #leader: Leader
  readonly #log: Logger
  readonly #clock: () => Date
  #started = false

  constructor(opts: { leader: Leader; log: Logger; clock?: () => Date }) {
    this.#leader = opts.leader
    this.#log = opts.log
    this.#clock = opts.clock ?? (() => new Date())
  }

  get isLeader(): boolean {
    return this.#leader.isLeader
  }

  add(job: Job): this {
    if (this.#entries.has(job.name)) throw new Error(`a job named ${job.name} is already scheduled`)
    if (!(job.everyMs > 0)) throw new Error(`job ${job.name}: everyMs must be positive`)
    const entry: Entry = { job, stats: { everyMs: job.everyMs, runs: 0, errors: 0, running: false, lastRun: null, lastMs: null, lastError: null }, timer: null, current: null }
    this.#entries.set(job.name, entry)
    if (this.#started) this.#schedule(entry)
    return this
  }

  /** Starts the leader election and the job timers. */
  start(): void {
    if (this.#started) return
    this.#started = true
    this.#leader.start()
    for (const e of this.#entries.values()) this.#schedule(e)
  }

  /** A follower looks again soon, so that a new leader takes the jobs up within a second or so. */
  #schedule(e: Entry, delay = e.job.everyMs): void {
    e.timer = setTimeout(() => {
      e.timer = null
      if (!this.#started) return
      if (!this.#leader.isLeader) return this.#schedule(e, Math.min(e.job.everyMs, FOLLOWER_POLL_MS))
      e.current = this.#run(e).finally(() => {
        e.current = null
        if (this.#started) this.#schedule(e)
      })
    }, delay)
  }

  async #run(e: Entry): Promise<void> {
    const started = Date.now()
    e.stats.running = true
    try {
      await e.job.run(this.#clock())
    } catch (err) {
      e.stats.errors++
      e.stats.lastError = (err as Error)?.message ?? String(err)
      this.#log.error({ err, job: e.job.name }, 'periodic job failed')
    } finally {
      e.stats.runs++
      e.stats.running = false
      e.stats.lastRun = new Date(started).toISOString()
      e.stats.lastMs = Date.now() - started
    }
  }

  /** Per job: how often, how many runs and errors, the last run and error. */
  stats(): Record<string, JobStats> {
    return Object.fromEntries([...this.#entries].map(([name, e]) => [name, { ...e.stats }]))
  }

  /** Stops the timers, waits for runs in progress, then gives leadership up. */
  async stop(): Promise<void> {
    this.#started = false
    for (const e of this.#entries.values()) {
      if (e.timer) clearTimeout(e.timer)
      e.timer = null
    }
    await Promise.all([...this.#entries.values()].map((e) => e.current))
    await this.#leader.stop()
  }
}
