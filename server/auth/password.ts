import { hash, verify } from '@node-rs/argon2'

/**
 * Argon2id at OWASP's minimum cost (m=19 MiB, t=2, p=1) — also the library's defaults, spelled out
 * so that a new library version cannot change them unseen. Verification reads the algorithm and
 * cost from the stored hash, so raising them later keeps old hashes working. Unit tests check the
 * hash really is argon2id with these parameters.
 */
const OPTIONS = { algorithm: 2 /* Algorithm.Argon2id (a const enum) */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS)
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}
