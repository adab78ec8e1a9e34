/**
 * The objects seeder on a real database: PGlite in memory always, and a fresh database on the
 * PostGIS server of TEST_DATABASE_URL when set. Checks the acceptance minimums, the codes and
 * checksums, the case workflow order, grid containment, and that the same seed twice gives the
 * same rows: the fresh PGlite database against the embedded test template (tests/helpers/
 * global-setup.ts), which global setup seeded with the same seed, anchor and seeder — compared
 * table by table by md5 of their rows.
 *
 * Every seeding of this file starts at once: the embedded one is this process's work (PGlite),
 * the PostGIS ones mostly the database server's, so on two cores they overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../server/db/index.ts'
import { migrate } from '../../server/db/migrate.ts'
import { openPglite } from '../../server/db/pglite.ts'
import { anchorDate } from '../../server/seed/index.ts'
import { seedObjects } from '../../server/seed/objects.ts'
import { seedGeography } from '../../server/seed/geography.ts'
import { seedUsers } from '../../server/seed/users.ts'
import { TEST_ANCHOR, TEST_PASSWORD, TEST_SEED, TEST_TZ } from '../helpers/constants.ts'
import { freshDatabase } from '../helpers/db.ts'
import { embeddedDataDir } from '../helpers/server.ts'

/** The test servers' demo city (tests/helpers/constants.ts): the template has the same. */
const SEED = TEST_SEED
const TZ = TEST_TZ
/** "Today" at 00:00 in Asia/Shanghai (UTC+8, no DST), as a server with ONEGRID_DEMO_ANCHOR has it. */
const ANCHOR = anchorDate(TEST_ANCHOR, TZ)
const SETUP_MS = 420_000

const url = process.env.TEST_DATABASE_URL
if (!url && process.env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set: the suite must run on a real PostGIS')
const backends: ('embedded' | 'postgres')[] = url ? ['embedded', 'postgres'] : ['embedded']

/** Tables the seeder fills, each with the order that makes its checksum stable. */
const TABLES: Record<string, string> = {
  departments: 'id',
  part_classes: 'code',
  case_categories: 'code',
  party_branches: 'id',
  grids: 'id',
  workers: 'id',
  grid_team: 'grid_code, worker_id, role',
  parts: 'id',
  sensors: 'id',
  sensor_readings: 'sensor_id, ts',
  cameras: 'id',
  houses: 'id',
  people: 'id',
  organizations: 'id',
  key_places: 'id',
  cases: 'id',
  case_actions: 'id',
  worker_positions: 'worker_id, ts',
}

interface Seeded {
  db: Db
  counts: Record<string, number>
  ms: number
  drop(): Promise<void>
}

type Kind = 'embedded' | 'postgres' | 'no roads'

/**
 * A fresh database with the geography and the objects seeded; 'no roads' is PostGIS when there is
 * one (else embedded) with roads and buildings deleted before the objects.
 */
async function seeded(kind: Kind): Promise<Seeded> {
  const backend = kind === 'no roads' ? (url ? 'postgres' : 'embedded') : kind
  const { db, drop } = await freshDatabase(backend)
  try {
    await migrate(db)
    await seedGeography(db)
    if (kind === 'no roads') await db.exec('DELETE FROM roads; DELETE FROM buildings')
    const t = Date.now()
    const lines: string[] = []
    const counts = await seedObjects(db, { seed: SEED, anchor: ANCHOR, tz: TZ, log: (m) => lines.push(m) })
    const ms = Date.now() - t
    console.log(`[${kind === 'no roads' ? `${backend}, no roads or buildings` : backend}] seedObjects ${(ms / 1000).toFixed(1)} s\n  ${lines.join('\n  ')}`)
    return { db, counts, ms, drop }
  } catch (err) {
    await drop()
    throw err
  }
}

async function checksums(db: Db): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [table, order] of Object.entries(TABLES)) {
    const r = await db.query<{ md5: string; n: number }>(`SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY ${order}), '')) AS md5, count(*)::int AS n FROM ${table} x`)
    out[table] = `${r.rows[0].n}:${r.rows[0].md5}`
  }
  return out
}

/** GB 11643 check character, written here independently of the seeder. */
function idValid(id: string): boolean {
  if (!/^[0-9]{17}[0-9X]$/.test(id)) return false
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = w.reduce((a, wi, i) => a + wi * Number(id[i]), 0)
  return '10X98765432'[sum % 11] === id[17]
}

const count = async (db: Db, sql: string, params: unknown[] = []) => (await db.query<{ n: number }>(sql, params)).rows[0].n

/**
 * The seedings, started together before the first test and awaited by their suites: the PostGIS
 * ones first, so their statements are on the server before PGlite's long steps hold this thread.
 */
const seedings = new Map<Kind, Promise<Seeded>>()
beforeAll(() => {
  for (const kind of [...(url ? ['postgres' as const] : []), 'no roads' as const, 'embedded' as const]) {
    const p = seeded(kind)
    // Awaited (and its failure reported) by its suite; no unhandled rejection meanwhile.
    p.catch(() => {})
    seedings.set(kind, p)
  }
})
afterAll(async () => {
  for (const r of await Promise.allSettled(seedings.values())) if (r.status === 'fulfilled') await r.value.drop()
})

// Before the full geography lands (or with a grids-only import): no roads and no buildings. Parts,
// cameras and tracks follow the grid edges; no houses, no people. Runs on the real server when
// there is one (faster), else embedded.
describe('seedObjects on grids without roads or buildings', () => {
  let db: Db
  let counts: Record<string, number>
  beforeAll(async () => {
    ;({ db, counts } = await seedings.get('no roads')!)
  }, SETUP_MS)

  it('places parts, cameras and sensors along the grid edges, and no houses', async () => {
    expect(counts.parts).toBeGreaterThanOrEqual(3000)
    expect(counts.cameras).toBeGreaterThanOrEqual(300)
    expect(counts.sensors).toBeGreaterThanOrEqual(1000)
    expect(counts.cases).toBeGreaterThanOrEqual(20_000)
    expect(counts.worker_positions).toBeGreaterThan(0)
    expect(counts.houses).toBe(0)
    expect(counts.people).toBe(0)
    for (const t of ['parts', 'sensors', 'cameras', 'cases']) {
      const n = await count(db, `SELECT count(*)::int AS n FROM ${t} x JOIN grids g ON g.code = x.grid_code WHERE NOT ST_Intersects(g.geom, x.geom)`)
      expect(n, t).toBe(0)
    }
  })
})

// The PostGIS suites first: their checks wait mostly on the database server, so they run while
// the embedded seeding (this process's work) goes on.
describe.each([...backends].reverse())('seedObjects on %s', (backend) => {
  let s: Seeded
  beforeAll(async () => {
    s = await seedings.get(backend)!
  }, SETUP_MS)

  it('fills every table to the acceptance minimums', async () => {
    const c = s.counts
    expect(c.parts).toBeGreaterThanOrEqual(3000)
    expect(c.sensors).toBeGreaterThanOrEqual(1000)
    expect(c.cameras).toBeGreaterThanOrEqual(300)
    expect(c.workers).toBeGreaterThanOrEqual(150)
    expect(c.people).toBeGreaterThanOrEqual(10_000)
    expect(c.cases).toBeGreaterThanOrEqual(20_000)
    for (const t of ['departments', 'part_classes', 'case_categories', 'party_branches', 'grid_team', 'sensor_readings', 'houses', 'organizations', 'key_places', 'case_actions', 'worker_positions'])
      expect(c[t], t).toBeGreaterThan(0)
    // The returned counts are the tables' counts.
    for (const t of ['parts', 'cases', 'people', 'sensor_readings']) expect(await count(s.db, `SELECT count(*)::int AS n FROM ${t}`)).toBe(c[t])
    const types = (await s.db.query<{ type: string }>('SELECT DISTINCT type FROM sensors ORDER BY 1')).rows.map((r) => r.type)
    expect(types).toEqual(['air_quality', 'cover_tilt', 'dust', 'gas', 'noise', 'smoke', 'structural', 'water_level'])
    const roles = (await s.db.query<{ role: string }>('SELECT DISTINCT role FROM workers ORDER BY 1')).rows.map((r) => r.role)
    expect(roles).toEqual(['grid_leader', 'grid_worker', 'inspector', 'supervisor'])
    // Every grid has its team, every community its party branch.
    expect(await count(s.db, `SELECT count(*)::int AS n FROM grids g WHERE NOT EXISTS (SELECT 1 FROM grid_team t WHERE t.grid_code = g.code AND t.role = 'grid_leader')
                                                                        OR NOT EXISTS (SELECT 1 FROM grid_team t WHERE t.grid_code = g.code AND t.role = 'supervisor')
                                                                        OR g.party_branch_id IS NULL`)).toBe(0)
  })

  it('codes parts with 16 digits: a district, the class, a sequence', async () => {
    const bad = await count(
      s.db,
      `SELECT count(*)::int AS n FROM parts p
       WHERE NOT (p.code ~ '^[0-9]{16}$' AND substr(p.code, 7, 4) = p.class_code
                  AND EXISTS (SELECT 1 FROM admin_units a WHERE a.level = 'district' AND a.code = left(p.code, 6))
                  AND (p.grid_code IS NULL OR left(p.grid_code, 6) = left(p.code, 6)))`,
    )
    expect(bad).toBe(0)
    expect(await count(s.db, `SELECT count(*)::int AS n FROM parts WHERE owner_dept_id IS NULL OR maintainer_dept_id IS NULL`)).toBe(0)
    // Real POIs became parts: toilets, bus stops, traffic signals.
    const fromPoi = (await s.db.query<{ class_code: string; n: number }>(`SELECT class_code, count(*)::int AS n FROM parts WHERE external_id LIKE 'osm:%' GROUP BY 1`)).rows
    for (const cls of ['0301', '0203', '0214']) expect(fromPoi.find((r) => r.class_code === cls)?.n ?? 0, cls).toBeGreaterThan(0)
  })

  it('aims cameras within [0, 360) with sane fields of view and ranges', async () => {
    const bad = await count(
      s.db,
      `SELECT count(*)::int AS n FROM cameras
       WHERE heading_deg < 0 OR heading_deg >= 360 OR range_m < 50 OR range_m > 150
          OR (kind = 'ptz' AND fov_deg <> 360) OR (kind = 'fixed' AND (fov_deg < 40 OR fov_deg > 90))
          OR stream_url <> 'rtsp://demo.invalid/cam/' || code OR code !~ '^[0-9]{20}$'`,
    )
    expect(bad).toBe(0)
  })

  it('gives people well-formed 18-digit id numbers with a valid check character', async () => {
    const rows = (await s.db.query<{ id_number: string; gender: string; birth_year: number; category: string }>('SELECT id_number, gender, birth_year, category FROM people')).rows
    const wrong = rows.filter((p) => {
      if (!idValid(p.id_number)) return true
      const birth = p.id_number.slice(6, 14)
      const d = new Date(`${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}T00:00:00Z`)
      if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10).replaceAll('-', '') !== birth) return true
      if (+birth.slice(0, 4) !== p.birth_year) return true
      if ((+p.id_number[16] % 2 === 1) !== (p.gender === 'M')) return true
      return p.category === 'overseas' ? !p.id_number.startsWith('9') : p.id_number.startsWith('9')
    })
    expect(wrong.slice(0, 5)).toEqual([])
    expect(new Set(rows.map((p) => p.id_number)).size).toBe(rows.length)
    const cats = new Set(rows.map((p) => p.category))
    expect([...cats].sort()).toEqual(['floating', 'overseas', 'registered'])
    expect(await count(s.db, `SELECT count(*)::int AS n FROM people WHERE special_group IS NOT NULL AND risk_level IS NOT NULL`)).toBeGreaterThan(0)
  })

  it('runs every case through the workflow in order, within the 90 days before the anchor', async () => {
    const a = ANCHOR.toISOString()
    const disorder = await count(
      s.db,
      `SELECT count(*)::int AS n FROM cases c
       CROSS JOIN LATERAL (SELECT array_agg(t ORDER BY o) AS ts
                           FROM unnest(ARRAY[c.reported_at, c.accepted_at, c.verified_at, c.registered_at, c.dispatched_at, c.in_progress_at,
                                             c.handled_at, c.checked_at, c.closed_at, c.evaluated_at]) WITH ORDINALITY AS u(t, o)
                           WHERE t IS NOT NULL) AS x
       WHERE EXISTS (SELECT 1 FROM generate_subscripts(x.ts, 1) AS i WHERE i > 1 AND x.ts[i] < x.ts[i - 1])`,
    )
    expect(disorder).toBe(0)
    expect(await count(s.db, `SELECT count(*)::int AS n FROM cases WHERE reported_at < $1::timestamptz - interval '90 days' OR reported_at >= $1::timestamptz`, [a])).toBe(0)
    expect(await count(s.db, `SELECT count(*)::int AS n FROM case_actions WHERE at > $1::timestamptz`, [a])).toBe(0)
    // Codes: C + local date of the report + a 5-digit daily sequence.
    expect(await count(s.db, `SELECT count(*)::int AS n FROM cases WHERE code !~ '^C[0-9]{13}$' OR substr(code, 2, 8) <> to_char(reported_at AT TIME ZONE $1, 'YYYYMMDD')`, [TZ])).toBe(0)
    // Every case has its report action; returns are counted as rework.
    expect(await count(s.db, `SELECT count(*)::int AS n FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = c.id AND a.action = 'report' AND a.at = c.reported_at)`)).toBe(0)
    expect(await count(s.db, `SELECT count(*)::int AS n FROM cases c WHERE c.rework_count <> (SELECT count(*) FROM case_actions a WHERE a.case_id = c.id AND a.action = 'check_fail')`)).toBe(0)
    const mix = (await s.db.query<{ stage: string; n: number; overdue: number; rework: number; rated: number }>(
      `SELECT stage, count(*)::int AS n, sum(overdue::int)::int AS overdue, sum((rework_count > 0)::int)::int AS rework, count(satisfaction)::int AS rated FROM cases GROUP BY 1`,
    )).rows
    const total = mix.reduce((x, r) => x + r.n, 0)
    const by = (st: string) => mix.find((r) => r.stage === st)?.n ?? 0
    expect(by('evaluated') / total).toBeGreaterThan(0.8)
    expect(mix.filter((r) => !['evaluated', 'closed', 'cancelled'].includes(r.stage)).length).toBeGreaterThanOrEqual(3)
    expect(mix.reduce((x, r) => x + r.overdue, 0)).toBeGreaterThan(0)
    expect(mix.reduce((x, r) => x + r.rework, 0)).toBeGreaterThan(0)
    const sources = (await s.db.query<{ source: string; share: number }>(`SELECT source, (count(*)::float8 / sum(count(*)) OVER ()) AS share FROM cases GROUP BY 1`)).rows
    expect(sources.map((r) => r.source).sort()).toEqual(['assigned', 'hotline', 'patrol', 'public', 'sensor', 'video'])
    const patrol = sources.find((r) => r.source === 'patrol')!.share
    expect(patrol).toBeGreaterThan(0.38)
    expect(patrol).toBeLessThan(0.52)
    for (const act of ['check_fail', 'request_extension', 'supervise']) expect(await count(s.db, `SELECT count(*)::int AS n FROM case_actions WHERE action = $1`, [act]), act).toBeGreaterThan(0)
  })

  it('puts every object with a grid code inside that grid', async () => {
    for (const t of ['parts', 'sensors', 'cameras', 'organizations', 'key_places', 'cases']) {
      const n = await count(s.db, `SELECT count(*)::int AS n FROM ${t} x JOIN grids g ON g.code = x.grid_code WHERE NOT ST_Intersects(g.geom, ST_PointOnSurface(x.geom))`)
      expect(n, t).toBe(0)
      // Located in a grid but without its code would be a miss of the spatial join.
      const missed = await count(s.db, `SELECT count(*)::int AS n FROM ${t} x WHERE x.grid_code IS NULL AND EXISTS (SELECT 1 FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(x.geom)))`)
      expect(missed, `${t} missed`).toBe(0)
    }
    const houses = await count(s.db, `SELECT count(*)::int AS n FROM houses h JOIN buildings b ON b.id = h.building_id JOIN grids g ON g.code = h.grid_code WHERE NOT ST_Intersects(g.geom, ST_PointOnSurface(b.geom))`)
    expect(houses).toBe(0)
    expect(await count(s.db, `SELECT count(*)::int AS n FROM people p JOIN houses h ON h.id = p.house_id WHERE p.grid_code IS DISTINCT FROM h.grid_code`)).toBe(0)
    // Grid leaders and workers were last seen inside their own grid, and patrol inside it.
    expect(await count(s.db, `SELECT count(*)::int AS n FROM workers w JOIN grids g ON g.code = w.grid_code WHERE w.geom IS NOT NULL AND w.role IN ('grid_leader', 'grid_worker') AND NOT ST_Intersects(g.geom, w.geom)`)).toBe(0)
    const fixes = (await s.db.query<{ n: number; outside: number }>(
      `SELECT count(*)::int AS n, sum((NOT ST_Intersects(g.geom, p.geom))::int)::int AS outside
       FROM worker_positions p JOIN workers w ON w.id = p.worker_id JOIN grids g ON g.code = w.grid_code
       WHERE w.role IN ('grid_leader', 'grid_worker')`,
    )).rows[0]
    expect(fixes.outside / fixes.n).toBeLessThan(0.001)
  })

  it('keeps readings hourly within the 14 days before the anchor, tracks every 2 minutes within the last 3 days', async () => {
    const a = ANCHOR.toISOString()
    expect(await count(s.db, `SELECT count(*)::int AS n FROM sensor_readings WHERE ts < $1::timestamptz - interval '14 days' OR ts >= $1::timestamptz OR extract(epoch FROM ts)::bigint % 3600 <> 0`, [a])).toBe(0)
    expect(await count(s.db, `SELECT count(*)::int AS n FROM worker_positions WHERE ts < $1::timestamptz - interval '3 days' OR ts >= $1::timestamptz`, [a])).toBe(0)
    const gaps = (await s.db.query<{ step: number; n: number }>(
      `SELECT step, count(*)::int AS n
       FROM (SELECT extract(epoch FROM ts - lag(ts) OVER (PARTITION BY worker_id ORDER BY ts))::int AS step FROM worker_positions) AS d
       GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
    )).rows[0]
    expect(gaps.step).toBe(120)
    // Alarm sensors end above their alarm threshold; a few others crossed a threshold in the history.
    expect(await count(s.db, `SELECT count(*)::int AS n FROM sensors WHERE status = 'alarm' AND last_value < (thresholds ->> 'alarm')::float8`)).toBe(0)
    expect(await count(s.db, `SELECT count(DISTINCT r.sensor_id)::int AS n FROM sensor_readings r JOIN sensors s ON s.id = r.sensor_id WHERE s.status <> 'alarm' AND r.value >= (s.thresholds ->> 'warn')::float8`)).toBeGreaterThan(0)
  })

  // Once, on the embedded database every `npm start` seeds (the seeder's code is the same on
  // PostGIS). The other seeding is the test template's, made by global setup with this seed and
  // anchor through ensureSeeded — which also adds the demo accounts (linking one worker to its
  // account), so this database gets them too before the comparison.
  it.runIf(backend === 'embedded')(
    'gives identical rows for the same seed and anchor',
    async () => {
      const template = embeddedDataDir()
      expect(template.dir, 'the seeded test template (tests/helpers/global-setup.ts)').not.toBe('memory://')
      try {
        const other = await openPglite(template.dir)
        try {
          await seedUsers(s.db, TEST_PASSWORD)
          const mine = await checksums(s.db)
          // The row counts seedObjects returned are the tables' (the checksums start with them).
          expect(Object.fromEntries(Object.entries(mine).map(([t, c]) => [t, Number(c.split(':')[0])]))).toMatchObject(s.counts)
          expect(await checksums(other)).toEqual(mine)
        } finally {
          await other.close()
        }
      } finally {
        template.cleanup()
      }
    },
    SETUP_MS,
  )

  it('leaves a database that has its objects alone', async () => {
    expect(await seedObjects(s.db, { seed: SEED + 1, anchor: ANCHOR, tz: TZ })).toEqual({})
  })
})
