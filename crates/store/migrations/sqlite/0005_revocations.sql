-- Tickets that stop being valid before their time: revoked by the system operator (or, later,
-- refunded), or ended because their bus reached the final stop. Controllers working offline
-- fetch these by `invalidated_at_ms`, so the column is set by every such change and indexed.
ALTER TABLE tickets ADD COLUMN invalidated_at_ms BIGINT;
ALTER TABLE tickets ADD COLUMN status_reason TEXT;
UPDATE tickets SET invalidated_at_ms = ended_at_ms WHERE ended_at_ms IS NOT NULL;
CREATE INDEX tickets_by_invalidation ON tickets (invalidated_at_ms, number);
