import { getCurrentScope, onScopeDispose, ref, type Ref } from 'vue'

/** One position fix of the device (WGS84, as the Geolocation API gives it). */
export interface GeoFix {
  lon: number
  lat: number
  /** metres */
  accuracy: number
  speed?: number
  heading?: number
  /** ISO 8601 */
  ts: string
}

export interface UseGeolocationReturn {
  /** The latest fix; null before the first or without geolocation. */
  fix: Ref<GeoFix | null>
  /** Why there is no fix (permission denied, unavailable), or null. */
  error: Ref<string | null>
  /** Called with every fix (the patrol buffers them). */
  onFix: (fn: (fix: GeoFix) => void) => void
}

/**
 * Watches the device position (navigator.geolocation.watchPosition, high accuracy) while the
 * calling scope lives; nothing happens where the browser has no geolocation.
 */
export function useGeolocation(): UseGeolocationReturn {
  const fix = ref<GeoFix | null>(null)
  const error = ref<string | null>(null)
  const listeners: ((f: GeoFix) => void)[] = []
  let watchId: number | null = null

  if (typeof navigator !== 'undefined' && navigator.geolocation) {
    watchId = navigator.geolocation.watchPosition(
      (p) => {
        const f: GeoFix = {
          lon: p.coords.longitude,
          lat: p.coords.latitude,
          accuracy: p.coords.accuracy,
          ...(p.coords.speed !== null && Number.isFinite(p.coords.speed) ? { speed: p.coords.speed } : {}),
          ...(p.coords.heading !== null && Number.isFinite(p.coords.heading) ? { heading: p.coords.heading } : {}),
          ts: new Date(p.timestamp || Date.now()).toISOString(),
        }
        fix.value = f
        error.value = null
        for (const fn of listeners) fn(f)
      },
      (e) => {
        error.value = e.message || `geolocation error ${e.code}`
      },
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 },
    )
  } else {
    error.value = 'geolocation unavailable'
  }

  if (getCurrentScope()) {
    onScopeDispose(() => {
      if (watchId !== null) navigator.geolocation.clearWatch(watchId)
      listeners.length = 0
    })
  }

  return { fix, error, onFix: (fn) => listeners.push(fn) }
}
