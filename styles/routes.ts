import Router from '@koa/router'
import { baseUrl } from '../server/http/base-url.ts'
import { HttpError } from '../server/http/errors.ts'
import type { ThemeName } from '../layers/index.ts'
import { buildStyle, THEMES } from './build.ts'

/** /styles/{name}.json — public: a style holds no data, only where to fetch it. */
export function styleRoutes(publicUrl?: string): Router {
  const r = new Router({ prefix: '/styles' })
  r.get('/:name.json', (ctx) => {
    const name = ctx.params.name
    if (!Object.hasOwn(THEMES, name)) throw new HttpError(404, `unknown style "${name}"; styles: ${Object.keys(THEMES).join(', ')}`)
    ctx.body = buildStyle(name as ThemeName, baseUrl(ctx, publicUrl))
    ctx.set('Cache-Control', 'no-cache')
  })
  return r
}
