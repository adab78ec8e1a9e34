import { PathLayer } from '@deck.gl/layers'

/** One closed path around the demo area. */
export interface FramePath {
  path: [number, number][]
}

/** Layer ids (deck.gl ids; prefixed `demo-area-frame` as one family). */
export const DEMO_AREA_FRAME_ID = 'demo-area-frame'
export const DEMO_AREA_FRAME_GLOW_ID = 'demo-area-frame-glow'

/** Cyan used by the frame (RGB); the legend and tests use the same value. */
export const DEMO_AREA_FRAME_RGB: [number, number, number] = [34, 211, 238]

/**
 * The demo-area outline from TileJSON `bounds` ([w, s, e, n]), densified along the parallels
 * so it stays on the true rectangle at any pitch.
 */
export function boundsToFramePath(bounds: [number, number, number, number], steps = 16): FramePath {
  const [w, s, e, n] = bounds
  const path: [number, number][] = []
  for (let i = 0; i <= steps; i++) path.push([w + ((e - w) * i) / steps, s])
  for (let i = 1; i <= steps; i++) path.push([e, s + ((n - s) * i) / steps])
  for (let i = 1; i <= steps; i++) path.push([e - ((e - w) * i) / steps, n])
  for (let i = 1; i <= steps; i++) path.push([w, n - ((n - s) * i) / steps])
  return { path }
}

/**
 * A cyan glow: a wide translucent halo under a thin bright core. Pass the SAME `data` array on
 * every call so deck.gl keeps its attributes (it compares by reference).
 */
export function createDemoAreaFrameLayers(
  data: readonly FramePath[],
  options: { visible?: boolean; beforeId?: string } = {},
): PathLayer<FramePath>[] {
  const [r, g, b] = DEMO_AREA_FRAME_RGB
  const common = {
    data: data as FramePath[],
    visible: options.visible ?? true,
    // interleaved: draw under this MapLibre layer (e.g. the labels) instead of on top of all
    beforeId: options.beforeId,
    getPath: (d: FramePath) => d.path,
    widthUnits: 'pixels' as const,
    jointRounded: true,
    capRounded: true,
    pickable: false,
  }
  return [
    new PathLayer<FramePath>({
      ...common,
      id: DEMO_AREA_FRAME_GLOW_ID,
      getColor: [r, g, b, 60],
      getWidth: 14,
    }),
    new PathLayer<FramePath>({
      ...common,
      id: DEMO_AREA_FRAME_ID,
      getColor: [r, g, b, 255],
      getWidth: 3,
    }),
  ]
}
