import { communities, districts, streets } from './admin.ts'
import { buildings, labels, landuse, roads, water } from './basemap.ts'
import { gridLabels } from './grid-labels.ts'
import { grids } from './grids.ts'
import { cameras, caseHeat, cases, keyPlaces, parts, sensors, workers } from './objects.ts'
import type { LayerDef, PropertyType } from './types.ts'

export type { Aggregation, DeckRenderer, LayerDef, LayerPermission, PropertyType, Slot, StyleLayer, ThemeName } from './types.ts'
export { SLOTS, THEME_NAMES } from './types.ts'

/** Ids that name routes of their own and so can never be layer ids. */
export const RESERVED_IDS = new Set(['catalog', 'health', 'metrics'])

const IDENT = /^[a-z_][a-z0-9_]*$/

/** Checks a catalog entry; identifiers end up in SQL, so they must be plain names. */
export function validateLayer(def: LayerDef): string[] {
  const errors: string[] = []
  if (!/^[a-z][a-z0-9_]*$/.test(def.id)) errors.push(`layer id "${def.id}" must be lower-case letters, digits and _`)
  if (RESERVED_IDS.has(def.id)) errors.push(`layer id "${def.id}" is reserved`)
  for (const ident of [def.table, def.idColumn, def.geomColumn, def.scopeColumn ?? 'none', ...Object.keys(def.properties)]) {
    if (!IDENT.test(ident)) errors.push(`layer ${def.id}: "${ident}" is not a plain SQL identifier`)
  }
  if (def.minzoom < 0 || def.maxzoom > 22 || def.minzoom > def.maxzoom) errors.push(`layer ${def.id}: bad zoom range`)
  const agg = def.aggregate
  if (agg) {
    if (def.geometryType !== 'point') errors.push(`layer ${def.id}: only point layers can be aggregated`)
    if (!IDENT.test(agg.statusColumn)) errors.push(`layer ${def.id}: "${agg.statusColumn}" is not a plain SQL identifier`)
    for (const s of agg.statuses) if (!/^[a-z][a-z0-9_]*$/.test(s)) errors.push(`layer ${def.id}: status "${s}" must be lower-case letters, digits and _`)
    if (!Number.isInteger(agg.cell) || agg.cell <= 0 || 4096 % agg.cell !== 0) errors.push(`layer ${def.id}: aggregate cell ${agg.cell} must divide 4096`)
    for (const p of Object.keys(aggregateProperties(def))) if (p in def.properties) errors.push(`layer ${def.id}: property "${p}" is an aggregate field`)
  }
  for (const l of def.style) {
    if (!l.id.startsWith(`${def.id}-`)) errors.push(`layer ${def.id}: style layer "${l.id}" must start with "${def.id}-"`)
  }
  return errors
}

/** The fields an aggregated tile's cells carry (empty for a layer without aggregation). */
export function aggregateProperties(def: LayerDef): Record<string, PropertyType> {
  if (!def.aggregate) return {}
  const fields: Record<string, PropertyType> = { count: 'number' }
  for (const s of def.aggregate.statuses) fields[`n_${s}`] = 'number'
  fields.top_status = 'string'
  return fields
}

/** Every field a tile of the layer may carry: the features' properties, then the cells' counts. */
export function tileProperties(def: LayerDef): Record<string, PropertyType> {
  return { ...def.properties, ...aggregateProperties(def) }
}

/** Whether a user with these permissions may see the layer at all (scope then filters its features). */
export function visibleTo(def: LayerDef, actor: { permissions: ReadonlySet<string> } | null | undefined): boolean {
  return actor?.permissions.has(def.permission ?? 'map.base') ?? false
}

function buildCatalog(defs: LayerDef[]): ReadonlyMap<string, LayerDef> {
  const map = new Map<string, LayerDef>()
  for (const def of defs) {
    const errors = validateLayer(def)
    if (errors.length) throw new Error(errors.join('; '))
    if (map.has(def.id)) throw new Error(`duplicate layer id ${def.id}`)
    map.set(def.id, def)
  }
  return map
}

/** The layer catalog; within a style slot, drawing order is catalog order (bottom first). */
export const catalog: ReadonlyMap<string, LayerDef> = buildCatalog([water, landuse, roads, grids, districts, streets, communities, buildings, parts, keyPlaces, cases, caseHeat, cameras, sensors, workers, gridLabels, labels])
