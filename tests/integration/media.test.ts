/**
 * The simulated camera stream served by OneGrid (server/media/routes.ts, issue 8): a valid LIVE
 * HLS playlist whose media sequence advances with the clock, segments that are MPEG-TS (a 0x47
 * sync byte every 188 bytes) mapped onto the committed loop, signed-in users only (the session
 * cookie a <video> sends), nothing else reachable under /media — never a 5xx. The stream does not
 * touch the database, so one embedded server is enough.
 */
import fs from 'node:fs'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LIVE_WINDOW, livePlaylist, loadDemoLoop, type DemoLoop } from '../../server/media/routes.ts'
import { until } from '../helpers/wait.ts'
import { login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

interface Parsed {
  tags: string[]
  targetDuration: number
  mediaSequence: number
  discontinuitySequence: number
  segments: { seq: number; uri: string; duration: number; discontinuity: boolean }[]
}

/** Parses a media playlist strictly enough to catch what a player would trip over. */
function parse(text: string): Parsed {
  const lines = text.split('\n').filter((l) => l !== '')
  expect(lines[0]).toBe('#EXTM3U')
  const tag = (name: string) => lines.find((l) => l.startsWith(`#${name}:`))?.slice(name.length + 2)
  const p: Parsed = {
    tags: lines.filter((l) => l.startsWith('#')),
    targetDuration: Number(tag('EXT-X-TARGETDURATION')),
    mediaSequence: Number(tag('EXT-X-MEDIA-SEQUENCE')),
    discontinuitySequence: Number(tag('EXT-X-DISCONTINUITY-SEQUENCE') ?? 0),
    segments: [],
  }
  let duration: number | null = null
  let discontinuity = false
  for (const l of lines.slice(1)) {
    if (l === '#EXT-X-DISCONTINUITY') discontinuity = true
    else if (l.startsWith('#EXTINF:')) duration = Number(/^#EXTINF:([\d.]+),/.exec(l)![1])
    else if (!l.startsWith('#')) {
      expect(duration, `EXTINF before ${l}`).not.toBeNull()
      p.segments.push({ seq: p.mediaSequence + p.segments.length, uri: l, duration: duration!, discontinuity })
      duration = null
      discontinuity = false
    }
  }
  return p
}

describe('the demo camera stream', () => {
  let s: TestServer
  let cookie: string
  let loop: DemoLoop
  const committed = (n: number) => fs.readFileSync(new URL(`../../server/media/demo/${n}.mpegts`, import.meta.url))

  beforeAll(async () => {
    s = await startTestServer()
    cookie = await login(s.url, 'supervisor')
    loop = loadDemoLoop()
  })
  afterAll(async () => {
    await s?.close()
  })

  const get = (path: string, headers: Record<string, string> = { cookie }) => fetch(`${s.url}${path}`, { headers })
  /** A request with the path sent exactly as written (fetch would resolve dot segments). */
  const raw = (path: string) =>
    new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(s.url)
      http
        .get({ hostname, port, path, headers: { cookie } }, (res) => {
          let body = ''
          res.setEncoding('latin1')
          res.on('data', (d: string) => (body += d))
          res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }))
        })
        .on('error', reject)
    })

  it('the committed loop is small, H.264 in MPEG-TS, 2 s segments', () => {
    expect(loop.segments.length).toBeGreaterThanOrEqual(6)
    expect(loop.segments.length).toBeLessThanOrEqual(10)
    for (const d of loop.durations) expect(d).toBeCloseTo(2, 3)
    const total = loop.segments.reduce((a, b) => a + b.length, 0)
    expect(total).toBeLessThanOrEqual(1.5 * 1024 * 1024)
  })

  it('serves a valid live playlist, no-cache, whose media sequence advances over time', async () => {
    const res = await get('/media/demo/live.m3u8')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.apple\.mpegurl/)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const text = await res.text()
    const p = parse(text)
    expect(p.tags).not.toContain('#EXT-X-ENDLIST')
    expect(text).not.toMatch(/EXT-X-PLAYLIST-TYPE/)
    expect(p.targetDuration).toBe(2)
    expect(p.segments).toHaveLength(LIVE_WINDOW)
    const n = loop.segments.length
    expect(p.discontinuitySequence).toBe(Math.floor(p.mediaSequence / n))
    for (const seg of p.segments) {
      expect(seg.uri).toBe(`${seg.seq}.ts`)
      expect(Math.round(seg.duration)).toBeLessThanOrEqual(p.targetDuration)
      expect(seg.discontinuity, `discontinuity before ${seg.seq}`).toBe(seg.seq !== p.mediaSequence && seg.seq % n === 0)
    }
    // The timeline starts a minute before the server did (segment k covers [2k, 2k + 2) s of it):
    // the window ends at least at segment 28, and the numbers stay small — hls.js keeps an array
    // indexed by the discontinuity sequence, and one counted from 1970 froze the page.
    expect(p.segments.at(-1)!.seq).toBeGreaterThanOrEqual(60 / 2 - 2)
    expect(p.discontinuitySequence).toBeLessThan(1000)

    let later = p
    const waited = await until(async () => {
      later = parse(await (await get('/media/demo/live.m3u8')).text())
      return later.mediaSequence > p.mediaSequence
    }, 'the media sequence to advance', 5000, 200)
    expect(later.mediaSequence).toBe(p.mediaSequence + 1)
    expect(later.segments.slice(0, -1).map((x) => x.seq)).toEqual(p.segments.slice(1).map((x) => x.seq))
    console.log(`[media] the media sequence advanced after ${waited} ms`)
  })

  it('marks the loop wrapping as a discontinuity and counts the wraps before the window', () => {
    const n = loop.segments.length
    // Clock at segment 3n + 1 playing: the window is 3n - 3 … 3n.
    const at = (3 * n + 1) * 2000 + 500
    const p = parse(livePlaylist(loop, at))
    expect(p.segments.map((x) => x.seq)).toEqual([3 * n - 3, 3 * n - 2, 3 * n - 1, 3 * n])
    expect(p.segments.map((x) => x.discontinuity)).toEqual([false, false, false, true])
    expect(p.discontinuitySequence).toBe(2)
    const next = parse(livePlaylist(loop, at + 4000))
    expect(next.segments.map((x) => x.seq)).toEqual([3 * n - 1, 3 * n, 3 * n + 1, 3 * n + 2])
    expect(next.segments.map((x) => x.discontinuity)).toEqual([false, true, false, false])
    expect(next.discontinuitySequence).toBe(2)
    const past = parse(livePlaylist(loop, at + 6000))
    expect(past.segments[0]!.seq).toBe(3 * n)
    // The wrap has left the window's inside: the first segment carries it in the discontinuity sequence.
    expect(past.segments.map((x) => x.discontinuity)).toEqual([false, false, false, false])
    expect(past.discontinuitySequence).toBe(3)
  })

  it('serves the listed segments as MPEG-TS: the committed segment seq mod N, a sync byte every 188 bytes, cacheable', async () => {
    const p = parse(await (await get('/media/demo/live.m3u8')).text())
    const n = loop.segments.length
    for (const seg of [...p.segments, { seq: 0 }, { seq: 999_999_999_999_999 }]) {
      const res = await get(`/media/demo/${seg.seq}.ts`)
      expect(res.status, String(seg.seq)).toBe(200)
      expect(res.headers.get('content-type')).toBe('video/mp2t')
      expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/)
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect(bytes.length % 188).toBe(0)
      expect(bytes.length).toBeGreaterThan(188 * 10)
      for (let i = 0; i < bytes.length; i += 188) if (bytes[i] !== 0x47) expect.fail(`segment ${seg.seq}: no sync byte at ${i}`)
      expect(Buffer.from(bytes).equals(committed(seg.seq % n)), `segment ${seg.seq} is loop segment ${seg.seq % n}`).toBe(true)
    }
  })

  it('needs a session: the cookie a video element sends, or a bearer token', async () => {
    expect((await get('/media/demo/live.m3u8', {})).status).toBe(401)
    expect((await get('/media/demo/5.ts', {})).status).toBe(401)
    const { token } = await (
      await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'wall', password: TEST_PASSWORD, bearer: true }) })
    ).json()
    expect((await get('/media/demo/live.m3u8', { authorization: `Bearer ${token}` })).status).toBe(200)
  })

  it('allows media from blob: URLs in the page policy (hls.js plays through Media Source Extensions)', async () => {
    const csp = (await get('/api/health')).headers.get('content-security-policy')
    expect(csp).toMatch(/media-src 'self' blob:/)
  })

  it('answers 404 for anything else under /media, traversal attempts included, never 5xx nor a file', async () => {
    const paths = [
      '/media', '/media/', '/media/demo', '/media/demo/', '/media/demo/index.m3u8', '/media/demo/0.mpegts', '/media/demo/README.md',
      '/media/demo/live.m3u8/', '/media/demo/live.M3U8', '/media/demo/-1.ts', '/media/demo/abc.ts', '/media/demo/1e3.ts', '/media/demo/01.ts',
      '/media/demo/1234567890123456.ts', '/media/demo/1.ts.ts', '/media/demo/../../package.json', '/media/demo/..%2F..%2Fpackage.json',
      '/media/demo/%2e%2e/%2e%2e/routes.ts', '/media/%2e%2e/%2e%2e/server/app.ts', '/media/demo/..\\..\\package.json', '/media/demo/0.ts%00.m3u8',
      '/media/demo/routes.ts', '/media/../package.json',
    ]
    for (const path of paths) {
      const res = await raw(path)
      expect(res.status, `${path}: ${res.body.slice(0, 120)}`).toBe(404)
      expect(res.body, path).not.toMatch(/"name": "onegrid"|import |#EXTM3U/)
    }
    const post = await fetch(`${s.url}/media/demo/live.m3u8`, { method: 'POST', headers: { cookie } })
    expect(post.status).toBe(405)
  })
})
