import { STATUS, SURFACES } from '../styles/palette.ts'
import { FONT, type LayerDef, type StyleLayer } from './types.ts'

/**
 * The objects the hall watches, as point layers scoped by grid code. At low zoom (and wherever a
 * tile would be too dense) the server sends counts by status per cell instead of the points
 * (LayerDef.aggregate); `aggregateStyle` draws those cells, the `-dot` layers the points.
 */


/** Only features, not aggregated cells (cells carry `count`). */
const FEATURES = ['!', ['has', 'count']]

/**
 * An aggregated cell: a circle sized by how many it holds, coloured by the worst status present,
 * and its count (1.2k above a thousand).
 */
export function aggregateStyle(id: string, colors: Record<string, string>, fallback: string): StyleLayer[] {
  const color = match('top_status', colors, fallback)
  return [
    {
      id: `${id}-cell`,
      type: 'circle',
      slot: 'point',
      filter: ['has', 'count'],
      paint: {
        'circle-color': color,
        'circle-opacity': 0.85,
        'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'count']], 1, 5, 10, 10, 100, 16],
        'circle-stroke-color': '#d6ecff',
        'circle-stroke-width': 1,
        'circle-stroke-opacity': 0.6,
      },
      themePaint: { day: { 'circle-stroke-color': '#ffffff' }, contrast: { 'circle-stroke-color': '#ffffff', 'circle-opacity': 1 } },
    },
    {
      id: `${id}-cell-count`,
      type: 'symbol',
      slot: 'label',
      filter: ['all', ['has', 'count'], ['>', ['get', 'count'], 1]],
      layout: {
        'text-field': ['case', ['>=', ['get', 'count'], 1000], ['concat', ['number-format', ['/', ['get', 'count'], 1000], { 'max-fraction-digits': 1 }], 'k'], ['to-string', ['get', 'count']]],
        'text-font': FONT,
        'text-size': 10,
        'text-allow-overlap': true,
      },
      paint: { 'text-color': '#ffffff', 'text-halo-color': SURFACES.night.background, 'text-halo-width': 1 },
      themePaint: { day: { 'text-halo-color': '#1c2b3a' } },
    },
  ] as StyleLayer[]
}
const base: Pick<LayerDef, 'geometryType' | 'idColumn' | 'geomColumn' | 'scopeColumn' | 'maxzoom' | 'featureLimit' | 'buffer' | 'attribution' | 'realtime' | 'permission'> = {
  geometryType: 'point',
  idColumn: 'id',
  geomColumn: 'geom_3857',
  scopeColumn: 'grid_code',
  maxzoom: 22,
  featureLimit: 50000,
  buffer: 16,
  attribution: 'OneGrid demo data',
  realtime: [],
  permission: 'map.objects',
}

const INK = SURFACES.night.ink
const match = (prop: string, colors: Record<string, string>, fallback: string) => ['match', ['get', prop], ...Object.entries(colors).flat(), fallback]

const circle = (id: string, color: unknown, radius: unknown, minzoom?: number, paint: Record<string, unknown> = {}): StyleLayer =>
  ({
    id,
    type: 'circle',
    slot: 'point',
    filter: FEATURES,
    ...(minzoom !== undefined ? { minzoom } : {}),
    paint: { 'circle-color': color, 'circle-radius': radius, 'circle-stroke-color': INK, 'circle-stroke-width': 0.6, ...paint },
  }) as StyleLayer

const zoomRadius = (small: number, large: number) => ['interpolate', ['linear'], ['zoom'], 14, small, 18, large]

export const parts: LayerDef = {
  ...base,
  id: 'parts',
  card: 'part',
  title: { 'zh-CN': '城市部件', en: 'City parts' },
  group: 'assets',
  table: 'parts',
  properties: { code: 'string', class_code: 'string', name: 'string', state: 'string', grid_code: 'string' },
  minzoom: 12,
  // 11.8k parts in the demo, ~100 per block: off until asked for (the legend switches it on).
  hidden: true,
  aggregate: { belowZoom: 16, cell: 256, statusColumn: 'state', statuses: ['lost', 'damaged', 'occupied', 'intact'] },
  style: [
    ...aggregateStyle('parts', STATUS.part, STATUS.part.intact),
    circle('parts-dot', match('state', STATUS.part, STATUS.part.intact), zoomRadius(1.5, 4)),
  ],
}

export const sensors: LayerDef = {
  ...base,
  id: 'sensors',
  card: 'sensor',
  title: { 'zh-CN': '物联感知设备', en: 'Sensors' },
  group: 'sensing',
  table: 'sensors',
  properties: { code: 'string', type: 'string', name: 'string', status: 'string', last_value: 'number', unit: 'string', grid_code: 'string' },
  minzoom: 8,
  aggregate: { belowZoom: 14, cell: 256, statusColumn: 'status', statuses: ['alarm', 'offline', 'online'] },
  style: [
    ...aggregateStyle('sensors', STATUS.sensor, STATUS.sensor.online),
    circle('sensors-dot', match('status', STATUS.sensor, STATUS.sensor.online), zoomRadius(2.5, 6)),
  ],
}

export const cameras: LayerDef = {
  ...base,
  id: 'cameras',
  card: 'camera',
  title: { 'zh-CN': '视频监控', en: 'Cameras' },
  group: 'sensing',
  table: 'cameras',
  properties: { code: 'string', name: 'string', kind: 'string', heading_deg: 'number', fov_deg: 'number', range_m: 'number', status: 'string', grid_code: 'string' },
  minzoom: 8,
  aggregate: { belowZoom: 14, cell: 256, statusColumn: 'status', statuses: ['fault', 'offline', 'online'] },
  deck: { kind: 'fov-cones', minzoom: 16 },
  style: [
    // A dot at z14–15, where the wall shows a whole street; from z15 the camera icon from the
    // sprite (styles/icons), turned to heading_deg so it shows which way the camera looks.
    {
      id: 'cameras-dot',
      type: 'circle',
      slot: 'point',
      filter: FEATURES,
      minzoom: 14,
      maxzoom: 15,
      paint: { 'circle-color': match('status', { online: STATUS.camera.online }, STATUS.camera.offline), 'circle-radius': 2.5, 'circle-stroke-color': INK, 'circle-stroke-width': 0.6 },
    },
    {
      id: 'cameras-icon',
      type: 'symbol',
      slot: 'point',
      filter: FEATURES,
      minzoom: 15,
      layout: {
        // `case` outputs must be wrapped in `image` (MapLibre 5 draws nothing for bare names there).
        'icon-image': [
          'case',
          ['==', ['get', 'kind'], 'ptz'],
          ['image', ['match', ['get', 'status'], 'online', 'camera-ptz-online', 'camera-ptz-offline']],
          ['image', ['match', ['get', 'status'], 'online', 'camera-fixed-online', 'camera-fixed-offline']],
        ],
        'icon-rotate': ['coalesce', ['get', 'heading_deg'], 0],
        'icon-rotation-alignment': 'map',
        'icon-size': ['interpolate', ['linear'], ['zoom'], 15, 0.7, 17, 1, 19, 1.3],
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
      },
    },
  ] as StyleLayer[],
}

export const workers: LayerDef = {
  ...base,
  id: 'workers',
  card: 'worker',
  title: { 'zh-CN': '网格员', en: 'Grid workers' },
  group: 'people',
  table: 'worker_map',
  properties: { code: 'string', name: 'string', role: 'string', duty_status: 'string', out_of_grid: 'boolean', grid_code: 'string' },
  minzoom: 8,
  aggregate: { belowZoom: 13, cell: 256, statusColumn: 'duty_status', statuses: ['busy', 'on_duty', 'off_duty', 'leave'] },
  permission: 'workers.read',
  style: [
    ...aggregateStyle('workers', STATUS.duty, STATUS.duty.off_duty),
    // 出格预警: an on-duty worker outside their grids gets a red ring.
    circle('workers-dot', match('duty_status', STATUS.duty, STATUS.duty.off_duty), zoomRadius(3, 7), undefined, {
      'circle-stroke-color': ['case', ['boolean', ['get', 'out_of_grid'], false], STATUS.sensor.alarm, INK],
      'circle-stroke-width': ['case', ['boolean', ['get', 'out_of_grid'], false], 2.5, 0.6],
    }),
  ],
}

export const keyPlaces: LayerDef = {
  ...base,
  id: 'key_places',
  card: 'key_place',
  title: { 'zh-CN': '重点场所', en: 'Key places' },
  group: 'assets',
  table: 'key_places',
  properties: { name: 'string', kind: 'string', risk_color: 'string', grid_code: 'string' },
  minzoom: 12,
  style: [
    // A disc coloured by risk grade, with the kind's pictogram (sprite, dark ink) on it from z14
    // and the name under it from z16.
    {
      id: 'key_places-dot',
      type: 'circle',
      slot: 'point',
      paint: {
        'circle-color': match('risk_color', STATUS.risk, STATUS.risk.green),
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 3, 14, 7, 17, 11],
        'circle-stroke-color': INK,
        'circle-stroke-width': 1.2,
      },
      themePaint: { day: { 'circle-stroke-color': '#1c2b3a' }, contrast: { 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } },
    },
    {
      id: 'key_places-icon',
      type: 'symbol',
      slot: 'point',
      minzoom: 14,
      layout: {
        'icon-image': ['match', ['get', 'kind'], 'school', 'kp-school', 'kindergarten', 'kp-kindergarten', 'hospital', 'kp-hospital', 'market', 'kp-market', 'hazardous', 'kp-hazardous', 'construction', 'kp-construction', 'transport_hub', 'kp-transport_hub', 'venue', 'kp-venue', 'government', 'kp-government', 'religious', 'kp-religious', 'kp-other'],
        'icon-size': ['interpolate', ['linear'], ['zoom'], 14, 0.55, 17, 0.85],
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
      },
    },
    {
      id: 'key_places-name',
      type: 'symbol',
      slot: 'label',
      minzoom: 16,
      layout: {
        'text-field': ['get', 'name'],
        'text-font': FONT,
        'text-size': 12,
        'text-anchor': 'top',
        'text-offset': [0, 1.1],
        'text-max-width': 8,
        'text-optional': true,
      },
      paint: { 'text-color': '#d6ecff', 'text-halo-color': '#06101e', 'text-halo-width': 1.2 },
      themePaint: { day: { 'text-color': '#1c2b3a', 'text-halo-color': '#ffffff' }, contrast: { 'text-color': '#ffffff', 'text-halo-color': '#000000', 'text-halo-width': 2 } },
    },
  ] as StyleLayer[],
}

export const cases: LayerDef = {
  ...base,
  id: 'cases',
  card: 'case',
  title: { 'zh-CN': '案件', en: 'Cases' },
  group: 'cases',
  permission: 'cases.read',
  table: 'case_map',
  properties: {
    code: 'string',
    category_code: 'string',
    source: 'string',
    urgency: 'string',
    stage: 'string',
    overdue: 'boolean',
    sla_state: 'string',
    grid_code: 'string',
  },
  minzoom: 10,
  // Off until asked for: the case heat layer shows where cases gather; switched on, cells count them by SLA state.
  hidden: true,
  aggregate: { belowZoom: 15, cell: 256, statusColumn: 'sla_state', statuses: ['overdue', 'due_soon', 'on_time', 'closed'] },
  style: [
    ...aggregateStyle('cases', STATUS.case, STATUS.case.closed),
    circle('cases-dot', match('sla_state', STATUS.case, STATUS.case.closed), zoomRadius(2, 5)),
  ],
}

/**
 * Where open cases gather (热力): open cases counted per cell at every zoom and drawn as a heat
 * map weighted by each cell's count, overdue cases weighing double.
 */
export const caseHeat: LayerDef = {
  ...base,
  id: 'case_heat',
  title: { 'zh-CN': '案件热力', en: 'Case heat' },
  group: 'cases',
  permission: 'cases.read',
  table: 'open_case_map',
  properties: {},
  minzoom: 8,
  maxzoom: 16,
  // belowZoom past maxzoom: always counted, never single cases.
  aggregate: { belowZoom: 99, cell: 128, statusColumn: 'sla_state', statuses: ['overdue', 'due_soon', 'on_time'] },
  ogc: false,
  style: [
    {
      id: 'case_heat-heat',
      type: 'heatmap',
      slot: 'area',
      maxzoom: 17,
      paint: {
        'heatmap-weight': ['+', ['get', 'count'], ['get', 'n_overdue']],
        'heatmap-intensity': ['interpolate', ['linear'], ['zoom'], 8, 0.05, 16, 0.6],
        'heatmap-radius': ['interpolate', ['linear'], ['zoom'], 8, 10, 16, 40],
        'heatmap-opacity': 0.6,
        'heatmap-color': ['interpolate', ['linear'], ['heatmap-density'], 0, 'rgba(0,0,0,0)', 0.2, '#1d4e89', 0.4, '#2a9d8f', 0.6, '#e9c46a', 0.8, '#f4a261', 1, '#e63946'],
      },
    },
  ],
}
