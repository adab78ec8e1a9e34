/**
 * The assessment-rule editor's arithmetic (web/services/admin.ts): a saved rule as a draft and
 * back, the running sum, what the server would refuse — checked against the server's own schema
 * (RuleInput of server/assessment/score.ts), so the panel and the server agree on what is valid.
 */
import { describe, expect, it } from 'vitest'
import { RuleInput, SCORABLE, SCORABLE_KEYS, type Rule } from '../../server/assessment/score.ts'
import { en } from '../../web/i18n/en.ts'
import { zhCN } from '../../web/i18n/zh-CN.ts'
import {
  ASSESSMENT_KINDS,
  draftChanged,
  draftOf,
  draftProblems,
  draftSum,
  parsePoints,
  ruleInputOf,
  type RuleDraft,
  type ScorableIndicator,
} from '../../web/services/admin.ts'

const INDICATORS: ScorableIndicator[] = SCORABLE_KEYS.map((k) => ({ indicator: k, label: SCORABLE[k].label, better: SCORABLE[k].better }))

/** The default street rule of migration 017. */
const STREET: Rule = {
  kind: 'street',
  version: 4,
  updatedAt: '2026-11-01T02:00:00.000Z',
  updatedBy: 'admin',
  indicators: (
    [
      ['registration', 10],
      ['onTimeDispatch', 10],
      ['closure', 15],
      ['onTimeClosure', 20],
      ['rework', 10],
      ['overdue', 15],
      ['satisfaction', 20],
    ] as const
  ).map(([indicator, weight]) => ({ indicator, weight, label: SCORABLE[indicator].label, better: SCORABLE[indicator].better })),
  bands: { A: 90, B: 80, C: 70, D: 60, E: 0 },
}

const edit = (d: RuleDraft, weights: Partial<RuleDraft['weights']>, bands: Partial<RuleDraft['bands']> = {}): RuleDraft => ({
  version: d.version,
  weights: { ...d.weights, ...weights },
  bands: { ...d.bands, ...bands },
})

describe('draftOf / ruleInputOf', () => {
  it('shows every scorable indicator, blank where the rule leaves it out, and gives the rule back', () => {
    const d = draftOf(STREET, INDICATORS)
    expect(Object.keys(d.weights)).toEqual(SCORABLE_KEYS)
    expect(d.weights).toMatchObject({ registration: '10', disposal: '', onTimeDisposal: '', satisfaction: '20' })
    expect(d.bands).toEqual({ A: '90', B: '80', C: '70', D: '60', E: '0' })
    expect(d.version).toBe(4)
    expect(ruleInputOf(d)).toEqual({
      version: 4,
      indicators: STREET.indicators.map((i) => ({ indicator: i.indicator, weight: i.weight })),
      bands: STREET.bands,
    })
    expect(draftChanged(d, STREET, INDICATORS)).toBe(false)
  })

  it('counts an edit as a change by value, not by text', () => {
    const d = draftOf(STREET, INDICATORS)
    expect(draftChanged(edit(d, { registration: '10.0 ' }), STREET, INDICATORS)).toBe(false)
    expect(draftChanged(edit(d, { registration: '12.5' }), STREET, INDICATORS)).toBe(true)
    expect(draftChanged(edit(d, { disposal: '0' }), STREET, INDICATORS)).toBe(true)
    expect(draftChanged(edit(d, {}, { A: '95' }), STREET, INDICATORS)).toBe(true)
  })
})

describe('parsePoints and draftSum', () => {
  it.each([
    ['10', 10],
    [' 12.5 ', 12.5],
    ['0', 0],
    ['100', 100],
    ['7.50', 7.5],
    ['100.1', Number.NaN],
    ['-5', Number.NaN],
    ['1.25', Number.NaN],
    ['1e1', Number.NaN],
    ['', Number.NaN],
    ['abc', Number.NaN],
  ])('%j → %s', (text, n) => {
    expect(parsePoints(text)).toBe(n)
  })

  it('sums the valid weights to 0.1 without float noise', () => {
    const d = draftOf(STREET, INDICATORS)
    expect(draftSum(d)).toBe(100)
    expect(draftSum(edit(d, { registration: '10.1', onTimeDispatch: '10.2' }))).toBe(100.3)
    expect(draftSum(edit(d, { registration: '', onTimeDispatch: 'x' }))).toBe(80)
  })
})

describe('draftProblems agrees with the server (RuleInput)', () => {
  const base = draftOf(STREET, INDICATORS)
  const cases: [string, RuleDraft, string[]][] = [
    ['the saved rule', base, []],
    ['two weights moved, sum kept', edit(base, { registration: '5', satisfaction: '25' }), []],
    ['an indicator added at 0', edit(base, { disposal: '0' }), []],
    ['an indicator left out, its weight moved', edit(base, { rework: '', overdue: '25' }), []],
    ['decimals', edit(base, { registration: '9.5', onTimeDispatch: '10.5' }), []],
    ['sum above 100', edit(base, { registration: '20' }), ['sum']],
    ['sum below 100', edit(base, { registration: '' }), ['sum']],
    ['a weight with two decimals', edit(base, { registration: '9.75', onTimeDispatch: '10.25' }), ['weight', 'weight']],
    ['a negative weight', edit(base, { registration: '-10', onTimeDispatch: '30' }), ['weight']],
    ['a weight above 100', edit(base, { registration: '110' }), ['weight']],
    ['no indicator', edit(base, Object.fromEntries(SCORABLE_KEYS.map((k) => [k, '']))), ['empty']],
    ['bands not descending', edit(base, {}, { B: '90' }), ['order']],
    ['a band not a number', edit(base, {}, { C: '' }), ['band']],
    ['a band above 100', edit(base, {}, { A: '101' }), ['band']],
    ['E not 0', edit(base, {}, { E: '10' }), ['floor']],
  ]
  it.each(cases)('%s', (_name, draft, codes) => {
    expect(draftProblems(draft).map((p) => p.code)).toEqual(codes)
    expect(RuleInput.safeParse(ruleInputOf(draft)).success).toBe(codes.length === 0)
  })

  it('names the sum the server would name', () => {
    const draft = edit(base, { registration: '12.5' })
    expect(draftProblems(draft)).toEqual([{ code: 'sum', sum: 102.5 }])
    const parsed = RuleInput.safeParse(ruleInputOf(draft))
    expect(parsed.success).toBe(false)
    expect(JSON.stringify(parsed.error?.issues)).toContain('the weights add up to 102.5, not 100')
  })
})

describe('messages', () => {
  it('has every kind, grade and scorable indicator in both languages', () => {
    const keys = [
      ...ASSESSMENT_KINDS.map((k) => `admin.assessment.kind.${k}`),
      ...['A', 'B', 'C', 'D', 'E'].map((g) => `admin.assessment.grade.${g}`),
      ...SCORABLE_KEYS.map((k) => `admin.assessment.indicator.${k}`),
    ]
    for (const k of keys) {
      expect(zhCN, k).toHaveProperty([k])
      expect(en, k).toHaveProperty([k])
    }
    expect(SCORABLE_KEYS.map((k) => zhCN[`admin.assessment.indicator.${k}` as keyof typeof zhCN])).toEqual(SCORABLE_KEYS.map((k) => SCORABLE[k].label))
    const adminKeys = (t: object) => Object.keys(t).filter((k) => k.startsWith('admin.assessment.')).sort()
    expect(adminKeys(en)).toEqual(adminKeys(zhCN))
  })
})
