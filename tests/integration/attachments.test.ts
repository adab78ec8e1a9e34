/**
 * Case photos (issue 6, Attachments; server/cases/attachments.ts) on the real server: an upload's
 * type is read from its content (a PNG named .jpg is a PNG, text named .jpg is refused with 415),
 * the size limit answers 413 (declared too large, and streamed past the limit), the photo and its
 * ≤ 320 px thumbnail come back to the uploader and to users whose scope sees a case that refers to
 * it, and to nobody else (404); a report or action naming an unknown upload, or someone else's,
 * answers 422 and changes nothing.
 *
 * Re-runnable on the shared database: the run's users are named with its id, its cases carry the
 * id in their reporter text, its files go to a temporary ONEGRID_ATTACHMENTS_DIR; all are removed.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../server/auth/password.ts'
import type { Db } from '../../server/db/index.ts'
import { backends, login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

const BUND = '310101013'
/** ONEGRID_ATTACHMENT_MAX_MB for the run: 51.2 KB, so an oversize photo stays small. */
const MAX_MB = 0.05
const MAX_BYTES = Math.floor(MAX_MB * 1024 * 1024)

const PEOPLE = {
  reporter: { role: 'worker', duties: ['reporter'], street: 'bund' },
  acceptor: { role: 'dispatcher', duties: ['acceptor'], street: 'bund' },
  supervisor: { role: 'supervisor', duties: ['supervisor', 'reporter'], street: 'bund' },
  elsewhere: { role: 'supervisor', duties: ['supervisor', 'reporter'], street: 'other' },
  // A role that may work cases, without a workflow duty; and the system admin (no case permissions).
  nobody: { role: 'dispatcher', duties: [], street: 'bund' },
  sysadmin: { role: 'admin', duties: [], street: 'bund' },
} as const
type Who = keyof typeof PEOPLE

interface Uploaded {
  id: string
  type: string
  size: number
  url: string
  thumbUrl: string
}

/** A photo-like test image: a gradient with a few shapes (compresses like a photo, not like a flat colour). */
async function image(width: number, height: number, format: 'jpeg' | 'png' | 'webp'): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g"><stop offset="0" stop-color="#3a7"/><stop offset="1" stop-color="#f93"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/><circle cx="${width / 3}" cy="${height / 2}" r="${height / 4}" fill="#236"/></svg>`
  return sharp(Buffer.from(svg))[format]().toBuffer()
}

/** Random pixels: an image that does not compress (for the size limit). */
function noise(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3)
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(Math.random() * 256)
  return sharp(raw, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer()
}

describe.each(backends())('case attachments on $name', ({ databaseUrl }) => {
  let s: TestServer
  let db: Db
  const run = `${Date.now()}${process.pid}`
  const mark = `tat-${run}`
  const uname = (w: Who) => `tat_${run}_${w}`
  const cookies = {} as Record<Who, string>
  const userIds = {} as Record<Who, number>
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-attachments-'))
  let place = { lon: 0, lat: 0 }
  let category = ''
  const q = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows

  const upload = async (who: Who, bytes: Buffer, name: string, type = 'image/jpeg') => {
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(bytes)], { type }), name)
    const res = await fetch(`${s.url}/api/cases/attachments`, { method: 'POST', headers: { cookie: cookies[who] }, body: form })
    return { status: res.status, body: (await res.json()) as Uploaded & { error?: { message: string } } }
  }
  const get = (who: Who, url: string) => fetch(`${s.url}${url}`, { headers: { cookie: cookies[who] } })
  const api = async (method: string, url: string, who: Who, body?: unknown) => {
    const res = await fetch(`${s.url}${url}`, { method, headers: { cookie: cookies[who], 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const report = (who: Who, attachments: unknown[]) =>
    api('POST', '/api/cases', who, { categoryCode: category, source: 'patrol', description: `附件测试 ${mark}`, reporterText: mark, ...place, attachments })
  /** Files under the store apart from the run's kept uploads: leftovers of refused ones would show here. */
  const files = () => fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort()

  async function cleanUp(like: string) {
    await db.query('DELETE FROM cases WHERE reporter LIKE $1', [like])
    await db.query(`DELETE FROM attachments WHERE uploader_id IN (SELECT id FROM users WHERE username LIKE $1)`, [like.replace('tat-', 'tat\\_').replace('%', '\\_%')])
    await db.query('DELETE FROM users WHERE username LIKE $1', [like.replace('tat-', 'tat\\_').replace('%', '\\_%')])
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_ATTACHMENTS_DIR: dir, ONEGRID_ATTACHMENT_MAX_MB: String(MAX_MB) } })
    db = s.server.db
    const old = `${Date.now() - 3600_000}`
    const stale = await q<{ r: string }>(`SELECT DISTINCT substr(reporter, 5) AS r FROM cases WHERE reporter ~ '^tat-[0-9]+$' AND substr(reporter, 5, 13) < $1`, [old])
    for (const { r } of stale) await cleanUp(`tat-${r}%`)

    const g = (await q<{ lon: number; lat: number }>(
      `SELECT ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat FROM grids WHERE code LIKE $1 || '%' AND NOT synthetic ORDER BY code LIMIT 1`,
      [BUND],
    ))[0]!
    place = { lon: g.lon, lat: g.lat }
    category = (await q<{ code: string }>(`SELECT code FROM case_categories WHERE kind = 'event' ORDER BY code LIMIT 1`))[0]!.code
    const other = (await q<{ code: string }>(`SELECT code FROM admin_units WHERE level = 'street' AND code <> $1 ORDER BY code LIMIT 1`, [BUND]))[0]!.code
    const hash = await hashPassword(TEST_PASSWORD)
    for (const [who, p] of Object.entries(PEOPLE) as [Who, (typeof PEOPLE)[Who]][]) {
      userIds[who] = (await q<{ id: number }>(
        `INSERT INTO users (username, display_name, password_hash, role, scope_code, duties) VALUES ($1, $1, $2, $3, $4, $5::text[]) RETURNING id`,
        [uname(who), hash, p.role, p.street === 'bund' ? BUND : other, p.duties],
      ))[0]!.id
      cookies[who] = await login(s.url, uname(who))
    }
  }, 180_000)

  afterAll(async () => {
    if (db) await cleanUp(`${mark}%`)
    await s?.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  let jpeg: Uploaded

  it('stores a JPEG and gives it back with its type, private caching and nosniff; the thumbnail decodes and fits 320 px', async () => {
    const bytes = await image(800, 600, 'jpeg')
    const res = await upload('reporter', bytes, '现场照片.jpg')
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    jpeg = res.body
    expect(jpeg).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), type: 'image/jpeg', size: bytes.length, url: `/api/cases/attachments/${jpeg.id}`, thumbUrl: `/api/cases/attachments/${jpeg.id}/thumb` })
    // The client's name is on record as text, never in the path.
    const [row] = await q<{ original_name: string; sha256: string; uploader_id: number; width: number }>('SELECT original_name, sha256, uploader_id, width FROM attachments WHERE id = $1', [jpeg.id])
    expect(row).toMatchObject({ original_name: '现场照片.jpg', uploader_id: userIds.reporter, width: 800 })
    expect(files().some((f) => f.includes('现场'))).toBe(false)
    expect(files()).toContain(jpeg.id)

    const got = await get('reporter', jpeg.url)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('image/jpeg')
    expect(got.headers.get('cache-control')).toMatch(/^private\b/)
    expect(got.headers.get('x-content-type-options')).toBe('nosniff')
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true)

    const thumb = await get('reporter', jpeg.thumbUrl)
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/jpeg')
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()
    expect(meta.format).toBe('jpeg')
    expect(Math.max(meta.width, meta.height)).toBe(320)
    expect(meta.exif).toBeUndefined()
  })

  it('reads the type from the content: a PNG named .jpg and sent as image/jpeg is stored and served as image/png; WebP is accepted', async () => {
    const png = await image(200, 100, 'png')
    const res = await upload('reporter', png, 'photo.jpg', 'image/jpeg')
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.type).toBe('image/png')
    const got = await get('reporter', res.body.url)
    expect(got.headers.get('content-type')).toBe('image/png')
    const thumb = await sharp(Buffer.from(await (await get('reporter', res.body.thumbUrl)).arrayBuffer())).metadata()
    // Smaller than the thumbnail size: not enlarged.
    expect([thumb.width, thumb.height]).toEqual([200, 100])

    const webp = await upload('reporter', await image(400, 300, 'webp'), 'x.bin', 'application/octet-stream')
    expect(webp.status, JSON.stringify(webp.body)).toBe(201)
    expect(webp.body.type).toBe('image/webp')
  })

  it('refuses what is not a JPEG, PNG or WebP with 415 naming it, and keeps nothing of it', async () => {
    const before = files()
    const [{ n }] = await q<{ n: number }>('SELECT count(*)::int AS n FROM attachments WHERE uploader_id = $1', [userIds.reporter])
    const text = await upload('reporter', Buffer.from('这不是图片 — just some text pretending to be a photo\n'.repeat(20)), 'photo.jpg')
    expect(text.status).toBe(415)
    expect(text.body.error!.message).toMatch(/only JPEG, PNG or WebP.*none of the file types known/)
    const gif = await upload('reporter', await sharp(await image(40, 40, 'png')).gif().toBuffer(), 'anim.jpg')
    expect(gif.status).toBe(415)
    expect(gif.body.error!.message).toMatch(/image\/gif \(\.gif\)/)
    // A JPEG header on garbage: recognised, but not decodable.
    const broken = await upload('reporter', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]), 'broken.jpg')
    expect(broken.status).toBe(415)
    const json = await api('POST', '/api/cases/attachments', 'reporter', { file: 'x' })
    expect(json.status).toBe(415)
    expect(files()).toEqual(before)
    expect((await q<{ n: number }>('SELECT count(*)::int AS n FROM attachments WHERE uploader_id = $1', [userIds.reporter]))[0]!.n).toBe(n)
  })

  it('refuses a photo over ONEGRID_ATTACHMENT_MAX_MB with 413, streamed past the limit or declared too large, and keeps nothing', async () => {
    const before = files()
    const big = await noise(150, 150) // ~66 KB: past the limit while streaming
    expect(big.length).toBeGreaterThan(MAX_BYTES)
    const res = await upload('reporter', big, 'big.png', 'image/png')
    expect(res.status, JSON.stringify(res.body)).toBe(413)
    expect(res.body.error!.message).toMatch(/the photo is more than 51\.2 KB; the limit is 51\.2 KB \(ONEGRID_ATTACHMENT_MAX_MB\)/)
    const huge = await upload('reporter', await noise(260, 260), 'huge.png', 'image/png') // ~200 KB declared: refused unread
    expect(huge.status).toBe(413)
    expect(huge.body.error!.message).toMatch(/the upload is .*KB; the limit is 51\.2 KB/)
    expect(files()).toEqual(before)
  })

  it('lets only users with a workflow duty upload', async () => {
    const res = await upload('nobody', await image(40, 40, 'jpeg'), 'a.jpg')
    expect(res.status).toBe(403)
    expect(res.body.error!.message).toBe('uploading a photo needs a workflow duty; your account has none')
    const sysadmin = await upload('sysadmin', await image(40, 40, 'jpeg'), 'a.jpg')
    expect(sysadmin.status).toBe(403)
    expect(sysadmin.body.error!.message).toBe('this needs the permission cases.act, which the admin role does not hold')
    expect((await get('sysadmin', jpeg.url)).status).toBe(403)
    const anon = await fetch(`${s.url}/api/cases/attachments/${jpeg.id}`)
    expect(anon.status).toBe(401)
  })

  it('a report records the upload; users who see the case may read it, another street may not (404), nor anyone an unknown id', async () => {
    // Before any case refers to it, only the uploader sees it.
    expect((await get('supervisor', jpeg.url)).status).toBe(404)
    // The type recorded is the one read from the content, whatever the client says.
    const rep = await report('reporter', [{ id: jpeg.id, type: 'image/png' }])
    expect(rep.status, JSON.stringify(rep.body)).toBe(201)
    const c = rep.body.case as { id: number; version: number }
    const tl = await api('GET', `/api/cases/${c.id}/timeline`, 'supervisor')
    expect((tl.body.actions as { attachments: unknown[] }[])[0]!.attachments).toEqual([{ id: jpeg.id, type: 'image/jpeg' }])

    for (const url of [jpeg.url, jpeg.thumbUrl]) {
      expect((await get('supervisor', url)).status, url).toBe(200)
      const other = await get('elsewhere', url)
      expect(other.status, url).toBe(404)
      expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(/no attachment/)
    }
    expect((await get('supervisor', '/api/cases/attachments/AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404)
    expect((await get('supervisor', '/api/cases/attachments/..%2F..%2Fetc%2Fpasswd')).status).toBe(404)

    // Someone else's photo already on the case may go on its actions.
    const acc = await api('POST', `/api/cases/${c.id}/actions/accept`, 'acceptor', { version: c.version, attachments: [{ id: jpeg.id }] })
    expect(acc.status, JSON.stringify(acc.body)).toBe(200)
  })

  it('an unknown attachment id, or another user\'s upload not on the case, answers 422 and changes nothing', async () => {
    const rep = await report('reporter', [])
    expect(rep.status).toBe(201)
    const c = rep.body.case as { id: number; version: number }
    const snapshot = async () => ({
      row: (await q<{ j: unknown }>('SELECT to_jsonb(c) AS j FROM cases c WHERE id = $1', [c.id]))[0]!.j,
      actions: (await q<{ n: number }>('SELECT count(*)::int AS n FROM case_actions WHERE case_id = $1', [c.id]))[0]!.n,
    })
    const before = await snapshot()
    const unknown = await api('POST', `/api/cases/${c.id}/actions/accept`, 'acceptor', { version: c.version, attachments: [{ id: 'no-such-upload', type: 'image/jpeg' }] })
    expect(unknown.status).toBe(422)
    expect((unknown.body.error as { message: string }).message).toMatch(/attachment "no-such-upload": no such upload of yours or on this case/)
    const foreign = await upload('supervisor', await image(60, 40, 'jpeg'), 's.jpg')
    expect(foreign.status).toBe(201)
    const notMine = await api('POST', `/api/cases/${c.id}/actions/accept`, 'acceptor', { version: c.version, attachments: [{ id: foreign.body.id }] })
    expect(notMine.status).toBe(422)
    expect(await snapshot()).toEqual(before)

    const [{ n }] = await q<{ n: number }>('SELECT count(*)::int AS n FROM cases WHERE reporter = $1', [mark])
    const badReport = await report('reporter', [{ id: foreign.body.id }])
    expect(badReport.status).toBe(422)
    expect((await q<{ n: number }>('SELECT count(*)::int AS n FROM cases WHERE reporter = $1', [mark]))[0]!.n).toBe(n)
  })
})
