-- Staff accounts (issue 11): people who sign in with a login, a password (argon2id, PHC
-- string) and, for admins, a TOTP second factor; each with one role and its scope (cities and
-- carriers, comma-separated catalogue ids). Sessions are stored as SHA-256 digests of their
-- token only; `csrf_hash` guards cookie sessions. Failed sign-ins count per login and per
-- client address. Machine callers (the SMS gateway, metrics readers) hold per-partner
-- credentials, also as digests.
CREATE TABLE staff_accounts (
    login TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    cities TEXT NOT NULL,
    carriers TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    totp_last_step BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    password_changed_at_ms BIGINT NOT NULL
);
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    login TEXT NOT NULL,
    kind TEXT NOT NULL,
    csrf_hash TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_used_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX staff_sessions_by_login ON staff_sessions (login);
CREATE TABLE staff_sign_in_failures (
    subject TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at_ms BIGINT NOT NULL,
    locked_until_ms BIGINT NOT NULL
);
CREATE TABLE machine_credentials (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    partner TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT NOT NULL
);
