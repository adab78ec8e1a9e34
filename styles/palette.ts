import type { ThemeName } from '../layers/types.ts'

/**
 * The colours OneGrid draws with, in one place: the MapLibre styles (styles/build.ts), the
 * sprite icons (styles/sprite.ts) and the ECharts themes (styles/echarts.ts) all take theirs
 * from here, so a chart next to the map uses the same red for an alarm as the map does.
 *
 * Status colours are the same in every theme (an alarm is the same red on the wall and on a
 * seat); the surface colours (background, text, lines) differ per theme.
 */

export interface ThemeSurface {
  /** Map background layer, and the chart background. */
  background: string
  /** Panels and tooltips over the map or a chart. */
  panel: string
  text: string
  textMuted: string
  /** Axis lines and ticks. */
  axis: string
  /** Chart split lines (the faint grid behind bars and lines). */
  grid: string
  /** Accent: selection, emphasis, the first chart series. */
  accent: string
  /** Ink for pictograms drawn over a coloured disc (key-place icons), and the disc outline. */
  ink: string
}

export const SURFACES: Record<ThemeName, ThemeSurface> = {
  night: {
    background: '#06101e',
    panel: '#071427',
    text: '#dbeafe',
    textMuted: '#7f93b2',
    axis: '#2b3a52',
    grid: '#16283f',
    accent: '#22d3ee',
    ink: '#06101e',
  },
  day: {
    background: '#eef1f4',
    panel: '#ffffff',
    text: '#1c2b3a',
    textMuted: '#5b6b7d',
    axis: '#9aa4b1',
    grid: '#dde3ea',
    accent: '#1f5fa8',
    ink: '#1c2b3a',
  },
  contrast: {
    background: '#000000',
    panel: '#000000',
    text: '#ffffff',
    textMuted: '#d0d0d0',
    axis: '#bbbbbb',
    grid: '#5a5a5a',
    accent: '#ffff00',
    ink: '#000000',
  },
}

/**
 * Status colours, keyed by the values the data holds (sensors.status, case_map.sla_state,
 * worker_map.duty_status, cameras.status, key_places.risk_color, parts.state), so a chart can
 * colour a series by `STATUS.sensor[row.status]`.
 */
export const STATUS = {
  sensor: { alarm: '#ff3b30', offline: '#7a8699', online: '#34c759' },
  /** Cases by deadline (sla_state): open and overdue, open and due soon, open in time, closed. */
  case: { overdue: '#ff3b30', due_soon: '#ffcc00', on_time: '#30a0ff', closed: '#3a4a60' },
  /** Workers: busy (on a task), on duty, and anything else (off duty, on leave). */
  duty: { busy: '#ff9f0a', on_duty: '#ffd60a', off_duty: '#4a5568' },
  /** Cameras: online; offline and fault share the grey. */
  camera: { online: '#64d2ff', offline: '#7a8699' },
  /** key_places.risk_color: the five-colour risk grading. */
  risk: { red: '#ff3b30', orange: '#ff9500', yellow: '#ffcc00', blue: '#0a84ff', green: '#30d158' },
  part: { lost: '#f04040', damaged: '#f0a020', occupied: '#c080ff', intact: '#5f7fa6' },
} as const

/**
 * Categorical series for charts (no meaning attached): distinguishable on the dark wall, the
 * first one the accent cyan.
 */
export const SERIES: Record<ThemeName, string[]> = {
  night: ['#22d3ee', '#ffd60a', '#34c759', '#ff9f0a', '#bf5af2', '#64d2ff', '#ff375f', '#5e8bff'],
  day: ['#1f5fa8', '#d48806', '#2f9e44', '#e8590c', '#8957e5', '#0fa3a3', '#d6336c', '#495057'],
  contrast: ['#ffff00', '#00ffff', '#00ff00', '#ff8000', '#ff00ff', '#ffffff', '#ff4040', '#80a0ff'],
}

/** Sequential ramps for choropleths and heat (low → high). */
export const RAMP: Record<ThemeName, string[]> = {
  night: ['#0b2a4a', '#1f6feb', '#22d3ee', '#ffd60a', '#ff3b30'],
  day: ['#dbe9f6', '#7fb0e0', '#1f5fa8', '#e8590c', '#c92a2a'],
  contrast: ['#003a80', '#0080ff', '#00ffff', '#ffff00', '#ff0000'],
}
