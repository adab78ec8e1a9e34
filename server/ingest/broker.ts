/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) that `npm start` runs when no MQTT_URL is given,
 * so devices can publish without a broker of their own. The ingest connects to it over TCP
 * like any client. It enforces the same rules we document for Mosquitto (docs/mqtt.md):
 *   - every client signs in (no anonymous access); passwords are checked against argon2 hashes
 *     (server/ingest/accounts.ts), or the process's MQTT secret for the built-in accounts;
 *   - a device publishes only `onegrid/sensors/<its code>/reading|status`, a gateway only for
 *     the devices it covers, a service account never;
 *   - only service accounts subscribe, and only below onegrid/sensors/.
 * aedes has no shared subscriptions: `$share/<group>/<filter>` is taken as `<filter>` (one
 * embedded broker serves one process; several processes use an external broker, docs/scale-out.md).
 * A refused publish closes the client's connection (MQTT 3.1.1 cannot say "refused"); a refused
 * subscription is answered with the failure code. Refusals are logged and counted (/api/health).
 */
import crypto from 'node:crypto'
import net from 'node:net'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import type { Queryable } from '../db/index.ts'
import { StartupError } from '../db/index.ts'
import type { Logger } from '../log.ts'
import { verifyPassword } from '../auth/password.ts'
import { DEVICE_TOPIC, MqttAccounts, type MqttAccount } from './accounts.ts'

/** The built-in accounts: the ingest reads, the simulator publishes for every device. */
const INTERNAL: Record<'ingest' | 'simulator', MqttAccount> = {
  ingest: { username: 'onegrid-ingest', kind: 'service', scopePrefix: null, deviceCodes: [] },
  simulator: { username: 'simulator', kind: 'gateway', scopePrefix: '*', deviceCodes: [] },
}

let generatedSecret: string | undefined

/**
 * The password of the built-in accounts: ONEGRID_MQTT_SECRET, or a random one made once per
 * process (then only clients inside this process can use those accounts).
 */
export function internalSecret(configured: string | undefined): { secret: string; generated: boolean } {
  if (configured) return { secret: configured, generated: false }
  generatedSecret ??= crypto.randomBytes(24).toString('base64url')
  return { secret: generatedSecret, generated: true }
}

/** Username and password a built-in client (the ingest, the simulator) connects with. */
export function internalCredentials(name: 'ingest' | 'simulator', secret: string): { username: string; password: string } {
  return { username: INTERNAL[name].username, password: secret }
}

export interface BrokerStats {
  port: number
  clients: number
  /** Connections accepted since start. */
  connects: number
  refused: { auth: number; publish: number; subscribe: number }
}

/** How long a checked password is trusted for new connections of the same account. */
const AUTH_CACHE_MS = 60_000
/** How often connected accounts are checked again (revoked or disabled elsewhere: disconnected). */
const RECHECK_MS = 30_000
/** How long a gateway's look-up of a device's grid is kept. */
const GRID_CACHE_MS = 60_000

const sha256 = (s: Buffer | string) => crypto.createHash('sha256').update(s).digest()

function authError(returnCode: 2 | 3 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError
}

export class EmbeddedBroker {
  readonly stats: BrokerStats
  readonly #aedes: Aedes
  readonly #server: net.Server
  readonly #db: Queryable
  readonly #accounts: MqttAccounts
  readonly #log: Logger
  readonly #secretHash: Buffer
  /** The account each connected client signed in as. */
  readonly #who = new WeakMap<Client, MqttAccount>()
  readonly #byUser = new Map<string, Set<Client>>()
  /** Connected client ids and their usernames: a client id in use is not taken over by another account. */
  readonly #ids = new Map<string, string>()
  readonly #authCache = new Map<string, { account: MqttAccount; until: number }>()
  readonly #grids = new Map<string, { grid: string | null; until: number }>()
  readonly #recheck: NodeJS.Timeout

  private constructor(aedes: Aedes, server: net.Server, port: number, opts: { db: Queryable; log: Logger; secret: string }) {
    this.#aedes = aedes
    this.#server = server
    this.#db = opts.db
    this.#accounts = new MqttAccounts(opts.db)
    this.#log = opts.log
    this.#secretHash = sha256(opts.secret)
    this.stats = { port, clients: 0, connects: 0, refused: { auth: 0, publish: 0, subscribe: 0 } }
    this.#recheck = setInterval(() => void this.#recheckAccounts(), RECHECK_MS)
    this.#recheck.unref()
  }

  /** Starts the broker on host:port (0: any free port; the port taken is in stats.port). */
  static async start(opts: { port: number; host: string; db: Queryable; log: Logger; secret: string }): Promise<EmbeddedBroker> {
    const aedes = new Aedes({ drainTimeout: 30_000, maxClientsIdLength: 64 })
    await aedes.listen()
    const server = net.createServer(aedes.handle)
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new StartupError(`MQTT port ${opts.port} is already in use: set ONEGRID_MQTT_PORT to a free port, or off (or give MQTT_URL to use another broker)`))
        else reject(new StartupError(`cannot start the embedded MQTT broker on ${opts.host}:${opts.port}: ${err.message}`))
      })
      server.listen(opts.port, opts.host, () => resolve((server.address() as net.AddressInfo).port))
    }).catch(async (err: unknown) => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      throw err
    })
    const broker = new EmbeddedBroker(aedes, server, port, opts)
    broker.#wire()
    opts.log.info({ port, host: opts.host }, 'embedded MQTT broker listening')
    return broker
  }

  #wire(): void {
    const aedes = this.#aedes
    aedes.authenticate = (client, username, password, done) => {
      this.#authenticate(username, password).then(
        (account) => {
          const holder = account ? this.#ids.get(client.id) : undefined
          if (account && holder && holder !== account.username) {
            // MQTT lets a new connection with the same client id take the old one over: not across accounts.
            this.#refuse('auth', { clientId: client.id, username: account.username, holder }, 'client id in use by another account')
            return done(authError(2, 'identifier rejected: client id in use'), false)
          }
          if (account) {
            this.#who.set(client, account)
            return done(null, true)
          }
          this.#refuse('auth', { clientId: client.id, username: username ?? null, address: client.conn && 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined }, username ? 'wrong username or password' : 'anonymous')
          done(authError(username ? 4 : 5, username ? 'bad username or password' : 'not authorized: sign in with a username and password'), false)
        },
        (err: unknown) => {
          this.#log.error({ err }, 'MQTT authentication failed')
          done(authError(3, 'server unavailable'), false)
        },
      )
    }
    aedes.authorizePublish = (client, packet, done) => {
      const account = client ? this.#who.get(client) : undefined
      const m = DEVICE_TOPIC.exec(packet.topic)
      if (!client || !account || !m) {
        this.#refuse('publish', { username: account?.username ?? null, topic: packet.topic }, 'not a device topic')
        return done(new Error(`not allowed to publish to ${packet.topic}`))
      }
      this.#mayPublishFor(account, m[1]!).then(
        (ok) => {
          if (ok) return done(null)
          this.#refuse('publish', { username: account.username, kind: account.kind, topic: packet.topic }, 'not its device')
          done(new Error(`${account.username} may not publish to ${packet.topic}`))
        },
        (err: unknown) => {
          this.#log.error({ err }, 'MQTT publish check failed')
          done(new Error('server unavailable'))
        },
      )
    }
    aedes.authorizeSubscribe = (client, sub, done) => {
      const account = this.#who.get(client)
      const filter = sub.topic.replace(/^\$share\/[^/#+]+\//, '')
      if (account?.kind === 'service' && filter.startsWith('onegrid/sensors/')) return done(null, { ...sub, topic: filter })
      this.#refuse('subscribe', { username: account?.username ?? null, topic: sub.topic }, account?.kind === 'service' ? 'outside onegrid/sensors/' : 'only service accounts read')
      // null: the failure return code for this filter in the SUBACK; the connection stays.
      done(null, null)
    }
    aedes.on('clientReady', (client) => {
      const account = this.#who.get(client)
      if (!account) return
      this.stats.connects++
      this.stats.clients = this.#aedes.connectedClients
      let set = this.#byUser.get(account.username)
      if (!set) this.#byUser.set(account.username, (set = new Set()))
      set.add(client)
      this.#ids.set(client.id, account.username)
    })
    aedes.on('clientDisconnect', (client) => {
      const account = this.#who.get(client)
      if (account) {
        const set = this.#byUser.get(account.username)
        set?.delete(client)
        if (set?.size === 0) this.#byUser.delete(account.username)
        if (this.#ids.get(client.id) === account.username && ![...(set ?? [])].some((c) => c.id === client.id)) this.#ids.delete(client.id)
      }
      this.stats.clients = this.#aedes.connectedClients
    })
    aedes.on('clientError', (client, err) => this.#log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'))
    aedes.on('connectionError', (client, err) => this.#log.debug({ clientId: client?.id, err: err.message }, 'MQTT connection error'))
  }

  #refuse(what: keyof BrokerStats['refused'], detail: Record<string, unknown>, why: string): void {
    this.stats.refused[what]++
    this.#log.warn({ refused: what, why, ...detail }, `MQTT ${what} refused`)
  }

  async #authenticate(username: string | undefined, password: Buffer | undefined): Promise<MqttAccount | null> {
    if (!username || !password || password.length === 0 || password.length > 1024) return null
    const internal = Object.values(INTERNAL).find((a) => a.username === username)
    if (internal) return crypto.timingSafeEqual(sha256(password), this.#secretHash) ? internal : null
    // A device that reconnects often is not made to wait for argon2 each time.
    const key = `${username}\0${sha256(password).toString('base64')}`
    const cached = this.#authCache.get(key)
    if (cached && cached.until > Date.now()) return cached.account
    const found = await this.#accounts.find(username)
    if (!found || !(await verifyPassword(found.passwordHash, password.toString('utf8')))) return null
    const { passwordHash: _, ...account } = found
    if (this.#authCache.size > 10_000) this.#authCache.clear()
    this.#authCache.set(key, { account, until: Date.now() + AUTH_CACHE_MS })
    return account
  }

  async #mayPublishFor(account: MqttAccount, code: string): Promise<boolean> {
    if (account.kind === 'device') return account.username === code
    if (account.kind !== 'gateway') return false
    if (account.scopePrefix === '*' || account.deviceCodes.includes(code)) return true
    if (!account.scopePrefix) return false
    const grid = await this.#gridOf(code)
    return grid !== null && grid.startsWith(account.scopePrefix)
  }

  async #gridOf(code: string): Promise<string | null> {
    const hit = this.#grids.get(code)
    if (hit && hit.until > Date.now()) return hit.grid
    const { rows } = await this.#db.query<{ grid_code: string | null }>('SELECT grid_code FROM sensors WHERE code = $1', [code])
    const grid = rows[0]?.grid_code ?? null
    if (this.#grids.size > 100_000) this.#grids.clear()
    this.#grids.set(code, { grid, until: Date.now() + GRID_CACHE_MS })
    return grid
  }

  /** Drops the connections of an account whose password changed or was revoked, and forgets its checked passwords. */
  kick(username: string): void {
    for (const key of this.#authCache.keys()) if (key.startsWith(`${username}\0`)) this.#authCache.delete(key)
    for (const client of this.#byUser.get(username) ?? []) {
      this.#log.info({ username, clientId: client.id }, 'MQTT account revoked: connection closed')
      client.close()
    }
  }

  /** Accounts revoked or disabled by another process (or by hand in the database) are cut off too. */
  async #recheckAccounts(): Promise<void> {
    const stored = [...this.#byUser.keys()].filter((u) => !Object.values(INTERNAL).some((a) => a.username === u))
    try {
      const enabled = await this.#accounts.stillEnabled(stored)
      for (const u of stored) if (!enabled.has(u)) this.kick(u)
    } catch (err) {
      this.#log.warn({ err }, 'MQTT account re-check failed')
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#recheck)
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()))
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
