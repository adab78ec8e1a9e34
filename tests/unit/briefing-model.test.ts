/**
 * The incident briefing's pure part (web/components/briefing/briefingModel.ts): the presenter's
 * keys (a clicker's PageUp/PageDown included), scene stepping and clamping, the outcome's figures
 * against the deadlines in force as docs/indicators.md reads them from the record, the lessons
 * text, and the replay's events and default speed.
 */
import { describe, expect, it } from 'vitest'
import {
  clampScene,
  deadlineInForce,
  defaultSpeed,
  eventsUntil,
  outcomeOf,
  photosOf,
  presenterCommand,
  REPLAY_SPEEDS,
  REPLAY_TARGET_S,
  replayEvents,
  SCENE_COUNT,
  SCENES,
  stepScene,
  type RecordEntry,
} from '../../web/components/briefing/briefingModel.ts'

const at = (hhmm: string) => `2026-03-02T${hhmm}:00.000Z`
let nextId = 1
const entry = (action: string, time: string, extra: Partial<RecordEntry & { lon: number | null; lat: number | null }> = {}): RecordEntry & { lon: number | null; lat: number | null } => ({
  id: nextId++,
  action,
  at: at(time),
  actor: 'u',
  actorName: null,
  comment: null,
  from: null,
  to: null,
  payload: {},
  lon: null,
  lat: null,
  ...extra,
})

describe('presenter keys', () => {
  it.each([
    ['ArrowRight', 'next'],
    ['PageDown', 'next'],
    [' ', 'next'],
    ['ArrowDown', 'next'],
    ['ArrowLeft', 'prev'],
    ['PageUp', 'prev'],
    ['ArrowUp', 'prev'],
    ['Home', 'first'],
    ['End', 'last'],
    ['r', 'replay'],
    ['c', 'style'],
    ['a', 'auto'],
    ['x', null],
    ['Enter', null],
  ])('%j → %s', (key, cmd) => {
    expect(presenterCommand({ key })).toBe(cmd)
  })

  it('ignores keys with a modifier and keys typed into a field', () => {
    expect(presenterCommand({ key: 'ArrowRight', ctrlKey: true })).toBeNull()
    expect(presenterCommand({ key: 'PageDown', altKey: true })).toBeNull()
    expect(presenterCommand({ key: 'r', metaKey: true })).toBeNull()
    expect(presenterCommand({ key: 'ArrowRight' }, true)).toBeNull()
  })

  it('steps within the scenes and clamps what the URL or a push says', () => {
    expect(SCENES).toEqual(['what', 'who', 'done', 'now', 'outcome'])
    expect(stepScene(0, 'prev')).toBe(0)
    expect(stepScene(0, 'next')).toBe(1)
    expect(stepScene(SCENE_COUNT - 1, 'next')).toBe(SCENE_COUNT - 1)
    expect(stepScene(2, 'first')).toBe(0)
    expect(stepScene(2, 'last')).toBe(SCENE_COUNT - 1)
    expect(clampScene('3')).toBe(3)
    expect(clampScene(9)).toBe(SCENE_COUNT - 1)
    expect(clampScene(-2)).toBe(0)
    expect(clampScene('1.5')).toBe(0)
    expect(clampScene(undefined)).toBe(0)
    expect(clampScene(['2'])).toBe(0)
  })
})

describe('outcome figures', () => {
  // One case: registered 09:40 (dispatch stage due 10:40), dispatched 10:00 (handling due 18:00 = deadlineAt),
  // rework once, handled 19:00 (late), check stage due 20:00 recorded by the handle, checked 19:30, closed, evaluated 4 with a comment.
  const tl = [
    entry('report', '09:00', { to: 'reported', payload: { stageDeadlineAt: at('10:00') } }),
    entry('register', '09:40', { from: 'verified', to: 'registered', payload: { stageDeadlineAt: at('10:40') } }),
    entry('dispatch', '10:00', { from: 'registered', to: 'dispatched', payload: { stageDeadlineAt: at('18:00'), workerId: 7 } }),
    entry('handle', '12:00', { from: 'in_progress', to: 'handled', payload: { stageDeadlineAt: at('16:00'), outcome: '第一次' } }),
    entry('check_fail', '13:00', { from: 'handled', to: 'in_progress', payload: { stageDeadlineAt: at('18:00') } }),
    entry('urge', '15:00', { from: 'in_progress', to: 'in_progress' }),
    entry('approve_extension', '16:00', { payload: { hours: 2, stageDeadlineAt: at('20:00') } }),
    entry('handle', '19:00', { from: 'in_progress', to: 'handled', comment: '已修复', payload: { stageDeadlineAt: at('20:00'), outcome: '已更换井盖' } }),
    entry('check_pass', '19:30', { from: 'handled', to: 'checked', payload: { stageDeadlineAt: null } }),
    entry('close', '19:45', { from: 'checked', to: 'closed', actorName: '值班长甲', comment: '结案', payload: { stageDeadlineAt: null } }),
    entry('evaluate', '20:30', { from: 'closed', to: 'evaluated', actorName: '领导乙', comment: '夜间井盖巡查要加密', payload: { satisfaction: 4 } }),
  ]
  const c = { stage: 'evaluated', reportedAt: at('09:00'), deadlineAt: at('18:00'), closedAt: at('19:45') }

  it('reads each stage against the deadline in force when it ended', () => {
    const o = outcomeOf(c, tl, Date.parse(at('23:00')))
    const f = Object.fromEntries(o.figures.map((x) => [x.key, x]))
    // Registration 09:40 → dispatch 10:00, against 10:40 (recorded by the register): on time.
    expect(f.dispatch).toMatchObject({ from: at('09:40'), to: at('10:00'), durationMs: 20 * 60_000, deadlineAt: at('10:40'), onTime: true })
    // Dispatch → the last handle 19:00 against deadlineAt 18:00: late.
    expect(f.handling).toMatchObject({ from: at('10:00'), to: at('19:00'), durationMs: 9 * 3_600_000, deadlineAt: at('18:00'), onTime: false })
    // The last handle 19:00 → check_pass 19:30 against the 20:00 the handle recorded: on time.
    expect(f.check).toMatchObject({ from: at('19:00'), to: at('19:30'), deadlineAt: at('20:00'), onTime: true })
    // The total has no deadline.
    expect(f.total).toMatchObject({ from: at('09:00'), to: at('19:45'), durationMs: (10 * 60 + 45) * 60_000, deadlineAt: null, onTime: null })
  })

  it('counts the interventions, reads the evaluation and the lessons, and the latest result', () => {
    const o = outcomeOf(c, tl, Date.parse(at('23:00')))
    expect(o).toMatchObject({
      closed: true,
      closedAt: at('19:45'),
      closedBy: '值班长甲',
      satisfaction: 4,
      evaluatedBy: '领导乙',
      reworks: 1,
      urges: 1,
      supervises: 0,
      returns: 0,
      extensions: 1,
      extensionHours: 2,
      lessons: '夜间井盖巡查要加密',
      result: '已更换井盖',
    })
  })

  it('takes the closure\'s comment as lessons without an evaluation comment, and none without either', () => {
    const noEval = tl.filter((e) => e.action !== 'evaluate')
    expect(outcomeOf({ ...c, stage: 'closed' }, noEval, 0).lessons).toBe('结案')
    const bare = noEval.map((e) => (e.action === 'close' ? { ...e, comment: null } : e))
    const o = outcomeOf({ ...c, stage: 'closed' }, bare, 0)
    expect(o.lessons).toBeNull()
    expect(o.satisfaction).toBeNull()
  })

  it('leaves unreached stages open and runs the total to now while the case is open', () => {
    const open = tl.slice(0, 3)
    const now = Date.parse(at('11:00'))
    const o = outcomeOf({ stage: 'dispatched', reportedAt: at('09:00'), deadlineAt: at('18:00'), closedAt: null }, open, now)
    const f = Object.fromEntries(o.figures.map((x) => [x.key, x]))
    expect(o.closed).toBe(false)
    expect(f.handling).toMatchObject({ to: null, durationMs: null, onTime: null, deadlineAt: at('18:00') })
    expect(f.check).toMatchObject({ from: null, durationMs: null })
    expect(f.total).toMatchObject({ to: new Date(now).toISOString(), durationMs: 2 * 3_600_000 })
  })

  it('does not judge a dispatch without a recorded deadline (history before the record kept them)', () => {
    const old = [entry('dispatch', '10:00', { to: 'dispatched' })]
    expect(deadlineInForce(old, 0)).toBeUndefined()
    const o = outcomeOf({ stage: 'dispatched', reportedAt: at('09:00'), deadlineAt: null, closedAt: null }, old, 0)
    expect(o.figures[0]).toMatchObject({ key: 'dispatch', from: at('09:00'), to: at('10:00'), deadlineAt: null, onTime: null })
  })
})

describe('photos and the replay', () => {
  it('lists every photo on the record with the action that brought it', () => {
    const photos = photosOf([
      { action: 'report', at: at('09:00'), attachments: [{ id: 'a' }] },
      { action: 'register', at: at('09:10'), attachments: [] },
      { action: 'handle', at: at('12:00'), attachments: [{ id: 'b' }, { id: 'c' }] },
    ])
    expect(photos).toEqual([
      { id: 'a', action: 'report', at: at('09:00') },
      { id: 'b', action: 'handle', at: at('12:00') },
      { id: 'c', action: 'handle', at: at('12:00') },
    ])
  })

  it('merges the actions and the alarms in time order, an alarm before an action at the same moment', () => {
    const tl = [entry('report', '09:00', { actorName: '监督员', lon: 121.49, lat: 31.24, to: 'verified' }), entry('dispatch', '09:30', { actor: 'dispatcher' })]
    const alarms = [{ raisedAt: at('09:00'), kind: 'threshold', name: '烟感 1', code: 'S1', lon: 121.5, lat: 31.2 }, { raisedAt: at('08:55'), kind: 'rate', name: '', code: 'S2', lon: 1, lat: 2 }]
    const ev = replayEvents(tl, alarms)
    expect(ev.map((e) => `${e.kind}:${e.name}:${e.who}`)).toEqual(['alarm:rate:S2', 'alarm:threshold:烟感 1', 'action:report:监督员', 'action:dispatch:dispatcher'])
    expect(ev[2]).toMatchObject({ lon: 121.49, lat: 31.24, to: 'verified' })
    expect(eventsUntil(ev, Date.parse(at('08:00')))).toBe(0)
    expect(eventsUntil(ev, Date.parse(at('09:00')))).toBe(3)
    expect(eventsUntil(ev, Date.parse(at('09:29')))).toBe(3)
    expect(eventsUntil(ev, Date.parse(at('10:00')))).toBe(4)
  })

  it('picks the slowest speed that plays the span in about a minute', () => {
    expect(defaultSpeed(5 * 60_000)).toBe(10)
    expect(defaultSpeed(20 * 60_000)).toBe(30)
    expect(defaultSpeed(3 * 3_600_000)).toBe(300)
    expect(defaultSpeed(30 * 86_400_000)).toBe(REPLAY_SPEEDS[REPLAY_SPEEDS.length - 1])
    for (const span of [60_000, 3_600_000, 86_400_000]) {
      const s = defaultSpeed(span)
      const faster = REPLAY_SPEEDS.filter((x) => x < s)
      expect(span / s).toBeLessThanOrEqual(REPLAY_TARGET_S * 1000)
      for (const f of faster) expect(span / f).toBeGreaterThan(REPLAY_TARGET_S * 1000)
    }
  })
})
