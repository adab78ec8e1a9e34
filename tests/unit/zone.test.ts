import { describe, expect, it } from 'vitest'
import { ZoneClock, zoneClock } from '../../server/time/zone.ts'

describe('ZoneClock', () => {
  const sh = zoneClock('Asia/Shanghai')
  const berlin = new ZoneClock('Europe/Berlin')

  it('reads local wall-clock strings in its zone, across a change of offset', () => {
    expect(new Date(sh.parse('2022-01-01T00:00:00')).toISOString()).toBe('2021-12-31T16:00:00.000Z')
    expect(new Date(berlin.parse('2026-03-29 01:30')).toISOString()).toBe('2026-03-29T00:30:00.000Z')
    expect(new Date(berlin.parse('2026-03-29T04:00:00')).toISOString()).toBe('2026-03-29T02:00:00.000Z')
    expect(Number.isNaN(sh.parse('2022-01-01T00:00:00+08:00'))).toBe(true)
  })

  it('answers day, hour, weekday and date in local time', () => {
    const t = Date.parse('2026-11-21T17:30:00Z') // 01:30 on Sunday 22 Nov in Shanghai
    expect(sh.ymd(t, '-')).toBe('2026-11-22')
    expect(sh.ymd(t)).toBe('20261122')
    expect(sh.hour(t)).toBe(1.5)
    expect(sh.isoWeekday(t)).toBe(7)
    expect(new Date(sh.day(t)).toISOString()).toBe('2026-11-21T16:00:00.000Z')
    expect(new Date(sh.day(t, 1)).toISOString()).toBe('2026-11-22T16:00:00.000Z')
    expect(sh.dayBounds('2026-11-22')).toEqual({ from: Date.parse('2026-11-21T16:00:00Z'), to: Date.parse('2026-11-22T16:00:00Z') })
    expect(Number.isNaN(sh.dayBounds('22/11/2026').from)).toBe(true)
    // A Berlin day with 23 hours.
    expect(berlin.day(Date.parse('2026-03-29T12:00:00Z'), 1) - berlin.day(Date.parse('2026-03-29T12:00:00Z'))).toBe(23 * 3_600_000)
  })

  it('is one clock per zone, and refuses an unknown zone', () => {
    expect(zoneClock('Asia/Shanghai')).toBe(sh)
    expect(() => new ZoneClock('Mars/Olympus')).toThrow(RangeError)
  })
})
