/**
 * The case workflow as one table (standards.md "The case workflow"): for every action, the stages
 * it may start from, where it leads, the duties that may take it, what it needs and what it does
 * to the case. The server (service.ts), the web UI (GET /api/cases/workflow) and the tests all
 * read this table; nothing else decides what is allowed.
 */
import type { Duty, Stage } from './types.ts'

export { DUTIES, STAGES } from './types.ts'
export type { Duty, Stage } from './types.ts'

export const ACTIONS = [
  'accept', 'verify', 'register', 'cancel', 'dispatch', 'ack_dispatch', 'start', 'handle', 'check_pass', 'check_fail',
  'close', 'evaluate', 'return', 'request_extension', 'approve_extension', 'reject_extension', 'suspend', 'resume',
  'urge', 'supervise', 'escalate', 'merge',
] as const
export type Action = (typeof ACTIONS)[number]

/** What an action needs in its body (besides version). */
export type Need =
  | 'reason' // a comment saying why (回退, 注销, 延期, 缓办, 核查不通过 …)
  | 'satisfaction' // 1–5
  | 'assignee' // workerId and/or departmentId
  | 'target' // targetCaseId: the open case a duplicate is merged into
  | 'hours' // extension hours
  | 'outcome' // what was done (反馈)

/** Conditions beyond the stage, checked on the case and its record. */
export type Guard =
  | 'extension_pending' // a request_extension without an approve/reject after it
  | 'no_extension_pending'
  | 'suspended'
  | 'not_suspended'
  | 'not_acked' // dispatched to a worker, not yet acknowledged

/** Timestamps (cases columns) an action sets to the action's time; counters it adds one to. */
export type StampColumn =
  | 'accepted_at' | 'verified_at' | 'registered_at' | 'dispatched_at' | 'in_progress_at' | 'handled_at' | 'checked_at'
  | 'closed_at' | 'evaluated_at' | 'suspended_at' | 'escalated_at' | 'dispatch_acked_at'
export type CounterColumn = 'rework_count' | 'urge_count' | 'supervise_count'

export interface ActionDef {
  action: Action
  label: { 'zh-CN': string; en: string }
  from: readonly Stage[]
  /**
   * The stage after: a stage; 'same' for side actions; 'previous' for 回退 (PREVIOUS_STAGE);
   * 'rework' for a failed check (the body's reworkTo: in_progress, the default, or dispatched).
   */
  to: Stage | 'same' | 'previous' | 'rework'
  duties: readonly Duty[]
  needs: readonly Need[]
  guards?: readonly Guard[]
  stamp?: StampColumn
  count?: CounterColumn
  /** Tells the handling worker's devices (user room) at once. */
  notifyHandler?: boolean
  /**
   * Duty 'handler' acts only on its own tasks: the assigned worker's user, or a user of the
   * case's department (checked by the service for every action taken as handler).
   */
}

/** 回退 goes one step back along the main line. */
export const PREVIOUS_STAGE: Partial<Record<Stage, Stage>> = {
  accepted: 'reported',
  verified: 'accepted',
  registered: 'verified',
  dispatched: 'registered',
  in_progress: 'dispatched',
  handled: 'in_progress',
  checked: 'handled',
}

/** The timestamp column of each stage (cancelled and merged end with closed_at). */
export const STAGE_COLUMN: Record<Stage, string> = {
  reported: 'reported_at',
  accepted: 'accepted_at',
  verified: 'verified_at',
  registered: 'registered_at',
  cancelled: 'closed_at',
  dispatched: 'dispatched_at',
  in_progress: 'in_progress_at',
  handled: 'handled_at',
  checked: 'checked_at',
  closed: 'closed_at',
  evaluated: 'evaluated_at',
  merged: 'closed_at',
}

export const TERMINAL_STAGES: readonly Stage[] = ['cancelled', 'evaluated', 'merged']
export const CLOSED_STAGES: readonly Stage[] = ['closed', 'evaluated', 'cancelled', 'merged']
export const OPEN_STAGES: readonly Stage[] = ['reported', 'accepted', 'verified', 'registered', 'dispatched', 'in_progress', 'handled', 'checked']
/** Stages in which the handling department has the case (延期, 缓办, 催办, 督办 apply). */
const HANDLING: readonly Stage[] = ['dispatched', 'in_progress']
/** Before registration a duplicate can still be merged or the report cancelled. */
const BEFORE_REGISTRATION: readonly Stage[] = ['reported', 'accepted', 'verified']

export const WORKFLOW: readonly ActionDef[] = [
  { action: 'accept', label: { 'zh-CN': '受理', en: 'Accept' }, from: ['reported'], to: 'accepted', duties: ['acceptor'], needs: [], stamp: 'accepted_at' },
  // 核实: a supervisor on site (a report made by a supervisor starts verified).
  { action: 'verify', label: { 'zh-CN': '核实', en: 'Verify' }, from: ['accepted'], to: 'verified', duties: ['supervisor'], needs: [], stamp: 'verified_at' },
  { action: 'register', label: { 'zh-CN': '立案', en: 'Register' }, from: ['verified'], to: 'registered', duties: ['shift_leader'], needs: [], stamp: 'registered_at' },
  { action: 'cancel', label: { 'zh-CN': '注销', en: 'Cancel' }, from: BEFORE_REGISTRATION, to: 'cancelled', duties: ['acceptor', 'shift_leader'], needs: ['reason'], stamp: 'closed_at' },
  {
    action: 'dispatch', label: { 'zh-CN': '派遣', en: 'Dispatch' }, from: ['registered'], to: 'dispatched', duties: ['dispatcher'], needs: ['assignee'],
    stamp: 'dispatched_at', notifyHandler: true,
  },
  // The assigned worker's phone confirms it has the task (the no-ack notice watches dispatch_acked_at).
  {
    action: 'ack_dispatch', label: { 'zh-CN': '签收', en: 'Acknowledge' }, from: ['dispatched'], to: 'same', duties: ['handler'], needs: [],
    guards: ['not_acked'], stamp: 'dispatch_acked_at',
  },
  { action: 'start', label: { 'zh-CN': '开始处置', en: 'Start' }, from: ['dispatched'], to: 'in_progress', duties: ['handler'], needs: [], guards: ['not_suspended'], stamp: 'in_progress_at' },
  // 反馈: the result, with photos in attachments.
  { action: 'handle', label: { 'zh-CN': '处置反馈', en: 'Report result' }, from: ['in_progress'], to: 'handled', duties: ['handler'], needs: ['outcome'], guards: ['not_suspended'], stamp: 'handled_at' },
  { action: 'check_pass', label: { 'zh-CN': '核查通过', en: 'Check: pass' }, from: ['handled'], to: 'checked', duties: ['supervisor'], needs: [], stamp: 'checked_at' },
  // 核查不通过: back to the handler as rework (返工), counted.
  { action: 'check_fail', label: { 'zh-CN': '核查不通过（返工）', en: 'Check: fail (rework)' }, from: ['handled'], to: 'rework', duties: ['supervisor'], needs: ['reason'], count: 'rework_count' },
  { action: 'close', label: { 'zh-CN': '结案', en: 'Close' }, from: ['checked'], to: 'closed', duties: ['shift_leader'], needs: [], stamp: 'closed_at' },
  { action: 'evaluate', label: { 'zh-CN': '评价', en: 'Evaluate' }, from: ['closed'], to: 'evaluated', duties: ['acceptor', 'leader'], needs: ['satisfaction'], stamp: 'evaluated_at' },
  // 回退: the one holding the case hands it back one step, saying why.
  {
    action: 'return', label: { 'zh-CN': '回退', en: 'Return' }, from: ['accepted', 'verified', 'registered', 'dispatched', 'in_progress', 'handled', 'checked'], to: 'previous',
    duties: ['acceptor', 'shift_leader', 'dispatcher', 'handler', 'supervisor'], needs: ['reason'],
  },
  {
    action: 'request_extension', label: { 'zh-CN': '申请延期', en: 'Request extension' }, from: HANDLING, to: 'same', duties: ['handler'], needs: ['hours', 'reason'],
    guards: ['no_extension_pending'],
  },
  { action: 'approve_extension', label: { 'zh-CN': '批准延期', en: 'Approve extension' }, from: HANDLING, to: 'same', duties: ['shift_leader', 'dispatcher'], needs: [], guards: ['extension_pending'] },
  { action: 'reject_extension', label: { 'zh-CN': '驳回延期', en: 'Reject extension' }, from: HANDLING, to: 'same', duties: ['shift_leader', 'dispatcher'], needs: ['reason'], guards: ['extension_pending'] },
  // 缓办: the clock stops until resumed (the deadlines move by the time suspended).
  { action: 'suspend', label: { 'zh-CN': '缓办', en: 'Suspend' }, from: HANDLING, to: 'same', duties: ['shift_leader', 'dispatcher'], needs: ['reason'], guards: ['not_suspended'], stamp: 'suspended_at' },
  { action: 'resume', label: { 'zh-CN': '恢复办理', en: 'Resume' }, from: HANDLING, to: 'same', duties: ['shift_leader', 'dispatcher'], needs: [], guards: ['suspended'] },
  { action: 'urge', label: { 'zh-CN': '催办', en: 'Urge' }, from: HANDLING, to: 'same', duties: ['dispatcher', 'shift_leader'], needs: [], count: 'urge_count', notifyHandler: true },
  { action: 'supervise', label: { 'zh-CN': '督办', en: 'Supervise' }, from: HANDLING, to: 'same', duties: ['leader', 'supervisor'], needs: [], count: 'supervise_count', notifyHandler: true },
  // 上报上级: flagged for the higher level; the case stays where it is.
  {
    action: 'escalate', label: { 'zh-CN': '上报上级', en: 'Escalate' }, from: ['accepted', 'verified', 'registered', 'dispatched', 'in_progress'], to: 'same',
    duties: ['acceptor', 'shift_leader', 'dispatcher'], needs: ['reason'], stamp: 'escalated_at',
  },
  { action: 'merge', label: { 'zh-CN': '合并（重复案件）', en: 'Merge duplicate' }, from: BEFORE_REGISTRATION, to: 'merged', duties: ['acceptor', 'shift_leader'], needs: ['target'], stamp: 'closed_at' },
]

export const ACTION_DEFS: ReadonlyMap<Action, ActionDef> = new Map(WORKFLOW.map((d) => [d.action, d]))

export const STAGE_LABELS: Record<Stage, { 'zh-CN': string; en: string }> = {
  reported: { 'zh-CN': '上报', en: 'Reported' },
  accepted: { 'zh-CN': '受理', en: 'Accepted' },
  verified: { 'zh-CN': '核实', en: 'Verified' },
  registered: { 'zh-CN': '立案', en: 'Registered' },
  cancelled: { 'zh-CN': '注销', en: 'Cancelled' },
  dispatched: { 'zh-CN': '派遣', en: 'Dispatched' },
  in_progress: { 'zh-CN': '处置中', en: 'In progress' },
  handled: { 'zh-CN': '已反馈', en: 'Handled' },
  checked: { 'zh-CN': '核查通过', en: 'Checked' },
  closed: { 'zh-CN': '结案', en: 'Closed' },
  evaluated: { 'zh-CN': '已评价', en: 'Evaluated' },
  merged: { 'zh-CN': '已合并', en: 'Merged' },
}

/** The stage a report starts in: a supervisor's own report counts as verified. */
export function initialStage(duties: readonly string[]): Stage {
  return duties.includes('supervisor') ? 'verified' : 'reported'
}

/** The stage after `action` from `from` (the table's to, resolved); null when not allowed from there. */
export function nextStage(def: ActionDef, from: Stage, reworkTo: 'dispatched' | 'in_progress' = 'in_progress'): Stage | null {
  if (!def.from.includes(from)) return null
  if (def.to === 'same') return from
  if (def.to === 'previous') return PREVIOUS_STAGE[from] ?? null
  if (def.to === 'rework') return reworkTo
  return def.to
}

/** The duty an actor uses for an action: the first of the action's duties the actor holds. */
export function dutyFor(def: ActionDef, duties: readonly string[]): Duty | null {
  return def.duties.find((d) => duties.includes(d)) ?? null
}
