import { defineStore } from 'pinia'
import { coalescer } from './coalesce.ts'
import { computed, reactive, ref } from 'vue'
import type { CaseSummary } from '../../server/cases/types.ts'
import type { CardKind } from '../../server/features/types.ts'
import type { DomainEvent } from '../services/eventStream.ts'
import { fetchQueue, type QueueFilters } from '../services/features.ts'

/** A case event refetches the queue this long after the last one of a burst… */
export const QUEUE_DEBOUNCE_MS = 800
/** …but at least this often while they keep coming. */
export const QUEUE_MAX_WAIT_MS = 4_000
/** localStorage key of the chosen map style. */
export const STYLE_STORAGE_KEY = 'onegrid.seat.style'

export type SeatMapStyle = 'day' | 'night'
/** The tool panel open over the map (one at a time). */
export type SeatPanel = 'around' | 'draw' | 'tracks' | 'push'

/** What the drawer shows: a feature of a clickable catalog layer (its card), picked on the map, the queue or a panel. */
export interface SeatSelection {
  /** Catalog layer id (`cases` for a case from the queue). */
  layer: string
  kind: CardKind
  id: number
  /** Where it is, when known before the card loads (a map pick, a queue item). */
  lon?: number
  lat?: number
}

/** Where "around this incident" asks: a point, and the case it is about (for duplicates). */
export interface AroundTarget {
  lon: number
  lat: number
  caseId: number | null
}

function storedStyle(): SeatMapStyle {
  try {
    return globalThis.localStorage?.getItem(STYLE_STORAGE_KEY) === 'night' ? 'night' : 'day'
  } catch {
    return 'day'
  }
}

/** The queue row after moving `delta` from `index` (−1 = none yet), kept inside the list; −1 when it is empty. */
export function moveIndex(index: number, delta: number, length: number): number {
  if (length <= 0) return -1
  if (index < 0) return delta >= 0 ? 0 : length - 1
  return Math.min(length - 1, Math.max(0, index + delta))
}

const num = (p: Record<string, unknown>, k: string): number | null => (typeof p[k] === 'number' && Number.isFinite(p[k]) ? (p[k] as number) : null)

/**
 * The seat's state: the queue (filters, items, the highlighted row), the selection the drawer
 * shows, the open tool panel, the map style, and counters that tell open cards a domain event
 * changed what they show. Plain state only — the map, deck.gl and the socket live in SeatView.
 */
export const useSeatStore = defineStore('seat', () => {
  const filters = reactive<QueueFilters>({ stages: [], category: '', source: '', grid: '', q: '' })
  const queue = ref<CaseSummary[]>([])
  const total = ref(0)
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** The highlighted queue row (j/k), −1 = none. */
  const cursor = ref(-1)
  const selection = ref<SeatSelection | null>(null)
  const panel = ref<SeatPanel | null>(null)
  const around = ref<AroundTarget | null>(null)
  /** Workers the track playback opens with. */
  const trackWorkers = ref<number[]>([])
  const helpOpen = ref(false)
  const mapStyle = ref<SeatMapStyle>(storedStyle())
  /** The seat's clock (ms), ticked every second while started: the countdowns. */
  const now = ref(Date.now())
  /** Bumped for a case / sensor / camera each time an event says it changed (open cards reload on it). */
  const changed = reactive<{ case: Record<number, number>; sensor: Record<number, number>; alarm: number }>({ case: {}, sensor: {}, alarm: 0 })

  const cursorCase = computed(() => (cursor.value >= 0 ? (queue.value[cursor.value] ?? null) : null))
  const selectedCaseId = computed(() => (selection.value?.kind === 'case' ? selection.value.id : null))

  let requestNo = 0
  let appliedNo = 0
  const pendingRefresh = coalescer(() => void refreshQueue(), QUEUE_DEBOUNCE_MS, QUEUE_MAX_WAIT_MS)
  let clock: ReturnType<typeof setInterval> | undefined
  let running = false

  /** Fetches the queue for the filters; an answer older than one already applied is dropped. */
  async function refreshQueue(): Promise<void> {
    const no = ++requestNo
    loading.value = true
    try {
      const answer = await fetchQueue(filters)
      if (no < appliedNo) return
      appliedNo = no
      // keep the highlighted case highlighted where it moved to
      const keep = cursorCase.value?.id ?? null
      queue.value = answer.items
      total.value = answer.total
      const at = keep === null ? -1 : answer.items.findIndex((c) => c.id === keep)
      cursor.value = at >= 0 ? at : Math.min(cursor.value, answer.items.length - 1)
      error.value = null
    } catch (err) {
      if (no >= appliedNo) error.value = err instanceof Error ? err.message : String(err)
    } finally {
      if (no === requestNo) loading.value = false
    }
  }

  function scheduleRefresh(): void {
    if (running) pendingRefresh.schedule()
  }

  /** A filter changed: the queue again, from the top. */
  function setFilters(next: Partial<QueueFilters>): Promise<void> {
    Object.assign(filters, next)
    cursor.value = -1
    return refreshQueue()
  }

  /** Every domain event the seat receives. */
  function applyEvent(e: DomainEvent): void {
    const p = e.payload
    if (e.type.startsWith('case:')) {
      const id = num(p, 'id') ?? num(p, 'caseId')
      if (id !== null) changed.case[id] = (changed.case[id] ?? 0) + 1
      if (e.type === 'case:created' || e.type === 'case:changed' || e.type === 'case:alarm-linked' || e.type === 'case:level') scheduleRefresh()
    } else if (e.type.startsWith('alarm:')) {
      const sensorId = num(p, 'sensorId')
      if (sensorId !== null) changed.sensor[sensorId] = (changed.sensor[sensorId] ?? 0) + 1
      changed.alarm++
    }
  }

  /** Moves the highlight j/k; returns the case now highlighted. */
  function moveCursor(delta: number): CaseSummary | null {
    cursor.value = moveIndex(cursor.value, delta, queue.value.length)
    return cursorCase.value
  }

  function select(sel: SeatSelection | null): void {
    selection.value = sel
    if (sel?.kind === 'case') {
      const at = queue.value.findIndex((c) => c.id === sel.id)
      if (at >= 0) cursor.value = at
    }
  }

  /** Opens a case of the queue (click, Enter): its card. */
  function openCase(c: CaseSummary): void {
    select({ layer: 'cases', kind: 'case', id: c.id, lon: c.lon, lat: c.lat })
  }

  function togglePanel(p: SeatPanel): void {
    panel.value = panel.value === p ? null : p
  }

  function openAround(target: AroundTarget): void {
    around.value = target
    panel.value = 'around'
  }

  function openTracks(workerIds: number[]): void {
    trackWorkers.value = [...new Set(workerIds)]
    panel.value = 'tracks'
  }

  function setMapStyle(style: SeatMapStyle): void {
    mapStyle.value = style
    try {
      globalThis.localStorage?.setItem(STYLE_STORAGE_KEY, style)
    } catch {
      // private mode: the choice lasts for this page only
    }
  }

  /**
   * Esc: closes the innermost thing open — the help, then the tool panel, then the drawer.
   * Returns what it closed (nothing: null).
   */
  function closeTop(): 'help' | 'panel' | 'selection' | null {
    if (helpOpen.value) {
      helpOpen.value = false
      return 'help'
    }
    if (panel.value) {
      panel.value = null
      return 'panel'
    }
    if (selection.value) {
      selection.value = null
      return 'selection'
    }
    return null
  }

  /** Loads the queue and starts the clock; call when the seat mounts. */
  function start(): Promise<void> {
    if (running) return Promise.resolve()
    running = true
    now.value = Date.now()
    clock = setInterval(() => {
      now.value = Date.now()
    }, 1000)
    return refreshQueue()
  }

  function stop(): void {
    running = false
    if (clock !== undefined) clearInterval(clock)
    clock = undefined
    pendingRefresh.cancel()
  }

  return {
    filters, queue, total, loading, error, cursor, selection, panel, around, trackWorkers, helpOpen, mapStyle, now, changed,
    cursorCase, selectedCaseId,
    refreshQueue, setFilters, applyEvent, moveCursor, select, openCase, togglePanel, openAround, openTracks, setMapStyle, closeTop, start, stop,
  }
})
