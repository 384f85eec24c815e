-- What an SMS passenger was last told of their ride ('issued' or 'failed'), so that a ride
-- settled while its passenger heard only "pending" (or a process that stopped before telling
-- them) is told once, by the recovery pass. Rides settled before this migration were told.
ALTER TABLE rides ADD COLUMN told_status TEXT;
UPDATE rides SET told_status = status WHERE channel = 'sms' AND status IN ('issued', 'failed');
CREATE INDEX rides_untold ON rides (updated_at_ms)
    WHERE channel = 'sms' AND (told_status IS NULL OR told_status <> status);
