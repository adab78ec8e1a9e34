import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Resvg } from '@resvg/resvg-js'
import potpack from 'potpack'
import { STATUS } from './palette.ts'

/**
 * The style's sprite, built from the SVG files in styles/icons/: packed with potpack (the
 * packer MapLibre itself uses), composed into one SVG with every icon at its packed place, and
 * rendered once per pixel ratio with resvg. Icons are plain colour images (not SDF): status
 * colours are baked in as variants (`camera-fixed-online`, `camera-fixed-offline`), and the
 * key-place pictograms are dark ink drawn over a circle layer coloured by risk, so one sprite
 * serves all three themes.
 */

const ICON_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'icons')

/** key_places.kind values (server/seed/data/poi_mapping.csv and the generated kinds). */
export const KEY_PLACE_KINDS = [
  'school',
  'kindergarten',
  'hospital',
  'market',
  'hazardous',
  'construction',
  'transport_hub',
  'venue',
  'government',
  'religious',
  'other',
] as const

export interface SpriteIcon {
  /** Name in the sprite index, what `icon-image` asks for. */
  name: string
  /** SVG file in styles/icons/. */
  file: string
  /** Value of `currentColor` in the file. */
  color?: string
}

export const SPRITE_ICONS: readonly SpriteIcon[] = [
  { name: 'camera-fixed-online', file: 'camera-fixed.svg', color: STATUS.camera.online },
  { name: 'camera-fixed-offline', file: 'camera-fixed.svg', color: STATUS.camera.offline },
  { name: 'camera-ptz-online', file: 'camera-ptz.svg', color: STATUS.camera.online },
  { name: 'camera-ptz-offline', file: 'camera-ptz.svg', color: STATUS.camera.offline },
  ...KEY_PLACE_KINDS.map((kind) => ({ name: `kp-${kind}`, file: `kp-${kind}.svg` })),
]

/** One entry of a MapLibre sprite index. */
export interface SpriteIndexEntry {
  x: number
  y: number
  width: number
  height: number
  pixelRatio: number
}

export interface Sprite {
  index: Record<string, SpriteIndexEntry>
  png: Buffer
}

export const PIXEL_RATIOS = [1, 2] as const
export type PixelRatio = (typeof PIXEL_RATIOS)[number]

/** Empty pixels around each icon so neighbours never bleed into each other when sampled. */
const GAP = 2

interface ParsedSvg {
  width: number
  height: number
  viewBox: string
  body: string
}

function parseSvg(file: string): ParsedSvg {
  const text = fs.readFileSync(path.join(ICON_DIR, file), 'utf8')
  const root = /<svg\b([^>]*)>([\s\S]*)<\/svg>\s*$/.exec(text)
  if (!root) throw new Error(`styles/icons/${file}: no <svg> root element`)
  const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(root[1])?.[1]
  const width = Number(attr('width'))
  const height = Number(attr('height'))
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new Error(`styles/icons/${file}: the root <svg> needs integer width and height (pixels at ratio 1)`)
  return { width, height, viewBox: attr('viewBox') ?? `0 0 ${width} ${height}`, body: root[2] }
}

/** Icon name → position at pixel ratio 1; the same layout serves every ratio. */
function layout(icons: readonly SpriteIcon[]) {
  const boxes = icons.map((icon) => {
    const svg = parseSvg(icon.file)
    return { icon, svg, w: svg.width + 2 * GAP, h: svg.height + 2 * GAP, x: 0, y: 0 }
  })
  const { w, h } = potpack(boxes)
  return { boxes, width: Math.ceil(w), height: Math.ceil(h) }
}

/** Builds the sprite sheet and its index at one pixel ratio. */
export function buildSprite(pixelRatio: PixelRatio, icons: readonly SpriteIcon[] = SPRITE_ICONS): Sprite {
  const names = new Set<string>()
  for (const icon of icons) {
    if (names.has(icon.name)) throw new Error(`sprite icon "${icon.name}" is listed twice`)
    names.add(icon.name)
  }
  const { boxes, width, height } = layout(icons)
  const parts: string[] = []
  const index: Record<string, SpriteIndexEntry> = {}
  for (const b of boxes) {
    const x = b.x + GAP
    const y = b.y + GAP
    const color = b.icon.color ? ` color="${b.icon.color}"` : ''
    parts.push(`<svg x="${x}" y="${y}" width="${b.svg.width}" height="${b.svg.height}" viewBox="${b.svg.viewBox}"${color} overflow="hidden">${b.svg.body}</svg>`)
    index[b.icon.name] = { x: x * pixelRatio, y: y * pixelRatio, width: b.svg.width * pixelRatio, height: b.svg.height * pixelRatio, pixelRatio }
  }
  const sheet = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`
  const rendered = new Resvg(sheet, { fitTo: { mode: 'zoom', value: pixelRatio }, font: { loadSystemFonts: false }, logLevel: 'off' }).render()
  if (rendered.width !== width * pixelRatio || rendered.height !== height * pixelRatio)
    throw new Error(`sprite rendered at ${rendered.width}×${rendered.height}, expected ${width * pixelRatio}×${height * pixelRatio}`)
  // Sort the index by name so the JSON is stable whatever order potpack left the boxes in.
  const sorted = Object.fromEntries(Object.entries(index).sort(([a], [b]) => a.localeCompare(b)))
  return { index: sorted, png: rendered.asPng() }
}

const built = new Map<PixelRatio, Sprite>()

/** The sprite at one pixel ratio, built on first use and kept for the life of the process. */
export function sprite(pixelRatio: PixelRatio): Sprite {
  let s = built.get(pixelRatio)
  if (!s) {
    s = buildSprite(pixelRatio)
    built.set(pixelRatio, s)
  }
  return s
}
