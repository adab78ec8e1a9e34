-- The city the hall watches: "人、地、事、物、情、组织" on one map.
-- Every located object stores WGS84 geometry plus a generated EPSG:3857 copy for tiles, and
-- the code of the unit grid that contains it (grid_code; its prefixes give community, street
-- and district). Objects outside every grid keep grid_code NULL.
-- external_id makes re-imports idempotent (one row per source id); synthetic marks rows made
-- by the scale generator, never the demo city.

-- Admin units: keep the NBS statistical code (the primary key) and the GB/T 2260 code; they
-- differ for development zones.
ALTER TABLE admin_units ADD COLUMN gb_code text;
ALTER TABLE admin_units ADD COLUMN synthetic boolean NOT NULL DEFAULT false;

CREATE TABLE departments (
  id        serial PRIMARY KEY,
  code      text NOT NULL UNIQUE,
  name      text NOT NULL,
  kind      text NOT NULL CHECK (kind IN ('owner', 'maintainer', 'functional', 'street_office', 'other')),
  phone     text
);

CREATE TABLE party_branches (
  id              serial PRIMARY KEY,
  name            text NOT NULL,
  secretary       text NOT NULL,
  community_code  text NOT NULL REFERENCES admin_units (code)
);

ALTER TABLE grids ADD COLUMN party_branch_id integer REFERENCES party_branches (id);
ALTER TABLE grids ADD COLUMN synthetic boolean NOT NULL DEFAULT false;
ALTER TABLE grids ADD COLUMN label_point geometry(Point, 4326);
ALTER TABLE grids ADD COLUMN label_3857 geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(label_point, 3857)) STORED;
CREATE INDEX grids_label_3857_idx ON grids USING gist (label_3857);

-- Grid workers, inspectors, supervisors and grid leaders (网格员/巡查员/监督员/网格长).
CREATE TABLE workers (
  id           serial PRIMARY KEY,
  code         text NOT NULL UNIQUE,
  name         text NOT NULL,
  phone        text,
  role         text NOT NULL CHECK (role IN ('grid_leader', 'grid_worker', 'inspector', 'supervisor')),
  grid_code    text REFERENCES grids (code),
  department_id integer REFERENCES departments (id),
  user_id      integer REFERENCES users (id),
  duty_status  text NOT NULL DEFAULT 'off_duty' CHECK (duty_status IN ('on_duty', 'off_duty', 'busy', 'leave')),
  last_seen    timestamptz,
  geom         geometry(Point, 4326),
  geom_3857    geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  synthetic    boolean NOT NULL DEFAULT false
);
CREATE INDEX workers_grid_idx ON workers (grid_code);
CREATE INDEX workers_geom_3857_idx ON workers USING gist (geom_3857);

-- The team of each grid: who is 网格长, 网格员, 监督员 there.
CREATE TABLE grid_team (
  grid_code  text NOT NULL REFERENCES grids (code) ON DELETE CASCADE,
  worker_id  integer NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('grid_leader', 'grid_worker', 'supervisor')),
  PRIMARY KEY (grid_code, worker_id, role)
);

CREATE TABLE worker_positions (
  worker_id  integer NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
  ts         timestamptz NOT NULL,
  geom       geometry(Point, 4326) NOT NULL,
  PRIMARY KEY (worker_id, ts)
);
CREATE INDEX worker_positions_ts_idx ON worker_positions (ts);

CREATE TABLE buildings (
  id                serial PRIMARY KEY,
  external_id       text NOT NULL UNIQUE,
  osm_id            bigint,
  name              text,
  name_en           text,
  kind              text,
  use               text,
  address           text,
  height_m          double precision NOT NULL CHECK (height_m > 0),
  height_estimated  boolean NOT NULL DEFAULT false,
  levels            integer,
  grid_code         text REFERENCES grids (code),
  geom              geometry(MultiPolygon, 4326) NOT NULL,
  geom_3857         geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  synthetic         boolean NOT NULL DEFAULT false
);
CREATE INDEX buildings_geom_idx ON buildings USING gist (geom);
CREATE INDEX buildings_geom_3857_idx ON buildings USING gist (geom_3857);
CREATE INDEX buildings_grid_idx ON buildings (grid_code);

-- 实有房屋: houses (flats, shops) in buildings; 出租屋 flagged.
CREATE TABLE houses (
  id           serial PRIMARY KEY,
  building_id  integer NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
  unit_no      text NOT NULL,
  floor        integer NOT NULL,
  area_m2      double precision NOT NULL,
  use          text NOT NULL CHECK (use IN ('residential', 'commercial', 'office', 'mixed')),
  is_rental    boolean NOT NULL DEFAULT false,
  grid_code    text REFERENCES grids (code),
  UNIQUE (building_id, unit_no)
);
CREATE INDEX houses_grid_idx ON houses (grid_code);

-- 实有人口: sensitive — masked by role, audited on read.
CREATE TABLE people (
  id             serial PRIMARY KEY,
  house_id       integer NOT NULL REFERENCES houses (id) ON DELETE CASCADE,
  name           text NOT NULL,
  id_number      text NOT NULL,
  phone          text,
  gender         text NOT NULL CHECK (gender IN ('M', 'F')),
  birth_year     integer NOT NULL,
  category       text NOT NULL CHECK (category IN ('registered', 'floating', 'overseas')),
  special_group  text CHECK (special_group IN ('released', 'community_correction', 'drug', 'mental', 'petition')),
  risk_level     smallint CHECK (risk_level BETWEEN 0 AND 5),
  grid_code      text REFERENCES grids (code)
);
CREATE INDEX people_house_idx ON people (house_id);
CREATE INDEX people_grid_idx ON people (grid_code);

-- 社会组织 / 两新组织.
CREATE TABLE organizations (
  id           serial PRIMARY KEY,
  external_id  text NOT NULL UNIQUE,
  name         text NOT NULL,
  kind         text NOT NULL,
  address      text,
  contact      text,
  grid_code    text REFERENCES grids (code),
  geom         geometry(Point, 4326) NOT NULL,
  geom_3857    geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED
);
CREATE INDEX organizations_geom_3857_idx ON organizations USING gist (geom_3857);

-- 重点场所: schools, markets, hazardous sites, construction sites … with a five-colour risk.
CREATE TABLE key_places (
  id           serial PRIMARY KEY,
  external_id  text NOT NULL UNIQUE,
  name         text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('school', 'kindergarten', 'hospital', 'market', 'hazardous', 'construction', 'transport_hub', 'venue', 'government', 'religious', 'other')),
  risk_color   text NOT NULL DEFAULT 'green' CHECK (risk_color IN ('red', 'orange', 'yellow', 'blue', 'green')),
  grid_code    text REFERENCES grids (code),
  geom         geometry(Point, 4326) NOT NULL,
  geom_3857    geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED
);
CREATE INDEX key_places_geom_3857_idx ON key_places USING gist (geom_3857);

-- GB/T 30428.2 part classes, as data: major 2 digits + minor 2 digits.
CREATE TABLE part_classes (
  code        text PRIMARY KEY CHECK (code ~ '^[0-9]{4}$'),
  major_code  text NOT NULL,
  major_name  text NOT NULL,
  minor_name  text NOT NULL
);

-- 部件: 16-digit code = county 6 + major 2 + minor 2 + sequence 6.
CREATE TABLE parts (
  id                serial PRIMARY KEY,
  code              text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{16}$'),
  external_id       text UNIQUE,
  class_code        text NOT NULL REFERENCES part_classes (code),
  name              text NOT NULL,
  owner_dept_id     integer REFERENCES departments (id),
  property_unit     text,
  maintainer_dept_id integer REFERENCES departments (id),
  state             text NOT NULL DEFAULT 'intact' CHECK (state IN ('intact', 'damaged', 'lost', 'occupied')),
  first_date        date,
  changed_at        date,
  source            text,
  note              text,
  grid_code         text REFERENCES grids (code),
  geom              geometry(Point, 4326) NOT NULL,
  geom_3857         geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  synthetic         boolean NOT NULL DEFAULT false,
  CHECK (substr(code, 7, 4) = class_code)
);
CREATE INDEX parts_geom_3857_idx ON parts USING gist (geom_3857);
CREATE INDEX parts_grid_idx ON parts (grid_code);

-- 物联感知: sensors with thresholds (JSON: { warn, alarm } in the sensor's unit).
CREATE TABLE sensors (
  id           serial PRIMARY KEY,
  code         text NOT NULL UNIQUE,
  external_id  text UNIQUE,
  type         text NOT NULL CHECK (type IN ('smoke', 'gas', 'noise', 'dust', 'water_level', 'cover_tilt', 'structural', 'air_quality')),
  name         text NOT NULL,
  unit         text NOT NULL,
  thresholds   jsonb NOT NULL DEFAULT '{}',
  status       text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'alarm')),
  last_value   double precision,
  last_seen    timestamptz,
  installed_on date,
  grid_code    text REFERENCES grids (code),
  geom         geometry(Point, 4326) NOT NULL,
  geom_3857    geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  synthetic    boolean NOT NULL DEFAULT false
);
CREATE INDEX sensors_geom_3857_idx ON sensors USING gist (geom_3857);
CREATE INDEX sensors_grid_idx ON sensors (grid_code);

-- Hourly history (downsampled); live readings arrive over MQTT later.
CREATE TABLE sensor_readings (
  sensor_id  integer NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
  ts         timestamptz NOT NULL,
  value      double precision NOT NULL,
  PRIMARY KEY (sensor_id, ts)
);

CREATE TABLE cameras (
  id           serial PRIMARY KEY,
  code         text NOT NULL UNIQUE,
  external_id  text UNIQUE,
  name         text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('ptz', 'fixed')),
  heading_deg  double precision NOT NULL CHECK (heading_deg >= 0 AND heading_deg < 360),
  fov_deg      double precision NOT NULL CHECK (fov_deg > 0 AND fov_deg <= 360),
  range_m      double precision NOT NULL CHECK (range_m > 0),
  stream_url   text,
  status       text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'fault')),
  grid_code    text REFERENCES grids (code),
  geom         geometry(Point, 4326) NOT NULL,
  geom_3857    geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  synthetic    boolean NOT NULL DEFAULT false
);
CREATE INDEX cameras_geom_3857_idx ON cameras USING gist (geom_3857);
CREATE INDEX cameras_grid_idx ON cameras (grid_code);

-- Event and part case categories (GB/T 30428 + GB/T 31000 kinds), with time limits in
-- working hours per stage, as data.
CREATE TABLE case_categories (
  code         text PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('event', 'part')),
  major_code   text NOT NULL,
  major_name   text NOT NULL,
  minor_name   text NOT NULL,
  limits_hours jsonb NOT NULL DEFAULT '{}'
);

-- 案件: stage timestamps, deadlines, outcome; actions record every step (处处留痕).
CREATE TABLE cases (
  id             serial PRIMARY KEY,
  code           text NOT NULL UNIQUE,
  category_code  text NOT NULL REFERENCES case_categories (code),
  source         text NOT NULL CHECK (source IN ('patrol', 'public', 'hotline', 'sensor', 'video', 'assigned')),
  urgency        text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent', 'critical')),
  stage          text NOT NULL CHECK (stage IN ('reported', 'accepted', 'verified', 'dispatched', 'handled', 'feedback', 'checked', 'closed', 'evaluated', 'cancelled')),
  description    text NOT NULL,
  address        text,
  grid_code      text REFERENCES grids (code),
  department_id  integer REFERENCES departments (id),
  worker_id      integer REFERENCES workers (id),
  reporter       text,
  reported_at    timestamptz NOT NULL,
  accepted_at    timestamptz,
  verified_at    timestamptz,
  dispatched_at  timestamptz,
  handled_at     timestamptz,
  feedback_at    timestamptz,
  checked_at     timestamptz,
  closed_at      timestamptz,
  evaluated_at   timestamptz,
  deadline_at    timestamptz,
  overdue        boolean NOT NULL DEFAULT false,
  rework_count   integer NOT NULL DEFAULT 0,
  outcome        text,
  satisfaction   smallint CHECK (satisfaction BETWEEN 1 AND 5),
  geom           geometry(Point, 4326) NOT NULL,
  geom_3857      geometry(Point, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED
);
CREATE INDEX cases_geom_3857_idx ON cases USING gist (geom_3857);
CREATE INDEX cases_grid_idx ON cases (grid_code);
CREATE INDEX cases_reported_idx ON cases (reported_at);
CREATE INDEX cases_stage_idx ON cases (stage);

CREATE TABLE case_actions (
  id         serial PRIMARY KEY,
  case_id    integer NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
  action     text NOT NULL,
  actor      text NOT NULL,
  at         timestamptz NOT NULL,
  note       text,
  geom       geometry(Point, 4326)
);
CREATE INDEX case_actions_case_idx ON case_actions (case_id, at);

-- Base map from the project's own data: roads and water (OSM), for the offline basemap.
CREATE TABLE roads (
  id           serial PRIMARY KEY,
  external_id  text NOT NULL UNIQUE,
  name         text,
  kind         text NOT NULL,
  kind_detail  text,
  geom         geometry(MultiLineString, 4326) NOT NULL,
  geom_3857    geometry(MultiLineString, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED
);
CREATE INDEX roads_geom_3857_idx ON roads USING gist (geom_3857);

CREATE TABLE water (
  id           serial PRIMARY KEY,
  external_id  text NOT NULL UNIQUE,
  name         text,
  kind         text NOT NULL,
  geom         geometry(MultiPolygon, 4326) NOT NULL,
  geom_3857    geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED
);
CREATE INDEX water_geom_3857_idx ON water USING gist (geom_3857);
