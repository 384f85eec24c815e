-- A feed token's scope (issue 9): the catalogue buses it may report — listed one by one, or
-- every bus of one carrier — and whether its positions may end those buses' runs (and so
-- their tickets). Tokens made before this report only their own feed vehicles (no catalogue
-- bus) and end no run; the operator re-issues them with a scope.
ALTER TABLE live_feed_tokens ADD COLUMN carrier_id TEXT;
ALTER TABLE live_feed_tokens ADD COLUMN ends_runs BIGINT NOT NULL DEFAULT 0;
CREATE TABLE live_feed_token_vehicles (
    token_sha256 TEXT NOT NULL REFERENCES live_feed_tokens (token_sha256),
    transport_code TEXT NOT NULL,
    PRIMARY KEY (token_sha256, transport_code)
);
