/**
 * Export of a layer as GeoJSON or CSV, in pages (keyset on the layer's key, PAGE rows per
 * query) so a big table streams without being held in memory, filtered by the asker's scope.
 *
 * The page SQL is assembled here from the checked export registry; values are parameters:
 *   $1 last key seen (NULL for the first page), then for scoped layers $2 the scope prefix
 *   (NULL for an unrestricted actor: everything, objects outside every grid included).
 * Output per row: k (the key), props (JSON text of the properties), and either geom (GeoJSON
 * text), lon/lat (CSV of points) or wkt (CSV of lines and polygons) — 9 decimals, so coordinates
 * given with up to 9 (0.1 mm) import back exactly.
 */
import { Readable, Transform, pipeline } from 'node:stream'
import { stringify } from 'csv-stringify'
import type { Db } from '../db/index.ts'
import type { Actor } from '../auth/sessions.ts'
import type { ExportLayer } from './layers.ts'
import { scopeFilter } from '../auth/scope.ts'

export const PAGE = 2000

const q = (ident: string) => `"${ident}"`

export type ExportFormat = 'geojson' | 'csv'

export function pageSql(layer: ExportLayer, format: ExportFormat): string {
  const props = Object.entries(layer.properties)
    .map(([name, col]) => `'${name}', t.${q(col)}`)
    .join(', ')
  const key = `t.${q(layer.key.column)}`
  const geom =
    format === 'geojson'
      ? 'ST_AsGeoJSON(t.geom, 9) AS geom'
      : layer.geometry === 'point'
        ? 'round(ST_X(t.geom)::numeric, 9)::float8 AS lon, round(ST_Y(t.geom)::numeric, 9)::float8 AS lat'
        : 'ST_AsText(t.geom, 9) AS wkt'
  const where = [`($1::${layer.key.type} IS NULL OR ${key} > $1::${layer.key.type})`]
  if (layer.scope !== 'public') where.push(`($2::text IS NULL OR t.${q(layer.scope)} LIKE $2::text || '%')`)
  return `SELECT ${key} AS k, json_build_object(${props})::text AS props, ${geom}
FROM ${q(layer.table)} t
WHERE ${where.join(' AND ')}
ORDER BY ${key}
LIMIT ${PAGE}`
}

interface PageRow {
  k: number | string
  props: string
  geom?: string | null
  lon?: number | null
  lat?: number | null
  wkt?: string | null
}

async function* pages(db: Db, layer: ExportLayer, format: ExportFormat, actor: Actor): AsyncGenerator<PageRow[]> {
  const sql = pageSql(layer, format)
  // An actor at the top of the hierarchy sees everything, objects outside every grid included.
  const scoped: unknown[] = layer.scope === 'public' ? [] : [scopeFilter(actor)]
  let last: number | string | null = null
  for (;;) {
    const { rows }: { rows: PageRow[] } = await db.query<PageRow>(sql, [last, ...scoped])
    if (rows.length) yield rows
    if (rows.length < PAGE) return
    last = rows[rows.length - 1].k
  }
}

/** A FeatureCollection as a stream of text. */
export function geojsonStream(db: Db, layer: ExportLayer, actor: Actor): Readable {
  async function* text(): AsyncGenerator<string> {
    yield `{"type":"FeatureCollection","name":${JSON.stringify(layer.id)},"features":[\n`
    let first = true
    for await (const rows of pages(db, layer, 'geojson', actor)) {
      const parts = rows.map((r) => `{"type":"Feature","id":${JSON.stringify(r.k)},"geometry":${r.geom ?? 'null'},"properties":${r.props}}`)
      yield (first ? '' : ',\n') + parts.join(',\n')
      first = false
    }
    yield '\n]}\n'
  }
  return Readable.from(text())
}

/** CSV columns of a layer: its properties, then lon/lat (points) or wkt. */
export function csvColumns(layer: ExportLayer): string[] {
  return [...Object.keys(layer.properties), ...(layer.geometry === 'point' ? ['lon', 'lat'] : ['wkt'])]
}

/** A CSV (UTF-8 with BOM, so spreadsheet programs read Chinese text right) as a stream. */
export function csvStream(db: Db, layer: ExportLayer, actor: Actor): Readable {
  async function* records(): AsyncGenerator<Record<string, unknown>> {
    for await (const rows of pages(db, layer, 'csv', actor)) {
      for (const r of rows) {
        const props = JSON.parse(r.props) as Record<string, unknown>
        yield layer.geometry === 'point' ? { ...props, lon: r.lon, lat: r.lat } : { ...props, wkt: r.wkt }
      }
    }
  }
  const out = stringify({
    header: true,
    bom: true,
    columns: csvColumns(layer),
    cast: { boolean: (v) => (v ? 'true' : 'false'), object: (v) => JSON.stringify(v) },
  })
  return pipeline(Readable.from(records()), out as unknown as Transform, () => {})
}
