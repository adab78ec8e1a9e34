import { apiFetch } from './http.ts'

/** A signed-in user as the server describes it. */
export interface SessionUser {
  username: string
  role: string
  /** Node of the admin/grid hierarchy the user may see (server-defined shape, usually a code). */
  scope: unknown
  displayName: string
  /** What the role may do (server/auth/permissions.ts); the server enforces it, the page only hides what would be refused. */
  permissions: string[]
}

interface UserResponse {
  user: SessionUser
}

/** `GET /api/auth/me` — the current user, or `ApiError` with status 401. */
export async function fetchMe(): Promise<SessionUser> {
  const body = await apiFetch<UserResponse>('/api/auth/me')
  return body.user
}

/** `POST /api/auth/login` — sets the HttpOnly session cookie on success. */
export async function login(username: string, password: string): Promise<SessionUser> {
  const body = await apiFetch<UserResponse>('/api/auth/login', {
    method: 'POST',
    json: { username, password },
  })
  return body.user
}

/** `POST /api/auth/logout` — clears the session cookie. */
export async function logout(): Promise<void> {
  await apiFetch<unknown>('/api/auth/logout', { method: 'POST' })
}
