/**
 * What the seat shows of time and place (web/components/seat/seatFormat.ts): the state of the time
 * left to a deadline (the map's SLA rings use the same due-soon fraction), durations in both
 * languages, and the deadline input read and written in the city's zone.
 */
import { describe, expect, it } from 'vitest'
import { DUE_SOON_FRACTION as RING_DUE_SOON } from '../../web/map/liveLayers.ts'
import { DUE_SOON_FRACTION, formatDistance, formatDuration, fromLocalInput, timeLeft, toLocalInput } from '../../web/components/seat/seatFormat.ts'

const H = 3_600_000
const T0 = Date.parse('2026-11-21T02:00:00Z')

describe('timeLeft', () => {
  it('none without a deadline', () => {
    expect(timeLeft(null, T0)).toEqual({ ms: null, state: 'none' })
    expect(timeLeft('not a date', T0)).toEqual({ ms: null, state: 'none' })
  })
  it('overdue at and past the deadline, with the time past', () => {
    expect(timeLeft(new Date(T0).toISOString(), T0)).toEqual({ ms: 0, state: 'overdue' })
    expect(timeLeft(new Date(T0 - 2 * H).toISOString(), T0)).toEqual({ ms: -2 * H, state: 'overdue' })
  })
  it('due soon in the last quarter of the stage, on time before', () => {
    const start = new Date(T0 - 6 * H).toISOString()
    expect(timeLeft(new Date(T0 + 2 * H).toISOString(), T0, start).state).toBe('due_soon') // 2 of 8 h left
    expect(timeLeft(new Date(T0 + 3 * H).toISOString(), T0, start).state).toBe('on_time') // 3 of 9 h left
  })
  it('without the stage start: due soon in the last hour', () => {
    expect(timeLeft(new Date(T0 + 0.5 * H).toISOString(), T0).state).toBe('due_soon')
    expect(timeLeft(new Date(T0 + 2 * H).toISOString(), T0).state).toBe('on_time')
  })
  it('uses the fraction the map rings use', () => expect(DUE_SOON_FRACTION).toBe(RING_DUE_SOON))
})

describe('formatDuration', () => {
  it.each([
    [45_000, '45秒', '45s'],
    [12 * 60_000, '12分', '12m'],
    [3 * H + 5 * 60_000, '3小时05分', '3h 05m'],
    [(2 * 24 + 3) * H, '2天3小时', '2d 3h'],
    [-(3 * H + 5 * 60_000), '3小时05分', '3h 05m'],
  ])('%i ms', (ms, zh, en) => {
    expect(formatDuration(ms, 'zh-CN')).toBe(zh)
    expect(formatDuration(ms, 'en')).toBe(en)
  })
})

describe('formatDistance', () => {
  it.each([
    [null, '—'],
    [0, '0 m'],
    [849.6, '850 m'],
    [1234, '1.2 km'],
  ])('%s', (m, text) => expect(formatDistance(m)).toBe(text))
})

describe('deadline input in the city zone (UTC+8)', () => {
  it('writes an instant as the city’s local time and reads it back', () => {
    expect(toLocalInput('2026-11-21T02:05:00Z')).toBe('2026-11-21T10:05')
    expect(fromLocalInput('2026-11-21T10:05')).toBe('2026-11-21T02:05:00.000Z')
    expect(fromLocalInput(toLocalInput('2026-12-31T17:30:00Z'))).toBe('2026-12-31T17:30:00.000Z')
  })
  it('empty or malformed: nothing', () => {
    expect(toLocalInput(null)).toBe('')
    expect(fromLocalInput('')).toBeNull()
    expect(fromLocalInput('21/11/2026 10:05')).toBeNull()
  })
})
