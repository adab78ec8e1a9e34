import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import Koa from 'koa'
import Router from '@koa/router'
import { bodyParser } from '@koa/bodyparser'
import compress from 'koa-compress'
import serve from 'koa-static'
import type { Config } from './config.ts'
import { version } from './config.ts'
import type { Db } from './db/index.ts'
import type { Capabilities } from './db/probe.ts'
import type { Logger } from './log.ts'
import { errorHandler, HttpError } from './http/errors.ts'
import { accessLog, requestId, securityHeaders } from './http/middleware.ts'
import { authRoutes, loadActor, requireUser } from './auth/routes.ts'
import { LoginLimits } from './auth/limits.ts'
import { csrfGuard } from './http/csrf.ts'
import { Sessions } from './auth/sessions.ts'
import { AuditLog } from './audit/log.ts'
import { auditWrites } from './audit/middleware.ts'
import { auditRoutes } from './audit/routes.ts'
import { createEncoder, type TileEncoder } from '../tiles/encoder.ts'
import { MVT_TYPE, tileRoutes } from '../tiles/routes.ts'
import { ogcRoutes } from './ogc/routes.ts'
import { styleRoutes } from '../styles/routes.ts'
import { cesiumStatic } from './http/cesium.ts'
import { EventLog } from './realtime/event-log.ts'
import { alarmRoutes } from './alarms/routes.ts'
import { open311Routes } from './open311/routes.ts'
import { CaseService } from './cases/service.ts'
import type { MqttIngest } from './ingest/mqtt.ts'
import type { EmbeddedBroker } from './ingest/broker.ts'
import { deviceCredentialRoutes } from './ingest/accounts.ts'
import type { RedisLink } from './realtime/scale.ts'
import type { Scheduler } from './jobs/scheduler.ts'
import { refused } from './realtime/socket.ts'
import { Telemetry } from './realtime/telemetry.ts'
import { importRoutes } from './import/routes.ts'
import { exportRoutes } from './export/routes.ts'
import { adminRoutes } from './admin/stats.ts'
import { accessRoutes } from './admin/access.ts'
import { peopleRoutes } from './people/routes.ts'
import { guardRoutes } from './auth/route-permissions.ts'
import { spatialRoutes } from './spatial/routes.ts'
import { indicatorRoutes } from './stats/indicators.ts'
import { assessmentRoutes } from './assessment/routes.ts'
import { openApiRoutes } from './openapi/openapi.ts'
import { UserNotifier } from './realtime/notify.ts'
import { sensorRoutes } from './sensors/routes.ts'
import { PositionService } from './positions/service.ts'
import { positionRoutes } from './positions/routes.ts'
import { TileCache } from '../tiles/cache.ts'
import { TileInvalidator } from '../tiles/invalidation.ts'
import { caseRoutes } from './cases/routes.ts'
import { AttachmentStore, attachmentRoutes } from './cases/attachments.ts'
import { wallRoutes } from './wall/routes.ts'
import { FeatureService } from './features/service.ts'
import { featureRoutes } from './features/routes.ts'
import { CameraService } from './cameras/service.ts'
import { cameraRoutes } from './cameras/routes.ts'
import { mediaRoutes } from './media/routes.ts'
import { processHealth, startProcessMonitor } from './http/process-health.ts'

export interface AppDeps {
  config: Config
  db: Db
  caps: Capabilities
  log: Logger
}

export interface Runtime {
  ingest: MqttIngest | null
  broker: EmbeddedBroker | null
  redis: RedisLink | null
  scheduler: Scheduler | null
}

/** Health of what main runs next to the app: the MQTT ingest, the embedded broker and Redis when there are, leadership and jobs always. */
function runtimeHealth({ ingest, broker, redis, scheduler }: Runtime) {
  return { ...(ingest ? { mqtt: ingest.stats } : {}), ...(broker ? { broker: broker.stats } : {}), ...(redis ? { redis: redis.stats } : {}), leader: scheduler?.isLeader ?? false, jobs: scheduler?.stats() ?? {} }
}

/** Paths the server answers itself; everything else that is a GET for HTML is the web app. */
const SERVER_PATHS = /^\/(api|tiles|styles|socket\.io|ogc|open311)(\/|$)/

export function createApp({ config, db, caps, log }: AppDeps): {
  app: Koa
  sessions: Sessions
  encoder: TileEncoder
  notifier: UserNotifier
  tiles: TileInvalidator
  events: EventLog
  /** Live readings and positions to screens, coalesced per viewport; main binds it to socket.io. */
  telemetry: Telemetry
  /** What main starts next to the app (MQTT ingest, embedded broker, Redis link, job scheduler), for /api/health and revocations. */
  runtime: Runtime
  positions: PositionService
  /** The audit log (docs/audit.md): writes, logins and config changes are recorded by the app; record sensitive reads with it. */
  audit: AuditLog
} {
  const app = new Koa()
  app.proxy = false
  // Errors outside the handler chain (e.g. a client that went away mid-stream) go to our log;
  // a browser cancelling a tile or page load is normal, not an error.
  app.silent = true
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') return
    log.error({ err }, 'unhandled server error')
  })
  const sessions = new Sessions(db, config.ONEGRID_SESSION_HOURS, config.ONEGRID_SESSION_IDLE_MINUTES)
  const audit = new AuditLog(db, { log })
  const encoder = createEncoder(caps.mvt, db)
  // Domain events, logged with the change and pushed after commit; main binds it to socket.io.
  const events = new EventLog(db)
  const runtime: Runtime = { ingest: null, broker: null, redis: null, scheduler: null }
  const telemetry = new Telemetry({ intervalMs: config.ONEGRID_TELEMETRY_MS, log })
  // Events to one user's sockets; main binds it to socket.io once that is attached.
  const notifier = new UserNotifier()
  // Signed out everywhere (POST /api/auth/logout-all): the user's sockets close too.
  sessions.onAllEnded((userId) => notifier.disconnectUser(userId))
  // Encoded tiles by layer, z/x/y and scope; writers invalidate them through `tiles` (main binds it to socket.io).
  const tiles = new TileInvalidator(new TileCache({ maxBytes: 64 * 1024 * 1024, maxEntries: 20_000 }))
  // Worker fixes from POST /api/positions and the socket `position` message (main hands it to socket.io).
  const positions = new PositionService({ db, events, tiles, telemetry })

  // Middleware order (design.md): errors, request id, access log, security headers,
  // compression, body parser, routers.
  app.use(errorHandler(log))
  app.use(requestId())
  app.use(accessLog(log))
  app.use(securityHeaders({ publicUrl: config.ONEGRID_PUBLIC_URL }))
  app.use(
    compress({
      filter: (type) => /json|text|javascript|css|svg|xml/.test(type) || type === MVT_TYPE,
      threshold: 1024,
      br: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } },
    }),
  )
  const jsonBody = bodyParser({
    enableTypes: ['json'],
    jsonLimit: '1mb',
    onError: (err) => {
      throw new HttpError(400, `request body is not valid JSON: ${err.message}`)
    },
  })
  // Imports read their raw body themselves (files up to ONEGRID_IMPORT_MAX_MB); Open311 parses its form.
  app.use((ctx, next) => (ctx.path.startsWith('/api/import/') || ctx.path.startsWith('/open311/') ? next() : jsonBody(ctx, next)))
  // Cookie-authenticated state changes (and sign-ins) from another site: 403 (http/csrf.ts).
  app.use(csrfGuard({ publicUrl: config.ONEGRID_PUBLIC_URL }))
  app.use(loadActor(sessions))
  app.use(auditWrites(audit))

  const api = new Router({ prefix: '/api' })
  // process: memory and the event loop's lateness (http/process-health.ts), for soaks and monitoring.
  startProcessMonitor()
  api.get('/health', (ctx) => {
    ctx.body = { status: 'ok', db: db.kind, postgis: caps.postgis, mvt: caps.mvt, version, realtime: { refused }, telemetry: telemetry.stats, ...runtimeHealth(runtime), process: processHealth() }
  })
  app.use(api.routes())
  app.use(openApiRoutes().routes())
  // Sign-in rate limits and lockout (auth/limits.ts): per username in the database, per address in memory.
  const loginLimits = new LoginLimits(db, { maxFailures: config.ONEGRID_LOGIN_MAX_FAILURES, lockMinutes: config.ONEGRID_LOGIN_LOCK_MINUTES, ipFailures: config.ONEGRID_LOGIN_IP_FAILURES })
  app.use(authRoutes(db, sessions, config.ONEGRID_SESSION_HOURS, loginLimits, audit).routes())

  // Every other /api, /tiles and /ogc route needs a user; styles and /open311 are public.
  app.use(async (ctx, next) => {
    if (/^\/(api|tiles|ogc)(\/|$)/.test(ctx.path)) return requireUser()(ctx, next)
    return next()
  })
  app.use(tileRoutes({ db, encoder, cache: tiles.cache, version, publicUrl: config.ONEGRID_PUBLIC_URL }).routes())
  app.use(ogcRoutes({ db, publicUrl: config.ONEGRID_PUBLIC_URL }).routes())
  app.use(styleRoutes(config.ONEGRID_PUBLIC_URL).routes())
  // Cesium's prebuilt library for the 3D city view, loaded at run time (public, like the styles).
  app.use(cesiumStatic())
  app.use(importRoutes({ db, maxBytes: config.ONEGRID_IMPORT_MAX_MB * 1024 * 1024, notifier, tz: config.ONEGRID_TZ }).routes())
  app.use(exportRoutes({ db }).routes())
  app.use(adminRoutes({ db }).routes())
  // The permission matrix (security admin) and accounts (system admin), and residents (masked; unmasked reads audited).
  app.use(accessRoutes({ db }).routes())
  app.use(peopleRoutes({ db, audit }).routes())
  app.use(auditRoutes({ audit, tz: config.ONEGRID_TZ }).routes())
  app.use(spatialRoutes({ db }).routes())
  app.use(indicatorRoutes({ db, tz: config.ONEGRID_TZ }).routes())
  app.use(assessmentRoutes({ db, tz: config.ONEGRID_TZ }).routes())
  app.use(sensorRoutes({ db, tiles, events }).routes())
  app.use(positionRoutes({ positions, tz: config.ONEGRID_TZ }).routes())
  app.use(deviceCredentialRoutes({ db, revoked: (username) => runtime.broker?.kick(username) }).routes())
  app.use(alarmRoutes({ db, events, tiles, tz: config.ONEGRID_TZ }).routes())
  // The wall's panels and live overlays, and the view-sync state of screens (issue 7).
  app.use(wallRoutes({ db, tz: config.ONEGRID_TZ }).routes())
  // The case workflow (report → evaluation), one service for the API and Open311; dispatches reach the worker's devices through notifier.
  const cases = new CaseService({ db, events, tiles, notifier, tz: config.ONEGRID_TZ })
  // Photos of cases and actions; before caseRoutes, whose /:id/… would otherwise take /attachments/….
  app.use(attachmentRoutes({ store: new AttachmentStore({ db, dir: config.ONEGRID_ATTACHMENTS_DIR, maxBytes: config.ONEGRID_ATTACHMENT_MAX_MB * 1024 * 1024, log }) }).routes())
  app.use(caseRoutes({ cases }).routes())
  // The seat (issue 8): a clicked feature's card, the demo PTZ, and the simulated camera stream
  // (/media: signed-in users, by session cookie, as a <video> cannot send a bearer header).
  app.use(featureRoutes({ features: new FeatureService({ db, cases, positions, tz: config.ONEGRID_TZ }) }).routes())
  app.use(cameraRoutes({ cameras: new CameraService({ events, tiles }) }).routes())
  app.use(mediaRoutes())
  // Public intake (Open311 GeoReport v2, no session): reports become cases through the workflow.
  app.use(open311Routes({ db, cases, config, log }))

  app.use(async (ctx, next) => {
    if (SERVER_PATHS.test(ctx.path)) throw new HttpError(404, `no route ${ctx.method} ${ctx.path}`)
    await next()
  })

  // The built web app, with the SPA fallback to index.html for its routes.
  const webDir = config.ONEGRID_WEB_DIR
  app.use(serve(webDir, { index: 'index.html', maxage: 0, setHeaders: (res, p) => {
    if (p.includes(`${path.sep}assets${path.sep}`)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable')
  } }))
  app.use(async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new HttpError(404, `no route ${ctx.method} ${ctx.path}`)
    const index = path.join(webDir, 'index.html')
    if (!fs.existsSync(index)) throw new HttpError(404, 'the web app is not built: run `npm run build`')
    ctx.type = 'html'
    ctx.set('Cache-Control', 'no-cache')
    ctx.body = fs.createReadStream(index)
  })
  // Every route's permission check in front of its handlers (auth/route-permissions.ts); throws on a route it does not know.
  guardRoutes(app)
  return { app, sessions, encoder, notifier, tiles, events, telemetry, runtime, positions, audit }
}
