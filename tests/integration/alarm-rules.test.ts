/**
 * Alarm rules as data (migration 009), through the real ingest path (server/ingest/mqtt.ts) on
 * the embedded database and the real PostGIS: hysteresis, rate of change, offline and reminder
 * jobs driven by a chosen clock, manual resolution over HTTP, the status topic, the national
 * air-quality feed format, bad input counted — and acceptance 5: alarms of one type close in
 * place and time open one case, also when they come in one batch or in two racing batches.
 *
 * The run works on sensors of its own (codes T5-<run>-…, removed afterwards with their cases) and
 * its own MQTT topic root and shared-subscription group, so other servers on the same broker or
 * database neither see its messages nor disturb its counters. Readings are stamped around the
 * real time (a scheduler of any server on a shared database runs the same jobs on the real clock;
 * nothing here is older than those jobs' limits when it matters).
 */
import fs from 'node:fs'
import path from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import { alarmJobs } from '../../server/alarms/jobs.ts'
import { projectRoot } from '../../server/config.ts'
import type { Db } from '../../server/db/index.ts'
import { MqttIngest } from '../../server/ingest/mqtt.ts'
import { createLogger } from '../../server/log.ts'
import { EventLog } from '../../server/realtime/event-log.ts'
import type { TelemetryItem } from '../../server/realtime/telemetry.ts'
import { TileCache } from '../../tiles/cache.ts'
import { TileInvalidator } from '../../tiles/invalidation.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const mqttUrl = process.env.MQTT_URL
if (!mqttUrl && process.env.CI === 'true') throw new Error('CI=true but MQTT_URL is not set: .ci/run starts Mosquitto and sets it')
if (!mqttUrl) console.warn('alarm-rules: the over-the-broker case runs through the ingest directly — set MQTT_URL (Mosquitto) to send it over MQTT')

const iso = (ms: number) => new Date(ms).toISOString()
const MIN = 60_000
/** Degrees of longitude per metre at Shanghai's latitude. */
const LON_M = 1 / (111_320 * Math.cos((31.23 * Math.PI) / 180))
const LAT_M = 1 / 110_540

interface Ev {
  seq: number
  type: string
  payload: Record<string, unknown>
}

describe.each(backends())('alarm rules on $name', ({ databaseUrl }) => {
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`.toUpperCase()
  const prefix = `T5-${run}-`
  const root = `t5-${run.toLowerCase()}`
  let s: TestServer
  let db: Db
  let events: EventLog
  let tiles: TileInvalidator
  let ingest: MqttIngest
  const offered: TelemetryItem[] = []
  /** The city-wide dispatcher: reads and handles the alarms. */
  let dispatcher: string
  let startSeq = 0
  /** Where this run's sensors stand: a point in a grid outside the supervisor's street, jittered per run. */
  let P: { lon: number; lat: number; grid: string }
  const ids = new Map<string, number>()
  const log = createLogger('silent')

  const at = (east: number, north: number) => ({ lon: P.lon + east * LON_M, lat: P.lat + north * LAT_M })
  async function addSensor(key: string, type: string, thresholds: Record<string, unknown>, where: { lon: number; lat: number }, grid: string | null = P.grid) {
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO sensors (code, type, name, unit, thresholds, grid_code, geom)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, ST_SetSRID(ST_MakePoint($7, $8), 4326)) RETURNING id`,
      [prefix + key, type, `测试${type}${key}`, String(thresholds.unit ?? ''), JSON.stringify(thresholds), grid, where.lon, where.lat],
    )
    ids.set(key, rows[0]!.id)
  }
  const code = (key: string) => prefix + key
  const id = (key: string) => ids.get(key)!
  const reading = (key: string, t: number, value: number, to: MqttIngest = ingest) => to.handle(`${root}/sensors/${code(key)}/reading`, JSON.stringify({ ts: iso(t), value }))
  const GAS = { warn: 10, alarm: 25, unit: '%LEL', direction: 'above' }
  const NOISE = { warn: 70, alarm: 80, unit: 'dB(A)', direction: 'above' }

  async function eventsOf(...types: string[]): Promise<Ev[]> {
    const { rows } = await db.query<{ seq: string; type: string; payload: Record<string, unknown> }>(
      'SELECT seq, type, payload FROM event_log WHERE seq > $1 AND type = ANY($2::text[]) ORDER BY seq',
      [startSeq, types],
    )
    return rows.map((r) => ({ seq: Number(r.seq), type: r.type, payload: r.payload }))
  }
  const aboutSensor = (key: string) => (e: Ev) => e.payload.sensorId === id(key) || (e.type === 'sensor:status' && e.payload.id === id(key))
  async function alarmsOf(key: string) {
    return (
      await db.query<{ id: number; kind: string; value: number; threshold: number; raised_at: Date; resolved_at: Date | null; resolved_by: string | null; case_id: number | null; reminder_count: number }>(
        'SELECT id, kind, value, threshold, raised_at, resolved_at, resolved_by, case_id, reminder_count FROM alarms WHERE sensor_id = $1 ORDER BY id',
        [id(key)],
      )
    ).rows
  }
  async function statusOf(key: string) {
    return (await db.query<{ status: string; device_status: string; battery: number | null; rssi: number | null }>('SELECT status, device_status, battery, rssi FROM sensors WHERE id = $1', [id(key)])).rows[0]!
  }
  const until = (check: () => boolean | Promise<boolean>, what: string, ms = 15_000) => waitUntil(check, what, ms, 50)
  async function cleanup(like: string) {
    await db.query(`DELETE FROM cases WHERE id IN (SELECT a.case_id FROM alarms a JOIN sensors s ON s.id = a.sensor_id WHERE s.code LIKE $1)`, [like])
    await db.query('DELETE FROM sensors WHERE code LIKE $1', [like])
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    db = s.server.db
    dispatcher = await login(s.url, 'dispatcher')
    // Runs that stopped before cleaning up leave their sensors and cases: gone first.
    await cleanup('T5-%')
    const { rows } = await db.query<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat FROM (
         SELECT code, ST_PointOnSurface(geom) AS p FROM grids WHERE code NOT LIKE '310101013%' ORDER BY random() LIMIT 1) g`,
    )
    P = { grid: rows[0]!.code, lon: rows[0]!.lon + (Math.random() - 0.5) * 40 * LON_M, lat: rows[0]!.lat + (Math.random() - 0.5) * 40 * LAT_M }
    // Acceptance 5: A and B 50 m apart, C 5 km away, D 30 m from A (later); E/F and G/H pairs 2 and 4 km off.
    await addSensor('GA', 'gas', GAS, at(0, 0))
    await addSensor('GB', 'gas', GAS, at(50, 0))
    await addSensor('GC', 'gas', GAS, at(5000, 0), null)
    await addSensor('GD', 'gas', GAS, at(0, 30))
    await addSensor('GE', 'gas', GAS, at(0, 2000), null)
    await addSensor('GF', 'gas', GAS, at(50, 2000), null)
    await addSensor('GG', 'gas', GAS, at(0, 4000), null)
    await addSensor('GH', 'gas', GAS, at(40, 4030), null)
    await addSensor('N1', 'noise', NOISE, at(-500, 0))
    await addSensor('N2', 'noise', NOISE, at(-520, 0))
    await addSensor('N3', 'noise', NOISE, at(-540, 0))
    await addSensor('W1', 'water_level', { warn: 4.5, alarm: 4.8, unit: 'm', direction: 'above' }, at(-600, 0))
    await addSensor('S1', 'smoke', { warn: 3, alarm: 6, unit: '%obs/m', direction: 'above' }, at(-700, 0))
    await addSensor('AQ', 'air_quality', { warn: 100, alarm: 150, unit: 'AQI', direction: 'above' }, at(-800, 0))
    await addSensor('O1', 'gas', GAS, at(-900, 0))
    // A level that is bad when low, with its own clear level.
    await addSensor('L1', 'dust', { warn: 15, alarm: 10, clear: 20, unit: 'µg/m³', direction: 'below' }, at(-1000, 0))
    events = new EventLog(db)
    events.bind(s.server.io)
    tiles = new TileInvalidator(new TileCache({ maxBytes: 1024 * 1024, maxEntries: 100 }))
    ingest = new MqttIngest({ url: mqttUrl ?? 'mqtt://127.0.0.1:1', db, events, tiles, log, topicRoot: root, group: root, tz: 'Asia/Shanghai', telemetry: { offer: (i) => offered.push(i) } })
    await ingest.warm()
    startSeq = await events.last()
  })
  afterAll(async () => {
    await ingest?.close()
    if (db) await cleanup(`${prefix}%`)
    await s?.close()
  })

  it('two alarms of one type within the window and distance open one case; one far away or after the window opens another (acceptance 5)', async () => {
    const t0 = Date.now() - 40 * MIN
    const send: [string, number, number][] = [['GA', t0, 30], ['GB', t0 + 20_000, 40], ['GC', t0 + 30_000, 35]]
    if (mqttUrl) {
      ingest.start()
      await until(() => ingest.stats.connected, 'the ingest to subscribe')
      await sleep(300)
      const device = await mqtt.connectAsync(mqttUrl, { clientId: `t5-device-${run}-${Math.random().toString(16).slice(2, 6)}` })
      const sent = Date.now()
      for (const [k, t, v] of send) await device.publishAsync(`${root}/sensors/${code(k)}/reading`, JSON.stringify({ ts: iso(t), value: v }), { qos: 1 })
      await until(async () => (await eventsOf('case:created', 'case:alarm-linked')).filter((e) => [id('GA'), id('GB'), id('GC')].includes(e.payload.sensorId as number)).length === 3, 'three alarms in cases')
      console.log(`[alarm-rules] publish → alarms in cases ${Date.now() - sent} ms (over ${mqttUrl})`)
      await device.endAsync()
    } else {
      for (const [k, t, v] of send) reading(k, t, v)
      await ingest.flush()
    }
    // D: next to A, 40 minutes later — outside the 30-minute window of the gas rule.
    reading('GD', Date.now() - MIN, 28)
    await ingest.flush()

    const [a, b, c, d] = await Promise.all(['GA', 'GB', 'GC', 'GD'].map(async (k) => (await alarmsOf(k)).find((x) => x.kind === 'threshold')!))
    expect(a!.case_id).not.toBeNull()
    expect(b!.case_id).toBe(a!.case_id)
    expect(c!.case_id).not.toBeNull()
    expect(c!.case_id).not.toBe(a!.case_id)
    expect(d!.case_id).not.toBeNull()
    expect(new Set([a!.case_id, c!.case_id, d!.case_id]).size).toBe(3)

    const { rows: cases } = await db.query<{ id: number; code: string; source: string; stage: string; category_code: string; urgency: string; grid_code: string | null; description: string; actions: string[] }>(
      `SELECT c.id, c.code, c.source, c.stage, c.category_code, c.urgency, c.grid_code, c.description,
              array(SELECT action || ':' || actor FROM case_actions WHERE case_id = c.id ORDER BY id) AS actions
         FROM cases c WHERE c.id = $1`,
      [a!.case_id],
    )
    expect(cases[0]).toMatchObject({ source: 'sensor', stage: 'reported', category_code: 'E0403', urgency: 'critical', grid_code: P.grid })
    expect(cases[0]!.code).toMatch(/^C\d{13}$/)
    expect(cases[0]!.description).toContain(code('GA'))
    expect(cases[0]!.description).toContain('30')
    expect(cases[0]!.actions).toEqual(['report:system', 'link_alarm:system'])

    const created = (await eventsOf('case:created')).filter((e) => [id('GA'), id('GC'), id('GD')].includes(e.payload.sensorId as number))
    const linked = (await eventsOf('case:alarm-linked')).filter((e) => e.payload.caseId === a!.case_id)
    expect(created).toHaveLength(3)
    expect(linked.map((e) => e.payload)).toEqual([expect.objectContaining({ alarmId: b!.id, sensorId: id('GB'), caseCode: cases[0]!.code })])
    const raisedB = (await eventsOf('alarm:raised')).find((e) => e.payload.id === b!.id)!
    expect(raisedB.payload).toMatchObject({ caseId: a!.case_id, caseCode: cases[0]!.code, kind: 'threshold', value: 40 })
  })

  it('also in one batch, and when two batches race (two ingest processes), close alarms share one case', async () => {
    const t = Date.now() - 2 * MIN
    // One batch: G and H arrive together.
    reading('GG', t, 30)
    reading('GH', t + 500, 31)
    await ingest.flush()
    const [g, h] = await Promise.all(['GG', 'GH'].map(async (k) => (await alarmsOf(k))[0]!))
    expect(g!.case_id).not.toBeNull()
    expect(h!.case_id).toBe(g!.case_id)
    // Two processes: E through one ingest, F through another, written at the same time.
    const other = new MqttIngest({ url: 'mqtt://127.0.0.1:1', db, events: new EventLog(db), tiles, log, topicRoot: root, group: root })
    await other.warm()
    reading('GE', t, 30)
    reading('GF', t + 100, 30, other)
    await Promise.all([ingest.flush(), other.flush()])
    await other.close()
    const [e, f] = await Promise.all(['GE', 'GF'].map(async (k) => (await alarmsOf(k))[0]!))
    expect(e!.case_id).not.toBeNull()
    expect(f!.case_id).toBe(e!.case_id)
  })

  it('threshold with hysteresis: raised at the alarm level, still open between clear and alarm, resolved at or below clear, raised anew after', async () => {
    const t = Date.now() - 3 * MIN
    const step = async (dt: number, v: number) => {
      reading('N1', t + dt, v)
      await ingest.flush()
    }
    await step(0, 85)
    expect(await alarmsOf('N1')).toMatchObject([{ kind: 'threshold', value: 85, threshold: 80, resolved_at: null }])
    expect((await statusOf('N1')).status).toBe('alarm')
    await step(10_000, 78)
    expect((await alarmsOf('N1'))[0]!.resolved_at).toBeNull()
    await step(20_000, 74)
    const resolved = await alarmsOf('N1')
    expect(resolved[0]!.resolved_at).not.toBeNull()
    expect(resolved[0]!.resolved_by).toBe('system')
    expect((await statusOf('N1')).status).toBe('online')
    await step(30_000, 86)
    const all = await alarmsOf('N1')
    expect(all).toHaveLength(2)
    expect(all[1]).toMatchObject({ value: 86, resolved_at: null })
    const evs = (await eventsOf('alarm:raised', 'alarm:resolved', 'sensor:status')).filter(aboutSensor('N1'))
    expect(evs.map((e) => (e.type === 'sensor:status' ? `status:${e.payload.status}` : e.type))).toEqual([
      'alarm:raised', 'status:alarm', 'alarm:resolved', 'status:online', 'alarm:raised', 'status:alarm',
    ])
    expect(evs[2]!.payload).toMatchObject({ id: all[0]!.id, by: 'system', value: 74 })
    // Live screens got every accepted reading at once, with the sensor's place and scope.
    expect(offered.filter((o) => o.id === id('N1')).map((o) => o.data.value)).toEqual([85, 78, 74, 86])
    expect(offered.find((o) => o.id === id('N1'))).toMatchObject({ kind: 'sensor', scope: P.grid, ts: iso(t) })
  })

  it('direction below with the sensor\'s own clear level: raised at or under the level, resolved at or over clear', async () => {
    const t = Date.now() - 3 * MIN
    const steps: [number, number, boolean][] = [[0, 12, false], [10_000, 9, true], [20_000, 15, true], [30_000, 19.9, true], [40_000, 20, false]]
    for (const [dt, v, open] of steps) {
      reading('L1', t + dt, v)
      await ingest.flush()
      const alarms = await alarmsOf('L1')
      expect(alarms.some((a) => a.resolved_at === null), `after ${v}`).toBe(open)
    }
    expect(await alarmsOf('L1')).toMatchObject([{ kind: 'threshold', value: 9, threshold: 10 }])
  })

  it('rate of change: a water level rising fast over the rule\'s span raises a rate alarm; settling resolves it', async () => {
    // The water-level rule measures over 5 minutes: 0.05 m a minute is 0.25 m in 5 minutes.
    const t = Date.now() - 20 * MIN
    const step = async (dt: number, v: number) => {
      reading('W1', t + dt, v)
      await ingest.flush()
    }
    await step(0, 2.8)
    await step(2 * MIN, 3.5) // nothing 5 minutes older yet: no rate
    await step(5 * MIN, 2.81)
    expect(await alarmsOf('W1')).toEqual([])
    await step(10 * MIN, 4.0)
    const [rate] = await alarmsOf('W1')
    expect(rate).toMatchObject({ kind: 'rate', threshold: 0.05, resolved_at: null })
    expect(rate!.value).toBeCloseTo((4.0 - 2.81) / 5, 5)
    await step(15 * MIN, 4.02)
    const after = await alarmsOf('W1')
    expect(after).toHaveLength(1)
    expect(after[0]!.resolved_at).not.toBeNull()
    const evs = (await eventsOf('alarm:raised', 'alarm:resolved')).filter(aboutSensor('W1'))
    expect(evs.map((e) => `${e.type}:${e.payload.kind}`)).toEqual(['alarm:raised:rate', 'alarm:resolved:rate'])
  })

  it('reminds of an unacknowledged alarm once per interval, and not after it is acknowledged', async () => {
    const t = Date.now() - 5_000
    reading('N2', t, 90)
    await ingest.flush()
    const [alarm] = await alarmsOf('N2')
    const remind = alarmJobs({ db, events, tiles, log, tz: 'Asia/Shanghai' }).find((j) => j.name === 'alarms:remind')!
    const mine = async () => (await eventsOf('alarm:reminder')).filter((e) => e.payload.id === alarm!.id)
    // A run takes the most overdue first, a limited number: on a shared database others' alarms
    // may come first, so each instant is run a few times (a second run at one instant repeats nothing).
    const at = async (ms: number) => {
      for (let i = 0; i < 5; i++) await remind.run(new Date(t + ms))
    }
    // The noise rule repeats every 30 minutes.
    await at(1799_000)
    expect(await mine()).toHaveLength(0)
    await at(1800_000)
    await at(1801_000)
    expect((await mine()).map((e) => e.payload.count)).toEqual([1])
    await at(3600_000)
    expect((await mine()).map((e) => e.payload.count)).toEqual([1, 2])
    expect((await alarmsOf('N2'))[0]!.reminder_count).toBe(2)
    const ack = await fetch(`${s.url}/api/alarms/${alarm!.id}/ack`, { method: 'POST', headers: { cookie: dispatcher, 'content-type': 'application/json' }, body: '{}' })
    expect(ack.status).toBe(200)
    await at(9000_000)
    expect(await mine()).toHaveLength(2)
  })

  it('POST /api/alarms/:id/resolve: 422 bad body, 404 unknown or outside the scope, 403 other roles, 200 once with the user, then 409', async () => {
    const [alarm] = await alarmsOf('N2')
    const post = (who: string, alarmId: number | string, body: unknown) =>
      fetch(`${s.url}/api/alarms/${alarmId}/resolve`, { method: 'POST', headers: { cookie: who, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await post(dispatcher, alarm!.id, { comment: 'x'.repeat(501) })).status).toBe(422)
    expect((await post(dispatcher, alarm!.id, { note: 'no such field' })).status).toBe(422)
    expect((await post(dispatcher, 999_999_999, {})).status).toBe(404)
    expect((await post(dispatcher, 'abc', {})).status).toBe(400)
    expect((await post(await login(s.url, 'supervisor'), alarm!.id, {})).status).toBe(404)
    expect((await post(await login(s.url, 'wall'), alarm!.id, {})).status).toBe(403)
    // The system admin handles no alarms.
    const byAdmin = await post(await login(s.url, 'admin'), alarm!.id, {})
    expect(byAdmin.status).toBe(403)
    expect((await byAdmin.json()).error.message).toBe('this needs the permission alarms.handle, which the admin role does not hold')
    const ok = await post(dispatcher, alarm!.id, { comment: '现场核实：施工已停止' })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ id: alarm!.id, resolvedBy: 'dispatcher', comment: '现场核实：施工已停止' })
    const again = await post(dispatcher, alarm!.id, {})
    expect(again.status).toBe(409)
    const resolved = (await eventsOf('alarm:resolved')).filter((e) => e.payload.id === alarm!.id)
    expect(resolved.map((e) => e.payload)).toEqual([expect.objectContaining({ by: 'dispatcher', comment: '现场核实：施工已停止', kind: 'threshold' })])
    expect((await statusOf('N2')).status).toBe('online')
  })

  it('GET /api/alarms lists by state and time within the scope', async () => {
    const since = iso(Date.now() - 60 * MIN)
    const list = async (who: string, q: string) => {
      const res = await fetch(`${s.url}/api/alarms?${q}`, { headers: { cookie: who } })
      return { status: res.status, body: (await res.json()) as { alarms: { id: number; state: string; code: string; resolvedBy: string | null; caseCode: string | null }[] } }
    }
    const [n1] = (await alarmsOf('N1')).slice(-1)
    const [n2] = await alarmsOf('N2')
    const open = await list(dispatcher, `state=open&since=${encodeURIComponent(since)}&limit=1000`)
    expect(open.status).toBe(200)
    expect(open.body.alarms.find((a) => a.id === n1!.id)).toMatchObject({ state: 'open', code: code('N1') })
    expect(open.body.alarms.some((a) => a.id === n2!.id)).toBe(false)
    expect(open.body.alarms.every((a) => a.state === 'open')).toBe(true)
    const done = await list(dispatcher, `state=acked,resolved&since=${encodeURIComponent(since)}&limit=1000`)
    expect(done.body.alarms.find((a) => a.id === n2!.id)).toMatchObject({ state: 'resolved', resolvedBy: 'dispatcher' })
    const ga = (await alarmsOf('GA'))[0]!
    expect((await list(dispatcher, `since=${encodeURIComponent(iso(Date.now() - 120 * MIN))}&limit=1000`)).body.alarms.find((a) => a.id === ga.id)?.caseCode).toMatch(/^C\d{13}$/)
    // Roles holding alarms.read may read the list (the wall's ticker); the system admin may not.
    expect((await list(await login(s.url, 'wall'), 'limit=5')).status).toBe(200)
    expect((await list(await login(s.url, 'admin'), 'limit=5')).status).toBe(403)
    const outside = await list(await login(s.url, 'supervisor'), `since=${encodeURIComponent(since)}&limit=1000`)
    expect(outside.body.alarms.some((a) => a.code.startsWith(prefix))).toBe(false)
    expect((await list(dispatcher, 'state=bogus')).status).toBe(400)
    expect((await list(dispatcher, 'limit=0')).status).toBe(400)
    expect((await list(dispatcher, 'since=yesterday')).status).toBe(400)
  })

  it('the status topic sets what the device says: fault shows as offline with battery and rssi, online brings it back', async () => {
    const t = Date.now() - 30_000
    const status = (body: unknown) => ingest.handle(`${root}/sensors/${code('S1')}/status`, JSON.stringify(body))
    const before = ingest.stats.dropped.malformed
    status({ ts: iso(t), status: 'fault', battery: 12, rssi: -97 })
    status({ ts: iso(t), status: 'sleeping' })
    await ingest.flush()
    expect(ingest.stats.dropped.malformed - before).toBe(1)
    expect(await statusOf('S1')).toEqual({ status: 'offline', device_status: 'fault', battery: 12, rssi: -97 })
    // An older message does not undo a newer one.
    status({ ts: iso(t - 60_000), status: 'online' })
    await ingest.flush()
    expect((await statusOf('S1')).device_status).toBe('fault')
    status({ ts: iso(t + 1000), status: 'online', battery: 11 })
    await ingest.flush()
    expect(await statusOf('S1')).toEqual({ status: 'online', device_status: 'online', battery: 11, rssi: -97 })
    const evs = (await eventsOf('sensor:status')).filter(aboutSensor('S1'))
    expect(evs.map((e) => e.payload)).toEqual([
      expect.objectContaining({ status: 'offline', previous: 'online', deviceStatus: 'fault', battery: 12, rssi: -97, by: 'device' }),
      expect.objectContaining({ status: 'online', previous: 'offline', deviceStatus: 'online', by: 'device' }),
    ])
  })

  it('takes a reading in the national air-quality feed format (strings, empty = missing, China local time)', async () => {
    const [header, row] = fs
      .readFileSync(path.join(projectRoot, 'server/seed/realdata/cnemc-sample/cnemc_2022-01-01T00_beijing_shanghai.csv'), 'utf8')
      .split('\n')
    const cnemc = Object.fromEntries(header!.split(',').map((k, i) => [k, row!.split(',')[i] ?? '']))
    const t = Math.floor((Date.now() - 2 * MIN) / 1000) * 1000
    // The wall-clock time in Shanghai, without offset, as the feed writes it.
    const local = new Date(t + 8 * 3600_000).toISOString().slice(0, 19)
    const before = { ...ingest.stats.dropped }
    const send = (body: Record<string, unknown>) => ingest.handle(`${root}/sensors/${code('AQ')}/reading`, JSON.stringify(body))
    send({ ...cnemc, timepoint: local, stationcode: code('AQ'), aqi: '59' })
    send({ ...cnemc, timepoint: local, stationcode: code('AQ'), aqi: '' })
    send({ ...cnemc, timepoint: local, stationcode: '1001A', aqi: '59' })
    await ingest.flush()
    const { rows } = await db.query<{ ts: Date; value: number }>('SELECT ts, value FROM sensor_readings WHERE sensor_id = $1', [id('AQ')])
    expect(rows).toEqual([{ ts: new Date(t), value: 59 }])
    expect(ingest.stats.dropped.noMetric - before.noMetric).toBe(1)
    expect(ingest.stats.dropped.malformed - before.malformed).toBe(1)
  })

  it('drops absurd values, unknown devices and a flood beyond the per-device cap with counters; a failed write is retried, then kept', async () => {
    const t = Date.now() - 4 * MIN
    const before = { ...ingest.stats.dropped }
    reading('N3', t, 500)
    reading('W1', t, -50)
    ingest.handle(`${root}/sensors/${prefix}NO-SUCH/reading`, JSON.stringify({ ts: iso(t), value: 1 }))
    await until(() => ingest.stats.dropped.unknownDevice > before.unknownDevice, 'the unknown device to be counted')
    // A flood: 30 readings from one device in one window keep its latest 10.
    for (let i = 0; i < 30; i++) reading('N3', t + 1000 + i * 100, 50 + i * 0.1)
    await ingest.flush()
    expect(ingest.stats.dropped.absurd - before.absurd).toBe(2)
    expect(ingest.stats.dropped.unknownDevice - before.unknownDevice).toBe(1)
    expect(ingest.stats.dropped.flood - before.flood).toBe(20)
    const { rows } = await db.query<{ n: number; first: Date; last: Date }>('SELECT count(*)::int AS n, min(ts) AS first, max(ts) AS last FROM sensor_readings WHERE sensor_id = $1', [id('N3')])
    expect(rows[0]).toEqual({ n: 10, first: new Date(t + 1000 + 20 * 100), last: new Date(t + 1000 + 29 * 100) })

    // The database refuses two writes: the batch is retried once, then kept and written with the next.
    let failures = 2
    const flaky: Db = {
      kind: db.kind,
      query: db.query.bind(db),
      exec: db.exec.bind(db),
      transaction: (fn) => (failures-- > 0 ? Promise.reject(new Error('simulated write failure')) : db.transaction(fn)),
      close: async () => {},
    }
    const shaky = new MqttIngest({ url: 'mqtt://127.0.0.1:1', db: flaky, events: new EventLog(flaky), tiles, log, topicRoot: root, group: root })
    await shaky.warm()
    reading('N3', t + 60_000, 55, shaky)
    await shaky.flush()
    expect(shaky.stats).toMatchObject({ writeFailed: 2, stored: 0 })
    reading('N3', t + 61_000, 56, shaky)
    await shaky.flush()
    await shaky.close()
    expect(shaky.stats).toMatchObject({ writeFailed: 2, stored: 2, dropped: expect.objectContaining({ lost: 0 }) })
    const kept = await db.query<{ value: number }>('SELECT value FROM sensor_readings WHERE sensor_id = $1 AND ts >= $2 ORDER BY ts', [id('N3'), iso(t + 60_000)])
    expect(kept.rows.map((r) => r.value)).toEqual([55, 56])
  })

  it('offline: a sensor silent past its rule turns offline with an alarm (job on a chosen clock); its next reading resolves it', async () => {
    const t = Date.now() - MIN
    reading('O1', t, 1)
    await ingest.flush()
    const offline = alarmJobs({ db, events, tiles, log, tz: 'Asia/Shanghai' }).find((j) => j.name === 'alarms:offline')!
    // The gas rule allows 15 minutes of silence.
    await offline.run(new Date(t + 899_000))
    expect(await alarmsOf('O1')).toEqual([])
    // Other live sensors on a shared database go first (longest silent); at most a few runs reach this one.
    for (let i = 0; i < 20 && (await alarmsOf('O1')).length === 0; i++) await offline.run(new Date(t + 901_000))
    expect(await alarmsOf('O1')).toMatchObject([{ kind: 'offline', threshold: 900, resolved_at: null }])
    expect((await alarmsOf('O1'))[0]!.value).toBeCloseTo(901, 0)
    expect((await statusOf('O1')).status).toBe('offline')
    await offline.run(new Date(t + 2000_000))
    expect(await alarmsOf('O1')).toHaveLength(1)
    reading('O1', Date.now(), 2)
    await ingest.flush()
    expect((await alarmsOf('O1'))[0]!.resolved_at).not.toBeNull()
    expect((await statusOf('O1')).status).toBe('online')
    const evs = (await eventsOf('alarm:raised', 'alarm:resolved', 'sensor:status')).filter(aboutSensor('O1'))
    expect(evs.map((e) => (e.type === 'sensor:status' ? `status:${e.payload.status}` : `${e.type}:${e.payload.kind}`))).toEqual([
      'alarm:raised:offline', 'status:offline', 'alarm:resolved:offline', 'status:online',
    ])
  })
})
