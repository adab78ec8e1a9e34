/**
 * The cockpit's store (web/stores/useCockpitStore.ts): what it asks the server for at each step of
 * the drill-down (the fetchers of web/services/cockpit.ts stand in for the server here; the e2e
 * test runs the real one), that a late answer of an earlier step never lands, the map's figures
 * and the table from one answer, grids ranked by a rate, and which file the export is.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { fetchAssessment, fetchBreakdown, fetchKpis, fetchUnitIndicators, type Assessment, type Indicators } from '../../web/services/cockpit.ts'
import { useCockpitStore } from '../../web/stores/useCockpitStore.ts'

vi.mock('../../web/services/cockpit.ts', async (orig) => ({
  ...(await orig<typeof import('../../web/services/cockpit.ts')>()),
  fetchKpis: vi.fn(),
  fetchAssessment: vi.fn(),
  fetchUnitIndicators: vi.fn(),
  fetchBreakdown: vi.fn(),
}))
const kpisMock = vi.mocked(fetchKpis)
const assessMock = vi.mocked(fetchAssessment)
const ratesMock = vi.mocked(fetchUnitIndicators)
const breakdownMock = vi.mocked(fetchBreakdown)

const PERIOD = { preset: 'custom' as const, from: '2026-10-03', to: '2026-11-01' }
const RULE = {
  kind: 'district',
  version: 1,
  updatedAt: '',
  updatedBy: null,
  indicators: [
    { indicator: 'closure', label: '结案率', better: 'higher', weight: 60 },
    { indicator: 'rework', label: '返工率', better: 'lower', weight: 40 },
  ],
  bands: { A: 90, B: 80, C: 70, D: 60, E: 0 },
}
function assessment(kind: string, rows: [code: string, score: number, closure: number][]): Assessment {
  return {
    kind,
    rule: { ...RULE, kind },
    rows: rows.map(([code, score, closure], i) => ({
      code,
      name: `u${code}`,
      score,
      grade: score >= 90 ? 'A' : 'B',
      rank: i + 1,
      components: [{ indicator: 'closure', weight: 60, numerator: 0, denominator: 1, rate: closure, earned: 0, lost: 0 }],
    })),
  } as unknown as Assessment
}
function indicators(rows: [code: string, onTimeClosure: number | null, satisfaction: number | null][]): Indicators {
  return {
    rows: rows.map(([code, otc, sat]) => ({ code, name: `g${code}`, onTimeClosure: { numerator: 0, denominator: 1, rate: otc }, satisfaction: { numerator: 0, denominator: 1, rate: sat } })),
  } as unknown as Indicators
}
/** A promise and its resolve, for answers that arrive late. */
function later<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

beforeEach(() => {
  setActivePinia(createPinia())
  vi.resetAllMocks()
  kpisMock.mockResolvedValue({ total: { code: '310000' }, rows: [] } as never)
})

describe('the drill-down', () => {
  it('opens at the scope: the KPIs of the whole scope and the districts’ scores, which colour the map', async () => {
    assessMock.mockResolvedValue(assessment('district', [['310109', 89.5, 0.93], ['310101', 79, 0.9]]))
    const s = useCockpitStore()
    await s.start('310000', PERIOD)
    expect(kpisMock).toHaveBeenCalledWith({ from: '2026-10-03', to: '2026-11-01', code: null }, expect.any(AbortSignal))
    expect(assessMock).toHaveBeenCalledWith({ from: '2026-10-03', to: '2026-11-01', code: null, kind: 'district' }, expect.any(AbortSignal))
    expect(s.level).toBe('district')
    expect(s.mapValues).toEqual(new Map([['310109', 89.5], ['310101', 79]]))
    expect(s.tableRows.map((r) => [r.code, r.rank, r.score, r.grade])).toEqual([['310109', 1, 89.5, 'B'], ['310101', 2, 79, 'B']])
    expect(s.tableExportUrl('csv')).toBe('/api/stats/assessment.csv?kind=district&from=2026-10-03&to=2026-11-01')
    // a rate the rule scores comes from the same answer: no other request
    s.setIndicator('closure')
    expect(s.mapValues.get('310109')).toBe(0.93)
    expect(ratesMock).not.toHaveBeenCalled()
  })

  it('drills district → street → community → grids, asking for each area, and goes back up by the breadcrumbs', async () => {
    assessMock.mockResolvedValue(assessment('x', []))
    ratesMock.mockResolvedValue(indicators([['310101013001001', 0.5, 0.9], ['310101013001002', 0.8, 0.7], ['310101013001003', null, null]]))
    const s = useCockpitStore()
    await s.start('310000', PERIOD)
    expect(s.drill({ code: '310101013', name: 'a street' }), 'a unit of another level is no drill').toBeNull()
    await s.drill({ code: '310101', name: '黄浦区' })
    expect([s.level, s.queryCode]).toEqual(['street', '310101'])
    expect(assessMock).toHaveBeenLastCalledWith(expect.objectContaining({ kind: 'street', code: '310101' }), expect.any(AbortSignal))
    expect(kpisMock).toHaveBeenLastCalledWith(expect.objectContaining({ code: '310101' }), expect.any(AbortSignal))
    await s.drill({ code: '310101013', name: '外滩街道' })
    await s.drill({ code: '310101013001', name: '第1社区' })
    expect(s.level).toBe('grid')
    expect(s.canDrill).toBe(false)
    expect(ratesMock).toHaveBeenLastCalledWith(expect.objectContaining({ groupBy: 'grid', code: '310101013001' }), expect.any(AbortSignal))
    // grids have no score: ranked by on-time closure
    expect(s.mapIndicator).toBe('onTimeClosure')
    expect(s.tableRows.map((r) => [r.code, r.rank, r.score])).toEqual([['310101013001002', 1, null], ['310101013001001', 2, null], ['310101013001003', null, null]])
    expect(s.tableExportUrl('xlsx')).toBe('/api/stats/indicators.xlsx?groupBy=grid&from=2026-10-03&to=2026-11-01&code=310101013001')
    s.setIndicator('satisfaction')
    expect(s.tableRows.map((r) => r.code)).toEqual(['310101013001001', '310101013001002', '310101013001003'])
    expect(s.crumbs.map((c) => c.code)).toEqual(['310000', '310101', '310101013', '310101013001'])
    await s.goTo(1)
    expect([s.level, s.queryCode, s.crumbs.length]).toEqual(['street', '310101', 2])
    await s.goTo(0)
    expect([s.level, s.queryCode]).toEqual(['district', null])
    expect(s.goTo(0), 'the crumb shown now is no step').toBeNull()
  })

  it('the page’s first load asks for the KPIs alone, the tables once they are in; a drill asks for both at once', async () => {
    const kpis = later<never>()
    kpisMock.mockReturnValueOnce(kpis.promise)
    assessMock.mockResolvedValue(assessment('district', [['310109', 89.5, 0.93]]))
    const s = useCockpitStore()
    const started = s.start('310000', PERIOD)
    await new Promise((r) => setTimeout(r, 10))
    expect(assessMock).not.toHaveBeenCalled()
    expect(s.unitsState).toBe('loading')
    kpis.resolve({ total: { code: '310000' }, rows: [] } as never)
    await started
    expect(assessMock).toHaveBeenCalledTimes(1)
    kpisMock.mockReturnValueOnce(later<never>().promise)
    void s.drill({ code: '310109', name: '虹口区' })
    await vi.waitFor(() => expect(assessMock).toHaveBeenCalledTimes(2))
  })

  it('a late answer of an earlier step never lands', async () => {
    const slow = later<Assessment>()
    assessMock.mockReturnValueOnce(slow.promise).mockResolvedValue(assessment('street', [['310101013', 88, 0.9]]))
    const s = useCockpitStore()
    const first = s.start('310000', PERIOD)
    // the districts are asked once the KPIs are in; their answer is slow
    await vi.waitFor(() => expect(assessMock).toHaveBeenCalledTimes(1))
    await s.drill({ code: '310101', name: '黄浦区' })
    slow.resolve(assessment('district', [['310115', 70, 0.8]]))
    await first
    expect(s.units?.kind).toBe('street')
    expect(s.tableRows.map((r) => r.code)).toEqual(['310101013'])
    expect(s.unitsState).toBe('ok')
  })

  it('a rate the rule does not score is asked of the indicators once; a failure is said, not thrown', async () => {
    assessMock.mockResolvedValue(assessment('district', [['310109', 89.5, 0.93]]))
    ratesMock.mockResolvedValue(indicators([['310109', 0.8, 0.7]]))
    const s = useCockpitStore()
    await s.start('310000', PERIOD)
    s.setIndicator('satisfaction')
    await vi.waitFor(() => expect(s.mapValues.get('310109')).toBe(0.7))
    expect(ratesMock).toHaveBeenCalledTimes(1)
    expect(ratesMock).toHaveBeenCalledWith(expect.objectContaining({ groupBy: 'district', code: null }), expect.any(AbortSignal))

    kpisMock.mockRejectedValueOnce(new Error('boom'))
    await s.setPeriod('today')
    expect([s.kpisState, s.kpisError]).toEqual(['error', 'boom'])
  })

  it('departments’ and workers’ tables and a breakdown are asked inside the area', async () => {
    assessMock.mockResolvedValue(assessment('department', [['12', 91, 0.9]]))
    breakdownMock.mockResolvedValue({ score: 91 } as never)
    const s = useCockpitStore()
    await s.start('310000', PERIOD)
    await s.drill({ code: '310101', name: '黄浦区' })
    s.setTab('department')
    await vi.waitFor(() => expect(s.peopleState).toBe('ok'))
    expect(assessMock).toHaveBeenLastCalledWith(expect.objectContaining({ kind: 'department', code: '310101' }), expect.any(AbortSignal))
    expect(s.tableKind).toBe('department')
    s.openScore({ kind: 'department', code: '12', name: '城管' })
    await vi.waitFor(() => expect(s.breakdownState).toBe('ok'))
    expect(breakdownMock).toHaveBeenCalledWith(expect.objectContaining({ kind: 'department', code: '12', area: '310101' }), expect.any(AbortSignal))
    s.closeScore()
    expect(s.selection).toBeNull()
  })
})
