/**
 * MQTT accounts as data (table mqtt_accounts, migration 010): who may connect to the embedded
 * broker and what they may publish. A device account's username is its sensor code and it may
 * publish only `onegrid/sensors/<code>/reading|status`; a gateway publishes for the devices it
 * covers; a service account only reads. The two built-in accounts (the ingest and the simulator)
 * are not stored: their password is the process's MQTT secret (server/ingest/broker.ts).
 *
 * POST /api/devices/:code/credentials (admins) makes a device a new random password, stores only
 * its argon2 hash and returns the password once; DELETE revokes it.
 */
import crypto from 'node:crypto'
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import type { Queryable } from '../db/index.ts'
import { hashPassword } from '../auth/password.ts'
import { scopeFilter } from '../auth/scope.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'

export type AccountKind = 'device' | 'gateway' | 'service'

export interface MqttAccount {
  username: string
  kind: AccountKind
  /** Gateway: devices whose grid code starts with this; '*': every device. */
  scopePrefix: string | null
  /** Gateway: devices it may publish for by code. */
  deviceCodes: string[]
}

/** The topics a device publishes to; the code group is the device (sensor code). */
export const DEVICE_TOPIC = /^onegrid\/sensors\/([A-Za-z0-9_.-]{1,64})\/(reading|status)$/
/** What the built-in accounts are called; no device may take these names. */
export const RESERVED_USERNAMES = new Set(['onegrid-ingest', 'simulator'])

export const DeviceCodeParam = z.object({
  code: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'code must be a sensor code: 1–64 letters, digits, _ . or -'),
})

interface AccountRow {
  username: string
  kind: AccountKind
  password_hash: string
  scope_prefix: string | null
  device_codes: string[]
}

export class MqttAccounts {
  constructor(private readonly db: Queryable) {}

  /** The enabled account with this username and its password hash, or null. */
  async find(username: string): Promise<(MqttAccount & { passwordHash: string }) | null> {
    const { rows } = await this.db.query<AccountRow>(
      'SELECT username, kind, password_hash, scope_prefix, device_codes FROM mqtt_accounts WHERE username = $1 AND NOT disabled',
      [username],
    )
    const r = rows[0]
    return r ? { username: r.username, kind: r.kind, passwordHash: r.password_hash, scopePrefix: r.scope_prefix, deviceCodes: r.device_codes ?? [] } : null
  }

  /** Of these usernames, the ones whose account still exists and is enabled. */
  async stillEnabled(usernames: string[]): Promise<Set<string>> {
    if (usernames.length === 0) return new Set()
    const { rows } = await this.db.query<{ username: string }>('SELECT username FROM mqtt_accounts WHERE username = ANY($1::text[]) AND NOT disabled', [usernames])
    return new Set(rows.map((r) => r.username))
  }

  /** Creates or replaces an account (enabled) with this password. */
  async upsert(a: MqttAccount & { password: string }): Promise<void> {
    if (RESERVED_USERNAMES.has(a.username)) throw new Error(`${a.username} is a built-in MQTT account`)
    await this.db.query(
      `INSERT INTO mqtt_accounts (username, kind, password_hash, scope_prefix, device_codes)
       VALUES ($1, $2, $3, $4, $5::text[])
       ON CONFLICT (username) DO UPDATE
          SET kind = EXCLUDED.kind, password_hash = EXCLUDED.password_hash, scope_prefix = EXCLUDED.scope_prefix,
              device_codes = EXCLUDED.device_codes, disabled = false, updated_at = now()`,
      [a.username, a.kind, await hashPassword(a.password), a.kind === 'gateway' ? a.scopePrefix : null, a.kind === 'gateway' ? a.deviceCodes : []],
    )
  }

  /** Removes an account; false when there was none of that kind. */
  async remove(username: string, kind: AccountKind): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM mqtt_accounts WHERE username = $1 AND kind = $2', [username, kind])
    return rowCount > 0
  }

  async kindOf(username: string): Promise<AccountKind | null> {
    const { rows } = await this.db.query<{ kind: AccountKind }>('SELECT kind FROM mqtt_accounts WHERE username = $1', [username])
    return rows[0]?.kind ?? null
  }
}

/** A new device password: 144 random bits, URL-safe (fits any device's config file). */
export function newPassword(): string {
  return crypto.randomBytes(18).toString('base64url')
}

/**
 * Device credentials, admins only, for sensors inside their scope. `revoked` is told the
 * username whose account went away (the embedded broker drops its connection at once).
 */
export function deviceCredentialRoutes(opts: { db: Queryable; revoked?: (username: string) => void }): Router {
  const r = new Router({ prefix: '/api/devices' })
  const accounts = new MqttAccounts(opts.db)

  async function sensorInScope(code: string, actor: Actor): Promise<void> {
    const { rows } = await opts.db.query('SELECT 1 FROM sensors WHERE code = $1 AND ($2::text IS NULL OR grid_code LIKE $2::text || \'%\')', [code, scopeFilter(actor)])
    if (!rows[0]) throw new HttpError(404, `no sensor ${code} in your scope`)
  }

  r.post('/:code/credentials', async (ctx) => {
    const { code } = parseParams(DeviceCodeParam, { code: ctx.params.code })
    await sensorInScope(code, ctx.state.actor)
    if (RESERVED_USERNAMES.has(code)) throw new HttpError(409, `${code} is the name of a built-in MQTT account; rename the sensor`)
    const kind = await accounts.kindOf(code)
    if (kind && kind !== 'device') throw new HttpError(409, `an MQTT ${kind} account is already called ${code}`)
    const password = newPassword()
    await accounts.upsert({ username: code, kind: 'device', password, scopePrefix: null, deviceCodes: [] })
    // A new password ends the sessions made with the old one.
    if (kind) opts.revoked?.(code)
    ctx.status = 201
    ctx.set('Cache-Control', 'no-store')
    ctx.body = {
      username: code,
      password,
      topics: [`onegrid/sensors/${code}/reading`, `onegrid/sensors/${code}/status`],
      note: 'The password is shown only now; OneGrid keeps only its hash. Ask again for a new one.',
    }
  })

  r.delete('/:code/credentials', async (ctx) => {
    const { code } = parseParams(DeviceCodeParam, { code: ctx.params.code })
    await sensorInScope(code, ctx.state.actor)
    if (!(await accounts.remove(code, 'device'))) throw new HttpError(404, `sensor ${code} has no MQTT credentials`)
    opts.revoked?.(code)
    ctx.status = 204
  })

  return r
}
