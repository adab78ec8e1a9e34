-- around() widens its camera search by the longest camera range: max(range_m) over an index is a
-- lookup, over the table a scan (23–40 ms at 200 k cameras, most of an around-incident call).
CREATE INDEX cameras_range_idx ON cameras (range_m);
