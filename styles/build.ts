import type { StyleSpecification, LayerSpecification } from '@maplibre/maplibre-gl-style-spec'
import { catalog, SLOTS } from '../layers/index.ts'

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

export const THEMES: Record<string, StyleTheme> = {
  wall: { name: 'OneGrid wall (dark)', background: '#06101e' },
}

export function buildStyle(theme: StyleTheme, baseUrl: string): StyleSpecification {
  const sources: StyleSpecification['sources'] = {}
  const drawn: { slot: number; layer: LayerSpecification }[] = []
  for (const def of catalog.values()) {
    sources[def.id] = { type: 'vector', url: `${baseUrl}/tiles/${def.id}.json`, attribution: def.attribution }
    for (const { slot, ...l } of def.style) drawn.push({ slot: SLOTS.indexOf(slot), layer: { ...l, source: def.id, 'source-layer': def.id } as LayerSpecification })
  }
  // Array.prototype.sort is stable: within a slot, catalog order stays.
  drawn.sort((a, b) => a.slot - b.slot)
  const background: LayerSpecification = { id: 'background', type: 'background', paint: { 'background-color': theme.background } }
  return { version: 8, name: theme.name, sources, layers: [background, ...drawn.map((d) => d.layer)] }
}
