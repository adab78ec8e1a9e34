-- Assessment (考核, issue 9): the rules that turn the indicators of GET /api/stats/indicators into
-- a score and a grade, per kind of unit, as data an admin edits (PUT /api/admin/assessment-rules/:kind).
-- How a score is computed from a rule: docs/assessment.md; the code: server/assessment/score.ts.
--
-- One rule per kind: grade bands (the lowest score of each grade; E is the floor, 0) and, in
-- assessment_rule_weights, the indicators it scores with their weights (they add up to 100; the
-- server checks that, and that every indicator is one it can score). `version` starts at 1 and
-- goes up by one with every change (optimistic concurrency: a PUT names the version it edited).
CREATE TABLE assessment_rules (
  kind       text PRIMARY KEY CHECK (kind IN ('district', 'street', 'community', 'department', 'worker')),
  grade_a    numeric(4, 1) NOT NULL,
  grade_b    numeric(4, 1) NOT NULL,
  grade_c    numeric(4, 1) NOT NULL,
  grade_d    numeric(4, 1) NOT NULL,
  grade_e    numeric(4, 1) NOT NULL DEFAULT 0,
  version    integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The admin's username; NULL for the defaults below.
  updated_by text,
  CHECK (grade_a <= 100 AND grade_a > grade_b AND grade_b > grade_c AND grade_c > grade_d AND grade_d > grade_e AND grade_e = 0)
);

CREATE TABLE assessment_rule_weights (
  kind      text NOT NULL REFERENCES assessment_rules (kind) ON DELETE CASCADE,
  -- A key of GET /api/stats/indicators that has a rate (server/assessment/score.ts SCORABLE).
  indicator text NOT NULL,
  weight    numeric(4, 1) NOT NULL CHECK (weight >= 0 AND weight <= 100),
  PRIMARY KEY (kind, indicator)
);

-- Every version of every rule as it was applied (the defaults as version 1), so a score
-- published last month can be traced to the rule it was computed with.
CREATE TABLE assessment_rule_history (
  kind       text NOT NULL REFERENCES assessment_rules (kind) ON DELETE CASCADE,
  version    integer NOT NULL,
  rule       jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  updated_by text,
  PRIMARY KEY (kind, version)
);

-- Defaults (docs/assessment.md says why): the usual bands 优秀 A ≥ 90, 良好 B ≥ 80, 合格 C ≥ 70,
-- 基本合格 D ≥ 60, 不合格 E below.
INSERT INTO assessment_rules (kind, grade_a, grade_b, grade_c, grade_d, grade_e) VALUES
  ('district', 90, 80, 70, 60, 0),
  ('street', 90, 80, 70, 60, 0),
  ('community', 90, 80, 70, 60, 0),
  ('department', 90, 80, 70, 60, 0),
  ('worker', 90, 80, 70, 60, 0);

-- Areas (district, street, community) answer for the whole chain in their territory: cases
-- registered and dispatched in time, closed and closed on time, not overdue, not reworked, and
-- citizens satisfied. Handling departments and workers answer for the handling itself.
INSERT INTO assessment_rule_weights (kind, indicator, weight)
SELECT k.kind, w.indicator, w.weight
  FROM (VALUES ('district'), ('street'), ('community')) AS k (kind),
       (VALUES ('registration', 10), ('onTimeDispatch', 10), ('closure', 15), ('onTimeClosure', 20),
               ('overdue', 15), ('rework', 10), ('satisfaction', 20)) AS w (indicator, weight);
INSERT INTO assessment_rule_weights (kind, indicator, weight) VALUES
  ('department', 'disposal', 20), ('department', 'onTimeDisposal', 30), ('department', 'overdue', 20),
  ('department', 'rework', 15), ('department', 'satisfaction', 15),
  ('worker', 'disposal', 20), ('worker', 'onTimeDisposal', 25), ('worker', 'overdue', 20),
  ('worker', 'rework', 20), ('worker', 'satisfaction', 15);

INSERT INTO assessment_rule_history (kind, version, rule, updated_at, updated_by)
SELECT r.kind, r.version,
       jsonb_build_object(
         'indicators', (SELECT jsonb_agg(jsonb_build_object('indicator', w.indicator, 'weight', w.weight) ORDER BY w.indicator)
                          FROM assessment_rule_weights w WHERE w.kind = r.kind),
         'bands', jsonb_build_object('A', r.grade_a, 'B', r.grade_b, 'C', r.grade_c, 'D', r.grade_d, 'E', r.grade_e)),
       r.updated_at, r.updated_by
  FROM assessment_rules r;
