/**
 * The workflow table (server/cases/workflow.ts) is consistent: every action names real stages and
 * duties, the main line runs from reported to evaluated with the duty each step needs, every open
 * stage has a way forward, terminal stages none, and side actions keep the stage.
 */
import { describe, expect, it } from 'vitest'
import { ACTION_DEFS, ACTIONS, CLOSED_STAGES, DUTIES, dutyFor, initialStage, nextStage, OPEN_STAGES, PREVIOUS_STAGE, STAGES, TERMINAL_STAGES, WORKFLOW } from '../../server/cases/workflow.ts'

describe('case workflow table', () => {
  it('names only known stages, duties and actions, once each', () => {
    expect(WORKFLOW.map((d) => d.action).sort()).toEqual([...ACTIONS].sort())
    for (const d of WORKFLOW) {
      for (const s of d.from) expect(STAGES, `${d.action} from ${s}`).toContain(s)
      if (!['same', 'previous', 'rework'].includes(d.to)) expect(STAGES).toContain(d.to)
      expect(d.duties.length, d.action).toBeGreaterThan(0)
      for (const duty of d.duties) expect(DUTIES).toContain(duty)
      expect(d.label['zh-CN'] && d.label.en).toBeTruthy()
    }
    for (const [from, to] of Object.entries(PREVIOUS_STAGE)) {
      expect(STAGES).toContain(from)
      expect(STAGES).toContain(to)
    }
  })

  it('runs the main line reported → evaluated with one duty per step', () => {
    const line = [
      ['accept', 'acceptor', 'accepted'], ['verify', 'supervisor', 'verified'], ['register', 'shift_leader', 'registered'],
      ['dispatch', 'dispatcher', 'dispatched'], ['start', 'handler', 'in_progress'], ['handle', 'handler', 'handled'],
      ['check_pass', 'supervisor', 'checked'], ['close', 'shift_leader', 'closed'], ['evaluate', 'acceptor', 'evaluated'],
    ] as const
    let stage: (typeof STAGES)[number] = 'reported'
    for (const [action, duty, to] of line) {
      const def = ACTION_DEFS.get(action)!
      expect(dutyFor(def, [duty]), action).toBe(duty)
      stage = nextStage(def, stage)!
      expect(stage, action).toBe(to)
    }
  })

  it('gives every open stage a way forward and terminal stages none', () => {
    for (const s of OPEN_STAGES) expect(WORKFLOW.some((d) => d.from.includes(s) && d.to !== 'same'), s).toBe(true)
    for (const s of TERMINAL_STAGES) expect(WORKFLOW.filter((d) => d.from.includes(s)).map((d) => d.action), s).toEqual([])
    for (const s of CLOSED_STAGES) expect(OPEN_STAGES).not.toContain(s)
  })

  it('keeps the stage for side actions, goes one back on return, and reworks to in_progress or dispatched', () => {
    for (const d of WORKFLOW.filter((x) => x.to === 'same')) for (const s of d.from) expect(nextStage(d, s)).toBe(s)
    const ret = ACTION_DEFS.get('return')!
    expect(nextStage(ret, 'dispatched')).toBe('registered')
    expect(nextStage(ret, 'reported')).toBeNull()
    const fail = ACTION_DEFS.get('check_fail')!
    expect(nextStage(fail, 'handled')).toBe('in_progress')
    expect(nextStage(fail, 'handled', 'dispatched')).toBe('dispatched')
    expect(fail.count).toBe('rework_count')
    expect(nextStage(fail, 'checked')).toBeNull()
  })

  it('lets a supervisor’s report start verified', () => {
    expect(initialStage(['supervisor', 'reporter'])).toBe('verified')
    expect(initialStage(['reporter'])).toBe('reported')
    expect(initialStage([])).toBe('reported')
  })

  it('refuses duties an actor does not hold', () => {
    expect(dutyFor(ACTION_DEFS.get('dispatch')!, ['acceptor', 'shift_leader'])).toBeNull()
    expect(dutyFor(ACTION_DEFS.get('dispatch')!, ['acceptor', 'shift_leader', 'dispatcher'])).toBe('dispatcher')
  })
})
