/**
 * The 2.5D map's camera (MapLibre: centre, zoom, bearing, pitch) ⇄ a Cesium camera (position,
 * heading, pitch), so switching 2.5D ⇄ 3D keeps the view. Pure functions, no Cesium import: the
 * component feeds them Cesium's own numbers (camera.positionCartographic, heading, pitch,
 * frustum.fovy).
 *
 * The rule: the ground at the centre of the view has the same metres per pixel in both. MapLibre
 * draws the world 512·2^zoom pixels wide, so a pixel there is 2πR·cos(lat) / (512·2^zoom) metres;
 * a perspective camera at distance d with vertical field of view fovy sees 2·d·tan(fovy/2) metres
 * over the canvas height. MapLibre's pitch 0 looks straight down (Cesium's pitch −90°); its
 * bearing is Cesium's heading (both clockwise from north).
 */
import CheapRuler from 'cheap-ruler'
import type { MapCamera } from '../view.ts'

/** WGS84 semi-major axis (m): Cesium's ellipsoid and web mercator's sphere. */
export const EARTH_RADIUS = 6378137
/** MapLibre's tile size: the world is 512·2^zoom pixels wide. */
const WORLD_PX = 512
/** The range MapCamera allows (server/realtime/events.ts). */
export const MAX_PITCH_DEG = 85
const MAX_ZOOM = 24

const RAD = Math.PI / 180

/** Where a Cesium camera is and where it looks. lon/lat in degrees, height in metres above the ellipsoid, heading/pitch in radians (Cesium's convention). */
export interface CesiumCamera {
  lon: number
  lat: number
  height: number
  heading: number
  pitch: number
}

/** The canvas the camera draws: its height in CSS pixels and the vertical field of view (radians). */
export interface Viewport {
  height: number
  fovy: number
}

/** Cesium's PerspectiveFrustum: `fov` is the horizontal angle on a landscape canvas, the vertical one otherwise. */
export function verticalFov(fov: number, width: number, height: number): number {
  const aspect = width / height
  return aspect <= 1 ? fov : 2 * Math.atan(Math.tan(fov / 2) / aspect)
}

/** Ground metres per CSS pixel of a web-mercator map at `zoom` and latitude `lat` (degrees). */
export function metresPerPixel(zoom: number, lat: number): number {
  return (2 * Math.PI * EARTH_RADIUS * Math.cos(lat * RAD)) / (WORLD_PX * 2 ** zoom)
}

/** Distance (m) from the camera to the centre of the view that gives `zoom`'s scale there. */
export function distanceForZoom(zoom: number, lat: number, vp: Viewport): number {
  return (metresPerPixel(zoom, lat) * vp.height) / (2 * Math.tan(vp.fovy / 2))
}

/** The web-mercator zoom whose scale a camera at `distance` (m) from the centre gives. */
export function zoomForDistance(distance: number, lat: number, vp: Viewport): number {
  const mpp = (2 * distance * Math.tan(vp.fovy / 2)) / vp.height
  return Math.log2((2 * Math.PI * EARTH_RADIUS * Math.cos(lat * RAD)) / (WORLD_PX * mpp))
}

/** Degrees in (-180, 180]. */
export function wrapDegrees(deg: number): number {
  const d = ((((deg + 180) % 360) + 360) % 360) - 180
  return d === -180 ? 180 : d
}

/** Radians in [0, 2π): Cesium's heading range. */
function wrapHeading(rad: number): number {
  const twoPi = 2 * Math.PI
  return ((rad % twoPi) + twoPi) % twoPi
}

/** The Cesium camera that shows what the 2.5D map shows with `camera` on a canvas `vp` high. */
export function mapToCesium(camera: MapCamera, vp: Viewport): CesiumCamera {
  const [lon, lat] = camera.center
  const pitch = Math.min(Math.max(camera.pitch ?? 0, 0), MAX_PITCH_DEG) * RAD
  const bearing = camera.bearing ?? 0
  const d = distanceForZoom(camera.zoom, lat, vp)
  // The camera stands back from the centre, against the bearing, as far as the pitch tilts it.
  const [camLon, camLat] = new CheapRuler(lat, 'meters').destination([lon, lat], d * Math.sin(pitch), bearing + 180)
  return { lon: camLon, lat: camLat, height: d * Math.cos(pitch), heading: wrapHeading(bearing * RAD), pitch: pitch - Math.PI / 2 }
}

/**
 * The 2.5D camera for a Cesium camera: the centre is where its line of sight meets the ground
 * (height 0). A camera looking at or above the horizon is taken at MapLibre's steepest pitch.
 */
export function cesiumToMap(camera: CesiumCamera, vp: Viewport): MapCamera {
  const pitch = Math.min(Math.max(camera.pitch + Math.PI / 2, 0), MAX_PITCH_DEG * RAD)
  const height = Math.max(camera.height, 1)
  const d = height / Math.cos(pitch)
  const heading = camera.heading / RAD
  // The flat ruler is exact for the latitude it is made for: take the centre's (as mapToCesium
  // does), found by a few fixed-point steps from the camera's.
  let [lon, lat] = [camera.lon, camera.lat]
  for (let i = 0; i < 3; i++) [lon, lat] = new CheapRuler(lat, 'meters').destination([camera.lon, camera.lat], height * Math.tan(pitch), heading)
  const zoom = Math.min(Math.max(zoomForDistance(d, lat, vp), 0), MAX_ZOOM)
  return { center: [lon, lat], zoom, bearing: wrapDegrees(heading), pitch: pitch / RAD }
}

/**
 * A box (w, s, e, n) around the camera's centre holding what it shows, within `maxRadius` metres:
 * what to load for a view. A pitched camera sees farther behind the centre's top edge, hence the
 * margin growing with the pitch.
 */
export function viewBbox(camera: MapCamera, size: { width: number; height: number }, maxRadius = 5000): [number, number, number, number] {
  const [lon, lat] = camera.center
  const mpp = metresPerPixel(camera.zoom, lat)
  const pitch = Math.min(camera.pitch ?? 0, MAX_PITCH_DEG) * RAD
  const radius = Math.min(maxRadius, (Math.hypot(size.width, size.height) / 2) * mpp * (1 + 2 * Math.sin(pitch)))
  const ruler = new CheapRuler(lat, 'meters')
  const [w, s, e, n] = ruler.bufferPoint([lon, lat], radius)
  return [w, s, e, n]
}
