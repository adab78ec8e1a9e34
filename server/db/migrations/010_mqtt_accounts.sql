-- Who may connect to the embedded MQTT broker, and what they may do (server/ingest/accounts.ts).
--   device:  publishes for itself only; its username is its sensor code (onegrid/sensors/<username>/…)
--   gateway: publishes for the devices it covers: those in device_codes, and those whose grid code
--            starts with scope_prefix ('*': every device, e.g. the simulator)
--   service: reads (subscribes to onegrid/sensors/#, also as a $share/… shared subscription), never publishes
-- Passwords are argon2id hashes; a disabled account cannot connect.
CREATE TABLE IF NOT EXISTS mqtt_accounts (
  username      text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9_.-]{1,64}$'),
  kind          text NOT NULL CHECK (kind IN ('device', 'gateway', 'service')),
  password_hash text NOT NULL,
  scope_prefix  text CHECK (kind = 'gateway' OR scope_prefix IS NULL),
  device_codes  text[] NOT NULL DEFAULT '{}' CHECK (kind = 'gateway' OR cardinality(device_codes) = 0),
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
