import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as authApi from '../services/auth.ts'
import type { SessionUser } from '../services/auth.ts'
import { ApiError } from '../services/http.ts'

/** Who is signed in. Plain state only; talks to `/api/auth/*` through `api/auth.ts`. */
export const useSessionStore = defineStore('session', () => {
  const user = ref<SessionUser | null>(null)
  /** True once `/api/auth/me` has answered at least once. */
  const checked = ref(false)

  const isSignedIn = computed(() => user.value !== null)

  /** Whether the user holds the permission (server/auth/permissions.ts): pages offer only what the server would allow. */
  function can(permission: string): boolean {
    return user.value?.permissions?.includes(permission) ?? false
  }

  /**
   * Asks the server who we are. Resolves with the user, or null on 401.
   * Other failures (server unreachable, 5xx) are rethrown.
   */
  async function refresh(): Promise<SessionUser | null> {
    try {
      user.value = await authApi.fetchMe()
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        user.value = null
      } else {
        throw error
      }
    } finally {
      checked.value = true
    }
    return user.value
  }

  /** Signs in; rejects with `ApiError` (the server's message) on failure. */
  async function signIn(username: string, password: string): Promise<SessionUser> {
    const signedIn = await authApi.login(username, password)
    user.value = signedIn
    checked.value = true
    return signedIn
  }

  /** Signs out on the server (best effort) and forgets the user locally. */
  async function signOut(): Promise<void> {
    try {
      await authApi.logout()
    } finally {
      user.value = null
      checked.value = true
    }
  }

  /** Forget the user locally (e.g. after the socket was refused as unauthorized). */
  function clear(): void {
    user.value = null
  }

  return { user, checked, isSignedIn, can, refresh, signIn, signOut, clear }
})
