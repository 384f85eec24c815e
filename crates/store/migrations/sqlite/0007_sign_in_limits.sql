-- Sign-in against guessing and floods. Wrong codes count per number across codes, with a
-- growing lockout; codes are budgeted per number, per client address and overall in fixed
-- windows; a passenger sees and ends their sessions; sign-in codes leave the outbox first.
CREATE TABLE sign_in_failures (
    phone TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at_ms INTEGER NOT NULL,
    locked_until_ms INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (last_failure_at_ms);
-- One row per budget: 'phone:+77011234567', 'address:203.0.113.7', 'all'.
CREATE TABLE sign_in_budgets (
    budget TEXT PRIMARY KEY,
    window_started_at_ms INTEGER NOT NULL,
    used INTEGER NOT NULL
);
CREATE INDEX sign_in_budgets_by_window ON sign_in_budgets (window_started_at_ms);
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN last_used_at_ms INTEGER;
ALTER TABLE sessions ADD COLUMN device TEXT;
UPDATE sessions SET id = lower(hex(randomblob(16))), last_used_at_ms = created_at_ms;
CREATE UNIQUE INDEX sessions_by_id ON sessions (id);
-- 0 = a sign-in code, 1 = any other message; the gateway takes the lowest first.
ALTER TABLE sms_outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
CREATE INDEX sms_outbox_pending ON sms_outbox (priority, id) WHERE sent_at_ms IS NULL;
