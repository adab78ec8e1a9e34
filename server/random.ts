/**
 * Seeded random draws over faker's Mersenne Twister: the same seed gives the same demo city
 * (server/seed) and the same simulator run (server/simulate).
 */
import type { SimpleFaker } from '@faker-js/faker'

export class Rng {
  constructor(readonly f: SimpleFaker) {}
  u(): number {
    return this.f.number.float()
  }
  range(a: number, b: number): number {
    return a + (b - a) * this.u()
  }
  int(a: number, b: number): number {
    return a + Math.floor(this.u() * (b - a + 1))
  }
  chance(p: number): boolean {
    return this.u() < p
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.u() * a.length)]!
  }
  /** A standard normal draw (Box–Muller). */
  normal(): number {
    const u1 = 1 - this.u()
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.u())
  }
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0
    for (const w of weights) total += w
    let r = this.u() * total
    for (let i = 0; i < items.length; i++) {
      r -= weights[i]!
      if (r < 0) return items[i]!
    }
    return items[items.length - 1]!
  }
  /** Picks from a table of { value: weight }. */
  table<K extends string | number>(t: Record<K, number>): K {
    const keys = Object.keys(t) as K[]
    return this.weighted(keys, keys.map((k) => t[k]))
  }
  shuffle<T>(a: readonly T[]): T[] {
    const out = [...a]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.u() * (i + 1))
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }
  /** k distinct items in their original order. */
  sample<T>(a: readonly T[], k: number): T[] {
    if (k >= a.length) return [...a]
    const idx = this.shuffle(a.map((_, i) => i)).slice(0, k).sort((p, q) => p - q)
    return idx.map((i) => a[i]!)
  }
}
