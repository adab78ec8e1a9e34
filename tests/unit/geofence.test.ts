/**
 * The geofence's hysteresis (server/positions/geofence.ts) and the track summary
 * (server/positions/track.ts) as pure functions.
 */
import { describe, expect, it } from 'vitest'
import { CONFIRM_FIXES, IN_M, judge, MAX_ACCURACY_M, OUT_M, type FenceFix } from '../../server/positions/geofence.ts'
import { stops, summarize, type TrackFix } from '../../server/positions/track.ts'

const T0 = Date.parse('2026-11-20T08:00:00+08:00')
/** Fixes every 10 s with the given signed distances to the fence edge. */
const fixes = (ds: number[], start = 0): FenceFix[] => ds.map((d, i) => ({ ts: new Date(T0 + (start + i) * 10_000).toISOString(), distanceM: d }))

describe('geofence hysteresis', () => {
  it('has a band: out beyond OUT_M, back inside beyond IN_M', () => {
    expect(OUT_M).toBeGreaterThan(0)
    expect(IN_M).toBeGreaterThan(0)
    expect(CONFIRM_FIXES).toBeGreaterThanOrEqual(2)
  })

  it('jitter around the edge inside the band changes nothing', () => {
    const r = judge(null, fixes([-20, 5, -8, 25, 29, -9, 12, 28, -3, 20]))
    expect(r.transitions).toEqual([])
    expect(r.outside.every((o) => !o)).toBe(true)
    expect(r.state.outside).toBe(false)
  })

  it('one spike beyond OUT_M is not an exit; two consecutive fixes are, counted from the first', () => {
    const r = judge(null, fixes([-20, 45, 10, 40, 50, 60]))
    expect(r.transitions).toEqual([{ to: 'out', index: 4, since: fixes([0], 3)[0]!.ts }])
    expect(r.outside).toEqual([false, false, false, true, true, true])
    expect(r.state).toMatchObject({ outside: true, since: fixes([0], 3)[0]!.ts, pendingCount: 0, pendingSince: null })
  })

  it('once out, jitter back towards the edge keeps it out; one fix beyond IN_M inside brings it back', () => {
    const r = judge(null, fixes([40, 50, 20, -5, 28, -9, 5, -15, 10, 25, 29]))
    expect(r.transitions.map((t) => [t.to, t.index])).toEqual([
      ['out', 1],
      ['in', 7],
    ])
    expect(r.outside).toEqual([true, true, true, true, true, true, true, false, false, false, false])
  })

  it('carries a pending exit across batches and marks the earlier fixes from its start', () => {
    const first = judge(null, fixes([-20, 40]))
    expect(first.transitions).toEqual([])
    expect(first.state.pendingCount).toBe(1)
    const second = judge(first.state, fixes([45, 50], 2))
    expect(second.transitions).toEqual([{ to: 'out', index: 0, since: fixes([0], 1)[0]!.ts }])
    expect(second.outsideSinceBefore).toBe(fixes([0], 1)[0]!.ts)
    expect(second.outside).toEqual([true, true])
  })

  it('inaccurate fixes keep the state', () => {
    const r = judge(null, [
      ...fixes([-20]),
      { ts: new Date(T0 + 10_000).toISOString(), distanceM: 200, accuracy: MAX_ACCURACY_M + 1 },
      { ts: new Date(T0 + 20_000).toISOString(), distanceM: 200, accuracy: MAX_ACCURACY_M + 50 },
    ])
    expect(r.transitions).toEqual([])
    expect(r.state.outside).toBe(false)
  })
})

describe('track summary', () => {
  /** A walk due north at 1 m/s near 31.23°N, one fix every 10 s (1 m ≈ 1/111 195 ° of latitude). */
  const walk = (n: number, t0 = T0, lat0 = 31.23, outside = (_i: number) => false): TrackFix[] =>
    Array.from({ length: n }, (_, i) => ({ t: t0 + i * 10_000, lon: 121.49, lat: lat0 + (i * 10) / 111_195, outside: outside(i) }))

  it('sums distance and patrol time, leaves gaps out, and splits out-of-grid segments', () => {
    const a = walk(31) // 300 m, 300 s
    const b = walk(31, T0 + 3600_000, 31.24, (i) => i >= 10 && i < 20) // after a 1 h gap; out from fix 10 to fix 20
    const s = summarize([...a, ...b])
    const gap = a[30]!
    const jump = b[0]!
    // 600 m walked plus the straight line across the gap (~1.1 km north).
    expect(s.distanceM).toBeGreaterThan(600 + (jump.lat - gap.lat) * 111_000)
    expect(s.distanceM).toBeLessThan(600 + (jump.lat - gap.lat) * 111_400)
    expect(s.patrolS).toBe(300 + 200)
    expect(s.outOfGridS).toBe(100)
    expect(s.outOfGrid).toEqual([{ from: new Date(b[10]!.t).toISOString(), to: new Date(b[20]!.t).toISOString() }])
  })

  it('finds a stay of at least 3 minutes within 25 m as one stop', () => {
    const before = walk(10)
    const t1 = before[9]!.t
    const stay: TrackFix[] = Array.from({ length: 25 }, (_, i) => ({ t: t1 + (i + 1) * 10_000, lon: 121.49 + ((i % 3) - 1) * 0.00003, lat: before[9]!.lat + 0.00002 * (i % 2), outside: false }))
    const after = walk(10, stay[24]!.t + 10_000, before[9]!.lat + 0.0003)
    const found = stops([...before, ...stay, ...after])
    expect(found).toHaveLength(1)
    expect(found[0]!.durationS).toBeGreaterThanOrEqual(240)
    // The stay begins up to 25 m before the spot (the walk in at 1 m/s), so up to ~30 s early.
    expect(found[0]!.durationS).toBeLessThanOrEqual(280)
    expect(found[0]!.lat).toBeCloseTo(before[9]!.lat, 4)
    expect(stops(walk(100))).toEqual([])
  })
})
