-- Counts for the admin page (GET /api/admin/stats), within the asker's scope.
-- $1: scope prefix (text), NULL for an unrestricted asker (scope at the top of the hierarchy):
-- everything, objects outside every grid (grid_code NULL) included, also counted in <kind>_outside.
-- Output: one row of integers: districts, streets, communities, grids, and for each located kind
-- (buildings, houses, people, organizations, key_places, parts, sensors, cameras, workers,
-- cases) <kind> and <kind>_outside.

-- name: stats
SELECT au.districts, au.streets, au.communities, g.grids,
       b.n AS buildings, b.o AS buildings_outside,
       h.n AS houses, h.o AS houses_outside,
       pe.n AS people, pe.o AS people_outside,
       org.n AS organizations, org.o AS organizations_outside,
       kp.n AS key_places, kp.o AS key_places_outside,
       pa.n AS parts, pa.o AS parts_outside,
       se.n AS sensors, se.o AS sensors_outside,
       ca.n AS cameras, ca.o AS cameras_outside,
       w.n AS workers, w.o AS workers_outside,
       cs.n AS cases, cs.o AS cases_outside
FROM
  (SELECT count(*) FILTER (WHERE level = 'district')::int AS districts,
          count(*) FILTER (WHERE level = 'street')::int AS streets,
          count(*) FILTER (WHERE level = 'community')::int AS communities
     FROM admin_units WHERE $1::text IS NULL OR code LIKE $1::text || '%') au,
  (SELECT count(*)::int AS grids FROM grids WHERE $1::text IS NULL OR code LIKE $1::text || '%') g,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM buildings) b,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM houses) h,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM people) pe,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM organizations) org,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM key_places) kp,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM parts) pa,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM sensors) se,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM cameras) ca,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM workers) w,
  (SELECT count(*) FILTER (WHERE $1::text IS NULL OR grid_code LIKE $1::text || '%')::int AS n,
          count(*) FILTER (WHERE $1::text IS NULL AND grid_code IS NULL)::int AS o FROM cases) cs
