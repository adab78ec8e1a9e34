import { defineStore } from 'pinia'
import { ref } from 'vue'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

/** The payload of the server's `hello` event, plus when we received it. */
export interface HelloInfo {
  /** ISO timestamp from the server. */
  serverTime: string
  version: string
  /** Client clock (ms since epoch) when the hello arrived. */
  receivedAt: number
}

/** Realtime connection state. Plain state only — the socket itself lives in `useSocket`. */
export const useConnectionStore = defineStore('connection', () => {
  const state = ref<ConnectionState>('disconnected')
  /** Why we are disconnected, e.g. 'unauthorized', 'io server disconnect', 'transport close'. */
  const reason = ref<string | null>(null)
  const lastHello = ref<HelloInfo | null>(null)

  function setState(next: ConnectionState, why: string | null = null): void {
    state.value = next
    reason.value = why
  }

  function recordHello(hello: HelloInfo): void {
    lastHello.value = hello
  }

  return { state, reason, lastHello, setState, recordHello }
})
