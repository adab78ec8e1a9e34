/**
 * deck.gl layers of the wall's live overlay (liveOverlay.ts): cases coloured by stage with an
 * SLA countdown ring, alarm pulses, workers moving along bounded trails. The data arrays are the
 * overlay's own, refilled in place: `updateTriggers.all` on its `version` tells deck.gl they
 * changed, and positions/radii that move with time are triggered by the frame time only while
 * something animates.
 */
import type { Layer } from '@deck.gl/core'
import { IconLayer, PathLayer, ScatterplotLayer } from '@deck.gl/layers'
import { Color } from '@maplibre/maplibre-gl-style-spec'
import { STATUS } from '../../styles/palette.ts'
import { PULSE_MS, type LiveAlarm, type LiveCase, type LiveOverlay, type LiveWorker } from './liveOverlay.ts'

type RGB = [number, number, number]
type RGBA = [number, number, number, number]

function rgb(hex: string): RGB {
  const c = Color.parse(hex)
  if (!c) throw new Error(`not a colour: ${hex}`)
  return [Math.round(c.r * 255), Math.round(c.g * 255), Math.round(c.b * 255)]
}

/** The switchable live groups (legend rows; ids never collide with catalog ids, which have no '-'). */
export const LIVE_GROUPS = [
  { id: 'live-cases', group: 'cases', title: { 'zh-CN': '案件时限环', en: 'Case SLA rings' } },
  { id: 'live-alarms', group: 'sensing', title: { 'zh-CN': '实时告警', en: 'Live alarms' } },
  { id: 'live-workers', group: 'people', title: { 'zh-CN': '人员轨迹', en: 'Workers and trails' } },
] as const
export type LiveGroupId = (typeof LIVE_GROUPS)[number]['id']

/** A case's colour by its stage: cool while being taken in, violet when dispatched, warm while handled, green once done. */
export const STAGE_COLORS: Record<string, string> = {
  reported: '#64d2ff',
  accepted: '#40b8ff',
  verified: '#1f8fff',
  registered: '#5e5ce6',
  dispatched: '#bf5af2',
  in_progress: '#ff9f0a',
  handled: '#30d158',
  checked: '#66d4cf',
}
const STAGE_RGB = Object.fromEntries(Object.entries(STAGE_COLORS).map(([k, v]) => [k, rgb(v)])) as Record<string, RGB>
const STAGE_OTHER: RGB = [150, 160, 180]

const RING = { on_time: rgb(STATUS.case.on_time), due_soon: rgb(STATUS.case.due_soon), overdue: rgb(STATUS.case.overdue) }
const ALARM = rgb(STATUS.sensor.alarm)
const DUTY = { busy: rgb(STATUS.duty.busy), on_duty: rgb(STATUS.duty.on_duty), off_duty: rgb(STATUS.duty.off_duty) }

/** The ring is drawn in this many steps of the time left (an icon per step and colour). */
export const RING_STEPS = 24
/** Time left at or under this fraction of the stage: due soon (the deadline job's last quarter). */
export const DUE_SOON_FRACTION = 0.25

export type RingState = keyof typeof RING
/** The SLA ring of a case at `now`: the fraction of its stage time left (overdue: full red ring), or null when the stage has no limit. */
export function slaRing(c: Pick<LiveCase, 'stageStartedAt' | 'stageDeadlineAt' | 'overdue'>, now: number): { state: RingState; left: number } | null {
  if (!c.stageDeadlineAt) return c.overdue ? { state: 'overdue', left: 1 } : null
  const end = Date.parse(c.stageDeadlineAt)
  const start = c.stageStartedAt ? Date.parse(c.stageStartedAt) : NaN
  if (c.overdue || now >= end) return { state: 'overdue', left: 1 }
  const left = Number.isNaN(start) || end <= start ? 1 : Math.min(1, (end - now) / (end - start))
  return { state: left <= DUE_SOON_FRACTION ? 'due_soon' : 'on_time', left }
}

/** The icon name of a ring: its colour and the step of time left. */
export function ringIcon(r: { state: RingState; left: number }): string {
  return `${r.state}-${Math.max(1, Math.ceil(r.left * RING_STEPS))}`
}

const ICON = 64
/** One canvas with every ring (3 colours × RING_STEPS arcs, clockwise from 12 o'clock over a faint track), made once. */
type IconFrame = { x: number; y: number; width: number; height: number; mask: boolean }
interface RingAtlas {
  canvas: HTMLCanvasElement
  mapping: Record<string, IconFrame>
}
let atlas: RingAtlas | null = null
function ringAtlas(): RingAtlas {
  if (atlas) return atlas
  const states = Object.keys(RING) as RingState[]
  const canvas = document.createElement('canvas')
  canvas.width = ICON * RING_STEPS
  canvas.height = ICON * states.length
  const g = canvas.getContext('2d')!
  const mapping: Record<string, IconFrame> = {}
  states.forEach((state, row) => {
    const [r, gr, b] = RING[state]
    for (let step = 1; step <= RING_STEPS; step++) {
      const cx = (step - 1) * ICON + ICON / 2
      const cy = row * ICON + ICON / 2
      const radius = ICON / 2 - 7
      g.lineWidth = 9
      g.strokeStyle = 'rgba(200, 215, 235, 0.22)'
      g.beginPath()
      g.arc(cx, cy, radius, 0, Math.PI * 2)
      g.stroke()
      g.strokeStyle = `rgb(${r}, ${gr}, ${b})`
      g.lineCap = 'round'
      g.beginPath()
      g.arc(cx, cy, radius, -Math.PI / 2, -Math.PI / 2 + (Math.PI * 2 * step) / RING_STEPS)
      g.stroke()
      mapping[`${state}-${step}`] = { x: (step - 1) * ICON, y: row * ICON, width: ICON, height: ICON, mask: false }
    }
  })
  atlas = { canvas, mapping }
  return atlas
}

export interface LiveLayerOptions {
  /** Frame time (ms): drives pulses and worker moves. */
  now: number
  /** Whether something animates at `now` (liveOverlay.animating): only then do time-driven attributes rebuild each frame. */
  animating: boolean
  visible: Record<LiveGroupId, boolean>
  /** Under the map's labels (interleaved: @deck.gl/mapbox reads beforeId). */
  beforeId?: string
  /** Map pixels per CSS pixel (sharp rings on a high-ratio wall). */
  scale?: number
}

/** The SLA rings change slowly: rebuild them once every this many ms. */
const RING_REFRESH_MS = 30_000

export function createLiveLayers(src: LiveOverlay, o: LiveLayerOptions): Layer[] {
  const v = src.version
  const frame = o.animating ? o.now : 0
  const ringTick = Math.floor(o.now / RING_REFRESH_MS)
  const before = { beforeId: o.beforeId } as object
  const cases = src.cases() as LiveCase[]
  const alarms = src.alarms() as LiveAlarm[]
  const workers = src.workers(o.now) as LiveWorker[]
  const s = o.scale ?? 1
  const layers: Layer[] = []

  if (o.visible['live-cases']) {
    const a = typeof document === 'undefined' ? null : ringAtlas()
    if (a) {
      layers.push(
        new IconLayer<LiveCase>({
          ...before,
          id: 'live-cases-sla',
          data: cases,
          iconAtlas: a.canvas as never,
          iconMapping: a.mapping,
          getIcon: (d) => {
            const r = slaRing(d, o.now)
            return r ? ringIcon(r) : ''
          },
          getPosition: (d) => [d.lon, d.lat],
          getSize: 24 * s,
          sizeUnits: 'pixels',
          updateTriggers: { all: v, getIcon: ringTick },
        }),
      )
    }
    layers.push(
      new ScatterplotLayer<LiveCase>({
        ...before,
        id: 'live-cases-dot',
        data: cases,
        getPosition: (d) => [d.lon, d.lat],
        getFillColor: (d) => STAGE_RGB[d.stage] ?? STAGE_OTHER,
        getLineColor: [6, 16, 30, 230],
        getRadius: 5.5 * s,
        radiusUnits: 'pixels',
        stroked: true,
        lineWidthUnits: 'pixels',
        getLineWidth: 1.5 * s,
        updateTriggers: { all: v },
      }),
    )
  }

  if (o.visible['live-alarms']) {
    layers.push(
      new ScatterplotLayer<LiveAlarm>({
        ...before,
        id: 'live-alarms-pulse',
        data: alarms,
        getPosition: (d) => [d.lon, d.lat],
        // An expanding, fading ring, once a second, for PULSE_MS after the alarm came in; after
        // that (or for alarms already open at load) a still halo while not acknowledged.
        getRadius: (d) => (d.pulseFrom === null || o.now - d.pulseFrom >= PULSE_MS ? 15 : 8 + 34 * (((o.now - d.pulseFrom) % 1000) / 1000)) * s,
        getLineColor: (d) => {
          if (d.pulseFrom === null || o.now - d.pulseFrom >= PULSE_MS) return [...ALARM, d.acked ? 0 : 150] as RGBA
          return [...ALARM, Math.round(255 * (1 - ((o.now - d.pulseFrom) % 1000) / 1000))] as RGBA
        },
        radiusUnits: 'pixels',
        stroked: true,
        filled: false,
        lineWidthUnits: 'pixels',
        getLineWidth: 3 * s,
        updateTriggers: { all: v, getRadius: frame, getLineColor: frame },
      }),
      new ScatterplotLayer<LiveAlarm>({
        ...before,
        id: 'live-alarms-dot',
        data: alarms,
        getPosition: (d) => [d.lon, d.lat],
        // acknowledged alarms stay, dimmer, until resolved
        getFillColor: (d) => [...ALARM, d.acked ? 140 : 255] as RGBA,
        getLineColor: (d) => (d.acked ? [255, 255, 255, 90] : [255, 255, 255, 230]) as RGBA,
        getRadius: 8 * s,
        radiusUnits: 'pixels',
        stroked: true,
        lineWidthUnits: 'pixels',
        getLineWidth: 2 * s,
        updateTriggers: { all: v },
      }),
    )
  }

  if (o.visible['live-workers']) {
    const color = (d: LiveWorker): RGB => DUTY[d.dutyStatus as keyof typeof DUTY] ?? DUTY.on_duty
    layers.push(
      new PathLayer<LiveWorker>({
        ...before,
        id: 'live-workers-trail',
        data: workers,
        getPath: (d) => d.trail,
        getColor: (d) => [...color(d), 150] as RGBA,
        getWidth: 2.5 * s,
        widthUnits: 'pixels',
        capRounded: true,
        jointRounded: true,
        updateTriggers: { all: v },
      }),
      new ScatterplotLayer<LiveWorker>({
        ...before,
        id: 'live-workers-dot',
        data: workers,
        getPosition: (d) => [d.lon, d.lat],
        getFillColor: color,
        // out of grid: a wide red ring
        getLineColor: (d) => (d.outOfGrid ? [...ALARM, 255] : [6, 16, 30, 230]) as RGBA,
        getLineWidth: (d) => (d.outOfGrid ? 3.5 : 1.5) * s,
        getRadius: (d) => (d.outOfGrid ? 7 : 5) * s,
        radiusUnits: 'pixels',
        lineWidthUnits: 'pixels',
        stroked: true,
        updateTriggers: { all: v, getPosition: frame },
      }),
    )
  }
  return layers
}
