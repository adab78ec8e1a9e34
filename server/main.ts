import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { ConfigError, loadConfig, version, type Config } from './config.ts'
import { openDb, StartupError, type Db } from './db/index.ts'
import { migrate } from './db/migrate.ts'
import { probeCapabilities, type Capabilities } from './db/probe.ts'
import { createLogger, type Logger } from './log.ts'
import { ensureSeeded, seedSettings } from './seed/index.ts'
import { createApp } from './app.ts'
import { attachSocket, type Io } from './realtime/socket.ts'
import { MqttIngest } from './ingest/mqtt.ts'

export interface RunningServer {
  url: string
  port: number
  db: Db
  caps: Capabilities
  io: Io
  close(): Promise<void>
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      if (err.code === 'EADDRINUSE') reject(new StartupError(`port ${port} is already in use: stop the program using it or set PORT to a free port`))
      else if (err.code === 'EACCES') reject(new StartupError(`not allowed to listen on port ${port}: use a port above 1024 (set PORT)`))
      else reject(new StartupError(`cannot listen on ${host}:${port}: ${err.message}`))
    }
    const onListening = () => {
      server.off('error', onError)
      resolve((server.address() as { port: number }).port)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

/** Opens the database, migrates, seeds on first start, and serves HTTP + socket.io. */
export async function startServer(config: Config, log: Logger = createLogger(config.LOG_LEVEL)): Promise<RunningServer> {
  const db = await openDb(config)
  try {
    await migrate(db)
    await ensureSeeded(db, seedSettings(config, log))
    const caps = await probeCapabilities(db)
    const { app, sessions, notifier, tiles, events, ingest } = createApp({ config, db, caps, log })
    const server = http.createServer(app.callback())
    const io = attachSocket(server, { sessions, log, version, events, db })
    notifier.bind(io)
    tiles.bind(io)
    events.bind(io)
    if (config.MQTT_URL) {
      ingest.current = new MqttIngest({ url: config.MQTT_URL, db, events, tiles, log })
      ingest.current.start()
    }
    const port = await listen(server, config.PORT, config.HOST)
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
    const url = `http://${host}:${port}`
    log.info({ url, db: db.kind, postgis: caps.postgis, mvt: caps.mvt, version }, 'OneGrid is up')
    let closing: Promise<void> | undefined
    return {
      url,
      port,
      db,
      caps,
      io,
      close: () =>
        (closing ??= (async () => {
          // Readings still pending are written first; io.close() also closes the HTTP server.
          await ingest.current?.close()
          await new Promise<void>((resolve) => io.close(() => resolve()))
          server.closeAllConnections()
          await db.close()
          log.info('OneGrid stopped')
        })()),
    }
  } catch (err) {
    await db.close().catch(() => {})
    throw err
  }
}

/** CLI entry: one clear line and exit code 1 for anything the operator must fix. */
export async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    console.error(`onegrid: ${(err as Error).message}`)
    process.exit(1)
  }
  const log = createLogger(config.LOG_LEVEL)
  let running: RunningServer
  try {
    running = await startServer(config, log)
  } catch (err) {
    if (err instanceof StartupError || err instanceof ConfigError) {
      console.error(`onegrid: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
  console.log(`\n  OneGrid is running: ${running.url}/wall  (database: ${running.db.kind}, tiles: ${running.caps.mvt})\n`)
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    running.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
