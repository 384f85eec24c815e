-- Core of the fare system: catalogue, passengers, rides, tickets, ledger, keys, SMS, inspections.
CREATE TABLE cities (
    id TEXT PRIMARY KEY,
    name_kk TEXT NOT NULL,
    name_ru TEXT NOT NULL,
    name_en TEXT NOT NULL,
    timezone TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL
);
CREATE TABLE carriers (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities(id),
    name TEXT NOT NULL
);
CREATE TABLE routes (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities(id),
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    max_ride_minutes INTEGER NOT NULL
);
CREATE TABLE vehicles (
    transport_code TEXT PRIMARY KEY,
    plate TEXT NOT NULL UNIQUE,
    carrier_id TEXT NOT NULL REFERENCES carriers(id),
    route_id TEXT NOT NULL REFERENCES routes(id),
    active INTEGER NOT NULL
);
CREATE TABLE fare_rules (
    id INTEGER PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities(id),
    route_id TEXT,
    route_kind TEXT,
    rider_category TEXT,
    zone INTEGER,
    amount_tiyn INTEGER NOT NULL
);
CREATE TABLE operator_prefixes (
    prefix TEXT PRIMARY KEY,
    operator TEXT NOT NULL
);
CREATE TABLE passengers (
    phone TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    rider_category TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE rides (
    id TEXT PRIMARY KEY,
    idempotency_scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    channel TEXT NOT NULL,
    phone TEXT NOT NULL,
    operator TEXT NOT NULL,
    transport_code TEXT NOT NULL,
    route_id TEXT NOT NULL,
    city_id TEXT NOT NULL,
    carrier_id TEXT NOT NULL,
    rider_category TEXT NOT NULL,
    zone INTEGER,
    amount_tiyn INTEGER NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    operator_payment_id TEXT,
    failure_code TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (idempotency_scope, idempotency_key)
);
CREATE INDEX rides_unsettled ON rides (status, updated_at_ms) WHERE status IN ('reserving', 'reserved', 'confirming');
CREATE TABLE tickets (
    number INTEGER PRIMARY KEY,
    ride_id TEXT NOT NULL UNIQUE REFERENCES rides(id),
    link_code TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL,
    key_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    city_id TEXT NOT NULL,
    route_id TEXT NOT NULL,
    transport_code TEXT NOT NULL,
    rider_category TEXT NOT NULL,
    amount_tiyn INTEGER NOT NULL,
    issued_at_ms INTEGER NOT NULL,
    not_after_ms INTEGER NOT NULL,
    run_id TEXT,
    ended_at_ms INTEGER,
    status TEXT NOT NULL
);
CREATE INDEX tickets_by_phone ON tickets (phone, issued_at_ms);
CREATE INDEX tickets_by_vehicle ON tickets (transport_code, issued_at_ms);
CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY,
    ride_id TEXT NOT NULL,
    account TEXT NOT NULL,
    layer TEXT NOT NULL,
    amount_tiyn INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX ledger_by_account ON ledger_entries (account, layer);
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    secret_hex TEXT NOT NULL,
    public_key_hex TEXT NOT NULL,
    not_before_ms INTEGER NOT NULL,
    sign_until_ms INTEGER NOT NULL,
    not_after_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE sms_messages (
    operator TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    body TEXT NOT NULL,
    reply TEXT,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (operator, message_id, sender)
);
CREATE TABLE sms_outbox (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,
    ride_id TEXT,
    created_at_ms INTEGER NOT NULL,
    sent_at_ms INTEGER
);
CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    ticket_number INTEGER,
    transport_code TEXT NOT NULL,
    inspector TEXT NOT NULL,
    result TEXT NOT NULL,
    flagged INTEGER NOT NULL,
    checked_at_ms INTEGER NOT NULL
);
CREATE INDEX inspections_by_ticket ON inspections (ticket_number);
