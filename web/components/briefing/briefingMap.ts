/**
 * The briefing's map: where each scene looks (camera) and what it draws over the base map
 * (deck.gl tool layers, owner `briefing-scene`): the case's place always, and per scene the
 * around circle with the nearest workers and the cameras (who), the places of the recorded steps
 * numbered as the scene lists them (done), the incident's alarms (now).
 */
import type { Layer } from '@deck.gl/core'
import { ScatterplotLayer, TextLayer } from '@deck.gl/layers'
import { STATUS } from '../../../styles/palette.ts'
import type { MapCamera } from '../../map/view.ts'
import type { BriefingData } from '../../services/briefing.ts'
import { AROUND_RADIUS_M } from '../../services/briefing.ts'
import type { SceneId } from './briefingModel.ts'

type RGBA = [number, number, number, number]

/**
 * Drawn over everything, the extruded buildings included (the deck.gl layers are interleaved
 * with the map's): a case inside a tall building is still seen, and so are its labels.
 */
export const ON_TOP = { depthCompare: 'always', depthWriteEnabled: false } as const

function rgb(hex: string, a = 255): RGBA {
  const n = Number.parseInt(hex.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255, a]
}

const CLOSED = ['closed', 'evaluated', 'cancelled', 'merged']

/** Where a scene looks: centred on the case, closer for the place, wider for who is around. */
export function sceneCamera(scene: SceneId, lon: number, lat: number): MapCamera {
  switch (scene) {
    case 'what':
      return { center: [lon, lat], zoom: 17.2, pitch: 50, bearing: -20 }
    case 'who':
      return { center: [lon, lat], zoom: 15.6, pitch: 30, bearing: 0 }
    case 'done':
      return { center: [lon, lat], zoom: 16.6, pitch: 0, bearing: 0 }
    case 'now':
      return { center: [lon, lat], zoom: 16.2, pitch: 35, bearing: 10 }
    case 'outcome':
      return { center: [lon, lat], zoom: 15.4, pitch: 0, bearing: 0 }
  }
}

interface Pt {
  position: [number, number]
}

/** The deck.gl layers of a scene (none before the case has loaded). */
export function sceneLayers(scene: SceneId, data: BriefingData, opts: { contrast: boolean }): Layer[] {
  const c = data.detail
  if (!c) return []
  const here: [number, number] = [c.lon, c.lat]
  const accent = opts.contrast ? rgb('#ffff00') : rgb('#22d3ee')
  const ink: RGBA = opts.contrast ? [0, 0, 0, 255] : [3, 8, 17, 255]
  const caseColor = CLOSED.includes(c.stage) ? rgb('#22c55e') : rgb(STATUS.case.overdue)
  const layers: Layer[] = []

  if (scene === 'who' && data.around) {
    const a = data.around
    layers.push(
      new ScatterplotLayer<Pt>({
        id: 'briefing-around-circle',
        data: [{ position: here }],
        getPosition: (d) => d.position,
        getRadius: AROUND_RADIUS_M,
        radiusUnits: 'meters',
        filled: true,
        stroked: true,
        getFillColor: [accent[0], accent[1], accent[2], 28],
        getLineColor: [accent[0], accent[1], accent[2], 220],
        getLineWidth: 3,
        lineWidthUnits: 'pixels',
      }) as unknown as Layer,
      new ScatterplotLayer<Pt & { covers: boolean }>({
        id: 'briefing-around-cameras',
        data: a.cameras.map((f) => ({ position: f.geometry.coordinates, covers: f.properties.covers === true })),
        getPosition: (d) => d.position,
        getRadius: (d) => (d.covers ? 9 : 6),
        radiusUnits: 'pixels',
        getFillColor: (d) => (d.covers ? rgb(STATUS.camera.online) : rgb(STATUS.camera.online, 140)),
        stroked: true,
        getLineColor: ink,
        getLineWidth: 2,
        lineWidthUnits: 'pixels',
      }) as unknown as Layer,
      new ScatterplotLayer<Pt>({
        id: 'briefing-around-workers',
        data: a.workers.map((f) => ({ position: f.geometry.coordinates })),
        getPosition: (d) => d.position,
        getRadius: 9,
        radiusUnits: 'pixels',
        getFillColor: rgb(STATUS.duty.on_duty),
        stroked: true,
        getLineColor: ink,
        getLineWidth: 2,
        lineWidthUnits: 'pixels',
      }) as unknown as Layer,
    )
  }

  // The places of the recorded steps, numbered as the scene lists them; steps taken at one place
  // share one label ("1·2·3"), lifted above the spot so the case's dot stays in sight.
  const steps: Layer[] = []
  if (scene === 'done') {
    const at = new Map<string, Pt & { ns: number[] }>()
    let n = 0
    for (const e of data.timeline) {
      if (e.lon === null || e.lat === null) continue
      n++
      const key = `${e.lon.toFixed(6)},${e.lat.toFixed(6)}`
      const g = at.get(key)
      if (g) g.ns.push(n)
      else at.set(key, { position: [e.lon, e.lat], ns: [n] })
    }
    steps.push(
      new TextLayer<Pt & { ns: number[] }>({
        id: 'briefing-steps',
        parameters: ON_TOP,
        data: [...at.values()],
        getPosition: (d) => d.position,
        getText: (d) => d.ns.join('·'),
        getSize: 20,
        getColor: ink,
        fontWeight: 700,
        getPixelOffset: [0, -34],
        getTextAnchor: 'middle',
        getAlignmentBaseline: 'center',
        characterSet: '0123456789·',
        background: true,
        getBackgroundColor: accent,
        backgroundPadding: [8, 4],
        getBorderColor: ink,
        getBorderWidth: 2,
      }) as unknown as Layer,
    )
  }

  if ((scene === 'now' || scene === 'what') && data.briefing?.alarms.length) {
    layers.push(
      new ScatterplotLayer<Pt & { open: boolean }>({
        id: 'briefing-alarms',
        parameters: ON_TOP,
        data: data.briefing.alarms.map((a) => ({ position: [a.lon, a.lat] as [number, number], open: a.resolvedAt === null })),
        getPosition: (d) => d.position,
        getRadius: 10,
        radiusUnits: 'pixels',
        getFillColor: (d) => (d.open ? rgb(STATUS.sensor.alarm) : rgb(STATUS.sensor.alarm, 120)),
        stroked: true,
        getLineColor: [255, 255, 255, 230],
        getLineWidth: 2,
        lineWidthUnits: 'pixels',
      }) as unknown as Layer,
    )
  }

  // The case's place, over everything: a halo and a dot in its state's colour.
  layers.push(
    new ScatterplotLayer<Pt>({
      id: 'briefing-case-halo',
      parameters: ON_TOP,
      data: [{ position: here }],
      getPosition: (d) => d.position,
      getRadius: 30,
      radiusUnits: 'pixels',
      filled: true,
      stroked: true,
      getFillColor: [caseColor[0], caseColor[1], caseColor[2], 60],
      getLineColor: accent,
      getLineWidth: 3,
      lineWidthUnits: 'pixels',
    }) as unknown as Layer,
    new ScatterplotLayer<Pt>({
      id: 'briefing-case',
      parameters: ON_TOP,
      data: [{ position: here }],
      getPosition: (d) => d.position,
      getRadius: 11,
      radiusUnits: 'pixels',
      getFillColor: caseColor,
      stroked: true,
      getLineColor: [255, 255, 255, 255],
      getLineWidth: 3,
      lineWidthUnits: 'pixels',
    }) as unknown as Layer,
    ...steps,
  )
  return layers
}
