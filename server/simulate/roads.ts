/**
 * The road network simulated workers walk: a graph of the real OSM road lines (ngraph.graph;
 * lines meet where they share a vertex, as OSM ways do at junctions), shortest paths by A*
 * (ngraph.path), nearest nodes by a k-d tree (kdbush), distances by cheap-ruler.
 */
import CheapRuler from 'cheap-ruler'
import KDBush from 'kdbush'
import createGraph, { type Graph } from 'ngraph.graph'
import ngraphPath, { type PathFinder } from 'ngraph.path'

export type LonLat = [number, number]

export class RoadNetwork {
  /** Node i's position. */
  readonly nodes: LonLat[] = []
  /** Node i's connected component (walks stay inside one). */
  readonly component: number[] = []
  readonly graph: Graph<LonLat, number>
  readonly ruler: CheapRuler
  readonly #index: KDBush
  readonly #kx: number
  readonly #ky: number
  readonly #finder: PathFinder<LonLat>

  /** From road lines (each a list of [lon, lat]); vertices closer than ~0.1 m are one node. */
  constructor(lines: LonLat[][]) {
    const lat0 = lines.length ? lines.reduce((a, l) => a + (l[0]?.[1] ?? 0), 0) / lines.length : 0
    this.ruler = new CheapRuler(lat0, 'meters')
    this.#kx = this.ruler.distance([0, lat0], [1, lat0])
    this.#ky = this.ruler.distance([0, lat0], [0, lat0 + 1])
    const graph = createGraph<LonLat, number>()
    const ids = new Map<string, number>()
    const node = (p: LonLat): number => {
      const key = `${p[0].toFixed(6)},${p[1].toFixed(6)}`
      let id = ids.get(key)
      if (id === undefined) {
        id = this.nodes.length
        ids.set(key, id)
        this.nodes.push([p[0], p[1]])
        graph.addNode(id, this.nodes[id])
      }
      return id
    }
    for (const line of lines) {
      for (let i = 1; i < line.length; i++) {
        const a = node(line[i - 1]!)
        const b = node(line[i]!)
        if (a !== b && !graph.hasLink(a, b) && !graph.hasLink(b, a)) graph.addLink(a, b, this.ruler.distance(this.nodes[a]!, this.nodes[b]!))
      }
    }
    this.graph = graph
    // Components, by breadth-first search from each node not yet reached.
    this.component = new Array<number>(this.nodes.length).fill(-1)
    let c = 0
    for (let start = 0; start < this.nodes.length; start++) {
      if (this.component[start] !== -1) continue
      const queue = [start]
      this.component[start] = c
      while (queue.length) {
        const n = queue.pop()!
        graph.forEachLinkedNode(n, (other) => {
          const o = other.id as number
          if (this.component[o] === -1) {
            this.component[o] = c
            queue.push(o)
          }
        })
      }
      c++
    }
    this.#index = new KDBush(Math.max(1, this.nodes.length))
    for (const [lon, lat] of this.nodes) this.#index.add(lon * this.#kx, lat * this.#ky)
    if (this.nodes.length === 0) this.#index.add(0, 0)
    this.#index.finish()
    this.#finder = ngraphPath.aStar(graph, {
      distance: (_from, _to, link) => link.data,
      heuristic: (from, to) => this.ruler.distance(from.data, to.data),
    })
  }

  get size(): number {
    return this.nodes.length
  }

  /** Nodes within r metres of a point. */
  within(p: LonLat, r: number): number[] {
    if (this.nodes.length === 0) return []
    return this.#index.within(p[0] * this.#kx, p[1] * this.#ky, r)
  }

  /** The nearest node to a point (searching out to maxM metres), or null. */
  nearest(p: LonLat, maxM = 2000): { node: number; distM: number } | null {
    for (let r = 50; r <= maxM * 2; r *= 2) {
      const near = this.within(p, Math.min(r, maxM))
      if (near.length) {
        let best = near[0]!
        let bestD = Infinity
        for (const n of near) {
          const d = this.ruler.distance(p, this.nodes[n]!)
          if (d < bestD) [best, bestD] = [n, d]
        }
        return { node: best, distM: bestD }
      }
      if (r >= maxM) break
    }
    return null
  }

  /** The shortest path between two nodes as positions, start first; null when they are not connected. */
  path(from: number, to: number): LonLat[] | null {
    if (from === to) return [this.nodes[from]!]
    if (this.component[from] !== this.component[to]) return null
    const found = this.#finder.find(from, to)
    if (!found.length) return null
    // ngraph.path lists the path from the target back to the start.
    const route = found.map((n) => n.data)
    if (found[0]!.id !== from) route.reverse()
    return route
  }
}
