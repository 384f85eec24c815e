-- Refunds of phone-balance rides through the passenger's operator (CAMARA Carrier Billing
-- Refund): one per ride, asked by staff, settled against the operator. `attempt` numbers the
-- refund requests of a ride (a new one after a denial); the client correlator the operator
-- sees is derived from the ride and the attempt, so a retry never refunds twice.
CREATE TABLE operator_refunds (
    ride_id TEXT PRIMARY KEY,
    ticket_number BIGINT NOT NULL,
    operator TEXT NOT NULL,
    operator_payment_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    status TEXT NOT NULL,
    operator_refund_id TEXT,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    denial TEXT,
    tries BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX operator_refunds_open ON operator_refunds (updated_at_ms) WHERE status IN ('requested', 'processing');
