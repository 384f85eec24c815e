-- A city's fare rules beyond the fare table (applied to card rides): `daily_cap` (the day's
-- rides never cost more than `amount_tiyn` in all, for one rider category or every one) and
-- `transfer` (a ride on another route within `window_minutes` of a full fare costs
-- `amount_tiyn`). A ride records which rule priced it (`fare_basis`: full, transfer, capped).
CREATE TABLE fare_policies (
    id INTEGER PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities (id),
    rule TEXT NOT NULL,
    rider_category TEXT,
    window_minutes INTEGER,
    amount_tiyn INTEGER NOT NULL
);
CREATE INDEX fare_policies_by_city ON fare_policies (city_id);
ALTER TABLE rides ADD COLUMN fare_basis TEXT;
CREATE INDEX rides_by_card ON rides (card_number, created_at_ms) WHERE card_number IS NOT NULL;
