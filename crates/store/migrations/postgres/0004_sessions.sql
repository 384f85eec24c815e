-- Passengers sign in to the API with a one-time code sent by SMS to their number.
CREATE TABLE sign_in_codes (
    phone TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_phone ON sessions (phone);
