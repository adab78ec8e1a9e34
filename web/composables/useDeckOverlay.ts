import { MapboxOverlay } from '@deck.gl/mapbox'
import type { LayersList } from '@deck.gl/core'
import type { IControl, Map as MapLibreMap } from 'maplibre-gl'
import { getCurrentScope, markRaw, onScopeDispose } from 'vue'

export interface UseDeckOverlayOptions {
  /** Render deck.gl layers inside MapLibre's layer stack (shared WebGL context); default true. */
  interleaved?: boolean
  /** Initial layers. */
  layers?: LayersList
}

export interface UseDeckOverlayReturn {
  /** The overlay (markRaw; never put it in a store). */
  overlay: MapboxOverlay
  /** Replace the deck.gl layers (keep each layer's `data` reference stable between calls). */
  setLayers: (layers: LayersList) => void
  /** Detach from the map and free GPU resources (also done on scope dispose). */
  dispose: () => void
}

/**
 * Attaches a deck.gl `MapboxOverlay` to a MapLibre map. Interleaved by default
 * (MapLibre 5.24 + deck.gl 9.4 is a known-good pairing; MapLibre 6 is not).
 */
export function useDeckOverlay(map: MapLibreMap, options: UseDeckOverlayOptions = {}): UseDeckOverlayReturn {
  const overlay = markRaw(
    new MapboxOverlay({
      interleaved: options.interleaved ?? true,
      layers: options.layers ?? [],
    }),
  )
  map.addControl(overlay as unknown as IControl)
  let disposed = false

  function setLayers(layers: LayersList): void {
    if (!disposed) overlay.setProps({ layers })
  }

  function dispose(): void {
    if (disposed) return
    disposed = true
    try {
      // removes the control from the map, which finalizes the Deck and its GPU resources
      overlay.finalize()
    } catch (error) {
      console.warn('[onegrid] deck.gl overlay cleanup failed', error)
    }
  }

  if (getCurrentScope()) onScopeDispose(dispose)

  return { overlay, setLayers, dispose }
}
