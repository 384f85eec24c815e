-- Live buses: who may report positions. A tracker (Wialon IPS login) stands for one catalogue
-- vehicle; a feed token lets a partner push positions of one city (JSON or GTFS-RT).
-- Secrets are stored as SHA-256 hex digests only.
CREATE TABLE live_trackers (
    tracker_id TEXT PRIMARY KEY,
    password_sha256 TEXT NOT NULL,
    transport_code TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE live_feed_tokens (
    token_sha256 TEXT PRIMARY KEY,
    city_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
