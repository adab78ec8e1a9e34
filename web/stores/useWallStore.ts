import { defineStore } from 'pinia'
import { coalescer } from './coalesce.ts'
import { computed, ref, watch } from 'vue'
import { OPEN_STAGES } from '../../server/cases/workflow.ts'
import type { MessageKey } from '../i18n/zh-CN.ts'
import type { DomainEvent } from '../services/eventStream.ts'
import { fetchWallSummary, type WallCount, type WallSummary } from '../services/wall.ts'
import { useConnectionStore } from './useConnectionStore.ts'

/** How many ticker entries the wall keeps (it runs for days: the buffer never grows past this). */
export const TICKER_SIZE = 50
/** Events come in bursts: the summary is fetched again this long after the last relevant one… */
export const REFRESH_DEBOUNCE_MS = 2_000
/** …but at least this often while they keep coming (a busy district never goes quiet for 2 s). */
export const REFRESH_MAX_WAIT_MS = 10_000
/** Default seconds without any update before the freshness indicator turns amber (red at 3×). */
export const DEFAULT_STALE_SECONDS = 30

export type FreshnessLevel = 'ok' | 'amber' | 'red'
/** alarm: red, warn: amber, info: cyan, ok: green. */
export type TickerLevel = 'alarm' | 'warn' | 'info' | 'ok'

/** One line of the live ticker; the component renders `t(key, { ...params, ...names translated })`. */
export interface TickerEntry {
  seq: number
  type: string
  /** ISO time of the event. */
  at: string
  level: TickerLevel
  key: MessageKey
  params: Record<string, string | number>
  /** Params that are themselves message keys (stage, source, sensor type …), translated when shown. */
  names: Record<string, MessageKey>
}

export interface WallStartOptions {
  /** Seconds without an update before amber (the wall's `?stale=`); red after 3×. */
  staleSeconds?: number
}

/** The wall's `?stale=<seconds>` as a number of seconds, or undefined when absent or not a positive number. */
export function staleFromQuery(value: unknown): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (typeof raw !== 'string' || raw.trim() === '') return undefined
  const n = Number(raw)
  return Number.isFinite(n) && n > 0 ? n : undefined
}

const OPEN = new Set<string>(OPEN_STAGES)
const RELEVANT = /^(alarm|case|sensor|worker):/
const SENSOR_TYPES = new Set(['smoke', 'gas', 'noise', 'dust', 'water_level', 'cover_tilt', 'structural', 'air_quality'])

const str = (p: Record<string, unknown>, k: string): string | null => (typeof p[k] === 'string' ? (p[k] as string) : null)
const num = (p: Record<string, unknown>, k: string): number | null => (typeof p[k] === 'number' && Number.isFinite(p[k]) ? (p[k] as number) : null)
/** Readings as the ticker shows them: at most two decimals, no trailing zeros. */
const reading = (n: number | null): string => (n === null ? '—' : String(Math.round(n * 100) / 100))

function sensorTypeName(type: string | null): MessageKey | null {
  return type && SENSOR_TYPES.has(type) ? (`wall.sensorType.${type}` as MessageKey) : null
}
function stageName(stage: string | null): MessageKey | null {
  return stage ? (`wall.stage.${stage}` as MessageKey) : null
}

/** Adds `by` to the entry with `key` (appending one when the list has none yet). */
function bump(list: WallCount[], key: string | null, by: number): void {
  if (!key) return
  const row = list.find((r) => r.key === key)
  if (row) row.count = Math.max(0, row.count + by)
  else if (by > 0) list.push({ key, name: null, count: by })
}

/**
 * The wall's panels and ticker: the summary from GET /api/wall/summary, kept current by the domain
 * events the wall receives (exact increments at once, the full summary again ~2 s after a burst),
 * a bounded ticker, and how fresh the data is. Plain state only; the timers live in this closure
 * and stop with `stop()`.
 */
export const useWallStore = defineStore('wall', () => {
  const connection = useConnectionStore()

  const summary = ref<WallSummary | null>(null)
  /** The last failed refresh's message, null after a success. */
  const error = ref<string | null>(null)
  /** Newest first, at most TICKER_SIZE, one entry per event seq. */
  const ticker = ref<TickerEntry[]>([])
  /** ms since epoch of the last event, telemetry message or summary; null before any. */
  const lastUpdateAt = ref<number | null>(null)
  const startedAt = ref(Date.now())
  /** The store's clock (ms), ticked every second while started. */
  const now = ref(Date.now())
  const staleSeconds = ref(DEFAULT_STALE_SECONDS)
  const everConnected = ref(false)

  /** Seconds since the last update (since start when nothing arrived yet). */
  const ageSeconds = computed(() => Math.max(0, Math.floor((now.value - (lastUpdateAt.value ?? startedAt.value)) / 1000)))
  const freshness = computed<FreshnessLevel>(() =>
    ageSeconds.value >= staleSeconds.value * 3 ? 'red' : ageSeconds.value >= staleSeconds.value ? 'amber' : 'ok',
  )
  /** The socket dropped after having been connected (not the first connect of the page). */
  const reconnecting = computed(() => everConnected.value && connection.state !== 'connected')

  let clock: ReturnType<typeof setInterval> | undefined
  const pendingRefresh = coalescer(() => void refresh(), REFRESH_DEBOUNCE_MS, REFRESH_MAX_WAIT_MS)
  let requestNo = 0
  let inFlight = 0
  let lastRefreshAt = 0
  let running = false

  function markUpdated(): void {
    now.value = Date.now()
    lastUpdateAt.value = now.value
  }

  /** Fetches the summary; an answer older than one already applied is dropped. */
  async function refresh(): Promise<void> {
    const no = ++requestNo
    inFlight++
    lastRefreshAt = Date.now()
    try {
      const next = await fetchWallSummary()
      if (no < appliedNo) return
      appliedNo = no
      summary.value = next
      error.value = null
      // oldest first, so an acknowledgement finds its alarm's entry (for the sensor's name)
      for (let i = next.recent.length - 1; i >= 0; i--) pushTicker(next.recent[i])
      markUpdated()
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
      console.warn(`[onegrid] wall summary: ${error.value}`)
    } finally {
      inFlight--
    }
  }
  let appliedNo = 0

  function scheduleRefresh(): void {
    if (running) pendingRefresh.schedule()
  }

  /**
   * Poll interval while connected and quiet (a quiet district is not stale data): half the amber
   * threshold, so a healthy wall never shows amber; 15 s by default.
   */
  const pollMs = (): number => Math.min(60_000, Math.max(2_000, (staleSeconds.value * 1000) / 2))

  function tick(): void {
    now.value = Date.now()
    if (connection.state === 'connected' && inFlight === 0 && !pendingRefresh.pending && now.value - lastRefreshAt >= pollMs()) void refresh()
  }

  /** Loads the summary and starts the clock; call once when the wall mounts. */
  function start(options: WallStartOptions = {}): Promise<void> {
    staleSeconds.value = options.staleSeconds && options.staleSeconds > 0 ? options.staleSeconds : DEFAULT_STALE_SECONDS
    if (running) return Promise.resolve()
    running = true
    startedAt.value = Date.now()
    now.value = startedAt.value
    clock = setInterval(tick, 1000)
    return refresh()
  }

  /** Stops the timers (on unmount); the state stays for the next mount. */
  function stop(): void {
    running = false
    if (clock !== undefined) clearInterval(clock)
    clock = undefined
    pendingRefresh.cancel()
  }

  /** Every live telemetry message: proves data is flowing. */
  function touch(): void {
    markUpdated()
  }

  /** Every domain event the wall receives (EventStream's onEvent). */
  function applyEvent(e: DomainEvent): void {
    markUpdated()
    pushTicker(e)
    applyIncrement(e)
    if (RELEVANT.test(e.type)) scheduleRefresh()
  }

  /** Inserts the event's ticker entry in seq order (newest first), once, and drops the oldest past the bound. */
  function pushTicker(e: DomainEvent): void {
    const list = ticker.value
    let i = 0
    while (i < list.length && list[i].seq > e.seq) i++
    if (list[i]?.seq === e.seq) return
    if (i >= TICKER_SIZE) return
    const entry = toEntry(e)
    if (!entry) return
    list.splice(i, 0, entry)
    if (list.length > TICKER_SIZE) list.length = TICKER_SIZE
  }

  function categoryName(code: string | null): string {
    if (!code) return '—'
    return summary.value?.cases.today.byCategory.find((c) => c.key === code)?.name ?? code
  }

  /** The name of an alarm's sensor from an earlier ticker entry (acked events carry only ids). */
  function alarmSensorName(id: number | null): string | null {
    const raised = ticker.value.find((t) => t.type === 'alarm:raised' && t.params.alarmId === id)
    return raised ? String(raised.params.name) : null
  }

  function toEntry(e: DomainEvent): TickerEntry | null {
    const p = e.payload
    const base = { seq: e.seq, type: e.type, at: e.at }
    const names: Record<string, MessageKey> = {}
    switch (e.type) {
      case 'alarm:raised': {
        const type = sensorTypeName(str(p, 'sensorType'))
        if (type) names.type = type
        const kind = str(p, 'kind')
        const unit = str(p, 'unit') ?? ''
        const params = { alarmId: num(p, 'id') ?? 0, name: str(p, 'name') ?? str(p, 'code') ?? '—', type: str(p, 'sensorType') ?? '', value: `${reading(num(p, 'value'))}${unit}`, threshold: `${reading(num(p, 'threshold'))}${unit}` }
        return { ...base, level: 'alarm', key: kind === 'offline' ? 'wall.ticker.alarmOffline' : kind === 'rate' ? 'wall.ticker.alarmRate' : 'wall.ticker.alarmRaised', params, names }
      }
      case 'alarm:acked': {
        const id = num(p, 'id')
        return { ...base, level: 'info', key: 'wall.ticker.alarmAcked', params: { name: alarmSensorName(id) ?? `#${id ?? '?'}`, by: str(p, 'by') ?? '—' }, names }
      }
      case 'alarm:resolved':
        return { ...base, level: 'ok', key: 'wall.ticker.alarmResolved', params: { name: str(p, 'name') ?? str(p, 'code') ?? '—' }, names }
      case 'case:created': {
        const stage = stageName(str(p, 'stage'))
        if (stage) names.stage = stage
        const urgency = str(p, 'urgency')
        const category = str(p, 'categoryCode') ?? str(p, 'category')
        return {
          ...base,
          level: urgency === 'critical' ? 'alarm' : urgency === 'urgent' ? 'warn' : 'info',
          key: 'wall.ticker.caseCreated',
          params: { code: str(p, 'code') ?? '—', category: categoryName(category), stage: str(p, 'stage') ?? '' },
          names,
        }
      }
      case 'case:changed': {
        const to = str(p, 'to')
        const stage = stageName(to)
        if (stage) names.stage = stage
        return { ...base, level: to && !OPEN.has(to) ? 'ok' : 'info', key: 'wall.ticker.caseChanged', params: { code: str(p, 'code') ?? '—', stage: to ?? '' }, names }
      }
      case 'worker:out_of_grid':
        return { ...base, level: 'warn', key: 'wall.ticker.workerOut', params: { name: str(p, 'name') ?? str(p, 'code') ?? '—', grid: str(p, 'gridCode') ?? '—' }, names }
      case 'worker:back_in_grid':
        return { ...base, level: 'ok', key: 'wall.ticker.workerBack', params: { name: str(p, 'name') ?? str(p, 'code') ?? '—', grid: str(p, 'gridCode') ?? '—' }, names }
      default:
        return null
    }
  }

  /**
   * The changes an event makes to the summary that are certain from the event alone; everything
   * else (overdue, sensors by type, rates, top grids) waits for the debounced refresh.
   */
  function applyIncrement(e: DomainEvent): void {
    const s = summary.value
    // An event the summary already counted (it lists the latest of these types in `recent`).
    if (!s || (s.recent[0] && s.recent[0].seq >= e.seq)) return
    const p = e.payload
    switch (e.type) {
      case 'alarm:raised':
        s.alarms.open++
        s.alarms.unacked++
        break
      case 'alarm:acked':
        s.alarms.unacked = Math.max(0, s.alarms.unacked - 1)
        break
      case 'alarm:resolved':
        s.alarms.open = Math.max(0, s.alarms.open - 1)
        break
      case 'case:created': {
        const stage = str(p, 'stage')
        if (stage && OPEN.has(stage)) s.cases.open++
        s.cases.today.reported++
        bump(s.cases.today.byStage, stage, 1)
        bump(s.cases.today.bySource, str(p, 'source'), 1)
        const category = str(p, 'categoryCode') ?? str(p, 'category')
        // a category not yet in today's list needs its name: the refresh brings it
        if (s.cases.today.byCategory.some((c) => c.key === category)) bump(s.cases.today.byCategory, category, 1)
        break
      }
      case 'case:changed': {
        const from = str(p, 'from')
        const to = str(p, 'to')
        if (from && to && OPEN.has(from) && !OPEN.has(to)) s.cases.open = Math.max(0, s.cases.open - 1)
        else if (from && to && !OPEN.has(from) && OPEN.has(to)) s.cases.open++
        break
      }
      case 'worker:out_of_grid':
        s.workers.outOfGrid++
        break
      case 'worker:back_in_grid':
        s.workers.outOfGrid = Math.max(0, s.workers.outOfGrid - 1)
        break
    }
  }

  // A reconnect after a drop: the replayed events refresh too, but a drop with nothing missed
  // must still prove the numbers current. Synchronous, so a connect that drops within the same
  // tick still counts as "once connected".
  watch(
    () => connection.state,
    (state) => {
      if (state !== 'connected') return
      if (everConnected.value) scheduleRefresh()
      everConnected.value = true
    },
    { immediate: true, flush: 'sync' },
  )

  return {
    summary, error, ticker, lastUpdateAt, startedAt, now, staleSeconds, everConnected,
    ageSeconds, freshness, reconnecting,
    start, stop, refresh, touch, applyEvent,
  }
})
