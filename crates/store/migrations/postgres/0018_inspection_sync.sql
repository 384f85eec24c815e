-- Inspections made on a controller's device (often offline) and synced later: the id the
-- device gave the check (a resent batch records nothing twice: one row per inspector and
-- device id), the verdict the device showed, and whether it was checked offline. A check made
-- at the server has no device id.
ALTER TABLE inspections ADD COLUMN device_id TEXT;
ALTER TABLE inspections ADD COLUMN device_result TEXT;
ALTER TABLE inspections ADD COLUMN offline BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inspections ADD COLUMN synced_at_ms BIGINT;
CREATE UNIQUE INDEX inspections_by_device_id ON inspections (inspector, device_id);
CREATE INDEX inspections_by_inspector_time ON inspections (inspector, checked_at_ms);
