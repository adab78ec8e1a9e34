import { describe, expect, it } from 'vitest'
import { hashPassword, verifyPassword } from '../../server/auth/password.ts'

describe('password hashing', () => {
  it('uses argon2id with a salt, and verifies', async () => {
    const a = await hashPassword('correct horse')
    const b = await hashPassword('correct horse')
    expect(a).toMatch(/^\$argon2id\$v=19\$/)
    expect(a).not.toBe(b)
    expect(await verifyPassword(a, 'correct horse')).toBe(true)
    expect(await verifyPassword(a, 'wrong horse')).toBe(false)
    expect(await verifyPassword('not a hash', 'x')).toBe(false)
  })
})
