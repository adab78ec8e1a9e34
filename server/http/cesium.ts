/**
 * Cesium's prebuilt library (node_modules/cesium/Build/Cesium: index.js, Workers, Assets,
 * Widgets CSS) at `/cesium/<version>/…`, for the 3D city view (web/map/cesium/load.ts). The web
 * app loads it at run time instead of bundling it: `vite build` stays fast and the 4 MB library
 * is fetched only when 3D is chosen. The version in the path makes the files immutable, so a
 * browser (or any cache in front) keeps them until Cesium is upgraded.
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Context, Next } from 'koa'
import serve from 'koa-static'
import { HttpError } from './errors.ts'

const require = createRequire(import.meta.url)
const pkgPath = require.resolve('cesium/package.json')

/** The installed Cesium version: the web imports the same package.json, so both agree. */
export const CESIUM_VERSION: string = (require(pkgPath) as { version: string }).version
export const CESIUM_DIR = path.join(path.dirname(pkgPath), 'Build', 'Cesium')
export const CESIUM_PREFIX = '/cesium/'

/**
 * Cesium's ESM build bundles Knockout (for the Viewer widgets, which we don't use), and Knockout
 * finds the global object with `this || (0, eval)("this")` when its module loads. In a module
 * `this` is undefined, so it evaluates a string — which our Content-Security-Policy forbids
 * (no 'unsafe-eval'), and the whole import fails. `globalThis` is what that eval returns.
 */
const KNOCKOUT_EVAL = 'this||(0,eval)("this")'
/**
 * It also bundles protobuf.js, whose `inquire` looks for Node's `require` with
 * `eval("quire".replace(/^/,"re"))` inside a try when its utilities load (for "buffer" and
 * "long"). Under our CSP that eval throws and inquire answers null, but the browser reports a
 * violation each time. Calling null throws in the same try: the same answer, no eval.
 */
const PROTOBUF_INQUIRE_EVAL = 'eval("quire".replace(/^/,"re"))'
let patchedIndex: Buffer | null = null
function indexJs(): Buffer {
  if (!patchedIndex) {
    const source = fs.readFileSync(path.join(CESIUM_DIR, 'index.js'), 'utf8')
    // One occurrence of each is expected; a Cesium without them needs no patch (the e2e tests load it under the real CSP and fail on any violation).
    patchedIndex = Buffer.from(source.replace(KNOCKOUT_EVAL, 'this||globalThis').replace(PROTOBUF_INQUIRE_EVAL, '(null)'))
  }
  return patchedIndex
}

export function cesiumStatic() {
  const files = serve(CESIUM_DIR, {
    index: false,
    // Cesium's own files only; no dotfiles, no directory listings.
    hidden: false,
    setHeaders: (res) => res.setHeader('Cache-Control', 'public, max-age=31536000, immutable'),
  })
  const own = `${CESIUM_PREFIX}${CESIUM_VERSION}/`
  return async (ctx: Context, next: Next) => {
    if (!ctx.path.startsWith(CESIUM_PREFIX)) return next()
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new HttpError(405, `${ctx.method} is not allowed on Cesium's static files`)
    if (!ctx.path.startsWith(own)) throw new HttpError(404, `this server has Cesium ${CESIUM_VERSION}: its files are under ${own}`)
    if (ctx.path === `${own}index.js`) {
      ctx.type = 'text/javascript'
      ctx.set('Cache-Control', 'public, max-age=31536000, immutable')
      ctx.body = indexJs()
      return
    }
    const original = ctx.path
    // koa-static serves from the folder's root: strip the prefix for it, then put the path back.
    ctx.path = ctx.path.slice(own.length - 1)
    try {
      await files(ctx, async () => {})
    } finally {
      ctx.path = original
    }
    if (ctx.body == null) throw new HttpError(404, `no file ${original} in Cesium ${CESIUM_VERSION}`)
  }
}
