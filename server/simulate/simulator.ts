/**
 * The city simulator (`npm run simulate`, and in-process in the demo): the sensor fleet of the
 * database publishes readings over MQTT like real devices (`onegrid/sensors/{code}/reading`,
 * `{ ts, value }`, QoS 0, one connection as the `simulator` gateway account) with daily rhythms
 * per type (rhythms.ts) and occasional faults — a sensor going silent for a while (→ offline), a
 * spike over the alarm threshold now and then (→ an alarm); and the workers on duty walk the real
 * road network on patrol in and around their grid (roads.ts), posting their positions every
 * ~10 s through `POST /api/positions`, batched — the same HTTP path a terminal platform uses.
 * Citizen reports are not simulated yet (there is no intake route before issue 6).
 *
 * The total reading rate is configurable (ONEGRID_SIM_RATE / --rate) up to 10 k/s and beyond:
 * readings are published in batches every `pauseMs` from one connection, each sensor's
 * timestamps strictly increasing (a reading is keyed by sensor and time).
 */
import mqtt, { type MqttClient } from 'mqtt'
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { Logger } from '../log.ts'
import { initialState, reading, spike, type SensorSpec, type SensorState } from './rhythms.ts'
import { RoadNetwork, type LonLat } from './roads.ts'
import { SimpleFaker } from '@faker-js/faker'
import { Rng } from '../random.ts'
import { zoneClock, type ZoneClock } from '../time/zone.ts'

const sql = loadSql(new URL('./simulate.sql', import.meta.url))

export interface SimulatorOptions {
  db: Queryable
  log: Logger
  /** The broker sensors publish to; null: no readings (workers only). */
  mqtt: { url: string; username?: string; password?: string; protocolVersion?: 4 | 5 } | null
  /**
   * The OneGrid server positions are posted to, and the headers that sign the request in
   * (`renew`: the last ones were refused, sign in again); null: no workers.
   */
  http: { url: string; headers: (renew: boolean) => Promise<Record<string, string>> } | null
  /** Readings per second, all sensors together. */
  rate: number
  /** Milliseconds between two publish batches (default 100). */
  pauseMs?: number
  /** Random seed: the same seed, database and rate give the same run (default 1). */
  seed?: number
  /** Time zone of the daily rhythms (default Asia/Shanghai). */
  tz?: string
  /** Silent sensors and spikes over the alarm threshold (default on). */
  faults?: boolean
  /** Also the synthetic (scale) sensors and workers (default off). */
  synthetic?: boolean
  /** Only these sensors (codes) / workers (ids); default all. */
  sensorCodes?: string[]
  workerIds?: number[]
  /** Seconds between two position fixes of a worker (default 10). */
  fixEveryS?: number
  /**
   * Citizens' reports (随手拍 from the public) through the server's Open311 intake, like a
   * citizen's app would send them: how many an hour, and the intake's API key if it needs one.
   * null or 0 an hour: none.
   */
  citizens?: { url: string; perHour: number; apiKey?: string } | null
}

export interface SimulatorStats {
  sensors: number
  workers: number
  roadNodes: number
  /** Readings handed to the MQTT connection. */
  published: number
  /** Readings not sent: the broker was not connected, or the connection's buffer was full. */
  notSent: number
  /** Sensors silent right now, and silences / spikes begun so far. */
  silentNow: number
  silences: number
  spikes: number
  positionsPosted: number
  positionErrors: number
  /** Whether POST /api/positions answered: unknown until the first post, missing on 404. */
  positionsRoute: 'unknown' | 'ok' | 'missing'
  /** Citizens' reports the Open311 intake took, and those it refused (or that failed). */
  citizenReports: number
  citizenReportErrors: number
  mqttConnected: boolean
}

export interface Simulator {
  readonly stats: SimulatorStats
  stop(): Promise<void>
}

interface Sensor extends SensorSpec {
  id: number
  code: string
  topic: string
  state: SensorState
  lastTs: number
  silentUntil: number
  spikeLeft: number
}

interface Walker {
  workerId: number
  grid: string | null
  speed: number
  pos: LonLat
  node: number | null
  route: LonLat[]
  next: number
  pauseS: number
  heading: number
  moving: boolean
  nextFixAt: number
}

/** Share of the fleet silent at a time, and how long a silence lasts (s). */
const SILENT_SHARE = 0.01
const SILENCE_S: [number, number] = [5 * 60, 30 * 60]
/** One spike over the alarm threshold somewhere in the fleet about this often (s). */
const SPIKE_EVERY_S = 180
/** Bytes waiting in the MQTT connection beyond which a batch is skipped rather than queued. */
const MAX_BUFFERED = 8 * 1024 * 1024
const WALK_TICK_MS = 1000
const POST_EVERY_MS = 5000
const MAX_POSITIONS_PER_POST = 1000

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const sim = new CitySimulator(opts)
  await sim.load()
  sim.start()
  return sim
}

class CitySimulator implements Simulator {
  readonly stats: SimulatorStats = {
    sensors: 0,
    workers: 0,
    roadNodes: 0,
    published: 0,
    notSent: 0,
    silentNow: 0,
    silences: 0,
    spikes: 0,
    positionsPosted: 0,
    positionErrors: 0,
    positionsRoute: 'unknown',
    citizenReports: 0,
    citizenReportErrors: 0,
    mqttConnected: false,
  }
  readonly #rng: Rng
  readonly #clock: ZoneClock
  #sensors: Sensor[] = []
  #withAlarm: Sensor[] = []
  #walkers: Walker[] = []
  /** Where citizens report from (grid label points) and what they report (public event categories). */
  #spots: { grid: string; name: string; lon: number; lat: number }[] = []
  #categories: { code: string; name: string }[] = []
  #net: RoadNetwork | null = null
  readonly #gridNodes = new Map<string, number[]>()
  readonly #nearNodes = new Map<string, number[]>()
  #client: MqttClient | null = null
  #timers: NodeJS.Timeout[] = []
  #citizenTimer: NodeJS.Timeout | null = null
  #cursor = 0
  #carry = 0
  #lastPublish = 0
  #fixes: { workerId: number; ts: string; lon: number; lat: number; speed: number; heading: number }[] = []
  #posting: Promise<void> = Promise.resolve()
  #headers: Record<string, string> | null = null
  #warned404 = false
  #lastPostError = 0
  #nextRouteTry = 0
  #stopped = false

  constructor(private readonly opts: SimulatorOptions) {
    this.#rng = new Rng(new SimpleFaker({ seed: opts.seed ?? 1 }))
    this.#clock = zoneClock(opts.tz ?? 'Asia/Shanghai')
  }

  async load(): Promise<void> {
    const { db, log } = this.opts
    const synthetic = this.opts.synthetic ?? false
    if (this.opts.mqtt) {
      const { rows } = await db.query<{ id: number; code: string; type: string; warn: number | null; alarm: number | null; last_value: number | null }>(sql.sensors!, [synthetic])
      const only = this.opts.sensorCodes ? new Set(this.opts.sensorCodes) : null
      const now = Date.now()
      // A shuffled round-robin order: each sensor reads at rate / fleet size, spread over the fleet.
      this.#sensors = this.#rng.shuffle(rows.filter((r) => !only || only.has(r.code))).map((r) => ({
        ...r,
        topic: `onegrid/sensors/${r.code}/reading`,
        state: initialState(r, this.#rng),
        lastTs: now - 1,
        silentUntil: 0,
        spikeLeft: 0,
      }))
      this.#withAlarm = this.#sensors.filter((s) => s.alarm !== null)
      this.stats.sensors = this.#sensors.length
    }
    if (this.opts.http) {
      const { rows } = await db.query<{ id: number; code: string; grid_code: string | null; lon: number; lat: number }>(sql.workers!, [synthetic])
      const only = this.opts.workerIds ? new Set(this.opts.workerIds) : null
      const workers = rows.filter((r) => !only || only.has(r.id))
      if (workers.length) await this.#loadRoads()
      const fixEvery = (this.opts.fixEveryS ?? 10) * 1000
      const now = Date.now()
      this.#walkers = workers.map((w) => {
        const pos: LonLat = [w.lon, w.lat]
        const near = this.#net?.nearest(pos, 1000) ?? null
        return {
          workerId: w.id,
          grid: w.grid_code,
          speed: this.#rng.range(1.0, 1.4),
          pos: near ? this.#net!.nodes[near.node]! : pos,
          node: near?.node ?? null,
          route: [],
          next: 0,
          pauseS: 0,
          heading: 0,
          moving: false,
          // Fixes spread over the interval, not all workers at once.
          nextFixAt: now + Math.floor(this.#rng.u() * fixEvery),
        }
      })
      this.stats.workers = this.#walkers.length
    }
    if (this.opts.citizens?.perHour) {
      this.#spots = (await db.query<{ grid: string; name: string; lon: number; lat: number }>(sql.citizen_spots!, [synthetic])).rows
      this.#categories = (await db.query<{ code: string; name: string }>(sql.citizen_categories!)).rows
    }
    log.info(
      { sensors: this.stats.sensors, workers: this.stats.workers, roadNodes: this.stats.roadNodes, rate: this.opts.rate, mqtt: this.opts.mqtt?.url, server: this.opts.http?.url },
      'simulator ready',
    )
  }

  async #loadRoads(): Promise<void> {
    const { rows } = await this.opts.db.query<{ coords: string }>(sql.road_lines!)
    const net = new RoadNetwork(rows.map((r) => JSON.parse(r.coords) as LonLat[]))
    this.#net = net
    this.stats.roadNodes = net.size
    if (!net.size) return
    const { rows: inGrid } = await this.opts.db.query<{ i: number; grid_code: string }>(sql.grid_of_points!, [net.nodes.map((p) => p[0]), net.nodes.map((p) => p[1])])
    for (const r of inGrid) {
      const list = this.#gridNodes.get(r.grid_code) ?? []
      list.push(r.i - 1)
      this.#gridNodes.set(r.grid_code, list)
    }
  }

  start(): void {
    const m = this.opts.mqtt
    if (m && this.#sensors.length) {
      const client = mqtt.connect(m.url, {
        clientId: `onegrid-simulator-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
        username: m.username,
        password: m.password,
        protocolVersion: m.protocolVersion ?? 4,
        reconnectPeriod: 2000,
        // Readings are live values: while the broker is away they are not kept for later.
        queueQoSZero: false,
      })
      this.#client = client
      client.on('connect', () => {
        this.stats.mqttConnected = true
        this.opts.log.info({ url: m.url }, 'simulator connected to the MQTT broker')
      })
      client.on('close', () => {
        if (this.stats.mqttConnected && !this.#stopped) this.opts.log.warn('simulator lost the MQTT broker; reconnecting')
        this.stats.mqttConnected = false
      })
      client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'simulator MQTT error'))
      const pause = this.opts.pauseMs ?? 100
      this.#lastPublish = Date.now()
      this.#every(pause, () => this.#publishBatch())
      if (this.opts.faults ?? true) this.#every(1000, () => this.#faults())
    }
    if (this.opts.http && this.#walkers.length) {
      this.#every(WALK_TICK_MS, () => this.#walk(WALK_TICK_MS / 1000))
      this.#every(POST_EVERY_MS, () => {
        this.#posting = this.#posting.then(() => this.#post())
      })
    }
    this.#startCitizens()
  }

  /** Starts the citizens' reports: at random moments, perHour on average. */
  #startCitizens(): void {
    const c = this.opts.citizens
    if (!c?.perHour || !this.#spots.length || !this.#categories.length) return
    const meanMs = 3_600_000 / c.perHour
    const next = () => {
      // Exponential gaps (a Poisson stream), at least a second apart.
      this.#citizenTimer = setTimeout(() => {
        this.#posting = this.#posting.then(() => this.#citizenReport(c)).finally(() => {
          if (!this.#stopped) next()
        })
      }, Math.max(1000, -Math.log(1 - this.#rng.u()) * meanMs))
    }
    next()
  }

  /** One citizen's report, form-encoded as GeoReport v2 says, a few metres from a grid's label point. */
  async #citizenReport(c: { url: string; apiKey?: string }): Promise<void> {
    const spot = this.#rng.pick(this.#spots)
    const cat = this.#rng.pick(this.#categories)
    const form = new URLSearchParams({
      service_code: cat.code,
      lat: (spot.lat + this.#rng.range(-0.0001, 0.0001)).toFixed(6),
      long: (spot.lon + this.#rng.range(-0.0001, 0.0001)).toFixed(6),
      description: `市民反映：${spot.name}附近${cat.name}，请尽快处理。（模拟上报）`,
      first_name: '模拟市民',
      ...(c.apiKey ? { api_key: c.apiKey } : {}),
    })
    try {
      const res = await fetch(`${c.url}/open311/v2/requests.json`, { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) })
      if (res.ok) this.stats.citizenReports++
      else {
        this.stats.citizenReportErrors++
        this.opts.log.warn({ status: res.status, answer: (await res.text()).slice(0, 200) }, 'simulator: a citizen report was refused')
      }
    } catch (err) {
      this.stats.citizenReportErrors++
      this.opts.log.warn({ err: (err as Error).message }, 'simulator: a citizen report failed')
    }
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn()
      } catch (err) {
        this.opts.log.error({ err }, 'simulator step failed')
      }
    }, ms)
    this.#timers.push(t)
  }

  // ── sensors ──

  #publishBatch(): void {
    const now = Date.now()
    // The readings due since the last batch (timers drift; at most one second's worth after a stall).
    const due = Math.min(this.opts.rate, (this.opts.rate * (now - this.#lastPublish)) / 1000) + this.#carry
    this.#lastPublish = now
    const n = Math.floor(due)
    this.#carry = due - n
    if (n === 0) return
    const client = this.#client!
    const buffered = (client.stream as { writableLength?: number } | undefined)?.writableLength ?? 0
    if (!client.connected || buffered > MAX_BUFFERED) {
      this.stats.notSent += n
      return
    }
    const hour = this.#clock.hour(now)
    const fleet = this.#sensors
    let sent = 0
    for (let tries = 0; sent < n && tries < n + fleet.length; tries++) {
      const s = fleet[this.#cursor++ % fleet.length]!
      if (s.silentUntil > now) continue
      const ts = Math.max(now, s.lastTs + 1)
      s.lastTs = ts
      let value: number | null = null
      if (s.spikeLeft > 0) {
        s.spikeLeft--
        value = spike(s, s.state, this.#rng)
      }
      value ??= reading(s, s.state, ts, hour, this.#rng)
      client.publish(s.topic, `{"ts":"${new Date(ts).toISOString()}","value":${value}}`, { qos: 0 })
      sent++
    }
    this.stats.published += sent
    this.stats.notSent += n - sent
  }

  #faults(): void {
    const now = Date.now()
    const fleet = this.#sensors
    // Silences: about SILENT_SHARE of the fleet at any time.
    const meanSilence = (SILENCE_S[0] + SILENCE_S[1]) / 2
    let starts = (fleet.length * SILENT_SHARE) / meanSilence
    while (starts > 0) {
      if (this.#rng.chance(Math.min(1, starts))) {
        const s = this.#rng.pick(fleet)
        if (s.silentUntil <= now) {
          s.silentUntil = now + this.#rng.range(SILENCE_S[0], SILENCE_S[1]) * 1000
          this.stats.silences++
        }
      }
      starts -= 1
    }
    if (this.#withAlarm.length && this.#rng.chance(1 / SPIKE_EVERY_S)) {
      const s = this.#rng.pick(this.#withAlarm)
      if (s.silentUntil <= now && s.spikeLeft === 0) {
        s.spikeLeft = this.#rng.int(1, 3)
        this.stats.spikes++
        this.opts.log.debug({ code: s.code }, 'simulator: a spike over the alarm threshold')
      }
    }
    this.stats.silentNow = fleet.reduce((a, s) => a + (s.silentUntil > now ? 1 : 0), 0)
  }

  // ── workers ──

  /** Where a worker heads next: a road node in their grid, sometimes one just outside it. */
  #destination(w: Walker): number | null {
    const net = this.#net!
    const comp = net.component[w.node!]
    const sameComponent = (list: number[]) => list.filter((n) => net.component[n] === comp && n !== w.node)
    let pool: number[] = []
    if (w.grid) {
      const inside = sameComponent(this.#gridNodes.get(w.grid) ?? [])
      const outside = this.#rng.chance(0.1) ? sameComponent(this.#outsideOf(w.grid)) : []
      pool = outside.length ? outside : inside
    }
    // No grid, or a grid without roads of this component: somewhere within a few hundred metres.
    if (!pool.length) pool = sameComponent(net.within(w.pos, 400))
    return pool.length ? this.#rng.pick(pool) : null
  }

  /** Road nodes within ~80 m of a grid's own nodes but outside the grid. */
  #outsideOf(grid: string): number[] {
    let near = this.#nearNodes.get(grid)
    if (!near) {
      const inside = new Set(this.#gridNodes.get(grid) ?? [])
      const found = new Set<number>()
      for (const n of inside) for (const m of this.#net!.within(this.#net!.nodes[n]!, 80)) if (!inside.has(m)) found.add(m)
      near = [...found]
      this.#nearNodes.set(grid, near)
    }
    return near
  }

  #walk(dt: number): void {
    const now = Date.now()
    const net = this.#net
    const fixEvery = (this.opts.fixEveryS ?? 10) * 1000
    for (const w of this.#walkers) {
      const from = w.pos
      w.moving = false
      if (net && w.node !== null) {
        if (w.pauseS > 0) w.pauseS -= dt
        else {
          if (w.next >= w.route.length) this.#plan(w)
          let left = w.speed * dt
          while (left > 0 && w.next < w.route.length) {
            const target = w.route[w.next]!
            const d = net.ruler.distance(w.pos, target)
            if (d <= left) {
              w.pos = target
              w.next++
              left -= d
            } else {
              const f = left / d
              w.pos = [w.pos[0] + (target[0] - w.pos[0]) * f, w.pos[1] + (target[1] - w.pos[1]) * f]
              left = 0
            }
          }
          w.moving = w.pos !== from
          if (w.next >= w.route.length && w.route.length) {
            // Arrived: a look around sometimes (a shop front, a corner) before the next leg.
            w.route = []
            if (this.#rng.chance(0.3)) w.pauseS = this.#rng.range(10, 120)
          }
        }
        if (w.moving) w.heading = (net.ruler.bearing(from, w.pos) + 360) % 360
      }
      if (now >= w.nextFixAt) {
        w.nextFixAt += fixEvery
        if (w.nextFixAt < now) w.nextFixAt = now + fixEvery
        // GPS noise of a phone in the street: a metre or two.
        const p = net ? net.ruler.offset(w.pos, this.#rng.normal() * 1.5, this.#rng.normal() * 1.5) : w.pos
        this.#fixes.push({
          workerId: w.workerId,
          ts: new Date(now).toISOString(),
          lon: Math.round(p[0] * 1e7) / 1e7,
          lat: Math.round(p[1] * 1e7) / 1e7,
          speed: w.moving ? Math.round(w.speed * 10) / 10 : 0,
          heading: Math.round(w.heading),
        })
      }
    }
  }

  #plan(w: Walker): void {
    const net = this.#net!
    for (let tries = 0; tries < 3; tries++) {
      const dest = this.#destination(w)
      if (dest === null) break
      const route = net.path(w.node!, dest)
      if (route && route.length > 1) {
        w.route = route
        w.next = 1
        w.node = dest
        return
      }
    }
    w.pauseS = 30
  }

  async #post(): Promise<void> {
    const http = this.opts.http!
    if (!this.#fixes.length) return
    if (this.stats.positionsRoute === 'missing' && Date.now() < this.#nextRouteTry) {
      this.#fixes = []
      return
    }
    const batch = this.#fixes.splice(0, MAX_POSITIONS_PER_POST)
    if (this.#fixes.length > 10 * MAX_POSITIONS_PER_POST) this.#fixes = this.#fixes.slice(-10 * MAX_POSITIONS_PER_POST)
    const send = async (renew: boolean) => {
      if (renew || !this.#headers) this.#headers = await http.headers(renew)
      return fetch(`${http.url}/api/positions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.#headers },
        body: JSON.stringify({ crs: 'wgs84', positions: batch }),
        signal: AbortSignal.timeout(15_000),
      })
    }
    try {
      let res = await send(false)
      if (res.status === 401) {
        await res.body?.cancel()
        res = await send(true)
      }
      if (res.status === 404) {
        await res.body?.cancel()
        this.stats.positionsRoute = 'missing'
        this.#nextRouteTry = Date.now() + 30_000
        if (!this.#warned404) this.opts.log.warn({ url: `${http.url}/api/positions` }, 'simulator: the server has no POST /api/positions; workers walk but their positions are not sent (trying again every 30 s)')
        this.#warned404 = true
        return
      }
      if (res.ok) {
        await res.body?.cancel()
        this.stats.positionsRoute = 'ok'
        this.stats.positionsPosted += batch.length
        return
      }
      this.stats.positionErrors += batch.length
      this.#logPostError({ status: res.status, body: (await res.text()).slice(0, 300) })
    } catch (err) {
      if (this.#stopped) return
      this.stats.positionErrors += batch.length
      this.#logPostError({ err: (err as Error).message })
    }
  }

  /** At most one log line per minute about failed posts (the server may be restarting). */
  #logPostError(detail: Record<string, unknown>): void {
    if (Date.now() - this.#lastPostError < 60_000) return
    this.#lastPostError = Date.now()
    this.opts.log.warn(detail, 'simulator: posting positions failed')
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    if (this.#citizenTimer) clearTimeout(this.#citizenTimer)
    await this.#posting
    await this.#client?.endAsync().catch(() => {})
  }
}
