/**
 * The seat's store (web/stores/useSeatStore.ts): the queue query the filters make, the highlighted
 * row that moves with j/k and stays on its case across refreshes, answers applied in order, case
 * events refetching the queue once per burst (and at least every QUEUE_MAX_WAIT_MS), the counters
 * that tell an open card to reload (a dispatch acknowledged shows on the case card at once), and Esc
 * closing the innermost thing first.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CaseSummary } from '../../server/cases/types.ts'
import { OPEN_STAGES } from '../../server/cases/workflow.ts'
import type { DomainEvent } from '../../web/services/eventStream.ts'
import { fetchQueue, QUEUE_OPEN_STAGES, queueQuery } from '../../web/services/features.ts'
import { moveIndex, QUEUE_DEBOUNCE_MS, QUEUE_MAX_WAIT_MS, STYLE_STORAGE_KEY, useSeatStore } from '../../web/stores/useSeatStore.ts'

vi.mock('../../web/services/features.ts', async (orig) => ({ ...(await orig<typeof import('../../web/services/features.ts')>()), fetchQueue: vi.fn() }))
const fetchMock = vi.mocked(fetchQueue)

function kase(id: number, over: Partial<CaseSummary> = {}): CaseSummary {
  return {
    id, code: `C${id}`, stage: 'registered', version: 1, categoryCode: 'E0101', source: 'patrol', urgency: 'normal', description: 'd', address: null,
    gridCode: '310101013001001', communityCode: null, streetCode: null, districtCode: null, departmentId: null, workerId: null, reporter: null,
    lon: 121.49, lat: 31.24, reportedAt: '2026-11-21T01:00:00Z', stageStartedAt: null, stageDeadlineAt: null, deadlineAt: null, closedAt: null, slaLevel: null,
    ...over,
  }
}
const answer = (...ids: number[]) => ({ items: ids.map((i) => kase(i)), total: ids.length })
const ev = (seq: number, type: string, payload: Record<string, unknown>): DomainEvent => ({ seq, type, at: new Date(seq * 1000).toISOString(), scope: null, payload })

describe('queueQuery', () => {
  const none = { stages: [], category: '', source: '', grid: '', q: '' }
  it('asks for the open stages when none is chosen, with the limit', () => {
    const p = new URLSearchParams(queueQuery(none, 50))
    expect(p.get('stage')!.split(',')).toEqual([...QUEUE_OPEN_STAGES])
    expect(p.get('limit')).toBe('50')
    expect([...p.keys()].sort()).toEqual(['limit', 'stage'])
  })
  it('the open stages are the workflow table’s', () => {
    expect([...QUEUE_OPEN_STAGES]).toEqual([...OPEN_STAGES])
  })
  it('sends each filter given, trimmed', () => {
    const p = new URLSearchParams(queueQuery({ stages: ['verified', 'registered'], category: ' E0102 ', source: 'hotline', grid: '310101013', q: ' 外滩 ' }))
    expect(p.get('stage')).toBe('verified,registered')
    expect(p.get('category')).toBe('E0102')
    expect(p.get('source')).toBe('hotline')
    expect(p.get('grid')).toBe('310101013')
    expect(p.get('q')).toBe('外滩')
  })
  it('leaves out a grid that is not 6–15 digits (the server would answer 400)', () => {
    for (const grid of ['3101', '31010101300100100', 'abc123']) expect(new URLSearchParams(queueQuery({ ...none, grid })).has('grid')).toBe(false)
  })
})

describe('moveIndex', () => {
  it.each([
    [-1, 1, 5, 0],
    [-1, -1, 5, 4],
    [0, 1, 5, 1],
    [4, 1, 5, 4],
    [0, -1, 5, 0],
    [2, -1, 5, 1],
    [3, 1, 0, -1],
  ])('from %i by %i in %i rows → %i', (i, d, n, want) => expect(moveIndex(i, d, n)).toBe(want))
})

describe('useSeatStore', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    vi.useFakeTimers()
    fetchMock.mockReset()
  })
  afterEach(() => {
    useSeatStore().stop()
    vi.useRealTimers()
  })

  it('loads the queue with the filters and keeps the highlighted case highlighted where it moves', async () => {
    const seat = useSeatStore()
    fetchMock.mockResolvedValueOnce(answer(1, 2, 3))
    await seat.start()
    expect(seat.queue.map((c) => c.id)).toEqual([1, 2, 3])
    expect(seat.moveCursor(1)?.id).toBe(1)
    expect(seat.moveCursor(1)?.id).toBe(2)
    fetchMock.mockResolvedValueOnce(answer(9, 8, 2, 1))
    await seat.refreshQueue()
    expect(seat.cursor).toBe(2)
    expect(seat.cursorCase?.id).toBe(2)
    // the highlighted case left the queue: the row stays, inside the list
    fetchMock.mockResolvedValueOnce(answer(9))
    await seat.refreshQueue()
    expect(seat.cursor).toBe(0)
  })

  it('a filter change asks again from the top with the new filters', async () => {
    const seat = useSeatStore()
    fetchMock.mockResolvedValue(answer(1, 2))
    await seat.start()
    seat.moveCursor(1)
    await seat.setFilters({ source: 'hotline', q: 'C2026' })
    expect(fetchMock).toHaveBeenLastCalledWith(expect.objectContaining({ source: 'hotline', q: 'C2026' }))
    expect(seat.cursor).toBe(-1)
  })

  it('an older answer arriving after a newer one is dropped', async () => {
    const seat = useSeatStore()
    let first!: (v: ReturnType<typeof answer>) => void
    fetchMock.mockImplementationOnce(() => new Promise((r) => (first = r)))
    fetchMock.mockResolvedValueOnce(answer(5))
    const a = seat.refreshQueue()
    const b = seat.refreshQueue()
    await b
    first(answer(1, 2, 3))
    await a
    expect(seat.queue.map((c) => c.id)).toEqual([5])
    expect(seat.loading).toBe(false)
  })

  it('keeps the last error until a refresh succeeds', async () => {
    const seat = useSeatStore()
    fetchMock.mockRejectedValueOnce(new Error('boom'))
    await seat.refreshQueue()
    expect(seat.error).toBe('boom')
    fetchMock.mockResolvedValueOnce(answer(1))
    await seat.refreshQueue()
    expect(seat.error).toBeNull()
  })

  it('case events refetch the queue once per burst, at least every QUEUE_MAX_WAIT_MS while they keep coming', async () => {
    const seat = useSeatStore()
    fetchMock.mockResolvedValue(answer(1))
    await seat.start()
    expect(fetchMock).toHaveBeenCalledTimes(1)
    seat.applyEvent(ev(1, 'case:created', { id: 7 }))
    seat.applyEvent(ev(2, 'case:changed', { id: 7, action: 'accept' }))
    await vi.advanceTimersByTimeAsync(QUEUE_DEBOUNCE_MS - 10)
    expect(fetchMock).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(20)
    expect(fetchMock).toHaveBeenCalledTimes(2)
    // a steady stream, one event every half debounce: still refetched by the max wait
    const steps = Math.ceil(QUEUE_MAX_WAIT_MS / (QUEUE_DEBOUNCE_MS / 2)) + 1
    for (let i = 0; i < steps; i++) {
      seat.applyEvent(ev(10 + i, 'case:changed', { id: 8 }))
      await vi.advanceTimersByTimeAsync(QUEUE_DEBOUNCE_MS / 2)
    }
    expect(fetchMock.mock.calls.length).toBeGreaterThanOrEqual(3)
    // events other than cases leave the queue alone
    await vi.advanceTimersByTimeAsync(QUEUE_DEBOUNCE_MS)
    const calls = fetchMock.mock.calls.length
    seat.applyEvent(ev(100, 'worker:out_of_grid', { id: 3 }))
    await vi.advanceTimersByTimeAsync(QUEUE_MAX_WAIT_MS)
    expect(fetchMock.mock.calls.length).toBe(calls)
  })

  it('counts changes per case and per sensor: the open card reloads (a live acknowledgement shows on the case card)', async () => {
    const seat = useSeatStore()
    fetchMock.mockResolvedValue(answer())
    await seat.start()
    seat.applyEvent(ev(1, 'case:changed', { id: 7, action: 'dispatch' }))
    seat.applyEvent(ev(2, 'case:changed', { id: 7, action: 'ack_dispatch', by: 'worker' }))
    seat.applyEvent(ev(3, 'alarm:raised', { id: 40, sensorId: 12 }))
    seat.applyEvent(ev(4, 'alarm:acked', { id: 40, sensorId: 12 }))
    expect(seat.changed.case[7]).toBe(2)
    expect(seat.changed.case[8]).toBeUndefined()
    expect(seat.changed.sensor[12]).toBe(2)
  })

  it('opening a case selects it and highlights its row', async () => {
    const seat = useSeatStore()
    fetchMock.mockResolvedValue(answer(1, 2, 3))
    await seat.start()
    seat.openCase(seat.queue[2]!)
    expect(seat.selection).toEqual({ layer: 'cases', kind: 'case', id: 3, lon: 121.49, lat: 31.24 })
    expect(seat.cursor).toBe(2)
    expect(seat.selectedCaseId).toBe(3)
  })

  it('Esc closes the help, then the tool panel, then the card', () => {
    const seat = useSeatStore()
    seat.select({ layer: 'grids', kind: 'grid', id: 1 })
    seat.openAround({ lon: 121.5, lat: 31.2, caseId: null })
    seat.helpOpen = true
    expect(seat.closeTop()).toBe('help')
    expect(seat.closeTop()).toBe('panel')
    expect(seat.panel).toBeNull()
    expect(seat.closeTop()).toBe('selection')
    expect(seat.selection).toBeNull()
    expect(seat.closeTop()).toBeNull()
  })

  it('one tool panel at a time; the track playback opens with its workers once each', () => {
    const seat = useSeatStore()
    seat.togglePanel('draw')
    expect(seat.panel).toBe('draw')
    seat.openTracks([3, 4, 3])
    expect(seat.panel).toBe('tracks')
    expect(seat.trackWorkers).toEqual([3, 4])
    seat.togglePanel('tracks')
    expect(seat.panel).toBeNull()
  })

  it('remembers the map style', () => {
    const store = new Map<string, string>()
    vi.stubGlobal('localStorage', { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v) })
    try {
      const seat = useSeatStore()
      expect(seat.mapStyle).toBe('day')
      seat.setMapStyle('night')
      expect(store.get(STYLE_STORAGE_KEY)).toBe('night')
      setActivePinia(createPinia())
      expect(useSeatStore().mapStyle).toBe('night')
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
