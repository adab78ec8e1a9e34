/**
 * The simulator inside the server (the demo: ONEGRID_SIMULATE, on by default with the embedded
 * database): sensors publish to the same broker the ingest reads, as the `simulator` gateway
 * account; workers' positions go through the server's own POST /api/positions, signed in with a
 * session of the top-scope admin made here (no password needed, none printed).
 */
import type { Config } from '../config.ts'
import type { Db } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { Logger } from '../log.ts'
import type { Sessions } from '../auth/sessions.ts'
import { startSimulator, type Simulator } from './simulator.ts'

export { startSimulator, type Simulator, type SimulatorOptions, type SimulatorStats } from './simulator.ts'

const sql = loadSql(new URL('./simulate.sql', import.meta.url))

/** Whether the in-process simulator runs: ONEGRID_SIMULATE, else on for the embedded demo only. */
export function simulatorEnabled(config: Pick<Config, 'ONEGRID_SIMULATE' | 'DATABASE_URL'>): boolean {
  return config.ONEGRID_SIMULATE ?? !config.DATABASE_URL
}

export async function startInProcessSimulator(opts: {
  config: Config
  db: Db
  sessions: Sessions
  /** The server's own URL. */
  url: string
  /** The broker and the simulator account's credentials; null: no readings. */
  mqtt: { url: string; username?: string; password?: string } | null
  log: Logger
}): Promise<Simulator | null> {
  const { config, db, sessions, log } = opts
  let token: string | null = null
  try {
    const sim = await startSimulator({
      db,
      log,
      mqtt: opts.mqtt ? { ...opts.mqtt, protocolVersion: 4 } : null,
      http: {
        url: opts.url,
        headers: async (renew) => {
          if (renew || !token) {
            const { rows } = await db.query<{ id: number }>(sql.relay_user!)
            if (!rows[0]) throw new Error('no user of the top scope holds positions.relay to post positions as')
            if (token) await sessions.destroy(token).catch(() => {})
            token = (await sessions.create(rows[0].id, 'onegrid-simulator')).token
          }
          return { authorization: `Bearer ${token}` }
        },
      },
      rate: config.ONEGRID_SIM_RATE,
      citizens: { url: opts.url, perHour: config.ONEGRID_SIM_REPORTS_PER_HOUR, apiKey: config.ONEGRID_OPEN311_API_KEY?.split(',')[0]?.trim() },
      seed: config.ONEGRID_DEMO_SEED,
      tz: config.ONEGRID_TZ,
    })
    if (!opts.mqtt) log.warn('simulator: no MQTT broker (MQTT_URL unset and ONEGRID_MQTT_PORT=off): sensors stay quiet, workers walk')
    return {
      stats: sim.stats,
      stop: async () => {
        await sim.stop()
        if (token) await sessions.destroy(token).catch(() => {})
      },
    }
  } catch (err) {
    // The demo goes on without it.
    log.error({ err }, 'simulator could not start')
    return null
  }
}
