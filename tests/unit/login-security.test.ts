import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/config.ts'
import { hashPassword } from '../../server/auth/password.ts'
import { byCookie, crossSiteReason } from '../../server/http/csrf.ts'

describe('sign-in settings', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({})
    expect(c.ONEGRID_LOGIN_MAX_FAILURES).toBe(5)
    expect(c.ONEGRID_LOGIN_LOCK_MINUTES).toBe(15)
    expect(c.ONEGRID_LOGIN_IP_FAILURES).toBe(20)
    expect(c.ONEGRID_SESSION_IDLE_MINUTES).toBe(0)
  })
  it('takes fractions of a minute and 0 for "no per-address limit"', () => {
    const c = loadConfig({ ONEGRID_LOGIN_LOCK_MINUTES: '0.5', ONEGRID_LOGIN_IP_FAILURES: '0', ONEGRID_LOGIN_MAX_FAILURES: '3', ONEGRID_SESSION_IDLE_MINUTES: '30' })
    expect(c).toMatchObject({ ONEGRID_LOGIN_LOCK_MINUTES: 0.5, ONEGRID_LOGIN_IP_FAILURES: 0, ONEGRID_LOGIN_MAX_FAILURES: 3, ONEGRID_SESSION_IDLE_MINUTES: 30 })
  })
  it.each([
    [{ ONEGRID_LOGIN_MAX_FAILURES: '0' }, /ONEGRID_LOGIN_MAX_FAILURES must be at least 1/],
    [{ ONEGRID_LOGIN_MAX_FAILURES: '2.5' }, /ONEGRID_LOGIN_MAX_FAILURES must be a whole number/],
    [{ ONEGRID_LOGIN_MAX_FAILURES: 'five' }, /ONEGRID_LOGIN_MAX_FAILURES must be a whole number/],
    [{ ONEGRID_LOGIN_LOCK_MINUTES: '0' }, /ONEGRID_LOGIN_LOCK_MINUTES must be more than 0 minutes/],
    [{ ONEGRID_LOGIN_LOCK_MINUTES: '-1' }, /ONEGRID_LOGIN_LOCK_MINUTES must be more than 0 minutes/],
    [{ ONEGRID_LOGIN_LOCK_MINUTES: 'soon' }, /ONEGRID_LOGIN_LOCK_MINUTES must be a number of minutes/],
    [{ ONEGRID_LOGIN_LOCK_MINUTES: '20000' }, /at most 10080/],
    [{ ONEGRID_LOGIN_IP_FAILURES: '-1' }, /ONEGRID_LOGIN_IP_FAILURES must be 0 \(no per-address limit\) or more/],
    [{ ONEGRID_LOGIN_IP_FAILURES: '1.5' }, /ONEGRID_LOGIN_IP_FAILURES must be a whole number/],
    [{ ONEGRID_SESSION_IDLE_MINUTES: '-5' }, /ONEGRID_SESSION_IDLE_MINUTES must be 0/],
  ])('rejects %o with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
  })
})

describe('password hashes', () => {
  it('are argon2id v1.3 at m=19 MiB, t=2, p=1 (OWASP minimum)', async () => {
    expect(await hashPassword('correct horse')).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  })
})

describe('crossSiteReason', () => {
  const host = 'onegrid.example:8080'
  it.each([
    [{ host, secure: false }, undefined, null],
    [{ host, secure: false, origin: 'http://onegrid.example:8080' }, undefined, null],
    [{ host, secure: false, origin: 'HTTP://OneGrid.Example:8080' }, undefined, null],
    // A TLS proxy in front that keeps the Host header.
    [{ host: 'onegrid.example', secure: false, origin: 'https://onegrid.example' }, undefined, null],
    [{ host: 'onegrid.example:443', secure: true, origin: 'https://onegrid.example' }, undefined, null],
    [{ host: 'internal:8080', secure: false, origin: 'https://city.example' }, 'https://city.example/onegrid/', null],
    [{ host, secure: false, secFetchSite: 'same-origin' }, undefined, null],
    [{ host, secure: false, secFetchSite: 'none' }, undefined, null],
  ])('passes %o (public URL %s)', (req, publicUrl, expected) => {
    expect(crossSiteReason(req, publicUrl)).toBe(expected)
  })
  it.each([
    [{ host, secure: false, origin: 'https://evil.example' }, undefined, /https:\/\/evil\.example, not from this server/],
    [{ host, secure: false, origin: 'http://onegrid.example:8081' }, undefined, /not from this server/],
    [{ host, secure: false, origin: 'null' }, undefined, /opaque origin/],
    [{ host, secure: false, origin: 'not a url' }, undefined, /not from this server/],
    [{ host: 'onegrid.example', secure: true, origin: 'http://onegrid.example' }, undefined, /not from this server/],
    [{ host: 'bad host!', secure: false, origin: 'http://onegrid.example' }, undefined, /not from this server/],
    [{ secure: false, origin: 'http://onegrid.example' }, undefined, /not from this server/],
    [{ host, secure: false, secFetchSite: 'cross-site' }, undefined, /Sec-Fetch-Site: cross-site/],
    [{ host, secure: false, secFetchSite: 'same-site', origin: 'http://onegrid.example:8080' }, undefined, /Sec-Fetch-Site: same-site/],
    [{ host: 'internal:8080', secure: false, origin: 'https://other.example' }, 'https://city.example', /other\.example/],
  ])('refuses %o (public URL %s)', (req, publicUrl, message) => {
    expect(crossSiteReason(req, publicUrl)).toMatch(message)
  })
})

describe('byCookie', () => {
  it('is the cookie unless a well-formed bearer token comes with it', () => {
    expect(byCookie('abc', undefined)).toBe(true)
    expect(byCookie(undefined, undefined)).toBe(false)
    expect(byCookie('abc', 'Bearer xyz_-1')).toBe(false)
    expect(byCookie('abc', 'Bearer not/a token')).toBe(true)
    expect(byCookie(undefined, 'Bearer xyz')).toBe(false)
  })
})
