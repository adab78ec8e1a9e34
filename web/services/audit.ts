/**
 * The audit log for the audit admin (docs/audit.md): GET /api/admin/audit (newest first, paged by
 * `before`) and the CSV export at /api/admin/audit.csv with the same filters.
 */
import type { AuditRow } from '../../server/audit/log.ts'
import { apiFetch } from './http.ts'

export type { AuditRow }

/** Filters as the panel holds them: empty strings are "any". from/to are dates (YYYY-MM-DD) of the server's time zone. */
export interface AuditFilter {
  from: string
  to: string
  actor: string
  /** An action name, or a prefix ending in `*` (`login.*`). */
  action: string
}

export interface AuditPage {
  rows: AuditRow[]
  /** `before` for the next (older) page; null when this was the last. */
  next: number | null
}

/** The actions the panel offers as filters (the server accepts any name or prefix). */
export const AUDIT_ACTIONS = ['login.*', 'login.success', 'login.failure', 'logout', 'write', 'config.change', 'read.sensitive', 'read.audit'] as const

export function emptyAuditFilter(): AuditFilter {
  return { from: '', to: '', actor: '', action: '' }
}

function query(filter: AuditFilter, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries({ ...filter, ...extra })) if (v.trim()) q.set(k, v.trim())
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** `GET /api/admin/audit` — one page, newest first; `before`: the `next` of the page before. */
export function fetchAuditLog(filter: AuditFilter, opts: { limit?: number; before?: number | null } = {}): Promise<AuditPage> {
  const extra: Record<string, string> = { limit: String(opts.limit ?? 100) }
  if (opts.before) extra.before = String(opts.before)
  return apiFetch(`/api/admin/audit${query(filter, extra)}`)
}

/** The CSV export of every row the filter matches (a link: the browser downloads it with the session cookie). */
export function auditCsvUrl(filter: AuditFilter): string {
  return `/api/admin/audit.csv${query(filter)}`
}
