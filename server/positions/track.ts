/**
 * What a track says, from its fixes in time order (each marked inside or outside the worker's
 * fence): distance walked, stops, time on patrol inside the fence, time and segments out of it.
 * Distances are geodesic (@turf/distance). Definitions:
 *
 * - distanceM: the sum of the distances between consecutive fixes;
 * - a stop: a stay of at least STOP_MIN_S within STOP_RADIUS_M of where it began (the first fix
 *   of the stay); its place is the mean of the stay's fixes;
 * - patrolS / outOfGridS: the sum of the intervals between consecutive fixes at most GAP_S apart
 *   whose first fix is inside / outside the fence (a longer gap: the device was off, not counted);
 * - outOfGrid: runs of fixes outside, from the first of them to the fix that came back in (or
 *   the last fix of the track when it ends outside).
 */
import distance from '@turf/distance'

export const GAP_S = 300
export const STOP_RADIUS_M = 25
export const STOP_MIN_S = 180

export interface TrackFix {
  /** Epoch milliseconds. */
  t: number
  lon: number
  lat: number
  outside: boolean
}

export interface Stop {
  from: string
  to: string
  lon: number
  lat: number
  durationS: number
}

export interface TrackSummary {
  distanceM: number
  patrolS: number
  outOfGridS: number
  stops: Stop[]
  outOfGrid: { from: string; to: string }[]
}

const metres = (a: TrackFix, b: TrackFix) => distance([a.lon, a.lat], [b.lon, b.lat], { units: 'meters' })
const iso = (t: number) => new Date(t).toISOString()
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits

export function summarize(fixes: TrackFix[]): TrackSummary {
  let distanceM = 0
  let patrolMs = 0
  let outMs = 0
  const outOfGrid: { from: string; to: string }[] = []
  let outFrom: number | null = null
  for (let i = 0; i < fixes.length; i++) {
    const a = fixes[i]!
    const b = fixes[i + 1]
    if (a.outside && outFrom === null) outFrom = a.t
    if (!a.outside && outFrom !== null) {
      outOfGrid.push({ from: iso(outFrom), to: iso(a.t) })
      outFrom = null
    }
    if (!b) continue
    distanceM += metres(a, b)
    const dt = b.t - a.t
    if (dt <= GAP_S * 1000) {
      if (a.outside) outMs += dt
      else patrolMs += dt
    }
  }
  if (outFrom !== null) outOfGrid.push({ from: iso(outFrom), to: iso(fixes[fixes.length - 1]!.t) })
  return { distanceM: round(distanceM, 1), patrolS: Math.round(patrolMs / 1000), outOfGridS: Math.round(outMs / 1000), stops: stops(fixes), outOfGrid }
}

/** Stay points: from each fix, the fixes that follow within STOP_RADIUS_M of it; a stay of STOP_MIN_S or more is a stop. */
export function stops(fixes: TrackFix[]): Stop[] {
  const out: Stop[] = []
  let i = 0
  while (i < fixes.length) {
    const anchor = fixes[i]!
    let j = i + 1
    while (j < fixes.length && metres(anchor, fixes[j]!) <= STOP_RADIUS_M) j++
    const last = fixes[j - 1]!
    if (last.t - anchor.t >= STOP_MIN_S * 1000) {
      let lon = 0
      let lat = 0
      for (let k = i; k < j; k++) {
        lon += fixes[k]!.lon
        lat += fixes[k]!.lat
      }
      const n = j - i
      out.push({ from: iso(anchor.t), to: iso(last.t), lon: round(lon / n, 7), lat: round(lat / n, 7), durationS: Math.round((last.t - anchor.t) / 1000) })
      i = j
    } else i++
  }
  return out
}
