import { describe, expect, it } from 'vitest'
import { inScope, scopePrefix } from '../../server/auth/scope.ts'
import { loadConfig } from '../../server/config.ts'

describe('scopePrefix', () => {
  it.each([
    ['310000', '31'],
    ['310100', '3101'],
    ['310101', '310101'],
    ['310101013', '310101013'],
    ['310101013001', '310101013001'],
  ])('%s → %s', (code, prefix) => {
    expect(scopePrefix(code)).toBe(prefix)
  })
  it('a street sees its grids and not its neighbour’s', () => {
    expect(inScope(scopePrefix('310101013'), '310101013001004')).toBe(true)
    expect(inScope(scopePrefix('310101013'), '310101002001004')).toBe(false)
  })
})

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const c = loadConfig({})
    expect(c.PORT).toBe(8080)
    expect(c.ONEGRID_TZ).toBe('Asia/Shanghai')
    expect(c.DATABASE_URL).toBeUndefined()
    expect(c.ONEGRID_DATA_DIR).toMatch(/data[/\\]pglite$/)
  })
  it.each([
    [{ PORT: '70000' }, /PORT/],
    [{ ONEGRID_TZ: 'Mars/Olympus' }, /ONEGRID_TZ must be an IANA time zone/],
    [{ DATABASE_URL: 'mysql://a' }, /DATABASE_URL must start with postgres/],
    [{ ONEGRID_SEED_PASSWORD: 'short' }, /at least 8/],
  ])('rejects %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
  })
})

describe('.env.example', () => {
  it('documents every configuration key', async () => {
    const { ConfigSchema } = await import('../../server/config.ts')
    const fs = await import('node:fs')
    const text = fs.readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
    for (const key of Object.keys(ConfigSchema.shape)) expect(text, key).toMatch(new RegExp(`^${key}=`, 'm'))
  })
})
