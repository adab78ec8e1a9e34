/**
 * Seeds the first small admin/grid hierarchy from the real data shipped in seed/realdata
 * (OpenStreetMap land of the Bund and Lujiazui; real district and street codes).
 */
import fs from 'node:fs'
import type { Db } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'

const sql = loadSql(new URL('./skeleton.sql', import.meta.url))
const realdata = new URL('./realdata/', import.meta.url)

/** The demo area: the extent of the OSM extract (its land polygons). */
export const DEMO_BBOX = { west: 121.48132324, south: 31.22689447, east: 121.51977539, north: 31.25037815 } as const

function readCsv(name: string): Record<string, string>[] {
  const [head, ...lines] = fs.readFileSync(new URL(`cn-codes/${name}`, realdata), 'utf8').trim().split(/\r?\n/)
  const cols = head.split(',')
  // These two files are simple: no embedded commas or quotes inside quoted names.
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v.replace(/^"|"$/g, '')])))
}

/** The street each district gets in the skeleton, by real 9-digit code. */
const STREET_OF: Record<string, string> = { '310101': '310101013', '310115': '310115005', '310109': '310109018' }

export async function seedSkeleton(db: Db): Promise<{ units: number; grids: number }> {
  const counties = new Map(readCsv('shanghai_counties.csv').map((r) => [r.code, r.name]))
  const streets = new Map(readCsv('shanghai_streets.csv').map((r) => [r.code, r.name]))
  const osm = (layer: string) => fs.readFileSync(new URL(`shanghai-lujiazui-osm/shanghai_${layer}.geojson`, realdata), 'utf8')
  const units: { code: string; level: string; name: string; parent_code: string | null; district_code: string | null }[] = [
    { code: '310000', level: 'city', name: '上海市', parent_code: null, district_code: null },
  ]
  const perDistrict: Record<string, { street_code: string; community_code: string; street_name: string }> = {}
  for (const [district, street] of Object.entries(STREET_OF)) {
    const dName = counties.get(district)
    const sName = streets.get(street)
    if (!dName || !sName) throw new Error(`real code ${district}/${street} missing from cn-codes`)
    const community = `${street}001`
    units.push(
      { code: district, level: 'district', name: dName, parent_code: '310000', district_code: district },
      { code: street, level: 'street', name: sName, parent_code: district, district_code: district },
      { code: community, level: 'community', name: `${sName.replace(/街道$/, '')}第一社区`, parent_code: street, district_code: district },
    )
    perDistrict[district] = { street_code: street, community_code: community, street_name: sName.replace(/街道$/, '') }
  }
  const { west, south, east, north } = DEMO_BBOX
  return db.transaction(async (tx) => {
    // Several processes may start at once on an empty database: one seeds, the others find it done.
    await tx.query('SELECT pg_advisory_xact_lock(7142002)')
    const done = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM admin_units')
    if (done.rows[0].n > 0) return { units: 0, grids: 0 }
    await tx.query(sql.create_land, [osm('earth'), osm('water')])
    await tx.query(sql.insert_units, [JSON.stringify(units)])
    const g = await tx.query(sql.insert_grids, [west, south, east, north, 0.0045, 0.0036, JSON.stringify(perDistrict)])
    return { units: units.length, grids: g.rowCount }
  })
}
