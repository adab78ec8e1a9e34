/**
 * Heap snapshots through the Chrome DevTools Protocol, summed by constructor, and the difference
 * of two: what grew between them (soak:wall --heap-diff). A snapshot's nodes are a flat array of
 * `meta.node_fields`; a node's name is the constructor for objects (the string for strings).
 */
import type { CDPSession } from 'playwright-core'

/** Retained-by-nobody-in-particular totals: self size and count of live objects, by constructor name. */
export type HeapSummary = Map<string, { size: number; count: number }> & {
  /** The snapshot's object ids (stable across snapshots of one page): which objects are new since. */
  ids?: Set<number>
  /** The snapshot itself (the last one only: for the retainers of what is new). */
  snapshot?: Snapshot
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } }
  nodes: number[]
  edges: number[]
  strings: string[]
}

/** Takes a heap snapshot of the page (after a GC) and sums it by constructor. */
export async function heapSummary(cdp: CDPSession): Promise<HeapSummary> {
  const chunks: string[] = []
  const onChunk = (e: { chunk: string }) => chunks.push(e.chunk)
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk)
  try {
    await cdp.send('HeapProfiler.enable')
    await cdp.send('HeapProfiler.collectGarbage')
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  } finally {
    cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk)
  }
  const snapshot = JSON.parse(chunks.join('')) as Snapshot
  const out = summarize(snapshot)
  const fields = snapshot.snapshot.meta.node_fields
  const iId = fields.indexOf('id')
  out.ids = new Set()
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) out.ids.add(snapshot.nodes[i + iId]!)
  out.snapshot = snapshot
  return out
}

/**
 * Why the objects of `constructor` that are new in `now` (ids not in `base`) are alive: each one's
 * first strong retainer, then that one's, up to `depth` steps — `Constructor.edge` per step — and
 * how many new objects share each chain, most first. Only for a snapshot taken by heapSummary.
 */
export function newRetainers(base: HeapSummary, now: HeapSummary, constructor: string, depth = 8, top = 6): { chain: string; count: number }[] {
  const s = now.snapshot
  if (!s || !base.ids) return []
  const nf = s.snapshot.meta.node_fields, ef = s.snapshot.meta.edge_fields
  const nodeTypes = s.snapshot.meta.node_types[0], edgeTypes = s.snapshot.meta.edge_types[0]
  const W = nf.length, EW = ef.length
  const iName = nf.indexOf('name'), iId = nf.indexOf('id'), iEdges = nf.indexOf('edge_count'), iType = nf.indexOf('type')
  const eType = ef.indexOf('type'), eName = ef.indexOf('name_or_index'), eTo = ef.indexOf('to_node')
  const n = s.nodes.length / W
  // Reverse edges (CSR): for each node, the edges that point at it.
  const count = new Uint32Array(n + 1)
  for (let e = 0; e < s.edges.length; e += EW) count[s.edges[e + eTo]! / W + 1]!++
  for (let i = 0; i < n; i++) count[i + 1]! += count[i]!
  const fill = count.slice(0, n)
  const from = new Uint32Array(s.edges.length / EW), via = new Uint32Array(s.edges.length / EW)
  for (let node = 0, e = 0; node < n; node++) {
    for (let k = 0; k < s.nodes[node * W + iEdges]!; k++, e += EW) {
      const to = s.edges[e + eTo]! / W
      from[fill[to]!] = node
      via[fill[to]!++] = e
    }
  }
  const label = (node: number) => s.strings[s.nodes[node * W + iName]!]!.slice(0, 40)
  const edgeLabel = (e: number) => {
    const t = edgeTypes[s.edges[e + eType]!]
    const v = s.edges[e + eName]!
    return t === 'element' || t === 'hidden' ? `[${v}]` : String(s.strings[v]).slice(0, 30)
  }
  const chains = new Map<string, number>()
  for (let node = 0; node < n; node++) {
    if (label(node) !== constructor || nodeTypes[s.nodes[node * W + iType]!] !== 'object' || base.ids.has(s.nodes[node * W + iId]!)) continue
    const seen = new Set([node])
    const steps: string[] = []
    let at = node
    for (let d = 0; d < depth; d++) {
      let next = -1, edge = -1
      for (let r = count[at]!; r < count[at + 1]!; r++) {
        const t = edgeTypes[s.edges[via[r]! + eType]!]
        if (t === 'weak' || seen.has(from[r]!)) continue
        next = from[r]!
        edge = via[r]!
        break
      }
      if (next < 0) break
      steps.push(`${label(next)}.${edgeLabel(edge)}`)
      seen.add(next)
      at = next
    }
    const chain = steps.join(' ← ')
    chains.set(chain, (chains.get(chain) ?? 0) + 1)
  }
  return [...chains].map(([chain, c]) => ({ chain, count: c })).sort((a, b) => b.count - a.count).slice(0, top)
}

export function summarize(s: Snapshot): HeapSummary {
  const fields = s.snapshot.meta.node_fields
  const types = s.snapshot.meta.node_types[0]
  const width = fields.length
  const iType = fields.indexOf('type')
  const iName = fields.indexOf('name')
  const iSize = fields.indexOf('self_size')
  const out: HeapSummary = new Map()
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!
    // strings and code by kind; objects by constructor
    const name = type === 'object' || type === 'closure' ? `${s.strings[s.nodes[i + iName]!]}${type === 'closure' ? '()' : ''}` : `(${type})`
    const kind = `[all ${type}]`
    const k = out.get(kind) ?? { size: 0, count: 0 }
    k.size += s.nodes[i + iSize]!
    k.count += 1
    out.set(kind, k)
    const e = out.get(name) ?? { size: 0, count: 0 }
    e.size += s.nodes[i + iSize]!
    e.count += 1
    out.set(name, e)
  }
  return out
}

/** The constructors (and the `[all <kind>]` totals: object, code, string…) whose self size grew most from `a` to `b`. */
export function growers(a: HeapSummary, b: HeapSummary, top = 20): { name: string; from: number; to: number; countFrom: number; countTo: number }[] {
  const names = new Set([...a.keys(), ...b.keys()])
  return [...names]
    .map((name) => ({ name, from: a.get(name)?.size ?? 0, to: b.get(name)?.size ?? 0, countFrom: a.get(name)?.count ?? 0, countTo: b.get(name)?.count ?? 0 }))
    .sort((x, y) => y.to - y.from - (x.to - x.from))
    .slice(0, top)
}
