import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import {
  childLevel,
  codePrefix,
  colorUnits,
  GRID_FALLBACK_INDICATOR,
  levelOf,
  periodOf,
  rankBy,
  SCORABLE,
  type AssessKind,
  type Coloring,
  type Grade,
  type Level,
  type MapIndicator,
  type Period,
  type PeriodPreset,
  type ScorableKey,
} from '../components/cockpit/cockpitModel.ts'
import {
  exportUrl,
  fetchAssessment,
  fetchBreakdown,
  fetchKpis,
  fetchUnitIndicators,
  type Assessment,
  type Breakdown,
  type IndicatorRow,
  type Indicators,
  type IndicatorsWithPrevious,
} from '../services/cockpit.ts'
import { ApiError } from '../services/http.ts'

/** A unit of the breadcrumbs: the asker's scope first, then each unit drilled into. */
export interface Crumb {
  code: string
  name: string | null
  /** null for a scope above the districts (a city). */
  level: Level | null
}

/** The table under the map: the units of the current level, or departments, or workers. */
export type TableTab = 'area' | 'department' | 'worker'

export type LoadState = 'idle' | 'loading' | 'ok' | 'error'

/** A row of the rankings as the table shows it (and the export has it). */
export interface TableRow {
  code: string
  name: string | null
  rank: number | null
  /** The assessment score; null for grids (no score). */
  score: number | null
  grade: Grade | null
  /** The map's indicator for this unit (the score itself when the map shows the score). */
  value: number | null
}

/** The unit whose score's parts are shown. */
export interface ScoreSelection {
  kind: AssessKind
  code: string
  name: string | null
}

/** Cases listed per component of a breakdown (the count says how many there are): a small answer on a slow network. */
export const LOST_CASES_SHOWN = 12

/** A failed load as the page says it: the server's message, or nothing for a cancelled one. */
function failure(error: unknown): string {
  if (error instanceof ApiError) return error.message
  return error instanceof Error ? error.message : String(error)
}
const aborted = (error: unknown, signal: AbortSignal): boolean => signal.aborted || (error instanceof DOMException && error.name === 'AbortError')

/** One request channel: a new load cancels the one before, and only the latest answer lands. */
function channel() {
  let ctl: AbortController | null = null
  return {
    next(): AbortSignal {
      ctl?.abort()
      ctl = new AbortController()
      return ctl.signal
    },
    cancel(): void {
      ctl?.abort()
      ctl = null
    },
  }
}

/**
 * The leaders' cockpit (/cockpit): the period, the drill-down path from the asker's scope down to a
 * community's grids, the map's indicator and the table shown; and the answers of the server for
 * them — the KPIs (asked first: the smallest answer, shown first on a slow network), the scores of
 * the current level's units (the table and the map's colours in one answer), and on demand the
 * rates the rule does not score, the departments' and workers' scores, one unit's breakdown.
 */
export const useCockpitStore = defineStore('cockpit', () => {
  const period = ref<Period>(periodOf('month', Date.now()))
  const scope = ref<Crumb>({ code: '', name: null, level: null })
  const path = ref<Crumb[]>([])
  const tab = ref<TableTab>('area')
  const indicator = ref<MapIndicator>('score')

  const kpis = shallowRef<IndicatorsWithPrevious | null>(null)
  const kpisState = ref<LoadState>('idle')
  const kpisError = ref<string | null>(null)
  /** The scores of the current level's units (district, street, community). */
  const units = shallowRef<Assessment | null>(null)
  /** The indicators of the current level's units: grids (no score), or rates the rule does not score. */
  const unitRates = shallowRef<Indicators | null>(null)
  const unitsState = ref<LoadState>('idle')
  const unitsError = ref<string | null>(null)
  /** Departments or workers (the tab). */
  const people = shallowRef<Assessment | null>(null)
  const peopleState = ref<LoadState>('idle')
  const peopleError = ref<string | null>(null)

  const selection = ref<ScoreSelection | null>(null)
  const breakdown = shallowRef<Breakdown | null>(null)
  const breakdownState = ref<LoadState>('idle')
  const breakdownError = ref<string | null>(null)

  const kpiChannel = channel()
  const unitsChannel = channel()
  const ratesChannel = channel()
  const peopleChannel = channel()
  const breakdownChannel = channel()

  // ─── where we are ──────────────────────────────────────────────────────────────────────────
  /** The unit the page is about: the last one drilled into, else the scope. */
  const area = computed<Crumb>(() => path.value.at(-1) ?? scope.value)
  /** The `code` of the queries: none for the whole scope (the server then takes the asker's). */
  const queryCode = computed<string | null>(() => path.value.at(-1)?.code ?? null)
  /** The level of the units the map and the table show (null below a grid: nothing more to show). */
  const level = computed<Level | null>(() => (area.value.code ? childLevel(area.value.code) : null))
  const crumbs = computed<Crumb[]>(() => [scope.value, ...path.value])
  const canDrill = computed(() => level.value !== null && level.value !== 'grid')

  /** What the map colours by here: grids have no score, they show GRID_FALLBACK_INDICATOR. */
  const mapIndicator = computed<MapIndicator>(() => (level.value === 'grid' && indicator.value === 'score' ? GRID_FALLBACK_INDICATOR : indicator.value))
  /** Whether the map's indicator comes from the scores' components (else from the indicators by unit). */
  const fromRule = computed(() => {
    const i = mapIndicator.value
    if (level.value === 'grid') return false
    return i === 'score' || !!units.value?.rule.indicators.some((r) => r.indicator === i)
  })

  const q = () => ({ from: period.value.from, to: period.value.to, code: queryCode.value })

  // ─── loads ─────────────────────────────────────────────────────────────────────────────────
  async function loadKpis(): Promise<void> {
    const signal = kpiChannel.next()
    kpisState.value = 'loading'
    kpisError.value = null
    try {
      const answer = await fetchKpis(q(), signal)
      if (signal.aborted) return
      kpis.value = answer
      kpisState.value = 'ok'
    } catch (error) {
      if (aborted(error, signal)) return
      kpisError.value = failure(error)
      kpisState.value = 'error'
    }
  }

  /** The units of the level: their scores (and with them the map's colours), or for grids their indicators. */
  async function loadUnits(): Promise<void> {
    const lv = level.value
    const signal = unitsChannel.next()
    ratesChannel.cancel()
    units.value = null
    unitRates.value = null
    if (!lv) {
      unitsState.value = 'ok'
      return
    }
    unitsState.value = 'loading'
    unitsError.value = null
    try {
      if (lv === 'grid') {
        const answer = await fetchUnitIndicators({ ...q(), groupBy: 'grid' }, signal)
        if (signal.aborted) return
        unitRates.value = answer
      } else {
        const answer = await fetchAssessment({ ...q(), kind: lv }, signal)
        if (signal.aborted) return
        units.value = answer
        if (!fromRule.value) await loadRates(signal)
        if (signal.aborted) return
      }
      unitsState.value = 'ok'
    } catch (error) {
      if (aborted(error, signal)) return
      unitsError.value = failure(error)
      unitsState.value = 'error'
    }
  }

  /** The rates of the level's units the rule does not score (asked only when the map shows one). */
  async function loadRates(parent?: AbortSignal): Promise<void> {
    const lv = level.value
    if (!lv || unitRates.value) return
    const signal = parent ?? ratesChannel.next()
    try {
      const answer = await fetchUnitIndicators({ ...q(), groupBy: lv }, signal)
      if (!signal.aborted) unitRates.value = answer
    } catch (error) {
      if (aborted(error, signal)) return
      if (parent) throw error
      unitsError.value = failure(error)
    }
  }

  async function loadPeople(): Promise<void> {
    const kind = tab.value
    if (kind === 'area') {
      peopleChannel.cancel()
      return
    }
    const signal = peopleChannel.next()
    people.value = null
    peopleState.value = 'loading'
    peopleError.value = null
    try {
      const answer = await fetchAssessment({ ...q(), kind }, signal)
      if (signal.aborted) return
      people.value = answer
      peopleState.value = 'ok'
    } catch (error) {
      if (aborted(error, signal)) return
      peopleError.value = failure(error)
      peopleState.value = 'error'
    }
  }

  /**
   * Everything for the current period and area: the KPIs, the tables beside them. `kpisFirst`:
   * the tables are asked only once the KPIs are in (the page's first load: on a slow network or a
   * busy server the KPIs must not share the line with anything).
   */
  let generation = 0
  function reload(kpisFirst = false): Promise<unknown> {
    closeScore()
    const gen = ++generation
    if (kpisFirst) {
      unitsState.value = 'loading'
      // a drill or a new period before the KPIs came asks for its own tables
      return loadKpis().then(() => (gen === generation ? Promise.all([loadUnits(), loadPeople()]) : undefined))
    }
    return Promise.all([loadKpis(), loadUnits(), loadPeople()])
  }

  // ─── what the leader does ──────────────────────────────────────────────────────────────────
  /** The page opens at the asker's scope for a period: its KPIs first. */
  function start(scopeCode: string, p: Period): Promise<unknown> {
    scope.value = { code: scopeCode, name: null, level: levelOf(scopeCode) }
    path.value = []
    period.value = p
    return reload(true)
  }

  function setPeriod(preset: PeriodPreset, custom?: { from: string; to: string }, now = Date.now()): Promise<unknown> {
    period.value = periodOf(preset, now, custom)
    return reload()
  }

  /** Into a unit of the current level (tapped on the map or in the table). */
  function drill(unit: { code: string; name: string | null }): Promise<unknown> | null {
    const lv = level.value
    if (!lv || lv === 'grid' || levelOf(unit.code) !== lv || !unit.code.startsWith(codePrefix(area.value.code))) return null
    path.value = [...path.value, { code: unit.code, name: unit.name, level: lv }]
    return reload()
  }

  /** Back up to a crumb: 0 is the scope. */
  function goTo(index: number): Promise<unknown> | null {
    if (index < 0 || index >= crumbs.value.length - 1) return null
    path.value = path.value.slice(0, index)
    return reload()
  }

  function setTab(next: TableTab): void {
    if (tab.value === next) return
    tab.value = next
    void loadPeople()
  }

  function setIndicator(next: MapIndicator): void {
    if (indicator.value === next) return
    indicator.value = next
    if (!fromRule.value && level.value !== 'grid' && units.value) void loadRates()
  }

  function openScore(sel: ScoreSelection): void {
    selection.value = sel
    breakdown.value = null
    const signal = breakdownChannel.next()
    breakdownState.value = 'loading'
    breakdownError.value = null
    fetchBreakdown({ from: period.value.from, to: period.value.to, kind: sel.kind, code: sel.code, area: queryCode.value, limit: LOST_CASES_SHOWN }, signal)
      .then((b) => {
        if (signal.aborted) return
        breakdown.value = b
        breakdownState.value = 'ok'
      })
      .catch((error: unknown) => {
        if (aborted(error, signal)) return
        breakdownError.value = failure(error)
        breakdownState.value = 'error'
      })
  }

  function closeScore(): void {
    breakdownChannel.cancel()
    selection.value = null
    breakdown.value = null
    breakdownState.value = 'idle'
  }

  function stop(): void {
    for (const c of [kpiChannel, unitsChannel, ratesChannel, peopleChannel, breakdownChannel]) c.cancel()
  }

  // ─── what the page shows ───────────────────────────────────────────────────────────────────
  /** The map's figure per unit of the level. */
  const mapValues = computed<Map<string, number | null>>(() => {
    const out = new Map<string, number | null>()
    const i = mapIndicator.value
    if (fromRule.value && units.value) {
      for (const r of units.value.rows) out.set(r.code, i === 'score' ? r.score : (r.components.find((c) => c.indicator === i)?.rate ?? null))
      return out
    }
    for (const r of unitRates.value?.rows ?? []) {
      if (r.code === null) continue
      const v = (r as unknown as Record<string, { rate?: number | null } | undefined>)[i]
      out.set(r.code, v?.rate ?? null)
    }
    return out
  })

  const coloring = computed<Coloring>(() => colorUnits(mapValues.value, mapIndicator.value, units.value?.rule.bands))

  /** The rankings of the current tab. */
  const tableRows = computed<TableRow[]>(() => {
    if (tab.value !== 'area') {
      return (people.value?.rows ?? []).map((r) => ({ code: r.code, name: r.name, rank: r.rank, score: r.score, grade: r.grade, value: r.score }))
    }
    if (units.value) {
      const values = mapValues.value
      return units.value.rows.map((r) => ({ code: r.code, name: r.name, rank: r.rank, score: r.score, grade: r.grade, value: values.get(r.code) ?? null }))
    }
    const rows = (unitRates.value?.rows ?? []).filter((r): r is IndicatorRow & { code: string } => r.code !== null)
    const i = mapIndicator.value as ScorableKey
    const ranked = rankBy(rows, (r) => (r as unknown as Record<string, { rate?: number | null }>)[i]?.rate ?? null, SCORABLE[i] ?? 'higher')
    return ranked.map((r) => ({ code: r.code, name: r.name, rank: r.rank, score: null, grade: null, value: r.value }))
  })

  const tableState = computed<LoadState>(() => (tab.value === 'area' ? unitsState.value : peopleState.value))
  const tableError = computed<string | null>(() => (tab.value === 'area' ? unitsError.value : peopleError.value))
  /** The kind of unit the table scores (null: grids, which have no score). */
  const tableKind = computed<AssessKind | null>(() => (tab.value !== 'area' ? tab.value : level.value === 'grid' || !level.value ? null : level.value))

  /** The current table as a file (the server's export of the same query). */
  function tableExportUrl(format: 'csv' | 'xlsx'): string | null {
    const kind = tableKind.value
    if (kind) return exportUrl({ kind }, q(), format)
    if (level.value === 'grid') return exportUrl({ groupBy: 'grid' }, q(), format)
    return null
  }

  return {
    period,
    scope,
    path,
    tab,
    indicator,
    kpis,
    kpisState,
    kpisError,
    units,
    unitRates,
    unitsState,
    unitsError,
    people,
    peopleState,
    peopleError,
    selection,
    breakdown,
    breakdownState,
    breakdownError,
    area,
    queryCode,
    level,
    crumbs,
    canDrill,
    mapIndicator,
    mapValues,
    coloring,
    tableRows,
    tableState,
    tableError,
    tableKind,
    start,
    reload,
    setPeriod,
    drill,
    goTo,
    setTab,
    setIndicator,
    openScore,
    closeScore,
    stop,
    tableExportUrl,
  }
})
