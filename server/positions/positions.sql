-- Worker positions, the fence and track queries (service.ts runs these). Coordinates in and out
-- are WGS84 lon/lat; distances are geodesic metres (geography). A worker's fence is the union of
-- their grid (workers.grid_code) and the grids of their grid_team rows. Scope: $scope NULL =
-- unrestricted, else a code prefix the grid_code must start with.

-- name: own_workers
-- $1 user id. Output: id — the workers the signed-in user is.
SELECT id FROM workers WHERE user_id = $1 ORDER BY id;

-- name: lock_workers
-- $1 int[] worker ids, $2 scope. Locks the rows (in id order: no deadlock between two batches)
-- so two batches of one worker are judged one after the other.
-- Output: id, code, name, grid_code, scope (grid_code, else the first grid of their teams: who
-- sees their events), duty_status, last_seen, lon, lat (the current position).
SELECT id, code, name, grid_code,
       coalesce(grid_code, (SELECT min(gt.grid_code) FROM grid_team gt WHERE gt.worker_id = workers.id)) AS scope,
       duty_status, last_seen, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM workers
WHERE id = ANY($1::int[]) AND ($2::text IS NULL OR grid_code LIKE $2::text || '%')
ORDER BY id
FOR UPDATE;

-- name: insert_fixes
-- $1 worker_id int[], $2 ts timestamptz[], $3 lon float8[], $4 lat float8[], $5 accuracy real[],
-- $6 speed real[], $7 heading real[]. Stores the fixes; a fix of a worker at a time already
-- stored is a duplicate and ignored. Output, per fix stored, by worker and time: worker_id, ts,
-- lon, lat, accuracy, speed, heading, signed_m (distance to the fence edge, + outside, − inside;
-- NULL when the worker has no fence).
WITH ins AS (
  INSERT INTO worker_positions (worker_id, ts, geom, accuracy, speed, heading)
  SELECT r.worker_id, r.ts, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326), r.accuracy, r.speed, r.heading
  FROM unnest($1::int[], $2::timestamptz[], $3::float8[], $4::float8[], $5::real[], $6::real[], $7::real[])
       AS r(worker_id, ts, lon, lat, accuracy, speed, heading)
  ON CONFLICT (worker_id, ts) DO NOTHING
  RETURNING worker_id, ts, geom, accuracy, speed, heading
), fence AS (
  SELECT w.id AS worker_id, ST_Union(g.geom) AS area, ST_Boundary(ST_Union(g.geom))::geography AS edge
  FROM workers w
  JOIN grids g ON g.code = w.grid_code OR g.code IN (SELECT gt.grid_code FROM grid_team gt WHERE gt.worker_id = w.id)
  WHERE w.id = ANY($1::int[])
  GROUP BY w.id
)
SELECT i.worker_id, i.ts, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.accuracy, i.speed, i.heading,
       CASE WHEN f.area IS NULL THEN NULL
            WHEN ST_Intersects(f.area, i.geom) THEN -ST_Distance(f.edge, i.geom::geography)
            ELSE ST_Distance(f.edge, i.geom::geography) END AS signed_m
FROM ins i LEFT JOIN fence f ON f.worker_id = i.worker_id
ORDER BY i.worker_id, i.ts;

-- name: fence_states
-- $1 int[] worker ids. Output: worker_id, outside, since, last_fix, pending_since, pending_count.
SELECT worker_id, outside, since, last_fix, pending_since, pending_count FROM worker_fence WHERE worker_id = ANY($1::int[]);

-- name: save_fences
-- $1 worker_id int[], $2 outside bool[], $3 since timestamptz[], $4 last_fix timestamptz[],
-- $5 lon float8[], $6 lat float8[], $7 distance_m float8[], $8 pending_since timestamptz[],
-- $9 pending_count int[]: the fence state after the batch, with the last fix judged.
INSERT INTO worker_fence (worker_id, outside, since, last_fix, geom, distance_m, pending_since, pending_count, updated_at)
SELECT r.worker_id, r.outside, r.since, r.last_fix, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326), r.distance_m, r.pending_since, r.pending_count, now()
FROM unnest($1::int[], $2::bool[], $3::timestamptz[], $4::timestamptz[], $5::float8[], $6::float8[], $7::float8[], $8::timestamptz[], $9::int[])
     AS r(worker_id, outside, since, last_fix, lon, lat, distance_m, pending_since, pending_count)
ON CONFLICT (worker_id) DO UPDATE SET
  outside = EXCLUDED.outside, since = EXCLUDED.since, last_fix = EXCLUDED.last_fix, geom = EXCLUDED.geom,
  distance_m = EXCLUDED.distance_m, pending_since = EXCLUDED.pending_since, pending_count = EXCLUDED.pending_count,
  updated_at = EXCLUDED.updated_at;

-- name: mark_fixes
-- $1 worker_id int[], $2 ts timestamptz[], $3 outside bool[]: the fence state after each fix.
UPDATE worker_positions p SET outside = r.outside
FROM unnest($1::int[], $2::timestamptz[], $3::bool[]) AS r(worker_id, ts, outside)
WHERE p.worker_id = r.worker_id AND p.ts = r.ts;

-- name: mark_outside_since
-- $1 worker id, $2 from, $3 before: fixes of an exit confirmed by a later batch.
UPDATE worker_positions SET outside = true WHERE worker_id = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz;

-- name: move_workers
-- $1 worker_id int[], $2 ts timestamptz[], $3 lon float8[], $4 lat float8[] (the latest fix of
-- each worker in the batch): the worker's position, unless a later one is known.
-- Output: id of each worker moved.
UPDATE workers w SET geom = ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326), last_seen = r.ts
FROM unnest($1::int[], $2::timestamptz[], $3::float8[], $4::float8[]) AS r(worker_id, ts, lon, lat)
WHERE w.id = r.worker_id AND (w.last_seen IS NULL OR w.last_seen < r.ts)
RETURNING w.id;

-- name: worker
-- $1 worker id, $2 scope. Output: id, code, name, grid_code, user_id.
SELECT id, code, name, grid_code, user_id FROM workers
WHERE id = $1 AND ($2::text IS NULL OR grid_code LIKE $2::text || '%');

-- name: track
-- $1 worker id, $2 from (inclusive), $3 to (exclusive). Output, by time: ts, lon, lat, outside —
-- the fence state stored with the fix, else (fixes not judged, e.g. seeded tracks) whether it
-- lies outside the worker's fence as it is now (false without a fence).
WITH fence AS (
  SELECT ST_Union(g.geom) AS area FROM grids g
  WHERE g.code = (SELECT grid_code FROM workers WHERE id = $1)
     OR g.code IN (SELECT gt.grid_code FROM grid_team gt WHERE gt.worker_id = $1)
)
SELECT p.ts, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat,
       coalesce(p.outside, f.area IS NOT NULL AND NOT ST_Intersects(f.area, p.geom)) AS outside
FROM worker_positions p CROSS JOIN fence f
WHERE p.worker_id = $1 AND p.ts >= $2::timestamptz AND p.ts < $3::timestamptz
ORDER BY p.ts;

-- name: grid
-- $1 grid code, $2 scope. Output: code.
SELECT code FROM grids WHERE code = $1 AND ($2::text IS NULL OR code LIKE $2::text || '%');

-- name: presence
-- $1 grid code, $2 from (inclusive), $3 to (exclusive), $4 gap in seconds. Who was in the grid
-- and when: for every worker with a fix inside it in the range, their runs of consecutive fixes
-- inside (a fix outside, or a gap longer than $4 between two fixes inside, ends a run).
-- Output, by worker and time: worker_id, code, name, from, to.
WITH g AS (
  SELECT geom FROM grids WHERE code = $1
), seen AS (
  SELECT DISTINCT p.worker_id
  FROM worker_positions p, g
  WHERE p.ts >= $2::timestamptz AND p.ts < $3::timestamptz AND p.geom && g.geom AND ST_Intersects(g.geom, p.geom)
), fixes AS (
  SELECT p.worker_id, p.ts, ST_Intersects(g.geom, p.geom) AS inside
  FROM worker_positions p JOIN seen USING (worker_id), g
  WHERE p.ts >= $2::timestamptz AND p.ts < $3::timestamptz
), marked AS (
  SELECT worker_id, ts, inside,
         CASE WHEN inside AND lag(inside) OVER w AND ts - lag(ts) OVER w <= make_interval(secs => $4::float8) THEN 0 ELSE 1 END AS starts
  FROM fixes
  WINDOW w AS (PARTITION BY worker_id ORDER BY ts)
), runs AS (
  SELECT worker_id, ts, inside, sum(starts) OVER (PARTITION BY worker_id ORDER BY ts) AS run FROM marked
)
SELECT r.worker_id, w.code, w.name, min(r.ts) AS "from", max(r.ts) AS "to"
FROM runs r JOIN workers w ON w.id = r.worker_id
WHERE r.inside
GROUP BY r.worker_id, w.code, w.name, r.run
ORDER BY r.worker_id, min(r.ts);
