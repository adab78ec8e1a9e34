/**
 * What can be exported (GET /api/export/:layer.geojson|csv): every spatial layer of the city
 * model except sensitive ones (people, houses). Importable layers export under their import
 * property names, so an exported file can be imported again; read-only extras (grid_code,
 * status…) ride along and are ignored on import.
 *
 * scope names the column filtered by the asker's scope prefix: `grid_code` (objects; those
 * outside every grid only for unrestricted users, whose scope is the top of the hierarchy),
 * `code` (grids, admin units), or `public` for none (the OSM base map — roads and water).
 */
import { importLayers } from '../import/layers.ts'

export interface ExportLayer {
  id: string
  table: string
  geometry: 'point' | 'line' | 'polygon'
  /** Keyset column for paging: an integer id or a text code. */
  key: { column: string; type: 'int' | 'text' }
  scope: 'grid_code' | 'code' | 'public'
  /** Property name → column of the table. */
  properties: Record<string, string>
}

function fromImport(id: string, extra: string[]): ExportLayer {
  const l = importLayers.get(id)
  if (!l) throw new Error(`no import layer ${id}`)
  const properties: Record<string, string> = { external_id: 'external_id' }
  for (const p of l.properties) properties[p.name] = p.column
  for (const c of extra) properties[c] = c
  return { id, table: l.table, geometry: l.geometry, key: { column: 'id', type: 'int' }, scope: l.gridColumn ? 'grid_code' : 'public', properties }
}

const IDENT = /^[a-z_][a-z0-9_]*$/

function build(defs: ExportLayer[]): ReadonlyMap<string, ExportLayer> {
  const map = new Map<string, ExportLayer>()
  for (const d of defs) {
    for (const ident of [d.id, d.table, d.key.column, ...Object.keys(d.properties), ...Object.values(d.properties)]) {
      if (!IDENT.test(ident)) throw new Error(`export layer ${d.id}: "${ident}" is not a plain identifier`)
    }
    map.set(d.id, d)
  }
  return map
}

export const exportLayers: ReadonlyMap<string, ExportLayer> = build([
  {
    id: 'admin_units',
    table: 'admin_units',
    geometry: 'polygon',
    key: { column: 'code', type: 'text' },
    scope: 'code',
    properties: { code: 'code', level: 'level', name: 'name', parent_code: 'parent_code', gb_code: 'gb_code' },
  },
  {
    id: 'grids',
    table: 'grids',
    geometry: 'polygon',
    key: { column: 'id', type: 'int' },
    scope: 'code',
    properties: { code: 'code', community_code: 'community_code', street_code: 'street_code', district_code: 'district_code', name: 'name', area_m2: 'area_m2' },
  },
  fromImport('buildings', ['grid_code']),
  fromImport('parts', ['grid_code']),
  fromImport('sensors', ['status', 'last_value', 'last_seen', 'grid_code']),
  fromImport('cameras', ['status', 'grid_code']),
  fromImport('key_places', ['grid_code']),
  fromImport('organizations', ['grid_code']),
  fromImport('roads', []),
  fromImport('water', []),
  {
    // Staff on duty: no phone numbers or user accounts.
    id: 'workers',
    table: 'workers',
    geometry: 'point',
    key: { column: 'id', type: 'int' },
    scope: 'grid_code',
    properties: { code: 'code', name: 'name', role: 'role', duty_status: 'duty_status', last_seen: 'last_seen', grid_code: 'grid_code' },
  },
  {
    // Cases without the reporter's contact.
    id: 'cases',
    table: 'cases',
    geometry: 'point',
    key: { column: 'id', type: 'int' },
    scope: 'grid_code',
    properties: {
      code: 'code',
      category_code: 'category_code',
      source: 'source',
      urgency: 'urgency',
      stage: 'stage',
      description: 'description',
      address: 'address',
      reported_at: 'reported_at',
      deadline_at: 'deadline_at',
      closed_at: 'closed_at',
      overdue: 'overdue',
      grid_code: 'grid_code',
    },
  },
])
