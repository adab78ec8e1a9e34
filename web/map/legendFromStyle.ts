import { Color } from '@maplibre/maplibre-gl-style-spec'
import type { StyleSpecification } from 'maplibre-gl'
import type { CatalogLayer } from '../services/tiles.ts'

/** One legend row: a catalog layer and how the style draws it. */
export interface LegendItem {
  layerId: string
  title: CatalogLayer['title']
  /** The catalog group (admin, base, assets, sensing, people, cases): the switcher's sections. */
  group: string
  kind: LegendKind
  /** Every distinct colour the layer can take (e.g. each branch of a `match`). */
  colors: string[]
  opacity: number
  /** Whether the layer is drawn now (a layer can start hidden and be switched on). */
  visible: boolean
}

/** How a legend swatch is drawn: the style layer types that draw a catalog layer. */
export type LegendKind = 'fill' | 'fill-extrusion' | 'line' | 'circle' | 'heatmap' | 'symbol' | 'ring'

/** The switcher's sections, in this order (layers/types.ts LayerDef.group). */
export const LEGEND_GROUPS = ['admin', 'base', 'assets', 'sensing', 'people', 'cases'] as const

const COLOR_PAINT = {
  fill: ['fill-color', 'fill-opacity'],
  'fill-extrusion': ['fill-extrusion-color', 'fill-extrusion-opacity'],
  line: ['line-color', 'line-opacity'],
  circle: ['circle-color', 'circle-opacity'],
  heatmap: ['heatmap-color', 'heatmap-opacity'],
  symbol: ['text-color', 'text-opacity'],
} as const

/** Which of a source's style layers the legend shows: shapes before heat before labels or icons. */
const PREFERENCE = ['fill-extrusion', 'fill', 'line', 'circle', 'heatmap', 'symbol'] as const
type StyleKind = (typeof PREFERENCE)[number]
const isKind = (t: string): t is StyleKind => (PREFERENCE as readonly string[]).includes(t)
/** A label or icon layer without a literal colour (e.g. a plain sprite icon). */
const SYMBOL_DEFAULT = '#d6ecff'

/** Every string literal in a paint value that the style spec parses as a colour, distinct, in order. */
export function allColors(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (Color.parse(value) && !out.includes(value)) out.push(value)
  } else if (Array.isArray(value)) {
    // An expression's first element is its operator name, never a colour.
    for (const item of typeof value[0] === 'string' && !Color.parse(value[0]) ? value.slice(1) : value) allColors(item, out)
  }
  return out
}

/**
 * The legend, driven by the catalog: one row for every catalog layer the style draws, from the
 * first of its style layers by PREFERENCE (a fill over its outline, a circle over its label),
 * with the colours its paint can take; a heat map shows its colour ramp, a label layer its text colour.
 */
export function legendFromStyle(style: StyleSpecification | undefined, layers: readonly CatalogLayer[]): LegendItem[] {
  if (!style) return []
  const items: LegendItem[] = []
  for (const def of layers) {
    const own = style.layers.filter((l) => 'source' in l && l.source === def.id && isKind(l.type))
    const drawn = PREFERENCE.map((k) => own.find((l) => l.type === k)).find((l) => l !== undefined)
    if (!drawn || !isKind(drawn.type)) continue
    const kind = drawn.type
    const [colorKey, opacityKey] = COLOR_PAINT[kind]
    const paint = ('paint' in drawn ? drawn.paint ?? {} : {}) as Record<string, unknown>
    let colors = allColors(paint[colorKey])
    // A heat ramp starts transparent: the legend shows where it has colour.
    if (kind === 'heatmap') colors = colors.filter((c) => (Color.parse(c)?.a ?? 1) > 0)
    if (kind === 'symbol' && colors.length === 0) colors = [SYMBOL_DEFAULT]
    const opacity = typeof paint[opacityKey] === 'number' ? (paint[opacityKey] as number) : 1
    const visible = !own.every((l) => (l.layout as { visibility?: string } | undefined)?.visibility === 'none')
    if (colors.length) items.push({ layerId: def.id, title: def.title, group: def.group, kind, colors, opacity, visible })
  }
  return items
}
