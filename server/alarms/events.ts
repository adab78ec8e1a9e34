/**
 * Payloads of the domain events the alarm lifecycle writes (event log `type` → payload), shared by
 * server and web: alarm:raised, alarm:acked, alarm:resolved, alarm:reminder, case:created,
 * case:alarm-linked, sensor:status.
 */
import { z } from 'zod'

export const AlarmKind = z.enum(['threshold', 'rate', 'offline'])
export type AlarmKind = z.infer<typeof AlarmKind>

const Where = { lon: z.number(), lat: z.number() }
const Sensor = { sensorId: z.number().int(), code: z.string(), name: z.string(), sensorType: z.string(), ...Where }

/** A new alarm. value/threshold: the reading and level (threshold), change per minute (rate), seconds silent and allowed (offline). */
export const AlarmRaisedPayload = z.object({
  id: z.number().int(),
  ...Sensor,
  kind: AlarmKind,
  value: z.number(),
  threshold: z.number(),
  unit: z.string().nullable(),
  raisedAt: z.string(),
  /** The case it opened or joined (rules with open_case), else null. */
  caseId: z.number().int().nullable(),
  caseCode: z.string().nullable(),
})
export type AlarmRaisedPayload = z.infer<typeof AlarmRaisedPayload>

export const AlarmAckedPayload = z.object({ id: z.number().int(), sensorId: z.number().int(), by: z.string(), comment: z.string().nullable(), ackedAt: z.string() })
export type AlarmAckedPayload = z.infer<typeof AlarmAckedPayload>

/** Resolved by the rule (by 'system': the condition cleared) or by a user. value: the reading that cleared it, if any. */
export const AlarmResolvedPayload = z.object({
  id: z.number().int(),
  ...Sensor,
  kind: AlarmKind,
  resolvedAt: z.string(),
  by: z.string(),
  comment: z.string().nullable(),
  value: z.number().nullable(),
})
export type AlarmResolvedPayload = z.infer<typeof AlarmResolvedPayload>

/** An alarm still not acknowledged, repeated; count: reminders so far. */
export const AlarmReminderPayload = z.object({
  id: z.number().int(),
  ...Sensor,
  kind: AlarmKind,
  value: z.number(),
  threshold: z.number(),
  raisedAt: z.string(),
  count: z.number().int(),
})
export type AlarmReminderPayload = z.infer<typeof AlarmReminderPayload>

/** A case opened automatically by an alarm. */
export const CaseCreatedPayload = z.object({
  id: z.number().int(),
  code: z.string(),
  categoryCode: z.string(),
  source: z.literal('sensor'),
  stage: z.literal('reported'),
  urgency: z.enum(['normal', 'urgent', 'critical']),
  description: z.string(),
  gridCode: z.string().nullable(),
  reportedAt: z.string(),
  alarmId: z.number().int(),
  sensorId: z.number().int(),
  ...Where,
})
export type CaseCreatedPayload = z.infer<typeof CaseCreatedPayload>

/** An alarm correlated into an open case (close in place and time) instead of opening another. */
export const CaseAlarmLinkedPayload = z.object({
  caseId: z.number().int(),
  caseCode: z.string(),
  alarmId: z.number().int(),
  sensorId: z.number().int(),
  code: z.string(),
  ...Where,
})
export type CaseAlarmLinkedPayload = z.infer<typeof CaseAlarmLinkedPayload>

/**
 * A sensor's status changed (alarm / offline / online, as the map shows it) or what the device
 * says about itself (deviceStatus online / offline / fault). by: a user, 'device' or 'system'.
 */
export const SensorStatusPayload = z.object({
  id: z.number().int(),
  code: z.string(),
  status: z.enum(['online', 'offline', 'alarm']),
  previous: z.string(),
  deviceStatus: z.enum(['online', 'offline', 'fault']).optional(),
  battery: z.number().nullable().optional(),
  rssi: z.number().nullable().optional(),
  by: z.string(),
  ...Where,
})
export type SensorStatusPayload = z.infer<typeof SensorStatusPayload>
