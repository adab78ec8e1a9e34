/**
 * Sensor ingest over MQTT. Devices publish JSON to `onegrid/sensors/{code}/reading` —
 * `{ "ts": "<ISO 8601>", "value": <number> }`, `{ "ts", "values": { "<metric>": <number>, … } }`
 * (the metric named like the sensor's unit, e.g. AQI, is taken), or a row of the national
 * air-quality feed (CNEMC: `{ "timepoint": "2022-01-01T00:00:00", "stationcode", "aqi": "59", … }`,
 * numbers possibly as strings, '' missing, the time China local time read in ONEGRID_TZ) — and to
 * `onegrid/sensors/{code}/status` `{ ts, status: online|offline|fault, battery?, rssi? }`; {code}
 * is the sensor's code as exported. One shared subscription group (`$share/onegrid/…`) across
 * processes, so each message is consumed once.
 *
 * Per message the work is small and needs no database once the sensor cache is warm (all sensors
 * are loaded at start; an unknown code is looked up once, batched with others, and remembered for
 * a minute). Accepted readings go to the telemetry sink at once (live screens) and into a batch
 * written every FLUSH_MS in one transaction: readings in bulk (unnest), the alarm rules evaluated
 * set-based over the batch (alarms/service.ts), auto-cases, the sensors' latest value and status,
 * and the events. A device sending more than `maxPerDevice` readings in one batch window keeps
 * only its latest ones (the rest count as `flood`), so one device cannot crowd out the others.
 * A failed write is retried once, then kept for the next batch (within a backlog cap).
 *
 * Bad input — not JSON, wrong shape, unknown device, a timestamp in the future, no such metric,
 * a value outside the type's physical range (sensor_value_ranges) — is dropped with a logged
 * reason and a counter (/api/health), never stalling the others.
 *
 * Acknowledged means stored (docs/durability.md). A QoS 1 message is acknowledged to the broker
 * (PUBACK) only once it is dealt with for good: its batch committed, or dropped as bad input. Until
 * then the broker keeps it; with a persistent session (`clientId` given: ONEGRID_MQTT_CLIENT_ID,
 * clean: false, a session expiry) it keeps it across a crash of this process too, and sends it
 * again when the same client id connects — the readings table's key (sensor, ts) keeps a message
 * that comes twice to one row. mqtt.js acknowledges a message when `handleMessage` calls back and
 * takes the next one only then; so `handleMessage` calls back at once with a marker error (no
 * PUBACK from mqtt.js, the next message comes) and the ingest sends the PUBACKs itself, in the order
 * the messages came (MQTT-4.6.0-2), on the connection they came on. Brokers send only so many
 * unacknowledged messages (Mosquitto's max_inflight_messages, 20 by default): a batch is written
 * at once when ACK_BATCH of them are waiting, not after FLUSH_MS. QoS 0 messages have no PUBACK.
 */
import mqtt, { MqttClient } from 'mqtt'
import { z } from 'zod'
import type { Db } from '../db/index.ts'
import { describeIssues } from '../http/validate.ts'
import type { Logger } from '../log.ts'
import { linkCases } from '../alarms/cases.ts'
import { announce, evaluateReadings, invalidateTiles, lockSensors, sql as alarmSql, type Effects, type SensorChange } from '../alarms/service.ts'
import type { EventLog } from '../realtime/event-log.ts'
import { noTelemetry, type TelemetrySink } from '../realtime/telemetry.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import { LOCAL_DATE_TIME, zoneClock } from '../time/zone.ts'

/** How long a batch collects readings before it is written. */
export const FLUSH_MS = 200
/** Readings further in the future than this are refused (a device clock gone wrong). */
const FUTURE_SLACK_MS = 5 * 60_000
/** A device's readings kept per batch window; more is a flood (latest kept). */
export const MAX_PER_DEVICE = 10
/** Readings kept for the next batch after failed writes, at most; older ones are given up (`lost`). */
const MAX_BACKLOG = 200_000
/** An unknown code is asked for again after this long (a sensor imported meanwhile is found). */
const UNKNOWN_TTL_MS = 60_000
const MAX_PAYLOAD = 64 * 1024
/** How often the sensor cache is loaded again. */
const CACHE_REFRESH_MS = 60_000
/** QoS 1 messages waiting for their PUBACK in one batch window: the batch is written at once. */
export const ACK_BATCH = 10
/**
 * How long the broker keeps a persistent session (MQTT 5 Session Expiry Interval, s) after its
 * connection ends: what arrives meanwhile is kept for this process's return (docs/durability.md).
 */
export const SESSION_EXPIRY_S = 3600
/** handleMessage's answer for a QoS 1 message: mqtt.js then sends no PUBACK (the ingest does, once stored). */
const ACK_LATER = new Error('PUBACK after the message is stored')

const Ts = z.iso.datetime({ offset: true, error: 'ts must be an ISO 8601 date-time with offset' })
export const ReadingMessage = z.union([
  z.strictObject({ ts: Ts, value: z.number().finite() }),
  z.strictObject({ ts: Ts, values: z.record(z.string().min(1).max(32), z.number().finite()) }),
])
/** China local wall-clock time of the CNEMC feed; an offset, if given, is honoured. */
export const CnemcMessage = z
  .object({
    timepoint: z.union([z.string().regex(LOCAL_DATE_TIME), z.iso.datetime({ offset: true })], { error: 'timepoint must be a local date-time like 2022-01-01T00:00:00' }),
    stationcode: z.string().max(64).optional(),
  })
  .catchall(z.union([z.number(), z.string().max(200), z.null()], { error: 'CNEMC fields are numbers, strings or null' }))
export const StatusMessage = z.strictObject({
  ts: Ts,
  status: z.enum(['online', 'offline', 'fault'], { error: 'status must be online, offline or fault' }),
  battery: z.number().min(0).max(100, 'battery is a percentage 0–100').optional(),
  rssi: z.number().min(-200).max(0, 'rssi is in dBm, -200…0').optional(),
})

export type DropReason = 'malformed' | 'unknownDevice' | 'future' | 'noMetric' | 'absurd' | 'flood' | 'lost'

export interface IngestStats {
  /** Messages received (readings and statuses). */
  received: number
  /** Readings written. */
  stored: number
  /** Status messages applied. */
  statuses: number
  dropped: Record<DropReason, number>
  /** Batch writes that failed (each retried once, then kept for the next batch). */
  writeFailed: number
  batches: number
  lastBatch: { readings: number; ms: number } | null
  connected: boolean
  reconnects: number
  /** QoS 1 messages received whose PUBACK waits for them to be stored (the broker keeps them meanwhile). */
  awaitingAck: number
}

interface Sensor {
  id: number
  code: string
  type: string
  unit: string | null
  unitKey: string | null
  lon: number
  lat: number
  grid_code: string | null
  status: string
  min: number | null
  max: number | null
}
interface Pending {
  t: number
  value: number
}
/** A QoS 1 message's PUBACK: waiting until the message is dealt with; then sent (ready) or given up. */
export interface Ack {
  id: number
  /** The connection the message came on: its PUBACK goes on that one or nowhere (after a reconnect the broker sends it again). */
  stream: unknown
  state: 'waiting' | 'ready' | 'abandoned'
}
interface PendingStatus {
  t: number
  status: 'online' | 'offline' | 'fault'
  battery: number | null
  rssi: number | null
}
type Parsed =
  | { what: 'reading'; t: number; value?: number; values?: Record<string, unknown>; station?: string }
  | { what: 'status'; s: PendingStatus }

/** The instant of a CNEMC timepoint: China local wall-clock time read in the zone; one with an offset as it says. NaN if neither. */
export function zonedTime(wall: string, tz: string): number {
  const t = zoneClock(tz).parse(wall)
  return Number.isNaN(t) ? Date.parse(wall) : t
}

/** A number from a feed that may send it as a string; '' and non-numbers are missing. */
function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v !== 'string') return undefined
  const s = v.trim()
  if (s === '') return undefined
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

export interface MqttIngestOptions {
  url: string
  db: Db
  events: EventLog
  tiles: TileInvalidator
  log: Logger
  /** ONEGRID_TZ: CNEMC times are local to it; auto-case codes count days in it. */
  tz?: string
  /** Live values to screens (default: nowhere). */
  telemetry?: TelemetrySink
  /** Broker credentials (the embedded broker authenticates every client). */
  username?: string
  password?: string
  /** Topic root (default `onegrid`: `onegrid/sensors/{code}/…`); tests use their own to stay apart. */
  topicRoot?: string
  /** Shared-subscription group (default `onegrid`): one consumer per group gets each message. */
  group?: string
  /** MQTT protocol (default 5). */
  protocolVersion?: 4 | 5
  /**
   * Subscribe as a shared subscription (`$share/<group>/…`); default: unless protocolVersion is 4
   * (the embedded aedes broker has no shared subscriptions and serves one process anyway).
   */
  shared?: boolean
  flushMs?: number
  maxPerDevice?: number
  /**
   * A client id of this process's own, the same on every start (ONEGRID_MQTT_CLIENT_ID): a
   * persistent session (clean: false; MQTT 5: kept SESSION_EXPIRY_S after a disconnect), so the
   * broker keeps what this process has not yet acknowledged — stored — across a crash or restart.
   * Unset: a random id and a clean session (what was received but not stored when the process
   * died is gone).
   */
  clientId?: string
}

export class MqttIngest {
  readonly stats: IngestStats = {
    received: 0,
    stored: 0,
    statuses: 0,
    dropped: { malformed: 0, unknownDevice: 0, future: 0, noMetric: 0, absurd: 0, flood: 0, lost: 0 },
    writeFailed: 0,
    batches: 0,
    lastBatch: null,
    connected: false,
    reconnects: 0,
    awaitingAck: 0,
  }
  readonly subscriptions: string[]
  readonly #topic: RegExp
  readonly #tz: string
  readonly #telemetry: TelemetrySink
  readonly #flushMs: number
  readonly #maxPerDevice: number
  #client: MqttClient | null = null
  #closed = false
  /** This batch window: readings per sensor (latest maxPerDevice), status per sensor (latest). */
  #readings = new Map<number, Pending[]>()
  #statuses = new Map<number, PendingStatus>()
  /** The PUBACKs of this window's QoS 1 messages (sent when the window is stored). */
  #windowAcks: Ack[] = []
  /** Every QoS 1 message's PUBACK not yet sent, in the order the messages came. */
  #acks: Ack[] = []
  /** A batch is queued to be written at once (ACK_BATCH messages waiting). */
  #early = false
  /** What failed writes left for the next batch. */
  #carry: { readings: Map<number, Pending[]>; statuses: Map<number, PendingStatus>; acks: Ack[] } | null = null
  #timer: NodeJS.Timeout | null = null
  #refresh: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()
  /** Known sensors by code; a number: unknown until then (ms). */
  readonly #sensors = new Map<string, Sensor | number>()
  #lookups: Map<string, { resolve: (s: Sensor | null) => void; promise: Promise<Sensor | null> }> | null = null
  readonly #lastLog = new Map<string, { at: number; suppressed: number }>()

  constructor(private readonly opts: MqttIngestOptions) {
    const root = opts.topicRoot ?? 'onegrid'
    const group = opts.group ?? 'onegrid'
    if (!/^[A-Za-z0-9_.-]{1,64}(\/[A-Za-z0-9_.-]{1,64})*$/.test(root)) throw new Error(`bad MQTT topic root ${root}`)
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(group)) throw new Error(`bad MQTT shared-subscription group ${group}`)
    if (opts.clientId !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(opts.clientId)) throw new Error(`bad MQTT client id ${opts.clientId}`)
    // The PUBACKs go through mqtt.js's own packet writer (file comment): an mqtt.js without it fails here, at start.
    if (typeof (MqttClient.prototype as unknown as Partial<PacketSender>)._sendPacket !== 'function') throw new Error('this mqtt.js has no _sendPacket: the MQTT ingest cannot send its own PUBACKs')
    this.#topic = new RegExp(`^${root.replaceAll('.', '\\.')}/sensors/([A-Za-z0-9_.-]{1,64})/(reading|status)$`)
    const share = (opts.shared ?? opts.protocolVersion !== 4) ? `$share/${group}/` : ''
    this.subscriptions = [`${share}${root}/sensors/+/reading`, `${share}${root}/sensors/+/status`]
    this.#tz = opts.tz ?? 'Asia/Shanghai'
    this.#telemetry = opts.telemetry ?? noTelemetry
    this.#flushMs = opts.flushMs ?? FLUSH_MS
    this.#maxPerDevice = opts.maxPerDevice ?? MAX_PER_DEVICE
  }

  /** Loads the sensors, then connects and subscribes (reconnecting on its own). */
  start(): void {
    void this.warm().then(() => {
      if (!this.#closed) this.#connect()
    })
    // Reloaded now and then: sensors moved or renamed, and statuses changed by other processes (jobs), reach the cache.
    this.#refresh = setInterval(() => void this.warm(), CACHE_REFRESH_MS)
    this.#refresh.unref()
  }

  /** Loads every sensor into the cache (a failure is logged; codes are then looked up as they come). */
  async warm(): Promise<void> {
    try {
      const { rows } = await this.opts.db.query<SensorRow>(SENSORS_SQL)
      for (const r of rows) this.#sensors.set(r.code, toSensor(r))
    } catch (err) {
      this.opts.log.error({ err }, 'loading sensors for the MQTT ingest failed')
    }
  }

  #connect(): void {
    const protocolVersion = this.opts.protocolVersion ?? 5
    const persistent = this.opts.clientId !== undefined
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId ?? `onegrid-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion,
      reconnectPeriod: 2000,
      // A persistent session: the broker keeps what is not acknowledged (MQTT 5 ends a session at disconnect unless told to keep it).
      ...(persistent ? { clean: false, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } } : {}) } : {}),
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
    })
    // The PUBACK of a QoS 1 message waits until it is stored (the file comment); mqtt.js sends none when this calls back with an error.
    client.handleMessage = (packet, callback) => callback(packet.qos === 1 ? ACK_LATER : undefined)
    this.#client = client
    let wasUp = false
    client.on('connect', () => {
      if (wasUp) this.stats.reconnects++
      wasUp = true
      // PUBACKs for an earlier connection are not sent: the broker sends those messages again on this one.
      this.#acks = this.#acks.filter((a) => a.stream === client.stream)
      this.#release()
      this.opts.log.info({ url: this.opts.url }, 'MQTT connected')
      client.subscribe(this.subscriptions, { qos: 1 }, (err, granted) => {
        // A refused filter comes back granted with QoS 128 (or a reason code ≥ 128), not as an error.
        const refused = granted?.filter((g) => g.qos >= 128).map((g) => g.topic) ?? []
        if (err || refused.length) this.opts.log.error({ err, refused }, 'MQTT subscribe failed')
        else this.stats.connected = true
      })
    })
    client.on('close', () => {
      if (this.stats.connected && !this.#closed) this.opts.log.warn('MQTT connection lost; reconnecting')
      this.stats.connected = false
    })
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'MQTT error'))
    client.on('message', (topic, payload, packet) => {
      let ack: Ack | undefined
      if (packet.qos === 1 && packet.messageId !== undefined) {
        ack = { id: packet.messageId, stream: client.stream, state: 'waiting' }
        this.stats.awaitingAck = this.#acks.push(ack)
      }
      this.handle(topic, payload, ack)
    })
  }

  /** The message of `ack` is dealt with (stored, or dropped for good): its PUBACK may go. */
  #settle(ack: Ack | undefined, state: 'ready' | 'abandoned' = 'ready'): void {
    if (!ack || ack.state !== 'waiting') return
    ack.state = state
    this.#release()
  }

  /** Sends the PUBACKs that are due, in the order the messages came (one still waiting holds the later ones back). */
  #release(): void {
    const client = this.#client
    while (this.#acks.length && this.#acks[0]!.state !== 'waiting') {
      const a = this.#acks.shift()!
      if (a.state !== 'ready' || !client?.connected || client.stream !== a.stream) continue
      ;(client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId: a.id })
    }
    this.stats.awaitingAck = this.#acks.length
  }

  #drop(reason: DropReason, detail: Record<string, unknown>, n = 1): void {
    this.stats.dropped[reason] += n
    // One line per reason a second at most: a flood of bad messages must not flood the log too.
    const now = Date.now()
    const last = this.#lastLog.get(reason)
    if (last && now - last.at < 1000) {
      last.suppressed += n
      return
    }
    this.#lastLog.set(reason, { at: now, suppressed: 0 })
    this.opts.log.warn({ reason, ...detail, ...(last?.suppressed ? { alsoDroppedSinceLastLine: last.suppressed } : {}) }, 'sensor message dropped')
  }

  /**
   * One MQTT message (the client calls it; an embedded broker or a test may too). Never throws.
   * `ack`: the PUBACK of a QoS 1 message, sent once the message is stored or dropped.
   */
  handle(topic: string, payload: Buffer | string, ack?: Ack): void {
    const m = this.#topic.exec(topic)
    if (!m) return this.#settle(ack)
    this.stats.received++
    const code = m[1]!
    const parsed = this.#parse(code, m[2] as 'reading' | 'status', payload)
    if (!parsed) return this.#settle(ack)
    const s = this.#sensors.get(code)
    if (s !== undefined && typeof s !== 'number') return this.#accept(s, parsed, ack)
    if (typeof s === 'number' && s > Date.now()) {
      this.#drop('unknownDevice', { code })
      return this.#settle(ack)
    }
    void this.#lookup(code).then((found) => {
      if (found) return this.#accept(found, parsed, ack)
      this.#drop('unknownDevice', { code })
      this.#settle(ack)
    })
  }

  #parse(code: string, what: 'reading' | 'status', payload: Buffer | string): Parsed | null {
    if (payload.length > MAX_PAYLOAD) {
      this.#drop('malformed', { code, why: `payload over ${MAX_PAYLOAD} bytes` })
      return null
    }
    let body: unknown
    try {
      body = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'))
    } catch {
      this.#drop('malformed', { code, why: 'not JSON' })
      return null
    }
    let out: Parsed
    if (what === 'status') {
      const r = StatusMessage.safeParse(body)
      if (!r.success) return this.#malformed(code, r.error)
      out = { what, s: { t: Date.parse(r.data.ts), status: r.data.status, battery: r.data.battery ?? null, rssi: r.data.rssi ?? null } }
    } else if (body !== null && typeof body === 'object' && 'timepoint' in body) {
      const r = CnemcMessage.safeParse(body)
      if (!r.success) return this.#malformed(code, r.error)
      const t = zonedTime(r.data.timepoint, this.#tz)
      if (!Number.isFinite(t)) {
        this.#drop('malformed', { code, why: 'timepoint is not a date-time' })
        return null
      }
      if (r.data.stationcode !== undefined && r.data.stationcode !== code) {
        this.#drop('malformed', { code, why: `stationcode ${r.data.stationcode} is not the topic's device` })
        return null
      }
      out = { what, t, values: r.data }
    } else {
      const r = ReadingMessage.safeParse(body)
      if (!r.success) return this.#malformed(code, r.error)
      out = 'value' in r.data ? { what, t: Date.parse(r.data.ts), value: r.data.value } : { what, t: Date.parse(r.data.ts), values: r.data.values }
    }
    const t = out.what === 'status' ? out.s.t : out.t
    if (t > Date.now() + FUTURE_SLACK_MS) {
      this.#drop('future', { code, ts: new Date(t).toISOString() })
      return null
    }
    return out
  }

  #malformed(code: string, error: z.ZodError): null {
    this.#drop('malformed', { code, why: describeIssues(error) })
    return null
  }

  #accept(sensor: Sensor, p: Parsed, ack: Ack | undefined): void {
    if (p.what === 'status') {
      const prev = this.#statuses.get(sensor.id)
      if (!prev || prev.t <= p.s.t) this.#statuses.set(sensor.id, p.s)
      return this.#take(ack)
    }
    let value = p.value
    if (value === undefined && p.values) {
      const key = sensor.unitKey
      if (key !== null) {
        value = numeric(p.values[sensor.unit!] ?? p.values[key])
        if (value === undefined) {
          for (const k in p.values) if (k.toLowerCase() === key) value = numeric(p.values[k])
        }
      }
    }
    if (value === undefined) {
      this.#drop('noMetric', { code: sensor.code, unit: sensor.unit })
      return this.#settle(ack)
    }
    if ((sensor.min !== null && value < sensor.min) || (sensor.max !== null && value > sensor.max)) {
      this.#drop('absurd', { code: sensor.code, type: sensor.type, value, range: [sensor.min, sensor.max] })
      return this.#settle(ack)
    }
    const list = this.#readings.get(sensor.id)
    if (!list) this.#readings.set(sensor.id, [{ t: p.t, value }])
    else {
      if (list.length >= this.#maxPerDevice) {
        list.shift()
        this.#drop('flood', { code: sensor.code, keep: this.#maxPerDevice })
      }
      list.push({ t: p.t, value })
    }
    // Live screens get it now; the database gets it with the batch.
    this.#telemetry.offer({ kind: 'sensor', id: sensor.id, lon: sensor.lon, lat: sensor.lat, scope: sensor.grid_code, ts: new Date(p.t).toISOString(), data: { value, status: sensor.status } })
    this.#take(ack)
  }

  /** A message joined this window: its PUBACK goes when the window is stored; ACK_BATCH waiting: written at once. */
  #take(ack: Ack | undefined): void {
    if (ack) this.#windowAcks.push(ack)
    if (this.#windowAcks.length >= ACK_BATCH && !this.#early) {
      this.#early = true
      void this.flush()
    } else this.#schedule()
  }

  /** Looks a code up, batched with the other codes asked for in the same tick. */
  #lookup(code: string): Promise<Sensor | null> {
    if (!this.#lookups) {
      const batch = new Map<string, { resolve: (s: Sensor | null) => void; promise: Promise<Sensor | null> }>()
      this.#lookups = batch
      setImmediate(() => {
        this.#lookups = null
        void this.#resolveLookups(batch)
      })
    }
    const have = this.#lookups.get(code)
    if (have) return have.promise
    let resolve!: (s: Sensor | null) => void
    const promise = new Promise<Sensor | null>((r) => (resolve = r))
    this.#lookups.set(code, { resolve, promise })
    return promise
  }

  async #resolveLookups(batch: Map<string, { resolve: (s: Sensor | null) => void }>): Promise<void> {
    const codes = [...batch.keys()]
    let found = new Map<string, Sensor>()
    try {
      const { rows } = await this.opts.db.query<SensorRow>(`${SENSORS_SQL} WHERE s.code = ANY($1::text[])`, [codes])
      found = new Map(rows.map((r) => [r.code, toSensor(r)]))
    } catch (err) {
      this.opts.log.error({ err }, 'looking up sensors failed')
    }
    // Unknown codes are remembered for a while (a flood of them costs no queries).
    if (this.#sensors.size > 2_000_000) this.#sensors.clear()
    const until = Date.now() + UNKNOWN_TTL_MS
    for (const [code, { resolve }] of batch) {
      const s = found.get(code) ?? null
      this.#sensors.set(code, s ?? until)
      resolve(s)
    }
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = null
      this.#flushing = this.#flushing.then(() => this.#flush())
    }, this.#flushMs)
  }

  /** Writes what is pending now (tests; close). */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
    this.#flushing = this.#flushing.then(() => this.#flush())
    return this.#flushing
  }

  async #flush(): Promise<void> {
    this.#early = false
    let readings = this.#readings
    let statuses = this.#statuses
    let acks = this.#windowAcks
    this.#readings = new Map()
    this.#statuses = new Map()
    this.#windowAcks = []
    const carry = this.#carry
    this.#carry = null
    if (carry) {
      acks = [...carry.acks, ...acks]
      for (const [id, list] of readings) carry.readings.set(id, [...(carry.readings.get(id) ?? []), ...list])
      for (const [id, s] of statuses) {
        const prev = carry.statuses.get(id)
        if (!prev || prev.t <= s.t) carry.statuses.set(id, s)
      }
      readings = carry.readings
      statuses = carry.statuses
    }
    const settle = (state: 'ready' | 'abandoned') => {
      for (const a of acks) if (a.state === 'waiting') a.state = state
      this.#release()
    }
    if (readings.size === 0 && statuses.size === 0) return settle('ready')
    const batch = toArrays(readings, statuses)
    const started = performance.now()
    for (let attempt = 1; ; attempt++) {
      try {
        const effects = await this.#write(batch)
        this.stats.stored += batch.ids.length
        this.stats.statuses += batch.sids.length
        this.stats.batches++
        this.stats.lastBatch = { readings: batch.ids.length, ms: Math.round(performance.now() - started) }
        this.#after(effects)
        // Stored: now the broker may forget these messages.
        return settle('ready')
      } catch (err) {
        this.stats.writeFailed++
        this.opts.log.error({ err, readings: batch.ids.length, attempt }, 'writing sensor readings failed')
        if (attempt < 2) continue
        // Kept for the next batch, unless the backlog is already too large: then these are given up.
        if (batch.ids.length <= MAX_BACKLOG) {
          this.#carry = { readings, statuses, acks }
          this.#schedule()
        } else {
          this.#drop('lost', { readings: batch.ids.length }, batch.ids.length)
          // Not acknowledged: a persistent session gets them again from the broker after a reconnect.
          settle('abandoned')
        }
        return
      }
    }
  }

  #write(b: Batch): Promise<Effects> {
    return this.opts.events.write(async (tx, append) => {
      await lockSensors(tx, [...b.lids, ...b.sids])
      if (b.ids.length) {
        // Sensors deleted since they were cached are skipped rather than failing the batch.
        await tx.query(
          `INSERT INTO sensor_readings (sensor_id, ts, value)
           SELECT r.sensor_id, to_timestamp(r.t / 1000.0), r.value
             FROM unnest($1::int[], $2::float8[], $3::float8[]) r(sensor_id, t, value)
            WHERE EXISTS (SELECT 1 FROM sensors s WHERE s.id = r.sensor_id)
           ON CONFLICT (sensor_id, ts) DO UPDATE SET value = EXCLUDED.value`,
          [b.ids, b.ts, b.values],
        )
      }
      const alarms = await evaluateReadings(tx, b)
      const cases = await linkCases(tx, alarms, this.#tz)
      const sensors = (await tx.query<SensorChange>(alarmSql.ingest_sensors, [b.lids, b.lts, b.lvalues, b.sids, b.sts, b.sstatus, b.sbattery, b.srssi])).rows
      const effects = { alarms, cases, sensors }
      await announce(append, effects, 'system')
      return effects
    })
  }

  #after(effects: Effects): void {
    for (const s of effects.sensors) {
      const cached = this.#sensors.get(s.code)
      if (cached && typeof cached !== 'number') cached.status = s.status
    }
    invalidateTiles(this.opts.tiles, effects)
  }

  /** Stops taking readings and writes what is pending. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#refresh) clearInterval(this.#refresh)
    await this.flush()
    await this.#client?.endAsync()
  }
}

/** mqtt.js's own packet writer (not in its typings): the ingest sends its PUBACKs through it. */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number }): void
}

const SENSORS_SQL = `SELECT s.id, s.code, s.type, coalesce(s.thresholds ->> 'unit', s.unit) AS unit, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       s.grid_code, s.status, r.min_value, r.max_value
  FROM sensors s LEFT JOIN sensor_value_ranges r ON r.sensor_type = s.type`

interface SensorRow {
  id: number
  code: string
  type: string
  unit: string | null
  lon: number
  lat: number
  grid_code: string | null
  status: string
  min_value: number | null
  max_value: number | null
}

function toSensor(r: SensorRow): Sensor {
  return { id: r.id, code: r.code, type: r.type, unit: r.unit, unitKey: r.unit?.toLowerCase() ?? null, lon: r.lon, lat: r.lat, grid_code: r.grid_code, status: r.status, min: r.min_value, max: r.max_value }
}

interface Batch {
  /** Every reading, one per sensor and time. */
  ids: number[]
  ts: number[]
  values: number[]
  /** The latest reading per sensor. */
  lids: number[]
  lts: number[]
  lvalues: number[]
  /** The latest status message per sensor. */
  sids: number[]
  sts: number[]
  sstatus: string[]
  sbattery: (number | null)[]
  srssi: (number | null)[]
}

function toArrays(readings: Map<number, Pending[]>, statuses: Map<number, PendingStatus>): Batch {
  const b: Batch = { ids: [], ts: [], values: [], lids: [], lts: [], lvalues: [], sids: [], sts: [], sstatus: [], sbattery: [], srssi: [] }
  for (const [id, list] of readings) {
    let latest: Pending | null = null
    // The same time twice: the later message wins (one row per sensor and time in a statement).
    const seen = list.length > 1 ? new Set<number>() : null
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i]!
      if (seen) {
        if (seen.has(r.t)) continue
        seen.add(r.t)
      }
      b.ids.push(id)
      b.ts.push(r.t)
      b.values.push(r.value)
      if (!latest || r.t >= latest.t) latest = r
    }
    if (latest) {
      b.lids.push(id)
      b.lts.push(latest.t)
      b.lvalues.push(latest.value)
    }
  }
  for (const [id, s] of statuses) {
    b.sids.push(id)
    b.sts.push(s.t)
    b.sstatus.push(s.status)
    b.sbattery.push(s.battery)
    b.srssi.push(s.rssi)
  }
  return b
}
