/**
 * Compressed tile bytes, by ETag and content coding: a cached tile is compressed once, not again
 * on every request (as the compression middleware would), and identical tiles of different
 * scopes share one entry. Least recently used entries go first past maxBytes.
 */
import zlib from 'node:zlib'

export type Coding = 'br' | 'gzip'

/** Below this size compressing is not worth the header (as the compression middleware's threshold). */
export const COMPRESS_THRESHOLD = 1024

export class CompressedTiles {
  readonly #entries = new Map<string, Buffer>()
  #bytes = 0

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.#entries.size
  }

  get(etag: string, coding: Coding, raw: Buffer): Buffer {
    const key = `${coding}:${etag}`
    const hit = this.#entries.get(key)
    if (hit) {
      this.#entries.delete(key)
      this.#entries.set(key, hit)
      return hit
    }
    const out =
      coding === 'br'
        ? zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } })
        : zlib.gzipSync(raw)
    this.#entries.set(key, out)
    this.#bytes += out.length
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break
      this.#entries.delete(k)
      this.#bytes -= v.length
    }
    return out
  }
}
