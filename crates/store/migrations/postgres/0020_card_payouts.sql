-- The office pays out a closing card's balance (issue 12): one row per card, written in the
-- transaction that books the `payout` transfer and closes the card, so a card is paid out once.
-- `idempotency_key` is the clerk's request key: a retry with it reads this row back.
-- `way` is how the holder was paid (`cash` at the desk, `bank_transfer` with its reference).
CREATE TABLE card_payouts (
    card_number TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    way TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_tiyn BIGINT NOT NULL,
    transfer_id TEXT NOT NULL,
    paid_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX cards_by_holder_name ON cards (holder_name);
