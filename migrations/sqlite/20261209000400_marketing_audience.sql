-- The audience estimate's members in one narrow table: a row per enabled member who opted in to
-- direct marketing, with the traits targeting compares one value of (verification level,
-- industry, country, and the city lower-cased), so that counting a broad audience reads one
-- narrow table instead of joining every member to their consent and profile rows (see the
-- PostgreSQL migration of the same name). What a member looks for and the topics they follow
-- stay in their own tables. The triggers below keep the table current in the same transaction
-- as the change to users, business_profiles or marketing_consents; each rewrites the member's
-- row from its sources.
CREATE TABLE marketing_audience (
    user_id            BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    verification_level TEXT NOT NULL CHECK (verification_level IN ('unverified', 'email_verified', 'identity_verified', 'business_verified')),
    industry           TEXT,
    country_code       TEXT,
    city               TEXT
) STRICT;
CREATE INDEX marketing_audience_country ON marketing_audience (country_code, industry);
CREATE INDEX marketing_audience_industry ON marketing_audience (industry, country_code);
CREATE INDEX marketing_audience_city ON marketing_audience (city);

CREATE TRIGGER marketing_audience_consent_added AFTER INSERT ON marketing_consents BEGIN
    DELETE FROM marketing_audience WHERE user_id = NEW.user_id;
    INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
    SELECT u.id, u.verification_level, bp.industry, bp.country_code, lower(bp.city)
    FROM users u JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing = 1
    LEFT JOIN business_profiles bp ON bp.user_id = u.id
    WHERE u.id = NEW.user_id AND u.disabled_at IS NULL;
END;
CREATE TRIGGER marketing_audience_consent_changed AFTER UPDATE ON marketing_consents BEGIN
    DELETE FROM marketing_audience WHERE user_id IN (OLD.user_id, NEW.user_id);
    INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
    SELECT u.id, u.verification_level, bp.industry, bp.country_code, lower(bp.city)
    FROM users u JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing = 1
    LEFT JOIN business_profiles bp ON bp.user_id = u.id
    WHERE u.id = NEW.user_id AND u.disabled_at IS NULL;
END;
CREATE TRIGGER marketing_audience_consent_removed AFTER DELETE ON marketing_consents BEGIN
    DELETE FROM marketing_audience WHERE user_id = OLD.user_id;
END;
CREATE TRIGGER marketing_audience_profile_added AFTER INSERT ON business_profiles BEGIN
    DELETE FROM marketing_audience WHERE user_id = NEW.user_id;
    INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
    SELECT u.id, u.verification_level, bp.industry, bp.country_code, lower(bp.city)
    FROM users u JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing = 1
    LEFT JOIN business_profiles bp ON bp.user_id = u.id
    WHERE u.id = NEW.user_id AND u.disabled_at IS NULL;
END;
CREATE TRIGGER marketing_audience_profile_changed
    AFTER UPDATE OF industry, country_code, city ON business_profiles
    WHEN OLD.industry IS NOT NEW.industry OR OLD.country_code IS NOT NEW.country_code
        OR OLD.city IS NOT NEW.city
BEGIN
    DELETE FROM marketing_audience WHERE user_id = NEW.user_id;
    INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
    SELECT u.id, u.verification_level, bp.industry, bp.country_code, lower(bp.city)
    FROM users u JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing = 1
    LEFT JOIN business_profiles bp ON bp.user_id = u.id
    WHERE u.id = NEW.user_id AND u.disabled_at IS NULL;
END;
CREATE TRIGGER marketing_audience_profile_removed AFTER DELETE ON business_profiles BEGIN
    DELETE FROM marketing_audience WHERE user_id = OLD.user_id;
    INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
    SELECT u.id, u.verification_level, NULL, NULL, NULL
    FROM users u JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing = 1
    WHERE u.id = OLD.user_id AND u.disabled_at IS NULL;
END;
CREATE TRIGGER marketing_audience_user_changed
    AFTER UPDATE OF verification_level, disabled_at ON users
    WHEN OLD.verification_level IS NOT NEW.verification_level
        OR OLD.disabled_at IS NOT NEW.disabled_at
BEGIN
    DELETE FROM marketing_audience WHERE user_id = NEW.id;
    INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
    SELECT u.id, u.verification_level, bp.industry, bp.country_code, lower(bp.city)
    FROM users u JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing = 1
    LEFT JOIN business_profiles bp ON bp.user_id = u.id
    WHERE u.id = NEW.id AND u.disabled_at IS NULL;
END;

-- Members who opted in already.
INSERT INTO marketing_audience (user_id, verification_level, industry, country_code, city)
SELECT u.id, u.verification_level, bp.industry, bp.country_code, lower(bp.city)
FROM users u JOIN marketing_consents mc ON mc.user_id = u.id AND mc.direct_marketing = 1
LEFT JOIN business_profiles bp ON bp.user_id = u.id
WHERE u.disabled_at IS NULL;
