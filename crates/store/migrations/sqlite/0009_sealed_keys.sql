-- Ticket signing keys are kept sealed under the server's key-encryption key (`service::vault`):
-- `secret_sealed` is `kek1.<kek id>.<base64url>`. Rows written before hold their secret in
-- `secret_hex`; the first start with a key-encryption key seals them and empties `secret_hex`.
ALTER TABLE signing_keys ADD COLUMN secret_sealed TEXT;
-- Why an inspection flagged its ticket as shared (`SHOWN_IN_TWO_VEHICLES`,
-- `SHOWN_TWICE_IN_VEHICLE`); null when it did not.
ALTER TABLE inspections ADD COLUMN flag_reason TEXT;
-- A controller's device's checks in time order: "did it check another ticket in between?"
CREATE INDEX inspections_by_inspector ON inspections (inspector, id);
