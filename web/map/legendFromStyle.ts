import type { StyleSpecification } from 'maplibre-gl'

/** One legend row derived from a style layer. */
export interface LegendItem {
  layerId: string
  kind: 'fill' | 'line'
  /** A CSS colour usable for the swatch (the first one found). */
  color: string
  /** Every distinct colour the layer can take (e.g. each branch of a `match`). */
  colors: string[]
  opacity: number
}

const COLOR_RE = /^(#[0-9a-f]{3,8}|rgba?\([^)]*\)|hsla?\([^)]*\))$/i

/** First colour-looking string literal inside a paint value (plain colour or expression). */
export function firstColor(value: unknown): string | null {
  if (typeof value === 'string') return COLOR_RE.test(value.trim()) || /^[a-z]+$/i.test(value) ? value : null
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = typeof item === 'string' ? (COLOR_RE.test(item.trim()) ? item : null) : firstColor(item)
      if (found) return found
    }
  }
  return null
}

/** Every colour-looking string literal inside a paint value, distinct, in order. */
export function allColors(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (COLOR_RE.test(value.trim()) && !out.includes(value)) out.push(value)
  } else if (Array.isArray(value)) {
    for (const item of value) allColors(item, out)
  }
  return out
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}

/** Legend rows for the style layers whose id starts with `prefix` (e.g. `grids-`). */
export function legendFromStyle(style: StyleSpecification | undefined, prefix: string): LegendItem[] {
  if (!style) return []
  const items: LegendItem[] = []
  for (const layer of style.layers) {
    if (!layer.id.startsWith(prefix)) continue
    if (layer.type === 'fill') {
      const value = layer.paint?.['fill-color']
      const color = firstColor(value)
      if (color) items.push({ layerId: layer.id, kind: 'fill', color, colors: allColors(value), opacity: numberOr(layer.paint?.['fill-opacity'], 1) })
    } else if (layer.type === 'line') {
      const value = layer.paint?.['line-color']
      const color = firstColor(value)
      if (color) items.push({ layerId: layer.id, kind: 'line', color, colors: allColors(value), opacity: numberOr(layer.paint?.['line-opacity'], 1) })
    }
  }
  return items
}
