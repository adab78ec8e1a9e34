/**
 * A PNG of the cockpit for a report: the page drawn by modern-screenshot (loaded only when asked).
 * The map is WebGL without preserveDrawingBuffer, so its canvas would come out blank: its picture
 * is taken inside a render (CockpitMap.capture) and laid over the canvas as an <img> while the page
 * is drawn, the canvas itself left out.
 */
export async function snapshotPng(root: HTMLElement, map: { canvas: HTMLCanvasElement; image: string } | null): Promise<Blob> {
  let overlay: HTMLImageElement | null = null
  if (map) {
    overlay = document.createElement('img')
    overlay.src = map.image
    overlay.alt = ''
    Object.assign(overlay.style, { position: 'absolute', left: '0', top: '0', width: `${map.canvas.clientWidth}px`, height: `${map.canvas.clientHeight}px`, pointerEvents: 'none' })
    map.canvas.parentElement?.appendChild(overlay)
    await overlay.decode().catch(() => undefined)
  }
  try {
    const { domToBlob } = await import('modern-screenshot')
    const blob = await domToBlob(root, {
      type: 'image/png',
      scale: Math.min(2, globalThis.devicePixelRatio || 1),
      backgroundColor: '#030811',
      // only local fonts are used (no @font-face to embed)
      font: false,
      filter: (node) => !(map && node === map.canvas),
    })
    if (!blob) throw new Error('no image')
    return blob
  } finally {
    overlay?.remove()
  }
}

/** Saves a blob as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
