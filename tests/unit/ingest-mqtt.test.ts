/**
 * The MQTT ingest's per-message work, without a database: local times of the national feed,
 * which payloads are taken, the counters of what is dropped, the per-device cap, and the live
 * value handed to the telemetry sink at once.
 */
import { describe, expect, it } from 'vitest'
import type { Db } from '../../server/db/index.ts'
import { MqttIngest, zonedTime } from '../../server/ingest/mqtt.ts'
import { createLogger } from '../../server/log.ts'
import type { EventLog } from '../../server/realtime/event-log.ts'
import type { TelemetryItem } from '../../server/realtime/telemetry.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'

describe('zonedTime', () => {
  it.each([
    ['2022-01-01T00:00:00', 'Asia/Shanghai', '2021-12-31T16:00:00.000Z'],
    ['2022-01-01 08:30', 'Asia/Shanghai', '2022-01-01T00:30:00.000Z'],
    ['2022-07-01T12:00:00', 'Europe/Berlin', '2022-07-01T10:00:00.000Z'],
    ['2022-01-01T12:00:00', 'Europe/Berlin', '2022-01-01T11:00:00.000Z'],
    ['2022-01-01T00:00:00+08:00', 'Europe/Berlin', '2021-12-31T16:00:00.000Z'],
  ])('%s in %s is %s', (wall, tz, instant) => {
    expect(new Date(zonedTime(wall, tz)).toISOString()).toBe(instant)
  })
})

function fakeIngest(offered: TelemetryItem[]): MqttIngest {
  const sensors = [
    { id: 1, code: 'AQ1', type: 'air_quality', unit: 'AQI', lon: 121.5, lat: 31.2, grid_code: '310101013001001', status: 'online', min_value: 0, max_value: 1000 },
    { id: 2, code: 'NS1', type: 'noise', unit: 'dB(A)', lon: 121.6, lat: 31.3, grid_code: null, status: 'alarm', min_value: 0, max_value: 200 },
  ]
  const db = {
    kind: 'embedded',
    query: async (sql: string, params?: unknown[]) => {
      const rows = params ? sensors.filter((s) => (params[0] as string[]).includes(s.code)) : sensors
      return { rows, rowCount: rows.length }
    },
  } as unknown as Db
  return new MqttIngest({
    url: 'mqtt://127.0.0.1:1',
    db,
    events: {} as EventLog,
    tiles: {} as TileInvalidator,
    log: createLogger('silent'),
    telemetry: { offer: (i) => offered.push(i) },
    flushMs: 60_000,
    maxPerDevice: 3,
  })
}

describe('MqttIngest.handle', () => {
  const ts = '2026-01-01T00:00:00.000Z'
  it('takes single values, metrics named like the unit, and CNEMC rows; hands each to telemetry at once', async () => {
    const offered: TelemetryItem[] = []
    const ing = fakeIngest(offered)
    await ing.warm()
    ing.handle('onegrid/sensors/NS1/reading', JSON.stringify({ ts, value: 61.5 }))
    ing.handle('onegrid/sensors/AQ1/reading', JSON.stringify({ ts, values: { pm10: 80, aqi: 72 } }))
    ing.handle('onegrid/sensors/AQ1/reading', JSON.stringify({ timepoint: '2026-01-01T09:00:00', stationcode: 'AQ1', aqi: ' 59 ', pm2_5: '' }))
    expect(offered).toEqual([
      { kind: 'sensor', id: 2, lon: 121.6, lat: 31.3, scope: null, ts, data: { value: 61.5, status: 'alarm' } },
      { kind: 'sensor', id: 1, lon: 121.5, lat: 31.2, scope: '310101013001001', ts, data: { value: 72, status: 'online' } },
      { kind: 'sensor', id: 1, lon: 121.5, lat: 31.2, scope: '310101013001001', ts: '2026-01-01T01:00:00.000Z', data: { value: 59, status: 'online' } },
    ])
    expect(ing.stats.dropped).toMatchObject({ malformed: 0, noMetric: 0, absurd: 0 })
  })

  it('counts what it drops, and keeps a flooding device to its latest readings', async () => {
    const offered: TelemetryItem[] = []
    const ing = fakeIngest(offered)
    await ing.warm()
    const send = (code: string, body: unknown, kind = 'reading') => ing.handle(`onegrid/sensors/${code}/${kind}`, typeof body === 'string' ? body : JSON.stringify(body))
    send('NS1', 'not json')
    send('NS1', { ts, value: '61' })
    send('NS1', { ts: '2026-01-01', value: 61 })
    send('NS1', { ts, status: 'asleep' }, 'status')
    send('NS1', { ts: '2099-01-01T00:00:00Z', value: 61 })
    send('NS1', { ts, value: 250 })
    send('NS1', { ts, values: { aqi: 3 } })
    send('AQ1', { timepoint: '2026-01-01T09:00:00', aqi: '—' })
    send('AQ1', { timepoint: 'yesterday', aqi: '3' })
    send('NO-SUCH', { ts, value: 1 })
    ing.handle('elsewhere/topic', 'ignored')
    for (let i = 0; i < 5; i++) send('NS1', { ts: `2026-01-01T00:00:0${i}Z`, value: 50 + i })
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setTimeout(r, 10))
    expect(ing.stats.dropped).toEqual({ malformed: 5, unknownDevice: 1, future: 1, noMetric: 2, absurd: 1, flood: 2, lost: 0 })
    expect(ing.stats.received).toBe(15)
    expect(offered.map((o) => o.data.value)).toEqual([50, 51, 52, 53, 54])
  })

  it('subscribes once per group, shared unless the broker cannot share', () => {
    const opts = { url: 'mqtt://x', db: {} as Db, events: {} as EventLog, tiles: {} as TileInvalidator, log: createLogger('silent') }
    expect(new MqttIngest(opts).subscriptions).toEqual(['$share/onegrid/onegrid/sensors/+/reading', '$share/onegrid/onegrid/sensors/+/status'])
    expect(new MqttIngest({ ...opts, protocolVersion: 4 }).subscriptions).toEqual(['onegrid/sensors/+/reading', 'onegrid/sensors/+/status'])
  })
})
