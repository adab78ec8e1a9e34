/**
 * The audit log (issue 10, docs/audit.md): an append-only table (migration 018_audit.sql) whose
 * rows are chained by hash, so a row changed or removed after it was written is found.
 *
 *   hash = sha256_hex((prev_hash ?? '') + JCS(row))
 *
 * where JCS is the RFC 8785 canonical JSON of the object
 * `{ id, at, actor, role, action, method, target, status, detail, ip, req_id }` (id a number,
 * at an ISO-8601 UTC string with milliseconds, absent values null) and prev_hash the hash of the
 * row before in id order (NULL for the first row).
 *
 * Appends are serialized by a transaction-scoped advisory lock: the appender takes the lock, reads
 * the last row's hash, allocates the next id and inserts, all in one transaction, so two processes
 * (or two requests of one) never chain to the same row. Given a caller's transaction, the row is
 * written in it and commits (or rolls back) with the change it records; the lock is then held
 * until that transaction ends, so audit last, just before committing.
 */
import crypto from 'node:crypto'
import canonicalize from 'canonicalize'
import type { Db, Queryable } from '../db/index.ts'
import type { Logger } from '../log.ts'

/** The advisory lock that serializes appends (the other 71420xx keys are in migrate, seed and jobs). */
export const AUDIT_LOCK = 7142010

/** What a caller records. Only `action` is required; nothing here may hold a password or a request body. */
export interface AuditEntry {
  /** Dotted lower-case name: login.success, login.failure, logout, write, config.change, read.sensitive, read.audit, … */
  action: string
  /** Username of who acted; for a failed login the attempted one. Null/absent: nobody signed in. */
  actor?: string | null
  role?: string | null
  /** HTTP method, when the entry is a request. */
  method?: string | null
  /** What was acted on: a request path, or an object such as `person:123`. */
  target?: string | null
  /** HTTP status answered. */
  status?: number | null
  /** More facts as JSON (a reason, filters, counts). Kept at most 16 KB of JSON. */
  detail?: Record<string, unknown> | null
  ip?: string | null
  /** The request id (ctx.state.reqId). */
  reqId?: string | null
}

/** A stored row. */
export interface AuditRow {
  id: number
  /** ISO-8601 UTC with milliseconds, e.g. 2026-05-01T08:00:00.123Z. */
  at: string
  actor: string | null
  role: string | null
  action: string
  method: string | null
  target: string | null
  status: number | null
  detail: Record<string, unknown>
  ip: string | null
  reqId: string | null
  prevHash: string | null
  hash: string
}

export interface VerifyResult {
  ok: boolean
  /** Rows checked (up to and including the first broken one). */
  rows: number
  /** The last row checked and its hash (to note outside the database: removing rows from the end is found only against it). */
  lastId?: number
  lastHash?: string
  firstBroken?: { id: number; reason: string }
}

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/
const MAX_DETAIL_BYTES = 16 * 1024
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** A string as stored: no NUL (PostgreSQL refuses it), no lone surrogate (it would not survive UTF-8), at most `max` characters. */
function clean(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u0000/g, '').slice(0, max).replace(LONE_SURROGATE, '\uFFFD')
}

function text(v: unknown, max: number): string | null {
  if (v === undefined || v === null) return null
  return clean(String(v), max)
}

/** A JSON value as jsonb gives it back: JSON round trip, strings cleaned (also keys). */
function cleanJson(v: unknown): unknown {
  if (typeof v === 'string') return clean(v, 100_000)
  if (Array.isArray(v)) return v.map(cleanJson)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [clean(k, 200), cleanJson(x)]))
  return v
}

function cleanDetail(detail: Record<string, unknown> | null | undefined): Record<string, unknown> {
  if (!detail) return {}
  const json = JSON.stringify(cleanJson(JSON.parse(JSON.stringify(detail)) as unknown))
  if (json === undefined) return {}
  if (Buffer.byteLength(json) > MAX_DETAIL_BYTES) return { truncated: true, bytes: Buffer.byteLength(json) }
  return JSON.parse(json) as Record<string, unknown>
}

/** The hash of a row: sha256 hex of the previous hash ('' for the first row) and the row's canonical JSON. */
export function rowHash(prevHash: string | null, row: Omit<AuditRow, 'prevHash' | 'hash'>): string {
  const canonical = canonicalize({
    id: row.id,
    at: row.at,
    actor: row.actor,
    role: row.role,
    action: row.action,
    method: row.method,
    target: row.target,
    status: row.status,
    detail: row.detail,
    ip: row.ip,
    req_id: row.reqId,
  })
  return crypto
    .createHash('sha256')
    .update(prevHash ?? '')
    .update(canonical ?? '')
    .digest('hex')
}

/** `at` as the hash covers it (UTC, milliseconds); the column holds whole milliseconds. */
const AT_ISO = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** Columns of a stored row, as toRow reads them. */
export const ROW_COLUMNS = `id::text AS id, ${AT_ISO} AS at, actor, role, action, method, target, status, detail, ip, req_id, prev_hash, hash`

export interface RawRow {
  id: string
  at: string
  actor: string | null
  role: string | null
  action: string
  method: string | null
  target: string | null
  status: number | null
  detail: Record<string, unknown> | string | null
  ip: string | null
  req_id: string | null
  prev_hash: string | null
  hash: string
}

export function toRow(r: RawRow): AuditRow {
  return {
    id: Number(r.id),
    at: r.at,
    actor: r.actor,
    role: r.role,
    action: r.action,
    method: r.method,
    target: r.target,
    status: r.status === null ? null : Number(r.status),
    detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : (r.detail ?? {})) as Record<string, unknown>,
    ip: r.ip,
    reqId: r.req_id,
    prevHash: r.prev_hash,
    hash: r.hash,
  }
}

export class AuditLog {
  readonly log: Logger | undefined

  constructor(
    /** The database it appends to (also read by the audit admin's routes). */
    readonly db: Db,
    opts: { log?: Logger } = {},
  ) {
    this.log = opts.log
  }

  /**
   * Appends one row chained to the last one and returns it. With `q` (a transaction of the
   * caller) the row is written in that transaction; without, in one of its own. Throws on an
   * invalid action name or a database failure (the caller decides whether that fails its request).
   */
  async record(entry: AuditEntry, q?: Queryable): Promise<AuditRow> {
    if (!ACTION.test(entry.action ?? '')) throw new Error(`audit action must be a dotted lower-case name such as login.success, not ${JSON.stringify(entry.action)}`)
    const status = Number.isInteger(entry.status) && Math.abs(entry.status!) < 2 ** 31 ? entry.status! : null
    const fields = {
      actor: text(entry.actor, 200),
      role: text(entry.role, 64),
      action: entry.action,
      method: text(entry.method, 16),
      target: text(entry.target, 2000),
      status,
      detail: cleanDetail(entry.detail),
      ip: text(entry.ip, 64),
      reqId: text(entry.reqId, 64),
    }
    const append = async (tx: Queryable): Promise<AuditRow> => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK])
      const last = await tx.query<{ hash: string }>('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1')
      const prevHash = last.rows[0]?.hash ?? null
      const next = await tx.query<{ id: string; at: string }>(
        `SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))::text AS id, ${AT_ISO} AS at
           FROM (SELECT date_trunc('milliseconds', clock_timestamp()) AS at) t`,
      )
      const row = { id: Number(next.rows[0].id), at: next.rows[0].at, ...fields }
      const hash = rowHash(prevHash, row)
      await tx.query(
        `INSERT INTO audit_log (id, at, actor, role, action, method, target, status, detail, ip, req_id, prev_hash, hash)
         VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13)`,
        [row.id, row.at, row.actor, row.role, row.action, row.method, row.target, row.status, JSON.stringify(row.detail), row.ip, row.reqId, prevHash, hash],
      )
      return { ...row, prevHash, hash }
    }
    // The lock is transaction-scoped: given the pool itself (no transaction), use one of our own.
    return q && q !== this.db ? append(q) : this.db.transaction(append)
  }

  /** Records and never throws: a failure is logged (for hooks whose request must not fail because of it). */
  async recordQuietly(entry: AuditEntry, q?: Queryable): Promise<AuditRow | null> {
    try {
      return await this.record(entry, q)
    } catch (err) {
      this.log?.error({ err, action: entry.action, actor: entry.actor }, 'audit: could not record')
      return null
    }
  }

  /** Checks the whole chain (see verify). */
  verify(opts?: { pageSize?: number }): Promise<VerifyResult> {
    return verify(this.db, opts)
  }
}

/**
 * Recomputes the chain in id order, reading pages of `pageSize` rows, and stops at the first row
 * whose hash or link is wrong: `{ ok, rows, firstBroken: { id, reason } }`.
 */
export async function verify(db: Queryable, opts: { pageSize?: number } = {}): Promise<VerifyResult> {
  const pageSize = Math.max(1, Math.min(opts.pageSize ?? 5000, 50_000))
  let rows = 0
  let prev: { id: number; hash: string } | null = null
  let after = '0'
  for (;;) {
    const page = await db.query<RawRow>(`SELECT ${ROW_COLUMNS} FROM audit_log WHERE id > $1::bigint ORDER BY audit_log.id LIMIT $2`, [after, pageSize])
    for (const raw of page.rows) {
      const r = toRow(raw)
      rows++
      const broken = (reason: string): VerifyResult => ({ ok: false, rows, lastId: prev?.id, lastHash: prev?.hash, firstBroken: { id: r.id, reason } })
      if (prev === null && r.prevHash !== null) return broken(`the first row has a prev_hash (${r.prevHash.slice(0, 12)}…): the rows before it were removed`)
      if (prev !== null && r.prevHash !== prev.hash) {
        return broken(`its prev_hash does not match the hash of row ${prev.id} before it: a row between them was removed or inserted, or row ${prev.id} was re-hashed`)
      }
      if (rowHash(r.prevHash, r) !== r.hash) return broken('its content does not match its hash: the row was changed after it was written')
      prev = { id: r.id, hash: r.hash }
    }
    if (page.rows.length < pageSize) break
    after = page.rows[page.rows.length - 1].id
  }
  return { ok: true, rows, ...(prev ? { lastId: prev.id, lastHash: prev.hash } : {}) }
}
