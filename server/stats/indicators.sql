-- Evaluation indicators from the record (GET /api/stats/indicators); the definitions are
-- docs/indicators.md, this file is where they are written in code.
-- $1: scope prefix (text), NULL for an unrestricted asker (cases outside every grid included)
-- $2: area prefix (text) inside the scope, NULL for the whole scope
-- $3, $4: the period [from, to) (timestamptz)
-- $5: grouping: district | street | community | grid | department | worker | none
-- Output: one row per group key (`key`, text, NULL for cases without one) and the total
-- (`is_total`), each with the counts of every indicator: <indicator>_num and <indicator>_den,
-- plus reported, pending, merged, dispatch_undetermined, reworks, satisfaction_sum.

-- name: indicators
WITH base AS (
  SELECT c.*,
         coalesce(c.registered_at, c.dispatched_at) AS reg_at,
         c.stage IN ('handled', 'checked', 'closed', 'evaluated') AS is_handled,
         c.stage IN ('closed', 'evaluated') AS is_closed,
         CASE $5::text
           WHEN 'district' THEN left(c.grid_code, 6)
           WHEN 'street' THEN left(c.grid_code, 9)
           WHEN 'community' THEN left(c.grid_code, 12)
           WHEN 'grid' THEN c.grid_code
           WHEN 'department' THEN c.department_id::text
           WHEN 'worker' THEN c.worker_id::text
         END AS key
    FROM cases c
   WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
     AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%')
     AND ((c.reported_at >= $3::timestamptz AND c.reported_at < $4::timestamptz)
       OR (coalesce(c.registered_at, c.dispatched_at) >= $3::timestamptz AND coalesce(c.registered_at, c.dispatched_at) < $4::timestamptz)
       OR (c.dispatched_at >= $3::timestamptz AND c.dispatched_at < $4::timestamptz)
       OR (c.evaluated_at >= $3::timestamptz AND c.evaluated_at < $4::timestamptz))
),
-- The actions of those cases, each with how many earlier-or-same actions recorded a stage
-- deadline (k): the deadline in force just before an action is the one the recording action
-- number k (minus itself, if it records one) set (docs/indicators.md).
acts AS (
  SELECT a.case_id, a.action, a.at, a.id,
         a.payload ? 'stageDeadlineAt' AS rec,
         a.payload -> 'stageDeadlineAt' AS due,
         count(*) FILTER (WHERE a.payload ? 'stageDeadlineAt') OVER (PARTITION BY a.case_id ORDER BY a.at, a.id ROWS UNBOUNDED PRECEDING) AS k
    FROM case_actions a JOIN base b ON b.id = a.case_id
),
-- The latest dispatch and the latest passing check of each case, with the stage deadline in force
-- just before it (SQL NULL: nothing recorded before it; JSON null: the stage had no limit).
ends AS (
  SELECT DISTINCT ON (x.case_id, x.action) x.case_id, x.action, x.at, r.due
    FROM acts x
    LEFT JOIN acts r ON r.case_id = x.case_id AND r.rec AND r.k = x.k - x.rec::int
   WHERE x.action IN ('dispatch', 'check_pass')
   ORDER BY x.case_id, x.action, x.at DESC, x.id DESC
),
f AS (
  SELECT b.*,
         b.stage <> 'merged' AND b.reported_at >= $3::timestamptz AND b.reported_at < $4::timestamptz AS in_rep,
         b.stage NOT IN ('merged', 'cancelled') AND b.reg_at >= $3::timestamptz AND b.reg_at < $4::timestamptz AS in_reg,
         b.stage NOT IN ('merged', 'cancelled') AND b.dispatched_at >= $3::timestamptz AND b.dispatched_at < $4::timestamptz AS in_dsp,
         b.stage <> 'merged' AND b.evaluated_at >= $3::timestamptz AND b.evaluated_at < $4::timestamptz AND b.satisfaction IS NOT NULL AS in_eval,
         coalesce(d.at, b.dispatched_at) AS dispatch_at,
         (d.due #>> '{}')::timestamptz AS dispatch_due,
         -- The handling deadline (处置时限) is deadline_at: it runs from dispatch, moved only by
         -- approved extensions and suspensions, and stays as it was once the case is handled.
         b.is_handled AND b.deadline_at IS NOT NULL AND b.handled_at <= b.deadline_at AS handled_on_time,
         (b.is_handled AND b.deadline_at IS NOT NULL AND b.handled_at > b.deadline_at)
           OR (NOT b.is_handled AND b.stage IN ('dispatched', 'in_progress')
               AND coalesce(b.suspended_at, now()) > b.deadline_at) AS is_overdue,
         coalesce(ck.at > (ck.due #>> '{}')::timestamptz, false) AS check_late
    FROM base b
    LEFT JOIN ends d ON d.case_id = b.id AND d.action = 'dispatch'
    LEFT JOIN ends ck ON ck.case_id = b.id AND ck.action = 'check_pass' AND b.is_closed
)
SELECT key, GROUPING(key) = 1 AS is_total,
       count(*) FILTER (WHERE in_rep)::int AS reported,
       count(*) FILTER (WHERE in_rep AND registered_at IS NULL AND dispatched_at IS NULL AND stage <> 'cancelled')::int AS pending,
       count(*) FILTER (WHERE stage = 'merged' AND reported_at >= $3::timestamptz AND reported_at < $4::timestamptz)::int AS merged,
       count(*) FILTER (WHERE in_rep AND (reg_at IS NOT NULL OR stage = 'cancelled'))::int AS registration_den,
       count(*) FILTER (WHERE in_rep AND reg_at IS NOT NULL)::int AS registration_num,
       count(*) FILTER (WHERE in_dsp AND dispatch_due IS NOT NULL)::int AS on_time_dispatch_den,
       count(*) FILTER (WHERE in_dsp AND dispatch_due IS NOT NULL AND dispatch_at <= dispatch_due)::int AS on_time_dispatch_num,
       count(*) FILTER (WHERE in_dsp AND dispatch_due IS NULL)::int AS dispatch_undetermined,
       count(*) FILTER (WHERE in_dsp)::int AS disposal_den,
       count(*) FILTER (WHERE in_dsp AND is_handled)::int AS disposal_num,
       count(*) FILTER (WHERE in_dsp AND handled_on_time)::int AS on_time_disposal_num,
       count(*) FILTER (WHERE in_reg)::int AS closure_den,
       count(*) FILTER (WHERE in_reg AND is_closed)::int AS closure_num,
       count(*) FILTER (WHERE in_reg AND is_closed AND handled_on_time AND NOT check_late)::int AS on_time_closure_num,
       count(*) FILTER (WHERE in_dsp AND is_handled AND rework_count > 0)::int AS rework_num,
       coalesce(sum(rework_count) FILTER (WHERE in_dsp AND is_handled), 0)::int AS reworks,
       count(*) FILTER (WHERE in_dsp AND is_overdue)::int AS overdue_num,
       count(*) FILTER (WHERE in_dsp AND is_handled AND handled_at IS NOT NULL)::int AS handling_den,
       coalesce(sum(extract(epoch FROM handled_at - dispatched_at) / 3600) FILTER (WHERE in_dsp AND is_handled AND handled_at IS NOT NULL), 0)::float8 AS handling_hours,
       count(*) FILTER (WHERE in_eval)::int AS satisfaction_den,
       count(*) FILTER (WHERE in_eval AND satisfaction >= 4)::int AS satisfaction_num,
       coalesce(sum(satisfaction) FILTER (WHERE in_eval), 0)::int AS satisfaction_sum
  FROM f
 GROUP BY GROUPING SETS ((key), ())

-- Names of the units of a level inside an area. $1: area prefix, $2: level.
-- name: units
SELECT code, name FROM admin_units WHERE level = $2::text AND code LIKE $1::text || '%'
UNION ALL
SELECT code, name FROM grids WHERE $2::text = 'grid' AND code LIKE $1::text || '%'
ORDER BY code

-- The unit a code names (admin unit or grid), or nothing. $1: code.
-- name: unit
SELECT code, name, level FROM admin_units WHERE code = $1::text
UNION ALL
SELECT code, name, 'grid' AS level FROM grids WHERE code = $1::text

-- name: departments
SELECT id::text AS code, name FROM departments WHERE id = ANY($1::int[])

-- name: workers
SELECT id::text AS code, name FROM workers WHERE id = ANY($1::int[])

-- ─── the cockpit's indicators (docs/indicators.md, "Cockpit indicators") ──────────────────────
-- Same $1 (scope prefix, NULL unrestricted) and $2 (area prefix, NULL the whole scope) as above.
-- Grouping: district | street | community | grid (a region: by the object's grid_code) or none;
-- open_cases also department | worker as the indicators above. Each statement returns one row per
-- key (`key`, NULL for objects outside every grid) and the total (`is_total`).

-- Cases open at an instant: reported before it and not closed, evaluated, cancelled or merged
-- by then (the workflow stamps closed_at when a case is closed, cancelled or merged; a case in
-- one of those stages without the stamp counts as closed). Merged duplicates count in no indicator.
-- $3: the instant (timestamptz), $4: grouping. Output: key, is_total, open.
-- name: open_cases
SELECT key, GROUPING(key) = 1 AS is_total, count(*)::int AS open
  FROM (
    SELECT CASE $4::text
             WHEN 'district' THEN left(c.grid_code, 6)
             WHEN 'street' THEN left(c.grid_code, 9)
             WHEN 'community' THEN left(c.grid_code, 12)
             WHEN 'grid' THEN c.grid_code
             WHEN 'department' THEN c.department_id::text
             WHEN 'worker' THEN c.worker_id::text
           END AS key
      FROM cases c
     WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
       AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%')
       AND c.stage <> 'merged'
       AND c.reported_at < $3::timestamptz
       AND (c.closed_at >= $3::timestamptz OR (c.closed_at IS NULL AND c.stage NOT IN ('closed', 'evaluated', 'cancelled')))
  ) x
 GROUP BY GROUPING SETS ((key), ())

-- Sensor availability over [$3, $4) ($4: the end of the period, or now if that is earlier), each
-- sensor from the start of its installation day ($6: the time zone of installed_on) if later.
-- A sensor is offline while (a) the state its sensor:status events recorded is offline — the
-- status says offline, or the device says offline or fault — or (b) an offline alarm of it is open
-- (an offline alarm of a sensor already in alarm leaves its status at 'alarm'). The state at the
-- start is the one the last event before it set; with none, the `previous` of the first event
-- after it; with no event at all (a status seeded or imported), the status now — and a sensor
-- offline now with a last reading inside the span is taken as offline from that reading on.
-- $5: grouping (a region or none). Output: key, is_total, sensors, observed_s, offline_s.
-- name: sensor_availability
WITH s AS (
  SELECT x.* FROM (
    SELECT s.id, s.last_seen,
           (s.status = 'offline' OR s.device_status <> 'online') AS off_now,
           greatest($3::timestamptz, (s.installed_on::timestamp AT TIME ZONE $6::text)) AS a,
           CASE $5::text
             WHEN 'district' THEN left(s.grid_code, 6)
             WHEN 'street' THEN left(s.grid_code, 9)
             WHEN 'community' THEN left(s.grid_code, 12)
             WHEN 'grid' THEN s.grid_code
           END AS key
      FROM sensors s
     WHERE ($1::text IS NULL OR s.grid_code LIKE $1::text || '%')
       AND ($2::text IS NULL OR s.grid_code LIKE $2::text || '%')
  ) x
   WHERE x.a < $4::timestamptz
),
init AS (
  SELECT s.id, s.a AS at, 0::bigint AS seq,
         CASE WHEN b.off IS NOT NULL THEN b.off
              WHEN f.prev_off IS NOT NULL THEN f.prev_off
              ELSE s.off_now AND (s.last_seen IS NULL OR s.last_seen <= s.a) END AS off,
         b.off IS NULL AND f.prev_off IS NULL AS unrecorded
    FROM s
    LEFT JOIN LATERAL (
      SELECT (l.payload ->> 'status' = 'offline' OR coalesce(l.payload ->> 'deviceStatus', 'online') <> 'online') AS off
        FROM event_log l
       WHERE l.type = 'sensor:status' AND l.payload ->> 'id' = s.id::text AND l.at <= s.a
       ORDER BY l.at DESC, l.seq DESC
       LIMIT 1
    ) b ON true
    LEFT JOIN LATERAL (
      SELECT coalesce(l.payload ->> 'previous' = 'offline', false) AS prev_off
        FROM event_log l
       WHERE l.type = 'sensor:status' AND l.payload ->> 'id' = s.id::text AND l.at > s.a
       ORDER BY l.at, l.seq
       LIMIT 1
    ) f ON true
),
states AS (
  SELECT id, at, seq, off FROM init
  UNION ALL
  SELECT s.id, l.at, l.seq, (l.payload ->> 'status' = 'offline' OR coalesce(l.payload ->> 'deviceStatus', 'online') <> 'online')
    FROM s
    JOIN event_log l ON l.type = 'sensor:status' AND l.payload ->> 'id' = s.id::text AND l.at > s.a AND l.at < $4::timestamptz
  UNION ALL
  SELECT s.id, s.last_seen, 0::bigint, true
    FROM s JOIN init i ON i.id = s.id
   WHERE i.unrecorded AND s.off_now AND s.last_seen > s.a AND s.last_seen < $4::timestamptz
),
spans AS (
  SELECT id, off, at AS lo, coalesce(lead(at) OVER (PARTITION BY id ORDER BY at, seq), $4::timestamptz) AS hi FROM states
),
offs AS (
  SELECT id, tstzrange(lo, hi) AS r FROM spans WHERE off AND lo < hi
  UNION ALL
  SELECT id, tstzrange(lo, hi) FROM (
    SELECT s.id, greatest(al.raised_at, s.a) AS lo, least(coalesce(al.resolved_at, $4::timestamptz), $4::timestamptz) AS hi
      FROM s JOIN alarms al ON al.sensor_id = s.id AND al.kind = 'offline'
     WHERE al.raised_at < $4::timestamptz AND (al.resolved_at IS NULL OR al.resolved_at > s.a)
  ) a
   WHERE lo < hi
),
merged AS (
  SELECT id, range_agg(r) AS m FROM offs GROUP BY id
),
down AS (
  SELECT m.id, (SELECT sum(extract(epoch FROM upper(x) - lower(x))) FROM unnest(m.m) AS x)::float8 AS offline_s FROM merged m
)
SELECT s.key, GROUPING(s.key) = 1 AS is_total, count(*)::int AS sensors,
       coalesce(sum(extract(epoch FROM $4::timestamptz - s.a)), 0)::float8 AS observed_s,
       coalesce(sum(d.offline_s), 0)::float8 AS offline_s
  FROM s LEFT JOIN down d ON d.id = s.id
 GROUP BY GROUPING SETS ((s.key), ())

-- Cameras online now (status 'online'; 'offline' and 'fault' are not). $3: grouping (a region or
-- none). Output: key, is_total, cameras, online.
-- name: cameras_online
SELECT key, GROUPING(key) = 1 AS is_total, count(*)::int AS cameras, count(*) FILTER (WHERE online)::int AS online
  FROM (
    SELECT CASE $3::text
             WHEN 'district' THEN left(c.grid_code, 6)
             WHEN 'street' THEN left(c.grid_code, 9)
             WHEN 'community' THEN left(c.grid_code, 12)
             WHEN 'grid' THEN c.grid_code
           END AS key,
           c.status = 'online' AS online
      FROM cameras c
     WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
       AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%')
  ) x
 GROUP BY GROUPING SETS ((key), ())

-- Workers on duty now (duty_status on_duty or busy) by their grid (workers.grid_code), as the
-- wall counts them. $3: grouping (a region or none). Output: key, is_total, workers, on_duty.
-- name: workers_on_duty
SELECT key, GROUPING(key) = 1 AS is_total, count(*)::int AS workers, count(*) FILTER (WHERE on_duty)::int AS on_duty
  FROM (
    SELECT CASE $3::text
             WHEN 'district' THEN left(w.grid_code, 6)
             WHEN 'street' THEN left(w.grid_code, 9)
             WHEN 'community' THEN left(w.grid_code, 12)
             WHEN 'grid' THEN w.grid_code
           END AS key,
           w.duty_status IN ('on_duty', 'busy') AS on_duty
      FROM workers w
     WHERE ($1::text IS NULL OR w.grid_code LIKE $1::text || '%')
       AND ($2::text IS NULL OR w.grid_code LIKE $2::text || '%')
  ) x
 GROUP BY GROUPING SETS ((key), ())

-- Patrol coverage (server/stats/coverage.ts measures it): the roads inside each grid whose code
-- starts with $1 — every road but rail and ferry lines, cut at the grid's boundary. Cut in Web
-- Mercator: on the embedded PostGIS, ST_Intersection of some of the demo city's roads and grids in
-- WGS84 ends the whole statement with no rows and no error, in EPSG:3857 it does not.
-- Output: code, geom (GeoJSON in EPSG:3857 metres: a LineString or MultiLineString).
-- name: patrol_roads
SELECT g.code, ST_AsGeoJSON(x.geom, 2) AS geom
  FROM grids g
  JOIN roads r ON ST_Intersects(r.geom_3857, g.geom_3857)
 CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(r.geom_3857, g.geom_3857), 2) AS geom) x
 WHERE g.code LIKE $1::text || '%'
   AND r.kind NOT IN ('rail', 'ferry')
   AND NOT ST_IsEmpty(x.geom)
 ORDER BY g.code, r.id

-- What patrol_roads depends on, to tell when a process's copy of its result is out of date: the
-- roads (count, highest id, total length) and the grids whose code starts with $1 (count, highest
-- id, total area). Output: signature (text).
-- name: patrol_roads_signature
SELECT concat_ws('/',
         (SELECT concat_ws(':', count(*), max(id), round(sum(ST_Length(geom_3857))::numeric, 3)) FROM roads WHERE kind NOT IN ('rail', 'ferry')),
         (SELECT concat_ws(':', count(*), max(id), round(sum(area_m2)::numeric, 3)) FROM grids WHERE code LIKE $1::text || '%')) AS signature

-- The workers of the grids whose code starts with $1: their own grid (workers.grid_code) and the
-- grids of their grid teams. Output: worker_id, grids (text[]).
-- name: patrol_workers
SELECT worker_id, array_agg(DISTINCT grid_code ORDER BY grid_code) AS grids
  FROM (
    SELECT id AS worker_id, grid_code FROM workers WHERE grid_code LIKE $1::text || '%'
    UNION ALL
    SELECT worker_id, grid_code FROM grid_team WHERE grid_code LIKE $1::text || '%'
  ) m
 GROUP BY worker_id

-- The fixes of workers $1 (int[]) in [$2, $3), without those whose reported accuracy is worse
-- than $4 metres, each worker's in time order (read along the primary key, worker and time: no
-- sort). Output per worker with fixes: worker_id, t (epoch s), x (lon), y (lat) as arrays.
-- name: patrol_fixes
SELECT w.id AS worker_id, f.t, f.x, f.y
  FROM unnest($1::int[]) AS w(id)
 CROSS JOIN LATERAL (
   SELECT array_agg(extract(epoch FROM p.ts)::float8) AS t, array_agg(ST_X(p.geom)) AS x, array_agg(ST_Y(p.geom)) AS y
     FROM (SELECT p.ts, p.geom
             FROM worker_positions p
            WHERE p.worker_id = w.id
              AND p.ts >= $2::timestamptz AND p.ts < $3::timestamptz
              AND (p.accuracy IS NULL OR p.accuracy <= $4::float8)
            ORDER BY p.ts) p
 ) f
 WHERE f.t IS NOT NULL
