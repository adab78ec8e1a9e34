import http from 'node:http'
import { PNG } from 'pngjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers/server.ts'

/** /styles is public: styles, their sprite and the ECharts themes are served without a session. */
describe('/styles over HTTP (embedded backend, no login)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer()
  })
  afterAll(async () => {
    await s?.close()
  })

  it.each([
    ['', 1],
    ['@2x', 2],
  ] as const)('serves sprite%s.json and .png, matching each other, with ETag and Cache-Control', async (suffix, ratio) => {
    const index = await fetch(`${s.url}/styles/sprite${suffix}.json`)
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toMatch(/^application\/json/)
    expect(index.headers.get('cache-control')).toMatch(/public/)
    const entries = (await index.json()) as Record<string, { x: number; y: number; width: number; height: number; pixelRatio: number }>
    expect(entries['camera-fixed-online']).toMatchObject({ pixelRatio: ratio, width: 36 * ratio, height: 36 * ratio })

    const res = await fetch(`${s.url}/styles/sprite${suffix}.png`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/png')
    const etag = res.headers.get('etag')
    expect(etag).toMatch(/^"[\w-]+"$/)
    const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()))
    for (const [name, e] of Object.entries(entries)) {
      expect(e.x + e.width, name).toBeLessThanOrEqual(png.width)
      expect(e.y + e.height, name).toBeLessThanOrEqual(png.height)
    }
    // fetch() marks conditional requests no-cache (Fetch spec), which rightly defeats 304: use http.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      http.get(`${s.url}/styles/sprite${suffix}.png`, { headers: { 'if-none-match': etag! } }, (r) => {
        r.resume()
        resolve(r.statusCode)
      }).on('error', reject)
    })
    expect(status).toBe(304)
  })

  it('points every style at its sprite, which MapLibre fetches as <sprite>.json / <sprite>@2x.png', async () => {
    for (const name of ['night', 'day', 'contrast']) {
      const style = await (await fetch(`${s.url}/styles/${name}.json`)).json()
      expect(style.sprite).toBe(`${s.url}/styles/sprite`)
      expect((await fetch(`${style.sprite}@2x.png`)).status).toBe(200)
    }
  })

  it('serves the ECharts themes, and 404 for an unknown one', async () => {
    const res = await fetch(`${s.url}/styles/echarts/night.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const theme = await res.json()
    const style = await (await fetch(`${s.url}/styles/night.json`)).json()
    expect(theme.backgroundColor).toBe(style.layers.find((l: { type: string }) => l.type === 'background').paint['background-color'])
    expect((await fetch(`${s.url}/styles/echarts/wall.json`)).status).toBe(404)
  })
})
