import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { DomainEvent } from '../../server/realtime/events.ts'
import type { TelemetryItem } from '../../server/realtime/telemetry.ts'
import type { WallLive } from '../../server/wall/types.ts'
import { LiveOverlay, PULSE_MS, TRAIL_MS, TRAIL_POINTS, type BBox } from '../../web/map/liveOverlay.ts'
import { ringIcon, RING_STEPS, slaRing } from '../../web/map/liveLayers.ts'
import { MAX_TILES_PER_ZOOM, tilesTouching, zoomsInView } from '../../web/map/tileInvalidation.ts'

const T0 = Date.parse('2026-11-21T08:00:00Z')
const BOX: BBox = [121.4, 31.2, 121.6, 31.3]

function live(over: Partial<WallLive> = {}): WallLive {
  return {
    at: new Date(T0).toISOString(),
    cases: [
      { id: 1, code: 'C1', stage: 'dispatched', urgency: 'normal', categoryCode: 'road', lon: 121.5, lat: 31.25, reportedAt: '2026-11-21T07:00:00Z', stageStartedAt: '2026-11-21T07:30:00Z', stageDeadlineAt: '2026-11-21T09:30:00Z', overdue: false },
    ],
    alarms: [{ id: 10, sensorId: 5, code: 'S5', name: '烟感 5', sensorType: 'smoke', kind: 'threshold', lon: 121.51, lat: 31.24, raisedAt: '2026-11-21T07:55:00Z', acked: false }],
    workers: [{ id: 7, code: 'W7', name: '张三', lon: 121.5, lat: 31.25, dutyStatus: 'on_duty', outOfGrid: false, ts: '2026-11-21T07:59:50Z' }],
    ...over,
  }
}

let seq = 0
const ev = (type: string, payload: Record<string, unknown>, at = new Date(T0).toISOString()): DomainEvent => ({ seq: ++seq, at, type, scope: '310101002001001', payload })
const fix = (id: number, lon: number, lat: number, ts: number, data: Record<string, unknown> = {}): TelemetryItem => ({ kind: 'worker', id, lon, lat, scope: null, ts: new Date(ts).toISOString(), data })

describe('LiveOverlay', () => {
  let now = T0
  let fetchLive: ReturnType<typeof vi.fn<(b: BBox) => Promise<WallLive>>>
  let fetchCase: ReturnType<typeof vi.fn<(id: number) => Promise<{ id: number; stage: string; stageStartedAt?: string | null; stageDeadlineAt?: string | null; lon?: number; lat?: number } | null>>>
  let o: LiveOverlay

  beforeEach(async () => {
    vi.useFakeTimers()
    now = T0
    fetchLive = vi.fn(async () => live())
    fetchCase = vi.fn(async (id: number) => ({ id, stage: 'registered', stageStartedAt: '2026-11-21T08:00:00Z', stageDeadlineAt: '2026-11-21T12:00:00Z' }))
    o = new LiveOverlay({ fetchLive, fetchCase, debounceMs: 300, now: () => now, onError: () => {} })
    o.setViewport(BOX)
    await vi.advanceTimersByTimeAsync(300)
  })
  afterEach(() => {
    o.dispose()
    vi.useRealTimers()
  })

  it('loads the live answer for the view, debounced, the last box winning', async () => {
    expect(fetchLive).toHaveBeenCalledTimes(1)
    expect(fetchLive).toHaveBeenLastCalledWith(BOX)
    expect(o.cases().map((c) => c.id)).toEqual([1])
    expect(o.alarms().map((a) => a.id)).toEqual([10])
    expect(o.workers(now).map((w) => w.code)).toEqual(['W7'])

    o.setViewport([1, 1, 2, 2])
    o.setViewport([3, 3, 4, 4])
    await vi.advanceTimersByTimeAsync(299)
    expect(fetchLive).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(fetchLive).toHaveBeenCalledTimes(2)
    expect(fetchLive).toHaveBeenLastCalledWith([3, 3, 4, 4])
  })

  it('hands out the same arrays, refilled, and bumps version on every change', () => {
    const cases = o.cases()
    const alarms = o.alarms()
    const v = o.version
    let calls = 0
    const off = o.onChange(() => calls++)
    o.applyEvent(ev('alarm:raised', { id: 11, sensorId: 6, code: 'S6', name: '燃气 6', sensorType: 'gas', kind: 'threshold', value: 30, threshold: 20, unit: '%LEL', raisedAt: '2026-11-21T08:00:00Z', caseId: null, caseCode: null, lon: 121.52, lat: 31.26 }))
    expect(o.version).toBe(v + 1)
    expect(calls).toBe(1)
    expect(o.alarms()).toBe(alarms)
    expect(o.cases()).toBe(cases)
    expect(alarms.map((a) => a.id)).toEqual([10, 11])
    expect(o.alarm(11)).toMatchObject({ value: 30, threshold: 20, unit: '%LEL', acked: false })
    off()
    o.applyEvent(ev('alarm:acked', { id: 11, sensorId: 6, by: 'dispatcher', comment: null, ackedAt: '2026-11-21T08:01:00Z' }))
    expect(calls).toBe(1)
    expect(o.version).toBe(v + 2)
    // acking again changes nothing
    o.applyEvent(ev('alarm:acked', { id: 11 }))
    expect(o.version).toBe(v + 2)
  })

  it('applies alarm events: raised pulses for a while, acked is kept, resolved removes', () => {
    expect(o.pulsing(now)).toBe(false) // loaded alarms were open before: no pulse
    o.applyEvent(ev('alarm:raised', { id: 12, sensorId: 7, code: 'S7', name: 'n', sensorType: 'smoke', kind: 'threshold', value: 1, threshold: 0.5, unit: null, raisedAt: 'x', caseId: null, caseCode: null, lon: 121.5, lat: 31.2 }))
    expect(o.pulsing(now)).toBe(true)
    expect(o.animating(now + PULSE_MS - 1)).toBe(true)
    expect(o.pulsing(now + PULSE_MS)).toBe(false)
    o.applyEvent(ev('alarm:acked', { id: 12 }))
    expect(o.alarm(12)!.acked).toBe(true)
    o.applyEvent(ev('alarm:resolved', { id: 12 }))
    o.applyEvent(ev('alarm:resolved', { id: 10 }))
    expect(o.alarms()).toEqual([])
  })

  it('a reload keeps the pulse of an alarm it still lists', async () => {
    o.applyEvent(ev('alarm:raised', { id: 13, sensorId: 8, code: 'S8', name: 'n', sensorType: 'smoke', kind: 'threshold', value: 1, threshold: 0.5, unit: null, raisedAt: 'x', caseId: null, caseCode: null, lon: 121.5, lat: 31.2 }))
    fetchLive.mockResolvedValueOnce(live({ alarms: [{ id: 13, sensorId: 8, code: 'S8', name: 'n', sensorType: 'smoke', kind: 'threshold', lon: 121.5, lat: 31.2, raisedAt: 'x', acked: false }] }))
    now += 1000
    await o.reload()
    expect(o.alarm(13)!.pulseFrom).toBe(T0)
    expect(o.alarm(13)!.value).toBe(1)
    expect(o.alarm(10)).toBeUndefined()
  })

  it('applies case events: created asks for its clock, changed moves the stage, closing stages remove', async () => {
    o.applyEvent(ev('case:created', { id: 2, code: 'C2', stage: 'reported', category: 'litter', source: 'hotline', urgency: 'urgent', gridCode: 'g', lon: 121.45, lat: 31.22, version: 1, by: 'x' }))
    expect(o.case(2)).toMatchObject({ stage: 'reported', categoryCode: 'litter', urgency: 'urgent', stageDeadlineAt: null })
    await vi.waitFor(() => expect(o.case(2)!.stageDeadlineAt).toBe('2026-11-21T12:00:00Z'))
    expect(fetchCase).toHaveBeenCalledWith(2)

    fetchCase.mockResolvedValueOnce({ id: 1, stage: 'in_progress', stageStartedAt: '2026-11-21T08:05:00Z', stageDeadlineAt: '2026-11-21T10:05:00Z' })
    o.applyEvent(ev('case:changed', { id: 1, code: 'C1', action: 'start', from: 'dispatched', to: 'in_progress', version: 3, by: 'w' }))
    expect(o.case(1)!.stage).toBe('in_progress')
    await vi.waitFor(() => expect(o.case(1)!.stageDeadlineAt).toBe('2026-11-21T10:05:00Z'))

    for (const [id, to] of [[1, 'closed'], [2, 'merged']] as const) o.applyEvent(ev('case:changed', { id, to, from: 'x', action: 'a', version: 9 }))
    expect(o.cases()).toEqual([])
  })

  it('cancelled and evaluated remove too; a case the server no longer shows is dropped', async () => {
    o.applyEvent(ev('case:changed', { id: 1, to: 'cancelled' }))
    expect(o.case(1)).toBeUndefined()
    await o.reload()
    fetchCase.mockResolvedValueOnce(null)
    o.applyEvent(ev('case:changed', { id: 1, to: 'verified' }))
    await vi.waitFor(() => expect(o.case(1)).toBeUndefined())
  })

  it('applies SLA events: overdue and due soon set the deadline, overdue flags the case', () => {
    o.applyEvent(ev('case:due_soon', { id: 1, code: 'C1', stage: 'dispatched', deadline: '2026-11-21T09:00:00Z' }))
    expect(o.case(1)).toMatchObject({ stageDeadlineAt: '2026-11-21T09:00:00Z', overdue: false })
    o.applyEvent(ev('case:overdue', { id: 1, code: 'C1', stage: 'dispatched', deadline: '2026-11-21T09:00:00Z' }))
    expect(o.case(1)!.overdue).toBe(true)
    o.applyEvent(ev('case:level', { id: 1, code: 'C1', level: 'red', from: 'orange' }))
    expect(o.case(1)!.slaLevel).toBe('red')
  })

  it('applies geofence events to the worker', () => {
    o.applyEvent(ev('worker:out_of_grid', { workerId: 7, code: 'W7', name: '张三', gridCode: 'g', lon: 121.5, lat: 31.25, at: 'x', distanceM: 80 }))
    expect(o.workers(now)[0]!.outOfGrid).toBe(true)
    o.applyEvent(ev('worker:back_in_grid', { workerId: 7, code: 'W7', name: '张三', gridCode: 'g', lon: 121.5, lat: 31.25, at: 'x', distanceM: -5 }))
    expect(o.workers(now)[0]!.outOfGrid).toBe(false)
  })

  it('moves a worker smoothly from where it is drawn to its new fix over the time between fixes', () => {
    const fixTs = Date.parse('2026-11-21T07:59:50Z')
    o.applyTelemetry([fix(7, 121.51, 31.25, fixTs + 4000)])
    const w = o.workers(now)[0]!
    expect(w.lon).toBeCloseTo(121.5, 9) // starts where it was
    expect(o.animating(now)).toBe(true)
    now += 2000
    expect(o.workers(now)[0]!.lon).toBeCloseTo(121.505, 9) // half way after half the 4 s
    expect(o.workers(now)[0]).toBe(w) // the same object, moved
    now += 2000
    expect(o.workers(now)[0]!.lon).toBeCloseTo(121.51, 9)
    expect(o.animating(now)).toBe(false)
    // a fix mid-move starts the next move from where the dot is, not from the old fix
    o.applyTelemetry([fix(7, 121.52, 31.25, fixTs + 8000)])
    now += 1000
    o.applyTelemetry([fix(7, 121.53, 31.25, fixTs + 12_000)])
    expect(o.workers(now)[0]!.lon).toBeCloseTo(121.5125, 9)
    // older or repeated fixes are ignored
    const v = o.version
    o.applyTelemetry([fix(7, 121.0, 31.0, fixTs + 5000), fix(7, 121.53, 31.25, fixTs + 12_000)])
    expect(o.version).toBe(v)
  })

  it('keeps a bounded trail: at most TRAIL_POINTS past fixes, none older than TRAIL_MS', () => {
    const start = Date.parse('2026-11-21T07:59:50Z')
    for (let i = 1; i <= TRAIL_POINTS + 15; i++) o.applyTelemetry([fix(7, 121.5 + i * 0.0001, 31.25, start + i * 1000)])
    const w = o.workers(now)[0]!
    expect(w.trail.length).toBe(TRAIL_POINTS)
    // the newest trail point is the fix before the latest
    expect(w.trail[w.trail.length - 1]![0]).toBeCloseTo(121.5 + (TRAIL_POINTS + 14) * 0.0001, 9)
    // a fix almost TRAIL_MS after the last: every point but that last fix ages out
    o.applyTelemetry([fix(7, 121.6, 31.25, start + (TRAIL_POINTS + 15) * 1000 + TRAIL_MS - 500)])
    expect(o.workers(now)[0]!.trail.length).toBe(1)
    expect(o.workers(now)[0]!.trail).toBe(w.trail) // same array
  })

  it('adds a worker first seen in telemetry and drops workers a reload no longer lists', async () => {
    o.applyTelemetry([fix(8, 121.45, 31.22, T0, { outOfGrid: true })])
    expect(o.workers(now).map((w) => [w.id, w.outOfGrid])).toEqual([[7, false], [8, true]])
    await o.reload()
    expect(o.workers(now).map((w) => w.id)).toEqual([7])
  })

  it('ignores a stale answer and stops after dispose', async () => {
    let release: (v: WallLive) => void = () => {}
    fetchLive.mockImplementationOnce(() => new Promise((r) => (release = r)))
    const slow = o.reload()
    await o.reload() // the later answer (the default one) wins
    release(live({ cases: [] }))
    await slow
    expect(o.cases().map((c) => c.id)).toEqual([1])
    o.dispose()
    o.applyEvent(ev('alarm:raised', { id: 99, lon: 1, lat: 1 }))
    expect(o.alarms()).toEqual([])
  })
})

describe('SLA ring', () => {
  const c = { stageStartedAt: '2026-11-21T08:00:00Z', stageDeadlineAt: '2026-11-21T12:00:00Z', overdue: false }
  it('shows the fraction of the stage time left, due soon in the last quarter, full red when overdue', () => {
    expect(slaRing(c, Date.parse('2026-11-21T09:00:00Z'))).toEqual({ state: 'on_time', left: 0.75 })
    expect(slaRing(c, Date.parse('2026-11-21T11:30:00Z'))).toEqual({ state: 'due_soon', left: 0.125 })
    expect(slaRing(c, Date.parse('2026-11-21T12:00:00Z'))).toEqual({ state: 'overdue', left: 1 })
    expect(slaRing({ ...c, overdue: true }, Date.parse('2026-11-21T09:00:00Z'))!.state).toBe('overdue')
    expect(slaRing({ ...c, stageDeadlineAt: null }, 0)).toBeNull()
  })
  it('names one icon per step', () => {
    expect(ringIcon({ state: 'on_time', left: 0.75 })).toBe(`on_time-${0.75 * RING_STEPS}`)
    expect(ringIcon({ state: 'due_soon', left: 0.001 })).toBe('due_soon-1')
    expect(ringIcon({ state: 'overdue', left: 1 })).toBe(`overdue-${RING_STEPS}`)
  })
})

describe('tile invalidation', () => {
  /** The lon/lat box of a tile (the inverse of the Web-Mercator tiling). */
  const tileBox = ({ x, y, z }: { x: number; y: number; z: number }) => {
    const n = 2 ** z
    const lat = (row: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * row) / n))) * 180) / Math.PI
    return { w: (x / n) * 360 - 180, e: ((x + 1) / n) * 360 - 180, n: lat(y), s: lat(y + 1) }
  }
  it('lists the tiles touching the box at each zoom', () => {
    // a point-sized box in Shanghai: one tile per zoom, holding the point
    const t = tilesTouching([121.5, 31.24, 121.5001, 31.2401], 14, 15)!
    expect(t.map((x) => x.z)).toEqual([14, 15])
    for (const tile of t) {
      const b = tileBox(tile)
      expect(121.5).toBeGreaterThanOrEqual(b.w)
      expect(121.5001).toBeLessThan(b.e)
      expect(31.24).toBeGreaterThanOrEqual(b.s)
      expect(31.2401).toBeLessThan(b.n)
    }
    // the z15 tile is a child of the z14 one
    expect([t[1]!.x >> 1, t[1]!.y >> 1]).toEqual([t[0]!.x, t[0]!.y])
    // a box across a tile edge at z1 (lon 0): two columns
    expect(tilesTouching([-1, 10, 1, 11], 1, 1)).toEqual([{ x: 0, y: 0, z: 1 }, { x: 1, y: 0, z: 1 }])
  })
  it('gives up (reload the source) when a zoom needs too many', () => {
    expect(tilesTouching([120, 30, 123, 32], 16, 16)).toBeNull()
    expect(MAX_TILES_PER_ZOOM).toBeGreaterThan(0)
  })
  it('looks at the ideal zoom and its neighbours within the source range', () => {
    expect(zoomsInView(14.6, 0, 22)).toEqual([13, 15])
    expect(zoomsInView(18.2, 10, 16)).toEqual([15, 16])
    expect(zoomsInView(3, 10, 16)).toEqual([10, 11])
  })
})
