/**
 * The web side of live telemetry (web/services/telemetry.ts): latest item per object, the
 * viewport throttled while the map moves and said again on reconnect, items outside it forgotten.
 */
import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LiveTelemetry, type TelemetryItem, type TelemetrySocket } from '../../web/services/telemetry.ts'

class FakeSocket extends EventEmitter {
  connected = true
  sent: unknown[] = []
  override emit(event: string, ...args: unknown[]): boolean {
    if (event === 'viewport') {
      this.sent.push(args[0])
      const ack = args[1] as (a: unknown) => void
      const bbox = (args[0] as { bbox: number[] | null }).bbox
      ack(bbox && bbox[0]! > bbox[2]! ? { error: 'bad viewport request: bbox: west ≤ east' } : args[0])
      return true
    }
    return super.emit(event, ...args)
  }
  /** A message from the server. */
  receive(event: string, payload: unknown): void {
    super.emit(event, payload)
  }
}

const item = (id: number, ts: string, over: Partial<TelemetryItem> = {}): TelemetryItem => ({
  kind: 'sensor',
  id,
  lon: 121.5,
  lat: 31.25,
  scope: '310101013001001',
  ts,
  data: { value: id },
  ...over,
})

describe('LiveTelemetry', () => {
  let now = 0
  beforeEach(() => {
    vi.useFakeTimers()
    now = 1_000_000
  })
  afterEach(() => vi.useRealTimers())
  const make = (socket: FakeSocket, opts: ConstructorParameters<typeof LiveTelemetry>[1] = {}) => new LiveTelemetry(socket as unknown as TelemetrySocket, { throttleMs: 500, now: () => now, ...opts })

  it('keeps the latest item per kind and id; an older value arriving late does not replace a newer one', () => {
    const socket = new FakeSocket()
    const changes: TelemetryItem[][] = []
    const live = make(socket, { onChange: (c) => changes.push(c) })
    socket.receive('telemetry', { items: [item(1, '2026-11-21T10:00:01Z'), item(2, '2026-11-21T10:00:01Z'), item(1, '2026-11-21T10:00:01Z', { kind: 'worker' })] })
    socket.receive('telemetry', { items: [{ ...item(1, '2026-11-21T10:00:03Z'), data: { value: 3 } }] })
    socket.receive('telemetry', { items: [{ ...item(1, '2026-11-21T10:00:02Z'), data: { value: 2 } }] })
    expect(live.items.size).toBe(3)
    expect(live.items.get('sensor:1')!.data).toEqual({ value: 3 })
    expect(live.list('worker')).toHaveLength(1)
    expect(changes.map((c) => c.length)).toEqual([3, 1])
    socket.receive('telemetry', { nonsense: true })
    expect(live.items.size).toBe(3)
  })

  it('sends the viewport at once, then at most once per throttle interval with the last box', () => {
    const socket = new FakeSocket()
    const live = make(socket)
    live.setViewport([121, 31, 122, 32])
    expect(socket.sent).toEqual([{ bbox: [121, 31, 122, 32], kinds: ['sensor', 'worker'] }])
    // The map keeps moving: nothing more until 500 ms after the first, then only the last box.
    for (let i = 1; i <= 5; i++) {
      now += 50
      vi.advanceTimersByTime(50)
      live.setViewport([121 + i * 0.01, 31, 122, 32], ['sensor'])
    }
    expect(socket.sent).toHaveLength(1)
    now += 250
    vi.advanceTimersByTime(250)
    expect(socket.sent).toHaveLength(2)
    expect(socket.sent[1]).toEqual({ bbox: [121.05, 31, 122, 32], kinds: ['sensor'] })
    // After a quiet while, the next move goes at once.
    now += 2000
    vi.advanceTimersByTime(2000)
    live.setViewport(null)
    expect(socket.sent).toHaveLength(3)
    expect(socket.sent[2]).toEqual({ bbox: null, kinds: ['sensor'] })
    live.dispose()
  })

  it('forgets items outside a new viewport, says the viewport again on reconnect, and reports a refusal', () => {
    const socket = new FakeSocket()
    const errors: string[] = []
    const live = make(socket, { onError: (m) => errors.push(m) })
    live.setViewport([121, 31, 122, 32])
    socket.receive('telemetry', { items: [item(1, '2026-11-21T10:00:00Z'), item(2, '2026-11-21T10:00:00Z', { lon: 121.9 })] })
    now += 1000
    live.setViewport([121, 31, 121.6, 32])
    expect([...live.items.keys()]).toEqual(['sensor:1'])
    socket.connected = false
    now += 1000
    live.setViewport([121, 31, 121.7, 32])
    expect(socket.sent).toHaveLength(2)
    socket.connected = true
    socket.receive('connect', undefined)
    expect(socket.sent.at(-1)).toEqual({ bbox: [121, 31, 121.7, 32], kinds: ['sensor', 'worker'] })
    now += 1000
    live.setViewport([122, 31, 121, 32])
    expect(errors).toEqual(['bad viewport request: bbox: west ≤ east'])
    live.dispose()
    socket.receive('telemetry', { items: [item(9, '2026-11-21T10:00:00Z')] })
    expect(live.items.has('sensor:9')).toBe(false)
  })
})
