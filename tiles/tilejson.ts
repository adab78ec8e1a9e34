import { tileProperties, type LayerDef, type PropertyType } from '../layers/index.ts'

export type Bounds = [number, number, number, number]

const FIELD_TYPE: Record<PropertyType, string> = { string: 'String', number: 'Number', boolean: 'Boolean' }

/** TileJSON 3.0.0 for one catalog layer; tile URLs are absolute. */
export function tileJson(layer: LayerDef, baseUrl: string, bounds: Bounds | null, version: string) {
  const b: Bounds = bounds ?? [-180, -85.0511, 180, 85.0511]
  const centerZoom = Math.max(layer.minzoom, Math.min(14, layer.maxzoom))
  return {
    tilejson: '3.0.0',
    name: layer.id,
    description: layer.title['zh-CN'],
    version,
    attribution: layer.attribution,
    scheme: 'xyz',
    tiles: [`${baseUrl}/tiles/${layer.id}/{z}/{x}/{y}.mvt`],
    minzoom: layer.minzoom,
    maxzoom: layer.maxzoom,
    bounds: b,
    center: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, centerZoom],
    vector_layers: [
      {
        id: layer.id,
        description: layer.title.en,
        minzoom: layer.minzoom,
        maxzoom: layer.maxzoom,
        fields: Object.fromEntries(Object.entries(tileProperties(layer)).map(([k, t]) => [k, FIELD_TYPE[t]])),
      },
    ],
  }
}
