import { getCurrentScope, onScopeDispose, ref, watch, type Ref } from 'vue'

export interface UseScaleContainerOptions {
  /** Design width the HUD is laid out for, in CSS px; default 1920. */
  designWidth?: number
  /** Design height the HUD is laid out for, in CSS px; default 1080. */
  designHeight?: number
  /** Clamp the scale to this range; default [0.5, 4]. */
  minScale?: number
  maxScale?: number
}

export interface UseScaleContainerReturn {
  /** Measured container size in CSS px. */
  width: Ref<number>
  height: Ref<number>
  /** Uniform HUD scale: min(width / designWidth, height / designHeight), clamped. */
  scale: Ref<number>
}

/**
 * The wall's one scale container: watches an element with ResizeObserver and derives a
 * uniform scale for the HUD. A 1920×1080 design gives scale 1 on both a 1920×1080 screen and a
 * 3840×1080 wall (the wall just gets a wider HUD), 0.67 on 1280×720. Stops on scope dispose.
 */
export function useScaleContainer(
  target: Ref<HTMLElement | null | undefined>,
  options: UseScaleContainerOptions = {},
): UseScaleContainerReturn {
  const designWidth = options.designWidth ?? 1920
  const designHeight = options.designHeight ?? 1080
  const minScale = options.minScale ?? 0.5
  const maxScale = options.maxScale ?? 4

  const width = ref(0)
  const height = ref(0)
  const scale = ref(1)

  const update = (w: number, h: number): void => {
    width.value = w
    height.value = h
    if (w <= 0 || h <= 0) return
    const raw = Math.min(w / designWidth, h / designHeight)
    scale.value = Math.min(maxScale, Math.max(minScale, raw))
  }

  const observer =
    typeof ResizeObserver === 'undefined'
      ? null
      : new ResizeObserver((entries) => {
          const entry = entries[entries.length - 1]
          if (!entry) return
          const box = entry.contentRect
          update(box.width, box.height)
        })

  const stop = watch(
    target,
    (el, _old, onCleanup) => {
      if (!el || !observer) return
      update(el.clientWidth, el.clientHeight)
      observer.observe(el)
      onCleanup(() => observer.unobserve(el))
    },
    { immediate: true, flush: 'post' },
  )

  if (getCurrentScope()) {
    onScopeDispose(() => {
      stop()
      observer?.disconnect()
    })
  }

  return { width, height, scale }
}
