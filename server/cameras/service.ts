/**
 * The demo PTZ: turning a PTZ camera changes its heading in its record (cameras.heading_deg), in
 * one transaction with a `camera:ptz` event in the event log; after commit the cameras tiles
 * around it are dropped and the screens that may see it told (`tiles:invalidate`), so the map's
 * camera icon and its deck.gl field-of-view cone (both drawn from heading_deg) turn.
 */
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import { HttpError } from '../http/errors.ts'
import type { EventLog } from '../realtime/event-log.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import { cameraCard } from '../features/service.ts'
import type { CameraCard } from '../features/types.ts'

/** The event logged with each turn (scope: the camera's grid). */
export const CAMERA_PTZ = 'camera:ptz'

interface LockedCamera {
  id: number
  code: string
  kind: 'ptz' | 'fixed'
  status: 'online' | 'offline' | 'fault'
  heading_deg: number
  grid_code: string | null
  lon: number
  lat: number
}

export class CameraService {
  constructor(private readonly opts: { events: EventLog; tiles: TileInvalidator }) {}

  /**
   * Turns camera `id` by `pan` degrees (+ clockwise), the heading kept in [0, 360) to 0.1°.
   * 404 unknown or outside the actor's scope; 409 a fixed camera, or one not online.
   * Returns the camera's card as it is after the turn.
   */
  async pan(id: number, pan: number, actor: Actor): Promise<CameraCard> {
    const scope = scopeFilter(actor)
    const { camera, card } = await this.opts.events.write(async (tx, append) => {
      const { rows } = await tx.query<LockedCamera>(
        `SELECT id, code, kind, status, heading_deg, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat
           FROM cameras WHERE id = $1 AND ($2::text IS NULL OR grid_code LIKE $2::text || '%') FOR UPDATE`,
        [id, scope],
      )
      const c = rows[0]
      if (!c) throw new HttpError(404, `no camera ${id} in your scope`)
      if (c.kind !== 'ptz') throw new HttpError(409, `camera ${c.code} is a fixed camera: it cannot pan`)
      if (c.status !== 'online') throw new HttpError(409, `camera ${c.code} is ${c.status}: it cannot pan until it is back online`)
      const updated = await tx.query<{ heading_deg: number }>(
        `UPDATE cameras SET heading_deg = mod(round(mod(mod((heading_deg + $2::float8)::numeric, 360) + 360, 360) * 10), 3600) / 10
          WHERE id = $1 RETURNING heading_deg`,
        [id, pan],
      )
      const heading = Number(updated.rows[0]!.heading_deg)
      await append({
        type: CAMERA_PTZ,
        scope: c.grid_code,
        payload: { id: c.id, code: c.code, pan, headingDeg: heading, previousDeg: Number(c.heading_deg), by: actor.username, lon: c.lon, lat: c.lat },
      })
      return { camera: c, card: (await cameraCard(tx, { layer: 'cameras', id }, actor))! }
    })
    this.opts.tiles.changed('cameras', [camera.lon, camera.lat, camera.lon, camera.lat], camera.grid_code)
    return card
  }
}
