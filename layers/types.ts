/**
 * A layer is declared once here and used everywhere: the server builds its tiles and TileJSON
 * from it, the style builder its MapLibre layers and legend, tests run over every entry.
 * The id is the MVT layer name, the source-layer, the URL segment, the deck.gl id prefix and
 * the socket room.
 */
import type { LayerSpecification } from '@maplibre/maplibre-gl-style-spec'

export type PropertyType = 'string' | 'number' | 'boolean'

/**
 * Where a style layer is drawn, bottom to top, whatever catalog entry it comes from: the style
 * builder sorts by slot, then by catalog order.
 */
export const SLOTS = ['base', 'area', 'building', 'outline', 'point', 'label'] as const
export type Slot = (typeof SLOTS)[number]

/**
 * The label font stacks. MapLibre draws glyphs locally from these CSS families (no glyphs URL):
 * Noto Sans CJK, which .ci/run installs; any system CJK font on a desktop.
 */
/** Attribution of every layer drawn from OpenStreetMap data (ODbL). */
export const OSM_ATTRIBUTION = '© OpenStreetMap contributors'

export const FONT = ['Noto Sans CJK SC', 'Noto Sans SC', 'sans-serif']
export const FONT_BOLD = ['Noto Sans CJK SC Bold', 'Noto Sans SC Bold', 'sans-serif']

/** The styles built from the catalog: night (the wall), day (seats), contrast (projectors). */
export const THEME_NAMES = ['night', 'day', 'contrast'] as const
export type ThemeName = (typeof THEME_NAMES)[number]

/**
 * A MapLibre layer without its source: the style builder adds `source` and `source-layer`.
 * Its paint is for the night style; `themePaint` overrides paint properties for the others.
 */
export type StyleLayer = DistributiveOmit<LayerSpecification, 'source' | 'source-layer'> & {
  id: string
  slot: Slot
  themePaint?: Partial<Record<Exclude<ThemeName, 'night'>, Record<string, unknown>>>
}

/** Omit applied to each member of a union (a plain Omit keeps only the keys all members share). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** The permissions that open a layer (server/auth/permissions.ts holds them all and the role matrix). */
export type LayerPermission = 'map.base' | 'map.objects' | 'cases.read' | 'workers.read'

/**
 * Server-side aggregation of a point layer: the tile then holds one point per cell of a square
 * grid (aligned to the tile, so a cell lies in exactly one tile) at the mean position of the
 * cell's features, carrying `count`, `n_<status>` per status and `top_status` (the worst status
 * present) — counts, so nothing is dropped, an alarm least of all.
 */
export interface Aggregation {
  /** Below this zoom every tile is aggregated; from it on, only a tile that would hold more than featureLimit features. */
  belowZoom: number
  /** Cell edge in tile-extent units; divides 4096 (256 → 16 × 16 cells per tile). */
  cell: number
  /** Column counted by value. */
  statusColumn: string
  /** The values counted, worst first (`top_status` is the first one present; anything else counts in `count` only). */
  statuses: readonly string[]
}

/**
 * Drawn by deck.gl in the web as well as by the style (web/map/deckRenderers.ts has one
 * renderer per kind): `fov-cones` draws each camera's field of view — heading, angle, range —
 * as a sector from the layer's OGC items in view, from `minzoom` on.
 */
export interface DeckRenderer {
  kind: 'fov-cones'
  minzoom: number
}

import type { CardKind } from '../server/features/types.ts'

export interface LayerDef {
  id: string
  title: { 'zh-CN': string; en: string }
  group: 'admin' | 'base' | 'assets' | 'sensing' | 'people' | 'cases'
  geometryType: 'point' | 'line' | 'polygon'
  /** Table (or view) holding the features. */
  table: string
  /** Integer feature id column (MVT ids are unsigned integers). */
  idColumn: string
  /** Geometry column in EPSG:3857 with its own GiST index. */
  geomColumn: string
  /** Column → type of the properties put into each feature. */
  properties: Record<string, PropertyType>
  /**
   * Column holding the admin/grid code the feature belongs to; filters by the asker's scope.
   * null for base-map layers that hold nothing scoped (roads, water).
   */
  scopeColumn: string | null
  minzoom: number
  maxzoom: number
  /** At most this many features in one tile: a denser tile is aggregated (layers with `aggregate`) or cut there (others). */
  featureLimit: number
  /** Clip buffer around the tile, in tile-extent units. */
  buffer: number
  attribution: string
  /** MapLibre layers that draw this source on the wall style (ids must start with `<id>-`). */
  style: StyleLayer[]
  /** Socket event names that update this layer live. */
  realtime: string[]
  /** Low-zoom (and too-dense) tiles of a point layer become counts by status; see Aggregation. */
  aggregate?: Aggregation
  /** Off until switched on in the legend (style `visibility: none`): detail that would crowd the wall. */
  hidden?: true
  /** An extra deck.gl rendering in the web (see DeckRenderer). */
  deck?: DeckRenderer
  /** The permission that shows the layer (then scope filters its features); absent = map.base. */
  permission?: LayerPermission
  /** false: not an OGC API collection (a derived view of another layer's features). */
  ogc?: false
  /**
   * Clicking a feature of this layer opens this card (`GET /api/features/<layer>/<id>`,
   * server/features/types.ts); absent = not clickable (base map, derived and label layers).
   */
  card?: CardKind
}
