import { describe, expect, it } from 'vitest'
import { catalog, RESERVED_IDS, tileProperties, validateLayer, visibleTo, type LayerDef } from '../../layers/index.ts'

describe.each([...catalog.values()])('catalog entry $id', (layer) => {
  it('is valid', () => {
    expect(validateLayer(layer)).toEqual([])
  })
  it('is not a reserved id', () => {
    expect(RESERVED_IDS.has(layer.id)).toBe(false)
  })
  it('has a title in both languages', () => {
    expect(layer.title['zh-CN']).toMatch(/\p{Script=Han}/u)
    expect(layer.title.en).toMatch(/[A-Za-z]/)
  })
})

describe('validateLayer', () => {
  const base = catalog.get('grids')!
  it.each<[string, Partial<LayerDef>, RegExp]>([
    ['a reserved id', { id: 'catalog' }, /reserved/],
    ['an id with capitals', { id: 'Grids' }, /lower-case/],
    ['an identifier that is SQL', { table: 'grids; DROP TABLE users' }, /not a plain SQL identifier/],
    ['a property name that is SQL', { properties: { 'a"b': 'string' } }, /not a plain SQL identifier/],
    ['a style layer of another id', { style: [{ id: 'other-fill', type: 'fill', slot: 'area', paint: {} }] }, /must start with "grids-"/],
    ['an inverted zoom range', { minzoom: 12, maxzoom: 10 }, /bad zoom range/],
    ['aggregating polygons', { aggregate: { belowZoom: 14, cell: 256, statusColumn: 'name', statuses: ['a'] } }, /only point layers/],
  ])('rejects %s', (_what, change, message) => {
    expect(validateLayer({ ...base, ...change }).join('; ')).toMatch(message)
  })
})

describe('aggregation and roles', () => {
  const sensors = catalog.get('sensors')!
  it.each<[string, Partial<LayerDef['aggregate'] & object>, RegExp]>([
    ['a cell that does not divide the tile', { cell: 300 }, /must divide 4096/],
    ['a status that is SQL', { statuses: ["x' OR 1=1"] }, /lower-case/],
    ['a status column that is SQL', { statusColumn: 'status; --' }, /not a plain SQL identifier/],
  ])('rejects %s', (_what, change, message) => {
    expect(validateLayer({ ...sensors, aggregate: { ...sensors.aggregate!, ...change } }).join('; ')).toMatch(message)
  })
  it('rejects a property named like an aggregate field', () => {
    expect(validateLayer({ ...sensors, properties: { ...sensors.properties, count: 'number' } }).join('; ')).toMatch(/aggregate field/)
  })
  it('gives aggregated layers count, n_<status> and top_status fields after their properties', () => {
    expect(Object.keys(tileProperties(sensors))).toEqual([...Object.keys(sensors.properties), 'count', 'n_alarm', 'n_offline', 'n_online', 'top_status'])
    expect(tileProperties(catalog.get('roads')!)).toEqual(catalog.get('roads')!.properties)
  })
  it('shows a layer to holders of its permission only: base layers map.base, objects map.objects, cases cases.read, workers workers.read', () => {
    const holding = (...p: string[]) => ({ permissions: new Set(p) })
    expect(visibleTo(catalog.get('roads')!, holding('map.base'))).toBe(true)
    expect(visibleTo(catalog.get('roads')!, holding('audit.read'))).toBe(false)
    expect(visibleTo(sensors, holding('map.base'))).toBe(false)
    expect(visibleTo(sensors, holding('map.base', 'map.objects'))).toBe(true)
    expect(visibleTo(catalog.get('cases')!, holding('map.base', 'map.objects'))).toBe(false)
    expect(visibleTo(catalog.get('cases')!, holding('cases.read'))).toBe(true)
    expect(visibleTo(catalog.get('case_heat')!, holding('cases.read'))).toBe(true)
    expect(visibleTo(catalog.get('workers')!, holding('map.objects', 'cases.read'))).toBe(false)
    expect(visibleTo(catalog.get('workers')!, holding('workers.read'))).toBe(true)
    expect(visibleTo(sensors, undefined)).toBe(false)
  })
  it('every point layer that can hold many objects is aggregated', () => {
    for (const id of ['sensors', 'cameras', 'workers', 'parts', 'cases', 'case_heat']) expect(catalog.get(id)!.aggregate, id).toBeDefined()
  })
})
