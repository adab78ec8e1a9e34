-- Worker positions from the field (POST /api/positions, socket `position`) and the geofence
-- with hysteresis (server/positions/). A worker's fence is the union of their own grid and the
-- grids of the grid teams they are on.

-- What the device said about the fix (nullable: seeded and imported tracks have none), and the
-- fence state after it (null: not judged, e.g. a fix older than one already judged; the track
-- query then falls back to plain containment).
ALTER TABLE worker_positions ADD COLUMN accuracy real;
ALTER TABLE worker_positions ADD COLUMN speed real;
ALTER TABLE worker_positions ADD COLUMN heading real;
ALTER TABLE worker_positions ADD COLUMN outside boolean;

-- The fence state per worker: `outside` changes only past the hysteresis band (out: more than
-- OUT_M outside on two consecutive fixes; back: more than IN_M inside), so a worker walking the
-- edge does not flicker. `geom`/`last_fix` are the last fix judged; `pending_since` the first
-- fix of a run beyond OUT_M not yet confirmed.
CREATE TABLE worker_fence (
  worker_id      integer PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
  outside        boolean NOT NULL,
  since          timestamptz NOT NULL,
  last_fix       timestamptz NOT NULL,
  geom           geometry(Point, 4326) NOT NULL,
  distance_m     double precision,
  pending_since  timestamptz,
  pending_count  integer NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- out_of_grid (出格预警) as in 004, but from the fence state when that state judged the worker's
-- current position (the hysteresis, so the map agrees with the events); otherwise (no fence
-- state, or the position was set another way, e.g. seeded workers) the plain geometric rule.
-- Same columns in the same order as 004 (a view can only gain columns at the end); the
-- scalar subqueries keep the view on one table.
CREATE OR REPLACE VIEW worker_map AS
SELECT w.id, w.code, w.name, w.phone, w.role, w.grid_code, w.department_id, w.user_id,
       w.duty_status, w.last_seen, w.geom, w.geom_3857, w.synthetic,
       (w.duty_status IN ('on_duty', 'busy')
        AND w.geom IS NOT NULL
        AND coalesce(
          (SELECT f.outside FROM worker_fence f WHERE f.worker_id = w.id AND ST_Equals(f.geom, w.geom)),
          ((w.grid_code IS NOT NULL OR EXISTS (SELECT 1 FROM grid_team gt WHERE gt.worker_id = w.id))
           AND NOT EXISTS (
             SELECT 1 FROM grids g
             WHERE (g.code = w.grid_code OR g.code IN (SELECT gt.grid_code FROM grid_team gt WHERE gt.worker_id = w.id))
               AND ST_Intersects(g.geom, w.geom))))) AS out_of_grid
FROM workers w;
