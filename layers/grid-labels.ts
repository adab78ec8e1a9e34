import { FONT, OSM_ATTRIBUTION, type LayerDef } from './types.ts'

/**
 * One label point per unit grid (the centre of its largest inscribed circle). Labels from the
 * polygons themselves would repeat on every tile a grid crosses.
 */
export const gridLabels: LayerDef = {
  id: 'grid_labels',
  title: { 'zh-CN': '网格名称', en: 'Grid names' },
  group: 'admin',
  geometryType: 'point',
  table: 'grids',
  idColumn: 'id',
  geomColumn: 'label_3857',
  properties: { code: 'string', name: 'string', district_code: 'string' },
  scopeColumn: 'code',
  minzoom: 13,
  maxzoom: 22,
  featureLimit: 20000,
  buffer: 64,
  attribution: OSM_ATTRIBUTION,
  style: [
    {
      id: 'grid_labels-text',
      type: 'symbol',
      slot: 'label',
      minzoom: 14,
      layout: {
        // The name; from z16 also the 15-digit grid code (GB/T 30428) under it, as dispatchers quote it.
        'text-field': ['step', ['zoom'], ['get', 'name'], 16, ['format', ['get', 'name'], {}, '\n', {}, ['get', 'code'], { 'font-scale': 0.8 }]],
        'text-font': FONT,
        'text-size': ['interpolate', ['linear'], ['zoom'], 14, 11, 17, 14],
        'text-max-width': 16,
        'text-padding': 4,
      },
      // Dimmer than the community, street and district names (the labels layer, basemap.ts), which outrank it.
      paint: { 'text-color': '#a9c1dc', 'text-halo-color': '#0a1626', 'text-halo-width': 1.2 },
      themePaint: {
        day: { 'text-color': '#1c2b3a', 'text-halo-color': '#ffffff' },
        contrast: { 'text-color': '#ffffff', 'text-halo-color': '#000000', 'text-halo-width': 2 },
      },
    },
  ],
  realtime: [],
}
