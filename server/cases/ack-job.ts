/**
 * The `cases:dispatch-ack` job: a case dispatched to a worker whose phone has not acknowledged it
 * (POST /api/cases/:id/actions/ack_dispatch) within `ackWithinMs` raises one `case:ack_overdue`
 * event (scope = the case's grid, so the dispatchers' screens that see the case get it), once per
 * dispatch (cases.dispatch_ack_noticed_at; a new dispatch resets it). Not an action: the case's
 * version is not bumped, so no dispatcher gets a 409 for it.
 */
import type { Db } from '../db/index.ts'
import type { Job } from '../jobs/types.ts'
import type { Logger } from '../log.ts'
import type { EventLog } from '../realtime/event-log.ts'

/** Default time a worker has to acknowledge a dispatch. */
export const ACK_WITHIN_MS = 10 * 60_000

export function dispatchAckJob(deps: { db: Db; events: EventLog; log: Logger; ackWithinMs?: number; everyMs?: number }): Job {
  const within = deps.ackWithinMs ?? ACK_WITHIN_MS
  return {
    name: 'cases:dispatch-ack',
    everyMs: deps.everyMs ?? 30_000,
    async run(now: Date) {
      const n = await deps.events.write(async (tx, append) => {
        const { rows } = await tx.query<{ id: number; code: string; grid_code: string | null; worker_id: number; worker_name: string | null; dispatched_at: Date }>(
          `UPDATE cases c SET dispatch_ack_noticed_at = $1::timestamptz
             FROM (SELECT id FROM cases
                    WHERE stage = 'dispatched' AND worker_id IS NOT NULL AND dispatch_acked_at IS NULL
                      AND dispatch_ack_noticed_at IS NULL AND dispatched_at <= $1::timestamptz - make_interval(secs => $2::float8)
                    ORDER BY id LIMIT 500
                    FOR UPDATE SKIP LOCKED) due
            WHERE c.id = due.id
           RETURNING c.id, c.code, c.grid_code, c.worker_id, c.dispatched_at, (SELECT name FROM workers WHERE id = c.worker_id) AS worker_name`,
          [now.toISOString(), within / 1000],
        )
        for (const r of rows) {
          await append({
            type: 'case:ack_overdue',
            scope: r.grid_code,
            payload: { id: r.id, code: r.code, workerId: r.worker_id, workerName: r.worker_name, dispatchedAt: new Date(r.dispatched_at).toISOString(), withinS: within / 1000 },
          })
        }
        return rows.length
      })
      if (n) deps.log.info({ cases: n }, 'dispatches not acknowledged in time: dispatchers told')
    },
  }
}
