import { describe, expect, it } from 'vitest'
import {
  formatDistance,
  formatDuration,
  fromLocalInput,
  GAP_S,
  PlaybackClock,
  positionAt,
  prepareTrack,
  presetRange,
  stopsAtLeast,
  timeline,
  toLocalInput,
  type TrackAnswer,
} from '../../web/map/playback.ts'
import { summarize, type TrackFix } from '../../server/positions/track.ts'

const T0 = Date.parse('2026-11-20T01:00:00Z')
const MIN = 60_000

/** A track answer built the way the server builds it (summarize over the fixes). */
function answer(fixes: TrackFix[], workerId = 1): TrackAnswer {
  const s = summarize(fixes)
  return {
    workerId,
    code: `W${workerId}`,
    name: `worker ${workerId}`,
    gridCode: '310101001001001',
    from: new Date(T0).toISOString(),
    to: new Date(T0 + 86_400_000).toISOString(),
    points: fixes.map((f) => ({ ts: new Date(f.t).toISOString(), lon: f.lon, lat: f.lat })),
    pointCount: fixes.length,
    truncated: false,
    ...s,
  }
}

/** Fixes every 2 minutes walking east; `out` marks the indexes outside the fence. */
function walk(n: number, out: number[] = [], start = T0, step = 2 * MIN): TrackFix[] {
  return Array.from({ length: n }, (_, i) => ({ t: start + i * step, lon: 121.47 + i * 0.001, lat: 31.23, outside: out.includes(i) }))
}

describe('prepareTrack', () => {
  it('splits the path where it leaves and re-enters the grid, marking the crossings out', () => {
    const tr = prepareTrack(answer(walk(10, [3, 4, 5])), T0)
    expect(Array.from(tr.outside)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0])
    expect(tr.runs.map((r) => [r.outside, r.path.length])).toEqual([
      [false, 3],
      [true, 5],
      [false, 4],
    ])
    // Runs meet at a shared fix, so the drawn path is whole.
    expect(tr.runs[1]!.path[0]).toEqual(tr.runs[0]!.path[2])
    expect(tr.runs[2]!.path[0]).toEqual(tr.runs[1]!.path[4])
    expect(tr.runs[1]!.timestamps).toEqual([240, 360, 480, 600, 720])
  })

  it('marks a track that ends outside up to its last fix', () => {
    const tr = prepareTrack(answer(walk(5, [3, 4])), T0)
    expect(Array.from(tr.outside)).toEqual([0, 0, 0, 1, 1])
    expect(tr.runs.map((r) => r.outside)).toEqual([false, true])
    const single = prepareTrack(answer(walk(5, [4])), T0)
    expect(Array.from(single.outside)).toEqual([0, 0, 0, 0, 1])
  })

  it('draws nothing across a gap longer than GAP_S (device off)', () => {
    const fixes = [...walk(3), ...walk(3, [], T0 + 2 * 3_600_000)]
    const tr = prepareTrack(answer(fixes), T0)
    expect(tr.runs).toHaveLength(2)
    expect(tr.runs.every((r) => !r.outside && r.path.length === 3)).toBe(true)
    expect(positionAt(tr, T0 + 3_600_000)).toBeNull()
    expect(GAP_S).toBe(300)
  })

  it('keeps the server figures untouched (what the panel shows)', () => {
    const a = answer(walk(10, [3, 4, 5]))
    expect(a.outOfGrid).toHaveLength(1)
    expect(a.patrolS).toBe(6 * 120 + 0)
    expect(a.outOfGridS).toBe(3 * 120)
  })
})

describe('positionAt', () => {
  const tr = prepareTrack(answer(walk(4)), T0)

  it('interpolates between fixes and is null outside the track', () => {
    expect(positionAt(tr, T0 - 1)).toBeNull()
    expect(positionAt(tr, T0 + 6 * MIN + 1)).toBeNull()
    expect(positionAt(tr, T0)).toMatchObject({ lon: 121.47, lat: 31.23 })
    const mid = positionAt(tr, T0 + 3 * MIN)!
    expect(mid.lon).toBeCloseTo(121.4715, 9)
    expect(positionAt(tr, T0 + 6 * MIN)!.lon).toBeCloseTo(121.473, 9)
  })

  it('says whether the worker was out at that time', () => {
    const out = prepareTrack(answer(walk(6, [2, 3])), T0)
    expect(positionAt(out, T0 + 5 * MIN)!.outside).toBe(true)
    expect(positionAt(out, T0 + MIN)!.outside).toBe(false)
  })
})

describe('timeline and stops', () => {
  it('spans all tracks', () => {
    const a = prepareTrack(answer(walk(3, [], T0 + 10 * MIN), 1), T0)
    const b = prepareTrack(answer(walk(3, [], T0 + 2 * MIN), 2), T0)
    const empty = prepareTrack({ ...answer([], 3), points: [] }, T0)
    expect(timeline([a, b, empty])).toEqual({ start: T0 + 2 * MIN, end: T0 + 14 * MIN })
    expect(timeline([empty])).toBeNull()
  })

  it('filters the server stops by dwell', () => {
    const stops = [
      { from: '', to: '', lon: 0, lat: 0, durationS: 180 },
      { from: '', to: '', lon: 0, lat: 0, durationS: 600 },
    ]
    expect(stopsAtLeast(stops, 3)).toHaveLength(2)
    expect(stopsAtLeast(stops, 5)).toHaveLength(1)
    expect(stopsAtLeast(stops, 15)).toHaveLength(0)
  })
})

describe('PlaybackClock', () => {
  it('runs at speed, stops at the end and replays from the start', () => {
    const c = new PlaybackClock(1000, 61_000)
    expect(c.tick(100)).toBe(false)
    c.play()
    c.speed = 60
    expect(c.tick(500)).toBe(true)
    expect(c.time).toBe(31_000)
    expect(c.progress).toBe(0.5)
    c.tick(10_000)
    expect(c.time).toBe(61_000)
    expect(c.playing).toBe(false)
    c.play()
    expect(c.time).toBe(1000)
    c.seek(-5)
    expect(c.time).toBe(1000)
    c.seek(1e12)
    expect(c.time).toBe(61_000)
  })
})

describe('formatting and ranges', () => {
  const u = { h: 'h', min: 'min', s: 's' }
  it('formats durations and distances', () => {
    expect(formatDuration(3900, u)).toBe('1 h 05 min')
    expect(formatDuration(750, u)).toBe('12 min 30 s')
    expect(formatDuration(120, u)).toBe('2 min')
    expect(formatDuration(45, u)).toBe('45 s')
    expect(formatDistance(849.6)).toBe('850 m')
    expect(formatDistance(12_345)).toBe('12.35 km')
  })

  it('round-trips datetime-local values and gives the presets', () => {
    const t = new Date(2026, 10, 21, 8, 30).getTime()
    expect(toLocalInput(t)).toBe('2026-11-21T08:30')
    expect(fromLocalInput('2026-11-21T08:30')).toBe(t)
    expect(fromLocalInput('yesterday')).toBeNull()
    const y = presetRange('yesterday', t)
    expect(y).toEqual({ from: new Date(2026, 10, 20).getTime(), to: new Date(2026, 10, 21).getTime() })
    expect(presetRange('today', t)).toEqual({ from: new Date(2026, 10, 21).getTime(), to: t })
    expect(presetRange('last24h', t).to - presetRange('last24h', t).from).toBe(86_400_000)
  })
})
