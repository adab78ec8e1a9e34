import http from 'node:http'

/**
 * Asks again for a resource with If-None-Match and returns the status (304 when unchanged).
 * fetch() marks conditional requests no-cache (Fetch spec), which rightly defeats 304, so this
 * uses node:http; and it asks for the same content coding the ETag names (tiles tag their br and
 * gzip representations `"…-br"`, `"…-gzip"`), as the browser that got it would.
 */
export function revalidate(url: string, etag: string, headers: Record<string, string> = {}): Promise<number> {
  const coding = /-(br|gzip)"$/.exec(etag)?.[1]
  return new Promise<number>((resolve, reject) =>
    http
      .get(url, { headers: { ...headers, 'if-none-match': etag, ...(coding ? { 'accept-encoding': coding } : {}) } }, (r) => {
        r.resume()
        resolve(r.statusCode!)
      })
      .on('error', reject),
  )
}
