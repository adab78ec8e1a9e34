-- The case workflow (server/cases/workflow.ts holds the table of stages × actions × duties):
-- reported → accepted (受理) → verified (核实) → registered (立案) | cancelled (注销) → dispatched
-- (派遣) → in_progress (处置中) → handled (反馈) → checked (核查通过) → closed (结案) → evaluated (评价);
-- merged: a duplicate folded into another case.
-- The old stages 'handled' (处置) and 'feedback' (反馈) become 'in_progress' and 'handled', and
-- their timestamp columns follow: handled_at → in_progress_at, feedback_at → handled_at.

-- The map views read c.*: they are recreated after the renames (same definitions).
DROP VIEW IF EXISTS open_case_map;
DROP VIEW IF EXISTS case_map;

ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_stage_check;
ALTER TABLE cases RENAME COLUMN handled_at TO in_progress_at;
ALTER TABLE cases RENAME COLUMN feedback_at TO handled_at;
UPDATE cases SET stage = CASE stage WHEN 'handled' THEN 'in_progress' WHEN 'feedback' THEN 'handled' ELSE stage END
 WHERE stage IN ('handled', 'feedback');
ALTER TABLE cases ADD CONSTRAINT cases_stage_check CHECK (stage IN (
  'reported', 'accepted', 'verified', 'registered', 'cancelled', 'dispatched', 'in_progress',
  'handled', 'checked', 'closed', 'evaluated', 'merged'));

ALTER TABLE cases
  ADD COLUMN registered_at     timestamptz,
  -- Optimistic concurrency: every action checks the version the client saw and bumps it.
  ADD COLUMN version           integer NOT NULL DEFAULT 1,
  ADD COLUMN stage_started_at  timestamptz,
  ADD COLUMN stage_deadline_at timestamptz,
  ADD COLUMN sla_level         text CHECK (sla_level IN ('red', 'orange', 'yellow', 'blue', 'green')),
  ADD COLUMN suspended_at      timestamptz,
  ADD COLUMN merged_into       integer REFERENCES cases (id),
  ADD COLUMN escalated_at      timestamptz,
  ADD COLUMN urge_count        integer NOT NULL DEFAULT 0,
  ADD COLUMN supervise_count   integer NOT NULL DEFAULT 0,
  ADD COLUMN extension_hours   numeric NOT NULL DEFAULT 0,
  ADD COLUMN dispatch_acked_at timestamptz,
  -- When the dispatcher was told that a dispatch went unacknowledged (server/cases/ack-job.ts); once per dispatch.
  ADD COLUMN dispatch_ack_noticed_at timestamptz;

-- Cases recorded before registration was a stage of its own were registered when verified.
UPDATE cases SET registered_at = verified_at
 WHERE verified_at IS NOT NULL AND stage NOT IN ('reported', 'accepted', 'verified', 'cancelled');
UPDATE cases SET stage_started_at = CASE stage
    WHEN 'reported' THEN reported_at WHEN 'accepted' THEN accepted_at WHEN 'verified' THEN verified_at
    WHEN 'registered' THEN registered_at WHEN 'dispatched' THEN dispatched_at WHEN 'in_progress' THEN in_progress_at
    WHEN 'handled' THEN handled_at WHEN 'checked' THEN checked_at WHEN 'closed' THEN closed_at
    WHEN 'evaluated' THEN evaluated_at WHEN 'cancelled' THEN closed_at END;
CREATE INDEX cases_stage_deadline_idx ON cases (stage_deadline_at) WHERE stage_deadline_at IS NOT NULL;
CREATE INDEX cases_worker_idx ON cases (worker_id);
CREATE INDEX cases_department_idx ON cases (department_id);

-- The record of every action: who, in which duty, from which stage to which, with what.
ALTER TABLE case_actions
  ADD COLUMN role            text,
  ADD COLUMN from_stage      text,
  ADD COLUMN to_stage        text,
  ADD COLUMN attachments     jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN idempotency_key text,
  ADD COLUMN payload         jsonb NOT NULL DEFAULT '{}';
-- A phone that retries a field action with the same key finds the first one here.
CREATE UNIQUE INDEX case_actions_idempotency_idx ON case_actions (case_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX case_actions_action_idx ON case_actions (action, at);
-- Action names of the record made before this table: handle (处置) is now start, feedback is handle,
-- a failed check (recorded as return) is check_fail, a passed one check_pass.
UPDATE case_actions SET action = CASE action
    WHEN 'handle' THEN 'start' WHEN 'feedback' THEN 'handle' WHEN 'check' THEN 'check_pass' WHEN 'return' THEN 'check_fail'
    WHEN 'extend_request' THEN 'request_extension' WHEN 'extend_approve' THEN 'approve_extension' ELSE action END
 WHERE action IN ('handle', 'feedback', 'check', 'return', 'extend_request', 'extend_approve');

-- Append-only (处处留痕): the record is never changed or deleted (a case deleted with its record
-- goes through ON DELETE CASCADE, which is the case's removal, not an edit; cleanup of test rows uses it).
CREATE FUNCTION case_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM cases WHERE id = OLD.case_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'case_actions is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER case_actions_append_only BEFORE UPDATE OR DELETE ON case_actions
  FOR EACH ROW EXECUTE FUNCTION case_actions_append_only();

-- Who answers for a category (data/case_categories.csv `dept`): a department code, 'part' (the
-- part's own departments: owner first, then territory) or 'street' (the street office: territory).
-- Filled here for databases seeded before the column existed; the seeder writes it for new ones.
ALTER TABLE case_categories ADD COLUMN dept text;
UPDATE case_categories c SET dept = v.dept FROM (VALUES
  ('E0101', 'CGZF'), ('E0102', 'HWZY'), ('E0103', 'HWZY'), ('E0104', 'HWZY'), ('E0105', 'SWJ'), ('E0106', 'LHYH'),
  ('E0107', 'JJZD'), ('E0108', 'street'), ('E0109', 'street'), ('E0201', 'HWZY'), ('E0202', 'LHSR'), ('E0203', 'CGZF'),
  ('E0204', 'CGZF'), ('E0301', 'STHJ'), ('E0302', 'STHJ'), ('E0303', 'HWZY'), ('E0304', 'CGZF'), ('E0305', 'JSGL'),
  ('E0401', 'SZYH'), ('E0402', 'ZLS'), ('E0403', 'RQGS'), ('E0404', 'PSGS'), ('E0501', 'CGZF'), ('E0502', 'CGZF'),
  ('E0503', 'CGZF'), ('E0504', 'JJZD'), ('E0505', 'street'), ('E0506', 'CGZF'), ('E0507', 'STHJ'), ('E0508', 'street'),
  ('E0601', 'SFS'), ('E0602', 'FGJ'), ('E0603', 'SFS'), ('E0604', 'SFS'), ('E0605', 'street'), ('E0701', 'GAFJ'),
  ('E0801', 'XFJY'), ('E0802', 'street'), ('E0803', 'FGJ'), ('E0804', 'XFJY'), ('E0805', 'FGJ'), ('E0901', 'street'),
  ('E0902', 'GAFJ'), ('P0101', 'part'), ('P0102', 'part'), ('P0103', 'part'), ('P0104', 'part'), ('P0105', 'part'),
  ('P0106', 'part'), ('P0107', 'part'), ('P0110', 'part'), ('P0111', 'part'), ('P0113', 'part'), ('P0116', 'part'),
  ('P0117', 'part'), ('P0118', 'part'), ('P0121', 'part'), ('P0122', 'part'), ('P0123', 'part'), ('P0126', 'part'),
  ('P0201', 'part'), ('P0203', 'part'), ('P0205', 'part'), ('P0206', 'part'), ('P0207', 'part'), ('P0208', 'part'),
  ('P0209', 'part'), ('P0211', 'part'), ('P0213', 'part'), ('P0214', 'part'), ('P0301', 'part'), ('P0304', 'part'),
  ('P0305', 'part'), ('P0306', 'part'), ('P0307', 'part'), ('P0308', 'part'), ('P0401', 'part'), ('P0402', 'part'),
  ('P0403', 'part'), ('P0405', 'part'), ('P0406', 'part'), ('P0407', 'part'), ('P0501', 'part'), ('P0502', 'part')
) AS v(code, dept) WHERE c.code = v.code;

-- Workflow duties (职责) of users, and the handling department a user belongs to.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN (
  'admin', 'security_admin', 'auditor', 'dispatcher', 'leader', 'supervisor', 'worker', 'wall', 'handler'));
ALTER TABLE users
  ADD COLUMN duties        text[] NOT NULL DEFAULT '{}'
    CHECK (duties <@ ARRAY['acceptor', 'shift_leader', 'dispatcher', 'handler', 'supervisor', 'leader', 'reporter']::text[]),
  ADD COLUMN department_id integer REFERENCES departments (id);
-- Existing accounts get the duties of their role (the demo dispatcher holds 受理, 值班长 and 派遣).
UPDATE users SET duties = CASE role
    WHEN 'dispatcher' THEN ARRAY['acceptor', 'shift_leader', 'dispatcher']
    WHEN 'supervisor' THEN ARRAY['supervisor', 'reporter']
    WHEN 'leader' THEN ARRAY['leader']
    WHEN 'worker' THEN ARRAY['reporter', 'handler']
    ELSE '{}'::text[] END;

-- sla_state follows the five-colour level the server keeps in working time (server/cases/deadlines.ts,
-- the cases:deadlines job): red/orange overdue, yellow due soon. A case the job has not levelled yet
-- (sla_level NULL) falls back to clock time against deadline_at.
CREATE VIEW case_map AS
SELECT c.*,
       CASE
         WHEN c.stage IN ('closed', 'evaluated', 'cancelled', 'merged') THEN 'closed'
         WHEN c.sla_level IN ('red', 'orange') THEN 'overdue'
         WHEN c.sla_level = 'yellow' THEN 'due_soon'
         WHEN c.sla_level IS NOT NULL THEN 'on_time'
         WHEN c.overdue OR c.deadline_at < now() THEN 'overdue'
         WHEN c.deadline_at IS NOT NULL
              AND c.deadline_at - now() < (c.deadline_at - c.reported_at) / 4 THEN 'due_soon'
         ELSE 'on_time'
       END AS sla_state
FROM cases c;

CREATE VIEW open_case_map AS
SELECT * FROM case_map WHERE sla_state <> 'closed';
