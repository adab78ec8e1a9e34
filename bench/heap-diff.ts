/**
 * Heap snapshots through the Chrome DevTools Protocol, summed by constructor, and the difference
 * of two: what grew between them (soak:wall --heap-diff). A snapshot's nodes are a flat array of
 * `meta.node_fields`; a node's name is the constructor for objects (the string for strings).
 */
import type { CDPSession } from 'playwright-core'

/** Retained-by-nobody-in-particular totals: self size and count of live objects, by constructor name. */
export type HeapSummary = Map<string, { size: number; count: number }>

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
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
  return summarize(JSON.parse(chunks.join('')) as Snapshot)
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
