/**
 * The deck.gl layers of a track replay, shared by the seat's track playback
 * (web/components/seat/TrackPlayback.vue) and the briefing's after-action replay
 * (web/components/briefing/BriefingReplay.vue): each run of a track as a dim path (out-of-grid
 * runs in red and wider), a fading trail behind the replay clock (TripsLayer), and each worker's
 * position now (a head, red while out of the grid). The data arrays are kept between frames: a
 * frame moves the heads in place (placeHeads) and passes its number, so deck.gl re-reads only them.
 */
import type { Layer } from '@deck.gl/core'
import { TripsLayer } from '@deck.gl/geo-layers'
import { PathLayer, ScatterplotLayer } from '@deck.gl/layers'
import { OUTSIDE_COLOR, positionAt, type PlaybackClock, type PreparedTrack, type TrackRun } from './playback.ts'

type RGB = [number, number, number]
type RGBA = [number, number, number, number]

/** A run of one worker's track in that worker's colour. */
export interface ColoredRun extends TrackRun {
  color: RGB
}

/** A worker's position now (moved in place every frame). */
export interface TrackHead {
  workerId: number
  color: RGB
  position: [number, number]
  outside: boolean
  visible: boolean
}

export const newHead = (workerId: number, color: RGB): TrackHead => ({ workerId, color, position: [0, 0], outside: false, visible: false })

/** Moves each head to where its track is at `time` (epoch ms); hidden outside the track's span. */
export function placeHeads(heads: TrackHead[], tracks: readonly PreparedTrack[], time: number): void {
  tracks.forEach((track, i) => {
    const h = heads[i]
    if (!h) return
    const p = positionAt(track, time)
    h.visible = p !== null
    if (p) {
      h.position[0] = p.lon
      h.position[1] = p.lat
      h.outside = p.outside
    }
  })
}

export interface TrackLayerOptions {
  /** Layer ids: `<prefix>-path`, `<prefix>-trips`, `<prefix>-heads`. */
  prefix: string
  runs: readonly ColoredRun[]
  heads: readonly TrackHead[]
  /** The replay clock, seconds since the runs' timestamps start. */
  currentS: number
  /** How long the fading trail is, seconds. */
  trailS: number
  /** Changes every frame: the heads are re-read. */
  frame: number
  /** Opacity of the whole path (0–255) and its width, px; out-of-grid runs are opaque and 2 px wider. */
  pathAlpha: number
  pathWidth: number
  trailWidth: number
  headRadius: number
  headLine: number
  /** deck.gl `parameters` of every layer (e.g. drawn over extruded buildings). */
  parameters?: Record<string, unknown>
}

/** The path and trail layers (under whatever the caller adds) and the heads (over it). */
export function trackLayers(o: TrackLayerOptions): { under: Layer[]; heads: Layer } {
  const extra = o.parameters ? { parameters: o.parameters } : {}
  const under = [
    new PathLayer<ColoredRun>({
      ...extra,
      id: `${o.prefix}-path`,
      data: o.runs,
      getPath: (d) => d.path,
      getColor: (d) => (d.outside ? [...OUTSIDE_COLOR, 235] : [...d.color, o.pathAlpha]) as RGBA,
      getWidth: (d) => (d.outside ? o.pathWidth + 2 : o.pathWidth),
      widthUnits: 'pixels',
      capRounded: true,
      jointRounded: true,
      updateTriggers: { getColor: o.pathAlpha },
    }) as unknown as Layer,
    new TripsLayer<ColoredRun>({
      ...extra,
      id: `${o.prefix}-trips`,
      data: o.runs,
      getPath: (d) => d.path,
      getTimestamps: (d) => d.timestamps,
      getColor: (d) => (d.outside ? OUTSIDE_COLOR : d.color),
      getWidth: o.trailWidth,
      widthUnits: 'pixels',
      capRounded: true,
      jointRounded: true,
      trailLength: o.trailS,
      fadeTrail: true,
      currentTime: o.currentS,
    }) as unknown as Layer,
  ]
  const heads = new ScatterplotLayer<TrackHead>({
    ...extra,
    id: `${o.prefix}-heads`,
    data: o.heads,
    getPosition: (d) => d.position,
    getFillColor: (d) => [...(d.outside ? OUTSIDE_COLOR : d.color), d.visible ? 255 : 0] as RGBA,
    getLineColor: (d) => [255, 255, 255, d.visible ? 255 : 0] as RGBA,
    getRadius: o.headRadius,
    radiusUnits: 'pixels',
    stroked: true,
    lineWidthUnits: 'pixels',
    getLineWidth: o.headLine,
    updateTriggers: { getPosition: o.frame, getFillColor: o.frame, getLineColor: o.frame },
  }) as unknown as Layer
  return { under, heads }
}

/**
 * Drives a replay clock with animation frames, by wall time: a slow renderer still replays at the
 * chosen speed, and a tab that was hidden does not jump ahead by more than 2 s. Every frame ticks
 * the clock and calls `frame`; `ui` at most every 100 ms and once more when the clock stops, then
 * `stopped`. The clock is read anew each frame (a new load replaces it).
 */
export class ReplayLoop {
  #raf = 0
  #lastFrame = 0
  #lastUi = 0
  constructor(
    private readonly clock: () => PlaybackClock,
    private readonly hooks: { frame(): void; ui(): void; stopped(): void },
  ) {}

  /** Runs frames while the clock plays (call after clock.play()). */
  start(): void {
    this.#lastFrame = 0
    if (!this.#raf && this.clock().playing) this.#raf = requestAnimationFrame(this.#step)
  }

  stop(): void {
    if (this.#raf) cancelAnimationFrame(this.#raf)
    this.#raf = 0
  }

  readonly #step = (ts: number): void => {
    this.#raf = 0
    const clock = this.clock()
    const dt = this.#lastFrame ? Math.min(ts - this.#lastFrame, 2000) : 0
    this.#lastFrame = ts
    clock.tick(dt)
    this.hooks.frame()
    if (ts - this.#lastUi > 100 || !clock.playing) {
      this.#lastUi = ts
      this.hooks.ui()
    }
    if (clock.playing) this.#raf = requestAnimationFrame(this.#step)
    else this.hooks.stopped()
  }
}
