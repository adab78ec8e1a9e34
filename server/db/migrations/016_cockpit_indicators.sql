-- The cockpit's indicators (issue 9, GET /api/stats/indicators, docs/indicators.md).
--
-- Sensor availability is read from the sensor:status events of the event log (migration 006):
-- per sensor, the last event at or before the start of a period and the events inside it. The
-- log holds every event type, sensor:status the most frequent of them; this index finds one
-- sensor's events by time without walking the others. The id is compared as text, so no event
-- of another type (whose payload id may be anything) can make the lookup fail.
CREATE INDEX event_log_sensor_status_idx ON event_log ((payload ->> 'id'), at, seq) WHERE type = 'sensor:status';
