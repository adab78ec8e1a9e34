/**
 * The 3D city's colours and heights come from the same layer declarations the 2.5D map draws
 * (layers/*.ts: "declare a layer once"): a style layer's paint value — a plain value or any
 * MapLibre expression — evaluated per feature with the style spec's own evaluator. So the 3D
 * buildings take the 2.5D extrusion's colour ramp and height, and the grids their district fill.
 */
import { Color, expression, latest, type StylePropertySpecification } from '@maplibre/maplibre-gl-style-spec'
import type { LayerDef } from '../../../layers/types.ts'

type Properties = Record<string, unknown>

/** The zoom expressions are evaluated at: the wall's close city view. */
const ZOOM = 16

/** A paint property of `layer` as a function of a feature's properties; null when no style layer of it sets that property. */
export function paintOf<T>(layer: LayerDef, property: string): ((properties: Properties) => T) | null {
  for (const s of layer.style) {
    const value = (s.paint as Record<string, unknown> | undefined)?.[property]
    if (value === undefined) continue
    const spec = (latest as unknown as Record<string, Record<string, StylePropertySpecification> | undefined>)[`paint_${s.type}`]?.[property]
    if (!spec) throw new Error(`${layer.id}: ${s.type} has no paint property ${property}`)
    const parsed = expression.createExpression(value, property, spec)
    if (parsed.result === 'error') throw new Error(`${layer.id}/${s.id} ${property}: ${parsed.value.map((e) => e.message).join('; ')}`)
    const compiled = parsed.value
    const feature = { type: 'Polygon' as const, properties: {} as Properties }
    return (properties) => {
      feature.properties = properties
      return compiled.evaluate({ zoom: ZOOM }, feature as never) as T
    }
  }
  return null
}

/** A colour as 0–1 RGBA, not premultiplied (what Cesium's Color takes). */
export type Rgba = [number, number, number, number]

/** The style spec keeps colours premultiplied by alpha; Cesium wants them straight. */
export function straight(c: Color): Rgba {
  return c.a === 0 ? [0, 0, 0, 0] : [c.r / c.a, c.g / c.a, c.b / c.a, c.a]
}

/** A CSS colour (palette entries) as 0–1 RGBA; throws on a typo rather than drawing black. */
export function cssRgba(css: string, alpha = 1): Rgba {
  const c = Color.parse(css)
  if (!c) throw new Error(`not a colour: ${css}`)
  const [r, g, b, a] = straight(c)
  return [r, g, b, a * alpha]
}

/**
 * Colour and height of a building as the 2.5D extrusion draws it. The night extrusion colours are
 * very dark (MapLibre shades them with its own light and vertical gradient); Cesium's lit
 * surfaces get `lift` of the way towards white-blue so the towers read on the dark ground the
 * same way, and a translucent 2.5D opacity is drawn opaque (one batched, depth-tested primitive).
 */
export function buildingStyle(layer: LayerDef, lift = 0.22): { color: (p: Properties) => Rgba; height: (p: Properties) => number } {
  const color = paintOf<Color>(layer, 'fill-extrusion-color') ?? paintOf<Color>(layer, 'fill-color')
  const height = paintOf<number>(layer, 'fill-extrusion-height')
  const glow: Rgba = [0.55, 0.75, 1, 1]
  return {
    color: (p) => {
      const [r, g, b] = color ? straight(color(p)) : [0.1, 0.2, 0.35]
      return [r + (glow[0] - r) * lift, g + (glow[1] - g) * lift, b + (glow[2] - b) * lift, 1]
    },
    height: (p) => {
      const h = height ? height(p) : Number(p.height_m)
      // a footprint without a usable height still stands (the 2.5D fallback is 6 m too)
      return Number.isFinite(h) && h > 0 ? h : 6
    },
  }
}
