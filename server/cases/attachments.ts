/**
 * Photos with a case report or a workflow action (附件):
 * - POST /api/cases/attachments — multipart/form-data, one image in the field `file` → 201
 *   `{ id, type, size, url, thumbUrl }`. Any user with a workflow duty may upload (403 without one).
 *   The size limit (ONEGRID_ATTACHMENT_MAX_MB) is enforced while the body streams in (413); the
 *   type is read from the content, never the name or the declared type: JPEG, PNG or WebP, else 415
 *   naming what it is. Stored under ONEGRID_ATTACHMENTS_DIR (outside the web root) by a random id,
 *   with a 320 px JPEG thumbnail made at upload; the client's file name is kept as text only.
 * - GET /api/cases/attachments/:id and /:id/thumb — to the uploader, and to users whose scope sees
 *   a case one of whose actions refers to the id; 404 to everyone else (as for an unknown id).
 *
 * The original is served byte for byte as uploaded (its sha256 is on record: evidence), EXIF
 * included; the thumbnail is re-encoded and carries no metadata (no GPS, no camera).
 * Reports and actions refer to uploads as `attachments: [{ id, type }]`; usableAttachments() is
 * the check CaseService makes before it records them.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import Router from '@koa/router'
import busboy from 'busboy'
import { fileTypeFromFile } from 'file-type'
import type { Context } from 'koa'
import sharp from 'sharp'
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Db, Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { HttpError } from '../http/errors.ts'
import { formatBytes } from '../import/parse.ts'
import type { Logger } from '../log.ts'
import type { AttachmentRef } from './types.ts'

const sql = loadSql(new URL('./attachments.sql', import.meta.url))

export const ATTACHMENT_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const
export type AttachmentType = (typeof ATTACHMENT_TYPES)[number]

/** Longest side of a thumbnail, px. */
export const THUMB_PX = 320
/** Larger images are refused before decoding (a small file can decode to gigabytes). */
const MAX_PIXELS = 50_000_000
/** Multipart framing around the file: a declared body larger than the limit by more is refused unread. */
const FRAMING_BYTES = 64 * 1024
/** 16 random bytes, base64url. */
const ID = /^[A-Za-z0-9_-]{22}$/

export interface UploadResult {
  id: string
  type: AttachmentType
  size: number
  url: string
  thumbUrl: string
}

interface Received {
  tmp: string
  bytes: number
  sha256: string
  name: string | null
  truncated: boolean
}

const urls = (id: string) => ({ url: `/api/cases/attachments/${id}`, thumbUrl: `/api/cases/attachments/${id}/thumb` })

export class AttachmentStore {
  constructor(
    private readonly opts: {
      db: Db
      /** ONEGRID_ATTACHMENTS_DIR; created on the first upload. */
      dir: string
      maxBytes: number
      log?: Logger
    },
  ) {
    // A fractional MB setting would give a byte limit busboy never reaches exactly.
    this.opts = { ...opts, maxBytes: Math.floor(opts.maxBytes) }
  }

  /** Where an id's files are: <dir>/<first two characters>/<id> and <id>.thumb.jpg (ids are checked against ID first). */
  filePath(id: string, thumb = false): string {
    return path.join(this.opts.dir, id.slice(0, 2), thumb ? `${id}.thumb.jpg` : id)
  }

  /** Reads one image from the multipart request, checks and stores it (see the file comment). */
  async upload(ctx: Context, actor: Actor): Promise<UploadResult> {
    const { db, maxBytes } = this.opts
    const duties = (await db.query<{ duties: string[] }>('SELECT duties FROM users WHERE id = $1', [actor.userId])).rows[0]?.duties ?? []
    if (duties.length === 0) throw new HttpError(403, 'uploading a photo needs a workflow duty; your account has none')
    if (!ctx.is('multipart/form-data')) {
      throw new HttpError(415, `send the photo as multipart/form-data in the field "file"; got ${ctx.request.type || 'no Content-Type'}`)
    }
    const declared = Number(ctx.get('content-length') || NaN)
    if (declared > maxBytes + FRAMING_BYTES) {
      // The body is not read: close the connection after answering.
      ctx.set('Connection', 'close')
      throw new HttpError(413, `the upload is ${formatBytes(declared)}; the limit is ${formatBytes(maxBytes)} (ONEGRID_ATTACHMENT_MAX_MB)`)
    }
    const id = crypto.randomBytes(16).toString('base64url')
    const received = await this.receive(ctx, id)
    const final = this.filePath(id)
    const thumb = this.filePath(id, true)
    try {
      if (received.truncated) {
        throw new HttpError(413, `the photo is more than ${formatBytes(maxBytes)}; the limit is ${formatBytes(maxBytes)} (ONEGRID_ATTACHMENT_MAX_MB)`)
      }
      if (received.bytes === 0) throw new HttpError(400, 'the file in the field "file" is empty')
      const found = await fileTypeFromFile(received.tmp)
      if (!found || !(ATTACHMENT_TYPES as readonly string[]).includes(found.mime)) {
        throw new HttpError(415, `only JPEG, PNG or WebP photos are accepted; this file is ${found ? `${found.mime} (.${found.ext})` : 'none of the file types known by their content (text?)'}`)
      }
      const type = found.mime as AttachmentType
      let width: number, height: number
      try {
        const meta = await sharp(received.tmp).metadata()
        width = meta.autoOrient?.width ?? meta.width
        height = meta.autoOrient?.height ?? meta.height
        if (width * height > MAX_PIXELS) {
          throw new HttpError(413, `the photo is ${width}×${height} pixels; at most ${MAX_PIXELS / 1e6} megapixels`)
        }
        await fsp.mkdir(path.dirname(final), { recursive: true })
        // Upright (EXIF orientation), on white where the PNG/WebP was transparent; re-encoding drops all metadata.
        await sharp(received.tmp, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
          .rotate()
          .resize({ width: THUMB_PX, height: THUMB_PX, fit: 'inside', withoutEnlargement: true })
          .flatten({ background: '#ffffff' })
          .jpeg({ quality: 80, mozjpeg: true })
          .toFile(thumb)
      } catch (err) {
        if (err instanceof HttpError) throw err
        throw new HttpError(415, `the file starts like ${type} but cannot be decoded as one: ${(err as Error).message}`)
      }
      await fsp.rename(received.tmp, final)
      await db.query(sql.insert, [id, actor.userId, type, received.bytes, width, height, received.sha256, received.name?.slice(0, 255) ?? null])
      return { id, type, size: received.bytes, ...urls(id) }
    } catch (err) {
      await Promise.all([received.tmp, final, thumb].map((p) => fsp.rm(p, { force: true })))
      throw err
    }
  }

  /** Streams the field `file` to <dir>/tmp/<id>.part, hashing and counting; stops storing past maxBytes (truncated). */
  private async receive(ctx: Context, id: string): Promise<Received> {
    const { maxBytes } = this.opts
    const tmpDir = path.join(this.opts.dir, 'tmp')
    await fsp.mkdir(tmpDir, { recursive: true })
    const tmp = path.join(tmpDir, `${id}.part`)
    const req = ctx.req
    return new Promise<Received>((resolve, reject) => {
      let bb: busboy.Busboy
      try {
        bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: maxBytes + 1, fields: 20, fieldSize: 10_000, parts: 30 } })
      } catch (err) {
        reject(new HttpError(400, `the multipart body cannot be read: ${(err as Error).message}`))
        return
      }
      let file: Promise<Received> | null = null
      let extraFiles = false
      let failed = false
      let readBytes = 0
      const fail = (err: Error) => {
        if (failed) return
        failed = true
        req.unpipe(bb)
        // What is left of the body is not read: close the connection after answering.
        ctx.set('Connection', 'close')
        void (file ?? Promise.resolve()).catch(() => {}).finally(() => fsp.rm(tmp, { force: true }))
        reject(err)
      }
      // Past the limit busboy discards the rest of the file; a body far over it is cut off instead of read to the end.
      req.on('data', (chunk: Buffer) => {
        readBytes += chunk.length
        if (readBytes > 2 * maxBytes + FRAMING_BYTES) {
          fail(new HttpError(413, `the upload is more than ${formatBytes(2 * maxBytes)}; the limit is ${formatBytes(maxBytes)} (ONEGRID_ATTACHMENT_MAX_MB)`))
        }
      })
      bb.on('file', (field, stream, info) => {
        if (field !== 'file' || file) {
          if (file) extraFiles = true
          stream.resume()
          return
        }
        const hash = crypto.createHash('sha256')
        let bytes = 0
        const tap = new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk)
            bytes += chunk.length
            done(null, chunk)
          },
        })
        const stored: Promise<Received> = pipeline(stream, tap, fs.createWriteStream(tmp)).then(() => ({
          tmp, bytes, sha256: hash.digest('hex'), name: info.filename ?? null, truncated: stream.truncated === true,
        }))
        file = stored
        stored.catch(fail)
      })
      bb.on('filesLimit', () => {
        extraFiles = true
      })
      bb.on('error', (err: Error) => fail(new HttpError(400, `the multipart body cannot be read: ${err.message}`)))
      req.on('error', (err) => fail(new HttpError(400, `the upload broke off: ${err.message}`)))
      bb.on('close', () => {
        if (failed) return
        if (!file) {
          fail(new HttpError(400, 'no file in the field "file": send one image as multipart/form-data field "file"'))
          return
        }
        file.then((r) => {
          if (failed) return
          if (extraFiles) {
            fail(new HttpError(400, 'send one photo per upload, in the field "file"'))
            return
          }
          resolve(r)
        }, fail)
      })
      req.pipe(bb)
    })
  }

  /** The file to send for id, when the actor may see it; null for unknown and not allowed alike. */
  async readable(id: string, actor: Actor): Promise<{ id: string; type: AttachmentType; size: number } | null> {
    if (!ID.test(id)) return null
    const { rows } = await this.opts.db.query<{ id: string; type: AttachmentType; size: number }>(sql.readable, [id, actor.userId, scopeFilter(actor)])
    return rows[0] ?? null
  }
}

/**
 * The attachments a report or action may record, with the type on record (not the client's):
 * each id must be an upload of the actor or already on the case. 422 naming the others.
 */
export async function usableAttachments(q: Queryable, refs: AttachmentRef[], actor: Actor, caseId: number | null): Promise<AttachmentRef[]> {
  if (refs.length === 0) return []
  const ids = [...new Set(refs.map((r) => r.id))]
  const { rows } = await q.query<{ id: string; type: string }>(sql.usable, [ids, actor.userId, caseId])
  const known = new Map(rows.map((r) => [r.id, r.type]))
  const bad = ids.filter((id) => !known.has(id))
  if (bad.length) {
    throw new HttpError(422, `attachment ${bad.map((b) => JSON.stringify(b)).join(', ')}: no such upload of yours${caseId === null ? '' : ' or on this case'}; upload the photo first (POST /api/cases/attachments)`)
  }
  return ids.map((id) => {
    const name = refs.find((r) => r.id === id && r.name !== undefined)?.name
    return { id, type: known.get(id)!, ...(name !== undefined ? { name } : {}) }
  })
}

export function attachmentRoutes(opts: { store: AttachmentStore }): Router {
  const r = new Router({ prefix: '/api/cases/attachments' })
  const { store } = opts

  r.post('/', async (ctx) => {
    ctx.body = await store.upload(ctx, ctx.state.actor)
    ctx.status = 201
  })

  const send = (thumb: boolean) => async (ctx: Context) => {
    const id = String(ctx.params.id)
    const a = await store.readable(id, ctx.state.actor)
    if (!a) throw new HttpError(404, `no attachment ${JSON.stringify(id)} that you may see`)
    const file = store.filePath(a.id, thumb)
    let stat: fs.Stats
    try {
      stat = await fsp.stat(file)
    } catch {
      throw new HttpError(404, `the file of attachment ${a.id} is missing`)
    }
    ctx.status = 200
    ctx.type = thumb ? 'image/jpeg' : a.type
    // Immutable content, but only for this user (no shared cache); nosniff also comes from securityHeaders.
    ctx.set('Cache-Control', 'private, max-age=3600')
    ctx.set('X-Content-Type-Options', 'nosniff')
    ctx.set('Content-Disposition', `inline; filename="${a.id}${thumb ? '.thumb.jpg' : { 'image/jpeg': '.jpg', 'image/png': '.png', 'image/webp': '.webp' }[a.type]}"`)
    ctx.set('ETag', `"${a.id}${thumb ? '-t' : ''}"`)
    if (ctx.fresh) {
      ctx.status = 304
      return
    }
    ctx.length = stat.size
    ctx.body = fs.createReadStream(file)
  }
  r.get('/:id', send(false))
  r.get('/:id/thumb', send(true))
  return r
}
