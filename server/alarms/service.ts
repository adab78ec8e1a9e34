/**
 * The alarm lifecycle: raised → acknowledged → resolved, by the rules in `alarm_rules`
 * (migration 009: threshold with hysteresis, rate of change, offline), de-duplicated (one open
 * alarm per sensor and kind, alarms_open_idx). Every change is made in the caller's transaction
 * together with its events; the sensor's status follows its alarms (alarm while any is open,
 * offline for an open offline alarm or a device saying offline/fault, else online).
 *
 * Lock order inside a transaction, the same everywhere so writers never wait in a circle: the
 * sensors' rows (lockSensors, in id order), then alarm rows, then the per-type case lock
 * (linkCases), then the event counter (events are appended last). A job may insert new alarm
 * rows before locking their sensors: nobody else can wait on rows not yet committed.
 */
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { DomainEvent } from '../realtime/events.ts'
import type { NewEvent } from '../realtime/event-log.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import { linkCases, type CaseLink } from './cases.ts'
import type {
  AlarmKind,
  AlarmRaisedPayload,
  AlarmReminderPayload,
  AlarmResolvedPayload,
  CaseAlarmLinkedPayload,
  CaseCreatedPayload,
  SensorStatusPayload,
} from './events.ts'

export const sql = loadSql(new URL('./alarms.sql', import.meta.url))

type Append = (e: NewEvent) => Promise<DomainEvent>

/** An alarm that changed, with its sensor (alarms.sql `alarm_cols`). */
export interface AlarmRow {
  change: 'raised' | 'resolved' | 'reminded'
  id: number
  sensor_id: number
  kind: AlarmKind
  rule_id: number | null
  value: number
  threshold: number
  raised_at: Date | string
  resolved_at: Date | string | null
  resolved_value: number | null
  resolved_by: string | null
  resolve_comment: string | null
  case_id: number | null
  reminder_count: number
  code: string
  name: string
  type: string
  unit: string | null
  grid_code: string | null
  lon: number
  lat: number
}

/** A sensor whose status (or what its device says) changed. */
export interface SensorChange {
  id: number
  code: string
  name: string
  type: string
  status: 'online' | 'offline' | 'alarm'
  previous: string
  device_status: 'online' | 'offline' | 'fault'
  previous_device: string
  /** The change came with a status message from the device. */
  said: boolean
  battery: number | null
  rssi: number | null
  last_value: number | null
  grid_code: string | null
  lon: number
  lat: number
}

/** What a transaction changed on the map, for the tile caches once it has committed. */
export interface Effects {
  alarms: AlarmRow[]
  cases: CaseLink[]
  sensors: SensorChange[]
}

const iso = (d: Date | string) => new Date(d).toISOString()

/** Locks these sensors' rows in id order (first in a transaction that changes them). */
export async function lockSensors(tx: Queryable, sensorIds: number[]): Promise<void> {
  if (sensorIds.length === 0) return
  await tx.query(sql.lock_sensors, [[...new Set(sensorIds)]])
}

/** The readings of a batch against the threshold and rate rules (and back from offline). */
export async function evaluateReadings(tx: Queryable, readings: { ids: number[]; ts: number[]; values: number[] }): Promise<AlarmRow[]> {
  if (readings.ids.length === 0) return []
  return (await tx.query<AlarmRow>(sql.evaluate, [readings.ids, readings.ts, readings.values])).rows
}

/** Derives the status of these sensors again from their alarms; returns those that changed. */
export async function deriveSensorStatus(tx: Queryable, sensorIds: number[]): Promise<SensorChange[]> {
  if (sensorIds.length === 0) return []
  return (await tx.query<SensorChange>(sql.sensor_status, [[...new Set(sensorIds)]])).rows
}

/**
 * After alarm rows changed: opens or joins cases for the raised ones, derives the sensors' status
 * (unless the caller did, e.g. ingest with its readings), and writes the events.
 */
export async function settle(
  tx: Queryable,
  append: Append,
  alarms: AlarmRow[],
  opts: { tz: string; by: string; sensors?: SensorChange[] },
): Promise<Effects> {
  await lockSensors(tx, alarms.map((a) => a.sensor_id))
  const cases = await linkCases(tx, alarms, opts.tz)
  const sensors = opts.sensors ?? (await deriveSensorStatus(tx, alarms.map((a) => a.sensor_id)))
  await announce(append, { alarms, cases, sensors }, opts.by)
  return { alarms, cases, sensors }
}

/** Writes the events of a change in a sensible reading order: alarms (each with its case), then sensors. */
export async function announce(append: Append, e: Effects, by: string): Promise<void> {
  const linkOf = new Map(e.cases.map((l) => [l.alarm.id, l]))
  for (const a of e.alarms) {
    const where = { sensorId: a.sensor_id, code: a.code, name: a.name, sensorType: a.type, lon: a.lon, lat: a.lat }
    if (a.change === 'resolved') {
      const payload: AlarmResolvedPayload = {
        id: a.id, ...where, kind: a.kind, resolvedAt: iso(a.resolved_at!), by: a.resolved_by ?? by, comment: a.resolve_comment, value: a.resolved_value,
      }
      await append({ type: 'alarm:resolved', scope: a.grid_code, payload })
      continue
    }
    if (a.change === 'reminded') {
      const payload: AlarmReminderPayload = { id: a.id, ...where, kind: a.kind, value: a.value, threshold: a.threshold, raisedAt: iso(a.raised_at), count: a.reminder_count }
      await append({ type: 'alarm:reminder', scope: a.grid_code, payload })
      continue
    }
    const link = linkOf.get(a.id)
    const raised: AlarmRaisedPayload = {
      id: a.id, ...where, kind: a.kind, value: a.value, threshold: a.threshold, unit: a.unit, raisedAt: iso(a.raised_at),
      caseId: link?.caseId ?? null, caseCode: link?.caseCode ?? null,
    }
    await append({ type: 'alarm:raised', scope: a.grid_code, payload: raised })
    if (!link) continue
    if (link.created) {
      const payload: CaseCreatedPayload = {
        id: link.caseId, code: link.caseCode, categoryCode: link.category!, source: 'sensor', stage: 'reported', urgency: link.urgency!,
        description: link.description!, gridCode: link.gridCode, reportedAt: link.reportedAt, alarmId: a.id, sensorId: a.sensor_id, lon: link.lon, lat: link.lat,
      }
      await append({ type: 'case:created', scope: link.gridCode, payload })
    } else {
      const payload: CaseAlarmLinkedPayload = { caseId: link.caseId, caseCode: link.caseCode, alarmId: a.id, sensorId: a.sensor_id, code: a.code, lon: a.lon, lat: a.lat }
      await append({ type: 'case:alarm-linked', scope: link.gridCode, payload })
    }
  }
  for (const s of e.sensors) {
    const payload: SensorStatusPayload = {
      id: s.id, code: s.code, status: s.status, previous: s.previous, deviceStatus: s.device_status,
      ...(s.said ? { battery: s.battery, rssi: s.rssi } : {}),
      by: s.said ? 'device' : by, lon: s.lon, lat: s.lat,
    }
    await append({ type: 'sensor:status', scope: s.grid_code, payload })
  }
}

/** After commit: the tiles of sensors whose status changed and of new cases are refetched. */
export function invalidateTiles(tiles: TileInvalidator, e: Effects): void {
  for (const s of e.sensors) if (s.status !== s.previous) tiles.changed('sensors', [s.lon, s.lat, s.lon, s.lat], s.grid_code)
  for (const c of e.cases) {
    if (!c.created) continue
    tiles.changed('cases', [c.lon, c.lat, c.lon, c.lat], c.gridCode)
    tiles.changed('case_heat', [c.lon, c.lat, c.lon, c.lat], c.gridCode)
  }
}
