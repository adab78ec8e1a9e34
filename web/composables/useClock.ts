import { getCurrentScope, onScopeDispose, ref, type Ref } from 'vue'

export interface UseClockOptions {
  /** Tick interval in ms; default 1000. */
  interval?: number
}

export interface UseClockReturn {
  /** Current time (ms since epoch), updated every tick. */
  now: Ref<number>
}

/** A ticking clock; the timer stops when the calling scope is disposed. */
export function useClock(options: UseClockOptions = {}): UseClockReturn {
  const now = ref(Date.now())
  const interval = options.interval ?? 1000
  // align ticks to whole seconds so the display changes in step with the wall clock
  let timer: ReturnType<typeof setTimeout> | undefined
  const tick = (): void => {
    now.value = Date.now()
    timer = setTimeout(tick, interval - (now.value % interval) + 5)
  }
  tick()

  if (getCurrentScope()) {
    onScopeDispose(() => {
      if (timer !== undefined) clearTimeout(timer)
    })
  }
  return { now }
}
