-- Business profiles, second part: the member's role at their company, a cover image and skills;
-- indexes for the directory's two orders.
ALTER TABLE business_profiles ADD COLUMN job_title TEXT;
ALTER TABLE business_profiles ADD COLUMN cover_url TEXT;

-- A set, so a child table (SQLite has no arrays); lower case so a filter is an equality.
CREATE TABLE business_profile_skills (
    user_id BLOB NOT NULL REFERENCES business_profiles (user_id) ON DELETE CASCADE,
    skill   TEXT NOT NULL CHECK (skill = lower(skill)),
    PRIMARY KEY (user_id, skill)
) STRICT;

CREATE INDEX business_profile_skills_by_skill ON business_profile_skills (skill, user_id);

-- Directory: newest members first, and most connected first.
CREATE INDEX users_directory_newest ON users (created_at DESC, id DESC) WHERE disabled_at IS NULL;
CREATE INDEX business_profiles_most_connected ON business_profiles (connection_count DESC, user_id DESC);
