-- The audit trail: one row per staff action that changed something, hash-chained
-- (`domain::audit`): each row's hash covers its fields and the previous row's hash. `audit_head`
-- counts the rows appended and holds the last hash, so removing the newest rows is found too.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    before_value TEXT NOT NULL,
    after_value TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_by_object ON audit_log (object, seq);
CREATE INDEX audit_by_time ON audit_log (at_ms);
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    written BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, written, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
