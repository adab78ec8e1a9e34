import type { StyleSpecification, LayerSpecification } from '@maplibre/maplibre-gl-style-spec'
import { catalog, SLOTS, type ThemeName } from '../layers/index.ts'

/**
 * MapLibre styles built from the layer catalog. Sources are only the project's own TileJSON.
 * There is deliberately no `glyphs` URL: MapLibre GL JS (≥ 5.11) then draws every label
 * glyph locally from the `text-font` stack as CSS font families (Noto Sans CJK, which
 * `.ci/run` installs; any system CJK font on a desktop). No sprite: point symbols are drawn
 * as circles or by deck.gl.
 */
export interface StyleTheme {
  name: string
  background: string
}

/** night: the wall (dark, 24/7); day: dispatcher seats; contrast: projectors in a lit room. */
export const THEMES: Record<ThemeName, StyleTheme> = {
  night: { name: 'OneGrid night (wall)', background: '#06101e' },
  day: { name: 'OneGrid day (seat)', background: '#eef1f4' },
  contrast: { name: 'OneGrid contrast (projector)', background: '#000000' },
}

export function buildStyle(themeName: ThemeName, baseUrl: string): StyleSpecification {
  const theme = THEMES[themeName]
  const sources: StyleSpecification['sources'] = {}
  const drawn: { slot: number; layer: LayerSpecification }[] = []
  for (const def of catalog.values()) {
    sources[def.id] = { type: 'vector', url: `${baseUrl}/tiles/${def.id}.json`, attribution: def.attribution }
    for (const { slot, themePaint, ...l } of def.style) {
      const override = themeName === 'night' ? undefined : themePaint?.[themeName]
      const paint = override ? { ...(('paint' in l && l.paint) || {}), ...override } : 'paint' in l ? l.paint : undefined
      drawn.push({ slot: SLOTS.indexOf(slot), layer: { ...l, ...(paint ? { paint } : {}), source: def.id, 'source-layer': def.id } as LayerSpecification })
    }
  }
  // Array.prototype.sort is stable: within a slot, catalog order stays.
  drawn.sort((a, b) => a.slot - b.slot)
  const background: LayerSpecification = { id: 'background', type: 'background', paint: { 'background-color': theme.background } }
  return { version: 8, name: theme.name, sources, layers: [background, ...drawn.map((d) => d.layer)] }
}
