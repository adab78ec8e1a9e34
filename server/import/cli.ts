/**
 * `npm run import -- <file> --layer <name> [--crs gcj02] [--format csv]`
 * `npm run import -- cases <file.csv> --mapping <mapping.json>` (external case records, server/import/cases.ts)
 *
 * Imports one file into the configured database (DATABASE_URL, else the embedded one in
 * ONEGRID_DATA_DIR — stop the server first, the embedded database has one user) with the same
 * service as POST /api/import/:layer. Prints the report; exit code 0 when written, 1 with one
 * line on stderr when the file or any feature is rejected (then nothing is written).
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { openDb, StartupError, type Db } from '../db/index.ts'
import { migrate } from '../db/migrate.ts'
import { importLayers } from './layers.ts'
import { formatBytes } from './parse.ts'
import { ImportFileError, runImport, summarizeRejection, type Crs, type ImportFormat, type ImportPhase } from './service.ts'
import { parseMapping, runCaseImport, summarizeCaseRejection, type CaseImportReport } from './cases.ts'

const USAGE = `usage: npm run import -- <file> --layer <${[...importLayers.keys()].join('|')}> [--crs wgs84|gcj02] [--format geojson|csv] [--json: print the whole report, every rejected feature included]
       npm run import -- cases <file.csv> --mapping <mapping.json> [--json]`

function fail(message: string): never {
  process.stderr.write(`onegrid import: ${message}\n`)
  process.exit(1)
}

const PHASE_NAMES: Record<ImportPhase, string> = {
  receive: 'read',
  parse: 'parse',
  validate: 'validate',
  write: 'write',
  grids: 'grids',
  done: 'done',
}

const OPTIONS = {
  layer: { type: 'string' },
  mapping: { type: 'string' },
  crs: { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const

function readArgs() {
  try {
    return parseArgs({ options: OPTIONS, allowPositionals: true })
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`)
  }
}

async function main(): Promise<void> {
  const args = readArgs()
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const casesMode = args.positionals[0] === 'cases' && args.positionals.length === 2
  const file = casesMode ? args.positionals[1] : args.positionals[0]
  if (!file || (!casesMode && args.positionals.length > 1)) fail(`give exactly one file\n${USAGE}`)
  if (casesMode) return importCases(file, args.values.mapping, args.values.json === true)
  const layerId = args.values.layer
  if (!layerId) fail(`--layer is required\n${USAGE}`)
  if (!importLayers.has(layerId)) fail(`unknown layer "${layerId}"; importable layers: ${[...importLayers.keys()].join(', ')}`)
  const crs = (args.values.crs ?? 'wgs84') as Crs
  if (crs !== 'wgs84' && crs !== 'gcj02') fail('--crs must be wgs84 or gcj02')
  const format = (args.values.format ?? (path.extname(file).toLowerCase() === '.csv' ? 'csv' : 'geojson')) as ImportFormat
  if (format !== 'geojson' && format !== 'csv') fail('--format must be geojson or csv')

  const config = cliConfig()
  const maxBytes = config.ONEGRID_IMPORT_MAX_MB * 1024 * 1024
  const bytes = readWithin(file, maxBytes)
  const db = await openMigrated(config)

  const bar = new cliProgress.SingleBar(
    { format: ' {phase} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true, stopOnComplete: false },
    cliProgress.Presets.shades_classic,
  )
  let barPhase: string | null = null
  const onProgress = (phase: ImportPhase, done: number, total: number) => {
    if (!process.stderr.isTTY) return
    if (barPhase === null) bar.start(total, done, { phase: PHASE_NAMES[phase].padEnd(8) })
    else if (barPhase !== phase) bar.setTotal(total)
    barPhase = phase
    bar.update(done, { phase: PHASE_NAMES[phase].padEnd(8) })
  }

  try {
    const report = await runImport(db, { bytes, format, layer: layerId, crs, maxBytes, onProgress })
    if (barPhase !== null) bar.stop()
    if (args.values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    if (report.rejectedCount > 0) {
      // One line; --json prints every reason.
      await db.close()
      fail(`${path.basename(file)}: ${summarizeRejection(report)}`)
    }
    if (!args.values.json) {
      process.stdout.write(
        `${path.basename(file)} → ${report.layer}: ${report.total} features, ${report.inserted} inserted, ${report.updated} updated, ` +
          `${report.outsideGrids} outside every grid, ${report.warningCount} warnings (${report.durationMs} ms)\n`,
      )
      for (const w of report.warnings) process.stdout.write(`  warning #${w.index}${w.id ? ` ${w.id}` : ''}: ${w.reason}\n`)
    }
  } catch (err) {
    if (barPhase !== null) bar.stop()
    await db.close().catch(() => {})
    if (err instanceof ImportFileError) fail(`${path.basename(file)}: ${err.message}`)
    throw err
  }
  await db.close()
}

/** The configuration, or one line saying what is wrong with it. */
function cliConfig(): Config {
  try {
    return loadConfig()
  } catch (err) {
    fail((err as ConfigError).message)
  }
}

/** A file's bytes, refused in one line when it is larger than the import limit or cannot be read. */
function readWithin(file: string, maxBytes: number): Buffer {
  let size: number
  try {
    size = fs.statSync(file).size
  } catch (err) {
    fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (size > maxBytes) fail(`${file} is ${formatBytes(size)}; the limit is ${formatBytes(maxBytes)} (ONEGRID_IMPORT_MAX_MB)`)
  try {
    return fs.readFileSync(file)
  } catch (err) {
    fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** The database of the configuration, migrated; an operator's problem (no server, no PostGIS) in one line. */
async function openMigrated(config: Config): Promise<Db> {
  try {
    const db = await openDb(config)
    await migrate(db)
    return db
  } catch (err) {
    if (err instanceof StartupError) fail(err.message)
    throw err
  }
}

/** `cases <file.csv> --mapping m.json`: the same service as POST /api/import/cases, as the system user "cli". */
async function importCases(file: string, mappingFile: string | undefined, json: boolean): Promise<void> {
  if (!mappingFile) fail(`--mapping is required for cases\n${USAGE}`)
  const config = cliConfig()
  const maxBytes = config.ONEGRID_IMPORT_MAX_MB * 1024 * 1024
  const bytes = readWithin(file, maxBytes)
  let mapping
  try {
    mapping = parseMapping(readWithin(mappingFile, maxBytes))
  } catch (err) {
    fail(`${path.basename(mappingFile)}: ${(err as Error).message}`)
  }
  const db = await openMigrated(config)
  let report: CaseImportReport
  try {
    report = await runCaseImport(db, { bytes, mapping, tz: config.ONEGRID_TZ, maxBytes, fileName: path.basename(file), actor: { username: 'cli', unrestricted: true } })
  } catch (err) {
    await db.close().catch(() => {})
    if (err instanceof ImportFileError) fail(`${path.basename(file)}: ${err.message}`)
    throw err
  }
  await db.close()
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  if (report.rejectedCount > 0) fail(`${path.basename(file)}: ${summarizeCaseRejection(report)}`)
  if (!json) {
    process.stdout.write(
      `${path.basename(file)} → cases: ${report.total} rows, ${report.inserted} inserted, ${report.skippedCount} skipped (imported before), ` +
        `${report.warningCount} warnings (${report.durationMs} ms)\n`,
    )
    for (const w of report.warnings) process.stdout.write(`  warning line ${w.line}${w.id ? ` ${w.id}` : ''}: ${w.reason}\n`)
  }
}

await main()
