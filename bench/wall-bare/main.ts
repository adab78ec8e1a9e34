/**
 * The floor of `npm run bench:wall`: the wall's map — the same MapLibre style, tiles and map
 * options, and the same deck.gl layers built by the wall's own layer factories from the same
 * endpoints — drawn once with plain MapLibre + deck.gl and nothing around it: no Vue, no panels,
 * no ticker, no socket, no live updates, no animation loop, no reloading on every move. What the
 * wall costs beyond this page is what the wall adds to the libraries.
 *
 * Same origin as the server (bench/wall.ts serves this page through a proxy in front of it), so
 * the session cookie goes with every request. The camera comes from the query
 * (?lon&lat&zoom&pitch&bearing) so the data is loaded for the view the bench measures; the bench
 * drives the camera through `window.__onegridMap`, as on the wall (?debug=1), and reads
 * `window.__bare` to know when the page is ready and what it drew.
 */
import maplibregl from 'maplibre-gl'
import 'maplibre-gl/dist/maplibre-gl.css'
import { MapboxOverlay } from '@deck.gl/mapbox'
import { boundsToFramePath, createDemoAreaFrameLayers } from '../../web/map/demoAreaFrame.ts'
import { deckRenderersFor } from '../../web/map/deckRenderers.ts'
import { createLiveLayers, LIVE_GROUPS, type LiveGroupId } from '../../web/map/liveLayers.ts'
import { LiveOverlay } from '../../web/map/liveOverlay.ts'
import { fetchCatalog, fetchTileJson, isValidBounds } from '../../web/services/tiles.ts'

export interface BareInfo {
  state: 'loading' | 'ready' | 'error'
  error?: string
  /** Items in the live overlay and view cones drawn. */
  counts: Record<string, number>
}

declare global {
  interface Window {
    __bare?: BareInfo
  }
}

const info: BareInfo = { state: 'loading', counts: {} }
window.__bare = info

const q = new URLSearchParams(location.search)
const num = (name: string, dflt: number) => (q.has(name) && Number.isFinite(Number(q.get(name))) ? Number(q.get(name)) : dflt)

const map = new maplibregl.Map({
  container: 'map',
  style: new URL('/styles/night.json', location.origin).href,
  center: [num('lon', 121.5), num('lat', 31.238)],
  zoom: num('zoom', 14),
  pitch: num('pitch', 0),
  bearing: num('bearing', 0),
  // the wall's options (web/components/MapView.vue); its canvas limit only matters above 8192 px
  attributionControl: { compact: false, customAttribution: '© OpenStreetMap contributors' },
  maxCanvasSize: [8192, 8192],
  localIdeographFontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif',
  hash: false,
})
window.__onegridMap = map
const overlay = new MapboxOverlay({ interleaved: true, layers: [] })
map.addControl(overlay as unknown as maplibregl.IControl)

async function main(): Promise<void> {
  await new Promise<void>((resolve) => map.once('load', () => resolve()))
  const beforeId = map.getLayersOrder().find((id) => map.getLayer(id)?.type === 'symbol')

  const { bounds } = await fetchTileJson('grids')
  if (!isValidBounds(bounds)) throw new Error('the grids TileJSON has no bounds')
  const frame = [boundsToFramePath(bounds)]

  // The catalog's extra renderings (camera view cones), loaded for this view.
  const renderers = deckRenderersFor(await fetchCatalog())
  await Promise.all(renderers.map((r) => r.refresh(map)))

  // The live overlay for this view, loaded once (the wall keeps it current from socket events).
  const live = new LiveOverlay({ onError: (e) => console.error('[bench wall-bare] live overlay:', e) })
  const loadedLive = new Promise<void>((resolve) => live.onChange(() => resolve()))
  const b = map.getBounds()
  live.setViewport([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()])
  await loadedLive
  const visible = Object.fromEntries(LIVE_GROUPS.map((g) => [g.id, true])) as Record<LiveGroupId, boolean>

  const layers = [
    ...createDemoAreaFrameLayers(frame, { beforeId }),
    ...renderers.flatMap((r) => r.layers(beforeId)),
    ...createLiveLayers(live, { now: Date.now(), animating: false, visible, beforeId }),
  ]
  overlay.setProps({ layers })
  info.counts = { cases: live.cases().length, alarms: live.alarms().length, workers: live.workers().length }
  info.state = 'ready'
}

main().catch((err: unknown) => {
  info.state = 'error'
  info.error = (err as Error).message
  console.error('[bench wall-bare]', err)
})
