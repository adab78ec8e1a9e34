import { io, type Socket } from 'socket.io-client'
import { getCurrentScope, markRaw, onScopeDispose, shallowRef, type ShallowRef } from 'vue'
import { EventStream, type DomainEvent } from '../services/eventStream.ts'
import { LiveTelemetry, type LiveTelemetryOptions } from '../services/telemetry.ts'
import { useConnectionStore } from '../stores/useConnectionStore.ts'

/** Payload of the server's `hello` event, sent on every connect. */
export interface HelloPayload {
  serverTime: string
  version: string
}

export interface UseSocketOptions {
  /** socket.io path on the server; default `/socket.io`. */
  path?: string
  /** Connect immediately; default true. */
  autoConnect?: boolean
  /** Called when the server refuses the connection because the session is not valid. */
  onUnauthorized?: () => void
  /** Called with every `hello` the server sends. */
  onHello?: (hello: HelloPayload) => void
  /** Domain events the user may see, in order and once, across reconnects (EventStream). */
  onEvent?: (event: DomainEvent) => void
  /** Live values of what the map shows: call `telemetry.setViewport(bbox)` to receive them. */
  telemetry?: LiveTelemetryOptions
}

export interface UseSocketReturn {
  /** The socket.io client (not reactive inside; null after dispose). */
  socket: ShallowRef<Socket | null>
  /** Latest sensor readings and worker positions in the viewport set with setViewport (none before). */
  telemetry: LiveTelemetry
  connect: () => void
  disconnect: () => void
}

function isHelloPayload(value: unknown): value is HelloPayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as HelloPayload).serverTime === 'string' &&
    typeof (value as HelloPayload).version === 'string'
  )
}

/**
 * Opens a socket.io connection to the page's own origin (the session cookie authenticates it)
 * and mirrors its state into `useConnectionStore`. Closes the socket when the calling scope
 * (component) is disposed.
 */
export function useSocket(options: UseSocketOptions = {}): UseSocketReturn {
  const connection = useConnectionStore()
  const socket: ShallowRef<Socket | null> = shallowRef(null)

  const client = markRaw(
    io({
      path: options.path ?? '/socket.io',
      withCredentials: true,
      autoConnect: false,
    }),
  )
  socket.value = client
  if (options.onEvent) new EventStream(client, options.onEvent)
  const telemetry = markRaw(new LiveTelemetry(client, options.telemetry))

  client.on('connect', () => {
    connection.setState('connected')
  })
  client.on('hello', (payload: unknown) => {
    if (!isHelloPayload(payload)) return
    connection.recordHello({ ...payload, receivedAt: Date.now() })
    options.onHello?.(payload)
  })
  client.on('disconnect', (reason) => {
    // socket.io reconnects by itself unless the server or we closed the connection;
    // 'reconnect_attempt' below switches the state to 'connecting' when it tries again
    connection.setState('disconnected', reason)
  })
  client.on('connect_error', (error: Error) => {
    if (error.message === 'unauthorized') {
      // refused by the server's auth middleware: socket.io will not retry by itself
      client.disconnect()
      connection.setState('disconnected', 'unauthorized')
      options.onUnauthorized?.()
      return
    }
    connection.setState('disconnected', error.message)
  })
  client.io.on('reconnect_attempt', () => {
    connection.setState('connecting')
  })

  function connect(): void {
    if (client.connected) return
    connection.setState('connecting')
    client.connect()
  }

  function disconnect(): void {
    client.disconnect()
    connection.setState('disconnected', 'io client disconnect')
  }

  if (options.autoConnect ?? true) connect()

  if (getCurrentScope()) {
    onScopeDispose(() => {
      telemetry.dispose()
      client.removeAllListeners()
      client.io.removeAllListeners()
      client.disconnect()
      connection.setState('disconnected', 'io client disconnect')
      socket.value = null
    })
  }

  return { socket, telemetry, connect, disconnect }
}
