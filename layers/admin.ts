import { OSM_ATTRIBUTION, type LayerDef, type StyleLayer } from './types.ts'

/**
 * Admin boundaries per level: 区 (district), 街道 (street), 社区 (community), as outlines over
 * the grids. Each layer reads a view of admin_units for its level (migration 003). Boundaries
 * are base map: everyone sees them all (scopeColumn null), whatever their scope.
 */
function adminLayer(level: { id: string; view: string; title: LayerDef['title']; minzoom: number; style: StyleLayer[] }): LayerDef {
  return {
    id: level.id,
    title: level.title,
    group: 'admin',
    geometryType: 'polygon',
    table: level.view,
    idColumn: 'id',
    geomColumn: 'geom_3857',
    properties: { code: 'string', name: 'string', parent_code: 'string' },
    scopeColumn: null,
    minzoom: level.minzoom,
    maxzoom: 22,
    featureLimit: 5000,
    buffer: 64,
    attribution: OSM_ATTRIBUTION,
    style: level.style,
    realtime: [],
    card: 'admin_unit',
  }
}

/** District boundaries: thick and warm, the strongest line on the map. */
export const districts = adminLayer({
  id: 'districts',
  view: 'admin_districts',
  title: { 'zh-CN': '区界', en: 'District boundaries' },
  minzoom: 8,
  style: [
    {
      id: 'districts-line',
      type: 'line',
      slot: 'outline',
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': '#f2b84b',
        'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1.5, 14, 3, 18, 6],
        'line-opacity': 0.9,
      },
      themePaint: { day: { 'line-color': '#b5651d' }, contrast: { 'line-color': '#ff9900', 'line-opacity': 1 } },
    },
  ],
})

/** Street (街道) boundaries: medium, dashed. */
export const streets = adminLayer({
  id: 'streets',
  view: 'admin_streets',
  title: { 'zh-CN': '街道界', en: 'Street boundaries' },
  minzoom: 10,
  style: [
    {
      id: 'streets-line',
      type: 'line',
      slot: 'outline',
      minzoom: 11,
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': '#a8f0ff',
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, 1.2, 14, 2.4, 18, 4],
        'line-dasharray': [3, 1.5],
        'line-opacity': 0.95,
      },
      themePaint: { day: { 'line-color': '#1d6fa5' }, contrast: { 'line-color': '#00ffff', 'line-opacity': 1 } },
    },
  ],
})

/** Community (社区) boundaries: thin. */
export const communities = adminLayer({
  id: 'communities',
  view: 'admin_communities',
  title: { 'zh-CN': '社区界', en: 'Community boundaries' },
  minzoom: 12,
  style: [
    {
      id: 'communities-line',
      type: 'line',
      slot: 'outline',
      minzoom: 13,
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': '#e8eefa',
        'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.8, 16, 1.5, 18, 2],
        'line-dasharray': [1.5, 2],
        'line-opacity': 0.8,
      },
      themePaint: { day: { 'line-color': '#5a6b80' }, contrast: { 'line-color': '#ffffff', 'line-opacity': 1 } },
    },
  ],
})
