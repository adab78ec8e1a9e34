/**
 * The process's own health for GET /api/health: memory, and how late the event loop runs —
 * what a soak (`npm run soak`, bench/soak.ts) or a monitoring system watches over hours.
 *
 * Event-loop delay comes from perf_hooks' monitorEventLoopDelay: a 10 ms timer whose lateness is
 * recorded in a histogram. The histogram is read and reset every WINDOW_MS, so the answer is the
 * last complete window (p50, p99, max), not a figure that only ever grows since the start; `seq`
 * numbers the windows, so a reader polling more often than that counts each window once. One
 * monitor per process (the event loop is the process's), started by the first app and never
 * keeping the process alive.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

const RESOLUTION_MS = 10
const WINDOW_MS = 10_000

export interface EventLoopWindow {
  /** Windows completed since the monitor started (1 for the first). */
  seq: number
  /** When the window ended. */
  at: string
  /** How long the window actually lasted (WINDOW_MS, more when the loop was held up at its end). */
  windowMs: number
  /** Lateness of the timer in ms (its 10 ms period taken off): median, 99th percentile, worst, mean. */
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
  /** Timer ticks recorded in the window. */
  samples: number
}

export interface ProcessHealth {
  uptimeS: number
  rssMb: number
  heapUsedMb: number
  heapTotalMb: number
  externalMb: number
  /** The last complete window; null during the first WINDOW_MS. */
  eventLoop: EventLoopWindow | null
}

let histogram: IntervalHistogram | null = null
let last: EventLoopWindow | null = null
let seq = 0

const lateMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10)
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10

/** Starts the monitor once per process (later calls do nothing). */
export function startProcessMonitor(): void {
  if (histogram) return
  const h = (histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS }))
  h.enable()
  let from = performance.now()
  setInterval(() => {
    const now = performance.now()
    // No tick recorded (hardly possible while this interval runs): nothing to report, the previous window stays.
    if (h.count > 0) {
      last = { seq: ++seq, at: new Date().toISOString(), windowMs: Math.round(now - from), p50Ms: lateMs(h.percentile(50)), p99Ms: lateMs(h.percentile(99)), maxMs: lateMs(h.max), meanMs: lateMs(h.mean), samples: h.count }
    }
    h.reset()
    from = now
  }, WINDOW_MS).unref()
}

export function processHealth(): ProcessHealth {
  const m = process.memoryUsage()
  return { uptimeS: Math.round(process.uptime()), rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), eventLoop: last }
}
