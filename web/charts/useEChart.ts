import { BarChart, GaugeChart, PieChart, type BarSeriesOption, type GaugeSeriesOption, type PieSeriesOption } from 'echarts/charts'
import { GridComponent, type GridComponentOption } from 'echarts/components'
import { init, use, type ComposeOption, type EChartsType } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import { onBeforeUnmount, onMounted, watch, type Ref } from 'vue'
import type { ThemeName } from '../../layers/types.ts'
import { chartTheme } from './theme.ts'

// Only what the dashboards draw, so the bundle carries no other chart type.
use([BarChart, PieChart, GaugeChart, GridComponent, CanvasRenderer])

export type ChartOption = ComposeOption<BarSeriesOption | PieSeriesOption | GaugeSeriesOption | GridComponentOption>

export interface UseEChartOptions {
  theme?: ThemeName
}

/**
 * The pixel ratio to draw at: the screen's, times the HUD's CSS `zoom` (--hud-scale), so a chart
 * in a HUD zoomed ×2 on a 7680×2160 wall is drawn at full resolution rather than upscaled.
 */
function pixelRatio(el: HTMLElement): number {
  const scale = Number.parseFloat(getComputedStyle(el).getPropertyValue('--hud-scale'))
  return (globalThis.devicePixelRatio || 1) * (Number.isFinite(scale) && scale > 0 ? scale : 1)
}

/**
 * One ECharts instance in `el`, for the component's lifetime: created on mount with the OneGrid
 * theme, updated in place when `option()` changes (setOption merges by series id, so bars grow
 * rather than the chart being rebuilt), resized with its container (ResizeObserver), disposed on
 * unmount. The instance is never put in reactive state.
 */
export function useEChart(el: Ref<HTMLElement | null>, option: () => ChartOption, options: UseEChartOptions = {}): void {
  let chart: EChartsType | null = null
  let ratio = 1
  let observer: ResizeObserver | null = null

  const create = (target: HTMLElement): void => {
    ratio = pixelRatio(target)
    chart = init(target, chartTheme(options.theme ?? 'night'), { renderer: 'canvas', devicePixelRatio: ratio })
    chart.setOption({ backgroundColor: 'transparent', animationDurationUpdate: 600, ...option() })
  }

  onMounted(() => {
    const target = el.value
    if (!target) return
    create(target)
    observer = new ResizeObserver(() => {
      if (!chart) return
      // ECharts fixes the pixel ratio at init: a new HUD scale needs a new instance (rare: a window resize).
      if (Math.abs(pixelRatio(target) - ratio) > 0.01) {
        chart.dispose()
        create(target)
      } else chart.resize()
    })
    observer.observe(target)
  })

  watch(option, (next) => chart?.setOption(next), { deep: false })

  onBeforeUnmount(() => {
    observer?.disconnect()
    observer = null
    chart?.dispose()
    chart = null
  })
}
