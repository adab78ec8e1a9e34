/**
 * A TCP proxy in front of the server that a test can cut: every open connection is dropped and
 * new ones are refused for a while, as when the network between a wall and the server fails —
 * the server itself keeps running (and raising events meanwhile).
 */
import net from 'node:net'

export interface CutProxy {
  /** http://127.0.0.1:<port> — browse through this. */
  url: string
  /** Drop every connection now and refuse new ones until `restore()`. */
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const { hostname, port } = new URL(target)
  const open = new Set<net.Socket>()
  let refusing = false
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = net.connect(Number(port), hostname)
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('close', () => open.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      refusing = true
      for (const s of open) s.destroy()
    },
    restore() {
      refusing = false
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}
