import type { ThemeName } from '../layers/types.ts'
import { RAMP, SERIES, SURFACES } from './palette.ts'

/**
 * ECharts themes matching the map styles, built from the same palette (styles/palette.ts):
 * a chart on the wall has the night map's background, text and status colours. Plain data,
 * so the web app bundles it (web/charts/theme.ts registers it) and the server serves it at
 * /styles/echarts/{name}.json for anything else that draws charts.
 */

/** The theme name ECharts knows each style's theme by: `echarts.init(el, 'onegrid-night')`. */
export const echartsThemeName = (name: ThemeName): string => `onegrid-${name}`

/** The fields of an ECharts theme OneGrid sets (ECharts' theme object is otherwise untyped). */
export interface EChartsTheme {
  color: string[]
  backgroundColor: string
  textStyle: { color: string; fontFamily: string }
  title: { textStyle: { color: string }; subtextStyle: { color: string } }
  legend: { textStyle: { color: string }; inactiveColor: string; pageTextStyle: { color: string }; pageIconColor: string; pageIconInactiveColor: string }
  tooltip: { backgroundColor: string; borderColor: string; textStyle: { color: string }; axisPointer: { lineStyle: { color: string }; crossStyle: { color: string } } }
  categoryAxis: AxisTheme
  valueAxis: AxisTheme
  logAxis: AxisTheme
  timeAxis: AxisTheme
  visualMap: { color: string[]; textStyle: { color: string } }
  dataZoom: { textStyle: { color: string }; borderColor: string; fillerColor: string; handleStyle: { color: string; borderColor: string } }
}

interface AxisTheme {
  axisLine: { show: boolean; lineStyle: { color: string } }
  axisTick: { show: boolean; lineStyle: { color: string } }
  axisLabel: { show: boolean; color: string }
  splitLine: { show: boolean; lineStyle: { color: string[] } }
  splitArea: { show: boolean }
  nameTextStyle: { color: string }
}

const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'

export function buildEChartsTheme(name: ThemeName): EChartsTheme {
  const s = SURFACES[name]
  const axis = (splitLine: boolean): AxisTheme => ({
    axisLine: { show: true, lineStyle: { color: s.axis } },
    axisTick: { show: true, lineStyle: { color: s.axis } },
    axisLabel: { show: true, color: s.textMuted },
    splitLine: { show: splitLine, lineStyle: { color: [s.grid] } },
    splitArea: { show: false },
    nameTextStyle: { color: s.textMuted },
  })
  return {
    color: [...SERIES[name]],
    backgroundColor: s.background,
    textStyle: { color: s.text, fontFamily: FONT },
    title: { textStyle: { color: s.text }, subtextStyle: { color: s.textMuted } },
    legend: { textStyle: { color: s.text }, inactiveColor: s.axis, pageTextStyle: { color: s.textMuted }, pageIconColor: s.accent, pageIconInactiveColor: s.axis },
    tooltip: {
      backgroundColor: s.panel,
      borderColor: s.axis,
      textStyle: { color: s.text },
      axisPointer: { lineStyle: { color: s.accent }, crossStyle: { color: s.accent } },
    },
    categoryAxis: axis(false),
    valueAxis: axis(true),
    logAxis: axis(true),
    timeAxis: axis(false),
    // ECharts lists visualMap colours from high to low.
    visualMap: { color: [...RAMP[name]].reverse(), textStyle: { color: s.text } },
    dataZoom: { textStyle: { color: s.textMuted }, borderColor: s.axis, fillerColor: `${s.accent}33`, handleStyle: { color: s.accent, borderColor: s.axis } },
  }
}

export const ECHARTS_THEMES: Record<ThemeName, EChartsTheme> = {
  night: buildEChartsTheme('night'),
  day: buildEChartsTheme('day'),
  contrast: buildEChartsTheme('contrast'),
}
