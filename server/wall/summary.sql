-- The wall's panels (GET /api/wall/summary, summary.ts), within the asker's scope.
-- $1 in every statement: scope prefix (text), NULL for an unrestricted asker (objects outside
-- every grid included). Open cases are those not closed, evaluated, cancelled or merged
-- (server/cases/workflow.ts CLOSED_STAGES); overdue is the map's judgement (case_map.sla_state,
-- migration 011), so the panel and the map agree.

-- name: today
-- Cases reported in the local day [$2, $3) (timestamptz), duplicates (merged) left out as the
-- indicators do, counted by stage now, by source and by category.
-- Output: dim ('stage' | 'source' | 'category'), key, name (category name, else NULL), count.
SELECT CASE WHEN GROUPING(c.stage) = 0 THEN 'stage' WHEN GROUPING(c.source) = 0 THEN 'source' ELSE 'category' END AS dim,
       coalesce(c.stage, c.source, c.category_code) AS key,
       CASE WHEN GROUPING(c.category_code) = 0 THEN min(cc.minor_name) END AS name,
       count(*)::int AS count
  FROM cases c
  JOIN case_categories cc ON cc.code = c.category_code
 WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
   AND c.reported_at >= $2::timestamptz AND c.reported_at < $3::timestamptz
   AND c.stage <> 'merged'
 GROUP BY GROUPING SETS ((c.stage), (c.source), (c.category_code))
 ORDER BY dim, count DESC, key;

-- name: open
-- Output: one row: open, overdue (integers).
SELECT count(*)::int AS open,
       count(*) FILTER (WHERE c.sla_state = 'overdue')::int AS overdue
  FROM case_map c
 WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
   AND c.stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged');

-- name: top_grids
-- The $2 grids with the most open cases, most first (ties by code).
-- Output: code, name, open, overdue.
SELECT c.grid_code AS code, g.name,
       count(*)::int AS open,
       count(*) FILTER (WHERE c.sla_state = 'overdue')::int AS overdue
  FROM case_map c
  JOIN grids g ON g.code = c.grid_code
 WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
   AND c.stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged')
 GROUP BY c.grid_code, g.name
 ORDER BY open DESC, code
 LIMIT $2;

-- name: sensors
-- Sensors by type. offline: the sensor's status says so, its device says offline or fault, or it
-- has an open offline alarm (sensors.status shows 'alarm' over offline, so it is not enough on
-- its own); online: the others. alarm: an unresolved alarm of any kind, or the status 'alarm'
-- (what the map paints red); these also count in online or offline.
-- Output: type, online, offline, alarm.
SELECT s.type,
       count(*) FILTER (WHERE NOT x.off)::int AS online,
       count(*) FILTER (WHERE x.off)::int AS offline,
       count(*) FILTER (WHERE x.in_alarm)::int AS alarm
  FROM sensors s
  LEFT JOIN (SELECT sensor_id, bool_or(kind = 'offline') AS offline_alarm
               FROM alarms WHERE resolved_at IS NULL GROUP BY sensor_id) a ON a.sensor_id = s.id
 CROSS JOIN LATERAL (
   SELECT s.status = 'offline' OR s.device_status <> 'online' OR coalesce(a.offline_alarm, false) AS off,
          s.status = 'alarm' OR a.sensor_id IS NOT NULL AS in_alarm
 ) x
 WHERE $1::text IS NULL OR s.grid_code LIKE $1::text || '%'
 GROUP BY s.type
 ORDER BY s.type;

-- name: workers
-- Workers by duty status; off_duty counts those off duty or on leave. out_of_grid (出格预警) as
-- the map and the geofence judge it (worker_map, migration 008: on duty or busy, outside their
-- fence, with the hysteresis of the fence state).
-- Output: one row: total, on_duty, busy, off_duty, out_of_grid.
SELECT count(*)::int AS total,
       count(*) FILTER (WHERE w.duty_status = 'on_duty')::int AS on_duty,
       count(*) FILTER (WHERE w.duty_status = 'busy')::int AS busy,
       count(*) FILTER (WHERE w.duty_status IN ('off_duty', 'leave'))::int AS off_duty,
       count(*) FILTER (WHERE w.out_of_grid)::int AS out_of_grid
  FROM worker_map w
 WHERE $1::text IS NULL OR w.grid_code LIKE $1::text || '%';

-- name: alarms
-- open: not resolved; unacked: of those, not acknowledged either (GET /api/alarms?state=open).
-- Output: one row: open, unacked.
SELECT count(*)::int AS open,
       count(*) FILTER (WHERE a.acked_at IS NULL)::int AS unacked
  FROM alarms a
 WHERE a.resolved_at IS NULL
   AND ($1::text IS NULL OR a.grid_code LIKE $1::text || '%');

-- name: recent
-- The latest $3 events of the types $2 (text[]) the asker may see (the scope rule of replay,
-- server/realtime/event-log.ts), newest first: the newest $3 of each type from the (type, seq)
-- index (migration 015), then the newest $3 of those.
-- Output: seq, at, type, scope, payload.
SELECT e.seq, e.at, e.type, e.scope, e.payload
  FROM unnest($2::text[]) AS t(type)
 CROSS JOIN LATERAL (
   SELECT l.seq, l.at, l.type, l.scope, l.payload
     FROM event_log l
    WHERE l.type = t.type
      AND ($1::text IS NULL OR l.scope LIKE $1::text || '%')
    ORDER BY l.seq DESC
    LIMIT $3
 ) e
 ORDER BY e.seq DESC
 LIMIT $3;
