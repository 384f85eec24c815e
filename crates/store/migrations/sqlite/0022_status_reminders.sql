-- Reminders that a card's preferential status ends (issue 12): one row per card and end date,
-- written in the same transaction as the SMS, so a holder is told exactly once per end date —
-- across restarts and concurrent runs — and told again when a renewal sets a new end date.
CREATE TABLE card_status_reminders (
    card_number TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    told_at_ms BIGINT NOT NULL,
    PRIMARY KEY (card_number, until_ms)
);
