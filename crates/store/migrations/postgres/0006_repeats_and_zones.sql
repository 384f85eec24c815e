-- A passenger's repeated purchase on one bus is told apart from a deliberate second ticket:
-- rides are found by (phone, vehicle, time), and each ride and its ticket carry its ordinal
-- among the passenger's valid tickets on that bus. Tickets carry the zone of a zone fare, so
-- every place a ticket is shown can name it.
ALTER TABLE rides ADD COLUMN ordinal_on_vehicle INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tickets ADD COLUMN zone INTEGER;
ALTER TABLE tickets ADD COLUMN ordinal_on_vehicle INTEGER NOT NULL DEFAULT 1;
UPDATE tickets SET zone = (SELECT rides.zone FROM rides WHERE rides.id = tickets.ride_id);
CREATE INDEX rides_by_phone_vehicle ON rides (phone, transport_code, created_at_ms);
-- A ride refused at confirm waits in `cancelling` until the operator has released the
-- reservation; recovery finds it with the other unsettled rides.
DROP INDEX rides_unsettled;
CREATE INDEX rides_unsettled ON rides (status, updated_at_ms) WHERE status IN ('reserving', 'reserved', 'confirming', 'cancelling');
-- A ticket keeps the route number and plate it was sold with, so it reads the same when the
-- catalogue changes later (a bus renamed, retired or moved to another route).
ALTER TABLE tickets ADD COLUMN route_number TEXT;
ALTER TABLE tickets ADD COLUMN plate TEXT;
UPDATE tickets SET route_number = (SELECT routes.number FROM routes WHERE routes.id = tickets.route_id);
