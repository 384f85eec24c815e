-- Card top-ups in the app through a card acquirer (issue 12, "Top-ups" 2): one row per order,
-- keyed by its own id (the acquirer's invoice id) and by the passenger's Idempotency-Key; its
-- status moves `created → paid | failed` by compare-and-set, and only the move to `paid` books
-- the `top_up` transfer (`top-up.acquirer.<id>`), so a repeated or concurrent callback and the
-- recovery's status query credit a card once.
CREATE TABLE card_top_ups (
    id TEXT PRIMARY KEY,
    holder_phone TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    card_number TEXT NOT NULL,
    amount_tiyn BIGINT NOT NULL,
    acquirer TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_url TEXT,
    acquirer_reference TEXT,
    failure TEXT,
    transfer_id TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (holder_phone, idempotency_key)
);
CREATE INDEX card_top_ups_open ON card_top_ups (status, updated_at_ms);
-- Reconciliation (issue 12 "Top-ups" 3, issue 14): one report per partner and day, its lines
-- the outcome of matching the partner's file against our records. Re-importing a file with the
-- same digest changes nothing; a corrected file replaces the unresolved lines.
CREATE TABLE reconciliation_reports (
    id INTEGER PRIMARY KEY,
    partner_kind TEXT NOT NULL,
    partner TEXT NOT NULL,
    day TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    their_lines BIGINT NOT NULL,
    matched BIGINT NOT NULL,
    imported_at_ms BIGINT NOT NULL,
    UNIQUE (partner_kind, partner, day)
);
CREATE TABLE reconciliation_lines (
    id INTEGER PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES reconciliation_reports(id),
    reference TEXT NOT NULL,
    outcome TEXT NOT NULL,
    account TEXT NOT NULL,
    their_tiyn BIGINT,
    our_tiyn BIGINT,
    resolution TEXT,
    resolved_by TEXT,
    resolved_at_ms BIGINT,
    transfer_id TEXT
);
CREATE INDEX reconciliation_lines_by_report ON reconciliation_lines (report_id, outcome);
