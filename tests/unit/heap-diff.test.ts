import { describe, expect, it } from 'vitest'
import { growers, newRetainers, summarize, type HeapSummary } from '../../bench/heap-diff.ts'

// A heap snapshot as Chrome writes it: flat node and edge arrays described by meta.
const NODE_TYPES = ['hidden', 'object', 'closure', 'code']
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak']
type N = { type: string; name: string; id: number; size: number; edges: { type: string; name: string | number; to: number }[] }

function snapshot(nodes: N[]) {
  const strings: string[] = []
  const str = (s: string) => (strings.includes(s) ? strings.indexOf(s) : strings.push(s) - 1)
  const W = 5
  return {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'],
        node_types: [NODE_TYPES] as [string[]],
        edge_fields: ['type', 'name_or_index', 'to_node'],
        edge_types: [EDGE_TYPES] as [string[]],
      },
    },
    nodes: nodes.flatMap((n) => [NODE_TYPES.indexOf(n.type), str(n.name), n.id, n.size, n.edges.length]),
    edges: nodes.flatMap((n) => n.edges.flatMap((e) => [EDGE_TYPES.indexOf(e.type), typeof e.name === 'number' ? e.name : str(e.name), e.to * W])),
    strings,
  }
}

// root → Window.cache → Map → two tiles, each holding Int32Arrays; a weak edge from the root too.
const base: N[] = [
  { type: 'hidden', name: '(root)', id: 1, size: 0, edges: [{ type: 'property', name: 'window', to: 1 }] },
  { type: 'object', name: 'Window', id: 3, size: 10, edges: [{ type: 'property', name: 'cache', to: 2 }] },
  { type: 'object', name: 'Map', id: 5, size: 20, edges: [{ type: 'element', name: 0, to: 3 }] },
  { type: 'object', name: 'Tile', id: 7, size: 30, edges: [{ type: 'property', name: 'grid', to: 4 }] },
  { type: 'object', name: 'Int32Array', id: 9, size: 60, edges: [] },
]
const later: N[] = [
  { ...base[0]!, edges: [{ type: 'property', name: 'window', to: 1 }, { type: 'weak', name: 'w', to: 6 }] },
  base[1]!,
  { ...base[2]!, edges: [{ type: 'element', name: 0, to: 3 }, { type: 'element', name: 1, to: 5 }] },
  base[3]!,
  base[4]!,
  { type: 'object', name: 'Tile', id: 11, size: 30, edges: [{ type: 'property', name: 'grid', to: 6 }, { type: 'property', name: 'keys', to: 7 }] },
  { type: 'object', name: 'Int32Array', id: 13, size: 60, edges: [] },
  { type: 'object', name: 'Int32Array', id: 15, size: 60, edges: [] },
]

function withIds(nodes: N[]): HeapSummary {
  const s = snapshot(nodes)
  const out = summarize(s)
  out.ids = new Set(nodes.map((n) => n.id))
  out.snapshot = s
  return out
}

describe('heap diff (soak:wall --heap-diff)', () => {
  it('sums self sizes by constructor and ranks what grew', () => {
    const a = withIds(base), b = withIds(later)
    expect(b.get('Int32Array')).toEqual({ size: 180, count: 3 })
    const top = growers(a, b)
    expect(top.find((g) => g.name === 'Int32Array')).toMatchObject({ from: 60, to: 180, countFrom: 1, countTo: 3 })
    expect(top[0]!.name).toBe('[all object]')
  })

  it('names the strong retainer chains of the objects that are new since the baseline', () => {
    const chains = newRetainers(withIds(base), withIds(later), 'Int32Array')
    // The baseline's Int32Array (id 9) is not new; the weak edge from the root is not a retainer.
    expect(chains).toEqual([
      { chain: 'Tile.grid ← Map.[1] ← Window.cache ← (root).window', count: 1 },
      { chain: 'Tile.keys ← Map.[1] ← Window.cache ← (root).window', count: 1 },
    ])
  })
})
