/**
 * The 3D city (Cesium): the same buildings as the 2.5D map — one batched primitive of extruded
 * polygons at their real heights —, the grids draped on a flat dark globe, sensors and cameras
 * as status-coloured points, and the wall's live overlays (cases, alarms, workers) from a
 * LiveOverlaySource. It is also the MapController the wall drives (getCamera/setCamera/focus/
 * project), speaking the 2.5D camera through ./camera.ts.
 *
 * Nothing here calls Cesium's cloud: no base imagery, ellipsoid terrain, no geocoder or other
 * widgets (CesiumWidget, not Viewer). The scene renders on change only (requestRenderMode), so
 * an idle wall costs no frames; data loads for the view from the OGC API and again only when the
 * view leaves what was loaded.
 */
import type * as CesiumModule from 'cesium'
import { buildings as buildingsLayer, water as waterLayer } from '../../../layers/basemap.ts'
import { grids as gridsLayer } from '../../../layers/grids.ts'
import { cameras as camerasLayer, sensors as sensorsLayer } from '../../../layers/objects.ts'
import { OSM_ATTRIBUTION } from '../../../layers/types.ts'
import { STATUS, SURFACES } from '../../../styles/palette.ts'
import { slaRing, STAGE_COLORS } from '../liveLayers.ts'
import { prefersJump, type LiveOverlaySource, type MapCamera, type MapController } from '../view.ts'
import { cesiumToMap, mapToCesium, verticalFov, viewBbox, type Viewport } from './camera.ts'
import type { Cesium } from './load.ts'
import { fetchFeatures, type Bbox, type OgcFeature } from './ogc.ts'
import { buildingStyle, cssRgba, paintOf, straight, type Rgba } from './paint.ts'

type Props = Record<string, unknown>
type Ring = number[][]

export type CityState = 'loading' | 'ready'

/** What can be shown or hidden, by the catalog (and live group) ids the 2.5D legend uses. */
const GROUP_IDS = {
  water: ['water'],
  buildings: ['buildings'],
  grids: ['grids'],
  sensors: ['sensors'],
  cameras: ['cameras'],
  cases: ['cases', 'live-cases'],
  alarms: ['live-alarms'],
  workers: ['workers', 'live-workers'],
} as const
type Group = keyof typeof GROUP_IDS

/** Point sizes (CSS px): live things larger than the fixed sensors and cameras, readable from 10 m. */
const SIZE = { sensor: 5, camera: 5, case: 11, alarm: 16, worker: 10 }
/** Points stand a little above the ground so the flat globe never hides them. */
const POINT_HEIGHT = 3
/** Grid outlines and fills lie just above the globe (no z-fighting with its surface). */
const GRID_HEIGHT = 1.5
/** Water lies under the grids. */
const WATER_HEIGHT = 0.5
/** How far around the view's centre data is loaded at most (m). */
const MAX_LOAD_RADIUS = 6000
/** Frames are requested while geometry is built in Cesium's workers, at most this long. */
const KICK_MAX_MS = 120_000
/** Worker dots move between fixes: refreshed this often while they do. */
const WORKER_TICK_MS = 500

function polygonsOf(geometry: OgcFeature['geometry']): Ring[][] {
  if (!geometry) return []
  if (geometry.type === 'Polygon') return [geometry.coordinates as Ring[]]
  if (geometry.type === 'MultiPolygon') return geometry.coordinates as Ring[][]
  return []
}

/** A GeoJSON ring as flat lon/lat without the closing point (Cesium closes rings itself). */
function flatRing(ring: Ring): number[] {
  const n = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.length - 1 : ring.length
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(ring[i][0], ring[i][1])
  return out
}

function contains(outer: Bbox, inner: Bbox): boolean {
  return inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3]
}

export interface CitySceneOptions {
  container: HTMLElement
  /** The initial view (the 2.5D map's camera). */
  camera: MapCamera
  live: LiveOverlaySource
  /** Data-state changes: 'ready' once the buildings are drawn. */
  onState?: (state: CityState) => void
  /** The box around what the view shows ([w, s, e, n]), at the start and after every move (for the live overlay and telemetry). */
  onViewport?: (bbox: Bbox) => void
  onError?: (error: unknown) => void
}

export class CityScene implements MapController {
  readonly widget: CesiumModule.CesiumWidget
  readonly #C: Cesium
  readonly #scene: CesiumModule.Scene
  readonly #onState: (state: CityState) => void
  readonly #onError: (error: unknown) => void
  readonly #onViewport: (bbox: Bbox) => void
  #live: LiveOverlaySource
  #liveOff: () => void = () => {}
  readonly #cleanups: (() => void)[] = []

  // Data layers: the current primitive, and the one being built to replace it.
  #buildings: CesiumModule.Primitive | null = null
  #pendingBuildings: CesiumModule.Primitive | null = null
  #water: CesiumModule.Primitive | null = null
  #gridFill: CesiumModule.Primitive | null = null
  #gridLines: CesiumModule.Primitive | null = null
  readonly #points: Record<'sensors' | 'cameras' | 'cases' | 'alarms' | 'workers', CesiumModule.PointPrimitiveCollection>
  readonly #shown: Record<Group, boolean> = { water: true, buildings: true, grids: true, sensors: true, cameras: true, cases: true, alarms: true, workers: true }

  #state: CityState = 'loading'
  #loadedBox: Bbox | null = null
  #loadAbort: AbortController | null = null
  #loadTimer: ReturnType<typeof setTimeout> | null = null
  #kick: ReturnType<typeof setInterval> | null = null
  #workerTimer: ReturnType<typeof setInterval> | null = null
  #destroyed = false

  // Scratch objects and colour cache: reused on every update (the wall runs for days).
  readonly #scratch: CesiumModule.Cartesian3
  readonly #scratch2: CesiumModule.Cartesian2
  readonly #scratch3: CesiumModule.Cartesian3
  readonly #colors = new Map<string, CesiumModule.Color>()

  constructor(C: Cesium, opts: CitySceneOptions) {
    this.#C = C
    this.#live = opts.live
    this.#onState = opts.onState ?? (() => {})
    this.#onError = opts.onError ?? ((e) => console.error('[onegrid] 3D city:', e))
    this.#onViewport = opts.onViewport ?? (() => {})
    this.#scratch = new C.Cartesian3()
    this.#scratch2 = new C.Cartesian2()
    this.#scratch3 = new C.Cartesian3()

    this.widget = new C.CesiumWidget(opts.container, {
      // No Cesium ion: no base imagery, a plain ellipsoid, no sky box or atmosphere.
      baseLayer: false,
      terrainProvider: new C.EllipsoidTerrainProvider(),
      skyBox: false,
      skyAtmosphere: false,
      scene3DOnly: true,
      orderIndependentTranslucency: false,
      shadows: false,
      // Software WebGL renders ~1 fps at defaults, ~3 with these (headless-webgl.md).
      msaaSamples: 1,
      requestRenderMode: true,
      maximumRenderTimeChange: Infinity,
      contextOptions: { webgl: { alpha: false, antialias: false, powerPreference: 'high-performance' } },
    })
    const scene = this.widget.scene
    this.#scene = scene
    const night = C.Color.fromCssColorString(SURFACES.night.background)
    scene.backgroundColor = night
    scene.globe.baseColor = night
    scene.globe.showGroundAtmosphere = false
    scene.globe.enableLighting = false
    scene.fog.enabled = false
    scene.highDynamicRange = false
    if (scene.sun) scene.sun.show = false
    if (scene.moon) scene.moon.show = false
    this.widget.creditDisplay.addStaticCredit(new C.Credit(OSM_ATTRIBUTION, true))

    this.#points = {
      sensors: scene.primitives.add(new C.PointPrimitiveCollection()),
      cameras: scene.primitives.add(new C.PointPrimitiveCollection()),
      cases: scene.primitives.add(new C.PointPrimitiveCollection()),
      alarms: scene.primitives.add(new C.PointPrimitiveCollection()),
      workers: scene.primitives.add(new C.PointPrimitiveCollection()),
    }

    this.setCamera(opts.camera)
    this.#setLight(opts.camera.center)

    this.#cleanups.push(
      scene.postRender.addEventListener(() => this.#afterRender()),
      // A failed frame (e.g. a geometry Cesium cannot build) stops Cesium's render loop: say so.
      scene.renderError.addEventListener((_scene: unknown, error: unknown) => this.#onError(error)),
      this.widget.camera.moveEnd.addEventListener(() => this.#viewChanged()),
    )
    this.setLive(opts.live)
    const box = this.#boxFor(opts.camera)
    this.#load(box)
    this.#onViewport(box)
  }

  // ─── MapController ───────────────────────────────────────────────────────────────────────

  getCamera(): MapCamera {
    const cam = this.widget.camera
    const c = cam.positionCartographic
    const deg = this.#C.Math.toDegrees
    return cesiumToMap({ lon: deg(c.longitude), lat: deg(c.latitude), height: c.height, heading: cam.heading, pitch: cam.pitch }, this.#viewport())
  }

  setCamera(camera: MapCamera, opts: { animate?: boolean } = {}): void {
    const C = this.#C
    const v = mapToCesium(camera, this.#viewport())
    const destination = C.Cartesian3.fromDegrees(v.lon, v.lat, v.height)
    const orientation = { heading: v.heading, pitch: v.pitch, roll: 0 }
    if (opts.animate && !prefersJump()) this.widget.camera.flyTo({ destination, orientation, duration: 1.5 })
    else this.widget.camera.setView({ destination, orientation })
    this.#scene.requestRender()
  }

  focus(lon: number, lat: number, opts: { zoom?: number; animate?: boolean } = {}): void {
    const now = this.getCamera()
    this.setCamera({ center: [lon, lat], zoom: Math.max(now.zoom, opts.zoom ?? 16), bearing: now.bearing, pitch: now.pitch }, { animate: opts.animate })
  }

  project(lon: number, lat: number): { x: number; y: number } | null {
    const C = this.#C
    const p = C.Cartesian3.fromDegrees(lon, lat, 0, undefined, this.#scratch)
    const cam = this.widget.camera
    const toPoint = C.Cartesian3.subtract(p, cam.positionWC, this.#scratch3)
    // Behind the camera, or beyond the horizon (the ground faces away from the camera there).
    if (C.Cartesian3.dot(toPoint, cam.directionWC) <= 0 || C.Cartesian3.dot(toPoint, p) >= 0) return null
    const px = this.#scene.cartesianToCanvasCoordinates(p, this.#scratch2)
    return px ? { x: px.x, y: px.y } : null
  }

  setVisibleLayers(ids: readonly string[]): void {
    for (const group of Object.keys(GROUP_IDS) as Group[]) this.#shown[group] = GROUP_IDS[group].some((id) => ids.includes(id))
    this.#applyVisibility()
  }

  visibleLayers(): string[] {
    return (Object.keys(GROUP_IDS) as Group[]).filter((g) => this.#shown[g]).flatMap((g) => [...GROUP_IDS[g]])
  }

  // ─── Live overlays ───────────────────────────────────────────────────────────────────────

  /** Draw from this source (the wall's live overlay); the previous one is let go. */
  setLive(live: LiveOverlaySource): void {
    this.#liveOff()
    this.#live = live
    this.#liveOff = live.onChange(() => this.#drawLive())
    this.#drawLive()
  }

  #drawLive(): void {
    if (this.#destroyed) return
    const now = Date.now()
    this.#sync(this.#points.cases, this.#live.cases(), (p, c) => {
      p.color = this.#color(STAGE_COLORS[c.stage] ?? '#96a0b4')
      const ring = slaRing(c, now)
      p.outlineColor = this.#color(ring ? STATUS.case[ring.state] : SURFACES.night.ink)
      p.outlineWidth = ring ? 3 : 1
      p.pixelSize = SIZE.case
      return [c.lon, c.lat]
    })
    this.#sync(this.#points.alarms, this.#live.alarms(), (p, a) => {
      p.color = this.#color(STATUS.sensor.alarm)
      p.outlineColor = this.#color(a.acked ? SURFACES.night.ink : '#ffffff')
      p.outlineWidth = 3
      p.pixelSize = SIZE.alarm
      return [a.lon, a.lat]
    })
    this.#drawWorkers(now)
    this.#scene.requestRender()
  }

  #drawWorkers(now: number): boolean {
    let moved = false
    this.#sync(this.#points.workers, this.#live.workers(now), (p, w) => {
      const duty = w.dutyStatus in STATUS.duty ? STATUS.duty[w.dutyStatus as keyof typeof STATUS.duty] : STATUS.duty.off_duty
      p.color = this.#color(duty)
      // 出格预警: a worker outside their grids gets a red ring, as in 2.5D.
      p.outlineColor = this.#color(w.outOfGrid ? STATUS.sensor.alarm : SURFACES.night.ink)
      p.outlineWidth = w.outOfGrid ? 3 : 1
      p.pixelSize = SIZE.worker
      return [w.lon, w.lat]
    }, () => {
      moved = true
    })
    return moved
  }

  /**
   * Makes `collection` hold one point per item, reusing the point objects it has (only what
   * changed is set); extra points are removed. `style` sets colours and returns lon/lat.
   */
  #sync<T>(
    collection: CesiumModule.PointPrimitiveCollection,
    items: readonly T[],
    style: (p: CesiumModule.PointPrimitive, item: T) => [number, number],
    onMove?: () => void,
  ): void {
    const C = this.#C
    for (let i = 0; i < items.length; i++) {
      const p = i < collection.length ? collection.get(i) : collection.add({ disableDepthTestDistance: Number.POSITIVE_INFINITY })
      const [lon, lat] = style(p, items[i])
      const pos = C.Cartesian3.fromDegrees(lon, lat, POINT_HEIGHT, undefined, this.#scratch)
      if (!C.Cartesian3.equals(pos, p.position)) {
        p.position = pos
        onMove?.()
      }
    }
    while (collection.length > items.length) collection.remove(collection.get(collection.length - 1))
  }

  #color(css: string): CesiumModule.Color {
    let c = this.#colors.get(css)
    if (!c) {
      c = new this.#C.Color(...cssRgba(css))
      this.#colors.set(css, c)
    }
    return c
  }

  // ─── Data for the view ───────────────────────────────────────────────────────────────────

  #viewport(): Viewport {
    const canvas = this.widget.canvas
    const frustum = this.widget.camera.frustum as CesiumModule.PerspectiveFrustum
    const [width, height] = [Math.max(1, canvas.clientWidth), Math.max(1, canvas.clientHeight)]
    return { height, fovy: frustum.fovy ?? verticalFov(frustum.fov ?? Math.PI / 3, width, height) }
  }

  #boxFor(camera: MapCamera): Bbox {
    const canvas = this.widget.canvas
    return viewBbox(camera, { width: Math.max(1, canvas.clientWidth), height: Math.max(1, canvas.clientHeight) }, MAX_LOAD_RADIUS)
  }

  /** After a camera move: load again when the view has left what was loaded. */
  #viewChanged(): void {
    if (this.#loadTimer) clearTimeout(this.#loadTimer)
    this.#loadTimer = setTimeout(() => {
      this.#loadTimer = null
      if (this.#destroyed) return
      const box = this.#boxFor(this.getCamera())
      if (!this.#loadedBox || !contains(this.#loadedBox, box)) this.#load(box)
      this.#onViewport(box)
    }, 400)
  }

  #load(box: Bbox): void {
    this.#loadAbort?.abort()
    const abort = new AbortController()
    this.#loadAbort = abort
    const signal = abort.signal
    const get = (layer: { id: string; featureLimit: number }) => fetchFeatures(layer.id, box, { max: layer.featureLimit, signal })
    Promise.all([get(buildingsLayer), get(gridsLayer), get(sensorsLayer), get(camerasLayer), get(waterLayer)])
      .then(([b, g, s, c, w]) => {
        if (signal.aborted || this.#destroyed) return
        this.#loadedBox = box
        this.#buildBuildings(b.features)
        this.#buildGrids(g.features)
        this.#buildWater(w.features)
        this.#drawStatic(s.features, c.features)
        this.#applyVisibility()
        this.#keepRendering()
      })
      .catch((error: unknown) => {
        if (!signal.aborted && !this.#destroyed) this.#onError(error)
      })
  }

  /** Each polygon of a (multi)polygon as a Cesium hierarchy: its outer ring and holes, degenerate rings dropped. */
  #hierarchiesOf(geometry: OgcFeature['geometry']): CesiumModule.PolygonHierarchy[] {
    const C = this.#C
    const out: CesiumModule.PolygonHierarchy[] = []
    for (const rings of polygonsOf(geometry)) {
      const [outer, ...holes] = rings.map((r) => C.Cartesian3.fromDegreesArray(flatRing(r)))
      if (!outer || outer.length < 3) continue
      out.push(new C.PolygonHierarchy(outer, holes.filter((h) => h.length >= 3).map((h) => new C.PolygonHierarchy(h))))
    }
    return out
  }

  #buildBuildings(features: OgcFeature[]): void {
    const C = this.#C
    const style = buildingStyle(buildingsLayer)
    const instances: CesiumModule.GeometryInstance[] = []
    for (const f of features) {
      const height = style.height(f.properties)
      const color = C.ColorGeometryInstanceAttribute.fromColor(new C.Color(...style.color(f.properties)))
      for (const polygonHierarchy of this.#hierarchiesOf(f.geometry)) {
        instances.push(
          new C.GeometryInstance({
            geometry: new C.PolygonGeometry({
              polygonHierarchy,
              height: 0,
              extrudedHeight: height,
              // The bottom is never seen from above the flat ground.
              closeBottom: false,
              vertexFormat: C.PerInstanceColorAppearance.VERTEX_FORMAT,
            }),
            attributes: { color },
          }),
        )
      }
    }
    if (this.#pendingBuildings) this.#scene.primitives.remove(this.#pendingBuildings)
    // One primitive for every building: its geometry is built in Cesium's workers and drawn in a
    // few batches, where thousands of entities would each cost a draw call.
    this.#pendingBuildings = this.#scene.primitives.add(
      new C.Primitive({
        geometryInstances: instances,
        appearance: new C.PerInstanceColorAppearance({ translucent: false, closed: false }),
        asynchronous: true,
        allowPicking: false,
        releaseGeometryInstances: true,
        compressVertices: true,
      }),
    ) as CesiumModule.Primitive
  }

  #buildGrids(features: OgcFeature[]): void {
    const C = this.#C
    const fillOf = paintOf<Parameters<typeof straight>[0]>(gridsLayer, 'fill-color')
    const opacityOf = paintOf<number>(gridsLayer, 'fill-opacity')
    const lineOf = paintOf<Parameters<typeof straight>[0]>(gridsLayer, 'line-color')
    const fills: CesiumModule.GeometryInstance[] = []
    const lines: CesiumModule.GeometryInstance[] = []
    for (const f of features) {
      const p = f.properties as Props
      const fill: Rgba = fillOf ? straight(fillOf(p)) : [0.23, 0.36, 0.55, 1]
      fill[3] *= opacityOf ? opacityOf(p) : 0.2
      const line: Rgba = lineOf ? straight(lineOf(p)) : [0.23, 0.56, 0.84, 1]
      for (const rings of polygonsOf(f.geometry)) {
        const outer = C.Cartesian3.fromDegreesArrayHeights(flatRing(rings[0]).flatMap((v, i) => (i % 2 ? [v, GRID_HEIGHT] : [v])))
        if (outer.length < 3) continue
        fills.push(
          new C.GeometryInstance({
            geometry: new C.PolygonGeometry({ polygonHierarchy: new C.PolygonHierarchy(outer), height: GRID_HEIGHT, vertexFormat: C.PerInstanceColorAppearance.FLAT_VERTEX_FORMAT }),
            attributes: { color: C.ColorGeometryInstanceAttribute.fromColor(new C.Color(...fill)) },
          }),
        )
        lines.push(
          new C.GeometryInstance({
            geometry: new C.PolylineGeometry({ positions: [...outer, outer[0]], width: 2, vertexFormat: C.PolylineColorAppearance.VERTEX_FORMAT }),
            attributes: { color: C.ColorGeometryInstanceAttribute.fromColor(new C.Color(...line)) },
          }),
        )
      }
    }
    for (const old of [this.#gridFill, this.#gridLines]) if (old) this.#scene.primitives.remove(old)
    const common = { asynchronous: true, allowPicking: false, releaseGeometryInstances: true }
    // Under the buildings and points: lower in the collection draws first.
    this.#gridFill = this.#scene.primitives.add(
      new C.Primitive({ ...common, geometryInstances: fills, appearance: new C.PerInstanceColorAppearance({ flat: true, translucent: true }) }),
      0,
    ) as CesiumModule.Primitive
    this.#gridLines = this.#scene.primitives.add(
      new C.Primitive({ ...common, geometryInstances: lines, appearance: new C.PolylineColorAppearance({ translucent: false }) }),
      1,
    ) as CesiumModule.Primitive
  }

  /** The river and creeks, flat on the ground under the grids (the 2.5D base map's water colour). */
  #buildWater(features: OgcFeature[]): void {
    const C = this.#C
    const fillOf = paintOf<Parameters<typeof straight>[0]>(waterLayer, 'fill-color')
    const instances: CesiumModule.GeometryInstance[] = []
    for (const f of features) {
      const color = C.ColorGeometryInstanceAttribute.fromColor(new C.Color(...(fillOf ? straight(fillOf(f.properties)) : cssRgba('#0b2a4a'))))
      for (const polygonHierarchy of this.#hierarchiesOf(f.geometry)) {
        instances.push(
          new C.GeometryInstance({
            geometry: new C.PolygonGeometry({
              polygonHierarchy,
              height: WATER_HEIGHT,
              vertexFormat: C.PerInstanceColorAppearance.FLAT_VERTEX_FORMAT,
            }),
            attributes: { color },
          }),
        )
      }
    }
    if (this.#water) this.#scene.primitives.remove(this.#water)
    this.#water = this.#scene.primitives.add(
      new C.Primitive({ geometryInstances: instances, appearance: new C.PerInstanceColorAppearance({ flat: true, translucent: false }), asynchronous: true, allowPicking: false }),
      0,
    ) as CesiumModule.Primitive
  }

  /** Sensors and cameras: fixed points coloured by status (live alarms come from the live source). */
  #drawStatic(sensors: OgcFeature[], cameras: OgcFeature[]): void {
    const point = (f: OgcFeature): [number, number] => {
      const c = f.geometry?.type === 'Point' ? (f.geometry.coordinates as number[]) : [NaN, NaN]
      return [c[0], c[1]]
    }
    const located = (fs: OgcFeature[]) => fs.filter((f) => f.geometry?.type === 'Point')
    this.#sync(this.#points.sensors, located(sensors), (p, f) => {
      const status = String(f.properties.status) as keyof typeof STATUS.sensor
      p.color = this.#color(STATUS.sensor[status] ?? STATUS.sensor.online)
      p.outlineColor = this.#color(SURFACES.night.ink)
      p.outlineWidth = 1
      p.pixelSize = SIZE.sensor
      return point(f)
    })
    this.#sync(this.#points.cameras, located(cameras), (p, f) => {
      p.color = this.#color(f.properties.status === 'online' ? STATUS.camera.online : STATUS.camera.offline)
      p.outlineColor = this.#color(SURFACES.night.ink)
      p.outlineWidth = 1
      p.pixelSize = SIZE.camera
      return point(f)
    })
  }

  #applyVisibility(): void {
    const s = this.#shown
    for (const p of [this.#buildings, this.#pendingBuildings]) if (p) p.show = s.buildings
    for (const p of [this.#gridFill, this.#gridLines]) if (p) p.show = s.grids
    if (this.#water) this.#water.show = s.water
    for (const k of ['sensors', 'cameras', 'cases', 'alarms', 'workers'] as const) this.#points[k].show = s[k]
    this.#scene.requestRender()
  }

  /** A light from the south-east, high: lit walls read as 3D; fixed, not the real sun (the wall runs at night too). */
  #setLight(center: [number, number]): void {
    const C = this.#C
    const enu = C.Transforms.eastNorthUpToFixedFrame(C.Cartesian3.fromDegrees(center[0], center[1], 0))
    const az = C.Math.toRadians(150)
    const el = C.Math.toRadians(50)
    const toSun = new C.Cartesian3(Math.sin(az) * Math.cos(el), Math.cos(az) * Math.cos(el), Math.sin(el))
    const dir = C.Matrix4.multiplyByPointAsVector(enu, C.Cartesian3.negate(toSun, toSun), new C.Cartesian3())
    this.#scene.light = new C.DirectionalLight({ direction: C.Cartesian3.normalize(dir, dir), intensity: 1.8 })
  }

  // ─── Rendering ───────────────────────────────────────────────────────────────────────────

  /**
   * In render-on-change mode Cesium only advances primitives built in its workers when a frame
   * is drawn: ask for frames while any is still being built, then stop.
   */
  #keepRendering(): void {
    if (this.#kick) return
    const started = Date.now()
    this.#kick = setInterval(() => {
      if (Date.now() - started < KICK_MAX_MS) return this.#scene.requestRender()
      // Never spin for ever: a primitive that did not finish by now will not.
      if (this.#kick) clearInterval(this.#kick)
      this.#kick = null
      this.#onError(new Error(`the 3D geometry was not ready after ${KICK_MAX_MS / 1000} s`))
    }, 100)
  }

  #afterRender(): void {
    const pending = this.#pendingBuildings
    if (pending?.ready) {
      if (this.#buildings) this.#scene.primitives.remove(this.#buildings)
      this.#buildings = pending
      this.#pendingBuildings = null
      this.#scene.requestRender()
      return
    }
    const building = [this.#pendingBuildings, this.#gridFill, this.#gridLines, this.#water].some((p) => p && !p.ready)
    if (!building && this.#kick) {
      clearInterval(this.#kick)
      this.#kick = null
    }
    // Ready once a frame has been drawn with the buildings in it.
    if (this.#state === 'loading' && this.#buildings?.ready) {
      this.#state = 'ready'
      this.#onState('ready')
      this.#startWorkerTicks()
    }
  }

  #startWorkerTicks(): void {
    if (this.#workerTimer) return
    this.#workerTimer = setInterval(() => {
      if (this.#drawWorkers(Date.now())) this.#scene.requestRender()
    }, WORKER_TICK_MS)
  }

  /** Frees the WebGL context, the primitives and every listener and timer. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#loadAbort?.abort()
    for (const t of [this.#loadTimer]) if (t) clearTimeout(t)
    for (const t of [this.#kick, this.#workerTimer]) if (t) clearInterval(t)
    this.#liveOff()
    for (const off of this.#cleanups) off()
    this.#colors.clear()
    const canvas = this.widget.canvas
    // Destroys the scene's primitives and their GPU buffers too (destroyPrimitives)…
    this.widget.destroy()
    // …but leaves the context to the garbage collector: give it back now (a wall switching
    // 2.5D ⇄ 3D for days would otherwise pile up contexts until the browser drops the oldest).
    const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl')
    gl?.getExtension('WEBGL_lose_context')?.loseContext()
  }
}
