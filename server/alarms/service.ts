/**
 * Alarms from sensor readings. For now one rule kind: a reading at or above the sensor's
 * `thresholds.alarm` raises a `threshold` alarm, unless one is already open for that sensor
 * (alarms_open_idx de-duplicates). Raised in the transaction that stores the readings, with an
 * `alarm:raised` event; the sensor turns to status alarm.
 */
import type { Queryable } from '../db/index.ts'
import type { DomainEvent } from '../realtime/events.ts'
import type { NewEvent } from '../realtime/event-log.ts'

export interface AlarmedSensor {
  id: number
  grid_code: string | null
  lon: number
  lat: number
}

interface RaisedRow {
  id: number
  sensor_id: number
  code: string
  name: string
  type: string
  value: number
  threshold: number
  raised_at: Date | string
  grid_code: string | null
  lon: number
  lat: number
}

/** Raises the alarms the readings call for; returns the sensors whose status turned to alarm. */
export async function raiseThresholdAlarms(
  tx: Queryable,
  append: (e: NewEvent) => Promise<DomainEvent>,
  readings: { ids: number[]; ts: string[]; values: number[] },
): Promise<AlarmedSensor[]> {
  const { rows } = await tx.query<RaisedRow>(
    `WITH latest AS (
       SELECT DISTINCT ON (sensor_id) sensor_id, ts, value
         FROM unnest($1::int[], $2::timestamptz[], $3::float8[]) r(sensor_id, ts, value)
        WHERE value IS NOT NULL
        ORDER BY sensor_id, value DESC
     ), raised AS (
       INSERT INTO alarms (sensor_id, kind, value, threshold, raised_at, grid_code)
       SELECT s.id, 'threshold', l.value, (s.thresholds ->> 'alarm')::float8, l.ts, s.grid_code
         FROM latest l JOIN sensors s ON s.id = l.sensor_id
        WHERE s.thresholds ? 'alarm' AND coalesce(s.thresholds ->> 'direction', 'above') = 'above'
          AND l.value >= (s.thresholds ->> 'alarm')::float8
       ON CONFLICT (sensor_id, kind) WHERE resolved_at IS NULL DO NOTHING
       RETURNING id, sensor_id, value, threshold, raised_at, grid_code
     ), flagged AS (
       UPDATE sensors s SET status = 'alarm' FROM raised r WHERE s.id = r.sensor_id
       RETURNING s.id, s.code, s.name, s.type, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
     )
     SELECT r.id, r.sensor_id, f.code, f.name, f.type, r.value, r.threshold, r.raised_at, r.grid_code, f.lon, f.lat
       FROM raised r JOIN flagged f ON f.id = r.sensor_id
      ORDER BY r.id`,
    [readings.ids, readings.ts, readings.values],
  )
  for (const r of rows) {
    await append({
      type: 'alarm:raised',
      scope: r.grid_code,
      payload: {
        id: r.id,
        sensorId: r.sensor_id,
        code: r.code,
        name: r.name,
        sensorType: r.type,
        kind: 'threshold',
        value: r.value,
        threshold: r.threshold,
        raisedAt: new Date(r.raised_at).toISOString(),
        lon: r.lon,
        lat: r.lat,
      },
    })
  }
  return rows.map((r) => ({ id: r.sensor_id, grid_code: r.grid_code, lon: r.lon, lat: r.lat }))
}
