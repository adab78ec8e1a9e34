import type { LayerDef } from './types.ts'

const OSM = '© OpenStreetMap contributors'

/** The river and creeks (OSM), for the offline base map. */
export const water: LayerDef = {
  id: 'water',
  title: { 'zh-CN': '水系', en: 'Water' },
  group: 'base',
  geometryType: 'polygon',
  table: 'water',
  idColumn: 'id',
  geomColumn: 'geom_3857',
  properties: { name: 'string', kind: 'string' },
  scopeColumn: null,
  minzoom: 8,
  maxzoom: 22,
  featureLimit: 5000,
  buffer: 64,
  attribution: OSM,
  style: [
    {
      id: 'water-fill',
      type: 'fill',
      slot: 'base',
      paint: { 'fill-color': '#0b2a4a' },
      themePaint: { day: { 'fill-color': '#a8d4f0' }, contrast: { 'fill-color': '#003a80' } },
    },
  ],
  realtime: [],
}

/** Roads and paths (OSM), for the offline base map. */
export const roads: LayerDef = {
  id: 'roads',
  title: { 'zh-CN': '道路', en: 'Roads' },
  group: 'base',
  geometryType: 'line',
  table: 'roads',
  idColumn: 'id',
  geomColumn: 'geom_3857',
  properties: { name: 'string', kind: 'string', kind_detail: 'string' },
  scopeColumn: null,
  minzoom: 10,
  maxzoom: 22,
  featureLimit: 20000,
  buffer: 64,
  attribution: OSM,
  style: [
    {
      id: 'roads-minor',
      type: 'line',
      slot: 'base',
      minzoom: 14,
      filter: ['match', ['get', 'kind'], ['minor_road', 'path'], true, false],
      paint: { 'line-color': '#16283f', 'line-width': ['interpolate', ['linear'], ['zoom'], 14, 0.5, 18, 3] },
      themePaint: { day: { 'line-color': '#ffffff' }, contrast: { 'line-color': '#5a5a5a' } },
    },
    {
      id: 'roads-major',
      type: 'line',
      slot: 'base',
      filter: ['==', ['get', 'kind'], 'major_road'],
      paint: { 'line-color': '#23406a', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.8, 18, 8] },
      themePaint: { day: { 'line-color': '#f7d694' }, contrast: { 'line-color': '#ffffff' } },
    },
    {
      id: 'roads-rail',
      type: 'line',
      slot: 'base',
      minzoom: 13,
      filter: ['all', ['==', ['get', 'kind'], 'rail'], ['!=', ['get', 'kind_detail'], 'subway']],
      paint: { 'line-color': '#2b3a52', 'line-width': 1, 'line-dasharray': [3, 2] },
      themePaint: { day: { 'line-color': '#9aa4b1' }, contrast: { 'line-color': '#bbbbbb' } },
    },
  ],
  realtime: [],
}

/** Building footprints with heights (OSM; estimated heights are flagged). */
export const buildings: LayerDef = {
  id: 'buildings',
  title: { 'zh-CN': '建筑', en: 'Buildings' },
  group: 'base',
  geometryType: 'polygon',
  table: 'buildings',
  idColumn: 'id',
  geomColumn: 'geom_3857',
  properties: { name: 'string', kind: 'string', use: 'string', height_m: 'number', height_estimated: 'boolean', levels: 'number', grid_code: 'string' },
  scopeColumn: 'grid_code',
  minzoom: 12,
  maxzoom: 22,
  featureLimit: 20000,
  buffer: 64,
  attribution: OSM,
  style: [
    {
      id: 'buildings-fill',
      type: 'fill',
      slot: 'building',
      paint: {
        'fill-color': ['interpolate', ['linear'], ['get', 'height_m'], 0, '#13243b', 100, '#1b3556', 300, '#24507c'],
        'fill-opacity': 0.9,
      },
      themePaint: {
        day: { 'fill-color': ['interpolate', ['linear'], ['get', 'height_m'], 0, '#e4e0d8', 100, '#d4cec4', 300, '#c2bbb0'] },
        contrast: { 'fill-color': '#2a2a2a', 'fill-opacity': 1 },
      },
    },
  ],
  realtime: [],
}
