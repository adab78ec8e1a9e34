import type { ExpressionSpecification, FilterSpecification } from '@maplibre/maplibre-gl-style-spec'
import { FONT, FONT_BOLD, OSM_ATTRIBUTION, type LayerDef, type StyleLayer } from './types.ts'

/** What the OpenStreetMap base layers share: whole tables, seen by everyone, to z22. */
const osm: Pick<LayerDef, 'idColumn' | 'geomColumn' | 'scopeColumn' | 'maxzoom' | 'buffer' | 'attribution' | 'realtime'> = {
  idColumn: 'id',
  geomColumn: 'geom_3857',
  scopeColumn: null,
  maxzoom: 22,
  buffer: 64,
  attribution: OSM_ATTRIBUTION,
  realtime: [],
}

/** OSM land-use kinds drawn as green (parks, grass, woods, sports grounds). */
const GREEN = ['park', 'grass', 'garden', 'forest', 'natural_wood', 'recreation_ground', 'pitch', 'protected_area']
/** Built-up kinds: homes, and shops and offices. */
const RESIDENTIAL = ['residential']
const COMMERCIAL = ['commercial', 'retail']
/** Paved open space: squares, piers, car parks, bridges. */
const PAVED = ['pedestrian', 'footway', 'parking', 'pier', 'bridge', 'fuel']

/** A fill colour by land-use kind: green, residential, commercial, paved, anything else. */
const landuseColor = (green: string, residential: string, commercial: string, paved: string, other: string): ExpressionSpecification => [
  'match',
  ['get', 'kind'],
  GREEN, green,
  RESIDENTIAL, residential,
  COMMERCIAL, commercial,
  PAVED, paved,
  other,
]

/** Land use (OSM): parks and grass greenish, residential and commercial areas subtle. */
export const landuse: LayerDef = {
  ...osm,
  id: 'landuse',
  title: { 'zh-CN': '用地', en: 'Land use' },
  group: 'base',
  geometryType: 'polygon',
  table: 'landuse',
  properties: { name: 'string', kind: 'string' },
  minzoom: 10,
  featureLimit: 5000,
  style: [
    {
      id: 'landuse-fill',
      type: 'fill',
      slot: 'base',
      paint: { 'fill-color': landuseColor('#124a33', '#0e1f36', '#1c1f40', '#122236', '#0c1a2c'), 'fill-opacity': 0.9 },
      themePaint: {
        day: { 'fill-color': landuseColor('#c9e6bd', '#e6e1d8', '#f1dede', '#e9e9ec', '#e4e6e8') },
        contrast: { 'fill-color': landuseColor('#0b4a1e', '#161616', '#24142a', '#1c1c1c', '#101010'), 'fill-opacity': 1 },
      },
    },
  ],
}

/** The river and creeks (OSM), for the offline base map. */
export const water: LayerDef = {
  ...osm,
  id: 'water',
  title: { 'zh-CN': '水系', en: 'Water' },
  group: 'base',
  geometryType: 'polygon',
  table: 'water',
  properties: { name: 'string', kind: 'string' },
  minzoom: 8,
  featureLimit: 5000,
  style: [
    {
      id: 'water-fill',
      type: 'fill',
      slot: 'base',
      paint: { 'fill-color': '#0b2a4a' },
      themePaint: { day: { 'fill-color': '#a8d4f0' }, contrast: { 'fill-color': '#003a80' } },
    },
  ],
}

/** Roads and paths (OSM), for the offline base map. */
export const roads: LayerDef = {
  ...osm,
  id: 'roads',
  title: { 'zh-CN': '道路', en: 'Roads' },
  group: 'base',
  geometryType: 'line',
  table: 'roads',
  properties: { name: 'string', kind: 'string', kind_detail: 'string' },
  minzoom: 10,
  featureLimit: 20000,
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
    {
      // Names of major roads along the road (中山东一路, 世纪大道, …).
      id: 'roads-names',
      type: 'symbol',
      slot: 'label',
      minzoom: 14,
      // Tunnels (…隧道) run under the river: their names would float over the water.
      filter: ['all', ['==', ['get', 'kind'], 'major_road'], ['has', 'name'], ['!', ['in', '隧道', ['get', 'name']]]],
      layout: {
        'symbol-placement': 'line',
        'symbol-spacing': 400,
        'text-field': ['get', 'name'],
        'text-font': FONT,
        'text-size': ['interpolate', ['linear'], ['zoom'], 14, 11, 18, 15],
        'text-max-angle': 30,
        'text-padding': 8,
      },
      paint: { 'text-color': '#8fb0d6', 'text-halo-color': '#06101e', 'text-halo-width': 1.4 },
      themePaint: {
        day: { 'text-color': '#5b4a2a', 'text-halo-color': '#ffffff' },
        contrast: { 'text-color': '#ffffff', 'text-halo-color': '#000000', 'text-halo-width': 2 },
      },
    },
  ],
}

/** Building footprints with heights (OSM; estimated heights are flagged). */
export const buildings: LayerDef = {
  ...osm,
  id: 'buildings',
  card: 'building',
  title: { 'zh-CN': '建筑', en: 'Buildings' },
  group: 'base',
  geometryType: 'polygon',
  table: 'buildings',
  properties: { name: 'string', kind: 'string', use: 'string', height_m: 'number', height_estimated: 'boolean', levels: 'number', grid_code: 'string' },
  scopeColumn: 'grid_code',
  minzoom: 12,
  featureLimit: 20000,
  style: [
    {
      // Real 3D: extruded to each building's height (the wall tilts the map to show it).
      id: 'buildings-extrusion',
      type: 'fill-extrusion',
      slot: 'building',
      paint: {
        'fill-extrusion-color': ['interpolate', ['linear'], ['coalesce', ['get', 'height_m'], 0], 0, '#13243b', 100, '#1b3556', 300, '#24507c'],
        'fill-extrusion-height': ['coalesce', ['get', 'height_m'], 6],
        'fill-extrusion-base': 0,
        'fill-extrusion-opacity': 0.9,
        'fill-extrusion-vertical-gradient': true,
      },
      themePaint: {
        day: { 'fill-extrusion-color': ['interpolate', ['linear'], ['coalesce', ['get', 'height_m'], 0], 0, '#e4e0d8', 100, '#d4cec4', 300, '#c2bbb0'] },
        contrast: { 'fill-extrusion-color': '#2a2a2a', 'fill-extrusion-opacity': 1 },
      },
    },
  ],
}

/** A label style layer for one kind of map label, shown from minzoom up to maxzoom. */
function labelLayer(
  kind: string,
  o: { id?: string; ranks?: [number, number]; minzoom: number; maxzoom: number; size: [number, number, number, number]; color: string; bold?: boolean; halo?: number; day: string; contrast?: string },
): StyleLayer {
  const filter: FilterSpecification = ['==', ['get', 'kind'], kind]
  return {
    id: `labels-${o.id ?? kind}`,
    type: 'symbol',
    slot: 'label',
    minzoom: o.minzoom,
    maxzoom: o.maxzoom,
    filter: o.ranks ? ['all', filter, ['>=', ['get', 'rank'], o.ranks[0]], ['<=', ['get', 'rank'], o.ranks[1]]] : filter,
    layout: {
      'text-field': ['get', 'name'],
      'text-font': o.bold ? FONT_BOLD : FONT,
      'text-size': ['interpolate', ['linear'], ['zoom'], ...o.size],
      'text-max-width': 10,
      'text-padding': 6,
      'text-letter-spacing': 0.08,
      // Lower rank first: within a kind, the more important label wins a collision.
      'symbol-sort-key': ['get', 'rank'],
    },
    paint: { 'text-color': o.color, 'text-halo-color': '#06101e', 'text-halo-width': o.halo ?? 1.6, 'text-halo-blur': 0.5 },
    themePaint: {
      day: { 'text-color': o.day, 'text-halo-color': '#ffffff' },
      contrast: { 'text-color': o.contrast ?? '#ffffff', 'text-halo-color': '#000000', 'text-halo-width': 2.5 },
    },
  }
}

/**
 * Map labels: one point per district, street and community (inside the unit, on land) and the
 * OSM places. Drawn top → bottom district, street, community, place, so a district name wins
 * over a street name over a community name where they collide; each kind has its zoom range.
 */
export const labels: LayerDef = {
  ...osm,
  id: 'labels',
  title: { 'zh-CN': '地名', en: 'Place names' },
  group: 'base',
  geometryType: 'point',
  table: 'map_labels',
  properties: { name: 'string', name_en: 'string', kind: 'string', rank: 'number' },
  minzoom: 8,
  featureLimit: 5000,
  style: [
    // Neighbourhoods (rank 5) have only romanised names in the data: shown close in only.
    labelLayer('place', { id: 'neighbourhood', ranks: [5, 5], minzoom: 16.5, maxzoom: 22, size: [16.5, 12, 18, 14], color: '#8c9db3', day: '#6a7380', contrast: '#cccccc' }),
    labelLayer('place', { id: 'locality', ranks: [4, 4], minzoom: 14, maxzoom: 22, size: [14, 12, 18, 16], color: '#c6d4e6', day: '#55606e', contrast: '#dddddd' }),
    labelLayer('community', { minzoom: 13.5, maxzoom: 18.5, size: [13.5, 12, 17, 16], color: '#d9e6f5', day: '#34475e' }),
    labelLayer('street', { minzoom: 11.5, maxzoom: 17.5, size: [11.5, 13, 16, 20], color: '#8fe3ff', bold: true, day: '#0f5b8c', contrast: '#00ffff' }),
    labelLayer('district', { minzoom: 9, maxzoom: 16.5, size: [9, 13, 15, 24], color: '#ffd27a', bold: true, halo: 2, day: '#8a4b0f', contrast: '#ffcc00' }),
  ],
}
