import http from 'node:http'
import { pathToFileURL } from 'node:url'
import type Koa from 'koa'
import { ConfigError, loadConfig, version, type Config } from './config.ts'
import { openDb, StartupError, type Db } from './db/index.ts'
import { migrate } from './db/migrate.ts'
import { probeCapabilities, type Capabilities } from './db/probe.ts'
import { createLogger, type Logger } from './log.ts'
import { ensureSeeded, seedSettings } from './seed/index.ts'
import { createApp } from './app.ts'
import { attachSocket, type Io } from './realtime/socket.ts'
import { MqttIngest } from './ingest/mqtt.ts'
import { EmbeddedBroker, internalCredentials, internalSecret } from './ingest/broker.ts'
import { RedisLink } from './realtime/scale.ts'
import { Scheduler } from './jobs/scheduler.ts'
import { PgLeader, SoleLeader } from './jobs/leader.ts'
import { alarmJobs } from './alarms/jobs.ts'
import { deadlineJob } from './cases/jobs.ts'
import { dispatchAckJob } from './cases/ack-job.ts'
import type { Telemetry } from './realtime/telemetry.ts'
import { simulatorEnabled, startInProcessSimulator } from './simulate/index.ts'

export interface RunningServer {
  url: string
  port: number
  db: Db
  caps: Capabilities
  io: Io
  /** The Koa app (its routers are what the permission table and the route-driven tests walk). */
  app: Koa
  /** Live readings and positions to screens (ingest, positions and the simulator offer to it). */
  telemetry: Telemetry
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

/**
 * Fails fast on a port that is taken or not allowed, before the database is opened (a first start
 * seeds for a minute or more first). The real listen afterwards still reports a port taken meanwhile.
 */
async function checkPort(port: number, host: string): Promise<void> {
  if (port === 0) return
  const probe = http.createServer()
  await listen(probe, port, host)
  await new Promise<void>((resolve) => probe.close(() => resolve()))
}

/** Opens the database, migrates, seeds on first start, and serves HTTP + socket.io. */
export async function startServer(config: Config, log: Logger = createLogger(config.LOG_LEVEL)): Promise<RunningServer> {
  await checkPort(config.PORT, config.HOST)
  const db = await openDb(config)
  // What is already running when start-up fails further on is stopped again (last started first).
  const undo: (() => unknown)[] = []
  try {
    await migrate(db)
    await ensureSeeded(db, seedSettings(config, log))
    const caps = await probeCapabilities(db)
    const { app, sessions, notifier, tiles, events, telemetry, runtime, positions } = createApp({ config, db, caps, log })
    const server = http.createServer(app.callback())
    // Idle keep-alive connections stay open longer than the clients' and proxies' own idle limits
    // (Node's 5 s is shorter than most load balancers' 60 s): otherwise the server may close a
    // connection just as a client sends on it again — ECONNRESET or a proxy's 502.
    server.keepAliveTimeout = 65_000
    server.headersTimeout = 66_000
    // With REDIS_URL several processes share socket.io broadcasts (docs/scale-out.md).
    const redis = (runtime.redis = config.REDIS_URL ? await RedisLink.open(config.REDIS_URL, { prefix: config.ONEGRID_REDIS_PREFIX, log }) : null)
    const io = attachSocket(server, { sessions, log, version, events, db, telemetry, positions, adapter: redis?.adapter, publicUrl: config.ONEGRID_PUBLIC_URL })
    // The adapter stops reading Redis when io closes; only then are its connections ended.
    if (redis) undo.push(() => new Promise<void>((resolve) => io.close(() => resolve())).then(() => redis.close()))
    notifier.bind(io)
    tiles.bind(io, { shared: redis !== null })
    events.bind(io)
    telemetry.bind(io)
    // Without MQTT_URL: the embedded broker (ONEGRID_MQTT_PORT; off: none), read by the ingest like by any client.
    const mqttSecret = internalSecret(config.ONEGRID_MQTT_SECRET)
    const broker = (runtime.broker =
      !config.MQTT_URL && config.ONEGRID_MQTT_PORT !== null
        ? await EmbeddedBroker.start({ port: config.ONEGRID_MQTT_PORT, host: config.HOST, db, log, secret: mqttSecret.secret })
        : null)
    if (broker) undo.push(() => broker.close())
    if (broker && mqttSecret.generated) log.warn('ONEGRID_MQTT_SECRET is not set: the built-in MQTT accounts got a random password for this run; set it for a simulator or service outside this process')
    const localHost = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
    const mqttUrl = config.MQTT_URL ?? (broker ? `mqtt://${localHost.includes(':') ? `[${localHost}]` : localHost}:${broker.stats.port}` : undefined)
    // aedes speaks MQTT 3.1.1 (no shared subscriptions: it takes $share/… as the plain filter).
    const viaBroker = broker ? { ...internalCredentials('ingest', mqttSecret.secret), protocolVersion: 4 as const } : {}
    if (mqttUrl) {
      const ingest = (runtime.ingest = new MqttIngest({ url: mqttUrl, db, events, tiles, log, tz: config.ONEGRID_TZ, telemetry, group: config.ONEGRID_MQTT_GROUP, clientId: config.ONEGRID_MQTT_CLIENT_ID, ...viaBroker }))
      ingest.start()
      undo.push(() => ingest.close())
    }
    // Periodic jobs run on one elected process: the holder of a PostgreSQL advisory lock; the embedded database has one process.
    const scheduler = (runtime.scheduler = new Scheduler({ leader: config.DATABASE_URL ? new PgLeader({ url: config.DATABASE_URL, log }) : new SoleLeader(), log }))
    if (config.ONEGRID_JOBS) for (const job of alarmJobs({ db, events, tiles, log, tz: config.ONEGRID_TZ })) scheduler.add(job)
    if (config.ONEGRID_JOBS) scheduler.add(deadlineJob({ db, events, tiles, log, tz: config.ONEGRID_TZ }))
    // Dispatches a worker's phone did not acknowledge in time: one notice to the dispatchers.
    if (config.ONEGRID_JOBS) scheduler.add(dispatchAckJob({ db, events, log }))
    scheduler.start()
    undo.push(() => scheduler.stop())
    const port = await listen(server, config.PORT, config.HOST)
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
    const url = `http://${host}:${port}`
    log.info({ url, db: db.kind, postgis: caps.postgis, mvt: caps.mvt, version }, 'OneGrid is up')
    // The demo's simulator (ONEGRID_SIMULATE): sensors publish to the broker, workers post through our own HTTP.
    // The embedded broker knows the simulator as a gateway account; an external one gets what MQTT_URL carries.
    const simCredentials = broker ? internalCredentials('simulator', mqttSecret.secret) : {}
    const simulator = simulatorEnabled(config)
      ? await startInProcessSimulator({ config, db, sessions, url, log, mqtt: mqttUrl ? { url: mqttUrl, ...simCredentials } : null })
      : null
    let closing: Promise<void> | undefined
    return {
      url,
      port,
      db,
      caps,
      io,
      app,
      telemetry,
      close: () =>
        (closing ??= (async () => {
          await simulator?.stop()
          // Running jobs finish and leadership is handed on; readings still pending are written; io.close() also closes the HTTP server.
          await scheduler.stop()
          await runtime.ingest?.close()
          await broker?.close()
          telemetry.close()
          await new Promise<void>((resolve) => io.close(() => resolve()))
          server.closeAllConnections()
          await redis?.close()
          await db.close()
          log.info('OneGrid stopped')
        })()),
    }
  } catch (err) {
    for (const stop of undo.reverse()) await Promise.resolve(stop()).catch(() => {})
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
