-- Search, PostgreSQL full-text path: members' search documents (see vendrome_store::PgSearch).
-- A profile's text comes from three tables (users, business_profiles, business_profile_skills),
-- so no generated column can hold it; profile queries used to build every member's tsvector on
-- each search (2 s over 100,000 members). Here each member has one row with the weighted vector
-- (names, handle, headline and company as A; title, industry, city, about and skills as B) and
-- the plain text trigram typos match, both indexed, kept current by the triggers below in the
-- same transaction as the change. The embedded index (the default) uses none of this.
CREATE TABLE profile_search (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    document tsvector NOT NULL,
    body text NOT NULL
);
CREATE INDEX profile_search_document ON profile_search USING gin (document);
CREATE INDEX profile_search_body_trgm ON profile_search USING gin (body gin_trgm_ops);

-- Rewrites the documents of `members` from their sources (a member with no row in users gets
-- none: their row went with them). It first locks the members' rows it will replace, and reads
-- the sources in a later statement, so that of two transactions changing one member's sources
-- at once the second waits for the first and reads what it committed: the last document written
-- holds both changes.
CREATE FUNCTION profile_search_refresh(members uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM profile_search WHERE user_id = ANY (members) ORDER BY user_id FOR UPDATE;
    INSERT INTO profile_search (user_id, document, body)
    SELECT u.id,
           setweight(to_tsvector('english', concat_ws(' ', u.display_name, u.handle, u.headline, bp.company_name)), 'A')
           || setweight(to_tsvector('english', concat_ws(' ', bp.job_title, bp.industry, bp.city, bp.about,
                  (SELECT string_agg(s.skill, ' ' ORDER BY s.skill) FROM business_profile_skills s WHERE s.user_id = u.id))), 'B'),
           concat_ws(' ', u.display_name, u.handle, u.headline, bp.company_name, bp.job_title, bp.industry, bp.city, bp.about)
    FROM users u
    LEFT JOIN business_profiles bp ON bp.user_id = u.id
    WHERE u.id = ANY (members)
    ON CONFLICT (user_id) DO UPDATE SET document = excluded.document, body = excluded.body;
END
$$;

-- New members, in one statement however many (the synthetic seed copies 100,000 at once).
CREATE FUNCTION profile_search_users_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM profile_search_refresh(ARRAY(SELECT id FROM changed));
    RETURN NULL;
END
$$;
CREATE TRIGGER profile_search_users_added AFTER INSERT ON users
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION profile_search_users_added();

-- New profile rows. Most are made empty by a counter (a follow or a connection) or by the
-- first profile change before it sets its columns: those change no document and are skipped.
CREATE FUNCTION profile_search_profiles_added() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    members uuid[] := ARRAY(
        SELECT user_id FROM changed
        WHERE num_nonnulls(company_name, job_title, industry, city, about) > 0);
BEGIN
    IF cardinality(members) > 0 THEN
        PERFORM profile_search_refresh(members);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER profile_search_profiles_added AFTER INSERT ON business_profiles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION profile_search_profiles_added();

-- Rows keyed by user_id that were added, changed or removed (skills; removed profiles).
CREATE FUNCTION profile_search_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    members uuid[] := ARRAY(SELECT DISTINCT user_id FROM changed);
BEGIN
    IF cardinality(members) > 0 THEN
        PERFORM profile_search_refresh(members);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER profile_search_skills_added AFTER INSERT ON business_profile_skills
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION profile_search_rows_changed();
CREATE TRIGGER profile_search_skills_changed AFTER UPDATE ON business_profile_skills
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION profile_search_rows_changed();
CREATE TRIGGER profile_search_skills_removed AFTER DELETE ON business_profile_skills
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION profile_search_rows_changed();
CREATE TRIGGER profile_search_profiles_removed AFTER DELETE ON business_profiles
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION profile_search_rows_changed();

-- A change to a column the document holds (counters and timestamps change none).
CREATE FUNCTION profile_search_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM profile_search_refresh(ARRAY[NEW.id]);
    ELSE
        PERFORM profile_search_refresh(ARRAY[NEW.user_id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER profile_search_user_changed AFTER UPDATE OF display_name, handle, headline ON users
    FOR EACH ROW
    WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name
          OR OLD.handle IS DISTINCT FROM NEW.handle
          OR OLD.headline IS DISTINCT FROM NEW.headline)
    EXECUTE FUNCTION profile_search_row_changed();
CREATE TRIGGER profile_search_profile_changed
    AFTER UPDATE OF company_name, job_title, industry, city, about ON business_profiles
    FOR EACH ROW
    WHEN (OLD.company_name IS DISTINCT FROM NEW.company_name
          OR OLD.job_title IS DISTINCT FROM NEW.job_title
          OR OLD.industry IS DISTINCT FROM NEW.industry
          OR OLD.city IS DISTINCT FROM NEW.city
          OR OLD.about IS DISTINCT FROM NEW.about)
    EXECUTE FUNCTION profile_search_row_changed();

-- Members who exist already.
SELECT profile_search_refresh(ARRAY(SELECT id FROM users));
