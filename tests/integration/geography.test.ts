/**
 * The demo city's geography on a real PostGIS (embedded, and the server when TEST_DATABASE_URL
 * is set): real districts and streets, grids that tile the area, every building in its grid.
 */
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../server/db/index.ts'
import { migrate } from '../../server/db/migrate.ts'
import { seedGeography } from '../../server/seed/geography.ts'
import { freshDatabase, type FreshDatabase } from '../helpers/db.ts'

const streetNames = new Map(
  fs
    .readFileSync(new URL('../../server/seed/realdata/cn-codes/shanghai_streets.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .map(([code, name]) => [code, name.replace(/"/g, '')]),
)

/** md5 over the normalised rows of the geography, in a stable order. */
export const GEOGRAPHY_CHECKSUM = `SELECT md5(
  (SELECT string_agg(code || '|' || level || '|' || name || '|' || coalesce(parent_code, '') || '|' || md5(ST_AsBinary(ST_SnapToGrid(geom, 1e-9))), ',' ORDER BY code) FROM admin_units) ||
  (SELECT string_agg(code || '|' || name || '|' || area_m2 || '|' || md5(ST_AsBinary(ST_SnapToGrid(geom, 1e-9))), ',' ORDER BY code) FROM grids) ||
  (SELECT string_agg(external_id || '|' || height_m || '|' || coalesce(grid_code, ''), ',' ORDER BY external_id) FROM buildings) ||
  (SELECT string_agg(id || '|' || external_id || '|' || kind || '|' || md5(ST_AsBinary(ST_SnapToGrid(geom, 1e-9))), ',' ORDER BY id) FROM landuse) ||
  (SELECT string_agg(id || '|' || external_id || '|' || name || '|' || rank || '|' || ST_AsText(ST_SnapToGrid(geom, 1e-9)), ',' ORDER BY id) FROM map_labels) ||
  (SELECT string_agg(id || '|' || code, ',' ORDER BY id) FROM admin_units)) AS sum`

describe.each<'embedded' | 'postgres'>(['embedded', ...(process.env.TEST_DATABASE_URL ? ['postgres' as const] : [])])('demo geography on %s', (backend) => {
  let fresh: FreshDatabase
  let db: Db
  beforeAll(async () => {
    fresh = await freshDatabase(backend)
    db = fresh.db
    await migrate(db)
    await seedGeography(db)
  })
  afterAll(async () => {
    await fresh?.drop()
  })
  const one = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows[0]

  it('has real districts and streets with their real codes', async () => {
    const d = await db.query<{ code: string; name: string }>(`SELECT code, name FROM admin_units WHERE level = 'district' ORDER BY code`)
    expect(d.rows.length).toBeGreaterThanOrEqual(2)
    expect(d.rows).toEqual(expect.arrayContaining([{ code: '310101', name: '黄浦区' }, { code: '310115', name: '浦东新区' }]))
    const s = await db.query<{ code: string; name: string; parent_code: string }>(`SELECT code, name, parent_code FROM admin_units WHERE level = 'street'`)
    expect(s.rows.length).toBeGreaterThanOrEqual(5)
    for (const r of s.rows) {
      expect(streetNames.get(r.code), r.code).toBe(r.name)
      expect(r.code.startsWith(r.parent_code)).toBe(true)
    }
  })

  it('has at least 100 grids with 15-digit codes nested in their community', async () => {
    const r = await one<{ n: number; bad: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE code !~ '^[0-9]{15}$' OR left(code, 12) <> community_code
         OR left(code, 9) <> street_code OR left(code, 6) <> district_code)::int AS bad FROM grids`,
    )
    expect(r.n).toBeGreaterThanOrEqual(100)
    expect(r.bad).toBe(0)
    // No slivers: a grid is at least a block of 2,000 m² (slivers join a neighbour block).
    const small = await one<{ n: number }>(`SELECT count(*)::int AS n FROM grids WHERE area_m2 < 2000`)
    expect(small.n).toBe(0)
    const c = await one<{ bad: number }>(
      `SELECT count(*)::int AS bad FROM admin_units WHERE level = 'community' AND (code !~ '^[0-9]{12}$' OR left(code, 9) <> parent_code)`,
    )
    expect(c.bad).toBe(0)
  })

  it('grids do not overlap and tile the demo area, river included', async () => {
    const r = await one<{ overlap: number; total: number; union_area: number; districts: number; extent: number }>(`
      SELECT (SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
                FROM grids a JOIN grids b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)) AS overlap,
             (SELECT sum(ST_Area(geom::geography)) FROM grids) AS total,
             (SELECT ST_Area(ST_Union(geom)::geography) FROM grids) AS union_area,
             (SELECT ST_Area(ST_Union(geom)::geography) FROM admin_units WHERE level = 'district') AS districts,
             (SELECT ST_Area(ST_Envelope(ST_Collect(geom))::geography) FROM grids) AS extent`)
    expect(r.overlap / r.total).toBeLessThan(0.001)
    expect(Math.abs(r.union_area - r.districts) / r.districts).toBeLessThan(0.01)
    // The districts' parts inside the data's extent are the whole extent (river included).
    expect(Math.abs(r.districts - r.extent) / r.extent).toBeLessThan(0.01)
    const water = await one<{ n: number }>(`SELECT count(*)::int AS n FROM grids g JOIN water w ON ST_Intersects(g.label_point, w.geom)`)
    expect(water.n).toBeGreaterThan(0)
  })

  it('has at least 1,300 OSM buildings, every one with a height and its grid', async () => {
    const r = await one<{ n: number; no_height: number; estimated: number; wrong_grid: number }>(`
      SELECT count(*)::int AS n,
             count(*) FILTER (WHERE height_m IS NULL OR height_m <= 0)::int AS no_height,
             count(*) FILTER (WHERE height_estimated)::int AS estimated,
             count(*) FILTER (WHERE grid_code IS NULL OR grid_code IS DISTINCT FROM (
               SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(b.geom)) ORDER BY g.code LIMIT 1))::int AS wrong_grid
      FROM buildings b`)
    expect(r.n).toBeGreaterThanOrEqual(1300)
    expect(r.no_height).toBe(0)
    expect(r.estimated).toBeGreaterThan(0)
    expect(r.estimated).toBeLessThan(r.n)
    expect(r.wrong_grid).toBe(0)
    const tower = await one<{ height_m: number; height_estimated: boolean }>(`SELECT height_m, height_estimated FROM buildings ORDER BY height_m DESC LIMIT 1`)
    expect(tower.height_m).toBeGreaterThan(600) // the Shanghai Tower, 632 m in OSM
    expect(tower.height_estimated).toBe(false)
  })

  it('numbers grids west → east, north → south within a community', async () => {
    const rows = await db.query<{ community_code: string; code: string; x: number; y: number }>(
      `SELECT community_code, code, ST_X(ST_PointOnSurface(geom)) AS x, ST_Y(ST_PointOnSurface(geom)) AS y FROM grids ORDER BY code`,
    )
    // Within a community, a later grid is further south (by a row), or in the same row and further east.
    let bad = 0
    for (let i = 1; i < rows.rows.length; i++) {
      const [a, b] = [rows.rows[i - 1], rows.rows[i]]
      if (a.community_code !== b.community_code) continue
      const rowA = Math.floor((31.3 - a.y) / 0.002)
      const rowB = Math.floor((31.3 - b.y) / 0.002)
      if (rowB < rowA || (rowB === rowA && b.x < a.x)) bad++
    }
    expect(bad).toBe(0)
  })

  it('has OSM land use: valid polygons merged by OSM id, inside the demo area, parks and homes among them', async () => {
    const r = await one<{ n: number; invalid: number; not_polygonal: number; outside: number; dup: number; green: number; residential: number }>(`
      SELECT count(*)::int AS n,
             count(*) FILTER (WHERE NOT ST_IsValid(geom) OR ST_IsEmpty(geom))::int AS invalid,
             count(*) FILTER (WHERE GeometryType(geom) <> 'MULTIPOLYGON' OR ST_Area(geom::geography) < 1)::int AS not_polygonal,
             count(*) FILTER (WHERE NOT ST_CoveredBy(geom, (SELECT ST_Buffer(ST_Envelope(ST_Collect(g.geom)), 1e-9) FROM grids g)))::int AS outside,
             (count(*) - count(DISTINCT external_id))::int AS dup,
             count(*) FILTER (WHERE kind IN ('park', 'grass', 'garden'))::int AS green,
             count(*) FILTER (WHERE kind = 'residential')::int AS residential
      FROM landuse`)
    expect(r.n).toBeGreaterThan(50)
    expect(r.invalid).toBe(0)
    expect(r.not_polygonal).toBe(0)
    expect(r.outside).toBe(0)
    expect(r.dup).toBe(0)
    expect(r.green).toBeGreaterThan(0)
    expect(r.residential).toBeGreaterThan(0)
    // Merged: no OSM feature is split into its tile pieces (the source has 78 ids in several pieces).
    const split = await one<{ n: number }>(`SELECT count(*)::int AS n FROM landuse WHERE external_id !~ '^osm:-?[0-9]+$'`)
    expect(split.n).toBe(0)
  })

  it('labels every district, street and community once, at a point inside it and on land where it has land', async () => {
    const r = await one<{ units: number; labelled: number; outside: number; in_water: number; ranked: number }>(`
      SELECT (SELECT count(*)::int FROM admin_units WHERE level IN ('district', 'street', 'community')) AS units,
             count(DISTINCT l.unit_code)::int AS labelled,
             count(*) FILTER (WHERE NOT ST_Intersects(u.geom, l.geom))::int AS outside,
             count(*) FILTER (WHERE EXISTS (SELECT 1 FROM water w WHERE w.kind IN ('water', 'riverbank') AND ST_Contains(w.geom, l.geom))
                               AND ST_Area(ST_Difference(u.geom, (SELECT ST_Union(geom) FROM water WHERE kind IN ('water', 'riverbank')))::geography) > 1000)::int AS in_water,
             count(*) FILTER (WHERE l.rank = CASE u.level WHEN 'district' THEN 1 WHEN 'street' THEN 2 ELSE 3 END AND l.kind = u.level AND l.name = u.name)::int AS ranked
      FROM map_labels l JOIN admin_units u ON u.code = l.unit_code`)
    expect(r.units).toBeGreaterThan(20)
    expect(r.labelled).toBe(r.units)
    expect(r.outside).toBe(0)
    expect(r.in_water).toBe(0)
    expect(r.ranked).toBe(r.units)
    const dup = await one<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT unit_code FROM map_labels WHERE unit_code IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d`)
    expect(dup.n).toBe(0)
  })

  it('labels the OSM places in the demo area, localities in Chinese with their English names', async () => {
    const rows = await db.query<{ name: string; name_en: string | null; rank: number }>(`SELECT name, name_en, rank FROM map_labels WHERE kind = 'place' ORDER BY rank, name`)
    expect(rows.rows.length).toBeGreaterThanOrEqual(4)
    expect(rows.rows).toEqual(expect.arrayContaining([{ name: '城隍庙', name_en: 'Chenghuangmiao', rank: 4 }, { name: '十六铺', name_en: 'Shiliupu', rank: 4 }]))
    // Units rank before places: a district, street or community name wins a collision.
    const order = await one<{ worst_unit: number; best_place: number }>(
      `SELECT (SELECT max(rank) FROM map_labels WHERE kind <> 'place') AS worst_unit, (SELECT min(rank) FROM map_labels WHERE kind = 'place') AS best_place`,
    )
    expect(order.worst_unit).toBeLessThan(order.best_place)
  })

  it('serves each admin level through its view, with an integer id per unit', async () => {
    const r = await one<{ d: number; s: number; c: number; ids: number; units: number }>(`
      SELECT (SELECT count(*)::int FROM admin_districts) AS d, (SELECT count(*)::int FROM admin_streets) AS s,
             (SELECT count(*)::int FROM admin_communities) AS c,
             (SELECT count(DISTINCT id)::int FROM admin_units) AS ids, (SELECT count(*)::int FROM admin_units) AS units`)
    const levels = await db.query<{ level: string; n: number }>(`SELECT level, count(*)::int AS n FROM admin_units GROUP BY level`)
    const n = Object.fromEntries(levels.rows.map((x) => [x.level, x.n]))
    expect([r.d, r.s, r.c]).toEqual([n.district, n.street, n.community])
    expect(r.c).toBeGreaterThan(0)
    expect(r.ids).toBe(r.units)
  })

  it('seeding again is a no-op', async () => {
    expect(await seedGeography(db)).toBeNull()
  })

  it('the same data on a second fresh database of the same backend', async () => {
    const other = await freshDatabase(backend)
    try {
      await migrate(other.db)
      await seedGeography(other.db)
      const [a, b] = [await one<{ sum: string }>(GEOGRAPHY_CHECKSUM), (await other.db.query<{ sum: string }>(GEOGRAPHY_CHECKSUM)).rows[0]]
      expect(b.sum).toBe(a.sum)
    } finally {
      await other.drop()
    }
  })
})
