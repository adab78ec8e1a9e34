import { describe, expect, it } from 'vitest'
import { buildingHeight, describeLayer, importLayers, propertiesSchema, validateImportLayer, type ImportLayer } from '../../server/import/layers.ts'
import { assignGridsSql, existingSql, outsideGridsSql, upsertColumns, upsertSql } from '../../server/import/sql.ts'
import { exportLayers } from '../../server/export/layers.ts'
import { csvColumns, pageSql } from '../../server/export/service.ts'

const layers = [...importLayers.values()]

describe('import registry', () => {
  it.each(layers.map((l) => [l.id, l] as const))('%s is valid', (_id, l) => {
    expect(validateImportLayer(l)).toEqual([])
    expect(l.geometryTypes.length).toBeGreaterThan(0)
    expect(describeLayer(l).formats).toEqual(l.geometry === 'point' ? ['geojson', 'csv'] : ['geojson'])
  })

  it('refuses identifiers that are not plain names', () => {
    const bad: ImportLayer = { ...importLayers.get('water')!, table: 'water; drop table users' }
    expect(validateImportLayer(bad)).toEqual([expect.stringMatching(/is not a plain SQL identifier/)])
  })

  it('checks required properties and types with readable messages', () => {
    const schema = propertiesSchema(importLayers.get('cameras')!)
    const r = schema.safeParse({ kind: 'dome', heading_deg: 400, range_m: '50' })
    expect(r.success).toBe(false)
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    expect(messages).toEqual(
      expect.arrayContaining(['name: required property is missing', 'kind: must be one of ptz, fixed; got text "dome"', 'heading_deg: must be less than 360']),
    )
    // Numbers written as text (CSV) are numbers.
    expect(schema.safeParse({ name: 'c', kind: 'ptz', range_m: '50' }).data).toMatchObject({ range_m: 50 })
  })

  it('accepts sensor thresholds as an object or as JSON text (CSV)', () => {
    const schema = propertiesSchema(importLayers.get('sensors')!)
    expect(schema.safeParse({ type: 'dust', name: 'PM', unit: 'µg/m³', thresholds: '{"warn":75,"alarm":115}' }).data).toMatchObject({ thresholds: { warn: 75, alarm: 115 } })
    expect(schema.safeParse({ type: 'dust', name: 'PM', unit: 'µg/m³', thresholds: 'high' }).success).toBe(false)
  })

  it('checks a part code against its class', () => {
    const l = importLayers.get('parts')!
    expect(l.check!({ class_code: '0101', code: '3101010101000001' })).toEqual([])
    expect(l.check!({ class_code: '0102', code: '3101010101000001' })).toEqual([expect.stringMatching(/must equal class_code 0102/)])
  })
})

describe('building heights', () => {
  it.each([
    [{ height: 23 }, 500, 23, false],
    [{ height: 23, levels: 2 }, 500, 23, false],
    [{ height: 12.8, height_estimated: true }, 500, 12.8, true],
    [{ levels: 5 }, 500, 16, true],
    [{ kind: 'garage' }, 5000, 3.2, true],
    [{ kind: 'House' }, 80, 6.4, true],
    [{}, 80, 6.4, true],
    [{ kind: 'office' }, 300, 12.8, true],
    [{}, 1500, 19.2, true],
    [{}, 5000, 25.6, true],
    [{}, 50000, 32, true],
    [{}, null, 6.4, true],
  ])('%j with %s m² → %s m', (p, area, height, estimated) => {
    expect(buildingHeight(p, area)).toEqual({ heightM: height, estimated })
  })
})

describe('import SQL builder', () => {
  it.each(layers.map((l) => [l.id, l] as const))('%s: one upsert by external id with bound values only', (_id, l) => {
    const sql = upsertSql(l)
    expect(sql).toMatch(/jsonb_to_recordset\(\$1::jsonb\)/)
    expect(sql).toMatch(/ON CONFLICT \("external_id"\) DO UPDATE SET/)
    expect(sql).toMatch(/RETURNING t\.id, \(t\.xmax = 0\) AS inserted/)
    expect(sql).not.toMatch(/\$2/)
    for (const [col] of upsertColumns(l)) expect(sql).toContain(`"${col}"`)
    if (l.geometry !== 'point') expect(sql).toMatch(/ST_Multi\(CASE WHEN ST_IsValid/)
    expect(l.gridColumn ? assignGridsSql(l) : outsideGridsSql(l)).toMatch(/ANY\(\$1::int\[\]\)/)
  })

  it('repairs polygons with the structure method and lines with the default one', () => {
    expect(upsertSql(importLayers.get('buildings')!)).toMatch(/ST_MakeValid\(s\.g0, 'method=structure'\), 3\)/)
    expect(upsertSql(importLayers.get('roads')!)).toMatch(/ST_CollectionExtract\(ST_MakeValid\(s\.g0\), 2\)/)
  })

  it('generates part codes from county, class and sequence, and keeps existing ones', () => {
    const sql = upsertSql(importLayers.get('parts')!)
    expect(sql).toContain(`'000000'`)
    expect(sql).toMatch(/WHEN NOT m\.needs_code THEN m\.old_code/)
    expect(existingSql(importLayers.get('parts')!)).toMatch(/\$2::text\[\]/)
    expect(existingSql(importLayers.get('key_places')!)).not.toMatch(/\$2/)
  })
})

describe('export registry and SQL', () => {
  it('exports no personal data', () => {
    expect([...exportLayers.keys()]).not.toContain('people')
    expect([...exportLayers.keys()]).not.toContain('houses')
    expect(Object.keys(exportLayers.get('workers')!.properties)).not.toContain('phone')
    expect(Object.keys(exportLayers.get('cases')!.properties)).not.toContain('reporter')
  })

  it.each([...exportLayers.values()].map((l) => [l.id, l] as const))('%s pages by key, filtered by scope', (_id, l) => {
    const g = pageSql(l, 'geojson')
    expect(g).toMatch(/ST_AsGeoJSON\(t\.geom, 9\)/)
    expect(g).toMatch(/LIMIT \d+$/)
    if (l.scope === 'public') expect(g).not.toMatch(/\$2/)
    else expect(g).toContain(`($2::text IS NULL OR t."${l.scope}" LIKE $2::text || '%')`)
    expect(pageSql(l, 'csv')).toMatch(l.geometry === 'point' ? /AS lon, .* AS lat/ : /ST_AsText\(t\.geom, 9\) AS wkt/)
    expect(csvColumns(l).at(-1)).toBe(l.geometry === 'point' ? 'lat' : 'wkt')
  })

  it('exports importable layers under their import property names (round trip)', () => {
    for (const l of layers) {
      const e = exportLayers.get(l.id)!
      for (const p of l.properties) expect(e.properties[p.name], `${l.id}.${p.name}`).toBe(p.column)
      expect(e.properties.external_id).toBe('external_id')
    }
  })
})
