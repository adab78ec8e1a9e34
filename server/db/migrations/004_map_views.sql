-- What the map shows of cases and workers, derived where it is read so it is never stale:
-- a case's SLA state (限时办结: on time → due soon, yellow → overdue, red) and whether an on-duty
-- worker is outside the grids they serve (出格预警). Tile layers, OGC collections and the spatial
-- API read these views; the geometry columns and their GiST indexes are the base tables'.

-- due_soon: open, not yet overdue, and less than a quarter of the time allowed is left.
CREATE VIEW case_map AS
SELECT c.*,
       CASE
         WHEN c.stage IN ('closed', 'evaluated', 'cancelled') THEN 'closed'
         WHEN c.overdue OR c.deadline_at < now() THEN 'overdue'
         WHEN c.deadline_at IS NOT NULL
              AND c.deadline_at - now() < (c.deadline_at - c.reported_at) / 4 THEN 'due_soon'
         ELSE 'on_time'
       END AS sla_state
FROM cases c;

-- The open cases only: what the case heat layer counts.
CREATE VIEW open_case_map AS
SELECT * FROM case_map WHERE sla_state <> 'closed';

CREATE INDEX grid_team_worker_idx ON grid_team (worker_id);

-- out_of_grid: on duty (or busy on a case) and the last position is in none of the grids the
-- worker belongs to (their own grid or any grid team they are on). Without a position or a
-- grid it is false: nothing to compare.
CREATE VIEW worker_map AS
SELECT w.*,
       (w.duty_status IN ('on_duty', 'busy')
        AND w.geom IS NOT NULL
        AND (w.grid_code IS NOT NULL OR EXISTS (SELECT 1 FROM grid_team gt WHERE gt.worker_id = w.id))
        AND NOT EXISTS (
          SELECT 1 FROM grids g
          WHERE (g.code = w.grid_code OR g.code IN (SELECT gt.grid_code FROM grid_team gt WHERE gt.worker_id = w.id))
            AND ST_Intersects(g.geom, w.geom))) AS out_of_grid
FROM workers w;
