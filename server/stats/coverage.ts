/**
 * Patrol coverage (巡查覆盖率, GET /api/stats/indicators `patrolCoverage`): the share of a grid's
 * road length its workers walked in a period. Definition (docs/indicators.md):
 *
 * - the grid's roads: every road of the base map but rail and ferry lines, cut at the grid's
 *   boundary (a road along the boundary belongs to both grids), cut again into pieces of at most
 *   PIECE_M metres;
 * - the grid's workers: those whose grid it is (workers.grid_code) and its grid team (grid_team);
 * - their track in the period: their fixes in [from, to) in time order, without fixes whose
 *   reported accuracy is worse than MAX_ACCURACY_M; two consecutive fixes at most GAP_S apart
 *   (the gap the track summary uses: a longer one means the device was off) are joined by a
 *   straight line, a fix joined to neither neighbour stands alone;
 * - a piece is walked when its midpoint lies within PATROL_RADIUS_M of the track of a worker of
 *   its grid (a walker on the pavement, a GPS fix a few metres off, a street crossed);
 * - coverage = walked length / road length, summed over the grids of a unit.
 *
 * PostGIS cuts the roads at the grid boundaries; the track is matched here: joining every pair of
 * fixes to every piece nearby in SQL costs seconds per request (each piece is passed within 20 m
 * by hundreds of track segments), here the pieces of each grid bucketed in cells make it tens of
 * ms for the demo city's 150,000 fixes. Distances are Web Mercator metres scaled by the cosine of
 * the area's middle latitude (ground metres within 0.1 % across a city).
 *
 * The cut roads of an area are kept per process and cut again when the roads or the area's grids
 * change (their count, highest id, total road length and total grid area: a cheap query).
 */
import type { Queryable } from '../db/index.ts'
import { GAP_S } from '../positions/track.ts'

/** A piece of road counts as walked when the track passes within this many metres of its midpoint. */
export const PATROL_RADIUS_M = 20
/** Roads are cut into pieces of at most this many metres. */
export const PIECE_M = 10
/** Fixes whose reported accuracy is worse than this (metres) are left out. */
export const MAX_ACCURACY_M = 50

const R = PATROL_RADIUS_M
const R2 = R * R
/** Side of a cell of pieces, metres. */
const CELL = R
/** Long track segments are matched in steps of this many metres (bounds the cells looked at). */
const STEP = 4 * CELL
/** How many areas' cut roads a process keeps. */
const CACHE_AREAS = 16

/** Walked and total road length of one grid, metres. */
export interface GridCoverage {
  walkedM: number
  roadM: number
}

type Coords = number[][]
interface LineGeom {
  type: 'LineString' | 'MultiLineString'
  coordinates: Coords | Coords[]
}

/** Earth radius of Web Mercator (EPSG:3857), metres. */
const RM = 6378137
/** Web Mercator x, y of a WGS84 lon/lat. */
const mercX = (lon: number) => (RM * lon * Math.PI) / 180
const mercY = (lat: number) => RM * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))

/** What one period's track has walked of one grid. */
interface WalkState {
  walked: Uint8Array
  /** Pieces of each cell not walked yet: a cell walked all over is skipped at once. */
  left: Int32Array
}

/** One grid's road pieces (midpoints and lengths in local metres), bucketed by cell; read-only once indexed. */
class GridPieces {
  readonly mx: number[] = []
  readonly my: number[] = []
  readonly len: number[] = []
  roadM = 0
  private minX = Infinity
  private minY = Infinity
  private maxX = -Infinity
  private maxY = -Infinity
  private cols = 0
  private rows = 0
  /** Pieces of cell c: order[start[c] .. start[c + 1]). */
  private start = new Int32Array(1)
  private order = new Int32Array(0)

  add(ax: number, ay: number, bx: number, by: number): void {
    const d = Math.hypot(bx - ax, by - ay)
    if (d === 0) return
    const n = Math.ceil(d / PIECE_M)
    for (let k = 0; k < n; k++) {
      const t = (k + 0.5) / n
      this.mx.push(ax + (bx - ax) * t)
      this.my.push(ay + (by - ay) * t)
      this.len.push(d / n)
    }
    this.roadM += d
  }

  /** Builds the cells; call once all pieces are added. */
  index(): void {
    const n = this.mx.length
    for (let i = 0; i < n; i++) {
      this.minX = Math.min(this.minX, this.mx[i])
      this.minY = Math.min(this.minY, this.my[i])
      this.maxX = Math.max(this.maxX, this.mx[i])
      this.maxY = Math.max(this.maxY, this.my[i])
    }
    this.cols = Math.floor((this.maxX - this.minX) / CELL) + 1
    this.rows = Math.floor((this.maxY - this.minY) / CELL) + 1
    const cellOf = new Int32Array(n)
    const count = new Int32Array(this.cols * this.rows)
    for (let i = 0; i < n; i++) {
      cellOf[i] = Math.floor((this.my[i] - this.minY) / CELL) * this.cols + Math.floor((this.mx[i] - this.minX) / CELL)
      count[cellOf[i]]++
    }
    this.start = new Int32Array(count.length + 1)
    for (let c = 0; c < count.length; c++) this.start[c + 1] = this.start[c] + count[c]
    const next = this.start.slice(0, count.length)
    this.order = new Int32Array(n)
    for (let i = 0; i < n; i++) this.order[next[cellOf[i]]++] = i
  }

  /** Nothing walked yet. */
  state(): WalkState {
    const left = new Int32Array(this.cols * this.rows)
    for (let c = 0; c < left.length; c++) left[c] = this.start[c + 1] - this.start[c]
    return { walked: new Uint8Array(this.mx.length), left }
  }

  /** Marks the pieces whose midpoint lies within R of the segment a–b (a point when a = b). */
  walk(st: WalkState, ax: number, ay: number, bx: number, by: number): void {
    if (Math.min(ax, bx) > this.maxX + R || Math.max(ax, bx) < this.minX - R) return
    if (Math.min(ay, by) > this.maxY + R || Math.max(ay, by) < this.minY - R) return
    const d = Math.hypot(bx - ax, by - ay)
    const steps = Math.max(1, Math.ceil(d / STEP))
    for (let s = 0; s < steps; s++) {
      const sx = ax + ((bx - ax) * s) / steps
      const sy = ay + ((by - ay) * s) / steps
      const ex = ax + ((bx - ax) * (s + 1)) / steps
      const ey = ay + ((by - ay) * (s + 1)) / steps
      const x0 = Math.max(0, Math.floor((Math.min(sx, ex) - R - this.minX) / CELL))
      const x1 = Math.min(this.cols - 1, Math.floor((Math.max(sx, ex) + R - this.minX) / CELL))
      const y0 = Math.max(0, Math.floor((Math.min(sy, ey) - R - this.minY) / CELL))
      const y1 = Math.min(this.rows - 1, Math.floor((Math.max(sy, ey) + R - this.minY) / CELL))
      for (let cy = y0; cy <= y1; cy++) {
        for (let cx = x0; cx <= x1; cx++) {
          const c = cy * this.cols + cx
          if (st.left[c] === 0) continue
          for (let j = this.start[c]; j < this.start[c + 1]; j++) {
            const i = this.order[j]
            if (st.walked[i]) continue
            if (dist2(this.mx[i], this.my[i], sx, sy, ex, ey) <= R2) {
              st.walked[i] = 1
              st.left[c]--
            }
          }
        }
      }
    }
  }

  walkedM(st: WalkState): number {
    let m = 0
    for (let i = 0; i < st.walked.length; i++) if (st.walked[i]) m += this.len[i]
    return m
  }
}

/** Squared distance from point p to segment a–b. */
function dist2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax
  const dy = by - ay
  const l2 = dx * dx + dy * dy
  let t = l2 === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / l2
  t = t < 0 ? 0 : t > 1 ? 1 : t
  const qx = ax + t * dx - px
  const qy = ay + t * dy - py
  return qx * qx + qy * qy
}

/** The cut roads of an area: each grid's pieces, and the scale from Mercator to ground metres. */
interface AreaRoads {
  signature: string
  grids: Map<string, GridPieces>
  k: number
}

const cache = new Map<string, AreaRoads>()

async function areaRoads(q: Queryable, sql: Record<string, string>, prefix: string): Promise<AreaRoads> {
  const signature = (await q.query<{ signature: string }>(sql.patrol_roads_signature, [prefix])).rows[0]?.signature ?? ''
  const hit = cache.get(prefix)
  if (hit && hit.signature === signature) {
    // Most recently used last.
    cache.delete(prefix)
    cache.set(prefix, hit)
    return hit
  }
  const roads = (await q.query<{ code: string; geom: string }>(sql.patrol_roads, [prefix])).rows
  const lines = roads.map((r) => {
    const g = JSON.parse(r.geom) as LineGeom
    return { code: r.code, parts: (g.type === 'LineString' ? [g.coordinates] : g.coordinates) as Coords[] }
  })
  // Web Mercator stretches both axes by 1/cos(latitude): scaled back at the area's middle
  // latitude, its metres are ground metres.
  let yMin = Infinity
  let yMax = -Infinity
  for (const l of lines) {
    for (const part of l.parts) {
      for (const c of part) {
        yMin = Math.min(yMin, c[1])
        yMax = Math.max(yMax, c[1])
      }
    }
  }
  const k = lines.length ? Math.cos(2 * Math.atan(Math.exp((yMin + yMax) / 2 / RM)) - Math.PI / 2) : 1
  const grids = new Map<string, GridPieces>()
  for (const l of lines) {
    let g = grids.get(l.code)
    if (!g) grids.set(l.code, (g = new GridPieces()))
    for (const part of l.parts) {
      for (let i = 1; i < part.length; i++) g.add(part[i - 1][0] * k, part[i - 1][1] * k, part[i][0] * k, part[i][1] * k)
    }
  }
  for (const g of grids.values()) g.index()
  const area = { signature, grids, k }
  cache.delete(prefix)
  cache.set(prefix, area)
  while (cache.size > CACHE_AREAS) cache.delete(cache.keys().next().value!)
  return area
}

/**
 * Coverage of each grid whose code starts with `prefix` that has roads, for each period
 * ([from, to) in ms). Grids without roads are left out (nothing to walk).
 */
export async function patrolCoverage(q: Queryable, sql: Record<string, string>, prefix: string, periods: { from: number; to: number }[]): Promise<Map<string, GridCoverage>[]> {
  const { grids, k } = await areaRoads(q, sql, prefix)
  if (grids.size === 0) return periods.map(() => new Map())

  const workers = (await q.query<{ worker_id: number; grids: string[] }>(sql.patrol_workers, [prefix])).rows
    .map((w) => ({ id: w.worker_id, grids: w.grids.map((c) => grids.get(c)).filter((g): g is GridPieces => g !== undefined) }))
    .filter((w) => w.grids.length > 0)
  const gridsOf = new Map(workers.map((w) => [w.id, w.grids]))
  const ids = workers.map((w) => w.id)

  const out: Map<string, GridCoverage>[] = []
  for (const period of periods) {
    const rows = ids.length
      ? (
          await q.query<{ worker_id: number; t: number[]; x: number[]; y: number[] }>(sql.patrol_fixes, [
            ids,
            new Date(period.from).toISOString(),
            new Date(period.to).toISOString(),
            MAX_ACCURACY_M,
          ])
        ).rows
      : []
    // From here on nothing is awaited: the walk states are this period's own.
    const states = new Map([...grids.values()].map((g) => [g, g.state()]))
    for (const r of rows) {
      const mine = gridsOf.get(r.worker_id)
      if (!mine) continue
      const n = r.t.length
      const xs = r.x.map((lon) => mercX(lon) * k)
      const ys = r.y.map((lat) => mercY(lat) * k)
      for (let i = 0; i < n; i++) {
        const joinedBefore = i > 0 && r.t[i] - r.t[i - 1] <= GAP_S
        const joinedAfter = i + 1 < n && r.t[i + 1] - r.t[i] <= GAP_S
        if (joinedBefore) for (const g of mine) g.walk(states.get(g)!, xs[i - 1], ys[i - 1], xs[i], ys[i])
        else if (!joinedAfter) for (const g of mine) g.walk(states.get(g)!, xs[i], ys[i], xs[i], ys[i])
      }
    }
    const m = new Map<string, GridCoverage>()
    for (const [code, g] of grids) m.set(code, { walkedM: g.walkedM(states.get(g)!), roadM: g.roadM })
    out.push(m)
  }
  return out
}
