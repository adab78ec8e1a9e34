import type { Db } from './types.ts'

export interface Capabilities {
  postgis: string
  /** 'native' when the server's PostGIS can encode MVT (built with protobuf), else 'js'. */
  mvt: 'native' | 'js'
}

/** Asks the database what it can do; run once at start. */
export async function probeCapabilities(db: Db): Promise<Capabilities> {
  const v = await db.query<{ v: string }>('SELECT postgis_lib_version() AS v')
  let mvt: Capabilities['mvt'] = 'native'
  try {
    await db.query(
      `SELECT ST_AsMVT(q, 'probe', 4096, 'geom') FROM (SELECT ST_AsMVTGeom(ST_MakePoint(0, 0), ST_MakeEnvelope(-1, -1, 1, 1)) AS geom) q`,
    )
  } catch {
    mvt = 'js'
  }
  return { postgis: v.rows[0].v, mvt }
}
