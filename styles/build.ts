import type { StyleSpecification, LayerSpecification } from '@maplibre/maplibre-gl-style-spec'
import { catalog, SLOTS, type LayerDef, type ThemeName } from '../layers/index.ts'
import { SURFACES } from './palette.ts'

/**
 * MapLibre styles built from the layer catalog. Sources are only the project's own TileJSON.
 * There is deliberately no `glyphs` URL: MapLibre GL JS (≥ 5.11) then draws every label
 * glyph locally from the `text-font` stack as CSS font families (Noto Sans CJK, which
 * `.ci/run` installs; any system CJK font on a desktop). Icons come from the project's own
 * sprite (styles/sprite.ts, served at /styles/sprite[@2x].{json,png}); colours from
 * styles/palette.ts.
 */
export interface StyleTheme {
  name: string
  background: string
}

/** night: the wall (dark, 24/7); day: dispatcher seats; contrast: projectors in a lit room. */
export const THEMES: Record<ThemeName, StyleTheme> = {
  night: { name: 'OneGrid night (wall)', background: SURFACES.night.background },
  day: { name: 'OneGrid day (seat)', background: SURFACES.day.background },
  contrast: { name: 'OneGrid contrast (projector)', background: SURFACES.contrast.background },
}

/**
 * The style of a theme. `include` picks the catalog layers (default: all) — the route passes the
 * asker's role, so nobody's map asks for tiles it may not have. A layer declared `hidden` is in
 * the style with `visibility: none` until the user switches it on.
 */
export function buildStyle(themeName: ThemeName, baseUrl: string, include: (def: LayerDef) => boolean = () => true): StyleSpecification {
  const theme = THEMES[themeName]
  const sources: StyleSpecification['sources'] = {}
  const drawn: { slot: number; layer: LayerSpecification }[] = []
  for (const def of catalog.values()) {
    if (!include(def)) continue
    sources[def.id] = { type: 'vector', url: `${baseUrl}/tiles/${def.id}.json`, attribution: def.attribution }
    for (const { slot, themePaint, ...l } of def.style) {
      const override = themeName === 'night' ? undefined : themePaint?.[themeName]
      const paint = override ? { ...(('paint' in l && l.paint) || {}), ...override } : 'paint' in l ? l.paint : undefined
      const layout = def.hidden ? { ...(('layout' in l && l.layout) || {}), visibility: 'none' } : 'layout' in l ? l.layout : undefined
      drawn.push({
        slot: SLOTS.indexOf(slot),
        layer: { ...l, ...(paint ? { paint } : {}), ...(layout ? { layout } : {}), source: def.id, 'source-layer': def.id } as LayerSpecification,
      })
    }
  }
  // Array.prototype.sort is stable: within a slot, catalog order stays.
  drawn.sort((a, b) => a.slot - b.slot)
  const background: LayerSpecification = { id: 'background', type: 'background', paint: { 'background-color': theme.background } }
  return { version: 8, name: theme.name, sprite: `${baseUrl}/styles/sprite`, sources, layers: [background, ...drawn.map((d) => d.layer)] }
}
