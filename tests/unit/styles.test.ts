import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec'
import { describe, expect, it } from 'vitest'
import { catalog, type ThemeName } from '../../layers/index.ts'
import { buildStyle, THEMES } from '../../styles/build.ts'
import { ECHARTS_THEMES } from '../../styles/echarts.ts'
import { STATUS, SURFACES } from '../../styles/palette.ts'

describe.each(Object.keys(THEMES) as ThemeName[])('style %s', (name) => {
  const style = buildStyle(name, 'http://127.0.0.1:8080')
  it('passes the MapLibre style-spec validator', () => {
    expect(validateStyleMin(style)).toEqual([])
  })
  it('uses only the project’s own sources and sprite, no remote glyphs', () => {
    for (const src of Object.values(style.sources)) expect((src as { url: string }).url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/tiles\//)
    expect(style.glyphs).toBeUndefined()
    expect(style.sprite).toBe('http://127.0.0.1:8080/styles/sprite')
  })
  it('takes its background from the palette, as does the matching ECharts theme', () => {
    const bg = style.layers.find((l) => l.type === 'background') as { paint: Record<string, unknown> }
    expect(bg.paint['background-color']).toBe(SURFACES[name].background)
    expect(ECHARTS_THEMES[name].backgroundColor).toBe(bg.paint['background-color'])
    expect(ECHARTS_THEMES[name].textStyle.color).toBe(SURFACES[name].text)
  })
  it('draws every catalog layer with its own id as source-layer', () => {
    expect(JSON.stringify(style)).not.toContain('themePaint')
    for (const def of catalog.values()) {
      const drawn = style.layers.filter((l) => 'source' in l && l.source === def.id)
      expect(drawn.length).toBe(def.style.length)
      for (const l of drawn) expect((l as { 'source-layer': string })['source-layer']).toBe(def.id)
    }
  })
})

/** The colour a `match` on `property` gives `value` (or its fallback) in a style layer's paint. */
function matchColor(style: ReturnType<typeof buildStyle>, layerId: string, paintKey: string, value: string): unknown {
  const layer = style.layers.find((l) => l.id === layerId) as { paint: Record<string, unknown> } | undefined
  if (!layer) throw new Error(`no layer ${layerId}`)
  const expr = layer.paint[paintKey] as unknown[]
  expect(expr[0]).toBe('match')
  const pairs = expr.slice(2, -1)
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === value || (Array.isArray(pairs[i]) && (pairs[i] as unknown[]).includes(value))) return pairs[i + 1]
  return expr.at(-1)
}

describe('the palette is the colours the night map draws with', () => {
  const style = buildStyle('night', 'http://127.0.0.1:8080')
  it.each([
    ['sensors-dot', 'status', STATUS.sensor],
    ['cases-dot', 'sla_state', STATUS.case],
    ['workers-dot', 'duty_status', STATUS.duty],
    ['cameras-dot', 'status', STATUS.camera],
    ['key_places-dot', 'risk_color', STATUS.risk],
    ['parts-dot', 'state', STATUS.part],
  ] as const)('%s by %s', (layerId, _property, colors) => {
    for (const [value, color] of Object.entries(colors)) expect(matchColor(style, layerId, 'circle-color', value), `${layerId} ${value}`).toBe(color)
  })
  it('the night ECharts theme is the wall’s: dark background, palette text and axis colours', () => {
    const t = ECHARTS_THEMES.night
    expect(t.backgroundColor).toBe(SURFACES.night.background)
    expect(t.valueAxis.axisLabel.color).toBe(SURFACES.night.textMuted)
    expect(t.valueAxis.splitLine.lineStyle.color).toEqual([SURFACES.night.grid])
    expect(t.tooltip.backgroundColor).toBe(SURFACES.night.panel)
    expect(t.color.length).toBeGreaterThanOrEqual(6)
    expect(new Set(t.color).size).toBe(t.color.length)
    expect(t.visualMap.color.length).toBeGreaterThanOrEqual(3)
    expect(ECHARTS_THEMES.day.backgroundColor).not.toBe(t.backgroundColor)
  })
})

describe('what a style holds for whom', () => {
  it('leaves out the layers a user may not see', async () => {
    const { visibleTo } = await import('../../layers/index.ts')
    const style = buildStyle('night', 'http://x', (def) => visibleTo(def, { permissions: new Set(['map.base']) }))
    expect(Object.keys(style.sources)).toContain('roads')
    for (const hidden of ['cases', 'sensors', 'workers', 'cameras']) {
      expect(Object.keys(style.sources)).not.toContain(hidden)
      expect(style.layers.some((l) => 'source' in l && l.source === hidden)).toBe(false)
    }
    expect(validateStyleMin(style)).toEqual([])
  })
  it('starts hidden layers switched off, the others on', () => {
    const style = buildStyle('night', 'http://x')
    for (const def of catalog.values()) {
      for (const l of style.layers.filter((x) => 'source' in x && x.source === def.id)) {
        const visibility = (l.layout as { visibility?: string } | undefined)?.visibility
        expect(visibility, l.id).toBe(def.hidden ? 'none' : undefined)
      }
    }
    expect(catalog.get('parts')!.hidden).toBe(true)
  })
})
