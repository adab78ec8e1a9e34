import type { ImportProgressPayload } from '../../server/realtime/events.ts'
import type { ImportIssue, ImportReport } from '../../server/import/service.ts'
import type { Stats } from '../../server/admin/stats.ts'
import { ApiError, apiFetch } from './http.ts'

export type { ImportIssue, ImportProgressPayload }
export type AdminStats = Stats
export type ImportPhase = ImportProgressPayload['phase']
export type ImportCrs = 'wgs84' | 'gcj02'
export type ImportFormat = 'geojson' | 'csv'

/** What `GET /api/import/layers` says about one importable layer. */
export interface ImportLayerInfo {
  id: string
  title: { 'zh-CN': string; en: string }
  geometry: 'point' | 'line' | 'polygon'
  geometryTypes: string[]
  formats: ImportFormat[]
  externalId: string[]
  properties: { name: string; aliases?: string[]; type: string; required: boolean; enum?: string[]; default?: unknown; note?: string }[]
}

/** The server's report, with the id the progress events carry. */
export type ImportResult = ImportReport & { importId: string }

/** The file was read but features were rejected (422): nothing was written; the report says why. */
export class ImportRejectedError extends ApiError {
  readonly report: ImportResult

  constructor(message: string, report: ImportResult) {
    super(422, 'rejected', message)
    this.name = 'ImportRejectedError'
    this.report = report
  }
}

/** `GET /api/import/layers` — importable layers and the size limit (admins). */
export function fetchImportLayers(): Promise<{ maxBytes: number; layers: ImportLayerInfo[] }> {
  return apiFetch('/api/import/layers')
}

/** `GET /api/admin/stats` — counts per kind within the admin's scope. */
export function fetchStats(): Promise<AdminStats> {
  return apiFetch('/api/admin/stats')
}

/** The format the server should read a file as: CSV by name or type, else GeoJSON. */
export function formatOf(file: { name: string; type: string }): ImportFormat {
  return /\.csv$/i.test(file.name) || file.type === 'text/csv' ? 'csv' : 'geojson'
}

/**
 * `POST /api/import/:layer` with the file as the raw body. Resolves with the report; rejects
 * with ImportRejectedError (422, with the report) or ApiError. Not `apiFetch`: a 422 here
 * carries the report beside the error, which apiFetch does not keep.
 */
export async function uploadImport(opts: { layer: string; file: Blob; format: ImportFormat; crs: ImportCrs; importId: string }): Promise<ImportResult> {
  const query = new URLSearchParams({ format: opts.format, crs: opts.crs, importId: opts.importId })
  const headers = new Headers({
    Accept: 'application/json',
    'Content-Type': opts.format === 'csv' ? 'text/csv' : 'application/geo+json',
  })
  const lang = typeof document !== 'undefined' ? document.documentElement.lang : ''
  if (lang) headers.set('Accept-Language', lang)
  let response: Response
  try {
    response = await fetch(`/api/import/${encodeURIComponent(opts.layer)}?${query}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers,
      body: opts.file,
    })
  } catch (cause) {
    throw new ApiError(0, 'network_error', cause instanceof Error ? cause.message : String(cause))
  }
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  if (response.ok) return body as ImportResult
  const err = (body as { error?: { code?: string; message?: string }; report?: ImportResult } | undefined) ?? {}
  const message = err.error?.message ?? (response.statusText || `HTTP ${response.status}`)
  if (response.status === 422 && err.report) throw new ImportRejectedError(message, err.report)
  throw new ApiError(response.status, err.error?.code ?? `http_${response.status}`, message)
}
