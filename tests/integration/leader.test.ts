/**
 * Periodic jobs run on one elected process: the scheduler runs each job every `everyMs` while
 * its process leads, never overlapping itself, counting errors; on PostgreSQL two schedulers
 * compete for one advisory lock — exactly one runs the job, and when the leader stops or its
 * connection drops, the other takes over within a few seconds.
 */
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import { createLogger } from '../../server/log.ts'
import { PgLeader, SoleLeader, type Leader } from '../../server/jobs/leader.ts'
import { Scheduler } from '../../server/jobs/scheduler.ts'

const url = process.env.TEST_DATABASE_URL
if (!url && process.env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set: leader election needs a real PostgreSQL')
if (!url) console.warn('leader: the PostgreSQL part is skipped — set TEST_DATABASE_URL')

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent')
const until = (check: () => boolean | Promise<boolean>, what: string, ms = 15_000) => waitUntil(check, what, ms, 20)

/** A leader the test switches by hand. */
class ManualLeader implements Leader {
  isLeader = false
  start(): void {}
  async stop(): Promise<void> {
    this.isLeader = false
  }
}

const stopping: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stopping.splice(0)) await stop().catch(() => {})
})

describe('Scheduler', () => {
  it('runs a job every everyMs, never overlapping itself, and counts errors without stopping', async () => {
    const s = new Scheduler({ leader: new SoleLeader(), log })
    stopping.push(() => s.stop())
    let active = 0
    let most = 0
    let runs = 0
    s.add({
      name: 'slow',
      everyMs: 20,
      async run() {
        active++
        most = Math.max(most, active)
        await sleep(60)
        active--
        runs++
      },
    })
    let failures = 0
    s.add({
      name: 'failing',
      everyMs: 20,
      async run() {
        failures++
        throw new Error(`failure ${failures}`)
      },
    })
    s.start()
    await until(() => runs >= 4 && failures >= 3, 'runs')
    expect(most).toBe(1)
    const stats = s.stats()
    expect(stats.failing).toMatchObject({ everyMs: 20, running: false })
    expect(stats.failing!.errors).toBeGreaterThanOrEqual(3)
    expect(stats.failing!.lastError).toMatch(/^failure \d+$/)
    expect(stats.slow!.errors).toBe(0)
    expect(stats.slow!.lastRun).not.toBeNull()
    expect(s.isLeader).toBe(true)
    // stop() waits for the run in progress.
    await s.stop()
    const after = runs
    await sleep(150)
    expect(runs).toBe(after)
    expect(active).toBe(0)
  })

  it('runs jobs only while its process leads, and takes them up soon after it becomes leader', async () => {
    const leader = new ManualLeader()
    const s = new Scheduler({ leader, log, clock: () => new Date('2030-01-01T00:00:00Z') })
    stopping.push(() => s.stop())
    const seen: string[] = []
    s.add({ name: 'job', everyMs: 50, run: async (now) => void seen.push(now.toISOString()) })
    s.start()
    await sleep(300)
    expect(seen).toHaveLength(0)
    leader.isLeader = true
    const took = await until(() => seen.length > 0, 'the first run as leader')
    expect(took).toBeLessThan(2_000)
    expect(seen[0]).toBe('2030-01-01T00:00:00.000Z')
    leader.isLeader = false
    await sleep(100)
    const n = seen.length
    await sleep(300)
    expect(seen.length).toBe(n)
  })

  it('refuses two jobs of one name', () => {
    const s = new Scheduler({ leader: new SoleLeader(), log })
    s.add({ name: 'a', everyMs: 1000, run: async () => {} })
    expect(() => s.add({ name: 'a', everyMs: 1000, run: async () => {} })).toThrow(/already scheduled/)
  })
})

describe.skipIf(!url)('PgLeader on PostgreSQL', () => {
  // A key of this run only: other servers on the same database (or another run) hold their own.
  const key = 7_000_000_000 + Math.floor(Math.random() * 1_000_000_000)

  function candidate(name: string) {
    const leader = new PgLeader({ url: url!, log, key, retryMs: 300 })
    const scheduler = new Scheduler({ leader, log })
    const runs: number[] = []
    scheduler.add({ name: `job-${name}`, everyMs: 50, run: async () => void runs.push(Date.now()) })
    stopping.push(() => scheduler.stop())
    return { name, leader, scheduler, runs }
  }

  /** The backend pid holding this run's advisory lock (none: null). */
  async function holder(): Promise<number | null> {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      const { rows } = await c.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
        [key],
      )
      return rows[0]?.pid ?? null
    } finally {
      await c.end()
    }
  }

  it('exactly one of two schedulers runs the job; when it stops, the other takes over within seconds', async () => {
    const a = candidate('a')
    const b = candidate('b')
    a.scheduler.start()
    b.scheduler.start()
    await until(() => a.leader.isLeader || b.leader.isLeader, 'a leader')
    await sleep(1_000)
    expect([a.leader.isLeader, b.leader.isLeader].filter(Boolean)).toHaveLength(1)
    const [first, second] = a.leader.isLeader ? [a, b] : [b, a]
    expect(first.runs.length).toBeGreaterThan(3)
    expect(second.runs).toHaveLength(0)
    expect(await holder()).not.toBeNull()

    const stopped = Date.now()
    await first.scheduler.stop()
    const ranBefore = first.runs.length
    await until(() => second.leader.isLeader && second.runs.length > 0, 'the other to take over', 10_000)
    console.log(`[leader] takeover after the leader stopped: ${Date.now() - stopped} ms`)
    await sleep(300)
    expect(first.runs.length).toBe(ranBefore)
    expect(first.leader.isLeader).toBe(false)
  })

  it('a leader whose connection is dropped stops running jobs until it leads again; one of the two leads again within seconds', async () => {
    const a = candidate('a')
    const b = candidate('b')
    a.scheduler.start()
    await until(() => a.leader.isLeader, 'a to lead')
    b.scheduler.start()
    await sleep(700)
    expect(b.leader.isLeader).toBe(false)
    const pid = await holder()
    expect(pid).not.toBeNull()
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    const dropped = Date.now()
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid])
    } finally {
      await admin.end()
    }
    await until(() => !a.leader.isLeader, 'a to notice it lost the lock', 10_000)
    console.log(`[leader] leadership given up ${Date.now() - dropped} ms after the connection dropped`)
    // Whoever asks first wins the lock again (a, on a new connection, or b); only one of them.
    await until(() => (a.leader.isLeader || b.leader.isLeader), 'a new leader', 10_000)
    console.log(`[leader] a leader again after ${Date.now() - dropped} ms (${a.leader.isLeader ? 'a' : 'b'})`)
    expect([a.leader.isLeader, b.leader.isLeader].filter(Boolean)).toHaveLength(1)
    const next = a.leader.isLeader ? a : b
    const other = next === a ? b : a
    const [nextRuns, otherRuns] = [next.runs.length, other.runs.length]
    await sleep(500)
    expect(next.runs.length).toBeGreaterThan(nextRuns)
    expect(other.runs.length).toBe(otherRuns)
    expect(await holder()).not.toBe(pid)
  })
})
