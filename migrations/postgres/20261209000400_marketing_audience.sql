-- The audience estimate's members in one narrow table: a row per enabled member who opted in to
-- direct marketing, with the traits targeting compares one value of (verification level,
-- industry, country, and the city lower-cased). Counting "everyone who opted in" or "one
-- country" used to join most of the members to their consent and profile rows (57 and 66 ms at
-- p99 over 100,000 members); over this table it is a scan of one narrow table or one of its
-- indexes. What a member looks for and the topics they follow stay in their own tables (an
-- `EXISTS` each). The triggers below keep the table current in the same transaction as the
-- change to users, business_profiles or marketing_consents.
CREATE TABLE marketing_audience (
    user_id            uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    verification_level verification_level NOT NULL,
    industry           text,
    country_code       character(2),
    city               text
);
CREATE INDEX marketing_audience_country ON marketing_audience (country_code, industry);
CREATE INDEX marketing_audience_industry ON marketing_audience (industry, country_code);
CREATE INDEX marketing_audience_city ON marketing_audience (city);

-- Rewrites the rows of `members` from their sources. It first locks the members' users rows, so
-- that of two transactions changing one member's sources at once (a consent and a profile) the
-- second waits for the first and reads what it committed.
CREATE FUNCTION marketing_audience_refresh(members uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users WHERE id = ANY (members) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM marketing_audience WHERE user_id = ANY (members);
    INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
    SELECT u.id, u.verification_level, bp.industry, bp.country_code, lower(bp.city)
    FROM users u
    JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing
    LEFT JOIN business_profiles bp ON bp.user_id = u.id
    WHERE u.id = ANY (members) AND u.disabled_at IS NULL;
END
$$;

-- Rows keyed by user_id that were added, changed or removed (consents, profiles), in one
-- statement however many (the synthetic seed inserts 100,000 at once).
CREATE FUNCTION marketing_audience_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM marketing_audience_refresh(ARRAY(SELECT DISTINCT user_id FROM changed));
    RETURN NULL;
END
$$;
CREATE TRIGGER marketing_audience_consents_added AFTER INSERT ON marketing_consents
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_rows_changed();
CREATE TRIGGER marketing_audience_consents_changed AFTER UPDATE ON marketing_consents
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_rows_changed();
CREATE TRIGGER marketing_audience_consents_removed AFTER DELETE ON marketing_consents
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_rows_changed();
CREATE TRIGGER marketing_audience_profiles_added AFTER INSERT ON business_profiles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_rows_changed();
CREATE TRIGGER marketing_audience_profiles_removed AFTER DELETE ON business_profiles
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_rows_changed();

-- A change to a column the table holds (counters and timestamps change none). A new member has
-- no consent yet, so has no row: only changes to existing users matter.
CREATE FUNCTION marketing_audience_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM marketing_audience_refresh(ARRAY[NEW.id]);
    ELSE
        PERFORM marketing_audience_refresh(ARRAY[NEW.user_id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER marketing_audience_user_changed AFTER UPDATE OF verification_level, disabled_at ON users
    FOR EACH ROW
    WHEN (OLD.verification_level IS DISTINCT FROM NEW.verification_level
          OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at)
    EXECUTE FUNCTION marketing_audience_row_changed();
CREATE TRIGGER marketing_audience_profile_changed
    AFTER UPDATE OF industry, country_code, city ON business_profiles
    FOR EACH ROW
    WHEN (OLD.industry IS DISTINCT FROM NEW.industry
          OR OLD.country_code IS DISTINCT FROM NEW.country_code
          OR OLD.city IS DISTINCT FROM NEW.city)
    EXECUTE FUNCTION marketing_audience_row_changed();

-- Members who opted in already.
SELECT marketing_audience_refresh(ARRAY(SELECT user_id FROM marketing_consents WHERE direct_marketing));
