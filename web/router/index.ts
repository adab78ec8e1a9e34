import { createRouter, createWebHistory, type RouteLocationNormalized, type RouteRecordRaw } from 'vue-router'
import type { MessageKey } from '../i18n/zh-CN.ts'
import { useSessionStore } from '../stores/useSessionStore.ts'

/** The faces (screens) of OneGrid. */
export type FaceId = 'wall' | 'seat' | 'cockpit' | 'field' | 'admin'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session (only the login page). */
    public?: boolean
    /** Message key of the page title. */
    titleKey?: MessageKey
    face?: FaceId
    /** The permission the page is for (the page says so to others); absent: every signed-in user. */
    permission?: string
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/wall' },
  {
    path: '/login',
    name: 'login',
    component: () => import('../views/LoginView.vue'),
    meta: { public: true, titleKey: 'login.title' },
  },
  {
    path: '/wall',
    name: 'wall',
    component: () => import('../views/WallView.vue'),
    meta: { titleKey: 'wall.title', face: 'wall' },
  },
  // The 3D city alone with a live source a test fills (?debug=1): tests/e2e/city3d.e2e.test.ts checks
  // its drawing pixel by pixel there; the wall shows the same component behind its 2.5D ⇄ 3D toggle.
  {
    path: '/dev/city3d',
    name: 'city3d-preview',
    component: () => import('../views/City3DPreviewView.vue'),
    meta: { titleKey: 'wall.title', face: 'wall' },
  },
  {
    path: '/field',
    name: 'field',
    component: () => import('../views/FieldView.vue'),
    meta: { titleKey: 'face.field', face: 'field' },
  },
  {
    path: '/seat',
    name: 'seat',
    component: () => import('../views/SeatView.vue'),
    meta: { titleKey: 'face.seat', face: 'seat' },
  },
  {
    path: '/cockpit',
    name: 'cockpit',
    component: () => import('../views/CockpitView.vue'),
    meta: { titleKey: 'face.cockpit', face: 'cockpit' },
  },
  // An incident told as scenes (issue 9): for those who read cases (the server's scope decides
  // which), the wall kiosk included (it shows a pushed briefing); not the administrators.
  {
    path: '/briefing/:caseId',
    name: 'briefing',
    component: () => import('../views/BriefingView.vue'),
    props: true,
    meta: { titleKey: 'briefing.title', permission: 'cases.read' },
  },
  {
    path: '/admin',
    name: 'admin',
    component: () => import('../views/AdminView.vue'),
    meta: { titleKey: 'admin.title', face: 'admin' },
  },
  { path: '/:pathMatch(.*)*', redirect: '/wall' },
]

/** Only same-app absolute paths are accepted as `next` (no `//host` or `https:`). */
export function safeNextPath(value: unknown, fallback = '/wall'): string {
  if (typeof value !== 'string') return fallback
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback
  if (value === '/login' || value.startsWith('/login?')) return fallback
  return value
}

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
})

/** Every face requires a signed-in user; the server answers `GET /api/auth/me` with 200 or 401. */
router.beforeEach(async (to: RouteLocationNormalized) => {
  if (to.meta.public) return true
  const session = useSessionStore()
  if (session.user) return true
  // The page's code loads while the session is asked for: one round trip less on a slow network.
  for (const r of to.matched) {
    const c = r.components?.default
    if (typeof c === 'function' && !('displayName' in c) && !('props' in c) && !('__vccOpts' in c)) void (c as () => Promise<unknown>)().catch(() => {})
  }
  try {
    const user = await session.refresh()
    if (user) return true
  } catch (error) {
    console.warn('[onegrid] session check failed', error)
  }
  return { path: '/login', query: { next: to.fullPath } }
})
