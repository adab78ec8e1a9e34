import { Color } from '@maplibre/maplibre-gl-style-spec'
import type { StyleSpecification } from 'maplibre-gl'
import type { CatalogLayer } from '../services/tiles.ts'

/** One legend row: a catalog layer and how the style draws it. */
export interface LegendItem {
  layerId: string
  title: CatalogLayer['title']
  kind: 'fill' | 'line' | 'circle'
  /** Every distinct colour the layer can take (e.g. each branch of a `match`). */
  colors: string[]
  opacity: number
}

const COLOR_PAINT = { fill: ['fill-color', 'fill-opacity'], line: ['line-color', 'line-opacity'], circle: ['circle-color', 'circle-opacity'] } as const

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
 * The legend, driven by the catalog: for each catalog layer, the first style layer that draws
 * its source as a fill, line or circle, with the colours its paint can take. Labels are left out.
 */
export function legendFromStyle(style: StyleSpecification | undefined, layers: readonly CatalogLayer[]): LegendItem[] {
  if (!style) return []
  const items: LegendItem[] = []
  for (const def of layers) {
    const drawn = style.layers.find((l) => 'source' in l && l.source === def.id && (l.type === 'fill' || l.type === 'line' || l.type === 'circle'))
    if (!drawn || !(drawn.type === 'fill' || drawn.type === 'line' || drawn.type === 'circle')) continue
    const [colorKey, opacityKey] = COLOR_PAINT[drawn.type]
    const paint = (drawn.paint ?? {}) as Record<string, unknown>
    const colors = allColors(paint[colorKey])
    const opacity = typeof paint[opacityKey] === 'number' ? (paint[opacityKey] as number) : 1
    if (colors.length) items.push({ layerId: def.id, title: def.title, kind: drawn.type, colors, opacity })
  }
  return items
}
