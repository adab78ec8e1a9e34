import { registerTheme } from 'echarts/core'
import type { ThemeName } from '../../layers/types.ts'
import { ECHARTS_THEMES, echartsThemeName } from '../../styles/echarts.ts'
import { STATUS } from '../../styles/palette.ts'

/**
 * The ECharts themes that match the map styles (styles/echarts.ts, from styles/palette.ts),
 * registered once when a dashboard first imports this module:
 *
 *   import { chartTheme } from '../charts/theme.ts'
 *   const chart = echarts.init(el, chartTheme('night'))
 *
 * Status colours (alarm red, overdue red, on-duty yellow …) are exported too, for series
 * coloured by meaning rather than by position: `STATUS.sensor.alarm`.
 */
for (const [name, theme] of Object.entries(ECHARTS_THEMES) as [ThemeName, (typeof ECHARTS_THEMES)[ThemeName]][]) {
  registerTheme(echartsThemeName(name), theme)
}

/** Name of the registered ECharts theme matching a map style: 'onegrid-night', 'onegrid-day', 'onegrid-contrast'. */
export function chartTheme(name: ThemeName = 'night'): string {
  return echartsThemeName(name)
}

export { STATUS }
