import { hash, verify } from '@node-rs/argon2'

/**
 * Argon2id (the library's default algorithm) with its default cost (m=19 MiB, t=2, p=1:
 * OWASP's minimum). A unit test checks the hash really is argon2id.
 */
export function hashPassword(password: string): Promise<string> {
  return hash(password)
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}
