import { OSM_ATTRIBUTION, type LayerDef } from './types.ts'

/** Unit grids (单元网格): the finest node of the admin/grid hierarchy, 15-digit codes. */
export const grids: LayerDef = {
  id: 'grids',
  card: 'grid',
  title: { 'zh-CN': '单元网格', en: 'Unit grids' },
  group: 'admin',
  geometryType: 'polygon',
  table: 'grids',
  idColumn: 'id',
  geomColumn: 'geom_3857',
  properties: {
    code: 'string',
    name: 'string',
    community_code: 'string',
    street_code: 'string',
    district_code: 'string',
    area_m2: 'number',
  },
  scopeColumn: 'code',
  // Below z12 a tile holds thousands of grids (1.3 MB at z10 with the scale data) too small to
  // tell apart: districts and streets outline the city there.
  minzoom: 12,
  maxzoom: 22,
  featureLimit: 20000,
  buffer: 64,
  attribution: OSM_ATTRIBUTION,
  style: [
    {
      id: 'grids-fill',
      type: 'fill',
      slot: 'area',
      paint: {
        'fill-color': [
          'match',
          ['get', 'district_code'],
          '310101', '#1f6feb',
          '310115', '#0fa3a3',
          '310109', '#8957e5',
          '310110', '#b0762a',
          '#3b5b8c',
        ],
        'fill-opacity': 0.22,
      },
      themePaint: { day: { 'fill-opacity': 0.12 }, contrast: { 'fill-opacity': 0.35 } },
    },
    {
      id: 'grids-line',
      type: 'line',
      slot: 'outline',
      paint: { 'line-color': '#3a8fd6', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.6, 16, 2], 'line-opacity': 0.9 },
      themePaint: { day: { 'line-color': '#1f5fa8' }, contrast: { 'line-color': '#ffff00', 'line-opacity': 1 } },
    },
  ],
  realtime: [],
}
