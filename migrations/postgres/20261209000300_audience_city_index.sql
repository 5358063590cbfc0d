-- The audience estimate matches cities case-insensitively (`lower(bp.city) IN (…)`): an index on
-- that expression spares a scan of every profile, with `lower` called on each.
CREATE INDEX business_profiles_city_lower ON business_profiles (lower(city));
