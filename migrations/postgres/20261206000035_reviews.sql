-- Expand only: binaries older than this migration keep working (they never wrote reviews; the new
-- columns are nullable, the rest is a new type, new tables and an index).
-- Reviews: the seller's or provider's one reply, the listings a review is about, and the rating
-- aggregates kept in the writing transaction.

-- The one reply of the reviewed member (the seller or provider), NULL until they reply.
ALTER TABLE reviews ADD COLUMN reply_body text;
ALTER TABLE reviews ADD COLUMN replied_at timestamptz;

CREATE INDEX reviews_subject_rating ON reviews (subject_user_id, rating DESC, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- The listings a review is about: every product of the reviewed order, or the booked service.
CREATE TABLE review_posts (
    review_id uuid NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    post_id   uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, review_id)
);

CREATE INDEX review_posts_review ON review_posts (review_id);

-- Ratings kept as integers, changed in the transaction of the review (or feedback) that moves
-- them: a count, a sum and a histogram; the average is sum / count, computed when read. Scopes:
-- `listing` (a post), `seller` (a member as seller or provider, from reviews) and `mentor` (a
-- member as mentor, from their mentees' feedback). The checks keep the three consistent.
CREATE TYPE rating_scope AS ENUM ('listing', 'seller', 'mentor');

CREATE TABLE rating_stats (
    scope        rating_scope NOT NULL,
    subject_id   uuid NOT NULL,
    rating_count bigint NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum   bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    count_1      bigint NOT NULL DEFAULT 0 CHECK (count_1 >= 0),
    count_2      bigint NOT NULL DEFAULT 0 CHECK (count_2 >= 0),
    count_3      bigint NOT NULL DEFAULT 0 CHECK (count_3 >= 0),
    count_4      bigint NOT NULL DEFAULT 0 CHECK (count_4 >= 0),
    count_5      bigint NOT NULL DEFAULT 0 CHECK (count_5 >= 0),
    PRIMARY KEY (scope, subject_id),
    CHECK (rating_count = count_1 + count_2 + count_3 + count_4 + count_5),
    CHECK (rating_sum = count_1 + 2 * count_2 + 3 * count_3 + 4 * count_4 + 5 * count_5)
);
