-- Virtual transport cards (issue 12): a card is held by a phone account, has a kind, a rider
-- category and a lifecycle status (`domain::card::CARD_TRANSITIONS`); its balance is the ledger
-- account `card_balance/<number>`. A ride paid from a card names it in `rides.card_number`
-- (NULL: the phone balance). Banks that top cards up are data (their result-code dialect,
-- allowed networks, the SHA-256 of their secret); each bank payment is one row keyed by
-- (bank, txn_id), the idempotency key of the biller protocol, with the answer it got.
CREATE TABLE cards (
    number TEXT PRIMARY KEY,
    holder_phone TEXT NOT NULL,
    kind TEXT NOT NULL,
    rider_category TEXT NOT NULL,
    status TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    pupil_name TEXT,
    school TEXT,
    class_name TEXT,
    closed_into TEXT,
    category_until_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX cards_by_holder ON cards (holder_phone, created_at_ms);
ALTER TABLE rides ADD COLUMN card_number TEXT;
CREATE TABLE banks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    dialect TEXT NOT NULL,
    networks TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE TABLE bank_payments (
    id INTEGER PRIMARY KEY,
    bank TEXT NOT NULL REFERENCES banks(id),
    txn_id TEXT NOT NULL,
    txn_date TEXT NOT NULL,
    account TEXT NOT NULL,
    sum_tiyn BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    comment TEXT NOT NULL,
    transfer_id TEXT,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (bank, txn_id)
);
CREATE INDEX bank_payments_by_time ON bank_payments (bank, created_at_ms);
-- Applications for preferential cards: the passenger's request, then the office's decision
-- (the documents seen, or the reason of a refusal) and the card an approval opened.
CREATE TABLE card_applications (
    id INTEGER PRIMARY KEY,
    holder_phone TEXT NOT NULL,
    city TEXT NOT NULL,
    category TEXT NOT NULL,
    full_name TEXT NOT NULL,
    document_kind TEXT NOT NULL,
    document_number TEXT NOT NULL,
    status TEXT NOT NULL,
    language TEXT NOT NULL,
    card_number TEXT,
    decided_by TEXT,
    decision TEXT,
    created_at_ms BIGINT NOT NULL,
    decided_at_ms BIGINT
);
CREATE INDEX card_applications_by_status ON card_applications (status, id);
CREATE INDEX card_applications_by_holder ON card_applications (holder_phone, id);
