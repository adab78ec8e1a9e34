-- Assessment rules (migration 017, server/assessment/rules.ts).

-- Every rule with its weights. Output: kind, grade_a … grade_e, version, updated_at, updated_by,
-- weights (JSON array of {indicator, weight}).
-- name: rules
SELECT r.kind, r.grade_a::float8 AS grade_a, r.grade_b::float8 AS grade_b, r.grade_c::float8 AS grade_c,
       r.grade_d::float8 AS grade_d, r.grade_e::float8 AS grade_e, r.version, r.updated_at, r.updated_by,
       coalesce((SELECT json_agg(json_build_object('indicator', w.indicator, 'weight', w.weight::float8))
                   FROM assessment_rule_weights w WHERE w.kind = r.kind), '[]'::json) AS weights
  FROM assessment_rules r
 ORDER BY r.kind

-- The rule of one kind: $1 kind. Output as `rules`.
-- name: rule
SELECT r.kind, r.grade_a::float8 AS grade_a, r.grade_b::float8 AS grade_b, r.grade_c::float8 AS grade_c,
       r.grade_d::float8 AS grade_d, r.grade_e::float8 AS grade_e, r.version, r.updated_at, r.updated_by,
       coalesce((SELECT json_agg(json_build_object('indicator', w.indicator, 'weight', w.weight::float8))
                   FROM assessment_rule_weights w WHERE w.kind = r.kind), '[]'::json) AS weights
  FROM assessment_rules r
 WHERE r.kind = $1::text

-- A new version of a rule, only if it is still at the version the editor saw.
-- $1 kind, $2 the version edited, $3–$7 bands A–E, $8 username. Output: version, updated_at (no row: the version moved on).
-- name: bump
UPDATE assessment_rules
   SET grade_a = $3, grade_b = $4, grade_c = $5, grade_d = $6, grade_e = $7,
       version = version + 1, updated_at = now(), updated_by = $8::text
 WHERE kind = $1::text AND version = $2::int
RETURNING version, updated_at

-- name: clear_weights
DELETE FROM assessment_rule_weights WHERE kind = $1::text

-- $1 kind, $2 indicators (text[]), $3 weights (numeric[]), in the same order.
-- name: insert_weights
INSERT INTO assessment_rule_weights (kind, indicator, weight)
SELECT $1::text, i, w FROM unnest($2::text[], $3::numeric[]) AS t (i, w)

-- $1 kind, $2 version, $3 rule (JSON {indicators, bands}), $4 updated_at, $5 username.
-- name: history
INSERT INTO assessment_rule_history (kind, version, rule, updated_at, updated_by) VALUES ($1::text, $2::int, $3::jsonb, $4::timestamptz, $5::text)

-- Who last changed a rule (for the 409). $1 kind.
-- name: current
SELECT version, updated_at, updated_by FROM assessment_rules WHERE kind = $1::text

-- The department or worker a breakdown names (none: 404). $1 id.
-- name: department
SELECT id::text AS code FROM departments WHERE id = $1::int
-- name: worker
SELECT id::text AS code FROM workers WHERE id = $1::int
