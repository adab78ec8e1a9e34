-- Core schema: the admin/grid hierarchy, unit grids, users and sessions.
-- Geometry is stored in WGS84 (EPSG:4326) and, for tiles, in a generated Web Mercator
-- column with its own GiST index so tile envelopes (EPSG:3857) use the index directly.

CREATE TABLE admin_units (
  code        text PRIMARY KEY CHECK (code ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12})$'),
  level       text NOT NULL CHECK (level IN ('province', 'city', 'district', 'street', 'community')),
  name        text NOT NULL,
  parent_code text REFERENCES admin_units (code),
  geom        geometry(MultiPolygon, 4326),
  geom_3857   geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED
);
CREATE INDEX admin_units_parent_idx ON admin_units (parent_code);
CREATE INDEX admin_units_geom_idx ON admin_units USING gist (geom);
CREATE INDEX admin_units_geom_3857_idx ON admin_units USING gist (geom_3857);

-- Unit grids (单元网格): 15 digits = community (12) + grid number (3), numbered west→east,
-- north→south within their community.
CREATE TABLE grids (
  id             serial PRIMARY KEY,
  code           text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{15}$'),
  name           text NOT NULL,
  community_code text NOT NULL REFERENCES admin_units (code),
  street_code    text NOT NULL REFERENCES admin_units (code),
  district_code  text NOT NULL REFERENCES admin_units (code),
  area_m2        double precision NOT NULL,
  geom           geometry(MultiPolygon, 4326) NOT NULL,
  geom_3857      geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  CHECK (left(code, 12) = community_code)
);
CREATE INDEX grids_geom_idx ON grids USING gist (geom);
CREATE INDEX grids_geom_3857_idx ON grids USING gist (geom_3857);
CREATE INDEX grids_community_idx ON grids (community_code);

CREATE TABLE users (
  id            serial PRIMARY KEY,
  username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{2,64}$'),
  display_name  text NOT NULL,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'security_admin', 'auditor', 'dispatcher', 'leader', 'supervisor', 'worker', 'wall')),
  -- The node of the admin hierarchy this user may see (分级权限).
  scope_code    text NOT NULL REFERENCES admin_units (code),
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Sessions: only a SHA-256 of the token is stored, so a database dump cannot be replayed.
CREATE TABLE sessions (
  token_hash  text PRIMARY KEY,
  user_id     integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  user_agent  text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
