/**
 * A scope is a node of the admin/grid hierarchy. Codes nest by prefix (GB/T 2260 + NBS +
 * GB/T 30428.1): 310000 上海市 ⊃ 310101 黄浦区 ⊃ 310101013 外滩街道 ⊃ 310101013001 (community)
 * ⊃ 310101013001001 (grid). A 6-digit code's trailing "00" pairs are "all of them".
 */
export function scopePrefix(code: string): string {
  if (code.length !== 6) return code
  let p = code
  while (p.length > 2 && p.endsWith('00')) p = p.slice(0, -2)
  return p
}

/** Whether a code lies inside the scope whose prefix is given. */
export function inScope(prefix: string, code: string): boolean {
  return code.startsWith(prefix)
}

/**
 * The code prefix queries filter by for an asker, or null when the asker sees everything —
 * including objects outside every grid (`scopeColumn LIKE prefix || '%'` unless null).
 */
export function scopeFilter(actor: { scopePrefix: string; unrestricted: boolean }): string | null {
  return actor.unrestricted ? null : actor.scopePrefix
}
