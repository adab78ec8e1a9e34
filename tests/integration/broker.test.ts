/**
 * The embedded MQTT broker (no MQTT_URL) and device security: an admin issues a device its
 * credentials (shown once, stored as an argon2 hash); the device may publish its own readings,
 * which the ingest — itself a client of the broker — stores; it is refused for another device's
 * topic, with a wrong password, and when anonymous; a gateway publishes only for the devices it
 * covers; only service accounts may subscribe; revoked credentials end the connection. Every
 * refusal is logged and counted in /api/health.
 */
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import { MqttAccounts } from '../../server/ingest/accounts.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const until = (check: () => boolean | Promise<boolean>, what: string, ms = 10_000) => waitUntil(check, what, ms, 25)

interface Health {
  mqtt?: { connected: boolean; stored: number }
  broker?: { port: number; clients: number; connects: number; refused: { auth: number; publish: number; subscribe: number } }
}
interface Sensor {
  id: number
  code: string
  grid_code: string
  last_value: number | null
  last_seen: string | null
  status: string
}

const SECRET = `test-secret-${process.pid}-0123456789`

describe.each(backends())('embedded MQTT broker and device credentials on $name', ({ name, databaseUrl }) => {
  let s: TestServer
  let admin: string
  let port: number
  /** Three noise sensors: two in one grid, the third in another. */
  let one: Sensor, two: Sensor, other: Sensor
  const gateway = `gw-test-${process.pid}`
  const service = `svc-test-${process.pid}`
  const startedAt = new Date()
  const clients: mqtt.MqttClient[] = []

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_MQTT_PORT: '0', ONEGRID_MQTT_SECRET: SECRET } })
    admin = await login(s.url, 'admin')
    const pick = (where: string, params: unknown[]) =>
      s.server.db.query<Sensor>(
        `SELECT id, code, grid_code, last_value, last_seen, status FROM sensors
          WHERE type = 'noise' AND status = 'online' AND grid_code IS NOT NULL AND ${where} ORDER BY id LIMIT 2`,
        params,
      )
    const first = (await pick('true', [])).rows[0]!
    ;[one, two] = (await pick('grid_code = $1', [first.grid_code])).rows as [Sensor, Sensor]
    if (!two) two = (await pick('id <> $1', [first.id])).rows[0]!
    other = (await pick('grid_code <> $1 AND id <> $2', [one.grid_code, two.id])).rows[0]!
    const h = await health()
    expect(h.broker, 'the embedded broker runs without MQTT_URL').toBeDefined()
    port = h.broker!.port
    expect(port).toBeGreaterThan(0)
    await until(async () => (await health()).mqtt?.connected === true, 'the ingest to connect to the embedded broker', 20_000)
  })
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {})
    if (s && one) {
      const ids = [one.id, two.id, other.id]
      await s.server.db.query('DELETE FROM mqtt_accounts WHERE username = ANY($1::text[])', [[one.code, two.code, other.code, gateway, service]])
      await s.server.db.query('DELETE FROM sensor_readings WHERE sensor_id = ANY($1::int[]) AND ts >= $2', [ids, startedAt.toISOString()])
      for (const x of [one, two, other]) await s.server.db.query('UPDATE sensors SET last_value = $2, last_seen = $3, status = $4 WHERE id = $1', [x.id, x.last_value, x.last_seen, x.status])
    }
    await s?.close()
  })

  async function health(): Promise<Health> {
    return (await (await fetch(`${s.url}/api/health`)).json()) as Health
  }
  async function credentials(code: string, method = 'POST', cookie = admin): Promise<Response> {
    return fetch(`${s.url}/api/devices/${encodeURIComponent(code)}/credentials`, { method, headers: { cookie } })
  }
  async function issue(code: string): Promise<string> {
    const res = await credentials(code)
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as { username: string; password: string; topics: string[] }
    expect(body.username).toBe(code)
    expect(body.topics).toEqual([`onegrid/sensors/${code}/reading`, `onegrid/sensors/${code}/status`])
    expect(body.password.length).toBeGreaterThanOrEqual(20)
    return body.password
  }
  function connectAs(username?: string, password?: string, clientId?: string): Promise<mqtt.MqttClient> {
    return mqtt
      .connectAsync(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 4,
        clientId: clientId ?? `test-${name}-${username ?? 'anon'}-${Math.random().toString(16).slice(2, 8)}`,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
      })
      .then((c) => {
        clients.push(c)
        return c
      })
  }
  const closed = (c: mqtt.MqttClient) => (c.connected ? new Promise<void>((resolve) => c.once('close', () => resolve())) : Promise.resolve())
  const lastValue = async (id: number) => (await s.server.db.query<{ last_value: number | null }>('SELECT last_value FROM sensors WHERE id = $1', [id])).rows[0]!.last_value
  const reading = (value: number) => JSON.stringify({ ts: new Date().toISOString(), value })
  const value = () => Math.round((50 + Math.random() * 5) * 10) / 10

  it('issues device credentials to admins only, for sensors in their scope, and stores only a hash', async () => {
    const byDispatcher = await credentials(one.code, 'POST', await login(s.url, 'dispatcher'))
    expect(byDispatcher.status).toBe(403)
    expect(((await byDispatcher.json()) as { error: { message: string } }).error.message).toBe('this needs the permission devices.manage, which the dispatcher role does not hold')
    expect((await credentials('NO-SUCH-SENSOR')).status).toBe(404)
    expect((await credentials('bad code!')).status).toBe(400)
    expect((await credentials(one.code, 'DELETE')).status).toBe(404)
    const password = await issue(one.code)
    const { rows } = await s.server.db.query<{ kind: string; password_hash: string }>('SELECT kind, password_hash FROM mqtt_accounts WHERE username = $1', [one.code])
    expect(rows[0]!.kind).toBe('device')
    expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$/)
    expect(rows[0]!.password_hash).not.toContain(password)
  })

  it('a device publishes its own reading and it is ingested', async () => {
    const password = await issue(one.code)
    const device = await connectAs(one.code, password)
    const v = value()
    const sent = Date.now()
    await device.publishAsync(`onegrid/sensors/${one.code}/reading`, reading(v), { qos: 1 })
    await until(async () => (await lastValue(one.id)) === v, 'the reading to be stored')
    console.log(`[broker] ${name}: device publish → stored in ${Date.now() - sent} ms`)
    await device.endAsync()
  })

  it('a device is refused (and disconnected) for another device’s topic; the refusal is counted', async () => {
    const password = await issue(one.code)
    const device = await connectAs(one.code, password)
    const before = (await health()).broker!.refused.publish
    const twoBefore = await lastValue(two.id)
    const gone = closed(device)
    device.publish(`onegrid/sensors/${two.code}/reading`, reading(value()), { qos: 0 })
    await gone
    await until(async () => (await health()).broker!.refused.publish === before + 1, 'the publish refusal to be counted')
    // Other topics than a device's reading/status are refused too.
    const again = await connectAs(one.code, password)
    const gone2 = closed(again)
    again.publish('onegrid/commands/all', 'x', { qos: 0 })
    await gone2
    await until(async () => (await health()).broker!.refused.publish === before + 2, 'the second refusal')
    await sleep(500)
    expect(await lastValue(two.id)).toBe(twoBefore)
  })

  it('refuses a wrong password and anonymous clients, counting each', async () => {
    const password = await issue(one.code)
    const before = (await health()).broker!.refused.auth
    await expect(connectAs(one.code, `${password}x`)).rejects.toThrow(/bad username or password/i)
    await expect(connectAs(two.code, password)).rejects.toThrow(/bad username or password/i)
    await expect(connectAs()).rejects.toThrow(/not authori[sz]ed/i)
    await expect(connectAs('simulator', 'not-the-secret-at-all')).rejects.toThrow(/bad username or password/i)
    expect((await health()).broker!.refused.auth).toBe(before + 4)
  })

  it('a device cannot take over another account’s connection by reusing its client id', async () => {
    const mine = await connectAs(one.code, await issue(one.code))
    const intruder = await issue(two.code)
    const before = (await health()).broker!.refused.auth
    await expect(connectAs(two.code, intruder, mine.options.clientId)).rejects.toThrow(/identifier rejected/i)
    expect((await health()).broker!.refused.auth).toBe(before + 1)
    await sleep(200)
    expect(mine.connected).toBe(true)
    await mine.endAsync()
  })

  it('only service accounts may subscribe: a device’s subscription is refused and counted', async () => {
    const device = await connectAs(one.code, await issue(one.code))
    const before = (await health()).broker!.refused.subscribe
    // The SUBACK carries the failure code (128) for the filter; the connection stays.
    await expect(device.subscribeAsync('onegrid/sensors/#', { qos: 0 })).rejects.toThrow(/subscribe error/i)
    expect(device.connected).toBe(true)
    expect((await health()).broker!.refused.subscribe).toBe(before + 1)
    await device.endAsync()
  })

  it('a service account reads below onegrid/sensors/, also through a $share/… subscription, and nothing else', async () => {
    const password = 'service-password-for-tests'
    await new MqttAccounts(s.server.db).upsert({ username: service, kind: 'service', password, scopePrefix: null, deviceCodes: [] })
    const reader = await connectAs(service, password)
    await reader.subscribeAsync(`$share/tests/onegrid/sensors/${one.code}/reading`, { qos: 1 })
    await expect(reader.subscribeAsync('$SYS/#', { qos: 0 })).rejects.toThrow(/subscribe error/i)
    const got = new Promise<string>((resolve) => reader.once('message', (topic) => resolve(topic)))
    const device = await connectAs(one.code, await issue(one.code))
    await device.publishAsync(`onegrid/sensors/${one.code}/reading`, reading(value()), { qos: 1 })
    expect(await got).toBe(`onegrid/sensors/${one.code}/reading`)
    // A service account never publishes.
    const gone = closed(reader)
    reader.publish(`onegrid/sensors/${one.code}/reading`, reading(value()), { qos: 0 })
    await gone
    await device.endAsync()
  })

  it('a gateway publishes for the devices it covers (by code or grid prefix) and no others', async () => {
    const password = 'gateway-password-for-tests'
    await new MqttAccounts(s.server.db).upsert({ username: gateway, kind: 'gateway', password, scopePrefix: other.grid_code, deviceCodes: [one.code] })
    const gw = await connectAs(gateway, password)
    const [v1, v3] = [value(), value()]
    await gw.publishAsync(`onegrid/sensors/${one.code}/reading`, reading(v1), { qos: 1 })
    await gw.publishAsync(`onegrid/sensors/${other.code}/reading`, reading(v3), { qos: 1 })
    await until(async () => (await lastValue(one.id)) === v1 && (await lastValue(other.id)) === v3, 'both readings stored')
    const before = (await health()).broker!.refused.publish
    const twoBefore = await lastValue(two.id)
    const gone = closed(gw)
    gw.publish(`onegrid/sensors/${two.code}/reading`, reading(value()), { qos: 0 })
    await gone
    await until(async () => (await health()).broker!.refused.publish === before + 1, 'the gateway refusal')
    await sleep(500)
    expect(await lastValue(two.id)).toBe(twoBefore)
  })

  it('the simulator account (ONEGRID_MQTT_SECRET) publishes for any device', async () => {
    const sim = await connectAs('simulator', SECRET)
    const v = value()
    await sim.publishAsync(`onegrid/sensors/${two.code}/reading`, reading(v), { qos: 1 })
    await until(async () => (await lastValue(two.id)) === v, 'the simulator’s reading stored')
    await sim.endAsync()
  })

  it('revoking a device’s credentials ends its connection and its password stops working', async () => {
    const password = await issue(two.code)
    const device = await connectAs(two.code, password)
    const gone = closed(device)
    const res = await credentials(two.code, 'DELETE')
    expect(res.status).toBe(204)
    await gone
    await expect(connectAs(two.code, password)).rejects.toThrow(/bad username or password/i)
    // A new password replaces the old one: the old stops working at once.
    const first = await issue(one.code)
    const second = await issue(one.code)
    await expect(connectAs(one.code, first)).rejects.toThrow(/bad username or password/i)
    await (await connectAs(one.code, second)).endAsync()
  })

  it('says in /api/health that the ingest is connected, and what the broker refused', async () => {
    const h = await health()
    expect(h.mqtt?.connected).toBe(true)
    expect(h.broker).toMatchObject({ port })
    expect(h.broker!.clients).toBeGreaterThanOrEqual(1)
    expect(h.broker!.refused.auth).toBeGreaterThanOrEqual(4)
    expect(h.broker!.refused.publish).toBeGreaterThanOrEqual(3)
    expect(h.broker!.refused.subscribe).toBeGreaterThanOrEqual(1)
  })
})
