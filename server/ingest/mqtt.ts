/**
 * Sensor ingest over MQTT: devices publish JSON to `onegrid/sensors/{code}/reading` —
 * `{ "ts": "<ISO 8601>", "value": <number> }`, or `{ "ts", "values": { "<metric>": <number>, … } }`
 * whose metric named like the sensor's unit (e.g. AQI) is taken — where {code} is the sensor's
 * code as exported. Readings are checked, batched and written together; a reading at or above
 * the sensor's alarm threshold raises an alarm (alarms/service.ts) in the same transaction.
 * Bad input (not JSON, wrong shape, unknown device, a timestamp in the future) is dropped with a
 * logged reason and a counter, never stalling the others.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { z } from 'zod'
import type { Db } from '../db/index.ts'
import { describeIssues } from '../http/validate.ts'
import type { Logger } from '../log.ts'
import { raiseThresholdAlarms } from '../alarms/service.ts'
import type { EventLog } from '../realtime/event-log.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'

export const READING_TOPIC = /^onegrid\/sensors\/([A-Za-z0-9_.-]{1,64})\/reading$/
/** One subscription shared by every OneGrid process (MQTT 5 / Mosquitto shared subscriptions). */
export const SUBSCRIPTION = '$share/onegrid/onegrid/sensors/+/reading'
/** How long a batch collects readings before it is written. */
export const FLUSH_MS = 200
/** Readings further in the future than this are refused (a device clock gone wrong). */
const FUTURE_SLACK_MS = 5 * 60_000

const Ts = z.iso.datetime({ offset: true, error: 'ts must be an ISO 8601 date-time' })
export const ReadingMessage = z.union([
  z.strictObject({ ts: Ts, value: z.number().finite() }),
  z.strictObject({ ts: Ts, values: z.record(z.string().min(1).max(32), z.number().finite()) }),
])

export interface IngestStats {
  received: number
  stored: number
  dropped: Record<'malformed' | 'unknownDevice' | 'future' | 'noMetric', number>
  connected: boolean
}

interface Sensor {
  id: number
  unit: string | null
}
interface Pending {
  sensorId: number
  ts: string
  value: number
}

export class MqttIngest {
  readonly stats: IngestStats = { received: 0, stored: 0, dropped: { malformed: 0, unknownDevice: 0, future: 0, noMetric: 0 }, connected: false }
  #client: MqttClient | null = null
  #pending: Pending[] = []
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()
  readonly #sensors = new Map<string, Sensor | null>()

  constructor(
    private readonly opts: { url: string; db: Db; events: EventLog; tiles: TileInvalidator; log: Logger },
  ) {}

  start(): void {
    const client = mqtt.connect(this.opts.url, { clientId: `onegrid-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, protocolVersion: 5, reconnectPeriod: 2000 })
    this.#client = client
    client.on('connect', () => {
      this.stats.connected = true
      this.opts.log.info({ url: this.opts.url }, 'MQTT connected')
      client.subscribe(SUBSCRIPTION, { qos: 1 }, (err) => {
        if (err) this.opts.log.error({ err }, 'MQTT subscribe failed')
      })
    })
    client.on('close', () => {
      if (this.stats.connected) this.opts.log.warn('MQTT connection lost; reconnecting')
      this.stats.connected = false
    })
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'MQTT error'))
    client.on('message', (topic, payload) => void this.#receive(topic, payload))
  }

  #drop(reason: keyof IngestStats['dropped'], detail: Record<string, unknown>): void {
    this.stats.dropped[reason]++
    this.opts.log.warn({ reason, ...detail }, 'sensor reading dropped')
  }

  async #sensor(code: string): Promise<Sensor | null> {
    if (this.#sensors.has(code)) return this.#sensors.get(code)!
    const { rows } = await this.opts.db.query<{ id: number; unit: string | null }>(`SELECT id, thresholds ->> 'unit' AS unit FROM sensors WHERE code = $1`, [code])
    const s = rows[0] ?? null
    // Unknown codes are remembered too (a flood of them costs no queries); a new sensor is found after a restart or import.
    if (this.#sensors.size > 2_000_000) this.#sensors.clear()
    this.#sensors.set(code, s)
    return s
  }

  async #receive(topic: string, payload: Buffer): Promise<void> {
    this.stats.received++
    const m = READING_TOPIC.exec(topic)
    if (!m) return
    const code = m[1]!
    let body: unknown
    try {
      body = JSON.parse(payload.toString('utf8'))
    } catch {
      this.#drop('malformed', { code, why: 'not JSON' })
      return
    }
    const parsed = ReadingMessage.safeParse(body)
    if (!parsed.success) {
      this.#drop('malformed', { code, why: describeIssues(parsed.error) })
      return
    }
    if (Date.parse(parsed.data.ts) > Date.now() + FUTURE_SLACK_MS) {
      this.#drop('future', { code, ts: parsed.data.ts })
      return
    }
    const sensor = await this.#sensor(code)
    if (!sensor) {
      this.#drop('unknownDevice', { code })
      return
    }
    let value: number | undefined
    if ('value' in parsed.data) value = parsed.data.value
    else {
      const unit = sensor.unit?.toLowerCase()
      const entry = Object.entries(parsed.data.values).find(([k]) => k.toLowerCase() === unit)
      value = entry?.[1]
    }
    if (value === undefined) {
      this.#drop('noMetric', { code, unit: sensor.unit })
      return
    }
    this.#pending.push({ sensorId: sensor.id, ts: parsed.data.ts, value })
    this.#timer ??= setTimeout(() => {
      this.#timer = null
      this.#flushing = this.#flushing.then(() => this.#flush())
    }, FLUSH_MS)
  }

  async #flush(): Promise<void> {
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 0) return
    try {
      const changed = await this.opts.events.write(async (tx, append) => {
        const ids = batch.map((r) => r.sensorId)
        const ts = batch.map((r) => r.ts)
        const values = batch.map((r) => r.value)
        await tx.query(
          `INSERT INTO sensor_readings (sensor_id, ts, value)
           SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::float8[])
           ON CONFLICT (sensor_id, ts) DO UPDATE SET value = EXCLUDED.value`,
          [ids, ts, values],
        )
        await tx.query(
          `UPDATE sensors s SET last_value = l.value, last_seen = l.ts
             FROM (SELECT DISTINCT ON (sensor_id) sensor_id, ts, value
                     FROM unnest($1::int[], $2::timestamptz[], $3::float8[]) r(sensor_id, ts, value)
                    ORDER BY sensor_id, ts DESC) l
            WHERE s.id = l.sensor_id AND (s.last_seen IS NULL OR s.last_seen <= l.ts)`,
          [ids, ts, values],
        )
        return raiseThresholdAlarms(tx, append, { ids, ts, values })
      })
      this.stats.stored += batch.length
      for (const s of changed) this.opts.tiles.changed('sensors', [s.lon, s.lat, s.lon, s.lat], s.grid_code)
    } catch (err) {
      this.opts.log.error({ err, readings: batch.length }, 'writing sensor readings failed')
    }
  }

  /** Stops taking readings and writes what is pending. */
  async close(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = null
      this.#flushing = this.#flushing.then(() => this.#flush())
    }
    await this.#flushing
    await this.#client?.endAsync()
  }
}
