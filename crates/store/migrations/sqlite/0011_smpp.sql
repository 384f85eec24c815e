-- SMS over SMPP (partners::smpp, service::smpp).
-- How a message reached us: NULL = the HTTP gateway (it takes the reply in its answer);
-- 'smpp' = one of our binds (its reply goes out through the outbox).
ALTER TABLE sms_messages ADD COLUMN via TEXT;
-- The SMSC that delivered the message a reply answers (NULL: chosen by the number's prefix).
ALTER TABLE sms_outbox ADD COLUMN operator TEXT;
-- The SMPP dispatcher's state of a message: NULL (not taken), 'submitting' (parts going out;
-- those whose message id is in sms_outbox_parts went), 'retry' (back off until
-- next_attempt_at_ms), 'submitted' (every part taken by the SMSC), 'failed' (refused for good),
-- 'gateway' (no bind for its operator: the HTTP gateway sends it).
ALTER TABLE sms_outbox ADD COLUMN smpp_state TEXT;
ALTER TABLE sms_outbox ADD COLUMN next_attempt_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_outbox ADD COLUMN smpp_error TEXT;
CREATE INDEX sms_outbox_for_smpp ON sms_outbox (priority, id) WHERE smpp_state IS NULL OR smpp_state = 'retry' OR smpp_state = 'submitting';
-- Each part the SMSC took, with its message id: after a restart only parts without one are
-- sent again; delivery receipts update state ('submitted', then 'delivered', 'undeliverable'…).
CREATE TABLE sms_outbox_parts (
    outbox_id INTEGER NOT NULL,
    part INTEGER NOT NULL,
    operator TEXT NOT NULL,
    smsc_message_id TEXT NOT NULL,
    state TEXT NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (outbox_id, part)
);
CREATE INDEX sms_outbox_parts_by_smsc_id ON sms_outbox_parts (operator, smsc_message_id);
-- Parts of a concatenated incoming message until all have come (each stored before its
-- deliver_sm_resp); the joined message goes to sms_messages under the first part's id.
CREATE TABLE sms_incoming_parts (
    operator TEXT NOT NULL,
    sender TEXT NOT NULL,
    reference INTEGER NOT NULL,
    total INTEGER NOT NULL,
    number INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (operator, sender, reference, total, number)
);
-- A receipt can overtake our record of the submit it names (the SMSC sends it right after
-- submit_sm_resp); it waits here and the part takes its state when recorded.
CREATE TABLE sms_early_receipts (
    operator TEXT NOT NULL,
    smsc_message_id TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (operator, smsc_message_id)
);
