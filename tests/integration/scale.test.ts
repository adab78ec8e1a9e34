/**
 * The scale generator on a real PostGIS: one synthetic district (scale 0.02) laid around the demo
 * city, codes nested like real ones, everything marked synthetic, resumable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../server/db/index.ts'
import { migrate } from '../../server/db/migrate.ts'
import { seedGeography } from '../../server/seed/geography.ts'
import { CAMERAS_PER_GRID, districtCode, GRIDS_PER_DISTRICT, scaleUp, SENSORS_PER_GRID } from '../../server/seed/scale.ts'
import { freshDatabase, type FreshDatabase } from '../helpers/db.ts'

const backend = process.env.TEST_DATABASE_URL ? 'postgres' : 'embedded'

describe(`scale generator on ${backend}`, () => {
  let fresh: FreshDatabase
  let db: Db
  let before: { grids: number; sensors: number }
  beforeAll(async () => {
    fresh = await freshDatabase(backend)
    db = fresh.db
    await migrate(db)
    await seedGeography(db)
    before = (await db.query<{ grids: number; sensors: number }>('SELECT (SELECT count(*)::int FROM grids) AS grids, (SELECT count(*)::int FROM sensors) AS sensors')).rows[0]
  })
  afterAll(async () => {
    await fresh?.drop()
  })

  it('adds one synthetic district of nested codes with its sensors, cameras and workers', async () => {
    const steps: number[] = []
    const counts = await scaleUp(db, 0.02, (done) => steps.push(done))
    expect(steps).toEqual([1])
    expect(counts.synthetic_districts).toBe(1)
    expect(counts.grids).toBe(before.grids + GRIDS_PER_DISTRICT)
    expect(counts.sensors).toBe(before.sensors + GRIDS_PER_DISTRICT * SENSORS_PER_GRID)
    const code = districtCode(0)
    const r = (
      await db.query<{ bad_codes: number; not_synthetic: number; streets: number; communities: number; overlap_real: number; cameras: number; workers: number }>(
        `SELECT
          (SELECT count(*)::int FROM grids WHERE district_code = $1 AND (code !~ '^[0-9]{15}$' OR left(code, 12) <> community_code OR left(code, 9) <> street_code)) AS bad_codes,
          (SELECT count(*)::int FROM grids WHERE district_code = $1 AND NOT synthetic) AS not_synthetic,
          (SELECT count(*)::int FROM admin_units WHERE parent_code = $1 AND level = 'street') AS streets,
          (SELECT count(*)::int FROM admin_units WHERE left(code, 6) = $1 AND level = 'community') AS communities,
          (SELECT count(*)::int FROM grids s JOIN grids g ON NOT g.synthetic AND ST_Intersects(s.geom, g.geom) AND ST_Area(ST_Intersection(s.geom, g.geom)) > 0 WHERE s.district_code = $1) AS overlap_real,
          (SELECT count(*)::int FROM cameras WHERE synthetic AND left(grid_code, 6) = $1) AS cameras,
          (SELECT count(*)::int FROM workers WHERE synthetic AND left(grid_code, 6) = $1) AS workers`,
        [code],
      )
    ).rows[0]
    expect(r).toEqual({ bad_codes: 0, not_synthetic: 0, streets: 20, communities: 200, overlap_real: 0, cameras: GRIDS_PER_DISTRICT * CAMERAS_PER_GRID, workers: GRIDS_PER_DISTRICT / 2 })
    // Every sensor lies in its grid.
    const outside = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sensors s JOIN grids g ON g.code = s.grid_code WHERE s.synthetic AND NOT ST_Intersects(g.geom, s.geom)`,
    )
    expect(outside.rows[0].n).toBe(0)
  })

  it('resumes: the same scale again adds nothing', async () => {
    const counts = await scaleUp(db, 0.02)
    expect(counts.synthetic_districts).toBe(1)
  })
})
