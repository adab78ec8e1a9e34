import type { Map as MapLibreMap } from 'maplibre-gl'

declare global {
  interface Window {
    /** Test/debug hook: the wall's MapLibre map (dev builds, or `?debug=1`). */
    __onegridMap?: MapLibreMap
  }
}

export {}
