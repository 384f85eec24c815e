-- Ledger v2: money moves by transfers, each with its own id (a ride's are derived from the
-- ride id: `<ride>.reserve`, `.post`, `.void`, `.reversal`), kind, time and optional ride;
-- entries reference their transfer and a typed account stored as its parts (kind, owner);
-- accounts keep their pending and posted balances, updated in the same transaction as the
-- entries, and an account flagged `debits_must_not_exceed_credits` is never overdrawn. The
-- entries of ledger v1 (keyed by ride, accounts as formatted names) migrate into transfers.
CREATE TABLE ledger_accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    debits_must_not_exceed_credits BIGINT NOT NULL,
    pending_tiyn BIGINT NOT NULL,
    posted_tiyn BIGINT NOT NULL,
    UNIQUE (kind, owner)
);
CREATE TABLE ledger_transfers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    ride_id TEXT REFERENCES rides(id),
    resolves TEXT REFERENCES ledger_transfers(id),
    reverses TEXT REFERENCES ledger_transfers(id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ledger_transfers_by_time ON ledger_transfers (created_at_ms);
ALTER TABLE ledger_entries RENAME TO ledger_entries_v1;
CREATE TABLE ledger_entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id TEXT NOT NULL REFERENCES ledger_transfers(id),
    account_id BIGINT NOT NULL REFERENCES ledger_accounts(id),
    layer TEXT NOT NULL,
    amount_tiyn BIGINT NOT NULL
);
CREATE INDEX ledger_entries_by_transfer ON ledger_entries (transfer_id);
-- The entries of one ride phase, classified: a posted entry and its pending release are the
-- post; a pending entry that debits the operator (credits the carrier) is the reservation; a
-- pending release of a ride never posted is its void.
CREATE TABLE ledger_v1_phases AS
SELECT e.id AS entry_id, e.ride_id, e.layer, e.amount_tiyn, e.created_at_ms,
    CASE WHEN e.account LIKE 'operator:%' THEN 'operator_receivable' ELSE 'carrier_payable' END AS kind,
    CASE WHEN e.account LIKE 'operator:%' THEN substr(e.account, 10, length(e.account) - 20)
         ELSE substr(e.account, 9, length(e.account) - 16) END AS owner,
    CASE WHEN e.layer = 'posted' THEN 'post'
         WHEN (e.account LIKE 'operator:%') = (e.amount_tiyn >= 0) THEN 'reserve'
         WHEN EXISTS (SELECT 1 FROM ledger_entries_v1 p WHERE p.ride_id = e.ride_id AND p.layer = 'posted') THEN 'post'
         ELSE 'void' END AS phase
FROM ledger_entries_v1 e;
INSERT INTO ledger_accounts (kind, owner, debits_must_not_exceed_credits, pending_tiyn, posted_tiyn)
SELECT kind, owner, 0,
    CAST(SUM(CASE WHEN layer = 'pending' THEN amount_tiyn ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN layer = 'posted' THEN amount_tiyn ELSE 0 END) AS BIGINT)
FROM ledger_v1_phases GROUP BY kind, owner;
INSERT INTO ledger_transfers (id, kind, ride_id, resolves, reverses, created_at_ms)
SELECT ride_id || '.' || phase, 'ride', ride_id,
    CASE WHEN phase = 'reserve' THEN NULL ELSE ride_id || '.reserve' END, NULL, MIN(created_at_ms)
FROM ledger_v1_phases WHERE phase = 'reserve' GROUP BY ride_id, phase;
INSERT INTO ledger_transfers (id, kind, ride_id, resolves, reverses, created_at_ms)
SELECT ride_id || '.' || phase, 'ride', ride_id,
    CASE WHEN phase = 'reserve' THEN NULL ELSE ride_id || '.reserve' END, NULL, MIN(created_at_ms)
FROM ledger_v1_phases WHERE phase <> 'reserve' GROUP BY ride_id, phase;
INSERT INTO ledger_entries (transfer_id, account_id, layer, amount_tiyn)
SELECT p.ride_id || '.' || p.phase, a.id, p.layer, p.amount_tiyn
FROM ledger_v1_phases p JOIN ledger_accounts a ON a.kind = p.kind AND a.owner = p.owner
ORDER BY p.entry_id;
DROP TABLE ledger_v1_phases;
DROP TABLE ledger_entries_v1;
