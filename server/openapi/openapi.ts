/**
 * GET /api/openapi.json — the OpenAPI 3.0 description of the public API, written by hand as data
 * (no generator). Public: it holds no data, and OGC clients (GDAL, QGIS) read it through the
 * `service-desc` link of the /ogc landing page. Keep it in step with the routes
 * (tests/integration/openapi.test.ts asks every path it lists).
 */
import Router from '@koa/router'
import { version } from '../config.ts'
import { CHORO_INDICATORS, CHORO_LEVELS, MAX_DISTANCE_M, MAX_VERTICES, WITHIN_LAYERS } from '../spatial/params.ts'
import { GROUP_BY } from '../stats/indicators.ts'
import { SOURCES, STAGES, URGENCIES } from '../cases/types.ts'
import { ACTIONS } from '../cases/workflow.ts'

export const OPENAPI_TYPE = 'application/vnd.oai.openapi+json;version=3.0'

type Json = Record<string, unknown>

const ref = (name: string) => ({ $ref: `#/components/${name}` })
const json = (description: string, schema: Json = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } })
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      ref(
        `responses/${({ 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 413: 'TooLarge', 422: 'Invalid', 503: 'Timeout' } as Record<number, string>)[c]}`,
      ),
    ]),
  )

function query(name: string, description: string, schema: Json, required = false) {
  return { name, in: 'query', required, description, schema }
}
function pathParam(name: string, description: string, schema: Json = { type: 'string' }) {
  return { name, in: 'path', required: true, description, schema }
}
const lonLat = [
  query('lon', 'longitude (WGS84)', { type: 'number', minimum: -180, maximum: 180 }, true),
  query('lat', 'latitude (WGS84)', { type: 'number', minimum: -90, maximum: 90 }, true),
]
const LAYERS = ['workers', 'cameras', 'sensors', 'key_places', 'cases']

const position = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 3 }
const ring = { type: 'array', items: position, minItems: 4 }

/** An optional `{ comment }` body (alarm acknowledgement and resolution). */
const commentBody = { content: { 'application/json': { schema: { type: 'object', properties: { comment: { type: 'string', maxLength: 500 } } } } } }

export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'OneGrid API',
    version,
    description:
      'Grid-based city management (网格化管理): sessions, vector tiles and styles, OGC API – Features, spatial queries, statistics, import and export. ' +
      'Every /api, /tiles and /ogc route except health, login and this document needs a session (cookie `onegrid_session` or `Authorization: Bearer`); ' +
      'results are limited to the caller\'s scope. Errors are JSON `{ error: { code, message } }`.',
  },
  servers: [{ url: '/' }],
  tags: [
    { name: 'system' },
    { name: 'auth' },
    { name: 'tiles' },
    { name: 'styles' },
    { name: 'ogc', description: 'OGC API – Features Part 1 (GeoJSON)' },
    { name: 'spatial' },
    { name: 'stats' },
    { name: 'data', description: 'import and export' },
    { name: 'admin', description: 'the three administrators: accounts (system), permissions (security), audit log (audit)' },
    { name: 'people', description: 'residents: personal data, masked by default' },
    { name: 'sensing', description: 'sensors, alarms and device credentials (readings arrive over MQTT)' },
    { name: 'positions', description: 'worker positions, tracks, presence and geofences' },
    { name: 'screens', description: 'the wall: view sync between screens (pushes go over the socket)' },
    { name: 'cases', description: 'the case workflow: report → accept → verify → register → dispatch → handle → check → close → evaluate (server/cases/workflow.ts)' },
    { name: 'seat', description: 'the dispatch seat: feature cards, camera PTZ and the simulated camera stream' },
  ],
  security: [{ session: [] }, { bearer: [] }],
  paths: {
    '/api/health': {
      get: { tags: ['system'], summary: 'backend, PostGIS version, tile encoder, version', security: [], responses: { 200: json('the server is up') } },
    },
    '/api/openapi.json': {
      get: { tags: ['system'], summary: 'this document', security: [], responses: { 200: { description: 'OpenAPI 3.0 document', content: { [OPENAPI_TYPE]: { schema: { type: 'object' } } } } } },
    },
    '/api/auth/login': {
      post: {
        tags: ['auth'],
        summary: 'sign in; sets the session cookie',
        security: [],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } } } },
        },
        responses: {
          200: json('signed in: the user and the session expiry'),
          ...errors(400, 401, 403, 422),
          429: { description: 'the username is temporarily locked after ONEGRID_LOGIN_MAX_FAILURES failed sign-ins in a row (account_locked), or the client address has too many failed sign-ins (too_many_attempts); Retry-After says when to try again' },
        },
      },
    },
    '/api/auth/logout': { post: { tags: ['auth'], summary: 'end the session', responses: { 204: { description: 'signed out (the session, if any, is ended)' } } } },
    '/api/auth/logout-all': {
      post: { tags: ['auth'], summary: 'sign out everywhere: end every session of the signed-in user', responses: { 200: json('ended: how many sessions were ended'), ...errors(401, 403) } },
    },
    '/api/auth/me': { get: { tags: ['auth'], summary: 'the signed-in user', responses: { 200: json('username, displayName, role, scope'), ...errors(401) } } },
    '/tiles/catalog.json': {
      get: { tags: ['tiles'], summary: 'the layer catalog: the layers the caller\'s role may see', responses: { 200: json('layers with their zoom ranges, aggregation and deck.gl renderer'), ...errors(401) } },
    },
    '/tiles/{layer}.json': {
      get: { tags: ['tiles'], summary: 'TileJSON 3.0.0 of a layer', parameters: [pathParam('layer', 'a layer id of the catalog')], responses: { 200: json('TileJSON'), ...errors(401, 403, 404) } },
    },
    '/tiles/{layer}/{z}/{x}/{y}.mvt': {
      get: {
        tags: ['tiles'],
        summary: 'a vector tile (Mapbox Vector Tile) of a layer, within the caller\'s scope',
        description:
          'Point layers with aggregation hold, below their aggregation zoom or when a tile would hold more than the layer\'s feature limit, one point per occupied cell with count, n_<status> and top_status instead of the features. Several layers in one tile: name them with commas (at most 16), e.g. water,landuse,roads. Base layers without scope are Cache-Control public; anything scoped is private.',
        parameters: [
          pathParam('layer', 'a layer id of the catalog, or several separated by commas'),
          pathParam('z', 'zoom', { type: 'integer', minimum: 0 }),
          pathParam('x', 'column', { type: 'integer', minimum: 0 }),
          pathParam('y', 'row', { type: 'integer', minimum: 0 }),
        ],
        responses: {
          200: { description: 'the tile', content: { 'application/vnd.mapbox-vector-tile': { schema: { type: 'string', format: 'binary' } } } },
          204: { description: 'an empty tile' },
          304: { description: 'not modified (If-None-Match matched the ETag)' },
          ...errors(400, 401, 403, 404),
        },
      },
    },
    '/styles/{name}.json': {
      get: { tags: ['styles'], summary: 'a MapLibre style (our sources only)', security: [], parameters: [pathParam('name', 'style name, e.g. wall')], responses: { 200: json('MapLibre style'), ...errors(404) } },
    },
    '/styles/sprite.json': { get: { tags: ['styles'], summary: 'the styles’ sprite index (pixel ratio 1)', security: [], responses: { 200: json('MapLibre sprite index') } } },
    '/styles/sprite.png': { get: { tags: ['styles'], summary: 'the styles’ sprite sheet (pixel ratio 1)', security: [], responses: { 200: { description: 'the sprite sheet', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } } } } },
    '/styles/sprite@2x.json': { get: { tags: ['styles'], summary: 'the styles’ sprite index (pixel ratio 2)', security: [], responses: { 200: json('MapLibre sprite index') } } },
    '/styles/sprite@2x.png': { get: { tags: ['styles'], summary: 'the styles’ sprite sheet (pixel ratio 2)', security: [], responses: { 200: { description: 'the sprite sheet', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } } } } },
    '/styles/echarts/{name}.json': {
      get: { tags: ['styles'], summary: 'the ECharts theme matching a style', security: [], parameters: [pathParam('name', 'style name: night, day or contrast')], responses: { 200: json('ECharts theme'), ...errors(404) } },
    },
    '/ogc': { get: { tags: ['ogc'], summary: 'landing page', responses: { 200: json('links to the API definition, conformance and collections'), ...errors(401) } } },
    '/ogc/conformance': { get: { tags: ['ogc'], summary: 'conformance classes', responses: { 200: json('conformsTo'), ...errors(401) } } },
    '/ogc/collections': { get: { tags: ['ogc'], summary: 'the feature collections', responses: { 200: json('collections'), ...errors(401) } } },
    '/ogc/collections/{collectionId}': {
      get: { tags: ['ogc'], summary: 'one collection', parameters: [pathParam('collectionId', 'collection id')], responses: { 200: json('the collection'), ...errors(401, 404) } },
    },
    '/ogc/collections/{collectionId}/items': {
      get: {
        tags: ['ogc'],
        summary: 'features of a collection (GeoJSON)',
        parameters: [
          pathParam('collectionId', 'collection id'),
          query('limit', 'page size', { type: 'integer', minimum: 1 }),
          query('offset', 'features to skip', { type: 'integer', minimum: 0 }),
          { ...query('bbox', 'minLon,minLat,maxLon,maxLat', { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 }), style: 'form', explode: false },
          query('datetime', 'an instant or interval (RFC 3339, `..` for open ends)', { type: 'string' }),
        ],
        responses: { 200: { description: 'a FeatureCollection', content: { 'application/geo+json': { schema: { type: 'object' } } } }, ...errors(400, 401, 404) },
      },
    },
    '/ogc/collections/{collectionId}/items/{featureId}': {
      get: {
        tags: ['ogc'],
        summary: 'one feature',
        parameters: [pathParam('collectionId', 'collection id'), pathParam('featureId', 'feature id')],
        responses: { 200: { description: 'a Feature', content: { 'application/geo+json': { schema: { type: 'object' } } } }, ...errors(401, 404) },
      },
    },
    '/api/locate': {
      get: {
        tags: ['spatial'],
        summary: 'the district, street, community and grid of a point, its team and party branch',
        parameters: lonLat,
        responses: { 200: json('the grid and its admin units'), ...errors(400, 401, 404, 503) },
      },
    },
    '/api/spatial/nearest': {
      get: {
        tags: ['spatial'],
        summary: 'the k nearest objects of a layer, with distances in metres',
        parameters: [
          ...lonLat,
          query('layer', 'layer', { type: 'string', enum: LAYERS }, true),
          query('k', 'how many', { type: 'integer', minimum: 1, maximum: 100, default: 10 }),
          query('onDuty', 'on-duty workers only (layer=workers)', { type: 'boolean', default: false }),
        ],
        responses: { 200: json('a FeatureCollection'), ...errors(400, 401, 503) },
      },
    },
    '/api/spatial/around': {
      get: {
        tags: ['spatial'],
        summary: 'around an incident: grid and team, on-duty workers, cameras covering the point, sensors, key places, open cases',
        parameters: [...lonLat, query('radius', 'metres', { type: 'number', exclusiveMinimum: true, minimum: 0, maximum: 5000, default: 300 })],
        responses: { 200: json('lists of features'), ...errors(400, 401, 503) },
      },
    },
    '/api/spatial/within': {
      post: {
        tags: ['spatial'],
        summary: 'counts and first features of each layer inside a polygon, a circle or a buffered line',
        description:
          `Give exactly one of geometry (GeoJSON Polygon or MultiPolygon, closed rings, valid per ST_IsValid, at most ${MAX_VERTICES} vertices), ` +
          `circle or line with buffer_m (metres, at most ${MAX_DISTANCE_M}). Latitudes within ±85°. Features are the first \`limit\` by id.`,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  geometry: {
                    type: 'object',
                    required: ['type', 'coordinates'],
                    properties: {
                      type: { type: 'string', enum: ['Polygon', 'MultiPolygon'] },
                      coordinates: { oneOf: [{ type: 'array', items: ring }, { type: 'array', items: { type: 'array', items: ring } }] },
                    },
                  },
                  circle: {
                    type: 'object',
                    required: ['lon', 'lat', 'radius_m'],
                    properties: { lon: { type: 'number' }, lat: { type: 'number' }, radius_m: { type: 'number', maximum: MAX_DISTANCE_M } },
                  },
                  line: {
                    type: 'object',
                    required: ['type', 'coordinates'],
                    properties: { type: { type: 'string', enum: ['LineString'] }, coordinates: { type: 'array', items: position, minItems: 2 } },
                  },
                  buffer_m: { type: 'number', maximum: MAX_DISTANCE_M },
                  layers: { type: 'array', items: { type: 'string', enum: [...WITHIN_LAYERS] }, minItems: 1 },
                  limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
                },
              },
            },
          },
        },
        responses: { 200: json('{ counts: { layer: n }, features: { layer: [Feature] } }'), ...errors(400, 401, 413, 422, 503) },
      },
    },
    '/api/stats/choropleth': {
      get: {
        tags: ['stats'],
        summary: 'an indicator per unit of a level, for the units within the caller\'s scope',
        parameters: [
          query('level', 'unit level', { type: 'string', enum: [...CHORO_LEVELS] }, true),
          query('indicator', 'what is counted', { type: 'string', enum: [...CHORO_INDICATORS] }, true),
        ],
        responses: { 200: json('{ level, indicator, values: [{ code, name, value }] }'), ...errors(400, 401, 503) },
      },
    },
    '/api/stats/indicators': {
      get: {
        tags: ['stats'],
        summary: 'evaluation indicators from the case record over a period, per unit, department or worker, within the caller\'s scope (docs/indicators.md)',
        parameters: [
          query('from', 'start: a local date YYYY-MM-DD (ONEGRID_TZ) or an ISO date-time with offset; default 29 days before to', { type: 'string' }),
          query('to', 'end: a local date (included) or an ISO date-time with offset (excluded); default the end of today', { type: 'string' }),
          query('code', 'a district, street, community or grid code inside the caller\'s scope; default the whole scope', { type: 'string' }),
          query('groupBy', 'rows per', { type: 'string', enum: [...GROUP_BY], default: 'none' }),
          query('compare', 'previous: also the total of the period of the same length just before (`previous`)', { type: 'string', enum: ['previous'] }),
        ],
        responses: { 200: json('{ from, to, tz, asOf, groupBy, code, total, rows: [{ code, name, open, <indicator>: { numerator, denominator, rate } }], previous?: { from, to, total } }'), ...errors(400, 401, 403, 404, 503) },
      },
    },
    '/api/wall/summary': {
      get: {
        tags: ['stats'],
        summary: 'what the wall\'s panels show, in one answer, within the caller\'s scope (docs/wall.md)',
        responses: { 200: json('WallSummary (server/wall/types.ts)'), ...errors(401, 403, 503) },
      },
    },
    '/api/wall/live': {
      get: {
        tags: ['stats'],
        summary: 'open cases with their stage clock, unresolved alarms and workers on duty in a box, for the wall\'s live overlays (docs/wall.md)',
        parameters: [query('bbox', 'w,s,e,n in degrees (WGS84); default the whole scope', { type: 'string' })],
        responses: { 200: json('WallLive (server/wall/types.ts)'), ...errors(400, 401, 403, 503) },
      },
    },
    '/api/screens/{id}': {
      get: {
        tags: ['screens'],
        summary: 'who controls a wall screen and the view pushed to it (view null: its own mode); pushes go over the socket (screen:push, screen:release)',
        parameters: [pathParam('id', 'screen id: lower-case letters, digits, - and _')],
        responses: { 200: json('ScreenState (server/realtime/events.ts)'), ...errors(400, 401, 403) },
      },
    },
    '/api/import/layers': { get: { tags: ['data'], summary: 'what can be imported (admins)', responses: { 200: json('layers, formats, properties'), ...errors(401, 403) } } },
    '/api/import/{layer}': {
      post: {
        tags: ['data'],
        summary: 'import a GeoJSON or CSV file into a layer (admins); idempotent by external_id',
        parameters: [
          pathParam('layer', 'an importable layer'),
          query('format', 'file format', { type: 'string', enum: ['geojson', 'csv'] }),
          query('crs', 'coordinate system of the file', { type: 'string', enum: ['wgs84', 'gcj02'] }),
          query('importId', 'client id to follow progress', { type: 'string' }),
        ],
        requestBody: {
          required: true,
          content: {
            'application/geo+json': { schema: { type: 'object' } },
            'application/json': { schema: { type: 'object' } },
            'text/csv': { schema: { type: 'string' } },
          },
        },
        responses: { 200: json('the import report'), ...errors(400, 401, 403, 404, 413, 422), 415: { description: 'unsupported content type' } },
      },
    },
    '/api/export/{layer}.geojson': {
      get: {
        tags: ['data'],
        summary: 'a layer as GeoJSON, within the caller\'s scope',
        parameters: [pathParam('layer', 'an exportable layer')],
        responses: { 200: { description: 'a FeatureCollection', content: { 'application/geo+json': { schema: { type: 'object' } } } }, ...errors(401, 404) },
      },
    },
    '/api/export/{layer}.csv': {
      get: {
        tags: ['data'],
        summary: 'a layer as CSV, within the caller\'s scope',
        parameters: [pathParam('layer', 'an exportable layer')],
        responses: { 200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } }, ...errors(401, 404) },
      },
    },
    '/api/admin/stats': { get: { tags: ['admin'], summary: 'counts per kind (data.manage: the system admin)', responses: { 200: json('counts'), ...errors(401, 403) } } },
    '/api/admin/permissions': {
      get: { tags: ['admin'], summary: 'the permission matrix: roles × permissions, with labels and the separation of the three administrators (permissions.manage)', responses: { 200: json('roles, permissions, matrix, separation'), ...errors(401, 403) } },
    },
    '/api/admin/permissions/{role}': {
      put: {
        tags: ['admin'],
        summary: "replace one role's permissions (permissions.manage); 422 names an unknown permission or one the separation of the three administrators forbids",
        parameters: [pathParam('role', 'a role, e.g. dispatcher')],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['permissions'], properties: { permissions: { type: 'array', items: { type: 'string' } } } } } } },
        responses: { 200: json('the role and its permissions'), ...errors(400, 401, 403, 422) },
      },
    },
    '/api/admin/users': {
      get: { tags: ['admin'], summary: 'accounts within the caller\'s scope (users.manage or permissions.manage)', responses: { 200: json('users'), ...errors(401, 403) } },
      post: {
        tags: ['admin'],
        summary: 'create an account with an operational role (users.manage: the system admin; administrator roles are the security admin\'s to give)',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['username', 'displayName', 'password', 'role', 'scope'], properties: { username: { type: 'string' }, displayName: { type: 'string' }, password: { type: 'string' }, role: { type: 'string' }, scope: { type: 'string' } } } } } },
        responses: { 201: json('the account'), ...errors(400, 401, 403, 409, 422) },
      },
    },
    '/api/admin/users/{username}': {
      patch: {
        tags: ['admin'],
        summary: 'edit an account: displayName, scope, disabled, password (users.manage); disabling or a new password ends its sessions',
        parameters: [pathParam('username', 'the account')],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { 204: { description: 'changed' }, ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/admin/users/{username}/role': {
      put: {
        tags: ['admin'],
        summary: "assign an account's role (permissions.manage: the security admin)",
        parameters: [pathParam('username', 'the account')],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['role'], properties: { role: { type: 'string' } } } } } },
        responses: { 200: json('username and role'), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/people': {
      get: {
        tags: ['people'],
        summary: "residents (实有人口) within the caller's scope, masked (张**, 3101**********1234); unmasked=true needs people.unmask and is audited",
        parameters: [
          query('grid', 'a grid or admin-unit code prefix', { type: 'string' }),
          query('house', 'a house id', { type: 'integer' }),
          query('limit', '1…200 (default 50)', { type: 'integer' }),
          query('after', 'keyset paging: the last id of the previous page', { type: 'integer' }),
          query('unmasked', 'true: names, ID and phone numbers in clear (people.unmask; recorded in the audit log)', { type: 'boolean' }),
        ],
        responses: { 200: json('people, masked, next'), ...errors(400, 401, 403) },
      },
    },
    '/api/people/{id}': {
      get: {
        tags: ['people'],
        summary: 'one resident (404 outside the scope); unmasked=true as for the list',
        parameters: [pathParam('id', 'resident id'), query('unmasked', 'true: in clear (people.unmask; audited)', { type: 'boolean' })],
        responses: { 200: json('person, masked'), ...errors(400, 401, 403, 404) },
      },
    },
    '/api/sensors/{id}': {
      patch: {
        tags: ['sensing'],
        summary: "set a sensor's status (admins, dispatchers); the tiles around it are invalidated and screens told (tiles:invalidate)",
        parameters: [pathParam('id', 'sensor id', { type: 'integer', minimum: 1 })],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['online', 'offline', 'alarm'] } } } } },
        },
        responses: { 200: json('the sensor'), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/alarms': {
      get: {
        tags: ['sensing'],
        summary: 'alarms in your scope, newest change first',
        parameters: [
          query('state', 'open (neither acknowledged nor resolved), acked, resolved; several comma-separated; default all', { type: 'string' }),
          query('since', 'only alarms changed since (ISO 8601 with offset)', { type: 'string', format: 'date-time' }),
          query('limit', 'at most this many (1–1000, default 100)', { type: 'integer', minimum: 1, maximum: 1000 }),
        ],
        responses: { 200: json('{ alarms: [...] }'), ...errors(400, 401) },
      },
    },
    '/api/alarms/{id}/ack': {
      post: {
        tags: ['sensing'],
        summary: 'acknowledge an open alarm (admins, dispatchers, leaders, supervisors in scope): who and when are recorded, alarm:acked goes out',
        parameters: [pathParam('id', 'alarm id', { type: 'integer', minimum: 1 })],
        requestBody: commentBody,
        responses: { 200: json('the acknowledgement'), ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    '/api/alarms/{id}/resolve': {
      post: {
        tags: ['sensing'],
        summary: 'resolve an alarm by hand (same roles as ack); alarm:resolved goes out and the sensor status follows',
        parameters: [pathParam('id', 'alarm id', { type: 'integer', minimum: 1 })],
        requestBody: commentBody,
        responses: { 200: json('the alarm'), ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    '/api/devices/{code}/credentials': {
      post: {
        tags: ['sensing'],
        summary: 'issue MQTT credentials for a sensor (admins; the password is shown once, only its argon2id hash is kept; an older password stops working)',
        parameters: [pathParam('code', 'sensor code')],
        responses: { 201: json('username, password, topics'), ...errors(400, 401, 403, 404, 409) },
      },
      delete: {
        tags: ['sensing'],
        summary: "revoke a sensor's MQTT credentials (admins); its live connection is dropped",
        parameters: [pathParam('code', 'sensor code')],
        responses: { 204: { description: 'revoked' }, ...errors(400, 401, 403, 404) },
      },
    },
    '/api/positions': {
      post: {
        tags: ['positions'],
        summary:
          'report position fixes (at most 1000): a worker their own, admins and dispatchers any worker in their scope (workerId in each fix); ' +
          'GCJ-02 converted when crs says so; duplicates (same worker and ts) ignored; the geofence raises worker:out_of_grid / worker:back_in_grid',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['positions'],
                properties: {
                  crs: { type: 'string', enum: ['wgs84', 'gcj02'], default: 'wgs84' },
                  positions: {
                    type: 'array',
                    minItems: 1,
                    maxItems: 1000,
                    items: {
                      type: 'object',
                      required: ['ts', 'lon', 'lat'],
                      properties: {
                        workerId: { type: 'integer', minimum: 1 },
                        ts: { type: 'string', format: 'date-time', description: 'with its offset; at most 5 min ahead, at most 7 days old' },
                        lon: { type: 'number', minimum: -180, maximum: 180 },
                        lat: { type: 'number', minimum: -90, maximum: 90 },
                        accuracy: { type: 'number', minimum: 0, description: 'metres' },
                        speed: { type: 'number', minimum: 0, description: 'm/s' },
                        heading: { type: 'number', minimum: 0, maximum: 360, description: 'degrees clockwise from north' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        responses: { 200: json('accepted, duplicates, events (geofence events raised)'), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/workers/{id}/track': {
      get: {
        tags: ['positions'],
        summary: "a worker's track in [from, to): points (thinned to 20 000, truncated), stops, distanceM, patrolS, outOfGridS, outOfGrid segments",
        parameters: [
          pathParam('id', 'worker id', { type: 'integer', minimum: 1 }),
          query('from', 'start (ISO 8601 with offset); default: 24 h before to', { type: 'string', format: 'date-time' }),
          query('to', 'end, exclusive (ISO 8601 with offset); default: now; at most 31 days after from', { type: 'string', format: 'date-time' }),
        ],
        responses: { 200: json('the track'), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/workers/{id}/patrol': {
      get: {
        tags: ['positions'],
        summary: "a worker's patrol of one day (ONEGRID_TZ): distanceM, patrolS (inside the fence), outOfGridS",
        parameters: [pathParam('id', 'worker id', { type: 'integer', minimum: 1 }), query('day', 'YYYY-MM-DD; default: today', { type: 'string', format: 'date' })],
        responses: { 200: json('day, distanceM, patrolS, outOfGridS'), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/grids/{code}/presence': {
      get: {
        tags: ['positions'],
        summary: 'who was in a grid in [from, to), and when (runs of fixes inside; a gap over 5 min splits them)',
        parameters: [
          pathParam('code', '15-digit grid code'),
          query('from', 'start (ISO 8601 with offset); default: 24 h before to', { type: 'string', format: 'date-time' }),
          query('to', 'end, exclusive; default: now; at most 31 days after from', { type: 'string', format: 'date-time' }),
        ],
        responses: { 200: json('[{ workerId, code, name, intervals: [{ from, to }] }]', { type: 'array' }), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/cases': {
      get: {
        tags: ['cases'],
        summary: 'the case queue in your scope, least time left in the current stage first',
        parameters: [
          query('stage', `stages, comma-separated (${STAGES.join(', ')})`, { type: 'string' }),
          query('category', 'category code', { type: 'string' }),
          query('source', 'source', { type: 'string', enum: [...SOURCES] }),
          query('grid', 'admin or grid code prefix', { type: 'string' }),
          query('q', 'part of the case code or address', { type: 'string' }),
          query('mine', '1: only my tasks (my worker or my department)', { type: 'string', enum: ['1', '0'] }),
          query('limit', '1–500, default 50', { type: 'integer', minimum: 1, maximum: 500 }),
          query('offset', 'skip this many', { type: 'integer', minimum: 0 }),
        ],
        responses: { 200: json('{ items: [case], total }'), ...errors(400, 401) },
      },
      post: {
        tags: ['cases'],
        summary: 'report a case (上报): located to its grid, its department found by the rule (parts: owner first; events: territory first); a supervisor\'s report starts verified',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['categoryCode', 'source', 'description', 'lon', 'lat'],
                properties: {
                  categoryCode: { type: 'string' }, source: { type: 'string', enum: [...SOURCES] }, description: { type: 'string', maxLength: 2000 },
                  lon: { type: 'number' }, lat: { type: 'number' }, address: { type: 'string' }, reporterText: { type: 'string' },
                  urgency: { type: 'string', enum: [...URGENCIES] }, attachments: { type: 'array', items: { type: 'object' } }, idempotencyKey: { type: 'string' },
                },
              },
            },
          },
        },
        responses: { 201: json('{ case, created: true }'), 200: json('{ case, created: false } (a repeated idempotency key)'), ...errors(400, 401, 403, 422) },
      },
    },
    '/api/cases/workflow': {
      get: { tags: ['cases'], summary: 'the workflow table: stages, duties, and per action the stages it starts from, where it leads, the duties and fields it needs', responses: { 200: json('{ stages, duties, actions }'), ...errors(401) } },
    },
    '/api/cases/{id}': {
      get: {
        tags: ['cases'],
        summary: 'one case, with the actions you may take on it now',
        parameters: [pathParam('id', 'case id', { type: 'integer', minimum: 1 })],
        responses: { 200: json('the case and allowedActions'), ...errors(400, 401, 404) },
      },
    },
    '/api/cases/{id}/actions/{action}': {
      post: {
        tags: ['cases'],
        summary: 'take a workflow action: 422 illegal transition or missing field, 403 without the duty, 404 outside your scope, 409 stale version (the body carries `current`)',
        parameters: [pathParam('id', 'case id', { type: 'integer', minimum: 1 }), pathParam('action', 'the action', { type: 'string', enum: [...ACTIONS] })],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['version'],
                properties: {
                  version: { type: 'integer' }, comment: { type: 'string' }, lon: { type: 'number' }, lat: { type: 'number' }, idempotencyKey: { type: 'string' },
                  attachments: { type: 'array', items: { type: 'object' } }, reason: { type: 'string' }, satisfaction: { type: 'integer', minimum: 1, maximum: 5 },
                  workerId: { type: 'integer' }, departmentId: { type: 'integer' }, targetCaseId: { type: 'integer' }, hours: { type: 'number' },
                  outcome: { type: 'string' }, reworkTo: { type: 'string', enum: ['dispatched', 'in_progress'] }, deadlineAt: { type: 'string', format: 'date-time' },
                },
              },
            },
          },
        },
        responses: { 200: json('{ case, actionId, replayed }'), 409: json('{ error, current }: the case changed meanwhile'), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/api/cases/{id}/timeline': {
      get: {
        tags: ['cases'],
        summary: 'every action on record: actor, duty, time, place, comment, attachments, from → to',
        parameters: [pathParam('id', 'case id', { type: 'integer', minimum: 1 })],
        responses: { 200: json('{ caseId, actions }'), ...errors(400, 401, 404) },
      },
    },
    '/api/cases/{id}/briefing': {
      get: {
        tags: ['cases'],
        summary: 'for an incident briefing: the names of its place (district → grid), the handling department, the workers it was dispatched to (each from … to), the alarms linked to it or raised within 300 m during its span, and the replay span (10 min before the report → closure, or now while open)',
        parameters: [pathParam('id', 'case id', { type: 'integer', minimum: 1 })],
        responses: { 200: json('{ caseId, path, department, workers, alarms, alarmsTruncated, span: { from, to, open } }'), ...errors(400, 401, 404) },
      },
    },
    '/api/cases/{id}/recommendation': {
      get: {
        tags: ['cases'],
        summary: 'for dispatch: the responsible department with the reason, and the on-duty workers of the grid (else its neighbours) ranked by distance and open cases, each with a reason',
        parameters: [pathParam('id', 'case id', { type: 'integer', minimum: 1 })],
        responses: { 200: json('{ department, alternatives, workers, workersFrom, deadlineAt } — deadlineAt: the handling deadline a dispatch now would set'), ...errors(400, 401, 404) },
      },
    },
    '/api/cases/attachments': {
      post: {
        tags: ['cases'],
        summary: 'upload one photo (JPEG, PNG or WebP, read from the content) for a report or action; refer to it as `attachments: [{ id, type }]`. Any user with a workflow duty',
        requestBody: {
          required: true,
          content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } } },
        },
        responses: {
          201: json('{ id, type, size, url, thumbUrl }'),
          415: json('not multipart, or the file is not a JPEG, PNG or WebP (the message names what it is)'),
          ...errors(400, 401, 403, 413),
        },
      },
    },
    '/api/cases/attachments/{id}': {
      get: {
        tags: ['cases'],
        summary: 'the photo as uploaded (Cache-Control: private); to its uploader and to users who see a case that refers to it — 404 to others',
        parameters: [pathParam('id', 'attachment id (as the upload returned it)')],
        responses: { 200: { description: 'the image', content: { 'image/jpeg': {}, 'image/png': {}, 'image/webp': {} } }, ...errors(401, 404) },
      },
    },
    '/api/cases/attachments/{id}/thumb': {
      get: {
        tags: ['cases'],
        summary: 'its thumbnail: JPEG, at most 320 px on the longer side, without metadata; same access as the photo',
        parameters: [pathParam('id', 'attachment id')],
        responses: { 200: { description: 'the thumbnail', content: { 'image/jpeg': {} } }, ...errors(401, 404) },
      },
    },
    '/api/features/{layer}/{id}': {
      get: {
        tags: ['seat'],
        summary:
          'the card of a clicked feature (server/features/types.ts FeatureCard, by the layer\'s `card` kind): grid, admin unit, building, part, key place, sensor, camera, worker or case, ' +
          'with its hierarchy path and a point to centre on; within your scope as the layer\'s tiles (outside it: 404). Roles: the layer\'s, else admin, dispatcher, leader, supervisor',
        parameters: [pathParam('layer', 'a catalog layer with cards (see /tiles/catalog.json)'), pathParam('id', 'the feature id (the MVT feature id)', { type: 'integer', minimum: 1 })],
        responses: { 200: json('the FeatureCard'), ...errors(400, 401, 403, 404) },
      },
    },
    '/api/cameras/{id}/ptz': {
      post: {
        tags: ['seat'],
        summary:
          "turn a PTZ camera (admins, dispatchers): its heading changes by pan degrees (+ clockwise, kept in [0, 360)) in its record and on the map (camera:ptz event, tiles:invalidate); answers the camera's card",
        parameters: [pathParam('id', 'camera id', { type: 'integer', minimum: 1 })],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['pan'], properties: { pan: { type: 'number', minimum: -180, maximum: 180 } } } } },
        },
        responses: { 200: json('the CameraCard after the turn'), 409: json('a fixed camera, or one not online'), ...errors(400, 401, 403, 404, 422) },
      },
    },
    '/media/demo/live.m3u8': {
      get: {
        tags: ['seat'],
        summary: 'the simulated camera stream (what a camera without a browser-playable stream shows): a live HLS playlist, a sliding window of 2 s segments of a committed test-pattern loop (Cache-Control: no-cache)',
        responses: { 200: { description: 'HLS media playlist', content: { 'application/vnd.apple.mpegurl': { schema: { type: 'string' } } } }, ...errors(401, 404) },
      },
    },
    '/media/demo/{seq}.ts': {
      get: {
        tags: ['seat'],
        summary: 'one segment of the simulated stream: media sequence number seq is loop segment seq mod N (MPEG-TS, cacheable)',
        parameters: [pathParam('seq', 'media sequence number', { type: 'integer', minimum: 0 })],
        responses: { 200: { description: 'MPEG-TS segment', content: { 'video/mp2t': { schema: { type: 'string', format: 'binary' } } } }, ...errors(401, 404) },
      },
    },
  },
  components: {
    securitySchemes: {
      session: { type: 'apiKey', in: 'cookie', name: 'onegrid_session' },
      bearer: { type: 'http', scheme: 'bearer' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
    responses: Object.fromEntries(
      (
        [
          ['BadRequest', 'a parameter is missing or wrong (the message names it)'],
          ['Unauthorized', 'not signed in'],
          ['Forbidden', 'the role may not do this'],
          ['NotFound', 'no such object, layer or collection'],
          ['TooLarge', 'the request is too large'],
          ['Invalid', 'the body is not valid (the message names each problem)'],
          ['Timeout', 'the query took too long'],
        ] as const
      ).map(([name, description]) => [name, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
    ),
  },
} as const

export function openApiRoutes(): Router {
  const r = new Router({ prefix: '/api' })
  r.get('/openapi.json', (ctx) => {
    ctx.type = OPENAPI_TYPE
    ctx.set('Cache-Control', 'public, max-age=300')
    ctx.body = JSON.stringify(openApiDocument)
  })
  return r
}
