/**
 * Crash (issue 10, acceptance 3): the real server, run as a child process, takes a burst of case
 * actions over HTTP and sensor readings over MQTT, is killed with SIGKILL in the middle of it,
 * and is started again on the same database. Then:
 *
 * - every case action that got a 2xx answer (its acknowledgement) is there: the case row at
 *   that version or later, its case_actions row, its event in event_log and its audit row;
 * - nothing is half-applied, acknowledged or not: for every case of the run, version = 1 + its
 *   actions, stage = the last action's to_stage, and its actions and its events match one to
 *   one; the event log has no gap in seq and event_seq agrees with it; every sensor's latest
 *   value is its newest stored reading (readings and the sensor update commit together);
 * - every reading the broker acknowledged to the device (PUBACK from Mosquitto) is in
 *   sensor_readings, once — also the ones published while OneGrid was down. That holds because
 *   the ingest acknowledges a QoS 1 message to the broker only after its batch committed, and
 *   keeps a persistent session (ONEGRID_MQTT_CLIENT_ID): what it had received but not stored
 *   when it died is sent again by the broker when it is back (server/ingest/mqtt.ts);
 * - a socket.io client (the web app's EventStream, signed in as the city dispatcher) connected
 *   before the kill is kept away until cases were reported on the restarted server, then
 *   reconnects, replays from the last seq it saw and ends with exactly the events in event_log
 *   after its start — none missing, none twice, in order. The live pushes reach it in seq order
 *   (EventLog.write holds a later transaction's events until the earlier ones are pushed): on a
 *   loaded machine a later transaction was sometimes answered first, the stream dropped the
 *   earlier event as already seen, and this test caught it;
 * - the audit log's hash chain is intact.
 *
 * It runs on the real PostgreSQL backend (a database of its own: a FILE_COPY of the seeded test
 * database) and on the embedded one (PGlite in a copy of the seeded template folder). Observed on
 * PGlite 0.5.8: the data folder opens again after SIGKILL and every acknowledged action is there,
 * nothing half-applied — PGlite writes its WAL into the folder's files at commit (NODEFS), and a
 * killed process loses nothing the kernel already has (power loss is another matter: PGlite does
 * not fsync; docs/durability.md). The same assertions hold for both, so the embedded run fails if
 * that ever changes.
 *
 * The readings part needs a broker (MQTT_URL; under CI=true it must be set). The test's server
 * takes readings in a shared-subscription group and with a client id of this run's own
 * (ONEGRID_MQTT_GROUP, ONEGRID_MQTT_CLIENT_ID): no other server on the broker (another test file,
 * another test run) takes a share of its readings, and its persistent session — removed at the
 * end — never holds a share of theirs. Figures and timings are printed, never asserted on.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import pg from 'pg'
import { io as connect, type Socket } from 'socket.io-client'
import { describe, expect, it } from 'vitest'
import { verify } from '../../server/audit/log.ts'
import { projectRoot } from '../../server/config.ts'
import type { Db } from '../../server/db/index.ts'
import { openPglite } from '../../server/db/pglite.ts'
import { openPostgres } from '../../server/db/postgres.ts'
import { EventStream, type DomainEvent } from '../../web/services/eventStream.ts'
import { TEST_ANCHOR, TEST_PASSWORD, TEST_SEED, TEST_TZ } from '../helpers/constants.ts'
import { embeddedDataDir, login } from '../helpers/server.ts'
import { sleep, until } from '../helpers/wait.ts'

const MQTT_URL = process.env.MQTT_URL
if (!MQTT_URL && process.env.CI === 'true') throw new Error('CI=true but MQTT_URL is not set: the crash test publishes readings to a real broker')

/** Kill after this many acknowledged case actions and readings (whichever comes last), or after KILL_AT_MS. */
const KILL_AFTER_ACTIONS = 150
const KILL_AFTER_READINGS = 300
const KILL_AT_MS = 20_000
/** HTTP clients working cases at once. */
const WORKERS = 6
/** Readings published per 10 ms (~300/s). */
const READINGS_PER_TICK = 3
/**
 * Readings published but not yet taken in by the ingest (its /api/health count), at most: Mosquitto
 * queues at most 1000 messages per session by default (max_queued_messages) and drops the rest, so a
 * slow ingest (a loaded machine) makes the publisher wait rather than fall further behind.
 */
const MAX_BACKLOG = 400
/** Readings published while OneGrid is down (the broker keeps them for its session). */
const WHILE_DOWN = 100
/** Cases reported on the restarted server before the seat reconnects: events it must get by replay. */
const AFTER_RESTART = 5
/** One case's way: reported → accepted → (escalated) → reported → accepted → cancelled; all of it the city dispatcher may do. */
const CHAIN = [
  { action: 'accept' },
  { action: 'escalate', reason: '涉及多部门，上报' },
  { action: 'return', reason: '信息不全，退回' },
  { action: 'accept' },
  { action: 'cancel', reason: '重复上报，注销' },
] as const

interface Backend {
  name: 'postgres' | 'embedded'
  /** The server's database settings. */
  env: Record<string, string>
  /** Seeded already (false: an empty database the first start seeds; PostgreSQL only, readable while the server runs). */
  seeded: boolean
  /** Opens the database in this process (PGlite: only while no server has it open). */
  open(): Promise<Db>
  drop(): Promise<void>
}

/** An acknowledged case request: what it did, as the answer said. */
interface Acked {
  reqId: string
  caseId: number
  action: string
  version: number
}
interface Reading {
  sensorId: number
  code: string
  t: number
  value: number
  phase: 'up' | 'down'
}

const withDatabase = (url: string, name: string) => {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}
const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1))

/**
 * A PostGIS database of this test's own: a FILE_COPY of the worker's seeded copy (TEST_DATABASE_URL)
 * or, when that one has connections (55006), of the seeded source; failing both, an empty one with
 * PostGIS that the server seeds on its first start.
 */
async function postgresBackend(url: string): Promise<Backend> {
  const name = `crash_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') })
  await admin.connect()
  let from = 'empty (seeded by the server)'
  try {
    const sources = [databaseName(url), ...(process.env.ONEGRID_TEST_DATABASE_SOURCE ? [databaseName(process.env.ONEGRID_TEST_DATABASE_SOURCE)] : [])]
    for (const source of sources) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${source} STRATEGY FILE_COPY`)
        from = source
        break
      } catch (err) {
        if ((err as { code?: string }).code !== '55006') throw err
      }
    }
    if (from.startsWith('empty')) await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  console.log(`[crash] postgres: database ${name} from ${from}`)
  const own = withDatabase(url, name)
  return {
    name: 'postgres',
    env: { DATABASE_URL: own },
    seeded: !from.startsWith('empty'),
    open: () => openPostgres(own, 2),
    async drop() {
      const c = new pg.Client({ connectionString: withDatabase(url, 'postgres') })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}

function embeddedBackend(): Backend {
  const data = embeddedDataDir()
  if (data.dir.startsWith('memory://')) throw new Error('no seeded embedded template (ONEGRID_TEST_TEMPLATE): run through vitest, whose global setup makes it')
  return { name: 'embedded', env: { ONEGRID_DATA_DIR: data.dir }, seeded: true, open: () => openPglite(data.dir), drop: async () => data.cleanup() }
}

function backendsToRun(): { name: Backend['name']; make: () => Promise<Backend> }[] {
  const url = process.env.TEST_DATABASE_URL
  if (!url && process.env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set: the crash test must run on a real PostGIS')
  return [...(url ? [{ name: 'postgres' as const, make: () => postgresBackend(url) }] : []), { name: 'embedded', make: async () => embeddedBackend() }]
}

async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

/** The server as its own process (`node --import tsx server/main.ts`: one process, so SIGKILL kills the server itself). */
class ServerProcess {
  readonly proc: ChildProcess
  output = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  constructor(env: Record<string, string>) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000)
    }
    this.proc.stdout!.on('data', keep)
    this.proc.stderr!.on('data', keep)
    // Not left running (and holding the broker session) if this test process ends first.
    const orphan = () => this.proc.kill('SIGKILL')
    process.once('exit', orphan)
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        process.off('exit', orphan)
        resolve({ code, signal })
      }),
    )
  }

  /** Waits until /api/health answers; throws with the server's output when it exits first. */
  async ready(url: string, ms = 90_000): Promise<void> {
    let gone: { code: number | null; signal: NodeJS.Signals | null } | null = null
    void this.exited.then((e) => (gone = e))
    const start = Date.now()
    for (;;) {
      if (gone) throw new Error(`the server exited (${JSON.stringify(gone)}) before it was up:\n${this.output}`)
      try {
        if ((await fetch(`${url}/api/health`)).status === 200) return
      } catch {
        // not listening yet
      }
      if (Date.now() - start > ms) throw new Error(`the server was not up after ${ms} ms:\n${this.output}`)
      await sleep(100)
    }
  }

  /** Ends it if it still runs (after a failure: SIGKILL, nothing to keep). */
  async stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal)
    return this.exited
  }
}

/** Removes the broker's session of a client id (a clean start that ends at once). */
async function dropMqttSession(clientId: string): Promise<void> {
  if (!MQTT_URL) return
  const c = await mqtt.connectAsync(MQTT_URL, { clientId, clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 })
  await c.endAsync()
}

/** What the burst uses: a place in a grid, an event category, online sensors with a value within their type's range (else dropped as absurd). */
async function scenarioOf(backend: Backend) {
  const db = await backend.open()
  try {
    const place = (await db.query<{ lon: number; lat: number }>(
      `SELECT ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat FROM grids WHERE NOT synthetic ORDER BY code LIMIT 1`,
    )).rows[0]!
    const category = (await db.query<{ code: string }>(`SELECT code FROM case_categories WHERE kind = 'event' ORDER BY code LIMIT 1`)).rows[0]!.code
    const sensors = (await db.query<{ id: number; code: string; value: number }>(
      `SELECT s.id, s.code, coalesce(s.last_value, (r.min_value + r.max_value) / 2, 0)::float8 AS value
         FROM sensors s LEFT JOIN sensor_value_ranges r ON r.sensor_type = s.type
        WHERE s.status = 'online' ORDER BY s.id LIMIT 100`,
    )).rows
    expect(sensors.length).toBeGreaterThan(0)
    return { place, category, sensors }
  } finally {
    await db.close()
  }
}

interface Health {
  mqtt?: { connected: boolean; received: number; stored: number; awaitingAck: number; dropped: Record<string, number> }
}
const health = async (url: string) => (await (await fetch(`${url}/api/health`)).json()) as Health

describe.each(backendsToRun())('crash on $name', ({ make }) => {
  it('SIGKILL mid-burst: no acknowledged action or reading lost, nothing half-applied, clients replay what they missed', { timeout: 300_000 }, async () => {
    const t0 = Date.now()
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`
    const backend = await make()
    const attachments = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-crash-attachments-'))
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const mark = `crash-${process.pid}-${Date.now()}`
    // This run's own ingest session (kept by the broker across the kill) in a group of its own.
    const clientId = `onegrid-${mark}`
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      PORT: String(port),
      HOST: '127.0.0.1',
      ONEGRID_SEED_PASSWORD: TEST_PASSWORD,
      ONEGRID_DEMO_SEED: String(TEST_SEED),
      ONEGRID_DEMO_ANCHOR: TEST_ANCHOR,
      ONEGRID_TZ: TEST_TZ,
      ONEGRID_SIMULATE: 'off',
      ONEGRID_JOBS: 'off',
      ONEGRID_MQTT_PORT: 'off',
      ONEGRID_WEB_DIR: path.join(projectRoot, 'dist', 'web'),
      ONEGRID_ATTACHMENTS_DIR: attachments,
      LOG_LEVEL: 'warn',
      ...(MQTT_URL ? { MQTT_URL, ONEGRID_MQTT_GROUP: mark, ONEGRID_MQTT_CLIENT_ID: clientId } : {}),
      ...backend.env,
    }
    let server: ServerProcess | null = null
    let socket: Socket | null = null
    let device: MqttClient | null = null
    try {

      // PGlite: read before the server opens the folder (one process at a time); an empty PostgreSQL database: after the first start seeded it.
      let scenario = backend.seeded ? await scenarioOf(backend) : null

      // ── First start ──
      let t = Date.now()
      server = new ServerProcess(env)
      await server.ready(url)
      const firstStart = Date.now() - t
      scenario ??= await scenarioOf(backend)
      const cookie = await login(url, 'dispatcher')
      if (MQTT_URL) await until(async () => (await health(url)).mqtt?.connected === true, 'the ingest subscribed', 20_000)

      // ── A seat watching every event (the city dispatcher), as the web app does: EventStream ──
      socket = connect(url, { path: '/socket.io', extraHeaders: { cookie }, transports: ['websocket'], autoConnect: false, reconnectionDelay: 250, reconnectionDelayMax: 500, randomizationFactor: 0 })
      const got: { e: DomainEvent; afterRestart: boolean }[] = []
      const streamErrors: string[] = []
      let restarted = false
      const stream = new EventStream(socket, (e) => got.push({ e, afterRestart: restarted }), (m) => streamErrors.push(m))
      const hellos: number[] = []
      socket.on('hello', (h: { lastSeq: number }) => hellos.push(h.lastSeq))
      // The live pushes as they reached the socket, per connection: in seq order (EventLog.write), or the stream would drop the late one.
      const pushed: number[][] = [[]]
      socket.on('hello', () => pushed.push([]))
      socket.on('event', (e: DomainEvent) => pushed[pushed.length - 1]!.push(e.seq))
      socket.connect()
      await until(() => hellos.length === 1, 'the first hello')
      const startSeq = stream.lastSeq!

      // ── The burst ──
      const acked: Acked[] = []
      const refused: string[] = []
      const readings: Reading[] = []
      let killed = false
      let killAt = 0
      let seq = 0
      const kill = () => {
        if (killed) return
        killed = true
        killAt = Date.now()
        // The seat stays away until told (below): it then has missed what the restarted server did meanwhile.
        socket!.io.reconnection(false)
        server!.proc.kill('SIGKILL')
      }
      const maybeKill = () => {
        if (acked.length >= KILL_AFTER_ACTIONS && (!MQTT_URL || readings.length >= KILL_AFTER_READINGS)) kill()
      }
      const post = async (p: string, body: unknown): Promise<{ status: number; body: Record<string, unknown>; reqId: string }> => {
        const reqId = `${mark}-${++seq}`
        const res = await fetch(`${url}${p}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-request-id': reqId }, body: JSON.stringify(body) })
        const text = await res.text()
        return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, reqId }
      }
      /** One HTTP client: cases one after another through CHAIN, until a request fails (the kill). */
      const worker = async () => {
        try {
          while (!killed) {
            const r = await post('/api/cases', { categoryCode: scenario.category, source: 'hotline', description: `崩溃测试 ${mark}`, reporterText: mark, ...scenario.place })
            if (r.status !== 201) return void refused.push(`report: ${r.status} ${JSON.stringify(r.body)}`)
            let c = r.body.case as { id: number; version: number }
            acked.push({ reqId: r.reqId, caseId: c.id, action: 'report', version: c.version })
            maybeKill()
            for (const step of CHAIN) {
              if (killed) return
              const { action, ...extra } = step
              const a = await post(`/api/cases/${c.id}/actions/${action}`, { version: c.version, ...extra })
              if (a.status !== 200) return void refused.push(`${action}: ${a.status} ${JSON.stringify(a.body)}`)
              c = a.body.case as { id: number; version: number }
              acked.push({ reqId: a.reqId, caseId: c.id, action, version: c.version })
              maybeKill()
            }
          }
        } catch {
          // The connection went with the server: this request is not acknowledged.
        }
      }
      /** Readings QoS 1; acknowledged = the broker's PUBACK. Distinct (sensor, ts): ts = base + n ms. */
      const base = Date.now() - 10 * 60_000
      let n = 0
      const publish = async (phase: Reading['phase']) => {
        const s = scenario.sensors[n % scenario.sensors.length]!
        const r: Reading = { sensorId: s.id, code: s.code, t: base + n, value: Number(s.value.toFixed(2)), phase }
        n++
        await device!.publishAsync(`onegrid/sensors/${s.code}/reading`, JSON.stringify({ ts: new Date(r.t).toISOString(), value: r.value }), { qos: 1 })
        readings.push(r)
      }
      const publisher = async () => {
        const inFlight = new Set<Promise<void>>()
        let takenIn = 0
        const watch = setInterval(() => {
          health(url).then((h) => (takenIn = h.mqtt?.received ?? takenIn), () => {})
        }, 100)
        while (!killed) {
          if (n - takenIn > MAX_BACKLOG) {
            await sleep(10)
            continue
          }
          for (let i = 0; i < READINGS_PER_TICK; i++) {
            const p: Promise<void> = publish('up').then(maybeKill, () => {}).finally(() => inFlight.delete(p))
            inFlight.add(p)
          }
          await sleep(10)
        }
        clearInterval(watch)
        await Promise.all(inFlight)
      }
      if (MQTT_URL) device = await mqtt.connectAsync(MQTT_URL, { clientId: `crash-device-${process.pid}`, protocolVersion: 5, reconnectPeriod: 0 })

      t = Date.now()
      const killTimer = setTimeout(kill, KILL_AT_MS)
      const work = [...Array.from({ length: WORKERS }, worker), ...(device ? [publisher()] : [])]
      const down = await server.exited
      clearTimeout(killTimer)
      const burstMs = killAt - t
      await Promise.all(work)
      expect(down.signal, server.output).toBe('SIGKILL')
      expect(refused, 'refusals before the kill').toEqual([])
      // While OneGrid is down the broker acknowledges readings for it and keeps them in its session.
      if (device) for (let i = 0; i < WHILE_DOWN; i++) await publish('down')

      // ── Restart on the same database ──
      t = Date.now()
      restarted = true
      server = new ServerProcess(env)
      await server.ready(url)
      const restartMs = Date.now() - t
      // The restarted server at work while the seat is away: reports it has to get by replay.
      for (let i = 0; i < AFTER_RESTART; i++) {
        const r = await post('/api/cases', { categoryCode: scenario.category, source: 'hotline', description: `崩溃测试 重启后 ${mark}`, reporterText: mark, ...scenario.place })
        expect(r.status, JSON.stringify(r.body)).toBe(201)
        acked.push({ reqId: r.reqId, caseId: (r.body.case as { id: number }).id, action: 'report', version: 1 })
      }
      // The seat reconnects (as after a network cut: same socket, same EventStream) and replays from the last seq it saw.
      const lastSeen = stream.lastSeq!
      socket.io.reconnection(true)
      socket.connect()
      await until(() => hellos.length >= 2, 'the seat reconnected', 30_000)
      const restartSeq = hellos[hellos.length - 1]!
      await until(() => stream.lastSeq! >= restartSeq, 'the seat replayed what it missed', 30_000)
      // Redelivered and queued readings: stored once the ingest has nothing waiting and takes nothing new for a while.
      let received = -1
      let healthAfter: Health = {}
      if (MQTT_URL) {
        await until(async () => {
          healthAfter = await health(url)
          const m = healthAfter.mqtt
          const quiet = m !== undefined && m.connected && m.awaitingAck === 0 && m.received === received
          received = m?.received ?? -1
          return quiet
        }, 'the ingest took in what the broker kept', 60_000, 1500)
      }
      await sleep(300)
      socket.close()
      const stopped = await server.stop('SIGTERM')
      expect(stopped.code, server.output).toBe(0)
      server = null

      // ── Checks, in the database itself ──
      t = Date.now()
      const db = await backend.open()
      const q = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows
      try {
        // Every acknowledged case request: its action row (the version it answered), its event, its audit row, the case at that version or later.
        const lostActions = await q<{ req_id: string; why: string }>(
          `SELECT a.req_id, concat_ws(', ',
                    CASE WHEN c.id IS NULL OR c.version < a.version THEN 'case' END,
                    CASE WHEN NOT EXISTS (SELECT 1 FROM case_actions x WHERE x.case_id = a.case_id AND x.action = a.action
                                            AND coalesce((x.payload -> 'result' ->> 'version')::int, 1) = a.version) THEN 'action row' END,
                    CASE WHEN NOT EXISTS (SELECT 1 FROM event_log e WHERE e.type = CASE WHEN a.action = 'report' THEN 'case:created' ELSE 'case:changed' END
                                            AND (e.payload ->> 'id')::bigint = a.case_id AND (e.payload ->> 'version')::int = a.version) THEN 'event' END,
                    CASE WHEN NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.req_id = a.req_id AND l.status BETWEEN 200 AND 299) THEN 'audit row' END) AS why
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[]) a(req_id, case_id, action, version)
             LEFT JOIN cases c ON c.id = a.case_id`,
          [acked.map((a) => a.reqId), acked.map((a) => a.caseId), acked.map((a) => a.action), acked.map((a) => a.version)],
        )
        const lost = lostActions.filter((r) => r.why !== '')
        // Every case of the run, acknowledged or not: all of an action or none of it.
        const halfApplied = await q<{ id: number; why: string }>(
          `WITH run AS (SELECT id, stage, version FROM cases WHERE reporter = $1),
                acts AS (SELECT x.case_id, x.id, x.action, x.to_stage,
                                CASE WHEN x.action = 'report' THEN 1 ELSE (x.payload -> 'result' ->> 'version')::int END AS version
                           FROM case_actions x JOIN run ON run.id = x.case_id),
                evs AS (SELECT (e.payload ->> 'id')::bigint AS case_id, (e.payload ->> 'version')::int AS version, e.type
                          FROM event_log e WHERE e.seq > $2 AND e.type IN ('case:created', 'case:changed') AND (e.payload ->> 'id')::bigint IN (SELECT id FROM run))
           SELECT run.id, concat_ws(', ',
                    CASE WHEN run.version <> (SELECT count(*) FROM acts WHERE acts.case_id = run.id) THEN 'version ' || run.version || ' vs ' || (SELECT count(*) FROM acts WHERE acts.case_id = run.id) || ' actions' END,
                    CASE WHEN run.stage IS DISTINCT FROM (SELECT to_stage FROM acts WHERE acts.case_id = run.id ORDER BY id DESC LIMIT 1) THEN 'stage ' || run.stage || ' is not the last action''s' END,
                    CASE WHEN EXISTS (SELECT version FROM acts WHERE case_id = run.id EXCEPT ALL SELECT version FROM evs WHERE case_id = run.id) THEN 'an action without its event' END,
                    CASE WHEN EXISTS (SELECT version FROM evs WHERE case_id = run.id EXCEPT ALL SELECT version FROM acts WHERE case_id = run.id) THEN 'an event without its action' END) AS why
             FROM run`,
          [mark, startSeq],
        )
        const broken = halfApplied.filter((r) => r.why !== '')
        const runCases = halfApplied.length
        const runActions = Number((await q<{ n: number }>(`SELECT count(*)::int AS n FROM case_actions x JOIN cases c ON c.id = x.case_id WHERE c.reporter = $1`, [mark]))[0]!.n)
        // The event log: numbered without gaps after the start, the counter at its last seq.
        const log = (await q<{ n: number; lo: string | null; hi: string | null; last: string }>(
          `SELECT count(*)::int AS n, min(seq)::text AS lo, max(seq)::text AS hi, (SELECT last::text FROM event_seq WHERE id = 1) AS last FROM event_log WHERE seq > $1`,
          [startSeq],
        ))[0]!
        const logSeqs = (await q<{ s: string }>(`SELECT seq::text AS s FROM event_log WHERE seq > $1 ORDER BY event_log.seq`, [startSeq])).map((r) => Number(r.s))
        // Readings the broker acknowledged: each stored once, with its value; each sensor's latest value its newest reading.
        const readingRows = readings.length
          ? await q<{ stored: number; rows: number }>(
              `SELECT count(r.sensor_id)::int AS stored, count(*)::int AS rows
                 FROM unnest($1::int[], $2::float8[]) p(sensor_id, t)
                 LEFT JOIN sensor_readings r ON r.sensor_id = p.sensor_id AND r.ts = to_timestamp(p.t / 1000.0)`,
              [readings.map((r) => r.sensorId), readings.map((r) => r.t)],
            )
          : [{ stored: 0, rows: 0 }]
        const lostReadings = readingRows[0]!.rows - readingRows[0]!.stored
        const duplicateReadings = readings.length
          ? Number((await q<{ n: number }>(
              `SELECT count(*)::int AS n FROM (SELECT sensor_id, ts FROM sensor_readings WHERE sensor_id = ANY($1::int[]) AND ts >= to_timestamp($2 / 1000.0) GROUP BY 1, 2 HAVING count(*) > 1) d`,
              [scenario.sensors.map((s) => s.id), base],
            ))[0]!.n)
          : 0
        const staleSensors = readings.length
          ? await q<{ code: string }>(
              `SELECT s.code FROM sensors s
                CROSS JOIN LATERAL (SELECT r.ts, r.value FROM sensor_readings r WHERE r.sensor_id = s.id ORDER BY r.ts DESC LIMIT 1) n
                WHERE s.id = ANY($1::int[]) AND (s.last_seen IS DISTINCT FROM n.ts OR s.last_value IS DISTINCT FROM n.value)`,
              [[...new Set(readings.map((r) => r.sensorId))]],
            )
          : []
        const audit = await verify(db)
        const checksMs = Date.now() - t

        // The seat: exactly the log after its start, in order, once; what it missed while the server was away came by replay.
        const seen = got.map((g) => g.e.seq)
        const replayed = got.filter((g) => g.afterRestart && g.e.seq > lastSeen && g.e.seq <= restartSeq).length
        const killedCommitted = runActions - acked.length

        console.log(
          `[crash] ${backend.name}: acked case actions ${acked.length} (${new Set(acked.map((a) => a.caseId)).size} cases; ${killedCommitted} more committed without an answer), ` +
            `acked readings ${readings.length} (${readings.filter((r) => r.phase === 'down').length} while down), ` +
            `lost ${lost.length + lostReadings} (actions ${lost.length}, readings ${lostReadings}), half-applied ${broken.length} of ${runCases} cases, ` +
            `duplicate readings ${duplicateReadings}, replayed events ${replayed} (seat saw ${seen.length}, log has ${logSeqs.length}); ` +
            `ingest after restart: received ${healthAfter.mqtt?.received ?? '-'} (${WHILE_DOWN} kept while down, the rest sent again: unacknowledged at the kill), stored ${healthAfter.mqtt?.stored ?? '-'}`,
        )
        console.log(
          `[crash] ${backend.name} timings: first start ${secs(firstStart)}, burst until kill ${secs(burstMs)}, restart ${secs(restartMs)}, checks ${secs(checksMs)}, total ${secs(Date.now() - t0)}; audit chain ${audit.ok ? 'intact' : 'BROKEN'} (${audit.rows} rows)`,
        )

        expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACTIONS)
        expect(lost, 'acknowledged case actions missing after the restart').toEqual([])
        expect(broken, 'cases half-applied').toEqual([])
        expect(Number(log.last), 'event_seq is the last seq').toBe(Number(log.hi ?? startSeq))
        expect(log.n, 'no gap in event_log seq').toBe(log.lo === null ? 0 : Number(log.hi) - Number(log.lo) + 1)
        const missing = logSeqs.filter((x) => !seen.includes(x))
        if (missing.length) {
          const rows = await q<{ seq: string; at: string; type: string; payload: unknown }>(`SELECT seq::text, at::text, type, payload FROM event_log WHERE seq = ANY($1::bigint[])`, [missing])
          console.log(`[crash] ${backend.name}: the seat missed ${JSON.stringify(rows)}; pushes per connection: ${JSON.stringify(pushed)}`)
        }
        for (const list of pushed) expect(list, 'pushes in seq order').toEqual([...list].sort((a, b) => a - b))
        expect(seen, 'the seat got every event once, in order').toEqual(logSeqs)
        expect(replayed, 'the seat replayed what happened while it was away').toBeGreaterThanOrEqual(AFTER_RESTART)
        expect(streamErrors).toEqual([])
        expect(audit.ok, JSON.stringify(audit.firstBroken)).toBe(true)
        if (MQTT_URL) {
          expect(readings.length).toBeGreaterThanOrEqual(KILL_AFTER_READINGS)
          expect(lostReadings, 'acknowledged readings missing after the restart').toBe(0)
          expect(duplicateReadings).toBe(0)
          expect(staleSensors.map((s) => s.code), 'sensors whose latest value is not their newest reading').toEqual([])
        }
      } finally {
        await db.close()
      }
    } finally {
      socket?.close()
      await device?.endAsync().catch(() => {})
      if (server) {
        await server.stop('SIGKILL')
        console.log(`[crash] ${backend.name}: server output:\n${server.output.slice(-4000)}`)
      }
      await dropMqttSession(clientId).catch((err: unknown) => console.log(`[crash] could not remove the MQTT session: ${(err as Error).message}`))
      await backend.drop()
      fs.rmSync(attachments, { recursive: true, force: true })
    }
  })
})
