/**
 * Plausible readings per sensor type: a daily rhythm in local time (noise and dust follow the
 * traffic, smoke and gas the cooking hours, water level the semi-diurnal tide, air quality a
 * slow drift), noise on top, kept below the alarm threshold — alarms come only from the
 * simulator's deliberate spikes. Type parameters (base range, daily amplitude, decimals) are the
 * seeder's (server/seed/data/sensor_types.json), so live values continue the seeded history.
 */
import fs from 'node:fs'
import type { Rng } from '../random.ts'

interface TypeParams {
  warn: number
  alarm: number
  decimals: number
  base: [number, number]
  daily: number
}

const TYPES = (() => {
  const raw = JSON.parse(fs.readFileSync(new URL('../seed/data/sensor_types.json', import.meta.url), 'utf8')) as Record<string, TypeParams | string>
  delete raw._comment
  return raw as Record<string, TypeParams>
})()

// Relative daily profiles by local hour (0–23), interpolated between hours.
const TRAFFIC = [0.1, 0.05, 0.03, 0.03, 0.05, 0.2, 0.5, 0.85, 1, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.85, 0.9, 1, 0.95, 0.8, 0.65, 0.5, 0.35, 0.2]
const COOKING = [0, 0, 0, 0, 0, 0.1, 0.4, 0.5, 0.2, 0.1, 0.3, 0.9, 1, 0.4, 0.1, 0.1, 0.3, 0.8, 1, 0.6, 0.2, 0.1, 0, 0]
const TIDE_HOURS = 12.42
const HOUR = 3_600_000

function profile(p: readonly number[], hour: number): number {
  const h = Math.floor(hour) % 24
  const f = hour - Math.floor(hour)
  return p[h]! * (1 - f) + p[(h + 1) % 24]! * f
}

export interface SensorSpec {
  type: string
  warn: number | null
  alarm: number | null
  last_value: number | null
}

/** One sensor's own character (drawn once) and its running value. */
export interface SensorState {
  base: number
  amp: number
  /** Hours: shifts the tide and the daily curve a little per sensor. */
  lag: number
  /** Air quality: the smoothed value carried from reading to reading. */
  level: number | null
  decimals: number
  /** Highest normal value: below the alarm threshold. */
  ceiling: number
}

export function initialState(s: SensorSpec, rng: Rng): SensorState {
  const t = TYPES[s.type]
  const alarm = s.alarm ?? t?.alarm ?? null
  if (!t) {
    const base = s.last_value ?? 1
    return { base, amp: Math.abs(base) * 0.05, lag: 0, level: null, decimals: 2, ceiling: alarm !== null ? alarm * 0.9 : Infinity }
  }
  return {
    base: rng.range(t.base[0], t.base[1]),
    amp: t.daily * rng.range(0.7, 1.3),
    lag: rng.range(-0.3, 0.3),
    level: null,
    decimals: t.decimals,
    ceiling: alarm !== null ? alarm * 0.92 : Infinity,
  }
}

/** The next normal reading of a sensor at time t (ms). */
export function reading(s: SensorSpec, st: SensorState, t: number, hour: number, rng: Rng): number {
  const { base, amp } = st
  let x: number
  switch (s.type) {
    case 'noise':
      x = base + amp * profile(TRAFFIC, hour) + rng.normal() * 1.5
      break
    case 'dust':
      x = (base + amp * (profile(TRAFFIC, hour) + (hour >= 7 && hour < 18 ? 0.6 : 0))) * (1 + rng.normal() * 0.08)
      break
    case 'air_quality': {
      // Smooth: the value moves a little towards the day's curve at each reading.
      const target = base * (1 + 0.15 * Math.sin(((hour - 4) / 24) * 2 * Math.PI)) + amp * 0.3 * profile(TRAFFIC, hour)
      st.level = st.level === null ? target : st.level + 0.05 * (target - st.level) + rng.normal() * 0.3
      x = st.level
      break
    }
    case 'smoke':
      x = base + amp * profile(COOKING, hour) + Math.abs(rng.normal()) * 0.03
      break
    case 'gas':
      x = base + amp * profile(COOKING, hour) + Math.abs(rng.normal()) * 0.2
      break
    case 'water_level': {
      // Semi-diurnal tide with the spring–neap cycle.
      const th = t / HOUR + st.lag
      const spring = 1 + 0.3 * Math.cos((2 * Math.PI * th) / (14.77 * 24))
      x = base + amp * spring * Math.cos((2 * Math.PI * th) / TIDE_HOURS) + rng.normal() * 0.02
      break
    }
    case 'cover_tilt':
      x = base + rng.normal() * amp
      break
    case 'structural':
      x = base + amp * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + rng.normal() * 0.3
      break
    default:
      x = base + rng.normal() * amp
  }
  return round(Math.min(Math.max(0, x), st.ceiling), st.decimals)
}

/** A value over the alarm threshold (a fault the alarms must catch); null when the sensor has none. */
export function spike(s: SensorSpec, st: SensorState, rng: Rng): number | null {
  const alarm = s.alarm ?? TYPES[s.type]?.alarm
  if (alarm === undefined || alarm === null) return null
  return round(alarm * rng.range(1.05, 1.3), st.decimals)
}

const round = (x: number, decimals: number) => {
  const k = 10 ** decimals
  return Math.round(x * k) / k
}
