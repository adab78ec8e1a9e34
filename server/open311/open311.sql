-- Open311 GeoReport v2 (server/open311/routes.ts): services are case categories, service requests
-- are cases of source 'public' — the only ones the public API shows, and never their reporter.

-- name: services
-- Every case category. Output: code, kind, major_code, major_name, minor_name.
SELECT code, kind, major_code, major_name, minor_name FROM case_categories ORDER BY code;

-- name: service
-- One category. $1 code. Output as `services`.
SELECT code, kind, major_code, major_name, minor_name FROM case_categories WHERE code = $1;

-- name: address
-- A place we know by the words a citizen types: a building's address or name, an organization's
-- address or name, or a key place's name, equal to $1 ignoring case and blanks. Buildings first,
-- then organizations, then key places; the oldest row of each. Output: lon, lat, label.
SELECT lon, lat, label FROM (
  SELECT 1 AS rank, b.id, ST_X(p) AS lon, ST_Y(p) AS lat, coalesce(b.address, b.name) AS label
    FROM buildings b CROSS JOIN LATERAL ST_PointOnSurface(b.geom) AS p
   WHERE regexp_replace(lower(b.address), '\s+', '', 'g') = $1 OR regexp_replace(lower(b.name), '\s+', '', 'g') = $1
  UNION ALL
  SELECT 2, o.id, ST_X(o.geom), ST_Y(o.geom), coalesce(o.address, o.name)
    FROM organizations o
   WHERE regexp_replace(lower(o.address), '\s+', '', 'g') = $1 OR regexp_replace(lower(o.name), '\s+', '', 'g') = $1
  UNION ALL
  SELECT 3, k.id, ST_X(k.geom), ST_Y(k.geom), k.name
    FROM key_places k
   WHERE regexp_replace(lower(k.name), '\s+', '', 'g') = $1
) found
ORDER BY rank, id
LIMIT 1;

-- name: requests
-- Public service requests, newest first.
-- $1 case codes text[] (null: any; when given the other filters are null), $2 category codes text[]
-- (null: any), $3 statuses text[] of open/closed (null: any), $4 reported from (timestamptz, null:
-- open), $5 reported until (null: open), $6 limit.
-- Output: code, stage, category_code, service_name, description, agency, reported_at, updated_at,
-- deadline_at, address, lon, lat, merged_into_code, media_url (the report's attachment of type
-- text/uri-list: a citizen's media_url is kept as a link, see routes.ts).
-- The cases are picked first and only those are looked up in the record (one index range each).
WITH picked AS (
  SELECT c.id, c.code, c.stage, c.category_code, c.description, c.department_id, c.merged_into, c.reported_at,
         c.stage_started_at, c.closed_at, c.deadline_at, c.address, c.geom
    FROM cases c
   WHERE c.source = 'public'
     AND ($1::text[] IS NULL OR c.code = ANY($1::text[]))
     AND ($2::text[] IS NULL OR c.category_code = ANY($2::text[]))
     AND ($3::text[] IS NULL OR (CASE WHEN c.stage IN ('closed', 'evaluated', 'cancelled', 'merged') THEN 'closed' ELSE 'open' END) = ANY($3::text[]))
     AND ($4::timestamptz IS NULL OR c.reported_at >= $4::timestamptz)
     AND ($5::timestamptz IS NULL OR c.reported_at <= $5::timestamptz)
   ORDER BY c.reported_at DESC, c.id DESC
   LIMIT $6
)
SELECT c.code, c.stage, c.category_code, cc.minor_name AS service_name, c.description,
       d.name AS agency, c.reported_at,
       -- Closed: when it was closed (as the spec asks); else its last recorded action.
       CASE WHEN c.stage IN ('closed', 'evaluated', 'cancelled', 'merged') AND c.closed_at IS NOT NULL THEN c.closed_at
            ELSE greatest(c.reported_at, c.stage_started_at, act.last_at) END AS updated_at,
       c.deadline_at, c.address, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, m.code AS merged_into_code,
       (SELECT att ->> 'id' FROM jsonb_array_elements(act.report_attachments) AS att
         WHERE att ->> 'type' = 'text/uri-list' LIMIT 1) AS media_url
  FROM picked c
  JOIN case_categories cc ON cc.code = c.category_code
  LEFT JOIN departments d ON d.id = c.department_id
  LEFT JOIN cases m ON m.id = c.merged_into
  LEFT JOIN LATERAL (
    SELECT max(a.at) AS last_at,
           (array_agg(a.attachments ORDER BY a.at, a.id) FILTER (WHERE a.action = 'report'))[1] AS report_attachments
      FROM case_actions a WHERE a.case_id = c.id
  ) act ON true
 ORDER BY c.reported_at DESC, c.id DESC;
