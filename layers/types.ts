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
  /** At most this many features in one tile. */
  featureLimit: number
  /** Clip buffer around the tile, in tile-extent units. */
  buffer: number
  attribution: string
  /** MapLibre layers that draw this source on the wall style (ids must start with `<id>-`). */
  style: StyleLayer[]
  /** Socket event names that update this layer live. */
  realtime: string[]
}
