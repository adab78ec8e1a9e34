/**
 * CSV import of external case records (server/import/cases.ts) over HTTP and the CLI, on the
 * embedded database and (with TEST_DATABASE_URL) PostGIS. The fixture is a 12345 hotline export
 * with zh-CN headers, GCJ-02 coordinates and local Asia/Shanghai times (tests/fixtures/README.md).
 * A file with one bad row must be refused as a whole (422 naming the line), and a re-import must
 * skip what is already there. Re-runnable: the fixture's work-order numbers and this run's
 * `H6T-<run>-` numbers are deleted before and after.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import gcoord from 'gcoord'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const CSV_FILE = path.join(root, 'tests', 'fixtures', 'hotline-cases.csv')
const MAPPING_FILE = path.join(root, 'tests', 'fixtures', 'hotline-mapping.json')
const csvText = fs.readFileSync(CSV_FILE, 'utf8')
const mappingText = fs.readFileSync(MAPPING_FILE, 'utf8')
const FIXTURE_CODES = csvText.trim().split('\n').slice(1).map((l) => l.split(',')[0]!)
const run = `${process.pid}${Date.now().toString(36)}`
const PREFIX = `H6T-${run}-`

/** The grids the fixture's points are the centres of, in file order. */
const GRIDS = ['310101013001001', '310101013002003', '310101013004004', '310101018001002', '310109018001005', '310115004001004']

/** The fixture's rows with their work-order numbers renamed for this run (and optionally changed). */
function variant(tag: string, edit: (cells: string[], i: number) => void = () => {}): string {
  const [header, ...lines] = csvText.trim().split('\n')
  return [header, ...lines.map((l, i) => {
    const cells = l.split(',')
    cells[0] = `${PREFIX}${tag}-${i + 1}`
    edit(cells, i)
    return cells.join(',')
  })].join('\n') + '\n'
}

/** Metres between two WGS84 points (haversine). */
function metres(a: [number, number], b: [number, number]): number {
  const r = Math.PI / 180
  const h = Math.sin(((b[1] - a[1]) * r) / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(((b[0] - a[0]) * r) / 2) ** 2
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h))
}

async function cleanup(s: TestServer): Promise<void> {
  await s.server.db.query(`DELETE FROM cases WHERE external_code = ANY($1::text[]) OR external_code LIKE $2`, [FIXTURE_CODES, `${PREFIX}%`])
}

describe.each(backends())('case CSV import on $name', ({ databaseUrl }) => {
  let s: TestServer
  let dispatcher: string
  const post = (body: string, opts: { cookie?: string; mapping?: string; file?: string; type?: string } = {}) => {
    const q = new URLSearchParams()
    if (opts.mapping !== undefined) q.set('mapping', opts.mapping)
    if (opts.file) q.set('file', opts.file)
    return fetch(`${s.url}/api/import/cases?${q}`, {
      method: 'POST',
      headers: { cookie: opts.cookie ?? dispatcher, 'content-type': opts.type ?? 'text/csv' },
      body,
    })
  }
  const count = async (like: string) =>
    (await s.server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE external_code LIKE $1`, [like])).rows[0]!.n

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    await cleanup(s)
    // Importing hotline cases is a case job (cases.import): the dispatcher's, not the system admin's.
    dispatcher = await login(s.url, 'dispatcher')
  }, 120_000)

  afterAll(async () => {
    if (s) {
      await cleanup(s)
      await s.close()
    }
  })

  it('imports the hotline fixture: counts, fields, grids, local times, the import record', async () => {
    const res = await post(csvText, { mapping: mappingText, file: 'hotline-cases.csv' })
    const body = await res.json()
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body).toMatchObject({ kind: 'cases', total: 6, inserted: 6, skippedCount: 0, rejectedCount: 0, written: true, timeZone: 'Asia/Shanghai', crs: 'gcj02' })
    expect(body.created).toHaveLength(6)
    for (const c of body.created) expect(c.code).toMatch(/^C[0-9]{13}$/)

    const { rows } = await s.server.db.query<Record<string, unknown> & { lon: number; lat: number }>(
      `SELECT c.*, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat FROM cases c WHERE external_code = ANY($1::text[]) ORDER BY external_code`,
      [FIXTURE_CODES],
    )
    expect(rows).toHaveLength(6)
    // Each point lands in the grid it was taken from, back in WGS84 within a couple of metres.
    expect(rows.map((r) => r.grid_code)).toEqual(GRIDS)
    const lines = csvText.trim().split('\n').slice(1).map((l) => l.split(','))
    rows.forEach((r, i) => {
      const wgs = gcoord.transform([Number(lines[i]![5]), Number(lines[i]![6])], gcoord.GCJ02, gcoord.WGS84) as [number, number]
      expect(metres([r.lon, r.lat], wgs)).toBeLessThan(2)
      expect(r.source).toBe('hotline')
    })
    const byCode = new Map(rows.map((r) => [r.external_code as string, r]))
    const iso = (v: unknown) => (v === null ? null : new Date(v as string).toISOString())

    // 23:40 on 31 October in Shanghai is 15:40 UTC; the case code takes the local day.
    const late = byCode.get('GD202610310005')!
    expect(late).toMatchObject({ category_code: 'E0404', stage: 'closed', satisfaction: 1, reporter: '陈女士', address: '虹口区东大名路北外滩' })
    expect(late.description).toBe('小区门口下水道堵塞污水外溢')
    expect(iso(late.reported_at)).toBe('2026-10-31T15:40:00.000Z')
    expect(iso(late.accepted_at)).toBe('2026-10-31T15:40:00.000Z')
    expect(iso(late.dispatched_at)).toBe('2026-10-31T16:20:00.000Z')
    expect(iso(late.closed_at)).toBe('2026-11-01T02:00:00.000Z')
    expect(iso(late.stage_started_at)).toBe('2026-11-01T02:00:00.000Z')
    expect(late.code).toMatch(/^C20261031[0-9]{5}$/)

    // 2026/10/6 9:05 (slashes, no seconds) is read the same way.
    const slashes = byCode.get('GD202610060002')!
    expect(iso(slashes.reported_at)).toBe('2026-10-06T01:05:00.000Z')
    expect(slashes).toMatchObject({ stage: 'closed', satisfaction: 4, category_code: 'E0503' })
    const evaluated = byCode.get('GD202610050001')!
    expect(evaluated).toMatchObject({ stage: 'evaluated', satisfaction: 5 })
    expect(iso(evaluated.evaluated_at)).toBe(iso(evaluated.closed_at))
    expect(byCode.get('GD202610120003')).toMatchObject({ stage: 'accepted', closed_at: null, satisfaction: null, category_code: 'E0507' })
    expect(byCode.get('GD202610200004')).toMatchObject({ stage: 'in_progress', closed_at: null })
    expect(byCode.get('GD202611020006')).toMatchObject({ stage: 'cancelled', reporter: '孙先生' })

    // The record: one 'import' action per case naming the file and line.
    const { rows: acts } = await s.server.db.query<{ action: string; actor: string; to_stage: string; payload: Record<string, unknown> }>(
      `SELECT a.action, a.actor, a.to_stage, a.payload FROM case_actions a JOIN cases c ON c.id = a.case_id WHERE c.external_code = 'GD202610310005'`,
    )
    expect(acts).toHaveLength(1)
    expect(acts[0]).toMatchObject({ action: 'import', actor: 'dispatcher', to_stage: 'closed' })
    expect(acts[0]!.payload).toMatchObject({ file: 'hotline-cases.csv', line: 6, externalCode: 'GD202610310005' })

    // The workflow API reads an imported case like any other.
    const api = await fetch(`${s.url}/api/cases/${late.id as number}/timeline`, { headers: { cookie: await login(s.url, 'dispatcher') } })
    expect(api.status).toBe(200)
  })

  it('skips rows imported before: a second import of the same file writes nothing', async () => {
    const before = await count('GD2026%')
    const res = await post(csvText, { mapping: mappingText })
    const body = await res.json()
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body).toMatchObject({ total: 6, inserted: 0, skippedCount: 6 })
    expect(body.skipped[0].reason).toMatch(/already imported as case C[0-9]{13}/)
    expect(await count('GD2026%')).toBe(before)
    // A longer export: the old rows are skipped, the new one is added.
    const longer = `${csvText.trim()}\n${PREFIX}new-1,2026-11-03 10:00,暴露垃圾,新增工单,外滩,121.488684,31.242009,,已受理,,,\n`
    const more = await (await post(longer, { mapping: mappingText })).json()
    expect(more).toMatchObject({ total: 7, inserted: 1, skippedCount: 6 })
    expect(more.created[0]).toMatchObject({ line: 8, externalCode: `${PREFIX}new-1` })
  })

  it('refuses a file with one bad row among good ones: 422 naming the line, nothing written', async () => {
    const csv = variant('one', (c, i) => {
      if (i === 2) c[2] = '井盖丢失' // not in the mapping
    })
    const res = await post(csv, { mapping: mappingText })
    const body = await res.json()
    expect(res.status, JSON.stringify(body)).toBe(422)
    expect(body.error.message).toMatch(/^1 of 6 rows rejected, nothing was written — line 4 \(H6T-[^)]+-one-3\): 问题类型: unknown category value "井盖丢失"/)
    expect(body.report).toMatchObject({ rejectedCount: 1, written: false, inserted: 0 })
    expect(body.report.rejected[0]).toMatchObject({ line: 4, id: `${PREFIX}one-3` })
    expect(await count(`${PREFIX}one-%`)).toBe(0)
  })

  it('names every kind of bad row: category, place, dates, order, stage, duplicates', async () => {
    const csv = variant('bad', (c, i) => {
      if (i === 0) [c[5], c[6]] = ['116.397', '39.909'] // Beijing: outside every grid
      if (i === 1) c[1] = '2026-02-30 10:00' // no such day
      if (i === 2) [c[8], c[9]] = ['已办结', '2026-10-11 09:00'] // closed the day before it was reported
      if (i === 3) c[8] = '已挂起' // a status the mapping does not allow
      if (i === 4) c[0] = `${PREFIX}bad-4` // the number of line 5 again
      if (i === 5) c[10] = '满意' // satisfaction on a cancelled case
    })
    const res = await post(csv, { mapping: mappingText })
    const body = await res.json()
    expect(res.status).toBe(422)
    const byLine = new Map<number, string>(body.report.rejected.map((r: { line: number; reason: string }) => [r.line, r.reason]))
    expect(byLine.get(2)).toMatch(/outside every grid/)
    expect(byLine.get(3)).toMatch(/受理时间: "2026-02-30 10:00" is not a real date/)
    expect(byLine.get(4)).toMatch(/办结时间: 2026-10-11 09:00 is before 受理时间 2026-10-12 22:15/)
    expect(byLine.get(5)).toMatch(/处置状态: status "已挂起" is not allowed/)
    expect(byLine.get(6)).toMatch(/工单编号: "H6T-[^"]+-bad-4" is also on line 5/)
    expect(byLine.get(7)).toMatch(/满意度 is given but the case is at stage cancelled/)
    expect(body.report.rejectedCount).toBe(6)
    expect(await count(`${PREFIX}bad-%`)).toBe(0)
  })

  it('checks the mapping, the columns and who may import', async () => {
    const bad = await post(variant('m'), { mapping: JSON.stringify({ ...JSON.parse(mappingText), categories: { 暴露垃圾: 'E9999' } }) })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.message).toMatch(/not case categories: E9999/)
    const wrongStage = await post(variant('m'), { mapping: JSON.stringify({ ...JSON.parse(mappingText), stages: { 已受理: 'merged' } }) })
    expect(wrongStage.status).toBe(400)
    expect((await wrongStage.json()).error.message).toMatch(/stages\.已受理: a stage must be one of/)
    const noColumn = await post(variant('m').replace('满意度', '评价'), { mapping: mappingText })
    expect(noColumn.status).toBe(400)
    expect((await noColumn.json()).error.message).toMatch(/no column "满意度"/)
    const noMapping = await post(variant('m'))
    expect(noMapping.status).toBe(400)
    const supervisor = await post(variant('m'), { mapping: mappingText, cookie: await login(s.url, 'supervisor') })
    expect(supervisor.status).toBe(403)
    // The system admin imports base geodata, not cases.
    const admin = await post(variant('m'), { mapping: mappingText, cookie: await login(s.url, 'admin') })
    expect(admin.status).toBe(403)
    expect((await admin.json()).error.message).toMatch(/cases\.import/)
    expect(await count(`${PREFIX}m-%`)).toBe(0)
  })

  it('accepts the JSON form { mapping, csv } from a dispatcher', async () => {
    const res = await post(JSON.stringify({ mapping: JSON.parse(mappingText), csv: variant('json'), file: 'export.csv' }), {
      type: 'application/json',
      cookie: await login(s.url, 'dispatcher'),
    })
    const body = await res.json()
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body).toMatchObject({ inserted: 6, file: 'export.csv' })
    expect(await count(`${PREFIX}json-%`)).toBe(6)
  })
})

describe.skipIf(!process.env.TEST_DATABASE_URL)('case import CLI on PostGIS', () => {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx')
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(tsx, ['server/import/cli.ts', ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: process.env.TEST_DATABASE_URL! } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      )
    })
  let tmp: string
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-case-import-'))
  })
  afterAll(async () => {
    fs.rmSync(tmp, { recursive: true, force: true })
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
    await client.connect()
    await client.query(`DELETE FROM cases WHERE external_code LIKE $1`, [`${PREFIX}%`])
    await client.end()
  })

  it('npm run import -- cases file.csv --mapping m.json', async () => {
    const good = path.join(tmp, 'good.csv')
    fs.writeFileSync(good, variant('cli'))
    const ok = await cli(['cases', good, '--mapping', MAPPING_FILE])
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/good\.csv → cases: 6 rows, 6 inserted, 0 skipped/)
    const again = await cli(['cases', good, '--mapping', MAPPING_FILE])
    expect(again.stdout).toMatch(/6 rows, 0 inserted, 6 skipped/)
    const bad = path.join(tmp, 'bad.csv')
    fs.writeFileSync(bad, variant('clibad', (c, i) => {
      if (i === 1) c[2] = '不存在的类型'
    }))
    const refused = await cli(['cases', bad, '--mapping', MAPPING_FILE])
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/bad\.csv: 1 of 6 rows rejected, nothing was written — line 3/)
    const noMapping = await cli(['cases', good])
    expect(noMapping.code).toBe(1)
    expect(noMapping.stderr).toMatch(/--mapping is required/)
  }, 120_000)
})
