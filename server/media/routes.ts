/**
 * OneGrid's own simulated camera stream, played through hls.js wherever a camera has no stream a
 * browser can open (server/features/service.ts cameraStream): a short test-pattern loop made once
 * with ffmpeg and committed under demo/ (README.md there has the command; the segments are stored
 * as `<n>.mpegts`, since `.ts` files are TypeScript to the tool chain), served as a LIVE HLS stream
 * so the player behaves as with a real camera.
 *
 * - GET /media/demo/live.m3u8 — a sliding window of LIVE_WINDOW segments ending at the last one
 *   completed by the wall clock: #EXT-X-MEDIA-SEQUENCE advances by one every segment duration,
 *   no #EXT-X-ENDLIST, #EXT-X-DISCONTINUITY where the loop wraps (the timestamps start again) and
 *   #EXT-X-DISCONTINUITY-SEQUENCE counting the wraps before the window. `Cache-Control: no-cache`.
 * - GET /media/demo/<seq>.ts — media sequence number seq is the committed segment seq mod N
 *   (video/mp2t); the same seq is always the same bytes, so it is cacheable (privately).
 *
 * Signed-in users only, by the session cookie a <video>/hls.js request carries (or a bearer
 * token), as for other reads. Only these two path shapes exist: anything else under /media is 404,
 * so no path can reach another file.
 */
import { can } from '../auth/permissions.ts'
import fs from 'node:fs'
import type { Context, Next } from 'koa'
import { HttpError } from '../http/errors.ts'

/** Segments listed in the live playlist (HLS asks for at least three). */
export const LIVE_WINDOW = 4
export const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl'
export const SEGMENT_TYPE = 'video/mp2t'

const PLAYLIST = /^\/media\/demo\/live\.m3u8$/
const SEGMENT = /^\/media\/demo\/(0|[1-9]\d{0,14})\.ts$/

export interface DemoLoop {
  /** Duration of each committed segment, in seconds, in loop order. */
  durations: number[]
  segments: Buffer[]
  targetDuration: number
}

/** Reads the committed loop: the durations from ffmpeg's VOD playlist (index.m3u8), the segments it names. */
export function loadDemoLoop(dir = new URL('./demo/', import.meta.url)): DemoLoop {
  const text = fs.readFileSync(new URL('index.m3u8', dir), 'utf8')
  const durations: number[] = []
  const segments: Buffer[] = []
  let pending: number | null = null
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    const inf = /^#EXTINF:([\d.]+)/.exec(line)
    if (inf) pending = Number(inf[1])
    else if (line && !line.startsWith('#')) {
      if (pending === null || !/^\d+\.mpegts$/.test(line)) throw new Error(`demo stream: unexpected line "${line}" in index.m3u8`)
      durations.push(pending)
      segments.push(fs.readFileSync(new URL(line, dir)))
      pending = null
    }
  }
  if (segments.length < LIVE_WINDOW) throw new Error(`demo stream: ${segments.length} segments, need at least ${LIVE_WINDOW}`)
  return { durations, segments, targetDuration: Math.ceil(Math.max(...durations)) }
}

/** The media sequence number of the segment playing at `nowMs` on the loop's endless timeline (segment 0 began at 0 ms). */
export function currentSequence(loop: DemoLoop, nowMs: number): number {
  const n = loop.durations.length
  const period = loop.durations.reduce((a, b) => a + b, 0)
  const t = nowMs / 1000
  const laps = Math.floor(t / period)
  let rest = t - laps * period
  let i = 0
  while (i < n - 1 && rest >= loop.durations[i]!) rest -= loop.durations[i++]!
  return laps * n + i
}

/** The live playlist at `nowMs`: the LIVE_WINDOW segments completed last. */
export function livePlaylist(loop: DemoLoop, nowMs: number): string {
  const n = loop.durations.length
  const first = currentSequence(loop, nowMs) - LIVE_WINDOW
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${loop.targetDuration}`,
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    // A segment's discontinuity sequence number is the count of wraps before it.
    `#EXT-X-DISCONTINUITY-SEQUENCE:${Math.floor(first / n)}`,
  ]
  for (let seq = first; seq < first + LIVE_WINDOW; seq++) {
    if (seq !== first && seq % n === 0) lines.push('#EXT-X-DISCONTINUITY')
    lines.push(`#EXTINF:${loop.durations[seq % n]!.toFixed(3)},`, `${seq}.ts`)
  }
  return `${lines.join('\n')}\n`
}

/** The /media middleware (mounted after the session is loaded). */
export function mediaRoutes(opts: { now?: () => number; loop?: DemoLoop } = {}) {
  const now = opts.now ?? Date.now
  // The loop's timeline starts a minute before this server did: sequence numbers stay small
  // (hls.js keeps an array indexed by the discontinuity sequence and walks it after every
  // playlist load — counted from 1970 that froze the page) and keep growing while it runs.
  const epoch = now() - 60_000
  let loop: DemoLoop | null | undefined = opts.loop
  const demo = (): DemoLoop => {
    if (loop === undefined) {
      try {
        loop = loadDemoLoop()
      } catch {
        loop = null
      }
    }
    if (!loop) throw new HttpError(404, 'the demo stream is not installed (server/media/demo/)')
    return loop
  }
  return async (ctx: Context, next: Next) => {
    if (ctx.path !== '/media' && !ctx.path.startsWith('/media/')) return next()
    const playlist = PLAYLIST.test(ctx.path)
    const segment = SEGMENT.exec(ctx.path)
    if (!playlist && !segment) throw new HttpError(404, `no media at ${ctx.path}`)
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD')
      throw new HttpError(405, `${ctx.method} is not allowed here: use GET`)
    }
    if (!ctx.state.actor) throw new HttpError(401, 'sign in first: this needs a session cookie or a bearer token')
    if (!can(ctx.state.actor, 'cameras.view')) throw new HttpError(403, `camera streams need the permission cameras.view, which the ${ctx.state.actor.role} role does not hold`)
    const l = demo()
    if (playlist) {
      ctx.type = PLAYLIST_TYPE
      ctx.set('Cache-Control', 'no-cache')
      ctx.body = livePlaylist(l, now() - epoch)
      return
    }
    const seq = Number(segment![1])
    ctx.type = SEGMENT_TYPE
    ctx.set('Cache-Control', 'private, max-age=86400, immutable')
    ctx.body = l.segments[seq % l.segments.length]
  }
}
