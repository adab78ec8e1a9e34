import fs from 'node:fs'
import path from 'node:path'
import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { THEME_NAMES } from '../../layers/index.ts'
import { projectRoot } from '../../server/config.ts'
import { buildStyle } from '../../styles/build.ts'
import { buildSprite, KEY_PLACE_KINDS, SPRITE_ICONS } from '../../styles/sprite.ts'

/**
 * The image names an `icon-image` value can produce. Only forms whose outputs are literals are
 * accepted (a plain name, match/case/coalesce/step over names); anything that builds a name at
 * run time (concat, get, `{token}`) fails the test, since it could ask for an icon that isn't there.
 */
export function imageNames(value: unknown): string[] {
  if (typeof value === 'string') {
    if (value.includes('{')) throw new Error(`icon-image "${value}" uses a {token}: list the names instead`)
    return [value]
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string') throw new Error(`icon-image ${JSON.stringify(value)} is not a name or an expression`)
  const [op, ...args] = value as [string, ...unknown[]]
  switch (op) {
    case 'literal':
    case 'image':
    case 'coalesce':
      return args.flatMap(imageNames)
    case 'match': // input, label, output, label, output, …, fallback
      return [...args.slice(2, -1).filter((_, i) => i % 2 === 0), args.at(-1)].flatMap(imageNames)
    case 'case': {
      // condition, output, …, fallback. MapLibre 5 draws nothing for a bare name (or a match of
      // names) as a `case` output, though the validator accepts it: it must be an `image`.
      const outputs = [...args.slice(1, -1).filter((_, i) => i % 2 === 0), args.at(-1)]
      for (const o of outputs) if (!Array.isArray(o) || o[0] !== 'image') throw new Error(`icon-image: a case output must be ["image", …], not ${JSON.stringify(o)}`)
      return outputs.flatMap(imageNames)
    }
    case 'step': // input, output0, stop, output, …
      return args.slice(1).filter((_, i) => i % 2 === 0).flatMap(imageNames)
    default:
      throw new Error(`icon-image uses "${op}": its names cannot be checked against the sprite`)
  }
}

const ratio1 = buildSprite(1)
const ratio2 = buildSprite(2)

describe('imageNames', () => {
  it('takes match and case outputs, not their labels or conditions', () => {
    expect(imageNames(['match', ['get', 'k'], 'a', 'icon-a', ['b', 'c'], 'icon-bc', 'icon-x'])).toEqual(['icon-a', 'icon-bc', 'icon-x'])
    expect(imageNames(['case', ['==', ['get', 'k'], 'p'], ['image', ['match', ['get', 's'], 'on', 'p-on', 'p-off']], ['image', 'f']])).toEqual(['p-on', 'p-off', 'f'])
  })
  it('refuses bare names as case outputs, which MapLibre does not draw', () => {
    expect(() => imageNames(['case', ['==', ['get', 'k'], 'p'], 'a', 'b'])).toThrow(/image/)
  })
  it('refuses names built at run time', () => {
    expect(() => imageNames(['concat', 'kp-', ['get', 'kind']])).toThrow(/concat/)
    expect(() => imageNames('kp-{kind}')).toThrow(/token/)
  })
})

describe('sprite', () => {
  it('has every icon the styles ask for', () => {
    const used = new Set<string>()
    for (const theme of THEME_NAMES) {
      for (const layer of buildStyle(theme, 'http://127.0.0.1:8080').layers) {
        const image = layer.type === 'symbol' ? layer.layout?.['icon-image'] : undefined
        if (image === undefined) continue
        for (const name of imageNames(image)) {
          used.add(name)
          expect(ratio1.index, `${theme} ${layer.id} uses "${name}"`).toHaveProperty([name])
        }
      }
    }
    // cameras (two kinds × two states) and one pictogram per key-place kind
    expect(used.size).toBeGreaterThanOrEqual(4 + KEY_PLACE_KINDS.length)
  })

  it('has a pictogram for every key-place kind the seed and the POI mapping produce', () => {
    const csv = fs.readFileSync(path.join(projectRoot, 'server/seed/data/poi_mapping.csv'), 'utf8').trim().split('\n').slice(1)
    const mapped = csv.map((l) => l.split(',')).filter(([, target]) => target === 'key_place').map(([, , value]) => value)
    for (const kind of [...mapped, 'market', 'construction', 'hazardous']) expect(KEY_PLACE_KINDS).toContain(kind)
    const style = buildStyle('night', 'http://127.0.0.1:8080')
    const icon = style.layers.find((l) => l.id === 'key_places-icon')
    expect(icon?.type).toBe('symbol')
    const match = (icon as { layout: { 'icon-image': unknown[] } }).layout['icon-image']
    for (const kind of KEY_PLACE_KINDS.filter((k) => k !== 'other')) expect(match.indexOf(kind), kind).toBeGreaterThan(0)
    for (const kind of KEY_PLACE_KINDS) expect(imageNames(match)).toContain(`kp-${kind}`)
  })

  it('turns camera icons with the camera’s heading, flat on the map', () => {
    const cam = buildStyle('night', 'http://127.0.0.1:8080').layers.find((l) => l.id === 'cameras-icon')
    const layout = (cam as { layout: Record<string, unknown> }).layout
    expect(JSON.stringify(layout['icon-rotate'])).toContain('"heading_deg"')
    expect(layout['icon-rotation-alignment']).toBe('map')
  })

  it.each([
    [1, ratio1],
    [2, ratio2],
  ] as const)('@%ix: the PNG decodes and every index entry lies inside it, drawn, without overlaps', (pixelRatio, sprite) => {
    const png = PNG.sync.read(sprite.png)
    expect(Object.keys(sprite.index).sort()).toEqual(SPRITE_ICONS.map((i) => i.name).sort())
    const boxes = Object.entries(sprite.index)
    for (const [name, e] of boxes) {
      expect(e.pixelRatio, name).toBe(pixelRatio)
      expect(Number.isInteger(e.x) && Number.isInteger(e.y) && Number.isInteger(e.width) && Number.isInteger(e.height), name).toBe(true)
      expect(e.x + e.width, name).toBeLessThanOrEqual(png.width)
      expect(e.y + e.height, name).toBeLessThanOrEqual(png.height)
      // the icon is drawn: a fair share of its pixels are not transparent
      let opaque = 0
      for (let y = e.y; y < e.y + e.height; y++) for (let x = e.x; x < e.x + e.width; x++) if (png.data[(y * png.width + x) * 4 + 3] > 128) opaque++
      expect(opaque / (e.width * e.height), name).toBeGreaterThan(0.08)
    }
    for (const [a, p] of boxes)
      for (const [b, q] of boxes)
        if (a < b) expect(p.x + p.width <= q.x || q.x + q.width <= p.x || p.y + p.height <= q.y || q.y + q.height <= p.y, `${a} overlaps ${b}`).toBe(true)
  })

  it('@2x is the same layout at twice the size', () => {
    const one = PNG.sync.read(ratio1.png)
    const two = PNG.sync.read(ratio2.png)
    expect([two.width, two.height]).toEqual([one.width * 2, one.height * 2])
    for (const [name, e] of Object.entries(ratio1.index)) {
      const d = ratio2.index[name]
      expect([d.x, d.y, d.width, d.height], name).toEqual([e.x * 2, e.y * 2, e.width * 2, e.height * 2])
    }
  })

  it('bakes the status colour into camera variants', () => {
    const png = PNG.sync.read(ratio1.png)
    const pixel = (name: string) => {
      // the camera body, just left of the lens dot: status colour, opaque
      const e = ratio1.index[name]
      const i = ((e.y + Math.round(e.height * 0.56)) * png.width + e.x + Math.round(e.width * 0.39)) * 4
      return [...png.data.subarray(i, i + 4)]
    }
    expect(pixel('camera-fixed-online')).toEqual([0x64, 0xd2, 0xff, 255])
    expect(pixel('camera-fixed-offline')).toEqual([0x7a, 0x86, 0x99, 255])
  })
})
