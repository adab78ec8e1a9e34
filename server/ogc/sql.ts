/**
 * The one place OGC API – Features SQL is assembled. Identifiers come only from the checked
 * catalog (layers/index.ts validates them as plain names); every value — scope prefix, bbox,
 * feature id, limit, offset — is a bound parameter. Features are read from the table's WGS84
 * `geom` column (EPSG:4326, axis order lon/lat = CRS84).
 *
 * Scope works as for tiles: a scoped layer is filtered by `scopeColumn LIKE prefix || '%'`;
 * a null prefix (an actor at the top of the hierarchy) sees everything, including objects
 * outside every grid, and then no filter is added at all.
 */
import type { LayerDef } from '../../layers/index.ts'

export interface Query {
  text: string
  values: unknown[]
}

/** minLon, minLat, maxLon, maxLat in CRS84. */
export type Bbox = [number, number, number, number]

export interface ItemsFilter {
  /** Code prefix the actor may see; null = everything. */
  scope: string | null
  bbox: Bbox | null
}

/** The column every collection reads its geometry from. */
export const GEOM_COLUMN = 'geom'

const q = (ident: string) => `"${ident}"`

/** Collects bound values and hands out their placeholders. */
class Params {
  readonly values: unknown[] = []
  add(v: unknown, type: string): string {
    this.values.push(v)
    return `$${this.values.length}::${type}`
  }
}

function whereClause(layer: LayerDef, filter: ItemsFilter, p: Params): string {
  const conds: string[] = []
  if (layer.scopeColumn && filter.scope !== null) conds.push(`t.${q(layer.scopeColumn)} LIKE ${p.add(filter.scope, 'text')} || '%'`)
  if (filter.bbox) {
    const [w, s, e, n] = filter.bbox.map((v) => p.add(v, 'float8'))
    conds.push(`ST_Intersects(t.${q(GEOM_COLUMN)}, ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, 4326))`)
  }
  return conds.length ? `WHERE ${conds.join('\n  AND ')}` : ''
}

function selectList(layer: LayerDef): string {
  const props = Object.keys(layer.properties).map((c) => `t.${q(c)}`)
  return [`t.${q(layer.idColumn)} AS "@id"`, ...props, `ST_AsGeoJSON(t.${q(GEOM_COLUMN)}, 7)::json AS "@geometry"`].join(', ')
}

/** How many features match: one row { n }. */
export function countQuery(layer: LayerDef, filter: ItemsFilter): Query {
  const p = new Params()
  const where = whereClause(layer, filter, p)
  return { text: `SELECT count(*)::int AS n FROM ${q(layer.table)} t\n${where}`, values: p.values }
}

/** One page of features in id order: rows { "@id", <properties…>, "@geometry" (GeoJSON) }. */
export function itemsQuery(layer: LayerDef, filter: ItemsFilter, page: { limit: number; offset: number }): Query {
  const p = new Params()
  const where = whereClause(layer, filter, p)
  const text = `SELECT ${selectList(layer)}
FROM ${q(layer.table)} t
${where}
ORDER BY t.${q(layer.idColumn)}
LIMIT ${p.add(page.limit, 'int')} OFFSET ${p.add(page.offset, 'bigint')}`
  return { text, values: p.values }
}

/** One feature by id, only when within scope: zero or one row as itemsQuery. */
export function itemQuery(layer: LayerDef, fid: number, scope: string | null): Query {
  const p = new Params()
  const conds = [`t.${q(layer.idColumn)} = ${p.add(fid, 'bigint')}`]
  if (layer.scopeColumn && scope !== null) conds.push(`t.${q(layer.scopeColumn)} LIKE ${p.add(scope, 'text')} || '%'`)
  return { text: `SELECT ${selectList(layer)}\nFROM ${q(layer.table)} t\nWHERE ${conds.join(' AND ')}`, values: p.values }
}

/** Extent of the features the scope sees, in CRS84: zero rows when there are none. */
export function extentQuery(layer: LayerDef, scope: string | null): Query {
  const p = new Params()
  const where = whereClause(layer, { scope, bbox: null }, p)
  const text = `SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (
  SELECT ST_Extent(t.${q(GEOM_COLUMN)})::geometry AS e FROM ${q(layer.table)} t
  ${where}
) b WHERE e IS NOT NULL`
  return { text, values: p.values }
}

/** Which of the given tables have a `geom` column in EPSG:4326: rows { table_name }. */
export function geomTablesQuery(tables: string[]): Query {
  return {
    text: `SELECT f_table_name::text AS table_name FROM geometry_columns
WHERE f_table_schema = current_schema() AND f_geometry_column = '${GEOM_COLUMN}' AND srid = 4326 AND f_table_name = ANY($1::text[])`,
    values: [tables],
  }
}
