/**
 * The import service: file bytes + format + layer + CRS → validated features → one transaction
 * that upserts by external id and assigns grid codes. All or nothing: if any feature is
 * rejected nothing is written and the report says why for each one.
 *
 * Used by the HTTP route (POST /api/import/:layer) and the CLI (npm run import).
 */
import type { z } from 'zod'
import type { Db } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { importLayers, propertiesSchema, type ImportLayer } from './layers.ts'
import {
  checkGeometry,
  findSwappedOutliers,
  firstPosition,
  formatBytes,
  ImportFileError,
  inChinaBox,
  parseCsv,
  parseGeoJson,
  polygonAreaM2,
  toWgs84,
  type Crs,
  type ImportFormat,
  type RawFeature,
} from './parse.ts'
import { assignGridsSql, existingSql, outsideGridsSql, upsertSql } from './sql.ts'

export { ImportFileError, type Crs, type ImportFormat } from './parse.ts'

const sql = loadSql(new URL('./import.sql', import.meta.url))

export type ImportPhase = 'receive' | 'parse' | 'validate' | 'write' | 'grids' | 'done'
export type ProgressFn = (phase: ImportPhase, done: number, total: number) => void

export interface ImportIssue {
  /** 0-based position of the feature in the file (GeoJSON `features`, or CSV data row). */
  index: number
  /** 1-based line of a CSV row. */
  line?: number
  /** The feature's external id, when it has one. */
  id?: string
  reason: string
}

export interface ImportReport {
  layer: string
  format: ImportFormat
  crs: Crs
  total: number
  inserted: number
  updated: number
  /** Rejected features (at most REPORT_LIMIT listed; rejectedCount has them all). */
  rejected: ImportIssue[]
  rejectedCount: number
  warnings: ImportIssue[]
  warningCount: number
  /** Written objects that lie outside every unit grid (grid_code stays NULL). */
  outsideGrids: number
  durationMs: number
  /** Whether anything was written (false when any feature was rejected). */
  written: boolean
}

export interface ImportInput {
  bytes: Buffer
  format: ImportFormat
  layer: ImportLayer | string
  crs?: Crs
  /** Largest file accepted, in bytes. */
  maxBytes: number
  onProgress?: ProgressFn
}

/** At most this many rejects and warnings are listed in a report. */
export const REPORT_LIMIT = 1000
/** Rows per upsert statement and geometries per validity check. */
const BATCH = 500

interface Item {
  raw: RawFeature
  id?: string
  reasons: string[]
  warnings: string[]
  geometry?: { type: string; coordinates: unknown }
  /** Valid properties by name (defaults applied). */
  props?: Record<string, unknown>
  /** Column values for the upsert. */
  values?: Record<string, unknown>
  areaM2: number | null
}

function describeExternalId(v: unknown): string | { error: string } | undefined {
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  if (typeof v === 'string') {
    const s = v.trim()
    if (!s) return undefined
    if (s.length > 200) return { error: 'external id is longer than 200 characters' }
    return s
  }
  return { error: `external id must be text or a number, got ${Array.isArray(v) ? 'a list' : typeof v}` }
}

function externalId(layer: ImportLayer, raw: RawFeature): string | { error: string } | undefined {
  for (const name of layer.externalIdProps) {
    const r = describeExternalId(raw.properties[name])
    if (r !== undefined) return r
  }
  return describeExternalId(raw.featureId)
}

/** Drops absent values (null, empty text) and resolves aliases to the canonical names. */
function normalizeProps(layer: ImportLayer, props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined) continue
    if (typeof v === 'string' && v.trim() === '') continue
    out[k] = v
  }
  for (const p of layer.properties) {
    for (const a of p.aliases ?? []) if (out[p.name] === undefined && out[a] !== undefined) out[p.name] = out[a]
  }
  return out
}

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
}

const FAMILY = { polygon: ['POLYGON', 'MULTIPOLYGON'], line: ['LINESTRING', 'MULTILINESTRING'], point: ['POINT'] } as const

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

/** A stable advisory-lock key per table: imports into one table run one at a time. */
function lockKey(table: string): number {
  let h = 7142100
  for (const ch of table) h = (h * 31 + ch.charCodeAt(0)) | 0
  return h
}

export function resolveLayer(layer: ImportLayer | string): ImportLayer {
  if (typeof layer !== 'string') return layer
  const l = importLayers.get(layer)
  if (!l) throw new ImportFileError(404, `unknown layer "${layer}"; importable layers: ${[...importLayers.keys()].join(', ')}`)
  return l
}

/** One line naming the first few rejects, for the 422 message and the CLI. */
export function summarizeRejection(r: ImportReport): string {
  const first = r.rejected
    .slice(0, 3)
    .map((i) => `#${i.index}${i.id ? ` (${i.id})` : ''}: ${i.reason}`)
    .join('; ')
  return `${r.rejectedCount} of ${r.total} feature${r.total === 1 ? '' : 's'} rejected, nothing was written — ${first}${r.rejectedCount > 3 ? '; …' : ''}`
}

/**
 * How long PostgreSQL may spend checking (and repairing) one batch, then one geometry: ST_MakeValid
 * of a polygon that crosses itself thousands of times runs for minutes (a 2,000-vertex zig-zag:
 * ~30 s; 10,000: longer than anyone waits). GEOS notices the cancel late (a 3,000-vertex zig-zag
 * stops after ~12 s), but it stops. The embedded database has no statement timeout.
 */
const CHECK_TIMEOUT_MS = 3_000
const QUERY_CANCELED = '57014'

async function checkGeometriesInDb(db: Db, layer: ImportLayer, items: Item[], progress: (n: number) => void): Promise<void> {
  const kind = layer.geometry
  if (kind === 'point') return
  const check = (geometries: unknown[]) =>
    db.kind === 'postgres'
      ? db.transaction(async (tx) => {
          await tx.query(`SET LOCAL statement_timeout = ${CHECK_TIMEOUT_MS}`)
          return tx.query<Row>(sql.check_geometries, [JSON.stringify(geometries), kind])
        })
      : db.query<Row>(sql.check_geometries, [JSON.stringify(geometries), kind])
  type Row = { i: number; valid: boolean; reason: string | null; repaired_type: string | null; repaired_empty: boolean | null; area_m2: number | null }
  const apply = (item: Item, row: Row) => {
    const where = row.reason ? ` (${row.reason})` : ''
    if (!row.valid) {
      const family = FAMILY[kind] as readonly string[]
      if (row.repaired_empty || !row.repaired_type || !family.includes(row.repaired_type)) {
        const becomes = row.repaired_empty ? `it collapses to nothing (no ${kind === 'polygon' ? 'area' : 'length'} left)` : `ST_MakeValid turns it into a ${row.repaired_type}`
        item.reasons.push(`invalid geometry${where} that cannot be repaired without changing its type: ${becomes}`)
        return
      }
      const area = row.area_m2 != null ? `, ${Math.round(row.area_m2)} m²` : ''
      item.warnings.push(`invalid geometry${where} repaired by ST_MakeValid and kept as ${row.repaired_type}${area}`)
    }
    item.areaM2 = row.area_m2 != null ? Number(row.area_m2) : kind === 'polygon' ? polygonAreaM2(item.geometry!) : null
  }
  let done = 0
  for (const batch of chunks(items, BATCH)) {
    try {
      const { rows } = await check(batch.map((it) => it.geometry))
      rows.forEach((row) => apply(batch[row.i], row))
    } catch (batchErr) {
      // One geometry PostGIS cannot read (or check in time) spoils the batch: check them one by one to name it.
      for (const it of batch) {
        try {
          if (batch.length === 1) throw batchErr
          const { rows } = await check([it.geometry])
          apply(it, rows[0])
        } catch (err) {
          if ((err as { code?: string }).code === QUERY_CANCELED) {
            // The file is rejected now: the rest is not worth another timeout each.
            it.reasons.push(`PostGIS could not check and repair this geometry within ${CHECK_TIMEOUT_MS / 1000} s: repair or simplify it before importing (later features were not checked)`)
            return
          }
          it.reasons.push(`PostGIS cannot read this geometry: ${(err as Error).message}`)
        }
      }
    }
    done += batch.length
    progress(done)
  }
}

async function checkAgainstDb(db: Db, layer: ImportLayer, items: Item[]): Promise<void> {
  if (layer.id === 'parts') {
    const classes = [...new Set(items.map((it) => it.values?.class_code).filter((c): c is string => typeof c === 'string'))]
    if (classes.length) {
      const { rows } = await db.query<{ code: string }>(sql.part_classes, [classes])
      const known = new Set(rows.map((r) => r.code))
      for (const it of items) {
        const c = it.values?.class_code
        if (typeof c === 'string' && !known.has(c)) it.reasons.push(`class_code: ${c} is not a known part class (see the part_classes table)`)
      }
    }
  }
  if (!layer.code) return
  // Codes are unique too: a code in the file must not belong to another object of this layer.
  const candidate = (it: Item): string | undefined =>
    (it.values?.code as string | undefined) ?? (layer.code === 'external_id' ? it.id : undefined)
  const byCode = new Map<string, Item>()
  for (const it of items) {
    const c = candidate(it)
    if (!c) continue
    const other = byCode.get(c)
    if (other) it.reasons.push(`code ${JSON.stringify(c)} is also used by feature #${other.raw.index}`)
    else byCode.set(c, it)
  }
  const ids = items.map((it) => it.id!).filter(Boolean)
  const { rows } = await db.query<{ external_id: string | null; code: string | null }>(existingSql(layer), [ids, [...byCode.keys()]])
  const existingIds = new Set(rows.map((r) => r.external_id))
  const codeOwner = new Map(rows.filter((r) => r.code).map((r) => [r.code!, r.external_id]))
  for (const it of items) {
    const provided = it.values?.code as string | undefined
    if (!provided && existingIds.has(it.id!)) continue // keeps its code
    const c = candidate(it)
    if (!c || !codeOwner.has(c)) continue
    const owner = codeOwner.get(c)
    if (owner !== it.id) {
      it.reasons.push(`code ${JSON.stringify(c)} already belongs to another object of ${layer.id}${owner ? ` (external id ${owner})` : ''}; give this one its own code`)
    }
  }
}

/**
 * Validates and imports one file. Throws ImportFileError for problems of the whole file (empty,
 * broken, too large, CSV for a non-point layer, unknown layer). Returns the report: when
 * `rejectedCount > 0` nothing was written.
 */
export async function runImport(db: Db, input: ImportInput): Promise<ImportReport> {
  const started = performance.now()
  const layer = resolveLayer(input.layer)
  const crs = input.crs ?? 'wgs84'
  const progress: ProgressFn = input.onProgress ?? (() => {})
  if (input.bytes.length > input.maxBytes) {
    throw new ImportFileError(413, `the file is ${formatBytes(input.bytes.length)}; the limit is ${formatBytes(input.maxBytes)} (ONEGRID_IMPORT_MAX_MB)`)
  }
  if (input.format === 'csv' && layer.geometry !== 'point') {
    throw new ImportFileError(415, `CSV files can only be imported into point layers; ${layer.id} has ${layer.geometryTypes.join('/')} geometries — send GeoJSON`)
  }

  progress('parse', 0, 1)
  const raws = input.format === 'csv' ? parseCsv(input.bytes) : parseGeoJson(input.bytes)
  progress('parse', 1, 1)
  const total = raws.length
  progress('validate', 0, total)

  const schema = propertiesSchema(layer)
  const firstById = new Map<string, number>()
  const items: Item[] = raws.map((raw) => {
    const item: Item = { raw, reasons: [], warnings: [], areaM2: null }
    const id = externalId(layer, raw)
    if (raw.error) {
      if (typeof id === 'string') item.id = id
      item.reasons.push(raw.error)
      return item
    }
    if (id === undefined) item.reasons.push(`missing external id: set properties.${layer.externalIdProps.join(' or properties.')}${input.format === 'geojson' ? ' (or the feature id)' : ''}`)
    else if (typeof id === 'object') item.reasons.push(id.error)
    else {
      item.id = id
      const first = firstById.get(id)
      if (first !== undefined) item.reasons.push(`duplicate external id ${JSON.stringify(id)}: feature #${first} has it too`)
      else firstById.set(id, raw.index)
    }
    const geomProblem = checkGeometry(raw.geometry, layer)
    if (geomProblem) item.reasons.push(geomProblem)
    const parsed = schema.safeParse(normalizeProps(layer, raw.properties))
    if (!parsed.success) item.reasons.push(...issuesOf(parsed.error))
    else {
      const p = parsed.data
      for (const spec of layer.properties) if (p[spec.name] === undefined && spec.default !== undefined) p[spec.name] = spec.default
      item.reasons.push(...(layer.check?.(p) ?? []))
      const values: Record<string, unknown> = {}
      for (const spec of layer.properties) values[spec.column] = p[spec.name] ?? null
      item.props = p
      item.values = values
    }
    return item
  })

  // The whole file, as one: a feature far from the others whose swapped position is among them.
  const placed = items
    .filter((it) => it.reasons.length === 0)
    .map((it) => {
      const [x, y] = firstPosition(it.raw.geometry as { coordinates: unknown })
      return { index: it.raw.index, x, y }
    })
  for (const i of findSwappedOutliers(placed)) {
    const [x, y] = firstPosition(items[i].raw.geometry as { coordinates: unknown })
    items[i].reasons.push(
      `coordinates look swapped (latitude, longitude order): [${x}, ${y}] lies far from the rest of the file, while [${y}, ${x}] lies among the other features`,
    )
  }

  const good = items.filter((it) => it.reasons.length === 0)
  for (const it of good) {
    const g = it.raw.geometry as { type: string; coordinates: unknown }
    if (crs === 'gcj02' && !inChinaBox(firstPosition(g))) {
      it.warnings.push('GCJ-02 applies only inside China: these coordinates were kept as they are (WGS84)')
    }
    it.geometry = toWgs84(g, crs)
  }
  await checkGeometriesInDb(db, layer, good, (n) => progress('validate', n, good.length))
  await checkAgainstDb(db, layer, items.filter((it) => it.reasons.length === 0))
  for (const it of items) {
    if (it.reasons.length || !it.values || !it.props || !layer.derive) continue
    const d = layer.derive(it.props, { areaM2: it.areaM2 })
    Object.assign(it.values, d.values)
    it.warnings.push(...(d.warnings ?? []))
  }
  progress('validate', total, total)

  const issue = (it: Item, reason: string): ImportIssue => ({
    index: it.raw.index,
    ...(it.raw.line !== undefined ? { line: it.raw.line } : {}),
    ...(it.id !== undefined ? { id: it.id } : {}),
    reason,
  })
  const rejectedAll = items.filter((it) => it.reasons.length).map((it) => issue(it, it.reasons.join('; ')))
  const warningsAll = items.flatMap((it) => it.warnings.map((w) => issue(it, w)))
  const report: ImportReport = {
    layer: layer.id,
    format: input.format,
    crs,
    total,
    inserted: 0,
    updated: 0,
    rejected: rejectedAll.slice(0, REPORT_LIMIT),
    rejectedCount: rejectedAll.length,
    warnings: warningsAll.slice(0, REPORT_LIMIT),
    warningCount: warningsAll.length,
    outsideGrids: 0,
    durationMs: 0,
    written: false,
  }
  if (rejectedAll.length) {
    report.durationMs = Math.round(performance.now() - started)
    return report
  }

  const rows = items.map((it) => ({ idx: it.raw.index, external_id: it.id, ...it.values, geom: it.geometry }))
  const upsert = upsertSql(layer)
  try {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [lockKey(layer.table)])
      const ids: number[] = []
      progress('write', 0, total)
      for (const batch of chunks(rows, BATCH)) {
        const res = await tx.query<{ id: number; inserted: boolean }>(upsert, [JSON.stringify(batch)])
        for (const r of res.rows) {
          ids.push(Number(r.id))
          if (r.inserted) report.inserted++
          else report.updated++
        }
        progress('write', ids.length, total)
      }
      progress('grids', 0, ids.length)
      const gridSql = layer.gridColumn ? assignGridsSql(layer) : outsideGridsSql(layer)
      let done = 0
      for (const batch of chunks(ids, 5000)) {
        const res = await tx.query<{ outside: number }>(gridSql, [batch])
        report.outsideGrids += Number(res.rows[0]?.outside ?? 0)
        done += batch.length
        progress('grids', done, ids.length)
      }
    })
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '')
    // A constraint or data error the checks above did not foresee: still the client's file.
    if (/^2[23]/.test(code)) throw new ImportFileError(422, `the database refused the file, nothing was written: ${(err as Error).message}`)
    throw err
  }
  report.written = true
  report.durationMs = Math.round(performance.now() - started)
  progress('done', total, total)
  return report
}
