/**
 * Configuration: parsed once from the environment with zod. Every key is documented with its
 * default in `.env.example` and in the README's configuration table.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { describeIssues } from './http/validate.ts'

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const port = z.coerce.number().int().min(0).max(65535)

/** A switch: on/off (also true/false, 1/0); empty counts as unset. */
const onOff = (key: string) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.enum(['on', 'off', 'true', 'false', '1', '0'], { error: `${key} must be on or off` }).transform((v) => v === 'on' || v === 'true' || v === '1').optional(),
  )

export const ConfigSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  ONEGRID_DATA_DIR: z.string().min(1).default(path.join(projectRoot, 'data', 'pglite')),
  ONEGRID_TZ: z
    .string()
    .default('Asia/Shanghai')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz })
        return true
      } catch {
        return false
      }
    }, 'ONEGRID_TZ must be an IANA time zone such as Asia/Shanghai'),
  ONEGRID_SEED_PASSWORD: z.string().min(8, 'ONEGRID_SEED_PASSWORD must be at least 8 characters').optional(),
  ONEGRID_DEMO_SEED: z.coerce.number().int('ONEGRID_DEMO_SEED must be an integer').default(1),
  ONEGRID_DEMO_ANCHOR: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'ONEGRID_DEMO_ANCHOR must be a date like 2026-11-21')
    .optional(),
  ONEGRID_PUBLIC_URL: z.url().optional(),
  ONEGRID_SESSION_HOURS: z.coerce.number().positive().default(12),
  // Sign-in hardening (server/auth/limits.ts): an idle session ends after this many minutes without a request (0: never,
  // only ONEGRID_SESSION_HOURS); a username is locked for ONEGRID_LOGIN_LOCK_MINUTES after ONEGRID_LOGIN_MAX_FAILURES
  // failed sign-ins in a row; a client address is refused for the rest of a window of ONEGRID_LOGIN_LOCK_MINUTES once it
  // has ONEGRID_LOGIN_IP_FAILURES failed sign-ins in it (0: no per-address limit).
  ONEGRID_SESSION_IDLE_MINUTES: z.coerce
    .number({ error: 'ONEGRID_SESSION_IDLE_MINUTES must be a number of minutes (0: no idle timeout)' })
    .min(0, 'ONEGRID_SESSION_IDLE_MINUTES must be 0 (no idle timeout) or a positive number of minutes')
    .default(0),
  ONEGRID_LOGIN_MAX_FAILURES: z.coerce
    .number({ error: 'ONEGRID_LOGIN_MAX_FAILURES must be a whole number of failed sign-ins' })
    .int('ONEGRID_LOGIN_MAX_FAILURES must be a whole number of failed sign-ins')
    .min(1, 'ONEGRID_LOGIN_MAX_FAILURES must be at least 1')
    .max(1000, 'ONEGRID_LOGIN_MAX_FAILURES must be at most 1000')
    .default(5),
  ONEGRID_LOGIN_LOCK_MINUTES: z.coerce
    .number({ error: 'ONEGRID_LOGIN_LOCK_MINUTES must be a number of minutes (fractions allowed, e.g. 0.5)' })
    .positive('ONEGRID_LOGIN_LOCK_MINUTES must be more than 0 minutes (fractions allowed, e.g. 0.5)')
    .max(10_080, 'ONEGRID_LOGIN_LOCK_MINUTES must be at most 10080 (a week)')
    .default(15),
  ONEGRID_LOGIN_IP_FAILURES: z.coerce
    .number({ error: 'ONEGRID_LOGIN_IP_FAILURES must be a whole number of failed sign-ins (0: no per-address limit)' })
    .int('ONEGRID_LOGIN_IP_FAILURES must be a whole number of failed sign-ins (0: no per-address limit)')
    .min(0, 'ONEGRID_LOGIN_IP_FAILURES must be 0 (no per-address limit) or more')
    .default(20),
  ONEGRID_WEB_DIR: z.string().min(1).default(path.join(projectRoot, 'dist', 'web')),
  ONEGRID_IMPORT_MAX_MB: z.coerce.number().positive('ONEGRID_IMPORT_MAX_MB must be a positive number of megabytes').default(50),
  // Case photos (server/cases/attachments.ts): where they are kept (outside the web root) and the largest one accepted.
  ONEGRID_ATTACHMENTS_DIR: z.string().min(1).default(path.join(projectRoot, 'data', 'attachments')),
  ONEGRID_ATTACHMENT_MAX_MB: z.coerce.number().positive('ONEGRID_ATTACHMENT_MAX_MB must be a positive number of megabytes').default(10),
  // Public intake (Open311 GeoReport v2 at /open311/v2): the api_key(s) a POST must carry (comma-separated;
  // unset: none needed), and per client address and minute the requests allowed — POSTs, and GETs.
  ONEGRID_OPEN311_API_KEY: z.string().optional().or(z.literal('').transform(() => undefined)),
  ONEGRID_OPEN311_RATE: z.coerce.number().int('ONEGRID_OPEN311_RATE must be a whole number of requests per minute').min(1, 'ONEGRID_OPEN311_RATE must be at least 1').default(10),
  ONEGRID_OPEN311_READ_RATE: z.coerce.number().int('ONEGRID_OPEN311_READ_RATE must be a whole number of requests per minute').min(1, 'ONEGRID_OPEN311_READ_RATE must be at least 1').default(60),
  MQTT_URL: z
    .string()
    .regex(/^mqtts?:\/\/|^wss?:\/\//, 'MQTT_URL must be an mqtt://, mqtts://, ws:// or wss:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  // Scale-out (docs/scale-out.md): socket.io events shared between processes through Redis streams.
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  ONEGRID_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'ONEGRID_REDIS_PREFIX must be 1–64 letters, digits, _ . : or -').default('onegrid'),
  // The embedded MQTT broker (only without MQTT_URL): a port, 0 for any free one, or off.
  ONEGRID_MQTT_PORT: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.union([z.literal('off').transform(() => null), port], { error: 'ONEGRID_MQTT_PORT must be a port number, 0 (any free port) or off' }).default(1884),
  ),
  // The shared-subscription group of the ingest (`$share/<group>/onegrid/sensors/…`): the processes of one deployment share it.
  ONEGRID_MQTT_GROUP: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'ONEGRID_MQTT_GROUP must be 1–64 letters, digits, _ . or -').default('onegrid'),
  // The ingest's MQTT client id, distinct per process and the same on every start: a persistent session, so the broker
  // keeps readings not yet stored across a crash (docs/durability.md); unset: a random id and a clean session.
  ONEGRID_MQTT_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'ONEGRID_MQTT_CLIENT_ID must be 1–64 letters, digits, _ . or -')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  ONEGRID_MQTT_SECRET: z.string().min(16, 'ONEGRID_MQTT_SECRET must be at least 16 characters').optional().or(z.literal('').transform(() => undefined)),
  // Live telemetry to screens: coalescing interval in ms (0: every value sent at once, uncoalesced).
  ONEGRID_TELEMETRY_MS: z.coerce.number().int().min(0).max(60_000, 'ONEGRID_TELEMETRY_MS must be 0…60000 (ms)').default(1000),
  // The in-process simulator (server/simulate): unset = on with the embedded database (the demo), off with DATABASE_URL.
  ONEGRID_SIMULATE: onOff('ONEGRID_SIMULATE'),
  // Periodic jobs (offline detection, alarm reminders) on the elected leader; off: none here (tests drive them by hand).
  ONEGRID_JOBS: onOff('ONEGRID_JOBS').default(true),
  ONEGRID_SIM_RATE: z.coerce.number().min(0).max(100_000, 'ONEGRID_SIM_RATE is readings per second, at most 100000').default(50),
  // The simulator's citizens: reports an hour through the Open311 intake (0: none).
  ONEGRID_SIM_REPORTS_PER_HOUR: z.coerce.number().min(0).max(3600, 'ONEGRID_SIM_REPORTS_PER_HOUR is reports an hour, at most 3600').default(6),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export type Config = z.infer<typeof ConfigSchema>

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env)
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration: ${describeIssues(parsed.error)}`)
  }
  return parsed.data
}

export const version: string = '0.1.0'
