/**
 * Pixel checks for e2e screenshots: PNG decoding (pngjs) and the style spec's colour parser,
 * for reading MapLibre style colours and finding them on the canvas.
 */
import { Color } from '@maplibre/maplibre-gl-style-spec'
import { PNG } from 'pngjs'

export type Rgb = [number, number, number]

export interface DecodedImage {
  width: number
  height: number
  /** RGBA, 4 bytes per pixel, row-major. */
  data: Uint8Array
}

/** Decodes a PNG screenshot to RGBA with pngjs. */
export function decodePng(png: Buffer): DecodedImage {
  const img = PNG.sync.read(png)
  return { width: img.width, height: img.height, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength) }
}

/** Parses any CSS colour the MapLibre style spec accepts; null otherwise. */
export function parseCssColor(input: string): { rgb: Rgb; alpha: number } | null {
  const c = Color.parse(input)
  if (!c) return null
  // The style spec keeps colours premultiplied by alpha.
  const un = (v: number) => Math.round((c.a === 0 ? 0 : v / c.a) * 255)
  return { rgb: [un(c.r), un(c.g), un(c.b)], alpha: c.a }
}

/** Every colour literal in a style paint value (a plain colour or any expression). */
export function colorsIn(value: unknown): { rgb: Rgb; alpha: number }[] {
  if (typeof value === 'string') {
    const c = parseCssColor(value)
    return c ? [c] : []
  }
  if (Array.isArray(value)) return value.flatMap((v) => colorsIn(v))
  return []
}

/** `color` at `alpha` composited over `background`. */
export function blend(background: Rgb, color: Rgb, alpha: number): Rgb {
  return background.map((bg, i) => Math.round(bg * (1 - alpha) + color[i] * alpha)) as Rgb
}

/** A rectangle in image pixels (inclusive left/top, exclusive right/bottom). */
export interface Rect {
  left: number
  top: number
  right: number
  bottom: number
}

/** Counts pixels whose every channel is within `tolerance` of one of `targets`. */
export function countNear(img: DecodedImage, targets: Rgb[], tolerance: number, rect?: Rect): number {
  const left = Math.max(0, Math.floor(rect?.left ?? 0))
  const top = Math.max(0, Math.floor(rect?.top ?? 0))
  const right = Math.min(img.width, Math.ceil(rect?.right ?? img.width))
  const bottom = Math.min(img.height, Math.ceil(rect?.bottom ?? img.height))
  let count = 0
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const i = (y * img.width + x) * 4
      const r = img.data[i]
      const g = img.data[i + 1]
      const b = img.data[i + 2]
      for (const t of targets) {
        if (Math.abs(r - t[0]) <= tolerance && Math.abs(g - t[1]) <= tolerance && Math.abs(b - t[2]) <= tolerance) {
          count++
          break
        }
      }
    }
  }
  return count
}

/** The pixel at (x, y) as RGB. */
export function pixelAt(img: DecodedImage, x: number, y: number): Rgb {
  const i = (Math.round(y) * img.width + Math.round(x)) * 4
  return [img.data[i], img.data[i + 1], img.data[i + 2]]
}

/** Largest channel difference between two colours. */
export function colorDistance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]))
}
