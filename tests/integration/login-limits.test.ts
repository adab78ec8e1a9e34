/**
 * Sign-in hardening (issue 10): lockout of a username after failed sign-ins in a row (in the
 * database, the same for unknown usernames), the per-address limit, sign-out everywhere, the idle
 * timeout, CSRF refusal of cookie requests from other sites (REST, sign-in and the socket.io
 * handshake), and the security headers.
 */
import crypto from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { io as connect } from 'socket.io-client'
import { hashPassword } from '../../server/auth/password.ts'
import { backends, login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

/** How long a lock lasts in these servers (ONEGRID_LOGIN_LOCK_MINUTES = 0.1). */
const LOCK_SECONDS = 6
const EVIL = 'https://evil.example'
/** The idle timeout of the second server (ONEGRID_SESSION_IDLE_MINUTES = 8 / 60). */
const IDLE_SECONDS = 8

interface ErrorBody {
  error: { code: string; message: string }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Accounts of this test only (unique names: the PostGIS database outlives the run). */
async function makeUsers(s: TestServer, names: string[]): Promise<void> {
  const hash = await hashPassword(TEST_PASSWORD)
  for (const name of names) {
    await s.server.db.query(`INSERT INTO users (username, display_name, password_hash, role, scope_code) VALUES ($1, $1, $2, 'leader', '310000') ON CONFLICT (username) DO NOTHING`, [name, hash])
  }
}

async function dropUsers(s: TestServer, names: string[]): Promise<void> {
  await s.server.db.query('DELETE FROM users WHERE username = ANY($1::text[])', [names])
  await s.server.db.query('DELETE FROM login_failures WHERE username = ANY($1::text[])', [names])
}

function signIn(s: TestServer, username: string, password: string, headers: Record<string, string> = {}, bearer = false): Promise<Response> {
  return fetch(`${s.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password, ...(bearer ? { bearer: true } : {}) }),
  })
}

const me = (s: TestServer, headers: Record<string, string>) => fetch(`${s.url}/api/auth/me`, { headers })

describe.each(backends())('sign-in limits on $name', ({ databaseUrl }) => {
  const tag = `lk${Date.now().toString(36)}${crypto.randomBytes(2).toString('hex')}`
  const [alice, bob, carol, dave, erin] = ['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => `${tag}_${n}`)
  const users = [alice, bob, carol, dave, erin]
  let s: TestServer

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_LOGIN_MAX_FAILURES: '5', ONEGRID_LOGIN_LOCK_MINUTES: String(LOCK_SECONDS / 60), ONEGRID_LOGIN_IP_FAILURES: '1000' } })
    await makeUsers(s, users)
  })
  afterAll(async () => {
    if (s) await dropUsers(s, [...users, `${tag}_ghost`])
    await s?.close()
  })

  it('locks a username after 5 wrong passwords — the right one then gets 429 with Retry-After — and not another user', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await signIn(s, alice, 'wrong-password')
      expect(res.status, `failure ${i + 1}`).toBe(401)
      expect(((await res.json()) as ErrorBody).error.message).toBe('wrong username or password')
    }
    const locked = await signIn(s, alice, TEST_PASSWORD)
    expect(locked.status).toBe(429)
    const retry = Number(locked.headers.get('retry-after'))
    expect(retry).toBeGreaterThanOrEqual(1)
    expect(retry).toBeLessThanOrEqual(LOCK_SECONDS)
    const body = (await locked.json()) as ErrorBody
    expect(body.error.code).toBe('account_locked')
    expect(body.error.message).toMatch(/temporarily locked .*until \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/)
    const until = Date.parse(body.error.message.match(/until (\S+?),/)![1])
    expect(until).toBeGreaterThan(Date.now() - 1000)
    expect(until).toBeLessThanOrEqual(Date.now() + LOCK_SECONDS * 1000 + 1000)
    expect(locked.headers.getSetCookie()).toEqual([])
    // Another user signs in as usual, from the same address.
    expect((await signIn(s, bob, TEST_PASSWORD)).status).toBe(200)
    // The lock is in the database (it holds across processes).
    const { rows } = await s.server.db.query<{ failures: number; locked: boolean }>('SELECT failures, locked_until > now() AS locked FROM login_failures WHERE username = $1', [alice])
    expect(rows[0]).toEqual({ failures: 5, locked: true })
  })

  it('lifts the lock when it runs out: the right password works again', async () => {
    // alice was locked by the test before; wait out the lock.
    const locked = await signIn(s, alice, TEST_PASSWORD)
    const wait = locked.status === 429 ? Number(locked.headers.get('retry-after')) : 0
    await sleep(wait * 1000 + 300)
    const res = await signIn(s, alice, TEST_PASSWORD)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { user: { username: string } }).user.username).toBe(alice)
    // The success cleared the count.
    expect((await s.server.db.query('SELECT 1 FROM login_failures WHERE username = $1', [alice])).rows).toEqual([])
  })

  it('answers an unknown username exactly like a known one, lock included', async () => {
    const ghost = `${tag}_ghost`
    const statuses: number[] = []
    const codes: string[] = []
    for (let i = 0; i < 6; i++) {
      const res = await signIn(s, i % 2 ? ghost.toUpperCase() : ghost, i === 5 ? TEST_PASSWORD : 'wrong-password')
      statuses.push(res.status)
      codes.push(((await res.json()) as ErrorBody).error.code)
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    expect(codes).toEqual(['bad_credentials', 'bad_credentials', 'bad_credentials', 'bad_credentials', 'bad_credentials', 'account_locked'])
    // The same as for an account that exists: carol, locked the same way.
    const known: number[] = []
    for (let i = 0; i < 6; i++) known.push((await signIn(s, carol, i === 5 ? TEST_PASSWORD : 'wrong-password')).status)
    expect(known).toEqual(statuses)
    const a = (await (await signIn(s, ghost, 'x')).json()) as ErrorBody
    const b = (await (await signIn(s, carol, 'x')).json()) as ErrorBody
    const shape = (m: string) => m.replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/, 'T').replace(/\d+ seconds?/, 'N')
    expect(shape(a.error.message)).toBe(shape(b.error.message))
  })

  it('resets the count on a successful sign-in', async () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) expect((await signIn(s, dave, 'wrong-password')).status).toBe(401)
      expect((await signIn(s, dave, TEST_PASSWORD)).status, `round ${round}`).toBe(200)
    }
  })

  it('locks even when the guesses come all at once', async () => {
    const ghost = `${tag}_burst`
    const res = await Promise.all(Array.from({ length: 12 }, () => signIn(s, ghost, 'wrong-password')))
    const statuses = res.map((r) => r.status).sort()
    expect(statuses.filter((x) => x === 401)).toHaveLength(5)
    expect(statuses.filter((x) => x === 429)).toHaveLength(7)
    await s.server.db.query('DELETE FROM login_failures WHERE username = $1', [ghost])
  })

  it('signs out everywhere: POST /api/auth/logout-all ends every session of the user', async () => {
    const one = await login(s.url, erin)
    const two = await login(s.url, erin)
    const token = ((await (await signIn(s, erin, TEST_PASSWORD, {}, true)).json()) as { token: string }).token
    const other = await login(s.url, bob)
    const all: Record<string, string>[] = [{ cookie: one }, { cookie: two }, { authorization: `Bearer ${token}` }]
    for (const h of all) expect((await me(s, h)).status).toBe(200)
    // A socket of the user (by the other cookie), and one of another user.
    const open = (cookie: string) => {
      const socket = connect(s.url, { path: '/socket.io', transports: ['websocket'], reconnection: false, extraHeaders: { cookie } })
      return new Promise<typeof socket>((resolve, reject) => {
        socket.on('connect', () => resolve(socket))
        socket.on('connect_error', reject)
      })
    }
    const [mine, theirs] = await Promise.all([open(two), open(other)])
    try {
      const closed = new Promise<string>((resolve) => mine.on('disconnect', (reason) => resolve(reason)))
      expect((await fetch(`${s.url}/api/auth/logout-all`, { method: 'POST' })).status).toBe(401)
      const res = await fetch(`${s.url}/api/auth/logout-all`, { method: 'POST', headers: { cookie: one } })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ ended: 3 })
      expect(res.headers.getSetCookie().join()).toMatch(/onegrid_session=;/)
      for (const h of all) expect((await me(s, h)).status).toBe(401)
      expect(await closed).toBe('io server disconnect')
      // Another user's session and socket are untouched.
      expect((await me(s, { cookie: other })).status).toBe(200)
      expect(theirs.connected).toBe(true)
    } finally {
      mine.close()
      theirs.close()
    }
  })

  describe('CSRF', () => {
    let cookie: string
    beforeAll(async () => {
      cookie = await login(s.url, bob)
    })
    const logout = (headers: Record<string, string>) => fetch(`${s.url}/api/auth/logout`, { method: 'POST', headers })

    it.each([
      ['a foreign Origin', { origin: EVIL }],
      ['Origin: null', { origin: 'null' }],
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
      ['the right host over another port', { origin: 'http://127.0.0.1:1' }],
    ])('refuses a cookie POST with %s (403), and the session stays', async (_, headers) => {
      const res = await logout({ cookie, ...headers })
      expect(res.status).toBe(403)
      const body = (await res.json()) as ErrorBody
      expect(body.error.code).toBe('cross_site')
      expect(body.error.message).toMatch(/cross-site request refused/)
      expect((await me(s, { cookie })).status).toBe(200)
    })
    it('refuses it on any route, before the route (PUT, PATCH, DELETE too)', async () => {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await fetch(`${s.url}/api/cases/1`, { method, headers: { cookie, origin: EVIL, 'content-type': 'application/json' }, body: '{}' })
        expect(res.status, method).toBe(403)
      }
    })
    it('lets safe methods, bearer tokens and requests without Origin through', async () => {
      expect((await me(s, { cookie, origin: EVIL, 'sec-fetch-site': 'cross-site' })).status).toBe(200)
      const token = ((await (await signIn(s, bob, TEST_PASSWORD, {}, true)).json()) as { token: string }).token
      // A bearer token (which no other site can make a browser send) with a foreign Origin — and the cookie too.
      expect((await logout({ authorization: `Bearer ${token}`, cookie, origin: EVIL })).status).toBe(204)
      expect((await me(s, { authorization: `Bearer ${token}` })).status).toBe(401)
      expect((await me(s, { cookie })).status).toBe(200)
    })
    it('lets a cookie POST from its own origin through', async () => {
      const own = await login(s.url, bob)
      expect((await logout({ cookie: own, origin: s.url, 'sec-fetch-site': 'same-origin' })).status).toBe(204)
      expect((await me(s, { cookie: own })).status).toBe(401)
      const plain = await login(s.url, bob)
      expect((await logout({ cookie: plain })).status).toBe(204)
    })
    it('refuses a sign-in from another site (login CSRF)', async () => {
      const res = await signIn(s, bob, TEST_PASSWORD, { origin: EVIL })
      expect(res.status).toBe(403)
      expect(res.headers.getSetCookie()).toEqual([])
      expect((await signIn(s, bob, TEST_PASSWORD, { 'sec-fetch-site': 'cross-site' })).status).toBe(403)
      expect((await signIn(s, bob, TEST_PASSWORD, { origin: s.url, 'sec-fetch-site': 'same-origin' })).status).toBe(200)
    })

    /** The socket.io handshake's outcome: 'connected' or the connect_error message. */
    function handshake(opts: { cookie?: string; token?: string; origin?: string }): Promise<string> {
      const socket = connect(s.url, {
        path: '/socket.io',
        transports: ['websocket'],
        reconnection: false,
        extraHeaders: { ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.origin ? { origin: opts.origin } : {}) },
        ...(opts.token ? { auth: { token: opts.token } } : {}),
      })
      return new Promise<string>((resolve) => {
        socket.on('connect', () => resolve('connected'))
        socket.on('connect_error', (err) => resolve(err.message))
      }).finally(() => socket.close())
    }
    it('refuses a socket.io handshake by cookie from another site (cross-site WebSocket hijacking)', async () => {
      const before = ((await (await fetch(`${s.url}/api/health`)).json()) as { realtime: { refused: { crossSite: number } } }).realtime.refused.crossSite
      expect(await handshake({ cookie, origin: EVIL })).toMatch(/^cross-site connection refused: it comes from https:\/\/evil\.example/)
      expect(await handshake({ cookie, origin: s.url })).toBe('connected')
      expect(await handshake({ cookie })).toBe('connected')
      const token = ((await (await signIn(s, bob, TEST_PASSWORD, {}, true)).json()) as { token: string }).token
      expect(await handshake({ token, origin: EVIL })).toBe('connected')
      const after = ((await (await fetch(`${s.url}/api/health`)).json()) as { realtime: { refused: { crossSite: number } } }).realtime.refused.crossSite
      expect(after - before).toBe(1)
    })
  })

  it('sends the security headers (no HSTS over plain http) and keeps the CSP', async () => {
    const res = await fetch(`${s.url}/api/health`)
    expect(res.headers.get('permissions-policy')).toMatch(/camera=\(\)/)
    expect(res.headers.get('permissions-policy')).toMatch(/geolocation=\(self\)/)
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('strict-transport-security')).toBeNull()
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/)
    expect(res.headers.get('content-security-policy')).not.toMatch(/'unsafe-eval'|\s\*(\s|;|$)/)
  })

  describe('per address, idle timeout, behind https', () => {
    // A server of its own: its address limit is small (every request here comes from 127.0.0.1).
    let t: TestServer
    const PUBLIC = 'https://onegrid.example'
    beforeAll(async () => {
      t = await startTestServer({ databaseUrl, env: { ONEGRID_LOGIN_IP_FAILURES: '6', ONEGRID_SESSION_IDLE_MINUTES: String(IDLE_SECONDS / 60), ONEGRID_PUBLIC_URL: PUBLIC } })
      await makeUsers(t, [bob, erin])
    })
    afterAll(async () => {
      await t?.server.db.query('DELETE FROM login_failures WHERE username LIKE $1', [`${tag}_spray%`])
      await t?.close()
    })

    it('ends a session unused for ONEGRID_SESSION_IDLE_MINUTES, and keeps one in use', async () => {
      const idle = await login(t.url, bob)
      const used = await login(t.url, erin)
      expect((await me(t, { cookie: idle })).status).toBe(200)
      // Use is noted when a lookup reaches the database (at most every SESSION_RECHECK_MS = 5 s), so a
      // session used every 1.5 s is seen at most 6.5 s apart (< 8 s); the idle one, > 8 s after its last use.
      const start = Date.now()
      while (Date.now() - start < (IDLE_SECONDS + 1.5) * 1000) {
        await sleep(1_500)
        expect((await me(t, { cookie: used })).status, `in use after ${Date.now() - start} ms`).toBe(200)
      }
      expect((await me(t, { cookie: idle })).status).toBe(401)
      expect((await me(t, { cookie: used })).status).toBe(200)
    })

    it('refuses every sign-in from an address after 6 failures across usernames (429, Retry-After)', async () => {
      for (let i = 0; i < 6; i++) expect((await signIn(t, `${tag}_spray${i}`, 'wrong-password')).status, `failure ${i + 1}`).toBe(401)
      const res = await signIn(t, bob, TEST_PASSWORD)
      expect(res.status).toBe(429)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(60)
      const body = (await res.json()) as ErrorBody
      expect(body.error.code).toBe('too_many_attempts')
      expect(body.error.message).toMatch(/too many failed sign-ins from your address.*until \d{4}-/)
    })

    it('takes ONEGRID_PUBLIC_URL as its own origin and sends HSTS for it', async () => {
      const res = await fetch(`${t.url}/api/health`)
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/)
      // The address is refused by now (429), but not as cross-site: the public origin passes the CSRF check.
      expect((await signIn(t, bob, TEST_PASSWORD, { origin: PUBLIC })).status).toBe(429)
      expect((await signIn(t, bob, TEST_PASSWORD, { origin: EVIL })).status).toBe(403)
    })
  })
})
