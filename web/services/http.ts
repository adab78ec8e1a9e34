/** Error body the server returns: `{ error: { code, message } }`. */
export interface ApiErrorBody {
  error: { code: string; message: string }
}

/** A failed API call: HTTP status plus the server's error code and message when it sent one. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

function isApiErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false
  const error = (value as { error: unknown }).error
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  )
}

/**
 * `fetch` against the page's own origin with the session cookie, JSON in and out.
 * Resolves with the parsed body on 2xx; rejects with `ApiError` otherwise
 * (status 0 when the server could not be reached).
 */
export async function apiFetch<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, headers, ...rest } = init
  const finalHeaders = new Headers(headers)
  finalHeaders.set('Accept', 'application/json')
  // the UI language (kept on <html lang> by useI18n), so the server can localise its messages
  const lang = typeof document !== 'undefined' ? document.documentElement.lang : ''
  if (lang && !finalHeaders.has('Accept-Language')) finalHeaders.set('Accept-Language', lang)
  let body = rest.body
  if (json !== undefined) {
    finalHeaders.set('Content-Type', 'application/json')
    body = JSON.stringify(json)
  }

  let response: Response
  try {
    response = await fetch(path, { credentials: 'same-origin', ...rest, headers: finalHeaders, body })
  } catch (cause) {
    throw new ApiError(0, 'network_error', cause instanceof Error ? cause.message : String(cause))
  }

  const text = await response.text()
  let parsed: unknown = undefined
  if (text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
  }

  if (!response.ok) {
    if (isApiErrorBody(parsed)) {
      throw new ApiError(response.status, parsed.error.code ?? 'error', parsed.error.message)
    }
    throw new ApiError(response.status, 'http_' + response.status, response.statusText || 'HTTP ' + response.status)
  }
  return parsed as T
}
