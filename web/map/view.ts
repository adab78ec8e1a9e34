/**
 * The one camera both map views speak: the 2.5D map (MapView.vue, MapLibre + deck.gl) and the 3D
 * city (CityView3D.vue, Cesium). Switching 2.5D ⇄ 3D hands the camera over through this; view
 * sync (a seat pushing to a wall) sends it (server/realtime/events.ts ScreenView).
 */
import type { MapCamera } from '../../server/realtime/events.ts'

export type { MapCamera }

/** A live overlay point both views draw from the wall's live store (web/stores/useWallLiveStore.ts). */
export type LiveKind = 'sensor' | 'camera' | 'case' | 'worker' | 'alarm'

/** What a map view offers the wall (emitted with `ready`); not reactive, never put in a store. */
export interface MapController {
  /** The current camera. */
  getCamera(): MapCamera
  /** Move there: jump (duration 0) when `animate` is false or the user prefers reduced motion. */
  setCamera(camera: MapCamera, opts?: { animate?: boolean }): void
  /** Centre on a point at least at `zoom` (default 16), e.g. an alarm. */
  focus(lon: number, lat: number, opts?: { zoom?: number; animate?: boolean }): void
  /** Show a box [w, s, e, n] whole (the tour through streets; a district drill-down). */
  fitBounds?(bbox: [number, number, number, number], opts?: { animate?: boolean; padding?: number }): void
  /** Screen pixel of a lon/lat in the view's container (null when behind the globe). */
  project(lon: number, lat: number): { x: number; y: number } | null
  /** Show only these catalog layers (ids); undefined: leave as is. */
  setVisibleLayers?(ids: readonly string[]): void
  /** Catalog layer ids shown now. */
  visibleLayers?(): string[]
}

/** Reduced motion (a wall setting, and what the e2e tests emulate): every camera move is a jump. */
export function prefersJump(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches
}

/**
 * The live overlay data both views draw (web/map/liveOverlay.ts implements it): open cases with
 * their SLA clock, unresolved alarms, workers with interpolated positions and bounded trails.
 * Arrays are reused between updates; `version` grows on every change (use it in deck.gl
 * `updateTriggers`, or to rebuild Cesium primitives).
 */
export interface LiveOverlaySource {
  readonly version: number
  cases(): readonly import('../../server/wall/types.ts').WallLiveCase[]
  alarms(): readonly import('../../server/wall/types.ts').WallLiveAlarm[]
  /** Workers at time `now` (ms): positions interpolated between their last two fixes. */
  workers(now?: number): readonly (Omit<import('../../server/wall/types.ts').WallLiveWorker, 'ts'> & { trail: readonly [number, number][] })[]
  /** Called after every change; returns the unsubscribe. */
  onChange(cb: () => void): () => void
}

/** What a click on the map hit: the topmost feature of a catalog layer that has a card. */
export interface MapPick {
  /** Catalog layer id (its `card` says which card opens). */
  layer: string
  kind: import('../../server/features/types.ts').CardKind
  /** Feature id in the layer (MVT feature id, or the live overlay's id for cases/workers). */
  id: number
  lon: number
  lat: number
  /** Screen pixel of the click in the map's container. */
  x: number
  y: number
}

/**
 * The seat's map (MapView emits it with `ready` as well): the wall's controller plus what the
 * seat's tools need. `map` is the raw MapLibre map for tools that attach to it (the draw tool);
 * it is never put in a store or made reactive (markRaw when passed as a prop).
 */
export interface SeatMapController extends MapController {
  readonly map: import('maplibre-gl').Map
  /**
   * Extra deck.gl layers drawn above the live overlay, by owner key (track playback, draw
   * results, the around circle); an empty list removes the owner's layers.
   */
  setToolLayers(owner: string, layers: readonly import('@deck.gl/core').Layer[]): void
  /** Picking on/off (off while a draw tool owns the clicks). */
  setPicking(enabled: boolean): void
}
