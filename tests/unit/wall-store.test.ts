/**
 * The wall's store (web/stores/useWallStore.ts): the ticker is bounded, newest first and has each
 * event once; freshness turns amber and red on a fake clock; the summary is fetched again once
 * after a burst of events (and at least every REFRESH_MAX_WAIT_MS while they keep coming); exact
 * increments are applied at once but never twice; "reconnecting" only after a first connect.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { STAGE_LABELS, STAGES } from '../../server/cases/workflow.ts'
import { SOURCES } from '../../server/cases/types.ts'
import type { WallSummary } from '../../server/wall/types.ts'
import { en } from '../../web/i18n/en.ts'
import { zhCN } from '../../web/i18n/zh-CN.ts'
import type { DomainEvent } from '../../web/services/eventStream.ts'
import { fetchWallSummary } from '../../web/services/wall.ts'
import { useConnectionStore } from '../../web/stores/useConnectionStore.ts'
import {
  DEFAULT_STALE_SECONDS,
  REFRESH_DEBOUNCE_MS,
  REFRESH_MAX_WAIT_MS,
  TICKER_SIZE,
  staleFromQuery,
  useWallStore,
} from '../../web/stores/useWallStore.ts'

vi.mock('../../web/services/wall.ts', () => ({ fetchWallSummary: vi.fn() }))
const fetchMock = vi.mocked(fetchWallSummary)

const T0 = new Date('2026-11-21T02:00:00Z').getTime()

function ev(seq: number, type: string, payload: Record<string, unknown> = {}): DomainEvent {
  return { seq, type, at: new Date(T0 + seq * 1000).toISOString(), scope: '310101002001001', payload }
}
const alarm = (seq: number, over: Record<string, unknown> = {}): DomainEvent =>
  ev(seq, 'alarm:raised', { id: seq, sensorId: 7, code: 'SM0007', name: '外滩烟感 7', sensorType: 'smoke', kind: 'threshold', value: 6.4567, threshold: 6, unit: '%obs/m', raisedAt: '', caseId: null, caseCode: null, ...over })

function fixture(recent: DomainEvent[] = []): WallSummary {
  const ratio = { numerator: 3, denominator: 4, rate: 0.75 }
  const rates = { from: '2026-11-15', to: '2026-11-21', closure: ratio, onTimeClosure: { numerator: 0, denominator: 0, rate: null } }
  return {
    at: new Date(T0).toISOString(),
    day: '2026-11-21',
    cases: {
      today: {
        reported: 5,
        byStage: [{ key: 'reported', name: null, count: 2 }, { key: 'dispatched', name: null, count: 3 }],
        bySource: [{ key: 'patrol', name: null, count: 5 }],
        byCategory: [{ key: 'E0102', name: '暴露垃圾', count: 5 }],
      },
      open: 10,
      overdue: 2,
    },
    rates: { days7: rates, days30: rates },
    sensors: { total: { online: 8, offline: 2, alarm: 1 }, byType: [{ type: 'smoke', online: 8, offline: 2, alarm: 1 }] },
    workers: { total: 6, onDuty: 4, busy: 1, offDuty: 1, outOfGrid: 0 },
    alarms: { open: 1, unacked: 1 },
    topGrids: [{ code: '310101002001001', name: '外滩网格', open: 4, overdue: 1 }],
    recent,
  }
}

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(T0)
  setActivePinia(createPinia())
  fetchMock.mockReset()
  fetchMock.mockImplementation(async () => fixture())
  vi.spyOn(console, 'warn').mockImplementation(() => {})
})
afterEach(() => {
  useWallStore().stop()
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('ticker', () => {
  it('keeps at most TICKER_SIZE entries, newest first', () => {
    const wall = useWallStore()
    for (let seq = 1; seq <= TICKER_SIZE + 10; seq++) wall.applyEvent(alarm(seq))
    expect(wall.ticker).toHaveLength(TICKER_SIZE)
    expect(wall.ticker[0].seq).toBe(TICKER_SIZE + 10)
    expect(wall.ticker.at(-1)!.seq).toBe(11)
    expect(wall.ticker.map((e) => e.seq)).toEqual([...wall.ticker.map((e) => e.seq)].sort((a, b) => b - a))
  })

  it('has each event once, in seq order whatever order they arrive in, seeded from summary.recent', async () => {
    fetchMock.mockImplementation(async () => fixture([alarm(12), alarm(10)]))
    const wall = useWallStore()
    wall.applyEvent(alarm(11))
    wall.applyEvent(alarm(12))
    await wall.start()
    wall.applyEvent(alarm(12))
    wall.applyEvent(alarm(9))
    expect(wall.ticker.map((e) => e.seq)).toEqual([12, 11, 10, 9])
  })

  it('names the sensor of an acknowledgement seeded from summary.recent (newest first) after its alarm', async () => {
    fetchMock.mockImplementation(async () => fixture([ev(11, 'alarm:acked', { id: 10, sensorId: 7, by: 'dispatcher' }), alarm(10)]))
    const wall = useWallStore()
    await wall.start()
    expect(wall.ticker[0]).toMatchObject({ seq: 11, params: { name: '外滩烟感 7' } })
  })

  it('an event older than a full buffer is not inserted', () => {
    const wall = useWallStore()
    for (let seq = 100; seq < 100 + TICKER_SIZE; seq++) wall.applyEvent(alarm(seq))
    wall.applyEvent(alarm(5))
    expect(wall.ticker).toHaveLength(TICKER_SIZE)
    expect(wall.ticker.some((e) => e.seq === 5)).toBe(false)
  })

  it('turns events into entries with a message, its params and level', async () => {
    const wall = useWallStore()
    await wall.start()
    wall.applyEvent(alarm(1))
    wall.applyEvent(alarm(2, { kind: 'offline', sensorType: 'gas' }))
    wall.applyEvent(ev(3, 'alarm:acked', { id: 1, sensorId: 7, by: 'dispatcher', comment: null, ackedAt: '' }))
    wall.applyEvent(ev(4, 'case:created', { id: 9, code: '2026112100009', stage: 'reported', category: 'E0102', source: 'patrol', urgency: 'urgent' }))
    wall.applyEvent(ev(5, 'case:created', { id: 10, code: '2026112100010', stage: 'reported', categoryCode: 'E9999', source: 'sensor', urgency: 'critical' }))
    wall.applyEvent(ev(6, 'case:changed', { id: 9, code: '2026112100009', action: 'close', from: 'checked', to: 'closed' }))
    wall.applyEvent(ev(7, 'worker:out_of_grid', { workerId: 3, code: 'W003', name: '张伟', gridCode: '310101002001001' }))
    wall.applyEvent(ev(8, 'sensor:status', { id: 7, status: 'offline' }))
    const bySeq = new Map(wall.ticker.map((e) => [e.seq, e]))
    expect(bySeq.get(1)).toMatchObject({ type: 'alarm:raised', level: 'alarm', key: 'wall.ticker.alarmRaised', params: { name: '外滩烟感 7', value: '6.46%obs/m', threshold: '6%obs/m' }, names: { type: 'wall.sensorType.smoke' } })
    expect(bySeq.get(2)).toMatchObject({ key: 'wall.ticker.alarmOffline', names: { type: 'wall.sensorType.gas' } })
    // acked events carry only ids: the sensor's name comes from the raised entry
    expect(bySeq.get(3)).toMatchObject({ key: 'wall.ticker.alarmAcked', level: 'info', params: { name: '外滩烟感 7', by: 'dispatcher' } })
    // the category's name from the summary, the raw code when the summary has none
    expect(bySeq.get(4)).toMatchObject({ key: 'wall.ticker.caseCreated', level: 'warn', params: { code: '2026112100009', category: '暴露垃圾' }, names: { stage: 'wall.stage.reported' } })
    expect(bySeq.get(5)).toMatchObject({ level: 'alarm', params: { category: 'E9999' } })
    expect(bySeq.get(6)).toMatchObject({ key: 'wall.ticker.caseChanged', level: 'ok', names: { stage: 'wall.stage.closed' } })
    expect(bySeq.get(7)).toMatchObject({ key: 'wall.ticker.workerOut', level: 'warn', params: { name: '张伟' } })
    expect(bySeq.has(8)).toBe(false)
    for (const e of wall.ticker) {
      expect(zhCN).toHaveProperty([e.key])
      for (const k of Object.values(e.names)) expect(zhCN).toHaveProperty([k])
    }
  })
})

describe('freshness', () => {
  it('turns amber after the stale seconds and red after three times that; any update makes it ok', async () => {
    const wall = useWallStore()
    await wall.start()
    expect(wall.freshness).toBe('ok')
    await vi.advanceTimersByTimeAsync((DEFAULT_STALE_SECONDS - 1) * 1000)
    expect(wall.freshness).toBe('ok')
    await vi.advanceTimersByTimeAsync(1000)
    expect(wall.freshness).toBe('amber')
    expect(wall.ageSeconds).toBe(DEFAULT_STALE_SECONDS)
    await vi.advanceTimersByTimeAsync(DEFAULT_STALE_SECONDS * 2 * 1000)
    expect(wall.freshness).toBe('red')
    wall.touch()
    expect(wall.freshness).toBe('ok')
    await vi.advanceTimersByTimeAsync(DEFAULT_STALE_SECONDS * 1000)
    expect(wall.freshness).toBe('amber')
    wall.applyEvent(ev(1, 'sensor:status'))
    expect(wall.freshness).toBe('ok')
  })

  it('takes the threshold from ?stale=', async () => {
    const wall = useWallStore()
    await wall.start({ staleSeconds: staleFromQuery('5') })
    await vi.advanceTimersByTimeAsync(5000)
    expect(wall.freshness).toBe('amber')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(wall.freshness).toBe('red')
    expect(staleFromQuery(['8'])).toBe(8)
    for (const bad of [undefined, null, '', 'abc', '0', '-3']) expect(staleFromQuery(bad)).toBeUndefined()
  })

  it('counts from the start when nothing ever arrived (the server is down from the first load)', async () => {
    fetchMock.mockRejectedValue(new Error('network_error'))
    const wall = useWallStore()
    await wall.start({ staleSeconds: 10 })
    expect(wall.lastUpdateAt).toBeNull()
    expect(wall.error).toBe('network_error')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(wall.freshness).toBe('amber')
  })

  it('a quiet but connected wall proves itself current by fetching the summary; a disconnected one does not', async () => {
    const connection = useConnectionStore()
    connection.setState('connected')
    const wall = useWallStore()
    await wall.start({ staleSeconds: 30 })
    expect(fetchMock).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(fetchMock.mock.calls.length).toBeGreaterThanOrEqual(4)
    expect(wall.freshness).toBe('ok')
    connection.setState('disconnected', 'transport close')
    const calls = fetchMock.mock.calls.length
    await vi.advanceTimersByTimeAsync(30_000)
    expect(fetchMock).toHaveBeenCalledTimes(calls)
    expect(wall.freshness).toBe('amber')
  })

  it('a connected wall with a short ?stale= never flickers amber between its polls', async () => {
    // the server takes a moment to answer, as a real one does
    fetchMock.mockImplementation(() => new Promise((resolve) => setTimeout(() => resolve(fixture()), 300)))
    useConnectionStore().setState('connected')
    const wall = useWallStore()
    const started = wall.start({ staleSeconds: 3 })
    await vi.advanceTimersByTimeAsync(300)
    await started
    for (let i = 0; i < 30; i++) {
      await vi.advanceTimersByTimeAsync(1000)
      expect(wall.freshness, `after ${i + 1} s`).toBe('ok')
    }
  })
})

describe('refresh', () => {
  it('fetches the summary once, REFRESH_DEBOUNCE_MS after the last of a burst', async () => {
    const wall = useWallStore()
    await wall.start()
    expect(fetchMock).toHaveBeenCalledTimes(1)
    for (let seq = 1; seq <= 5; seq++) {
      wall.applyEvent(alarm(seq))
      await vi.advanceTimersByTimeAsync(300)
    }
    await vi.advanceTimersByTimeAsync(REFRESH_DEBOUNCE_MS - 300 - 1)
    expect(fetchMock).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(fetchMock).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(REFRESH_DEBOUNCE_MS * 3)
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })

  it('fetches at least every REFRESH_MAX_WAIT_MS while events keep coming', async () => {
    const wall = useWallStore()
    await wall.start()
    for (let seq = 1; seq <= 10; seq++) {
      wall.applyEvent(alarm(seq))
      await vi.advanceTimersByTimeAsync(REFRESH_MAX_WAIT_MS / 10)
    }
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })

  it('events that do not change the panels do not fetch', async () => {
    const wall = useWallStore()
    await wall.start()
    wall.applyEvent(ev(1, 'screen:state'))
    await vi.advanceTimersByTimeAsync(REFRESH_DEBOUNCE_MS * 2)
    expect(fetchMock).toHaveBeenCalledTimes(1)
  })

  it('drops an answer that arrives after a newer one', async () => {
    const wall = useWallStore()
    let resolveSlow: (s: WallSummary) => void = () => {}
    fetchMock.mockImplementationOnce(() => new Promise((r) => (resolveSlow = r)))
    fetchMock.mockImplementationOnce(async () => ({ ...fixture(), day: 'newer' }))
    const slow = wall.refresh()
    await wall.refresh()
    resolveSlow({ ...fixture(), day: 'older' })
    await slow
    expect(wall.summary?.day).toBe('newer')
  })
})

describe('increments', () => {
  it('applies exact changes at once and leaves the rest to the refresh', async () => {
    const wall = useWallStore()
    await wall.start()
    wall.applyEvent(alarm(1))
    wall.applyEvent(ev(2, 'case:created', { code: 'X', stage: 'reported', category: 'E0102', source: 'hotline', urgency: 'normal' }))
    wall.applyEvent(ev(3, 'case:changed', { code: 'Y', from: 'checked', to: 'closed' }))
    wall.applyEvent(ev(4, 'worker:out_of_grid', { name: 'A' }))
    wall.applyEvent(ev(5, 'alarm:acked', { id: 1 }))
    const s = wall.summary!
    expect(s.alarms).toEqual({ open: 2, unacked: 1 })
    expect(s.cases.today.reported).toBe(6)
    expect(s.cases.open).toBe(10) // +1 created, −1 closed
    expect(s.cases.today.byStage.find((r) => r.key === 'reported')!.count).toBe(3)
    expect(s.cases.today.bySource).toContainEqual({ key: 'hotline', name: null, count: 1 })
    expect(s.cases.today.byCategory[0].count).toBe(6)
    expect(s.workers.outOfGrid).toBe(1)
    // after the debounce, the server's numbers replace the estimates
    await vi.advanceTimersByTimeAsync(REFRESH_DEBOUNCE_MS)
    expect(wall.summary!.alarms).toEqual({ open: 1, unacked: 1 })
  })

  it('does not count an event the summary already included', async () => {
    fetchMock.mockImplementation(async () => fixture([alarm(20)]))
    const wall = useWallStore()
    await wall.start()
    wall.applyEvent(alarm(19))
    wall.applyEvent(alarm(20))
    expect(wall.summary!.alarms.open).toBe(1)
    wall.applyEvent(alarm(21))
    expect(wall.summary!.alarms.open).toBe(2)
  })
})

describe('reconnecting', () => {
  it('is shown only after a first connect, and a reconnect fetches the summary', async () => {
    const connection = useConnectionStore()
    const wall = useWallStore()
    await wall.start()
    connection.setState('connecting')
    expect(wall.reconnecting).toBe(false)
    connection.setState('connected')
    expect(wall.reconnecting).toBe(false)
    connection.setState('disconnected', 'transport close')
    expect(wall.reconnecting).toBe(true)
    connection.setState('connecting')
    expect(wall.reconnecting).toBe(true)
    const calls = fetchMock.mock.calls.length
    connection.setState('connected')
    await vi.advanceTimersByTimeAsync(0)
    expect(wall.reconnecting).toBe(false)
    await vi.advanceTimersByTimeAsync(REFRESH_DEBOUNCE_MS)
    expect(fetchMock.mock.calls.length).toBe(calls + 1)
  })
})

describe('names', () => {
  it('every stage, source and sensor type has a name in both languages, the stages as the workflow names them', () => {
    for (const s of STAGES) {
      expect(zhCN[`wall.stage.${s}`]).toBe(STAGE_LABELS[s]['zh-CN'])
      expect(en[`wall.stage.${s}`]).toBe(STAGE_LABELS[s].en)
    }
    for (const s of SOURCES) {
      expect(zhCN).toHaveProperty([`wall.source.${s}`])
      expect(en).toHaveProperty([`wall.source.${s}`])
    }
    for (const s of ['smoke', 'gas', 'noise', 'dust', 'water_level', 'cover_tilt', 'structural', 'air_quality']) {
      expect(zhCN).toHaveProperty([`wall.sensorType.${s}`])
      expect(en).toHaveProperty([`wall.sensorType.${s}`])
    }
  })
})
