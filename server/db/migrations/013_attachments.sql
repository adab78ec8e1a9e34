-- Photos uploaded with a case report or a workflow action (server/cases/attachments.ts). The file
-- lives under ONEGRID_ATTACHMENTS_DIR by its generated id; the client's file name is kept as text
-- only. case_actions.attachments ([{ id, type }]) refer to these ids.
CREATE TABLE attachments (
  id            text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22}$'),
  -- The uploader may read it before any case refers to it; an account removed later leaves the photo with its cases.
  uploader_id   integer REFERENCES users (id) ON DELETE SET NULL,
  type          text NOT NULL CHECK (type IN ('image/jpeg', 'image/png', 'image/webp')),
  size          integer NOT NULL CHECK (size > 0),
  width         integer NOT NULL,
  height        integer NOT NULL,
  sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  original_name text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id);
-- Who may read an attachment: the scope of a case whose actions refer to it (containment on the jsonb array).
CREATE INDEX case_actions_attachments_idx ON case_actions USING gin (attachments jsonb_path_ops);
