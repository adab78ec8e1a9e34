-- Alarm lifecycle statements (server/alarms/service.ts, jobs.ts). Every statement is set-based:
-- one per ingest batch or job run, never one per reading.
--
-- Alarm rows returned (columns `alarm_cols` below): id, sensor_id, kind, rule_id, value,
-- threshold, raised_at, resolved_at, resolved_value, resolved_by, resolve_comment, case_id,
-- reminder_count, change ('raised' | 'resolved' | 'reminded'), and of the sensor: code, name,
-- type, unit, grid_code, lon, lat.

-- name: lock_sensors
-- Locks the sensors a transaction will change, in id order, before anything else — two ingest
-- batches (two processes sharing the MQTT subscription) touch mostly the same sensors and would
-- otherwise lock their rows in whatever order their plans visit them. $1 sensor ids (int[]).
SELECT id FROM sensors WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE;

-- name: lock_alarm_sensor
-- The same for the sensor of one alarm (HTTP), before the alarm row. $1 alarm id.
SELECT s.id FROM sensors s WHERE s.id = (SELECT sensor_id FROM alarms WHERE id = $1) FOR UPDATE;

-- name: evaluate
-- The readings of one ingest batch against the threshold and rate rules; run after the readings
-- are stored and before the sensors' last_seen moves on (readings older than it are no rate).
-- $1 sensor ids (int[]), $2 reading times in ms since the epoch (float8[]), $3 values (float8[]),
-- one entry per sensor and time.
-- Per sensor and rule the batch is read in time order: an open alarm is resolved when the last
-- reading that decides anything (at/over the alarm level, or at/within the clear level) clears
-- it; an alarm is raised at the first reading at/over the level when none is open. Within one
-- batch (≈ 200 ms) an alarm is raised or resolved, not both. A reading of a sensor with an open
-- offline alarm resolves it.
WITH b AS (
  SELECT r.sensor_id, to_timestamp(r.t / 1000.0) AS ts, r.value
    FROM unnest($1::int[], $2::float8[], $3::float8[]) r(sensor_id, t, value)
), s AS (
  SELECT id, type, thresholds, last_seen, last_value FROM sensors WHERE id IN (SELECT DISTINCT sensor_id FROM b)
), th AS (
  SELECT b.sensor_id, ru.id AS rule_id, 'threshold'::text AS kind, b.ts, b.value AS shown, x.level,
         CASE WHEN x.below THEN -b.value ELSE b.value END AS m,
         CASE WHEN x.below THEN -x.level ELSE x.level END AS hi,
         CASE WHEN x.below THEN -coalesce(x.clear, x.level + coalesce(ru.hysteresis, 0)) ELSE coalesce(x.clear, x.level - coalesce(ru.hysteresis, 0)) END AS lo
    FROM b
    JOIN s ON s.id = b.sensor_id
    JOIN alarm_rules ru ON ru.sensor_type = s.type AND ru.kind = 'threshold' AND ru.enabled
    CROSS JOIN LATERAL (
      SELECT CASE WHEN jsonb_typeof(s.thresholds -> 'alarm') = 'number' THEN (s.thresholds ->> 'alarm')::float8 END AS level,
             CASE WHEN jsonb_typeof(s.thresholds -> 'clear') = 'number' THEN (s.thresholds ->> 'clear')::float8 END AS clear,
             coalesce(s.thresholds ->> 'direction', 'above') = 'below' AS below
    ) x
   WHERE x.level IS NOT NULL
), steps AS (
  -- Per sensor the batch's latest reading against the latest stored one at least rate_window_s
  -- older (this batch's readings are stored already): the previous reading of a sensor that
  -- reports less often, a span over its noise for one that reports every few seconds.
  SELECT l.sensor_id, ru.id AS rule_id, ru.rate_per_min, ru.rate_clear_per_min, ru.rate_direction, l.ts,
         (l.value - ref.value) * 60 / extract(epoch FROM l.ts - ref.ts)::float8 AS rate
    FROM (SELECT DISTINCT ON (sensor_id) sensor_id, ts, value FROM b ORDER BY sensor_id, ts DESC) l
    JOIN s ON s.id = l.sensor_id
    JOIN alarm_rules ru ON ru.sensor_type = s.type AND ru.kind = 'rate' AND ru.enabled
    CROSS JOIN LATERAL (
      SELECT r.ts, r.value FROM sensor_readings r
       WHERE r.sensor_id = l.sensor_id AND r.ts <= l.ts - make_interval(secs => ru.rate_window_s)
       ORDER BY r.ts DESC
       LIMIT 1
    ) ref
   WHERE s.last_seen IS NULL OR l.ts > s.last_seen
), rt AS (
  SELECT q.sensor_id, q.rule_id, 'rate'::text AS kind, q.ts, q.rate AS shown, q.rate_per_min AS level,
         CASE q.rate_direction WHEN 'rise' THEN q.rate WHEN 'fall' THEN -q.rate ELSE abs(q.rate) END AS m,
         q.rate_per_min AS hi,
         coalesce(q.rate_clear_per_min, q.rate_per_min / 2) AS lo
    FROM steps q
), m AS (
  SELECT * FROM th UNION ALL SELECT * FROM rt
), d AS (
  SELECT sensor_id, rule_id, kind, max(level) AS level,
         min(ts) FILTER (WHERE m >= hi) AS on_ts,
         (array_agg(shown ORDER BY ts) FILTER (WHERE m >= hi))[1] AS on_value,
         (array_agg(m >= hi ORDER BY ts DESC) FILTER (WHERE m >= hi OR m <= lo))[1] AS last_on,
         (array_agg(ts ORDER BY ts DESC) FILTER (WHERE m >= hi OR m <= lo))[1] AS last_ts,
         (array_agg(shown ORDER BY ts DESC) FILTER (WHERE m >= hi OR m <= lo))[1] AS last_value
    FROM m
   GROUP BY sensor_id, rule_id, kind
), o AS (
  SELECT a.id, a.sensor_id, a.kind, a.raised_at FROM alarms a
   WHERE a.resolved_at IS NULL AND a.sensor_id IN (SELECT id FROM s)
), cleared AS (
  UPDATE alarms a SET resolved_at = d.last_ts, resolved_by = 'system', resolved_value = d.last_value
    FROM d JOIN o ON o.sensor_id = d.sensor_id AND o.kind = d.kind
   WHERE a.id = o.id AND NOT d.last_on AND d.last_ts >= o.raised_at
  RETURNING a.*
), back AS (
  UPDATE alarms a SET resolved_at = greatest(l.ts, o.raised_at), resolved_by = 'system', resolved_value = l.value
    FROM (SELECT DISTINCT ON (sensor_id) sensor_id, ts, value FROM b ORDER BY sensor_id, ts DESC) l
    JOIN o ON o.sensor_id = l.sensor_id AND o.kind = 'offline'
   WHERE a.id = o.id
  RETURNING a.*
), raised AS (
  INSERT INTO alarms (sensor_id, kind, rule_id, value, threshold, raised_at, grid_code)
  SELECT d.sensor_id, d.kind, d.rule_id, d.on_value, d.level, d.on_ts, sn.grid_code
    FROM d JOIN sensors sn ON sn.id = d.sensor_id
   WHERE d.on_ts IS NOT NULL AND NOT EXISTS (SELECT 1 FROM o WHERE o.sensor_id = d.sensor_id AND o.kind = d.kind)
   ORDER BY d.on_ts, d.sensor_id
  ON CONFLICT (sensor_id, kind) WHERE resolved_at IS NULL DO NOTHING
  RETURNING *
), changed AS (
  SELECT 'raised' AS change, * FROM raised
  UNION ALL SELECT 'resolved', * FROM cleared
  UNION ALL SELECT 'resolved', * FROM back
)
SELECT c.change, c.id, c.sensor_id, c.kind, c.rule_id, c.value, c.threshold, c.raised_at, c.resolved_at, c.resolved_value,
       c.resolved_by, c.resolve_comment, c.case_id, c.reminder_count,
       sn.code, sn.name, sn.type, coalesce(sn.thresholds ->> 'unit', sn.unit) AS unit, sn.grid_code, ST_X(sn.geom) AS lon, ST_Y(sn.geom) AS lat
  FROM changed c JOIN sensors sn ON sn.id = c.sensor_id
 ORDER BY coalesce(c.resolved_at, c.raised_at), c.id;

-- name: ingest_sensors
-- The latest reading and device status of each sensor of an ingest batch, and its derived status:
-- alarm while any alarm is open, offline for an open offline alarm or a device saying
-- offline/fault, else online. A reading brings a device that said offline back online.
-- $1 sensor ids, $2 times (ms), $3 values — the latest reading per sensor;
-- $4 sensor ids, $5 times (ms), $6 device statuses, $7 battery (%), $8 rssi (dBm) — the latest
-- status message per sensor. Output: the sensors whose status or device status changed.
WITH l AS (
  SELECT r.sensor_id, to_timestamp(r.t / 1000.0) AS ts, r.value FROM unnest($1::int[], $2::float8[], $3::float8[]) r(sensor_id, t, value)
), st AS (
  SELECT r.sensor_id, to_timestamp(r.t / 1000.0) AS ts, r.status, r.battery, r.rssi
    FROM unnest($4::int[], $5::float8[], $6::text[], $7::float8[], $8::float8[]) r(sensor_id, t, status, battery, rssi)
), t AS (
  SELECT sn.id, sn.status AS previous, sn.device_status AS previous_device,
         l.ts, l.value, (l.ts IS NOT NULL AND (sn.last_seen IS NULL OR sn.last_seen <= l.ts)) AS newer,
         (st.ts IS NOT NULL AND (sn.status_at IS NULL OR sn.status_at <= st.ts)) AS said,
         st.ts AS st_ts, st.status AS st_status, st.battery, st.rssi
    FROM sensors sn
    LEFT JOIN l ON l.sensor_id = sn.id
    LEFT JOIN st ON st.sensor_id = sn.id
   WHERE sn.id IN (SELECT sensor_id FROM l UNION SELECT sensor_id FROM st)
), n AS (
  SELECT t.*, CASE WHEN t.said THEN t.st_status
                   WHEN t.ts IS NOT NULL AND t.previous_device = 'offline' AND t.ts >= coalesce(sn.status_at, '-infinity') THEN 'online'
                   ELSE t.previous_device END AS device_status
    FROM t JOIN sensors sn ON sn.id = t.id
), u AS (
  UPDATE sensors s SET
    last_value = CASE WHEN n.newer THEN n.value ELSE s.last_value END,
    last_seen = CASE WHEN n.newer THEN n.ts ELSE s.last_seen END,
    live_since = CASE WHEN n.ts IS NOT NULL THEN coalesce(s.live_since, now()) ELSE s.live_since END,
    device_status = n.device_status,
    battery = CASE WHEN n.said THEN coalesce(n.battery, s.battery) ELSE s.battery END,
    rssi = CASE WHEN n.said THEN coalesce(n.rssi, s.rssi) ELSE s.rssi END,
    status_at = CASE WHEN n.said THEN n.st_ts ELSE s.status_at END,
    status = CASE
      WHEN EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id AND a.resolved_at IS NULL AND a.kind <> 'offline') THEN 'alarm'
      WHEN n.device_status <> 'online' OR EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id AND a.resolved_at IS NULL AND a.kind = 'offline') THEN 'offline'
      ELSE 'online' END
    FROM n
   WHERE s.id = n.id
  RETURNING s.id, s.code, s.name, s.type, s.status, n.previous, s.device_status, n.previous_device, n.said, s.battery, s.rssi,
            s.last_value, s.grid_code, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
)
SELECT * FROM u WHERE status <> previous OR device_status <> previous_device;

-- name: sensor_status
-- Derives the status of the given sensors again after their alarms changed (jobs, HTTP).
-- $1 sensor ids (int[]). Output: the sensors whose status changed, with the previous one.
UPDATE sensors s SET status = x.status
  FROM (SELECT sn.id, sn.status AS previous,
               CASE WHEN EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = sn.id AND a.resolved_at IS NULL AND a.kind <> 'offline') THEN 'alarm'
                    WHEN sn.device_status <> 'online' OR EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = sn.id AND a.resolved_at IS NULL AND a.kind = 'offline') THEN 'offline'
                    ELSE 'online' END AS status
          FROM sensors sn WHERE sn.id = ANY($1::int[])) x
 WHERE s.id = x.id AND s.status <> x.status
RETURNING s.id, s.code, s.name, s.type, s.status, x.previous, s.device_status, s.device_status AS previous_device, false AS said,
          s.battery, s.rssi, s.last_value, s.grid_code, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat;

-- name: raise_offline
-- alarms:offline: sensors that have reported live and sent no reading for their rule's
-- offline_after_s get an offline alarm (at most $2 per run, the longest silent first; the rest
-- next run). Sensors that never reported live (live_since NULL: only a seeded or imported
-- history) are not watched — nothing says they were ever connected.
-- $1 now (timestamptz), $2 limit. Output: alarm rows as above.
WITH due AS (
  SELECT s.id, s.grid_code, s.last_seen, r.id AS rule_id, r.offline_after_s
    FROM sensors s
    JOIN alarm_rules r ON r.sensor_type = s.type AND r.kind = 'offline' AND r.enabled
   WHERE s.live_since IS NOT NULL AND s.last_seen < $1::timestamptz - make_interval(secs => r.offline_after_s)
     AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id AND a.kind = 'offline' AND a.resolved_at IS NULL)
   ORDER BY s.last_seen
   LIMIT $2
), raised AS (
  INSERT INTO alarms (sensor_id, kind, rule_id, value, threshold, raised_at, grid_code)
  SELECT id, 'offline', rule_id, extract(epoch FROM $1::timestamptz - last_seen)::float8, offline_after_s, $1::timestamptz, grid_code
    FROM due
   ORDER BY last_seen, id
  ON CONFLICT (sensor_id, kind) WHERE resolved_at IS NULL DO NOTHING
  RETURNING *
)
SELECT 'raised' AS change, c.id, c.sensor_id, c.kind, c.rule_id, c.value, c.threshold, c.raised_at, c.resolved_at, c.resolved_value,
       c.resolved_by, c.resolve_comment, c.case_id, c.reminder_count,
       sn.code, sn.name, sn.type, coalesce(sn.thresholds ->> 'unit', sn.unit) AS unit, sn.grid_code, ST_X(sn.geom) AS lon, ST_Y(sn.geom) AS lat
  FROM raised c JOIN sensors sn ON sn.id = c.sensor_id
 ORDER BY c.raised_at, c.id;

-- name: remind
-- alarms:remind: open, unacknowledged alarms whose rule repeats them and whose last reminder (or
-- raise) is at least remind_every_s before $1 get one reminder — one per run however late the
-- run, so a late scheduler does not send a burst. $1 now (timestamptz), $2 limit.
-- Output: alarm rows as above (change 'reminded').
WITH due AS (
  SELECT a.id FROM alarms a
    JOIN alarm_rules r ON r.id = a.rule_id
   WHERE a.acked_at IS NULL AND a.resolved_at IS NULL AND r.remind_every_s IS NOT NULL
     AND coalesce(a.last_reminded_at, a.raised_at) <= $1::timestamptz - make_interval(secs => r.remind_every_s)
   ORDER BY a.raised_at, a.id
   LIMIT $2
   FOR UPDATE OF a SKIP LOCKED
), u AS (
  UPDATE alarms a SET reminder_count = a.reminder_count + 1, last_reminded_at = $1::timestamptz
    FROM due WHERE a.id = due.id
  RETURNING a.*
)
SELECT 'reminded' AS change, c.id, c.sensor_id, c.kind, c.rule_id, c.value, c.threshold, c.raised_at, c.resolved_at, c.resolved_value,
       c.resolved_by, c.resolve_comment, c.case_id, c.reminder_count,
       sn.code, sn.name, sn.type, coalesce(sn.thresholds ->> 'unit', sn.unit) AS unit, sn.grid_code, ST_X(sn.geom) AS lon, ST_Y(sn.geom) AS lat
  FROM u c JOIN sensors sn ON sn.id = c.sensor_id
 ORDER BY c.raised_at, c.id;

-- name: resolve
-- POST /api/alarms/:id/resolve: resolves an open alarm within the asker's scope.
-- $1 alarm id, $2 scope prefix (NULL: unrestricted), $3 username, $4 comment.
-- Output: alarm row as above plus was_resolved (then nothing changed: 409); no row: 404.
WITH old AS (
  SELECT id, resolved_at FROM alarms WHERE id = $1 FOR UPDATE
), u AS (
  UPDATE alarms a SET resolved_at = coalesce(old.resolved_at, now()),
                      resolved_by = CASE WHEN old.resolved_at IS NULL THEN $3 ELSE a.resolved_by END,
                      resolve_comment = CASE WHEN old.resolved_at IS NULL THEN $4 ELSE a.resolve_comment END
    FROM old
   WHERE a.id = old.id AND ($2::text IS NULL OR a.grid_code LIKE $2::text || '%')
  RETURNING a.*, old.resolved_at IS NOT NULL AS was_resolved
)
SELECT 'resolved' AS change, c.id, c.sensor_id, c.kind, c.rule_id, c.value, c.threshold, c.raised_at, c.resolved_at, c.resolved_value,
       c.resolved_by, c.resolve_comment, c.case_id, c.reminder_count, c.was_resolved,
       sn.code, sn.name, sn.type, coalesce(sn.thresholds ->> 'unit', sn.unit) AS unit, sn.grid_code, ST_X(sn.geom) AS lon, ST_Y(sn.geom) AS lat
  FROM u c JOIN sensors sn ON sn.id = c.sensor_id;

-- name: list
-- GET /api/alarms: alarms within the asker's scope, the most recently changed first.
-- $1 scope prefix (NULL: unrestricted), $2 states (text[]: open = neither acknowledged nor
-- resolved, acked = acknowledged and not resolved, resolved; NULL: all), $3 since (timestamptz:
-- last change — raise, acknowledgement or resolution — at or after; NULL: any), $4 limit.
SELECT a.id, a.sensor_id, a.kind, a.value, a.threshold, a.raised_at, a.acked_at, a.acked_by, a.ack_comment,
       a.resolved_at, a.resolved_by, a.resolve_comment, a.resolved_value, a.reminder_count, a.case_id, c.code AS case_code,
       x.state, x.changed_at, s.code, s.name, s.type, coalesce(s.thresholds ->> 'unit', s.unit) AS unit,
       a.grid_code, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
  FROM alarms a
  JOIN sensors s ON s.id = a.sensor_id
  LEFT JOIN cases c ON c.id = a.case_id
  CROSS JOIN LATERAL (
    SELECT CASE WHEN a.resolved_at IS NOT NULL THEN 'resolved' WHEN a.acked_at IS NOT NULL THEN 'acked' ELSE 'open' END AS state,
           greatest(a.raised_at, a.acked_at, a.resolved_at) AS changed_at
  ) x
 WHERE ($1::text IS NULL OR a.grid_code LIKE $1::text || '%')
   AND ($2::text[] IS NULL OR x.state = ANY($2::text[]))
   AND ($3::timestamptz IS NULL OR x.changed_at >= $3::timestamptz)
 ORDER BY x.changed_at DESC, a.id DESC
 LIMIT $4;
