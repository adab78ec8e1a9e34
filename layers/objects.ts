import type { LayerDef, StyleLayer } from './types.ts'

/**
 * The objects the hall watches, as point layers scoped by grid code. Low zooms are left out for
 * now (minzoom); server-side aggregation by status comes with the low-zoom work.
 */
const base: Pick<LayerDef, 'geometryType' | 'idColumn' | 'geomColumn' | 'scopeColumn' | 'maxzoom' | 'featureLimit' | 'buffer' | 'attribution' | 'realtime'> = {
  geometryType: 'point',
  idColumn: 'id',
  geomColumn: 'geom_3857',
  scopeColumn: 'grid_code',
  maxzoom: 22,
  featureLimit: 50000,
  buffer: 16,
  attribution: 'OneGrid demo data',
  realtime: [],
}

const circle = (id: string, color: unknown, radius: unknown, minzoom?: number): StyleLayer =>
  ({
    id,
    type: 'circle',
    slot: 'point',
    ...(minzoom !== undefined ? { minzoom } : {}),
    paint: { 'circle-color': color, 'circle-radius': radius, 'circle-stroke-color': '#06101e', 'circle-stroke-width': 0.6 },
  }) as StyleLayer

const zoomRadius = (small: number, large: number) => ['interpolate', ['linear'], ['zoom'], 14, small, 18, large]

export const parts: LayerDef = {
  ...base,
  id: 'parts',
  title: { 'zh-CN': '城市部件', en: 'City parts' },
  group: 'assets',
  table: 'parts',
  properties: { code: 'string', class_code: 'string', name: 'string', state: 'string', grid_code: 'string' },
  minzoom: 15,
  style: [circle('parts-dot', ['match', ['get', 'state'], 'damaged', '#f0a020', 'lost', '#f04040', 'occupied', '#c080ff', '#5f7fa6'], zoomRadius(1.5, 4), 16)],
}

export const sensors: LayerDef = {
  ...base,
  id: 'sensors',
  title: { 'zh-CN': '物联感知设备', en: 'Sensors' },
  group: 'sensing',
  table: 'sensors',
  properties: { code: 'string', type: 'string', name: 'string', status: 'string', last_value: 'number', unit: 'string', grid_code: 'string' },
  minzoom: 13,
  style: [circle('sensors-dot', ['match', ['get', 'status'], 'alarm', '#ff3b30', 'offline', '#7a8699', '#34c759'], zoomRadius(2.5, 6))],
}

export const cameras: LayerDef = {
  ...base,
  id: 'cameras',
  title: { 'zh-CN': '视频监控', en: 'Cameras' },
  group: 'sensing',
  table: 'cameras',
  properties: { code: 'string', name: 'string', kind: 'string', heading_deg: 'number', fov_deg: 'number', range_m: 'number', status: 'string', grid_code: 'string' },
  minzoom: 14,
  style: [circle('cameras-dot', ['match', ['get', 'status'], 'online', '#64d2ff', '#7a8699'], zoomRadius(2.5, 6), 15)],
}

export const workers: LayerDef = {
  ...base,
  id: 'workers',
  title: { 'zh-CN': '网格员', en: 'Grid workers' },
  group: 'people',
  table: 'workers',
  properties: { code: 'string', name: 'string', role: 'string', duty_status: 'string', grid_code: 'string' },
  minzoom: 12,
  style: [circle('workers-dot', ['match', ['get', 'duty_status'], 'on_duty', '#ffd60a', 'busy', '#ff9f0a', '#4a5568'], zoomRadius(3, 7))],
}

export const keyPlaces: LayerDef = {
  ...base,
  id: 'key_places',
  title: { 'zh-CN': '重点场所', en: 'Key places' },
  group: 'assets',
  table: 'key_places',
  properties: { name: 'string', kind: 'string', risk_color: 'string', grid_code: 'string' },
  minzoom: 12,
  style: [
    circle(
      'key_places-dot',
      ['match', ['get', 'risk_color'], 'red', '#ff3b30', 'orange', '#ff9500', 'yellow', '#ffcc00', 'blue', '#0a84ff', '#30d158'],
      zoomRadius(4, 8),
    ),
  ],
}

export const cases: LayerDef = {
  ...base,
  id: 'cases',
  title: { 'zh-CN': '案件', en: 'Cases' },
  group: 'cases',
  table: 'cases',
  properties: { code: 'string', category_code: 'string', source: 'string', urgency: 'string', stage: 'string', overdue: 'boolean', grid_code: 'string' },
  minzoom: 15,
  style: [
    circle(
      'cases-dot',
      ['case', ['in', ['get', 'stage'], ['literal', ['closed', 'evaluated', 'cancelled']]], '#3a4a60', ['get', 'overdue'], '#ff3b30', '#ff9f0a'],
      zoomRadius(2, 5),
      16,
    ),
  ],
}
