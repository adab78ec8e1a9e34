import { describe, expect, it } from 'vitest'
import { catalog, RESERVED_IDS, validateLayer, type LayerDef } from '../../layers/index.ts'

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
  ])('rejects %s', (_what, change, message) => {
    expect(validateLayer({ ...base, ...change }).join('; ')).toMatch(message)
  })
})
