import { describe, expect, it } from 'vitest'
import { buildings } from '../../layers/basemap.ts'
import { grids } from '../../layers/grids.ts'
import type { LayerDef } from '../../layers/types.ts'
import { buildingStyle, cssRgba, paintOf, straight } from '../../web/map/cesium/paint.ts'

const hex = (rgba: number[]) => `#${rgba.slice(0, 3).map((v) => Math.round(v * 255).toString(16).padStart(2, '0')).join('')}`

describe('paintOf', () => {
  it('evaluates a catalog layer’s paint expression per feature, as the 2.5D style does', () => {
    const fill = paintOf<Parameters<typeof straight>[0]>(grids, 'fill-color')!
    expect(fill).not.toBeNull()
    expect(hex(straight(fill({ district_code: '310101' })))).toBe('#1f6feb')
    expect(hex(straight(fill({ district_code: '310115' })))).toBe('#0fa3a3')
    // the match's fallback for any other district
    expect(hex(straight(fill({ district_code: '999999' })))).toBe('#3b5b8c')
    expect(paintOf<number>(grids, 'fill-opacity')!({})).toBe(0.22)
  })

  it('is null for a property no style layer sets, and names the layer for an invalid expression', () => {
    expect(paintOf(grids, 'fill-extrusion-height')).toBeNull()
    const broken: LayerDef = { ...grids, style: [{ id: 'grids-fill', type: 'fill', slot: 'area', paint: { 'fill-color': ['get'] } }] } as unknown as LayerDef
    expect(() => paintOf(broken, 'fill-color')).toThrow(/grids\/grids-fill fill-color/)
  })
})

describe('buildingStyle', () => {
  const style = buildingStyle(buildings)

  it('takes the 2.5D height, with the same fallback for a building without one', () => {
    expect(style.height({ height_m: 632 })).toBe(632)
    expect(style.height({ height_m: null })).toBeGreaterThan(0)
  })

  it('colours by height like the 2.5D ramp (taller is lighter), opaque, lifted towards blue-white', () => {
    const low = style.color({ height_m: 10 })
    const high = style.color({ height_m: 400 })
    expect(low[3]).toBe(1)
    expect(high[2]).toBeGreaterThan(low[2])
    // lifted: brighter than the raw night ramp's darkest stop, still blue above red
    type StyleColor = Parameters<typeof straight>[0]
    const ramp = paintOf<StyleColor>(buildings, 'fill-extrusion-color') ?? paintOf<StyleColor>(buildings, 'fill-color')
    const raw = straight(ramp!({ height_m: 10 }))
    expect(low[2]).toBeGreaterThan(raw[2])
    expect(low[2]).toBeGreaterThan(low[0])
  })
})

describe('cssRgba', () => {
  it('parses palette colours and refuses a typo', () => {
    expect(cssRgba('#ff3b30')).toEqual([1, 59 / 255, 48 / 255, 1])
    expect(cssRgba('#000000', 0.5)[3]).toBe(0.5)
    expect(() => cssRgba('#ff3b3')).toThrow(/not a colour/)
  })
})
