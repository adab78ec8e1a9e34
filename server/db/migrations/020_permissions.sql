-- Roles and permissions (issue 10): the roles of 三员 and of the command hall, and the permission
-- matrix as data. server/auth/permissions.ts holds the catalog of permissions and the separation
-- of the three administrators; the security admin edits this table through /api/admin/permissions.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN (
  'admin', 'security_admin', 'auditor', 'leader', 'acceptor', 'shift_leader', 'dispatcher',
  'supervisor', 'handler', 'worker', 'citizen', 'wall'));

CREATE TABLE role_permissions (
  role        text NOT NULL,
  permission  text NOT NULL,
  PRIMARY KEY (role, permission)
);

-- The default matrix (docs/permissions.md). The system admin holds no case or personal-data
-- permission; the security admin only the matrix; the auditor only the audit log. No role reads
-- personal data unmasked until the security admin grants people.unmask.
INSERT INTO role_permissions (role, permission)
SELECT r.role, unnest(r.perms) FROM (VALUES
  ('admin', ARRAY['map.base', 'map.objects', 'data.manage', 'data.export', 'config.manage', 'users.manage', 'devices.manage', 'sensors.manage']),
  ('security_admin', ARRAY['permissions.manage']),
  ('auditor', ARRAY['audit.read']),
  ('leader', ARRAY['map.base', 'map.objects', 'cases.read', 'cases.act', 'workers.read', 'people.read', 'stats.read', 'wall.view', 'screens.push', 'alarms.read', 'alarms.handle', 'cameras.view']),
  ('acceptor', ARRAY['map.base', 'map.objects', 'cases.read', 'cases.act', 'cases.import', 'people.read', 'stats.read', 'alarms.read', 'cameras.view']),
  ('shift_leader', ARRAY['map.base', 'map.objects', 'cases.read', 'cases.act', 'cases.import', 'workers.read', 'people.read', 'stats.read', 'wall.view', 'screens.push', 'alarms.read', 'alarms.handle', 'cameras.view', 'cameras.ptz', 'data.export']),
  ('dispatcher', ARRAY['map.base', 'map.objects', 'cases.read', 'cases.act', 'cases.import', 'workers.read', 'positions.report', 'positions.relay', 'people.read', 'stats.read', 'wall.view', 'screens.push', 'alarms.read', 'alarms.handle', 'cameras.view', 'cameras.ptz', 'sensors.manage', 'data.export']),
  ('supervisor', ARRAY['map.base', 'map.objects', 'cases.read', 'cases.act', 'workers.read', 'people.read', 'stats.read', 'wall.view', 'alarms.read', 'alarms.handle', 'cameras.view']),
  ('handler', ARRAY['map.base', 'map.objects', 'cases.read', 'cases.act', 'cameras.view']),
  ('worker', ARRAY['map.base', 'map.objects', 'cases.read', 'cases.act', 'positions.report', 'people.read']),
  ('citizen', ARRAY[]::text[]),
  ('wall', ARRAY['map.base', 'map.objects', 'cases.read', 'workers.read', 'stats.read', 'wall.view', 'alarms.read', 'cameras.view'])
) AS r(role, perms);
