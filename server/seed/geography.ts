/**
 * Seeds the demo city's geography from the real data in seed/realdata: districts from the real
 * OSM district boundary lines, real streets (cn-codes), generated communities and unit grids
 * made of whole road blocks, plus the OSM roads, water, buildings and land use, and the map
 * labels of the units and the OSM places (geography.sql says how).
 */
import fs from 'node:fs'
import type { Db, Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'

const sql = loadSql(new URL('./geography.sql', import.meta.url))
const realdata = new URL('./realdata/', import.meta.url)

interface StreetRules {
  districts: Record<string, { code: string; box?: [number, number, number, number] }[]>
  communityHectares: number
  minBlockM2: number
  gridHectares: number
  waterGridHectares: number
}

function readCodes(name: string): Map<string, string> {
  const [, ...lines] = fs.readFileSync(new URL(`cn-codes/${name}`, realdata), 'utf8').trim().split(/\r?\n/)
  // code,"name",…: the files have no commas inside names.
  return new Map(lines.map((l) => l.split(',')).map(([code, name]) => [code, name.replace(/^"|"$/g, '')]))
}

const osm = (layer: string) => fs.readFileSync(new URL(`shanghai-lujiazui-osm/shanghai_${layer}.geojson`, realdata), 'utf8')

export interface GeographyCounts {
  districts: number
  streets: number
  communities: number
  grids: number
  roads: number
  water: number
  buildings: number
  landuse: number
  labels: number
}

/** The OSM layers the base map needs after the units exist, when `osm` is not loaded yet. */
const BASEMAP_LAYERS = ['earth', 'water', 'landuse', 'places']

/**
 * Land use and map labels (needs the admin units, the `osm` temp table and geo_extent). Also
 * run on its own for a database seeded before the base map had them (loadOsm = true).
 */
async function seedBasemap(tx: Queryable, loadOsm: boolean): Promise<void> {
  if (loadOsm) {
    await tx.query(sql.create_osm)
    for (const layer of BASEMAP_LAYERS) await tx.query(sql.insert_osm, [layer, osm(layer)])
    await tx.query(sql.create_extent)
    await tx.query(sql.create_water)
  }
  await tx.query(sql.insert_landuse)
  await tx.query(sql.insert_unit_labels)
  await tx.query(sql.insert_place_labels)
}

export async function seedGeography(db: Db, log: (msg: string) => void = () => {}): Promise<GeographyCounts | null> {
  const counties = readCodes('shanghai_counties.csv')
  const streets = readCodes('shanghai_streets.csv')
  const rules = JSON.parse(fs.readFileSync(new URL('./data/streets.json', import.meta.url), 'utf8')) as StreetRules
  const districtCodeByName = Object.fromEntries([...counties].map(([code, name]) => [name, code]))

  return db.transaction(async (tx) => {
    // Several processes may start at once on an empty database: one seeds, the others find it done.
    await tx.query('SELECT pg_advisory_xact_lock(7142002)')
    const done = await tx.query<{ units: number; basemap: number }>(
      `SELECT (SELECT count(*)::int FROM admin_units) AS units,
              (SELECT count(*)::int FROM landuse) + (SELECT count(*)::int FROM map_labels) AS basemap`,
    )
    if (done.rows[0].units > 0) {
      // Seeded before land use and labels existed: add them, leave the rest as it is.
      if (done.rows[0].basemap === 0) {
        await seedBasemap(tx, true)
        log('geography: added land use and map labels')
      }
      return null
    }
    let t = Date.now()
    const step = (what: string) => {
      log(`geography: ${what} (${Date.now() - t} ms)`)
      t = Date.now()
    }
    await tx.query(sql.create_osm)
    for (const layer of ['earth', 'boundaries', 'water', 'roads', 'buildings', 'landuse', 'places']) await tx.query(sql.insert_osm, [layer, osm(layer)])
    step('loaded OSM')
    await tx.query(sql.create_extent)
    await tx.query(sql.create_districts, [JSON.stringify(districtCodeByName)])
    await tx.query(sql.create_water)
    await tx.query(sql.create_blocks, [JSON.stringify(rules.districts)])
    await tx.query(sql.map_slivers, [rules.minBlockM2])
    await tx.query(sql.merge_slivers)
    await tx.query(sql.drop_slivers)
    step('districts and road blocks')
    await tx.query(sql.assign_communities, [rules.communityHectares * 10_000])
    await tx.query(sql.number_communities)
    await tx.query(sql.assign_grids, [rules.gridHectares * 10_000, rules.waterGridHectares * 10_000])
    step('communities and grids grouped')

    const present = await tx.query<{ district_code: string; street_code: string }>(
      'SELECT DISTINCT district_code, street_code FROM geo_block ORDER BY 1, 2',
    )
    const units: { code: string; level: string; name: string; parent_code: string | null; gb_code: string | null }[] = [
      { code: '310000', level: 'city', name: '上海市', parent_code: null, gb_code: '310000' },
    ]
    for (const d of [...new Set(present.rows.map((r) => r.district_code))]) {
      const name = counties.get(d)
      if (!name) throw new Error(`district ${d} is not in cn-codes`)
      units.push({ code: d, level: 'district', name, parent_code: '310000', gb_code: d })
    }
    for (const { district_code, street_code } of present.rows) {
      const name = streets.get(street_code)
      if (!name) throw new Error(`street ${street_code} (data/streets.json) is not in cn-codes`)
      units.push({ code: street_code, level: 'street', name, parent_code: district_code, gb_code: null })
    }
    await tx.query(sql.insert_units, [JSON.stringify(units)])
    await tx.query(sql.insert_communities)
    await tx.query(sql.insert_grids)
    step('admin units and grids')
    await tx.query(sql.insert_roads)
    await tx.query(sql.insert_water)
    await tx.query(sql.insert_buildings)
    await tx.query(sql.assign_building_grids)
    step('roads, water, buildings')
    await seedBasemap(tx, false)
    step('land use and labels')
    const c = await tx.query<GeographyCounts>(`SELECT
      (SELECT count(*)::int FROM admin_units WHERE level = 'district') AS districts,
      (SELECT count(*)::int FROM admin_units WHERE level = 'street') AS streets,
      (SELECT count(*)::int FROM admin_units WHERE level = 'community') AS communities,
      (SELECT count(*)::int FROM grids) AS grids,
      (SELECT count(*)::int FROM roads) AS roads,
      (SELECT count(*)::int FROM water) AS water,
      (SELECT count(*)::int FROM buildings) AS buildings,
      (SELECT count(*)::int FROM landuse) AS landuse,
      (SELECT count(*)::int FROM map_labels) AS labels`)
    return c.rows[0]
  })
}
