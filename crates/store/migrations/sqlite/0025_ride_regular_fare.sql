-- The regular (full) fare of a ride's route and zone as the catalogue priced it when the ride
-- was written: the city's preferential subsidy is that fare less what the passenger paid, as
-- on the day of the ride, whatever the catalogue says later. Rides written before this column
-- have none: a report estimates their subsidy from the catalogue's fare of the day it is read
-- (the catalogue keeps no history of its fares) and marks those lines as estimated.
ALTER TABLE rides ADD COLUMN regular_fare_tiyn INTEGER;
