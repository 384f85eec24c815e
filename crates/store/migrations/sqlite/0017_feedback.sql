-- Passengers' feedback on a ride: the service and the vehicle rated 1–5, an optional category
-- (driver, cleanliness, late, overcrowded, fare, other) and comment. One per ticket; the
-- carrier of the ride's vehicle reads it (newest first, paged by id).
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    ticket_number INTEGER NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    carrier_id TEXT NOT NULL,
    city_id TEXT NOT NULL,
    route_id TEXT NOT NULL,
    route_number TEXT NOT NULL,
    transport_code TEXT NOT NULL,
    service_rating INTEGER NOT NULL,
    vehicle_rating INTEGER NOT NULL,
    category TEXT,
    comment TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX feedback_by_carrier ON feedback (carrier_id, id);
