import { describe, expect, it } from 'vitest'
import { catalog } from '../../layers/index.ts'
import { boundsSql, jsTileSql, nativeTileSql } from '../../tiles/sql.ts'
import { TileCoords } from '../../tiles/coords.ts'

describe.each([...catalog.values()])('tile SQL for $id', (layer) => {
  for (const [name, sql] of [
    ['native', nativeTileSql(layer)],
    ['js', jsTileSql(layer)],
  ] as const) {
    it(`${name}: filters by the buffered tile envelope on the indexed 3857 column and by scope`, () => {
      expect(sql).toContain(`t."${layer.geomColumn}" && bounds.benv`)
      expect(sql).toMatch(/ST_TileEnvelope\(\$1::int, \$2::int, \$3::int, margin => [\d.]+\)/)
      if (layer.scopeColumn) expect(sql).toContain(`$4::text IS NULL OR t."${layer.scopeColumn}" LIKE $4::text || '%'`)
      else expect(sql).not.toContain('$4')
      expect(sql).toContain(`LIMIT ${layer.featureLimit}`)
    })
  }
  if (layer.aggregate) {
    it('aggregates below belowZoom or past featureLimit, counting each status in the tile itself (no buffer)', () => {
      const sql = nativeTileSql(layer)
      expect(sql).toContain(`$1::int < ${layer.aggregate!.belowZoom} OR (SELECT count(*)`)
      expect(sql).toContain(`LIMIT ${layer.featureLimit + 1}) n) > ${layer.featureLimit}`)
      for (const s of layer.aggregate!.statuses) expect(sql).toContain(`count(*) FILTER (WHERE t."${layer.aggregate!.statusColumn}" = '${s}')::int AS "n_${s}"`)
      expect(sql).toContain('ST_X(t."geom_3857") < ST_XMax(bounds.env)')
      expect(sql).toContain('ST_Y(t."geom_3857") > ST_YMin(bounds.env)')
    })
  }
  it('native: encodes with the layer id as MVT layer name and id as feature id', () => {
    expect(nativeTileSql(layer)).toContain(`ST_AsMVT(mvtgeom.*, '${layer.id}', 4096, 'geom', 'id')`)
  })
  it('bounds: scoped when the layer is, transformed to WGS84', () => {
    expect(boundsSql(layer)).toMatch(/ST_Transform\(.*4326\)/)
    if (layer.scopeColumn) expect(boundsSql(layer)).toContain('$1::text IS NULL')
    else expect(boundsSql(layer)).not.toContain('$1')
  })
})

describe('TileCoords', () => {
  it.each([
    [{ z: '0', x: '0', y: '0' }, true],
    [{ z: '22', x: String(2 ** 22 - 1), y: '0' }, true],
    [{ z: '23', x: '0', y: '0' }, false],
    [{ z: '2', x: '4', y: '0' }, false],
    [{ z: '2', x: '0', y: '4' }, false],
    [{ z: '1.5', x: '0', y: '0' }, false],
    [{ z: '-1', x: '0', y: '0' }, false],
    [{ z: '0x1', x: '0', y: '0' }, false],
  ])('%o valid: %s', (c, ok) => {
    expect(TileCoords.safeParse(c).success).toBe(ok)
  })
})
