/**
 * The cockpit's arithmetic (web/components/cockpit/cockpitModel.ts): periods in the city's time
 * zone, levels from unit codes, KPI figures read from indicator rows, trends, the choropleth's
 * classes, ranks of grid rows.
 */
import { describe, expect, it } from 'vitest'
import { en } from '../../web/i18n/en.ts'
import { zhCN } from '../../web/i18n/zh-CN.ts'
import {
  addDays,
  childLevel,
  colorUnits,
  figureOf,
  formatKpi,
  formatTrend,
  GRADE_COLORS,
  hasField,
  isDate,
  kpiOf,
  KPIS,
  kpiValue,
  LEVELS,
  levelOf,
  MAP_INDICATORS,
  PERIOD_PRESETS,
  localDate,
  NO_DATA,
  periodDays,
  periodOf,
  RAMP,
  rankBy,
  trendOf,
} from '../../web/components/cockpit/cockpitModel.ts'

// 2026-11-22 03:30 in Shanghai is still 2026-11-21 in UTC: "today" is the city's.
const NOW = Date.parse('2026-11-21T19:30:00Z')
const spec = (key: string) => KPIS.find((k) => k.key === key)!

describe('periods', () => {
  it('today, this week from Monday and this month from the 1st are the city’s', () => {
    expect(localDate(NOW)).toBe('2026-11-22')
    expect(periodOf('today', NOW)).toEqual({ preset: 'today', from: '2026-11-22', to: '2026-11-22' })
    // 2026-11-22 is a Sunday: the week began on Monday the 16th
    expect(periodOf('week', NOW)).toEqual({ preset: 'week', from: '2026-11-16', to: '2026-11-22' })
    expect(periodOf('week', Date.parse('2026-11-16T01:00:00Z')).from).toBe('2026-11-16')
    expect(periodOf('month', NOW)).toEqual({ preset: 'month', from: '2026-11-01', to: '2026-11-22' })
  })
  it('a custom period keeps its dates (in order), or falls back to the month when they are not dates', () => {
    expect(periodOf('custom', NOW, { from: '2026-10-03', to: '2026-11-01' })).toEqual({ preset: 'custom', from: '2026-10-03', to: '2026-11-01' })
    expect(periodOf('custom', NOW, { from: '2026-11-01', to: '2026-10-03' })).toEqual({ preset: 'custom', from: '2026-10-03', to: '2026-11-01' })
    expect(periodOf('custom', NOW, { from: '2026-02-30', to: '2026-11-01' }).preset).toBe('month')
    expect(periodOf('custom', NOW, { from: 'yesterday', to: undefined }).preset).toBe('month')
  })
  it('dates are checked and counted as calendar days', () => {
    expect(isDate('2026-02-28')).toBe(true)
    expect(isDate('2026-02-29')).toBe(false)
    expect(isDate(20261101)).toBe(false)
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(periodDays({ from: '2026-10-03', to: '2026-11-01' })).toBe(30)
  })
})

describe('levels', () => {
  it('a scope above the districts shows districts; each unit shows the level below; nothing below a grid', () => {
    expect(levelOf('310000')).toBeNull()
    expect(childLevel('310000')).toBe('district')
    expect(levelOf('310101')).toBe('district')
    expect(childLevel('310101')).toBe('street')
    expect(childLevel('310101013')).toBe('community')
    expect(childLevel('310101013001')).toBe('grid')
    expect(childLevel('310101013001001')).toBeNull()
  })
})

describe('KPI figures', () => {
  const total = {
    open: 536,
    reported: 7454,
    closure: { numerator: 6746, denominator: 7273, rate: 0.9275 },
    satisfaction: { numerator: 0, denominator: 0, rate: null, average: null },
    cameraAvailability: null,
    workersOnDuty: { numerator: 42, denominator: 60, rate: 0.7 },
  }
  it('reads a count, a ratio’s rate, a numerator with its whole, and says when a figure is not there', () => {
    expect(kpiValue(total, spec('open'))).toBe(536)
    expect(kpiValue(total, spec('new'))).toBe(7454)
    expect(kpiValue(total, spec('closure'))).toBe(0.9275)
    expect(kpiValue(total, spec('satisfaction'))).toBeNull()
    expect(kpiValue(total, spec('workersOnDuty'))).toBe(42)
    expect(kpiOf(total, spec('workersOnDuty'))).toBe(60)
    expect(kpiOf(total, spec('closure'))).toBeNull()
    // present but null (a past period): available, no figure; absent: not available
    expect(hasField(total, spec('cameraAvailability'))).toBe(true)
    expect(kpiValue(total, spec('cameraAvailability'))).toBeNull()
    expect(hasField(total, spec('patrolCoverage'))).toBe(false)
    expect(figureOf({ value: 3 })).toBe(3)
    expect(figureOf(Number.NaN)).toBeNull()
  })
  it('a trend is good or bad by which way is better; shares compare to 4 decimals', () => {
    expect(trendOf(spec('closure'), 0.9275, 0.9)).toMatchObject({ direction: 'up', tone: 'good' })
    expect(trendOf(spec('rework'), 0.06, 0.05)).toMatchObject({ direction: 'up', tone: 'bad' })
    expect(trendOf(spec('open'), 500, 536)).toMatchObject({ direction: 'down', tone: 'good', delta: -36 })
    expect(trendOf(spec('new'), 10, 5)).toMatchObject({ tone: 'flat', relative: 1 })
    expect(trendOf(spec('closure'), 0.3, 0.1 + 0.2)).toMatchObject({ direction: 'flat', delta: 0 })
    expect(trendOf(spec('closure'), 0.9, null)).toMatchObject({ direction: 'none', tone: 'none' })
  })
  it('formats shares as percentages and trends in points', () => {
    expect(formatKpi(0.9275, 'percent', 'zh-CN')).toBe('92.8%')
    expect(formatKpi(7454, 'count', 'en-GB')).toBe('7,454')
    expect(formatKpi(null, 'count', 'en-GB')).toBe('—')
    expect(formatTrend(trendOf(spec('closure'), 0.95, 0.9275), 'percent', 'en-GB', 'pp')).toBe('+2.3 pp')
    expect(formatTrend(trendOf(spec('open'), 400, 500), 'count', 'en-GB', 'pp')).toBe('−100 (−20.0%)')
    expect(formatTrend(trendOf(spec('open'), 3, 0), 'count', 'en-GB', 'pp')).toBe('+3')
  })
})

describe('choropleth', () => {
  it('scores take their grade’s colour from the rule’s bands', () => {
    const c = colorUnits(new Map([['a', 95], ['b', 85], ['c', 59.9], ['d', null]]), 'score', { A: 90, B: 80, C: 70, D: 60, E: 0 })
    expect(c.colors.get('a')).toBe(GRADE_COLORS.A)
    expect(c.colors.get('b')).toBe(GRADE_COLORS.B)
    expect(c.colors.get('c')).toBe(GRADE_COLORS.E)
    expect(c.colors.get('d')).toBe(NO_DATA)
    expect(c.classes.map((k) => k.grade)).toEqual(['A', 'B', 'C', 'D', 'E'])
    expect(c.classes[1]).toMatchObject({ min: 80, max: 90 })
  })
  it('rates are five classes between the lowest and highest shown, the good end green (the low end where lower is better)', () => {
    const values = new Map([['lo', 0.5], ['mid', 0.75], ['hi', 1]])
    const up = colorUnits(values, 'closure')
    expect([up.colors.get('lo'), up.colors.get('hi')]).toEqual([RAMP[0], RAMP[4]])
    expect(up.classes[0]!.color).toBe(RAMP[4])
    const down = colorUnits(values, 'rework')
    expect([down.colors.get('lo'), down.colors.get('hi')]).toEqual([RAMP[4], RAMP[0]])
    expect(colorUnits(new Map([['x', 0.4], ['y', 0.4]]), 'closure').classes).toHaveLength(1)
    expect(colorUnits(new Map([['x', null]]), 'closure')).toEqual({ colors: new Map([['x', NO_DATA]]), classes: [] })
  })
  it('ranks grids by a rate, ties sharing a rank, the ones without a figure last', () => {
    const rows = [{ code: 'a' }, { code: 'b' }, { code: 'c' }, { code: 'd' }]
    const v: Record<string, number | null> = { a: 0.5, b: 0.9, c: 0.5, d: null }
    expect(rankBy(rows, (r) => v[r.code]!, 'higher').map((r) => [r.code, r.rank])).toEqual([['b', 1], ['a', 2], ['c', 2], ['d', null]])
    expect(rankBy(rows, (r) => v[r.code]!, 'lower').map((r) => [r.code, r.rank])).toEqual([['a', 1], ['c', 1], ['b', 3], ['d', null]])
  })
})

describe('cockpit i18n', () => {
  it('names every KPI, indicator, level and period preset in both languages', () => {
    const keys = [
      ...KPIS.map((k) => k.label),
      ...MAP_INDICATORS.map((i) => `cockpit.indicator.${i}`),
      ...[...LEVELS, 'department', 'worker'].map((l) => `cockpit.level.${l}`),
      ...PERIOD_PRESETS.map((p) => `cockpit.period.${p}`),
    ]
    for (const k of keys) {
      expect((zhCN as Record<string, string>)[k], `zh-CN ${k}`).toBeTruthy()
      expect((en as Record<string, string>)[k], `en ${k}`).toBeTruthy()
    }
  })
})
