import type { Socket } from 'socket.io-client'
import { getCurrentScope, onScopeDispose, ref, shallowRef, watch, type Ref, type ShallowRef } from 'vue'
import type { ScreenAnswer, ScreenState, ScreenView, SubscribeAnswer } from '../../server/realtime/events.ts'

export interface UseScreenSyncOptions {
  /** The screen this wall is (`/wall?screen=<id>`; default `main`). */
  screen: string
  /** Called with every state of the screen: a pushed view, or `view: null` when released. */
  onState?: (state: ScreenState) => void
  onError?: (message: string) => void
}

export interface UseScreenSyncReturn {
  /** The latest state of this screen (null until the server told; `view: null` = its own mode). */
  state: ShallowRef<ScreenState | null>
  /** Whether a pushed view controls the screen now. */
  controlled: Ref<boolean>
  /** Push a view to another screen (or this one); resolves with the new state or rejects with the server's reason. */
  push: (screen: string, view: ScreenView) => Promise<ScreenState>
  /** Give a screen back to its own mode. */
  release: (screen: string) => Promise<ScreenState>
}

/**
 * View sync (同屏推送): the wall joins its screen room `screen:<id>` and follows the views other
 * screens push there (`screen:state`); the server answers the join with the current state, so a
 * wall that starts or reconnects while controlled follows at once. Joins again after every
 * reconnect (a reconnect that socket.io could not recover loses the rooms).
 */
export function useScreenSync(socket: Ref<Socket | null>, opts: UseScreenSyncOptions): UseScreenSyncReturn {
  const state = shallowRef<ScreenState | null>(null)
  const controlled = ref(false)
  const onError = opts.onError ?? ((m: string) => console.warn(`[onegrid] ${m}`))

  const onState = (s: ScreenState): void => {
    if (s.screen !== opts.screen) return
    state.value = s
    controlled.value = s.view !== null
    opts.onState?.(s)
  }
  const join = (client: Socket): void => {
    client.emit('subscribe', { rooms: [`screen:${opts.screen}`] }, (answer: SubscribeAnswer) => {
      if ('error' in answer) onError(`could not join screen ${opts.screen}: ${answer.error}`)
    })
  }

  let bound: Socket | null = null
  const onConnect = (): void => {
    if (bound && !bound.recovered) join(bound)
  }
  const unbind = (): void => {
    bound?.off('screen:state', onState)
    bound?.off('connect', onConnect)
    bound = null
  }
  const stop = watch(
    socket,
    (client) => {
      unbind()
      if (!client) return
      bound = client
      client.on('screen:state', onState)
      client.on('connect', onConnect)
      if (client.connected) join(client)
    },
    { immediate: true },
  )

  function ask(event: 'screen:push' | 'screen:release', body: unknown): Promise<ScreenState> {
    const client = socket.value
    if (!client?.connected) return Promise.reject(new Error('not connected'))
    return (client.timeout(10_000).emitWithAck(event, body) as Promise<ScreenAnswer>).then((answer) => {
      if ('error' in answer) throw new Error(answer.error)
      return answer
    })
  }

  if (getCurrentScope())
    onScopeDispose(() => {
      stop()
      unbind()
    })

  return {
    state,
    controlled,
    push: (screen, view) => ask('screen:push', { screen, view }),
    release: (screen) => ask('screen:release', { screen }),
  }
}
