import { buildings, roads, water } from './basemap.ts'
import { gridLabels } from './grid-labels.ts'
import { grids } from './grids.ts'
import { cameras, cases, keyPlaces, parts, sensors, workers } from './objects.ts'
import type { LayerDef } from './types.ts'

export type { LayerDef, PropertyType, Slot, StyleLayer, ThemeName } from './types.ts'
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
  for (const l of def.style) {
    if (!l.id.startsWith(`${def.id}-`)) errors.push(`layer ${def.id}: style layer "${l.id}" must start with "${def.id}-"`)
  }
  return errors
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
export const catalog: ReadonlyMap<string, LayerDef> = buildCatalog([water, roads, grids, buildings, parts, keyPlaces, cases, cameras, sensors, workers, gridLabels])
