import type { Layer } from '@deck.gl/core'
import { Color } from '@maplibre/maplibre-gl-style-spec'
import { PolygonLayer, type PolygonLayerProps } from '@deck.gl/layers'
import circle from '@turf/circle'
import sector from '@turf/sector'
import type { Map as MapLibreMap } from 'maplibre-gl'
import { STATUS } from '../../styles/palette.ts'
import { apiFetch } from '../services/http.ts'
import type { CatalogLayer } from '../services/tiles.ts'

/**
 * deck.gl renderings a catalog layer asks for (`deck` in layers/types.ts), beside its MapLibre
 * style layers. Each renderer loads what is in view when the map settles and gives deck.gl layers.
 */
export interface DeckRenderer {
  /** The catalog layer it draws: hidden with it. */
  layerId: string
  /** Reload for the map's current view; resolves true when its layers changed. */
  refresh(map: MapLibreMap): Promise<boolean>
  layers(beforeId: string | undefined): Layer[]
}

/** The palette's colour as deck.gl RGB (0–255). */
function rgb(hex: string): [number, number, number] {
  const c = Color.parse(hex)
  if (!c) throw new Error(`not a colour: ${hex}`)
  return [Math.round(c.r * 255), Math.round(c.g * 255), Math.round(c.b * 255)]
}
/** Cones in the camera layer's own colours (styles/palette.ts). */
const CONE_ONLINE = rgb(STATUS.camera.online)
const CONE_OFFLINE = rgb(STATUS.camera.offline)

/** The most cameras drawn as cones at once (a z16 view of the densest city blocks holds far fewer). */
export const CONE_LIMIT = 2000

export interface Cone {
  /** The camera's id (OGC feature id), so a cone can be told apart (tests read it). */
  cameraId: number | null
  /** Where the sector is centred, degrees clockwise from north. */
  headingDeg: number
  polygon: [number, number][]
  online: boolean
  /** A 360° (PTZ) camera: what it can see, not where it looks now — drawn fainter. */
  full: boolean
}

interface CameraFeature {
  id?: number | string
  geometry: { type: 'Point'; coordinates: [number, number] } | null
  properties: { id?: number; heading_deg?: number; fov_deg?: number; range_m?: number; status?: string }
}

/** The lens angle a 360° PTZ camera is drawn looking with: its heading is where it looks now. */
export const PTZ_VIEW_DEG = 60

/** A camera's field of view: a sector from its heading ± half its angle out to its range (a disc for 360°). */
export function coneOf(f: CameraFeature): Cone | null {
  const { heading_deg: heading, fov_deg: fov, range_m: range, status } = f.properties
  if (!f.geometry || heading === undefined || fov === undefined || range === undefined || range <= 0) return null
  const km = range / 1000
  const shape = fov >= 360 ? circle(f.geometry.coordinates, km, { steps: 32 }) : sector(f.geometry.coordinates, km, heading - fov / 2, heading + fov / 2, { steps: 24 })
  const id = Number(f.id ?? f.properties.id)
  return {
    cameraId: Number.isInteger(id) ? id : null,
    headingDeg: heading,
    polygon: shape.geometry.coordinates[0] as [number, number][],
    online: status === 'online',
    full: fov >= 360,
  }
}

/**
 * What the map draws for a camera: its cone; for a 360° PTZ camera the faint disc it can cover
 * and, over it, the sector it looks at now (PTZ_VIEW_DEG about its heading), so a PTZ turn shows.
 */
export function conesOf(f: CameraFeature): Cone[] {
  const cone = coneOf(f)
  if (!cone) return []
  if (!cone.full) return [cone]
  const view = coneOf({ ...f, properties: { ...f.properties, fov_deg: PTZ_VIEW_DEG } })
  return view ? [cone, view] : [cone]
}

function fovCones(def: CatalogLayer, minzoom: number): DeckRenderer {
  let data: Cone[] = []
  let loadedFor = ''
  let seq = 0
  return {
    layerId: def.id,
    async refresh(map) {
      if (map.getZoom() < minzoom) {
        loadedFor = ''
        if (data.length === 0) return false
        data = []
        return true
      }
      const b = map.getBounds()
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(',')
      if (bbox === loadedFor) return false
      const mine = ++seq
      const body = await apiFetch<{ features: CameraFeature[] }>(`/ogc/collections/${encodeURIComponent(def.id)}/items?bbox=${bbox}&limit=${CONE_LIMIT}`)
      if (mine !== seq) return false // a later view has been asked for meanwhile
      loadedFor = bbox
      data = body.features.flatMap(conesOf)
      return true
    },
    layers(beforeId) {
      return [
        new PolygonLayer<Cone>({
          // interleaved with MapLibre: drawn under the labels (@deck.gl/mapbox reads beforeId)
          ...({ beforeId } as object),
          id: `${def.id}-fov-cones`,
          data,
          getPolygon: (d) => d.polygon,
          getFillColor: (d) => [...(d.online ? CONE_ONLINE : CONE_OFFLINE), d.full ? 14 : 46] as [number, number, number, number],
          getLineColor: (d) => [...(d.online ? CONE_ONLINE : CONE_OFFLINE), d.full ? 70 : 160] as [number, number, number, number],
          lineWidthUnits: 'pixels',
          getLineWidth: 1,
          stroked: true,
          filled: true,
          pickable: false,
        } satisfies PolygonLayerProps<Cone>),
      ]
    },
  }
}

/** The renderers the catalog asks for. */
export function deckRenderersFor(layers: readonly CatalogLayer[]): DeckRenderer[] {
  const out: DeckRenderer[] = []
  for (const l of layers) {
    if (l.deck?.kind === 'fov-cones') out.push(fovCones(l, l.deck.minzoom))
  }
  return out
}
