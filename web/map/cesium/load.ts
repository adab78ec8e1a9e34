/**
 * Cesium, loaded only when the 3D city is shown: the prebuilt library the server hands out at
 * /cesium/<version>/ (server/http/cesium.ts), imported at run time. Nothing of Cesium is bundled
 * (types only), so `vite build` stays fast and the 2.5D wall never downloads it.
 */
import type * as CesiumModule from 'cesium'
import { version } from 'cesium/package.json'

export type Cesium = typeof CesiumModule

/** Where Cesium's index.js, Workers/, Assets/ and Widgets/ are served. */
export const CESIUM_BASE_URL = `/cesium/${version}/`

declare global {
  interface Window {
    /** Cesium reads it to find its workers and assets. */
    CESIUM_BASE_URL?: string
    /** Test/debug hook: the 3D city's CesiumWidget (dev builds, or `?debug=1`). */
    __onegridCesium?: CesiumModule.CesiumWidget
  }
}

let loading: Promise<Cesium> | null = null

function loadCss(href: string): Promise<void> {
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const link = document.createElement('link')
    link.rel = 'stylesheet'
    link.href = href
    link.onload = () => resolve()
    link.onerror = () => reject(new Error(`could not load ${href}`))
    // First in <head>: the app's own styles (later) win over Cesium's where both set something.
    document.head.prepend(link)
  })
}

/** Cesium's module (loaded once per page; a failed load is retried on the next call). */
export function loadCesium(): Promise<Cesium> {
  loading ??= (async () => {
    window.CESIUM_BASE_URL = CESIUM_BASE_URL
    const [cesium] = await Promise.all([
      import(/* @vite-ignore */ `${CESIUM_BASE_URL}index.js`) as Promise<Cesium>,
      loadCss(`${CESIUM_BASE_URL}Widgets/CesiumWidget/CesiumWidget.css`),
    ])
    return cesium
  })().catch((error: unknown) => {
    loading = null
    throw error
  })
  return loading
}
