-- Transit data per city: the validated GTFS zip as imported (one row per city, replaced whole
-- by a re-import) and the operator's address list. The timetable is rebuilt in memory from
-- these bytes, so the schema does not follow GTFS file by file.
CREATE TABLE transit_feeds (
    city_id TEXT PRIMARY KEY,
    feed BLOB NOT NULL,
    feed_sha256 TEXT NOT NULL,
    summary TEXT NOT NULL,
    imported_at_ms BIGINT NOT NULL
);

CREATE TABLE transit_addresses (
    city_id TEXT PRIMARY KEY,
    csv BLOB NOT NULL,
    address_count BIGINT NOT NULL,
    imported_at_ms BIGINT NOT NULL
);
