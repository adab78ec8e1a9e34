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
