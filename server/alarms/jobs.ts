/**
 * Periodic alarm jobs, run by the leader-elected scheduler (server/jobs/): each `run(now)` takes
 * the clock as a parameter, so tests drive time.
 *
 * - `alarms:offline`: a sensor that has reported live (over MQTT) and sent no reading for its
 *   rule's offline_after_s gets an `offline` alarm and turns offline; its next reading resolves it
 *   (ingest). Sensors that never reported live — only a seeded or imported history — are not
 *   watched, so a fresh demo or import does not start with a storm of offline alarms.
 * - `alarms:remind`: an open alarm nobody acknowledged is repeated (alarm:reminder) every
 *   remind_every_s of its rule since it was raised or last repeated — once per run at most, so a
 *   scheduler that was away does not send a burst; none once acknowledged or resolved.
 */
import type { Db } from '../db/index.ts'
import type { Logger } from '../log.ts'
import type { EventLog } from '../realtime/event-log.ts'
import type { Job } from '../jobs/types.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import { announce, invalidateTiles, settle, sql, type AlarmRow } from './service.ts'

/** At most this many alarms per run (the longest silent or oldest first); the rest come next run. */
export const JOB_BATCH = 1000

export interface AlarmJobDeps {
  db: Db
  events: EventLog
  tiles: TileInvalidator
  log: Logger
  /** ONEGRID_TZ: the day auto-case codes count in. */
  tz: string
  /** How often each job runs (default 30 s). */
  everyMs?: number
}

export function alarmJobs(deps: AlarmJobDeps): Job[] {
  const everyMs = deps.everyMs ?? 30_000
  return [
    {
      name: 'alarms:offline',
      everyMs,
      async run(now: Date) {
        const effects = await deps.events.write(async (tx, append) => {
          const raised = (await tx.query<AlarmRow>(sql.raise_offline, [now.toISOString(), JOB_BATCH])).rows
          return settle(tx, append, raised, { tz: deps.tz, by: 'system' })
        })
        invalidateTiles(deps.tiles, effects)
        if (effects.alarms.length) deps.log.info({ offline: effects.alarms.length }, 'sensors gone silent: offline alarms raised')
      },
    },
    {
      name: 'alarms:remind',
      everyMs,
      async run(now: Date) {
        const n = await deps.events.write(async (tx, append) => {
          const due = (await tx.query<AlarmRow>(sql.remind, [now.toISOString(), JOB_BATCH])).rows
          await announce(append, { alarms: due, cases: [], sensors: [] }, 'system')
          return due.length
        })
        if (n) deps.log.debug({ reminders: n }, 'unacknowledged alarms repeated')
      },
    },
  ]
}
