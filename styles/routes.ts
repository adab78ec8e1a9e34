import Router from '@koa/router'
import type { Context } from 'koa'
import { baseUrl } from '../server/http/base-url.ts'
import { sendTagged, strongEtag } from '../server/http/conditional.ts'
import { HttpError } from '../server/http/errors.ts'
import { visibleTo, type ThemeName } from '../layers/index.ts'
import { buildStyle, THEMES } from './build.ts'
import { ECHARTS_THEMES } from './echarts.ts'
import { sprite, type PixelRatio } from './sprite.ts'


/** Fixed content built once per process: answered with an ETag, 304 when the client has it. */
function sendCached(ctx: Context, type: string, body: string | Buffer, tag: string): void {
  // Revalidated after an hour: a new release may change icons, and the ETag makes that cheap.
  ctx.set('Cache-Control', 'public, max-age=3600')
  sendTagged(ctx, type, body, tag)
}

interface Built {
  body: string | Buffer
  tag: string
}
const cache = new Map<string, Built>()
function once(key: string, make: () => string | Buffer): Built {
  let b = cache.get(key)
  if (!b) {
    const body = make()
    b = { body, tag: strongEtag(body) }
    cache.set(key, b)
  }
  return b
}

/**
 * /styles — public: a style holds no data, only where to fetch it.
 *   /styles/{name}.json                    MapLibre style (the layers the asker's role may see)
 *   /styles/sprite[@2x].json, .png         the styles' sprite (index and sheet)
 *   /styles/echarts/{name}.json            ECharts theme matching style {name}
 */
export function styleRoutes(publicUrl?: string): Router {
  const r = new Router({ prefix: '/styles' })
  // The sprite routes come before /:name.json, which would otherwise take sprite.json.
  for (const [suffix, ratio] of [['', 1], ['@2x', 2]] as [string, PixelRatio][]) {
    r.get(`/sprite${suffix}.json`, (ctx) => {
      const b = once(`sprite${suffix}.json`, () => JSON.stringify(sprite(ratio).index))
      sendCached(ctx, 'application/json', b.body, b.tag)
    })
    r.get(`/sprite${suffix}.png`, (ctx) => {
      const b = once(`sprite${suffix}.png`, () => sprite(ratio).png)
      sendCached(ctx, 'image/png', b.body, b.tag)
    })
  }
  r.get('/echarts/:name.json', (ctx) => {
    const name = ctx.params.name
    if (!Object.hasOwn(ECHARTS_THEMES, name)) throw new HttpError(404, `unknown ECharts theme "${name}"; themes: ${Object.keys(ECHARTS_THEMES).join(', ')}`)
    const b = once(`echarts/${name}.json`, () => JSON.stringify(ECHARTS_THEMES[name as ThemeName]))
    sendCached(ctx, 'application/json', b.body, b.tag)
  })
  r.get('/:name.json', (ctx) => {
    const name = ctx.params.name
    if (!Object.hasOwn(THEMES, name)) throw new HttpError(404, `unknown style "${name}"; styles: ${Object.keys(THEMES).join(', ')}`)
    // Only the layers the asker may see (signed out: the base map's, whose tiles still need a session).
    const actor = ctx.state.actor
    ctx.body = buildStyle(name as ThemeName, baseUrl(ctx, publicUrl), (def) => (actor ? visibleTo(def, actor) : !def.permission))
    ctx.set('Cache-Control', 'no-cache')
    ctx.vary('Cookie')
  })
  return r
}
