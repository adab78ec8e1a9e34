/**
 * CSV import of external case records (a city's hotline history, 12345 work orders): a mapping
 * file (JSON, checked with zod) names the CSV column of each of our case fields and maps the
 * file's category and status values to our category codes and stages. Reads the file with the
 * layer import's CSV reader (parse.ts), reports per row like it (ImportIssue, with the file line),
 * and is all or nothing the same way: any rejected row → nothing written, 422 with the report.
 *
 * Rows whose external code (工单编号) is already in `cases.external_code` are skipped and listed
 * as such, so importing the same export again — or a longer export of the same hotline — adds
 * only the new work orders and never changes an imported case.
 *
 * Used by POST /api/import/cases (routes.ts) and `npm run import -- cases <file> --mapping m.json`.
 */
import { z } from 'zod'
import type { Db, Queryable } from '../db/index.ts'
import { lastCaseNumber } from '../cases/service.ts'
import { SOURCES, STAGES, URGENCIES, type Stage } from '../cases/types.ts'
import { zoneClock, type ZoneClock } from '../time/zone.ts'
import { checkPosition, formatBytes, ImportFileError, inChinaBox, readCsvRecords, toWgs84 } from './parse.ts'
import { REPORT_LIMIT, type ImportIssue, type ProgressFn } from './service.ts'

// ---------------------------------------------------------------------------------------------
// The mapping file.

/** 'merged' needs the case it was merged into, which an outside record cannot name. */
export const IMPORT_STAGES = STAGES.filter((s) => s !== 'merged') as Exclude<Stage, 'merged'>[]
const CLOSED: readonly Stage[] = ['closed', 'evaluated', 'cancelled']

/** Our timestamp columns a CSV may fill, by mapping key. */
const STAMPS = {
  acceptedAt: 'accepted_at',
  verifiedAt: 'verified_at',
  registeredAt: 'registered_at',
  dispatchedAt: 'dispatched_at',
  inProgressAt: 'in_progress_at',
  handledAt: 'handled_at',
  checkedAt: 'checked_at',
  closedAt: 'closed_at',
  evaluatedAt: 'evaluated_at',
} as const
type StampKey = keyof typeof STAMPS
const STAMP_KEYS = Object.keys(STAMPS) as StampKey[]
/** The stamp that says when a case reached each stage (cancelled ends with closed_at, like the workflow). */
const STAGE_STAMP: Partial<Record<Stage, StampKey>> = {
  accepted: 'acceptedAt', verified: 'verifiedAt', registered: 'registeredAt', dispatched: 'dispatchedAt', in_progress: 'inProgressAt',
  handled: 'handledAt', checked: 'checkedAt', closed: 'closedAt', evaluated: 'evaluatedAt', cancelled: 'closedAt',
}

const Column = z.string().trim().min(1, 'a column name must not be empty')
const isZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

export const CaseMapping = z
  .object({
    /** Shown in reports and recorded with each imported case. */
    name: z.string().trim().min(1).max(200).optional(),
    /** Time zone of the CSV's local date-times; ONEGRID_TZ when absent. */
    timeZone: z.string().refine(isZone, 'timeZone must be an IANA time zone such as Asia/Shanghai').optional(),
    /** Coordinate system of the lon/lat columns (Chinese map SDKs and most hotline systems: gcj02). */
    crs: z.enum(['wgs84', 'gcj02'], { error: 'crs must be wgs84 or gcj02' }).default('wgs84'),
    source: z.enum(SOURCES, { error: `source must be one of ${SOURCES.join(', ')}` }).default('hotline'),
    /** Who reported, as shown on the case, when no reporter column is mapped (e.g. "12345热线"). */
    reporter: z.string().trim().min(1).max(200).optional(),
    columns: z
      .object({
        externalCode: Column,
        reportedAt: Column,
        category: Column,
        lon: Column,
        lat: Column,
        description: Column.optional(),
        address: Column.optional(),
        stage: Column.optional(),
        urgency: Column.optional(),
        reporter: Column.optional(),
        satisfaction: Column.optional(),
        outcome: Column.optional(),
        ...Object.fromEntries(STAMP_KEYS.map((k) => [k, Column.optional()])),
      } as Record<string, z.ZodType>)
      .strict(),
    /** The file's category values → our category codes (case_categories.code). A cell holding one of our codes needs no entry. */
    categories: z.record(z.string(), z.string().regex(/^[EP][0-9]{4}$/, 'category codes look like E0102 or P0101')).default({}),
    /** The file's status values → our stages (not merged). */
    stages: z.record(z.string(), z.enum(IMPORT_STAGES, { error: `a stage must be one of ${IMPORT_STAGES.join(', ')}` })).default({}),
    /** The stage of every row when no stage column is mapped. */
    defaultStage: z.enum(IMPORT_STAGES, { error: `defaultStage must be one of ${IMPORT_STAGES.join(', ')}` }).optional(),
    /** The file's satisfaction values (满意, 基本满意 …) → 1–5; without it the cells must be numbers 1–5. */
    satisfaction: z.record(z.string(), z.int().min(1).max(5)).optional(),
    urgencies: z.record(z.string(), z.enum(URGENCIES)).optional(),
  })
  .strict()
  .refine((m) => m.columns.stage !== undefined || m.defaultStage !== undefined, 'map a stage column (columns.stage with a stages map) or give defaultStage')

export type CaseMapping = z.infer<typeof CaseMapping>
type Columns = { externalCode: string; reportedAt: string; category: string; lon: string; lat: string } & Partial<Record<string, string>>

/** Parses and checks a mapping (JSON text or an object); 400 naming every problem. */
export function parseMapping(input: string | Buffer | unknown): CaseMapping {
  let value = input
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    try {
      value = JSON.parse(input.toString().replace(/^\uFEFF/, ''))
    } catch (err) {
      throw new ImportFileError(400, `the mapping is not valid JSON: ${(err as Error).message}`)
    }
  }
  const r = CaseMapping.safeParse(value)
  if (!r.success) {
    const issues = r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    throw new ImportFileError(400, `the mapping is not valid: ${issues.join('; ')}`)
  }
  return r.data
}

// ---------------------------------------------------------------------------------------------
// Dates.

const LOCAL = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/
const p2 = (s: string | undefined) => (s ?? '0').padStart(2, '0')

/**
 * A date-time cell → instant (ms), or a reason. Local wall-clock values (2026-10-05 08:30,
 * 2026/10/5 8:30:00, a bare date = its midnight) are read in the mapping's zone with ZoneClock;
 * ISO 8601 with Z or an offset is taken as written.
 */
export function parseCaseTime(text: string, clock: ZoneClock): number | string {
  const m = LOCAL.exec(text)
  if (m) {
    const [, y, mo, d, hh, mi, ss] = m
    const wall = `${y}-${p2(mo)}-${p2(d)} ${p2(hh)}:${p2(mi)}:${p2(ss)}`
    const ms = clock.parse(wall)
    // ZoneClock lets fields overflow (2月30日 → 3月2日): a real date reads back the same.
    if (Number.isNaN(ms) || clock.ymd(ms, '-') !== wall.slice(0, 10) || +p2(hh) > 23 || +p2(mi) > 59 || +p2(ss) > 59) {
      return `${JSON.stringify(text)} is not a real date and time`
    }
    return ms
  }
  if (WITH_OFFSET.test(text)) {
    const ms = Date.parse(text)
    if (Number.isFinite(ms)) return ms
  }
  return `${JSON.stringify(text)} is not a date-time (expected e.g. 2026-10-05 08:30:00, local time in the mapping's timeZone)`
}

// ---------------------------------------------------------------------------------------------
// The import.

export interface CaseImportReport {
  kind: 'cases'
  mapping: string | null
  file: string | null
  timeZone: string
  crs: 'wgs84' | 'gcj02'
  total: number
  inserted: number
  /** Rows whose external code was imported before: left as they are (at most REPORT_LIMIT listed). */
  skipped: ImportIssue[]
  skippedCount: number
  rejected: ImportIssue[]
  rejectedCount: number
  warnings: ImportIssue[]
  warningCount: number
  /** The new cases: file line, external code and our case code (at most REPORT_LIMIT listed). */
  created: { line: number; externalCode: string; code: string }[]
  durationMs: number
  written: boolean
}

export interface CaseImportInput {
  bytes: Buffer
  mapping: CaseMapping
  /** ONEGRID_TZ: the zone of case codes' days, and of the CSV's local times unless the mapping gives one. */
  tz: string
  maxBytes: number
  /** The file's name, recorded in each case's import action. */
  fileName?: string
  /** Who imports: recorded as the import action's actor. */
  actor: { username: string; scopePrefix?: string; unrestricted?: boolean }
  onProgress?: ProgressFn
  /** The clock (tests); Date.now by default. Rows dated after it are rejected. */
  now?: () => number
}

interface Row {
  line: number
  index: number
  externalCode?: string
  reasons: string[]
  warnings: string[]
  v?: {
    category: string
    stage: Stage
    urgency: string
    description: string
    address: string | null
    reporter: string | null
    outcome: string | null
    satisfaction: number | null
    lon: number
    lat: number
    reportedAt: number
    stamps: Partial<Record<StampKey, number>>
    grid?: string
  }
}

const BATCH = 500
/** Case imports run one at a time (the per-day numbering and the skip check need it). */
const LOCK_KEY = 7142014

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

const fmtLocal = (clock: ZoneClock, ms: number) => {
  const w = clock.wall(ms)
  return `${clock.ymd(ms, '-')} ${p2(String(w.getUTCHours()))}:${p2(String(w.getUTCMinutes()))}`
}

/** One line naming the first few rejected rows, for the 422 message and the CLI. */
export function summarizeCaseRejection(r: CaseImportReport): string {
  const first = r.rejected
    .slice(0, 3)
    .map((i) => `line ${i.line}${i.id ? ` (${i.id})` : ''}: ${i.reason}`)
    .join('; ')
  return `${r.rejectedCount} of ${r.total} row${r.total === 1 ? '' : 's'} rejected, nothing was written — ${first}${r.rejectedCount > 3 ? '; …' : ''}`
}

/**
 * Validates every row and, when none is rejected, writes the new cases in one transaction.
 * Throws ImportFileError for problems of the whole file or mapping (400/413); returns the report
 * (`rejectedCount > 0`: nothing written).
 */
export async function runCaseImport(db: Db, input: CaseImportInput): Promise<CaseImportReport> {
  const started = performance.now()
  const progress: ProgressFn = input.onProgress ?? (() => {})
  const now = (input.now ?? Date.now)()
  const m = input.mapping
  const cols = m.columns as Columns
  const tzName = m.timeZone ?? input.tz
  const local = zoneClock(tzName)
  const codeClock = zoneClock(input.tz)
  if (input.bytes.length > input.maxBytes) {
    throw new ImportFileError(413, `the file is ${formatBytes(input.bytes.length)}; the limit is ${formatBytes(input.maxBytes)} (ONEGRID_IMPORT_MAX_MB)`)
  }

  progress('parse', 0, 1)
  const records = readCsvRecords(input.bytes, { keepCase: true })
  const header = Object.keys(records[0]!.record)
  const missing = [...new Set(Object.values(cols).filter((c): c is string => !!c && !header.includes(c)))]
  if (missing.length) {
    throw new ImportFileError(400, `the CSV has no column ${missing.map((c) => JSON.stringify(c)).join(', ')} named in the mapping; its columns are: ${header.join(', ')}`)
  }
  progress('parse', 1, 1)

  // The mapping's category codes must all exist: a wrong mapping is one problem, not one per row.
  const { rows: cats } = await db.query<{ code: string }>('SELECT code FROM case_categories')
  const known = new Set(cats.map((c) => c.code))
  const unknownCodes = [...new Set(Object.values(m.categories))].filter((c) => !known.has(c))
  if (unknownCodes.length) {
    throw new ImportFileError(400, `the mapping's categories name codes that are not case categories: ${unknownCodes.join(', ')}`)
  }

  const total = records.length
  progress('validate', 0, total)
  const firstLine = new Map<string, number>()
  const rows: Row[] = records.map(({ record, info }, index): Row => {
    const row: Row = { line: info.lines, index, reasons: [], warnings: [] }
    const cell = (key: string): string | undefined => {
      const c = cols[key]
      const v = c === undefined ? undefined : record[c]
      return v === undefined || v === '' ? undefined : v
    }
    const bad = (key: string, why: string) => row.reasons.push(`${cols[key]}: ${why}`)

    const ext = cell('externalCode')
    if (!ext) bad('externalCode', 'empty (every row needs its work-order number)')
    else if (ext.length > 200) bad('externalCode', 'longer than 200 characters')
    else {
      row.externalCode = ext
      const first = firstLine.get(ext)
      if (first !== undefined) bad('externalCode', `${JSON.stringify(ext)} is also on line ${first}`)
      else firstLine.set(ext, row.line)
    }

    const catText = cell('category')
    let category: string | undefined
    if (!catText) bad('category', 'empty')
    else {
      category = m.categories[catText] ?? (known.has(catText) ? catText : undefined)
      if (!category) bad('category', `unknown category value ${JSON.stringify(catText)} (not in the mapping's categories, not one of our codes)`)
    }

    let stage: Stage | undefined
    const stageText = cell('stage')
    if (cols.stage === undefined) stage = m.defaultStage
    else if (!stageText) {
      if (m.defaultStage) stage = m.defaultStage
      else bad('stage', 'empty')
    } else {
      stage = m.stages[stageText]
      if (!stage) bad('stage', `status ${JSON.stringify(stageText)} is not allowed: the mapping's stages know ${Object.keys(m.stages).map((s) => JSON.stringify(s)).join(', ') || 'none'}`)
    }

    let urgency = 'normal'
    const urgText = cell('urgency')
    if (urgText) {
      const u = m.urgencies?.[urgText] ?? ((URGENCIES as readonly string[]).includes(urgText) ? urgText : undefined)
      if (!u) bad('urgency', `unknown urgency ${JSON.stringify(urgText)}`)
      else urgency = u
    }

    let satisfaction: number | null = null
    const satText = cell('satisfaction')
    if (satText) {
      const s = m.satisfaction ? m.satisfaction[satText] : /^[1-5]$/.test(satText) ? Number(satText) : undefined
      if (s === undefined) bad('satisfaction', `${JSON.stringify(satText)} is not ${m.satisfaction ? `one of ${Object.keys(m.satisfaction).join(', ')}` : 'a number from 1 to 5'}`)
      else satisfaction = s
    }

    // Position: both numbers, in range, then into WGS84.
    const lonText = cell('lon')
    const latText = cell('lat')
    let pos: number[] | undefined
    if (!lonText || !latText) row.reasons.push(`the place is needed: ${!lonText ? cols.lon : cols.lat} is empty (an address alone cannot be located)`)
    else {
      const x = Number(lonText)
      const y = Number(latText)
      if (!Number.isFinite(x)) bad('lon', `${JSON.stringify(lonText)} is not a number`)
      else if (!Number.isFinite(y)) bad('lat', `${JSON.stringify(latText)} is not a number`)
      else {
        const problem = checkPosition([x, y])
        if (problem) row.reasons.push(problem)
        else {
          if (m.crs === 'gcj02' && !inChinaBox([x, y])) row.warnings.push('GCJ-02 applies only inside China: the coordinates were kept as they are (WGS84)')
          pos = (toWgs84({ type: 'Point', coordinates: [x, y] }, m.crs).coordinates as number[])
        }
      }
    }

    // Times: each a real date, not in the future, none before the report.
    const time = (key: string): number | undefined => {
      const t = cell(key)
      if (!t) return undefined
      const ms = parseCaseTime(t, local)
      if (typeof ms === 'string') return void bad(key, ms)
      if (ms > now) return void bad(key, `${t} is in the future`)
      return ms
    }
    const reportedAt = time('reportedAt')
    if (reportedAt === undefined && !cell('reportedAt')) bad('reportedAt', 'empty (every row needs the time it was reported)')
    const stamps: Partial<Record<StampKey, number>> = {}
    for (const k of STAMP_KEYS) {
      const ms = time(k)
      if (ms === undefined) continue
      if (reportedAt !== undefined && ms < reportedAt) {
        bad(k, `${fmtLocal(local, ms)} is before ${cols.reportedAt} ${fmtLocal(local, reportedAt)}`)
      } else stamps[k] = ms
    }

    if (stage) {
      const isClosed = CLOSED.includes(stage)
      if (isClosed && stamps.closedAt === undefined && !row.reasons.some((r) => r.startsWith(`${cols.closedAt}:`))) {
        row.reasons.push(`stage ${stage}${stageText ? ` (${stageText})` : ''} needs the time it was closed${cols.closedAt ? `: ${cols.closedAt} is empty` : ' (map columns.closedAt)'}`)
      }
      if (!isClosed && stamps.closedAt !== undefined) row.reasons.push(`${cols.closedAt} is given but the case is at stage ${stage}${stageText ? ` (${stageText})` : ''}, not closed`)
      if (stage === 'evaluated' && satisfaction === null) row.reasons.push(`stage evaluated needs a satisfaction${cols.satisfaction ? `: ${cols.satisfaction} is empty` : ' (map columns.satisfaction)'}`)
      if (satisfaction !== null && !['closed', 'evaluated'].includes(stage)) row.reasons.push(`${cols.satisfaction} is given but the case is at stage ${stage}, not closed`)
      if (stamps.evaluatedAt !== undefined && stamps.closedAt !== undefined && stamps.evaluatedAt < stamps.closedAt) {
        bad('evaluatedAt', `${fmtLocal(local, stamps.evaluatedAt)} is before ${cols.closedAt} ${fmtLocal(local, stamps.closedAt)}`)
      }
    }

    if (row.reasons.length === 0 && category && stage && reportedAt !== undefined && pos) {
      // An evaluation without its own time counts at the closing (indicators place it by evaluated_at).
      if (stage === 'evaluated' && stamps.evaluatedAt === undefined) stamps.evaluatedAt = stamps.closedAt
      row.v = {
        category,
        stage,
        urgency,
        description: cell('description') ?? catText!,
        address: cell('address') ?? null,
        reporter: cell('reporter') ?? m.reporter ?? null,
        outcome: cell('outcome') ?? null,
        satisfaction,
        lon: pos[0]!,
        lat: pos[1]!,
        reportedAt,
        stamps,
      }
    }
    return row
  })

  // Locate: the grid of every valid row, in batches (the same rule as a reported case: the grid containing the point, lowest code).
  const placed = rows.filter((r) => r.v)
  let done = 0
  for (const batch of chunks(placed, BATCH)) {
    const { rows: found } = await db.query<{ i: number; code: string | null }>(
      `SELECT p.i, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)) ORDER BY g.code LIMIT 1) AS code
         FROM jsonb_to_recordset($1::jsonb) AS p(i int, x double precision, y double precision)`,
      [JSON.stringify(batch.map((r) => ({ i: r.index, x: r.v!.lon, y: r.v!.lat })))],
    )
    const byIndex = new Map(found.map((f) => [Number(f.i), f.code]))
    for (const r of batch) {
      const code = byIndex.get(r.index) ?? null
      const where = `${r.v!.lon.toFixed(6)}, ${r.v!.lat.toFixed(6)}${m.crs === 'gcj02' ? ' (WGS84, from GCJ-02)' : ''}`
      if (!code) r.reasons.push(`the place ${where} is outside every grid`)
      else if (!input.actor.unrestricted && input.actor.scopePrefix !== undefined && !code.startsWith(input.actor.scopePrefix)) {
        r.reasons.push(`the place ${where} is outside your scope`)
      } else r.v!.grid = code
    }
    done += batch.length
    progress('validate', done, placed.length)
  }
  progress('validate', total, total)

  const issue = (r: Row, reason: string): ImportIssue => ({ index: r.index, line: r.line, ...(r.externalCode ? { id: r.externalCode } : {}), reason })
  const rejected = rows.filter((r) => r.reasons.length).map((r) => issue(r, r.reasons.join('; ')))
  const warnings = rows.flatMap((r) => r.warnings.map((w) => issue(r, w)))
  const report: CaseImportReport = {
    kind: 'cases',
    mapping: m.name ?? null,
    file: input.fileName ?? null,
    timeZone: tzName,
    crs: m.crs,
    total,
    inserted: 0,
    skipped: [],
    skippedCount: 0,
    rejected: rejected.slice(0, REPORT_LIMIT),
    rejectedCount: rejected.length,
    warnings: warnings.slice(0, REPORT_LIMIT),
    warningCount: warnings.length,
    created: [],
    durationMs: 0,
    written: false,
  }
  if (rejected.length) {
    report.durationMs = Math.round(performance.now() - started)
    return report
  }

  const created: CaseImportReport['created'] = []
  const skipped: ImportIssue[] = []
  try {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY])
      // Under the lock: a parallel import of the same file waits, then skips what the first wrote.
      const existing = new Map<string, string>()
      for (const batch of chunks(rows.map((r) => r.externalCode!), 5000)) {
        const { rows: ex } = await tx.query<{ external_code: string; code: string }>('SELECT external_code, code FROM cases WHERE external_code = ANY($1::text[])', [batch])
        for (const e of ex) existing.set(e.external_code, e.code)
      }
      const fresh: Row[] = []
      for (const r of rows) {
        const had = existing.get(r.externalCode!)
        if (had) skipped.push(issue(r, `already imported as case ${had}; left unchanged`))
        else fresh.push(r)
      }
      progress('write', 0, fresh.length)
      // Case codes as CaseService numbers them: C<local day of the report><nnnnn>, in order of report time within a day.
      fresh.sort((a, b) => a.v!.reportedAt - b.v!.reportedAt || a.index - b.index)
      const next = new Map<string, number>()
      const values = []
      for (const r of fresh) {
        const day = `C${codeClock.ymd(r.v!.reportedAt)}`
        const n = (next.get(day) ?? (await lastCaseNumber(tx, day))) + 1
        next.set(day, n)
        const v = r.v!
        const stageStamp = STAGE_STAMP[v.stage]
        const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())
        const latest = Math.max(v.reportedAt, ...Object.values(v.stamps))
        values.push({
          line: r.line,
          code: `${day}${String(n).padStart(5, '0')}`,
          external_code: r.externalCode,
          category_code: v.category,
          source: m.source,
          urgency: v.urgency,
          stage: v.stage,
          description: v.description,
          address: v.address,
          grid_code: v.grid,
          reporter: v.reporter,
          outcome: v.outcome,
          satisfaction: v.satisfaction,
          reported_at: iso(v.reportedAt),
          ...Object.fromEntries(STAMP_KEYS.map((k) => [STAMPS[k], iso(v.stamps[k])])),
          // When the current stage began: its own stamp if the file gives it, else the latest time the file gives.
          stage_started_at: iso(v.stage === 'reported' ? v.reportedAt : stageStamp && v.stamps[stageStamp] !== undefined ? v.stamps[stageStamp] : latest),
          lon: v.lon,
          lat: v.lat,
          payload: {
            file: input.fileName ?? null,
            line: r.line,
            mapping: m.name ?? null,
            externalCode: r.externalCode,
            timeZone: tzName,
            crs: m.crs,
          },
        })
      }
      for (const batch of chunks(values, BATCH)) {
        const res = await insertBatch(tx, batch, input.actor.username, now)
        for (const c of res) if (created.length < REPORT_LIMIT) created.push(c)
        report.inserted += res.length
        progress('write', report.inserted, fresh.length)
      }
    })
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '')
    // A constraint the checks above did not foresee (a case reported meanwhile took a code): still nothing written.
    if (/^2[23]/.test(code)) throw new ImportFileError(422, `the database refused the file, nothing was written: ${(err as Error).message}`)
    throw err
  }
  report.skipped = skipped.slice(0, REPORT_LIMIT)
  report.skippedCount = skipped.length
  report.created = created
  report.written = true
  report.durationMs = Math.round(performance.now() - started)
  progress('done', total, total)
  return report
}

const STAMP_COLUMNS = Object.values(STAMPS)

/** Inserts cases and their 'import' actions; returns what was created. */
async function insertBatch(tx: Queryable, batch: Record<string, unknown>[], actor: string, now: number): Promise<CaseImportReport['created']> {
  const { rows } = await tx.query<{ id: number; code: string; external_code: string }>(
    `INSERT INTO cases (code, external_code, category_code, source, urgency, stage, description, address, grid_code, reporter, outcome,
                        satisfaction, reported_at, ${STAMP_COLUMNS.join(', ')}, stage_started_at, geom)
     SELECT r.code, r.external_code, r.category_code, r.source, r.urgency, r.stage, r.description, r.address, r.grid_code, r.reporter,
            r.outcome, r.satisfaction, r.reported_at, ${STAMP_COLUMNS.map((c) => `r.${c}`).join(', ')}, r.stage_started_at,
            ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326)
       FROM jsonb_to_recordset($1::jsonb) AS r(code text, external_code text, category_code text, source text, urgency text, stage text,
            description text, address text, grid_code text, reporter text, outcome text, satisfaction smallint, reported_at timestamptz,
            ${STAMP_COLUMNS.map((c) => `${c} timestamptz`).join(', ')}, stage_started_at timestamptz, lon double precision, lat double precision)
     RETURNING id, code, external_code`,
    [JSON.stringify(batch)],
  )
  const byExt = new Map(batch.map((b) => [b.external_code as string, b]))
  const actions = rows.map((r) => {
    const b = byExt.get(r.external_code)!
    return { case_id: r.id, to_stage: b.stage, lon: b.lon, lat: b.lat, note: `导入 ${String((b.payload as { file: string | null }).file ?? 'CSV')} 第 ${String(b.line)} 行`, payload: { ...(b.payload as object), stamps: Object.fromEntries(STAMP_COLUMNS.filter((c) => b[c]).map((c) => [c, b[c]])) } }
  })
  // The record says who imported what from where; the case's own stage times are the file's.
  await tx.query(
    `INSERT INTO case_actions (case_id, action, actor, role, at, note, geom, from_stage, to_stage, payload)
     SELECT a.case_id, 'import', $2, 'import', $3::timestamptz, a.note, ST_SetSRID(ST_MakePoint(a.lon, a.lat), 4326), NULL, a.to_stage, a.payload
       FROM jsonb_to_recordset($1::jsonb) AS a(case_id int, to_stage text, note text, lon double precision, lat double precision, payload jsonb)`,
    [JSON.stringify(actions), actor, new Date(now).toISOString()],
  )
  return rows.map((r) => ({ line: byExt.get(r.external_code)!.line as number, externalCode: r.external_code, code: r.code }))
}
