/**
 * A reading above threshold, published by a real MQTT client to the real broker (Mosquitto;
 * MQTT_URL), raises an alarm a connected socket client receives; acknowledging it is recorded
 * with the user. Bad messages are dropped with a reason and counted, never stalling the others.
 */
import mqtt from 'mqtt'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import { EventStream, type DomainEvent } from '../../web/services/eventStream.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const url = process.env.MQTT_URL
if (!url && process.env.CI === 'true') throw new Error('CI=true but MQTT_URL is not set: .ci/run starts Mosquitto and sets it')
if (!url) console.warn('mqtt-alarm: skipped — set MQTT_URL to a broker (e.g. mqtt://127.0.0.1:1883, Mosquitto)')


interface Health {
  mqtt: { connected: boolean; received: number; stored: number; dropped: Record<string, number> }
}

describe.skipIf(!url).each(backends())('MQTT ingest and alarms on $name', ({ name, databaseUrl }) => {
  let s: TestServer
  /** The city-wide dispatcher: watches and handles the alarms. */
  let dispatcher: string
  let device: mqtt.MqttClient
  let socket: Socket
  const got: DomainEvent[] = []
  let sensor: { id: number; code: string; status: string; alarm: number }
  /** Readings this run sends are stamped from here on (the database may hold earlier runs'). */
  const startedAt = new Date()

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { MQTT_URL: url! } })
    dispatcher = await login(s.url, 'dispatcher')
    // A sensor without an open threshold or rate alarm, of a type with no rate rule (so one reading
    // raises exactly one alarm); an offline alarm (a scheduler may have raised one on a shared
    // database) is resolved by the reading and not counted.
    const { rows } = await s.server.db.query<{ id: number; code: string; status: string; alarm: number }>(
      `SELECT id, code, status, (thresholds ->> 'alarm')::float8 AS alarm FROM sensors
        WHERE thresholds ? 'alarm' AND coalesce(thresholds ->> 'direction', 'above') = 'above'
          AND NOT EXISTS (SELECT 1 FROM alarm_rules r WHERE r.sensor_type = sensors.type AND r.kind = 'rate')
          AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = sensors.id AND a.resolved_at IS NULL AND a.kind <> 'offline')
        ORDER BY id LIMIT 1`,
    )
    sensor = rows[0]!
    socket = connect(s.url, { path: '/socket.io', extraHeaders: { cookie: dispatcher }, transports: ['websocket'], autoConnect: false })
    new EventStream(socket, (e) => got.push(e))
    const hello = new Promise<void>((resolve) => socket.once('hello', () => resolve()))
    socket.connect()
    await hello
    device = await mqtt.connectAsync(url!, { clientId: `test-device-${process.pid}-${name}` })
    // The server's subscription is in place once its health says connected (and a moment more).
    const start = Date.now()
    while (!((await health()).mqtt?.connected)) {
      if (Date.now() - start > 20_000) throw new Error('the server did not connect to the broker')
      await sleep(100)
    }
    await sleep(300)
  })
  afterAll(async () => {
    socket?.close()
    await device?.endAsync()
    if (sensor) {
      await s?.server.db.query('DELETE FROM alarms WHERE sensor_id = $1 AND raised_at >= $2', [sensor.id, startedAt.toISOString()])
      await s?.server.db.query('DELETE FROM sensor_readings WHERE sensor_id = $1 AND ts >= $2', [sensor.id, startedAt.toISOString()])
      await s?.server.db.query('UPDATE sensors SET status = $2 WHERE id = $1', [sensor.id, sensor.status])
    }
    await s?.close()
  })

  async function health(): Promise<Health> {
    return (await (await fetch(`${s.url}/api/health`)).json()) as Health
  }
  const publish = (code: string, body: unknown) =>
    device.publishAsync(`onegrid/sensors/${code}/reading`, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 })
  const until = (check: () => boolean | Promise<boolean>, what: string, ms = 10_000) => waitUntil(check, what, ms, 20)

  it('a reading above the alarm threshold raises one alarm that a connected client receives', async () => {
    const sent = Date.now()
    await publish(sensor.code, { ts: new Date().toISOString(), value: sensor.alarm + 1 })
    await until(() => got.some((e) => e.type === 'alarm:raised' && e.payload.sensorId === sensor.id && e.payload.kind === 'threshold'), 'alarm:raised')
    console.log(`[mqtt] ${name}: publish → alarm:raised at the client in ${Date.now() - sent} ms`)
    const raised = got.find((e) => e.type === 'alarm:raised' && e.payload.sensorId === sensor.id && e.payload.kind === 'threshold')!
    expect(raised.payload).toMatchObject({ code: sensor.code, value: sensor.alarm + 1, threshold: sensor.alarm, kind: 'threshold' })
    // Still above: the same alarm stays open, no second one.
    await publish(sensor.code, { ts: new Date(Date.now() + 1000).toISOString(), value: sensor.alarm + 5 })
    await sleep(800)
    expect(got.filter((e) => e.type === 'alarm:raised' && e.payload.sensorId === sensor.id && e.payload.kind === 'threshold')).toHaveLength(1)
    const { rows } = await s.server.db.query<{ status: string; last_value: number; n: number; readings: number }>(
      `SELECT s.status, s.last_value, (SELECT count(*)::int FROM alarms WHERE sensor_id = s.id AND kind = 'threshold' AND raised_at >= $2) AS n,
              (SELECT count(*)::int FROM sensor_readings WHERE sensor_id = s.id AND ts >= $2) AS readings
         FROM sensors s WHERE s.id = $1`,
      [sensor.id, startedAt.toISOString()],
    )
    expect(rows[0]).toEqual({ status: 'alarm', last_value: sensor.alarm + 5, n: 1, readings: 2 })
  })

  it('acknowledging the alarm records who and when, tells the clients, and cannot be done twice', async () => {
    const alarm = got.find((e) => e.type === 'alarm:raised' && e.payload.sensorId === sensor.id && e.payload.kind === 'threshold')!
    const id = Number(alarm.payload.id)
    // The system admin handles no alarms: refused, nothing recorded.
    const byAdmin = await fetch(`${s.url}/api/alarms/${id}/ack`, { method: 'POST', headers: { cookie: await login(s.url, 'admin'), 'content-type': 'application/json' }, body: '{}' })
    expect(byAdmin.status).toBe(403)
    expect((await byAdmin.json()).error.message).toBe('this needs the permission alarms.handle, which the admin role does not hold')
    const ack = await fetch(`${s.url}/api/alarms/${id}/ack`, {
      method: 'POST',
      headers: { cookie: dispatcher, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: '已派人核查' }),
    })
    expect(ack.status).toBe(200)
    expect(await ack.json()).toMatchObject({ id, ackedBy: 'dispatcher', comment: '已派人核查' })
    await until(() => got.some((e) => e.type === 'alarm:acked' && e.payload.id === id), 'alarm:acked')
    const { rows } = await s.server.db.query<{ acked_by: string; ack_comment: string; acked: boolean }>(
      'SELECT acked_by, ack_comment, acked_at IS NOT NULL AS acked FROM alarms WHERE id = $1',
      [id],
    )
    expect(rows[0]).toEqual({ acked_by: 'dispatcher', ack_comment: '已派人核查', acked: true })
    const again = await fetch(`${s.url}/api/alarms/${id}/ack`, { method: 'POST', headers: { cookie: dispatcher, 'content-type': 'application/json' }, body: '{}' })
    expect(again.status).toBe(409)
    const supervisor = await login(s.url, 'supervisor')
    const other = await s.server.db.query<{ id: number }>(`SELECT id FROM alarms WHERE grid_code IS NULL OR grid_code NOT LIKE '310101013%' ORDER BY id LIMIT 1`)
    if (other.rows[0]) {
      const res = await fetch(`${s.url}/api/alarms/${other.rows[0].id}/ack`, { method: 'POST', headers: { cookie: supervisor, 'content-type': 'application/json' }, body: '{}' })
      expect(res.status).toBe(404)
    }
    const bad = await fetch(`${s.url}/api/alarms/${id}/ack`, { method: 'POST', headers: { cookie: dispatcher, 'content-type': 'application/json' }, body: JSON.stringify({ comment: 'x'.repeat(501) }) })
    expect(bad.status).toBeGreaterThanOrEqual(400)
    expect(bad.status).toBeLessThan(500)
  })

  it('drops malformed, unknown-device and future readings with a reason and a counter, and goes on with the good ones', async () => {
    const before = (await health()).mqtt
    await publish(sensor.code, 'not json')
    await publish(sensor.code, { ts: 'yesterday', value: 1 })
    await publish(sensor.code, { ts: new Date().toISOString(), value: 'high' })
    await publish('NO-SUCH-DEVICE', { ts: new Date().toISOString(), value: 1 })
    await publish(sensor.code, { ts: new Date(Date.now() + 86_400_000).toISOString(), value: 1 })
    const ts = new Date(Date.now() + 2000).toISOString()
    await publish(sensor.code, { ts, values: { [(await unit()) ?? 'value']: 1.5 } })
    let after = before
    const start = Date.now()
    while (Date.now() - start < 10_000) {
      after = (await health()).mqtt
      if (after.stored > before.stored && after.dropped.future > before.dropped.future) break
      await sleep(100)
    }
    expect(after.dropped.malformed - before.dropped.malformed).toBe(3)
    expect(after.dropped.unknownDevice - before.dropped.unknownDevice).toBe(1)
    expect(after.dropped.future - before.dropped.future).toBe(1)
    expect(after.stored - before.stored).toBe(1)
    const { rows } = await s.server.db.query<{ value: number }>('SELECT value FROM sensor_readings WHERE sensor_id = $1 AND ts = $2', [sensor.id, ts])
    expect(rows[0]?.value).toBe(1.5)
  })

  async function unit(): Promise<string | null> {
    const { rows } = await s.server.db.query<{ unit: string | null }>(`SELECT thresholds ->> 'unit' AS unit FROM sensors WHERE id = $1`, [sensor.id])
    return rows[0]?.unit ?? null
  }
})
