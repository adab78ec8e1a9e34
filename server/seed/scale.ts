/**
 * `npm run seed -- --scale[=n]`: adds synthetic districts around the real area until there are
 * n × (100,000 grids, 1,000,000 sensors, 200,000 cameras, 50,000 workers) — for benchmarks,
 * marked synthetic. Generated inside the database, one district per statement batch.
 */
import type { Db } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'

const sql = loadSql(new URL('./scale.sql', import.meta.url))

export const GRIDS_PER_DISTRICT = 2000
export const SENSORS_PER_GRID = 10
export const CAMERAS_PER_GRID = 2
/** Per scale unit: a province (product.md's "scale to plan for"). */
export const DISTRICTS_PER_SCALE = 100_000 / GRIDS_PER_DISTRICT

/** Where synthetic district i sits: a square spiral of 0.1° × 0.08° cells around the real area. */
export function districtOrigin(i: number, centre: { lon: number; lat: number }): { west: number; north: number } {
  // Spiral positions, skipping the centre cell (the real city).
  let x = 0
  let y = 0
  let dx = 1
  let dy = 0
  let leg = 1
  let steps = 0
  let turns = 0
  for (let k = 0; k <= i; k++) {
    x += dx
    y += dy
    if (++steps === leg) {
      steps = 0
      ;[dx, dy] = [-dy, dx]
      if (++turns % 2 === 0) leg++
    }
  }
  const w = 50 * 0.002
  const h = 40 * 0.002
  return { west: centre.lon - w / 2 + x * w, north: centre.lat + h / 2 + y * h }
}

/** 31 50 00, 31 50 01, … 31 50 99, 31 51 00 …: nested under 上海市 like real district codes. */
export const districtCode = (i: number) => `31${String(5000 + i).padStart(4, '0')}`

export interface ScaleCounts {
  grids: number
  sensors: number
  cameras: number
  workers: number
  synthetic_districts: number
}

export async function scaleUp(
  db: Db,
  scale: number,
  progress: (done: number, total: number) => void = () => {},
): Promise<ScaleCounts> {
  const target = Math.ceil(scale * DISTRICTS_PER_SCALE)
  const before = (await db.query<ScaleCounts>(sql.counts)).rows[0]
  const centre = (
    await db.query<{ lon: number; lat: number }>(
      `SELECT ST_X(c) AS lon, ST_Y(c) AS lat FROM (SELECT ST_Centroid(ST_Collect(geom)) AS c FROM admin_units WHERE level = 'district' AND NOT synthetic) x`,
    )
  ).rows[0]
  if (centre.lon === null) throw new Error('seed the demo city first: the synthetic districts are laid around it')
  for (let i = before.synthetic_districts; i < target; i++) {
    const code = districtCode(i)
    const { west, north } = districtOrigin(i, centre)
    // One district per transaction: an interrupted run resumes at the next district.
    await db.transaction(async (tx) => {
      await tx.query(sql.insert_district, [code, `合成区${i + 1}`, west, north])
      await tx.query(sql.insert_streets, [code, west, north])
      await tx.query(sql.insert_communities, [code, west, north])
      await tx.query(sql.insert_grids, [code, west, north])
      await tx.query(sql.insert_sensors, [code, SENSORS_PER_GRID])
      await tx.query(sql.insert_cameras, [code, CAMERAS_PER_GRID])
      await tx.query(sql.insert_workers, [code])
    })
    progress(i + 1 - before.synthetic_districts, target - before.synthetic_districts)
  }
  return (await db.query<ScaleCounts>(sql.counts)).rows[0]
}
