/**
 * Audit log (issue 10, docs/audit.md): logins (success and failure, with the attempted username
 * and why), logouts and writes (refused ones too) are recorded with actor, role, ip and request
 * id and never a password; the database refuses UPDATE, DELETE and TRUNCATE on audit_log; the
 * hash chain verifies, also under concurrent appends; an append in a rolled-back transaction
 * leaves no row. On a fresh database, one row changed behind the triggers' back (by the owner,
 * triggers disabled) is named as the first broken row by verify and by `npm run audit:verify`'s
 * script (exit 1), which says "audit chain OK" (exit 0) before. Only the audit admin reads and
 * exports the log (a dispatcher gets 403), bad filters are 400, and every read is itself recorded.
 */
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../server/config.ts'
import type { Db } from '../../server/db/index.ts'
import { openPglite } from '../../server/db/pglite.ts'
import { openPostgres } from '../../server/db/postgres.ts'
import { AuditLog, verify, type AuditRow } from '../../server/audit/log.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const MIGRATION = fs.readFileSync(path.join(projectRoot, 'server', 'db', 'migrations', '018_audit.sql'), 'utf8')

interface Row {
  id: string
  actor: string | null
  role: string | null
  action: string
  method: string | null
  target: string | null
  status: number | null
  detail: Record<string, unknown>
  ip: string | null
  req_id: string | null
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe.each(backends())('audit log on $name', ({ databaseUrl }) => {
  let s: TestServer
  let db: Db
  /** Rows of this run only: the PostGIS database keeps those of earlier runs. */
  let startId = 0
  const runTag = crypto.randomBytes(4).toString('hex')
  const ghost = `ghost-${runTag}`
  const secret = `S3cret-${runTag}`

  const rows = async (where: string, params: unknown[] = []) =>
    (await db.query<Row>(`SELECT id::text AS id, actor, role, action, method, target, status, detail, ip, req_id FROM audit_log WHERE id > ${startId} AND ${where} ORDER BY audit_log.id`, params)).rows

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    db = s.server.db
    startId = Number((await db.query<{ n: string }>('SELECT coalesce(max(id), 0)::text AS n FROM audit_log')).rows[0].n)
  })
  afterAll(async () => {
    await s?.close()
  })

  it('records a login, failed logins with the attempted username, ip and reason, and a logout — never the password', async () => {
    await login(s.url, 'dispatcher')
    const unknown = await post(`${s.url}/api/auth/login`, { username: ghost, password: secret })
    expect(unknown.status).toBe(401)
    const wrong = await post(`${s.url}/api/auth/login`, { username: 'leader', password: secret })
    expect(wrong.status).toBe(401)
    // A success after the failure, so the leader's failures in a row (lockout) do not pile up over runs.
    const leader = await login(s.url, 'leader')
    const out = await post(`${s.url}/api/auth/logout`, {}, { cookie: leader })
    expect(out.status).toBe(204)

    const success = await rows(`action = 'login.success' AND actor = 'dispatcher'`)
    expect(success).toHaveLength(1)
    expect(success[0]).toMatchObject({ role: 'dispatcher', status: 200, method: 'POST', target: '/api/auth/login' })
    expect(success[0].ip).toMatch(/127\.0\.0\.1/)
    expect(success[0].req_id).toBeTruthy()

    const [failedGhost] = await rows(`action = 'login.failure' AND actor = $1`, [ghost])
    expect(failedGhost).toMatchObject({ role: null, status: 401, detail: { reason: 'unknown user' } })
    expect(failedGhost.ip).toMatch(/127\.0\.0\.1/)
    const [failedLeader] = await rows(`action = 'login.failure' AND actor = 'leader'`)
    expect(failedLeader).toMatchObject({ status: 401, detail: { reason: 'wrong password' } })
    const logout = await rows(`action = 'logout' AND actor = 'leader'`)
    expect(logout).toHaveLength(1)
    expect(logout[0]).toMatchObject({ role: 'leader', status: 204, target: '/api/auth/logout' })

    // The password appears nowhere in the log.
    const leaks = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log a WHERE a::text LIKE '%' || $1 || '%'`, [secret])
    expect(leaks.rows[0].n).toBe(0)
  })

  it('records writes with method, path, status, actor, role, ip and request id — refused ones too', async () => {
    const dispatcher = await login(s.url, 'dispatcher')
    const sensor = (await db.query<{ id: number; status: string }>(`SELECT id, status FROM sensors ORDER BY id LIMIT 1`)).rows[0]
    const reqId = `audit-${runTag}`
    // The sensor's own status: a write that changes nothing.
    const ok = await fetch(`${s.url}/api/sensors/${sensor.id}`, {
      method: 'PATCH',
      headers: { cookie: dispatcher, 'content-type': 'application/json', 'x-request-id': reqId },
      body: JSON.stringify({ status: sensor.status }),
    })
    expect(ok.status).toBe(200)
    const refused = await fetch(`${s.url}/api/sensors/${sensor.id}`, {
      method: 'PATCH',
      headers: { cookie: dispatcher, 'content-type': 'application/json', 'x-request-id': `${reqId}-bad` },
      body: JSON.stringify({ status: 'exploded', password: secret }),
    })
    expect(refused.status).toBe(422)
    // Not signed in: no actor, not a user's write.
    const anonymous = await fetch(`${s.url}/api/sensors/${sensor.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-request-id': `${reqId}-anon` }, body: '{}' })
    expect(anonymous.status).toBe(401)

    const [write] = await rows(`req_id = $1`, [reqId])
    expect(write).toMatchObject({ action: 'write', actor: 'dispatcher', role: 'dispatcher', method: 'PATCH', target: `/api/sensors/${sensor.id}`, status: 200 })
    expect(write.ip).toMatch(/127\.0\.0\.1/)
    const [bad] = await rows(`req_id = $1`, [`${reqId}-bad`])
    expect(bad).toMatchObject({ action: 'write', actor: 'dispatcher', method: 'PATCH', status: 422 })
    expect(await rows(`req_id = $1`, [`${reqId}-anon`])).toHaveLength(0)
    const leaks = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log a WHERE a::text LIKE '%' || $1 || '%'`, [secret])
    expect(leaks.rows[0].n).toBe(0)
  })

  it('the database refuses UPDATE, DELETE and TRUNCATE on audit_log', async () => {
    // In a transaction that is never committed, in case one got through.
    for (const sql of [`UPDATE audit_log SET detail = '{"changed":true}' WHERE id = (SELECT max(id) FROM audit_log)`, 'DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)', 'TRUNCATE audit_log']) {
      await expect(
        db.transaction(async (tx) => {
          await tx.query(sql)
          throw new Error(`not refused: ${sql}`)
        }),
      ).rejects.toThrow(/audit_log is append-only/)
    }
  })

  it('the audit admin browses, filters, pages and exports; every read is recorded; a dispatcher gets 403; bad filters are 400', async () => {
    const auditor = await login(s.url, 'auditor')
    const dispatcher = await login(s.url, 'dispatcher')
    const get = (q: string, cookie = auditor) => fetch(`${s.url}/api/admin/audit${q}`, { headers: { cookie } })

    const newest = await get('?limit=3')
    expect(newest.status).toBe(200)
    const page1 = (await newest.json()) as { rows: AuditRow[]; next: number | null }
    expect(page1.rows).toHaveLength(3)
    expect(page1.rows[0].id).toBeGreaterThan(page1.rows[1].id)
    expect(page1.next).toBe(page1.rows[2].id)
    const page2 = (await (await get(`?limit=3&before=${page1.next}`)).json()) as { rows: AuditRow[] }
    expect(page2.rows[0].id).toBeLessThan(page1.rows[2].id)

    const logins = (await (await get(`?action=login.*&actor=dispatcher&from=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`)).json()) as { rows: AuditRow[] }
    expect(logins.rows.length).toBeGreaterThanOrEqual(2)
    for (const r of logins.rows) expect(r).toMatchObject({ actor: 'dispatcher', action: expect.stringMatching(/^login\./) })
    const failures = (await (await get(`?action=login.failure&actor=${ghost}`)).json()) as { rows: AuditRow[] }
    expect(failures.rows).toHaveLength(1)
    expect(failures.rows[0].detail).toMatchObject({ reason: 'unknown user' })

    for (const [q, message] of [
      ['?limit=0', /limit/],
      ['?limit=abc', /limit/],
      ['?from=yesterday', /from/],
      ['?action=DROP%20TABLE', /action/],
      ['?before=-1', /before/],
      ['?from=2026-05-02&to=2026-05-01', /before/],
    ] as const) {
      const res = await get(q)
      expect(res.status, q).toBe(400)
      expect(((await res.json()) as { error: { message: string } }).error.message, q).toMatch(message)
    }

    expect((await get('', dispatcher)).status).toBe(403)
    expect((await fetch(`${s.url}/api/admin/audit.csv`, { headers: { cookie: dispatcher } })).status).toBe(403)
    expect((await fetch(`${s.url}/api/admin/audit`)).status).toBe(401)

    // A username that a spreadsheet would run as a formula is exported as text.
    const formula = `=1+${runTag}`
    expect((await post(`${s.url}/api/auth/login`, { username: formula, password: 'x' })).status).toBe(401)
    const csvRes = await fetch(`${s.url}/api/admin/audit.csv?actor=${encodeURIComponent(formula)}`, { headers: { cookie: auditor } })
    expect(csvRes.status).toBe(200)
    expect(csvRes.headers.get('content-type')).toMatch(/text\/csv/)
    expect(csvRes.headers.get('content-disposition')).toMatch(/attachment; filename="audit-\d{8}T\d{6}\.csv"/)
    const records = parse(await csvRes.text(), { columns: true, bom: true }) as Record<string, string>[]
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ action: 'login.failure', actor: `'${formula}`, status: '401' })
    expect(Object.keys(records[0])).toEqual(['id', 'at', 'actor', 'role', 'action', 'method', 'target', 'status', 'ip', 'req_id', 'detail', 'prev_hash', 'hash'])
    const stored = (await db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE id = $1', [records[0].id])).rows[0]
    expect(records[0].hash).toBe(stored.hash)

    const all = await fetch(`${s.url}/api/admin/audit.csv?from=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`, { headers: { cookie: auditor } })
    const allRecords = parse(await all.text(), { columns: true, bom: true }) as Record<string, string>[]
    expect(allRecords.length).toBeGreaterThan(5)
    expect(Number(allRecords[0].id)).toBeGreaterThan(Number(allRecords[allRecords.length - 1].id))

    const reads = await rows(`action = 'read.audit' AND actor = 'auditor'`)
    // Seven 200 reads above (three JSON pages/filters + one more, two CSVs); refused ones are not reads.
    expect(reads.filter((r) => r.detail.format === 'json').length).toBe(4)
    expect(reads.filter((r) => r.detail.format === 'csv').length).toBe(2)
    expect(reads.find((r) => (r.detail.filters as { actor?: string })?.actor === ghost)).toMatchObject({ role: 'auditor', method: 'GET', target: '/api/admin/audit', detail: { rows: 1 } })
  })

  it('the chain verifies over everything recorded', async () => {
    const result = await verify(db, { pageSize: 50 })
    expect(result).toMatchObject({ ok: true })
    expect(result.rows).toBeGreaterThan(10)
    expect(result.firstBroken).toBeUndefined()
  })
})

/** An empty database with only the audit table: a PGlite data folder, or a new database on the server (dropped after). */
async function auditDatabase(backend: 'embedded' | 'postgres'): Promise<{ open(): Promise<Db>; env: Record<string, string>; drop(): Promise<void> }> {
  if (backend === 'embedded') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-audit-'))
    return { open: () => openPglite(dir), env: { DATABASE_URL: '', ONEGRID_DATA_DIR: dir }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) }
  }
  const url = process.env.TEST_DATABASE_URL!
  const name = `onegrid_audit_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end())
  const u = new URL(url)
  u.pathname = `/${name}`
  return {
    open: () => openPostgres(u.toString()),
    env: { DATABASE_URL: u.toString() },
    async drop() {
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => c.end())
    },
  }
}

/** `npx tsx server/audit/verify-cli.ts` with the database in env. */
function verifyCli(env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'server/audit/verify-cli.ts'], { cwd: projectRoot, env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` })
    })
  })
}

describe.each(backends())('audit chain tampering on $name (a fresh database)', ({ name }) => {
  let fresh: Awaited<ReturnType<typeof auditDatabase>>
  let db: Db
  let audit: AuditLog

  beforeAll(async () => {
    fresh = await auditDatabase(name)
    db = await fresh.open()
    await db.exec(MIGRATION)
    audit = new AuditLog(db)
  })
  afterAll(async () => {
    await db?.close().catch(() => {})
    await fresh?.drop()
  })

  it('appends one chain under concurrency; an append in a rolled-back transaction leaves nothing', async () => {
    for (let i = 0; i < 10; i++) await audit.record({ action: 'write', actor: `u${i}`, role: 'dispatcher', method: 'POST', target: `/api/x/${i}`, status: 200, detail: { i, f: 0.1 + 0.2, nested: { b: [1, 'two'], a: null } }, ip: '10.0.0.1', reqId: `r${i}` })
    // Concurrent appends (on PostgreSQL: over several pooled connections) must not fork the chain.
    const written = await Promise.all(Array.from({ length: 25 }, (_, i) => audit.record({ action: 'login.success', actor: `c${i}` })))
    expect(new Set(written.map((r) => r.prevHash)).size).toBe(25)
    // In the caller's transaction: committed with it, or gone with it.
    await db.transaction(async (tx) => {
      await audit.record({ action: 'config.change', actor: 'admin', detail: { committed: true } }, tx)
    })
    await expect(
      db.transaction(async (tx) => {
        await audit.record({ action: 'config.change', actor: 'admin', detail: { committed: false } }, tx)
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    await audit.record({ action: 'logout', actor: 'u1', detail: { text: 'nul\u0000 and lone \ud800 surrogate, 中文' } })
    const n = (await db.query<{ n: number; committed: number; rolled: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE detail->>'committed' = 'true')::int AS committed, count(*) FILTER (WHERE detail->>'committed' = 'false')::int AS rolled FROM audit_log`,
    )).rows[0]
    expect(n).toEqual({ n: 37, committed: 1, rolled: 0 })
    // Several pages, and one.
    expect(await verify(db, { pageSize: 4 })).toMatchObject({ ok: true, rows: 37 })
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 37 })
  })

  it('a row changed by the owner is named by verify and by the audit:verify script (exit 1)', async () => {
    const ok = async () => {
      // The embedded folder is one process's at a time: close it for the script.
      if (name === 'embedded') await db.close()
      const run = await verifyCli(fresh.env)
      if (name === 'embedded') db = await fresh.open()
      return run
    }
    const before = await ok()
    expect(before.code, before.out).toBe(0)
    expect(before.out).toMatch(/checked 37 rows/)
    expect(before.out).toMatch(/audit chain OK/)

    const target = Number((await db.query<{ id: string }>(`SELECT id::text AS id FROM audit_log ORDER BY audit_log.id OFFSET 12 LIMIT 1`)).rows[0].id)
    await db.exec(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
      UPDATE audit_log SET detail = '{"i": 99}' WHERE id = ${target};
      ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`)
    // Re-enabled: refused again.
    await expect(db.query(`UPDATE audit_log SET detail = '{}' WHERE id = ${target}`)).rejects.toThrow(/append-only/)

    const result = await verify(db, { pageSize: 5 })
    expect(result).toMatchObject({ ok: false, rows: 13, firstBroken: { id: target, reason: expect.stringMatching(/changed after it was written/) } })

    const after = await ok()
    expect(after.code, after.out).toBe(1)
    expect(after.out).toMatch(/checked 13 rows/)
    expect(after.out).toContain(`BROKEN at row ${target}:`)
    expect(after.out).toMatch(/changed after it was written/)
  })

  it('a removed row is found at the row after it', async () => {
    const ids = (await db.query<{ id: string }>(`SELECT id::text AS id FROM audit_log ORDER BY audit_log.id`)).rows.map((r) => Number(r.id))
    const victim = ids[20]
    await db.exec(`ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log WHERE id IN (${ids[12]}, ${victim}); ALTER TABLE audit_log ENABLE TRIGGER USER`)
    const result = await verify(db)
    expect(result).toMatchObject({ ok: false, firstBroken: { id: ids[13], reason: expect.stringMatching(/prev_hash does not match/) } })
  })
})
