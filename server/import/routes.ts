/**
 * POST /api/import/:layer?format=geojson|csv&crs=wgs84|gcj02&importId=… — admins only; the body
 * is the raw file (read here with a size cap; the JSON body parser skips /api/import).
 * 200 with the report; 422 with `{ error, report }` when features were rejected (nothing
 * written); 400/404/413/415 naming the problem for a bad file or request.
 * Progress goes to the importing user's sockets as `import:progress`.
 *
 * GET /api/import/layers — what can be imported: geometry types, formats, properties.
 */
import crypto from 'node:crypto'
import Router from '@koa/router'
import type { Context } from 'koa'
import { z } from 'zod'
import type { Db } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'
import type { UserNotifier } from '../realtime/notify.ts'
import type { ImportProgressPayload } from '../realtime/events.ts'
import { describeLayer, importLayers } from './layers.ts'
import { formatBytes } from './parse.ts'
import { resolveLayer, runImport, summarizeRejection, type ImportPhase } from './service.ts'
import { parseMapping, runCaseImport, summarizeCaseRejection } from './cases.ts'

const ACCEPTED_TYPES = ['application/geo+json', 'application/json', 'text/csv', 'application/octet-stream', 'text/plain']

export const ImportQuery = z.object({
  format: z.enum(['geojson', 'csv'], { error: 'format must be geojson or csv' }).optional(),
  crs: z.enum(['wgs84', 'gcj02'], { error: 'crs must be wgs84 or gcj02' }).default('wgs84'),
  importId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'importId must be 1–64 letters, digits, _ or -').optional(),
})

export const CaseImportQuery = z.object({
  mapping: z.string().min(2, 'mapping must be the mapping file\'s JSON').optional(),
  file: z.string().max(200, 'file must be at most 200 characters').optional(),
  importId: ImportQuery.shape.importId,
})
/** The JSON form of a case import: the mapping and the CSV text in one body. */
export const CaseImportBody = z.object({
  mapping: z.unknown().refine((v) => v !== undefined, 'mapping is required'),
  csv: z.string({ error: 'csv must be the CSV file as text' }).min(1, 'csv is empty'),
  file: z.string().max(200).optional(),
})

/** Reads the raw request body, refusing more than maxBytes (413) before reading it all. */
async function readBody(ctx: Context, maxBytes: number, onBytes: (done: number, total: number) => void): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || NaN)
  const tooLarge = (size: string) => {
    // The rest of the upload is not read: close the connection after answering.
    ctx.set('Connection', 'close')
    return new HttpError(413, `the file is ${size}; the limit is ${formatBytes(maxBytes)} (ONEGRID_IMPORT_MAX_MB)`)
  }
  if (declared > maxBytes) throw tooLarge(formatBytes(declared))
  const parts: Buffer[] = []
  let n = 0
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    n += chunk.length
    if (n > maxBytes) throw tooLarge(`more than ${formatBytes(maxBytes)}`)
    parts.push(chunk)
    onBytes(n, Number.isFinite(declared) ? declared : n)
  }
  return Buffer.concat(parts)
}

/** Sends at most one event per phase every 200 ms, but always a phase's first and last. */
function throttled(send: (phase: ImportPhase | 'failed', done: number, total: number) => void) {
  let lastPhase = ''
  let lastAt = 0
  return (phase: ImportPhase | 'failed', done: number, total: number) => {
    const now = Date.now()
    if (phase !== lastPhase || done >= total || now - lastAt >= 200) {
      lastPhase = phase
      lastAt = now
      send(phase, done, total)
    }
  }
}

export function importRoutes(opts: { db: Db; maxBytes: number; notifier: UserNotifier; tz: string }): Router {
  const r = new Router({ prefix: '/api/import' })

  r.get('/layers', (ctx) => {
    ctx.body = { maxBytes: opts.maxBytes, layers: [...importLayers.values()].map(describeLayer) }
  })

  /**
   * POST /api/import/cases?mapping=<mapping JSON>&file=<name> with the CSV as the body (text/csv),
   * or a JSON body { mapping, csv, file? } — external case records (server/import/cases.ts).
   * Admins and dispatchers (within their scope). 200 with the report; 422 `{ error, report }`
   * naming the rejected rows (nothing written); rows imported before are skipped and listed.
   */
  r.post('/cases', async (ctx) => {
    const q = parseParams(CaseImportQuery, ctx.query)
    const type = ctx.request.type
    if (type && type !== 'application/json' && !ACCEPTED_TYPES.includes(type)) {
      throw new HttpError(415, `send the CSV as the body (text/csv) with ?mapping=, or JSON { mapping, csv }; got ${type}`)
    }
    const importId = q.importId ?? crypto.randomUUID()
    const actor = ctx.state.actor
    const emit = throttled((phase, done, total) => {
      const p: ImportProgressPayload = { importId, layer: 'cases', phase, done, total }
      opts.notifier.toUser(actor.userId, 'import:progress', p)
    })
    try {
      const raw = await readBody(ctx, opts.maxBytes, (done, total) => emit('receive', done, total))
      let bytes = raw
      let mappingIn: unknown = q.mapping
      let fileName = q.file
      if (type === 'application/json' && q.mapping === undefined) {
        let json: unknown
        try {
          json = JSON.parse(raw.toString('utf8'))
        } catch (err) {
          throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`)
        }
        const b = CaseImportBody.safeParse(json)
        if (!b.success) throw new HttpError(400, b.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '))
        bytes = Buffer.from(b.data.csv, 'utf8')
        mappingIn = b.data.mapping
        fileName = fileName ?? b.data.file
      }
      if (mappingIn === undefined) throw new HttpError(400, 'the mapping is missing: give ?mapping=<the mapping file\'s JSON>, or send JSON { mapping, csv }')
      const mapping = parseMapping(mappingIn)
      const report = await runCaseImport(opts.db, {
        bytes,
        mapping,
        tz: opts.tz,
        maxBytes: opts.maxBytes,
        fileName,
        actor: { username: actor.username, scopePrefix: actor.scopePrefix, unrestricted: actor.unrestricted },
        onProgress: emit,
      })
      if (report.rejectedCount > 0) {
        emit('failed', report.total, report.total)
        ctx.status = 422
        ctx.body = { error: { code: 'rejected', message: summarizeCaseRejection(report) }, report: { importId, ...report } }
        return
      }
      ctx.body = { importId, ...report }
    } catch (err) {
      emit('failed', 0, 0)
      throw err
    }
  })

  r.post('/:layer', async (ctx) => {
    const layer = resolveLayer(ctx.params.layer)
    const q = parseParams(ImportQuery, ctx.query)
    const type = ctx.request.type
    if (type && !ACCEPTED_TYPES.includes(type)) {
      throw new HttpError(415, `send the file itself as the request body with Content-Type application/geo+json, application/json or text/csv; got ${type}`)
    }
    const format = q.format ?? (type === 'text/csv' ? 'csv' : 'geojson')
    if (format === 'csv' && layer.geometry !== 'point') {
      throw new HttpError(415, `CSV files can only be imported into point layers; ${layer.id} has ${layer.geometryTypes.join('/')} geometries — send GeoJSON`)
    }
    const importId = q.importId ?? crypto.randomUUID()
    const userId: number = ctx.state.actor.userId
    const emit = throttled((phase, done, total) => {
      const p: ImportProgressPayload = { importId, layer: layer.id, phase, done, total }
      opts.notifier.toUser(userId, 'import:progress', p)
    })
    try {
      const bytes = await readBody(ctx, opts.maxBytes, (done, total) => emit('receive', done, total))
      const report = await runImport(opts.db, { bytes, format, layer, crs: q.crs, maxBytes: opts.maxBytes, onProgress: emit })
      if (report.rejectedCount > 0) {
        emit('failed', report.total, report.total)
        ctx.status = 422
        ctx.body = { error: { code: 'rejected', message: summarizeRejection(report) }, report: { importId, ...report } }
        return
      }
      ctx.body = { importId, ...report }
    } catch (err) {
      emit('failed', 0, 0)
      throw err
    }
  })
  return r
}
