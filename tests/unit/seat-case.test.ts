/**
 * The seat offers a case's workflow actions only when their guards hold
 * (web/components/seat/seatCase.ts, judged from the timeline): every guard of the workflow table
 * is known, and each turns on and off with the actions that change it.
 */
import { describe, expect, it } from 'vitest'
import { WORKFLOW } from '../../server/cases/workflow.ts'
import { guardsHold, guardState } from '../../web/components/seat/seatCase.ts'

const tl = (...actions: string[]) => actions.map((action) => ({ action }))

describe('seat case guards', () => {
  it('knows every guard the workflow table uses', () => {
    const known = new Set(['extension_pending', 'no_extension_pending', 'suspended', 'not_suspended', 'not_acked'])
    for (const d of WORKFLOW) for (const g of d.guards ?? []) expect(known.has(g), `${d.action}: ${g}`).toBe(true)
  })

  it('an extension is pending from the request until approved or rejected', () => {
    expect(guardState(tl('dispatch', 'request_extension')).extensionPending).toBe(true)
    expect(guardState(tl('dispatch', 'request_extension', 'approve_extension')).extensionPending).toBe(false)
    expect(guardState(tl('request_extension', 'reject_extension', 'request_extension')).extensionPending).toBe(true)
  })

  it('suspended from suspend until resume', () => {
    expect(guardState(tl('dispatch', 'suspend')).suspended).toBe(true)
    expect(guardState(tl('dispatch', 'suspend', 'resume')).suspended).toBe(false)
  })

  it('acknowledged after the latest dispatch only', () => {
    expect(guardState(tl('dispatch')).acked).toBe(false)
    expect(guardState(tl('dispatch', 'ack_dispatch')).acked).toBe(true)
    expect(guardState(tl('dispatch', 'ack_dispatch', 'return', 'dispatch')).acked).toBe(false)
  })

  it('offers each guarded action of the table exactly when its guards hold', () => {
    const guards = (a: string) => WORKFLOW.find((d) => d.action === a)!.guards ?? []
    const handling = tl('report', 'accept', 'verify', 'register', 'dispatch')
    expect(guardsHold(guards('approve_extension'), handling)).toBe(false)
    expect(guardsHold(guards('approve_extension'), [...handling, ...tl('request_extension')])).toBe(true)
    expect(guardsHold(guards('request_extension'), [...handling, ...tl('request_extension')])).toBe(false)
    expect(guardsHold(guards('resume'), handling)).toBe(false)
    expect(guardsHold(guards('suspend'), handling)).toBe(true)
    expect(guardsHold(guards('suspend'), [...handling, ...tl('suspend')])).toBe(false)
    expect(guardsHold(guards('resume'), [...handling, ...tl('suspend')])).toBe(true)
    expect(guardsHold(guards('urge'), handling)).toBe(true) // no guards
  })
})
