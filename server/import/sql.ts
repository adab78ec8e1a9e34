/**
 * The one place import SQL is assembled in code, from the checked registry (layers.ts validates
 * every identifier); every value is a bound parameter.
 *
 * upsertSql(layer): $1 jsonb array of rows { idx, external_id, <column>: value…, geom: GeoJSON }
 *   → INSERT … ON CONFLICT (external_id) DO UPDATE, one row out per input: { id, inserted }.
 *   Polygons and lines that are invalid are stored as ST_MakeValid repaired them (the service has
 *   already rejected those whose repair changes their type); everything is 2D and Multi* where
 *   the column is.
 * assignGridsSql(layer): $1 int[] of ids → sets grid_code to the unit grid containing the
 *   object's point on surface (the lowest code when it lies on a shared edge; NULL outside every
 *   grid) → one row { outside } counting those left outside.
 * outsideGridsSql(layer): for tables without grid_code (roads, water): $1 int[] → { outside }.
 * existingSql(layer): $1 text[] external ids, and for layers with a code column $2 text[] codes
 *   → { external_id, code } of rows holding either (code collisions are checked before writing).
 */
import type { ImportLayer, SqlType } from './layers.ts'

const q = (ident: string) => `"${ident}"`

/** Columns the upsert writes (besides geom), in order, with their SQL types. */
export function upsertColumns(layer: ImportLayer): [string, SqlType][] {
  const cols = new Map<string, SqlType>([['external_id', 'text']])
  for (const p of layer.properties) cols.set(p.column, p.sqlType)
  for (const [c, t] of Object.entries(layer.derivedColumns ?? {})) cols.set(c, t)
  return [...cols]
}

function geometryExpr(layer: ImportLayer): string {
  const g0 = 's.g0'
  if (layer.geometry === 'point') return g0
  if (layer.geometry === 'line') return `ST_Multi(CASE WHEN ST_IsValid(${g0}) THEN ${g0} ELSE ST_CollectionExtract(ST_MakeValid(${g0}), 2) END)`
  return `ST_Multi(CASE WHEN ST_IsValid(${g0}) THEN ${g0} ELSE ST_CollectionExtract(ST_MakeValid(${g0}, 'method=structure'), 3) END)`
}

/** The code a new or updated row gets, per the layer's strategy (an SQL expression over `c`). */
function codeCtes(layer: ImportLayer): { ctes: string; from: string; codeExpr: string } {
  const t = q(layer.table)
  if (layer.code === 'external_id') {
    return {
      ctes: '',
      from: 'v',
      codeExpr: `COALESCE(v."code", (SELECT e."code" FROM ${t} e WHERE e."external_id" = v."external_id"), v."external_id")`,
    }
  }
  if (layer.code === 'part16') {
    // county 6 (district of the containing grid, 000000 outside every grid) + class 4 + sequence 6;
    // an existing row keeps its code unless its class changed; sequences continue after the
    // highest code in the table and in the file for that county and class.
    const ctes = `,
k AS (
  SELECT v.*, e."code" AS old_code,
         COALESCE((SELECT gr.district_code FROM grids gr WHERE ST_Intersects(gr.geom, v.g) ORDER BY gr.code LIMIT 1), '000000') AS county
  FROM v LEFT JOIN ${t} e ON e."external_id" = v."external_id"
),
n AS (
  SELECT k.*, (k."code" IS NULL AND (k.old_code IS NULL OR substr(k.old_code, 7, 4) <> k."class_code")) AS needs_code FROM k
),
m AS (
  SELECT n.*, row_number() OVER (PARTITION BY n.county, n."class_code", n.needs_code ORDER BY n.idx) AS rn FROM n
),
c AS (
  SELECT m.*, CASE
      WHEN m."code" IS NOT NULL THEN m."code"
      WHEN NOT m.needs_code THEN m.old_code
      ELSE m.county || m."class_code" || lpad((GREATEST(
        COALESCE((SELECT max(substr(p."code", 11, 6)::int) FROM ${t} p
                   WHERE p."code" BETWEEN m.county || m."class_code" || '000000' AND m.county || m."class_code" || '999999'), 0),
        COALESCE((SELECT max(substr(x."code", 11, 6)::int) FROM n x
                   WHERE left(x."code", 10) = m.county || m."class_code"), 0)) + m.rn)::text, 6, '0')
    END AS final_code
  FROM m
)`
    return { ctes, from: 'c', codeExpr: 'c.final_code' }
  }
  return { ctes: '', from: 'v', codeExpr: '' }
}

export function upsertSql(layer: ImportLayer): string {
  const cols = upsertColumns(layer)
  const record = [['idx', 'integer'], ...cols, ['geom', 'jsonb']].map(([c, t]) => `${q(c)} ${t}`).join(', ')
  const { ctes, from, codeExpr } = codeCtes(layer)
  const insertCols = [...cols.map(([c]) => c), 'geom']
  const selectExprs = [
    ...cols.map(([c]) => (c === 'code' && codeExpr ? codeExpr : `${from}.${q(c)}`)),
    `${from}.g`,
  ]
  const updates = insertCols.filter((c) => c !== 'external_id').map((c) => `${q(c)} = EXCLUDED.${q(c)}`)
  return `WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(${record})
),
s AS (
  SELECT r.*, ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(r.geom)), 4326) AS g0 FROM r
),
v AS (
  SELECT s.*, ${geometryExpr(layer)} AS g FROM s
)${ctes}
INSERT INTO ${q(layer.table)} AS t (${insertCols.map(q).join(', ')})
SELECT ${selectExprs.join(', ')}
FROM ${from}
ORDER BY ${from}.idx
ON CONFLICT ("external_id") DO UPDATE SET ${updates.join(', ')}
RETURNING t.id, (t.xmax = 0) AS inserted`
}

export function assignGridsSql(layer: ImportLayer): string {
  if (!layer.gridColumn) throw new Error(`layer ${layer.id} has no grid_code column`)
  return `WITH u AS (
  UPDATE ${q(layer.table)} t
     SET grid_code = (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(t.geom)) ORDER BY g.code LIMIT 1)
   WHERE t.id = ANY($1::int[])
  RETURNING t.grid_code
)
SELECT count(*) FILTER (WHERE grid_code IS NULL)::int AS outside FROM u`
}

export function outsideGridsSql(layer: ImportLayer): string {
  return `SELECT count(*)::int AS outside FROM ${q(layer.table)} t
WHERE t.id = ANY($1::int[]) AND NOT EXISTS (SELECT 1 FROM grids g WHERE ST_Intersects(g.geom, t.geom))`
}

export function existingSql(layer: ImportLayer): string {
  const codeSel = layer.code ? ', t."code"' : ', NULL::text AS code'
  const codeWhere = layer.code ? ' OR t."code" = ANY($2::text[])' : ''
  return `SELECT t."external_id"${codeSel} FROM ${q(layer.table)} t WHERE t."external_id" = ANY($1::text[])${codeWhere}`
}
