import { describe, expect, it } from 'vitest'
import { WorkCalendar, type CalendarConfig } from '../../server/cases/calendar.ts'
import { DEFAULT_SLA, extendDeadline, levelOf, resumeDeadline, stageDeadline, type SlaSettings } from '../../server/cases/deadlines.ts'
import { zoneClock } from '../../server/time/zone.ts'

const HOUR = 3_600_000
// The 2026 days of migration 012 that these tests cross.
const CN: CalendarConfig = {
  weekdays: [1, 2, 3, 4, 5],
  periods: [['08:30', '12:00'], ['13:00', '17:30']],
  holidays: ['2026-01-01', '2026-01-02', '2026-09-25', '2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'],
  workdays: ['2026-01-04', '2026-02-14', '2026-09-20', '2026-10-10'],
}
const sh = zoneClock('Asia/Shanghai')
const cal = new WorkCalendar(sh, CN)
const at = (wall: string) => sh.parse(wall)
const wall = (ms: number, c = sh) => `${c.ymd(ms, '-')} ${String(c.wall(ms).getUTCHours()).padStart(2, '0')}:${String(c.wall(ms).getUTCMinutes()).padStart(2, '0')}`

describe('WorkCalendar.addWorkingHours', () => {
  it('skips the lunch break', () => {
    expect(wall(cal.addWorkingHours(at('2026-11-23 11:00'), 2))).toBe('2026-11-23 14:00')
    expect(wall(cal.addWorkingHours(at('2026-11-23 12:30'), 1))).toBe('2026-11-23 14:00')
  })
  it('carries over the evening and night to the next morning', () => {
    expect(wall(cal.addWorkingHours(at('2026-11-24 17:00'), 1))).toBe('2026-11-25 09:00')
    expect(wall(cal.addWorkingHours(at('2026-11-24 20:00'), 1))).toBe('2026-11-25 09:30')
  })
  it('skips a weekend: Friday 16:00 + 4 working hours is Monday 11:00', () => {
    expect(wall(cal.addWorkingHours(at('2026-11-20 16:00'), 4))).toBe('2026-11-23 11:00')
  })
  it('skips public holidays', () => {
    // 中秋 Fri 25 Sep, then the weekend.
    expect(wall(cal.addWorkingHours(at('2026-09-24 16:00'), 4))).toBe('2026-09-28 11:00')
    // 国庆 1–7 Oct (Sat 3 / Sun 4 are weekend days anyway).
    expect(wall(cal.addWorkingHours(at('2026-09-30 16:00'), 4))).toBe('2026-10-08 11:00')
  })
  it('works on a 调休 Saturday and Sunday', () => {
    expect(wall(cal.addWorkingHours(at('2026-10-09 16:00'), 4))).toBe('2026-10-10 11:00')
    expect(wall(cal.addWorkingHours(at('2026-02-13 16:00'), 4))).toBe('2026-02-14 11:00')
    expect(wall(cal.addWorkingHours(at('2026-01-03 10:00'), 1))).toBe('2026-01-04 09:30')
  })
  it('knows workdays', () => {
    expect(cal.isWorkday(at('2026-01-01 12:00'))).toBe(false)
    expect(cal.isWorkday(at('2026-01-04 00:00'))).toBe(true)
    expect(cal.isWorkday(at('2026-11-21 09:00'))).toBe(false)
    expect(cal.isWorkday(at('2026-11-23 23:59'))).toBe(true)
    expect(cal.hoursPerDay).toBe(8)
  })
})

describe('WorkCalendar.addWorkingDays and workingMsBetween', () => {
  it('ends at the close of the d-th working day after the start day', () => {
    expect(wall(cal.addWorkingDays(at('2026-11-20 16:00'), 1))).toBe('2026-11-23 17:30')
    expect(wall(cal.addWorkingDays(at('2026-11-23 09:00'), 0))).toBe('2026-11-23 17:30')
    // 15 working days over 中秋, 国庆 and the 调休 Saturday 10 Oct.
    expect(wall(cal.addWorkingDays(at('2026-09-21 10:00'), 15))).toBe('2026-10-19 17:30')
  })
  it('counts working time between two instants', () => {
    expect(cal.workingMsBetween(at('2026-11-20 16:00'), at('2026-11-23 11:00'))).toBe(4 * HOUR)
    expect(cal.workingMsBetween(at('2026-11-23 11:00'), at('2026-11-20 16:00'))).toBe(-4 * HOUR)
    expect(cal.workingMsBetween(at('2026-11-23 11:30'), at('2026-11-23 13:30'))).toBe(HOUR)
    expect(cal.workingMsBetween(at('2026-09-30 08:00'), at('2026-10-09 08:00'))).toBe(16 * HOUR)
  })
})

describe('a DST zone (Europe/Berlin)', () => {
  const be = zoneClock('Europe/Berlin')
  const bc = new WorkCalendar(be, { weekdays: [1, 2, 3, 4, 5], periods: [['08:30', '12:00'], ['13:00', '17:30']], holidays: [] })
  it('keeps wall-clock periods across the spring and autumn changes', () => {
    const spring = bc.addWorkingHours(be.parse('2026-03-27 16:00'), 4)
    expect(wall(spring, be)).toBe('2026-03-30 11:00')
    expect(new Date(spring).toISOString()).toBe('2026-03-30T09:00:00.000Z')
    const autumn = bc.addWorkingHours(be.parse('2026-10-23 16:00'), 4)
    expect(new Date(autumn).toISOString()).toBe('2026-10-26T10:00:00.000Z')
    expect(bc.workingMsBetween(be.parse('2026-03-27 16:00'), spring)).toBe(4 * HOUR)
  })
})

describe('stage deadlines', () => {
  const cat = { limits_hours: { accept: 1, verify: 2, dispatch: 1, handle: 4, check: 4 }, limits_days: {} }
  const fri = at('2026-11-20 16:00')
  it('runs each stage against its limit in working hours', () => {
    expect(wall(stageDeadline(cal, cat, 'dispatched', fri)!)).toBe('2026-11-23 11:00')
    expect(wall(stageDeadline(cal, cat, 'reported', fri)!)).toBe('2026-11-20 17:00')
    expect(wall(stageDeadline(cal, cat, 'verified', fri)!)).toBe('2026-11-20 17:00') // register: default 1 h
    expect(stageDeadline(cal, cat, 'closed', fri)).toBeNull()
    expect(stageDeadline(cal, { limits_hours: {} }, 'registered', fri)).toBeNull()
  })
  it('counts a limit in working days when the category gives days', () => {
    const days = { limits_hours: { handle: 120 }, limits_days: { handle: 15 } }
    expect(wall(stageDeadline(cal, days, 'in_progress', at('2026-09-21 10:00'))!)).toBe('2026-10-19 17:30')
  })
  it('halves the limit for urgent cases and runs critical ones around the clock', () => {
    expect(wall(stageDeadline(cal, cat, 'dispatched', fri, { urgency: 'urgent' })!)).toBe('2026-11-23 09:00')
    expect(wall(stageDeadline(cal, cat, 'dispatched', fri, { urgency: 'critical' })!)).toBe('2026-11-20 18:00')
  })
  it('adds extensions and the working time a case was suspended', () => {
    expect(wall(stageDeadline(cal, cat, 'dispatched', fri, { extensionHours: 2 })!)).toBe('2026-11-23 14:00')
    const due = at('2026-11-23 11:00')
    expect(wall(extendDeadline(cal, due, 8))).toBe('2026-11-24 11:00')
    // Suspended Mon 09:00 → Tue 09:00: 8 working hours stood still.
    expect(wall(resumeDeadline(cal, due, at('2026-11-23 09:00'), at('2026-11-24 09:00')))).toBe('2026-11-24 11:00')
  })
})

describe('five-colour level', () => {
  const c = { stage: 'dispatched', urgency: 'normal', stage_started_at: new Date(at('2026-11-20 16:00')), stage_deadline_at: new Date(at('2026-11-23 11:00')) }
  const lv = (now: string, x: Record<string, unknown> = {}, s?: SlaSettings) => levelOf({ ...c, ...x }, at(now), cal, s).level
  it('is blue on time, yellow in the last quarter of working time, orange overdue, red overdue and urgent', () => {
    expect(lv('2026-11-21 12:00')).toBe('blue')
    expect(lv('2026-11-23 09:59')).toBe('blue')
    expect(lv('2026-11-23 10:01')).toBe('yellow')
    expect(lv('2026-11-23 11:00')).toBe('orange')
    expect(lv('2026-11-23 11:00', { urgency: 'critical' })).toBe('red')
  })
  it('is green when closed on time, orange when closed late, none when cancelled', () => {
    const closed = { stage: 'closed', closed_at: new Date(at('2026-11-23 10:00')), deadline_at: new Date(at('2026-11-23 11:00')) }
    expect(lv('2026-12-01 12:00', closed)).toBe('green')
    expect(lv('2026-12-01 12:00', { ...closed, overdue: true })).toBe('orange')
    expect(lv('2026-12-01 12:00', { stage: 'cancelled' })).toBeNull()
  })
  it('falls back to the case deadline when the stage has none (history from before stage deadlines)', () => {
    const old = { stage_started_at: null, stage_deadline_at: null, reported_at: new Date(at('2026-11-20 16:00')), deadline_at: new Date(at('2026-11-23 11:00')) }
    expect(lv('2026-11-23 09:59', old)).toBe('blue')
    expect(lv('2026-11-23 10:01', old)).toBe('yellow')
    expect(lv('2026-11-23 11:00', old)).toBe('orange')
    expect(lv('2026-11-23 11:00', { ...old, deadline_at: null })).toBe('blue')
    // A stage of the workflow without a limit of its own is not measured against the case deadline.
    expect(lv('2026-11-23 11:00', { ...old, stage: 'checked', stage_started_at: new Date(at('2026-11-23 09:00')) })).toBe('blue')
  })
  it('stands still while suspended, and follows rules given as data', () => {
    expect(lv('2026-11-30 12:00', { suspended_at: new Date(at('2026-11-21 12:00')) })).toBe('blue')
    const strict = { ...DEFAULT_SLA, due_soon_fraction: 0.5 }
    expect(lv('2026-11-23 09:01', {}, strict)).toBe('yellow')
  })
})
