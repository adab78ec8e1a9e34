import bbox from '@turf/bbox'
import { getCurrentScope, onScopeDispose } from 'vue'
import { apiFetch } from '../services/http.ts'

type BBox = [number, number, number, number]

export interface UseWallTourOptions {
  /** Seconds on each stop; 0 or less: no tour. */
  intervalS: number
  /** Whether the wall is idle now (no alarm in focus, no pushed view). */
  idle: () => boolean
  /** Show this box. */
  show: (box: BBox, name: string | null) => void
  /** Back to the wall's own overview (after the last stop). */
  overview: () => void
}

/**
 * The optional tour (巡览, `/wall?tour=<seconds>`): when the wall is idle it shows each street of
 * its scope in turn (the OGC streets collection answers within the user's scope), then the whole
 * area again, and starts over. A stop is skipped, not queued, while the wall is busy.
 */
export function useWallTour(opts: UseWallTourOptions): { stop: () => void } {
  if (!(opts.intervalS > 0)) return { stop: () => {} }
  let stops: { box: BBox; name: string | null }[] | null = null
  let next = 0
  let timer: ReturnType<typeof setInterval> | null = null

  async function load(): Promise<void> {
    const body = await apiFetch<{ features: { geometry: unknown; properties?: { name?: string } }[] }>('/ogc/collections/streets/items?limit=100')
    stops = body.features.filter((f) => f.geometry).map((f) => ({ box: bbox(f as Parameters<typeof bbox>[0]) as BBox, name: f.properties?.name ?? null }))
  }

  async function step(): Promise<void> {
    if (!opts.idle()) return
    if (!stops) await load().catch((error: unknown) => console.warn('[onegrid] the tour could not load the streets', error))
    if (!stops?.length) return
    if (next >= stops.length) {
      next = 0
      opts.overview()
      return
    }
    const s = stops[next++]!
    opts.show(s.box, s.name)
  }

  timer = setInterval(() => void step(), opts.intervalS * 1000)
  const stop = (): void => {
    if (timer) clearInterval(timer)
    timer = null
  }
  if (getCurrentScope()) onScopeDispose(stop)
  return { stop }
}
