//! The topic half of [`GraphRepo`](vendrome_core::graph::GraphRepo) (listing, following) and
//! "people you may know".

use uuid::Uuid;
use vendrome_core::events::{DomainEvent, TopicFollowChanged};
use vendrome_core::graph::{Suggestion, Topic, TopicSlug};
use vendrome_core::ids::{TopicId, UserId};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::{time, Result};

use crate::error::SqlxResultExt as _;
use crate::graph::{SummaryRow, SUMMARY_COLUMNS};
use crate::writes::commit_if_changed;
use crate::{with_db, Store};

pub(crate) const TOPIC_COLUMNS: &str =
    "t.id, t.slug, t.name, t.description, t.follower_count, t.post_count, t.created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct TopicRow {
    id: Uuid,
    slug: String,
    name: String,
    description: String,
    follower_count: i64,
    post_count: i64,
    created_at: Timestamp,
}

impl From<TopicRow> for Topic {
    fn from(row: TopicRow) -> Self {
        Topic {
            id: TopicId::from_uuid(row.id),
            slug: row.slug,
            name: row.name,
            description: row.description,
            follower_count: row.follower_count,
            post_count: row.post_count,
            created_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SuggestionRow {
    #[sqlx(flatten)]
    user: SummaryRow,
    mutual: i64,
    shared: i64,
    score: i64,
}

/// One query: the caller's accepted connections, their accepted connections (second degree,
/// counted by distinct mutual connection), members following the same topics (counted by
/// topic), merged, scored (a mutual connection weighs 100 shared topics) and filtered.
const SUGGESTIONS: &str = "
WITH mine AS (
    SELECT CASE WHEN requester_id = $1 THEN addressee_id ELSE requester_id END AS uid
    FROM connections WHERE (requester_id = $1 OR addressee_id = $1) AND status = 'accepted'
),
second AS (
    SELECT CASE WHEN c.requester_id = m.uid THEN c.addressee_id ELSE c.requester_id END AS uid, m.uid AS via
    FROM connections c JOIN mine m ON (c.requester_id = m.uid OR c.addressee_id = m.uid)
    WHERE c.status = 'accepted'
),
candidates AS (
    SELECT uid, COUNT(DISTINCT via) AS mutual, 0 AS shared FROM second GROUP BY uid
    UNION ALL
    SELECT o.user_id AS uid, 0 AS mutual, COUNT(*) AS shared
    FROM user_topic_follows t JOIN user_topic_follows o ON o.topic_id = t.topic_id AND o.user_id <> t.user_id
    WHERE t.user_id = $1 GROUP BY o.user_id
),
scored AS (
    SELECT uid, CAST(SUM(mutual) AS BIGINT) AS mutual, CAST(SUM(shared) AS BIGINT) AS shared,
           CAST(SUM(mutual) * 100 + SUM(shared) AS BIGINT) AS score
    FROM candidates GROUP BY uid
)
SELECT {SUMMARY}, s.mutual, s.shared, s.score
FROM scored s JOIN users u ON u.id = s.uid
WHERE s.uid <> $1 AND u.disabled_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.status IN ('pending', 'accepted')
      AND ((c.requester_id = $1 AND c.addressee_id = s.uid) OR (c.requester_id = s.uid AND c.addressee_id = $1)))
  AND NOT EXISTS (SELECT 1 FROM user_blocks b
      WHERE (b.blocker_id = $1 AND b.blocked_id = s.uid) OR (b.blocker_id = s.uid AND b.blocked_id = $1))
  AND ($2 IS NULL OR s.score < $2 OR (s.score = $2 AND s.uid < $3))
ORDER BY s.score DESC, s.uid DESC
LIMIT $4";

impl Store {
    /// All topics, or those `follower` follows, by slug.
    pub(crate) async fn topics_page(
        &self,
        follower: Option<UserId>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Topic>> {
        let after: Option<String> = after.map(|c| c.decode()).transpose()?;
        let sql = match follower {
            None => format!(
                "SELECT {TOPIC_COLUMNS} FROM topics t WHERE ($1 IS NULL OR t.slug > $1) \
                 ORDER BY t.slug LIMIT $2"
            ),
            Some(_) => format!(
                "SELECT {TOPIC_COLUMNS} FROM user_topic_follows f JOIN topics t ON t.id = f.topic_id \
                 WHERE f.user_id = $3 AND ($1 IS NULL OR t.slug > $1) ORDER BY t.slug LIMIT $2"
            ),
        };
        let rows: Vec<TopicRow> = with_db!(&self.db, pool => {
            let query = sqlx::query_as(&sql).bind(after.as_deref()).bind(limit.probe());
            let query = match follower {
                Some(user) => query.bind(user.as_uuid()),
                None => query,
            };
            query.fetch_all(pool).await
        })
        .or_unexpected()?;
        let topics = rows.into_iter().map(Topic::from).collect();
        Ok(Page::from_probe(topics, limit, |t: &Topic| t.slug.clone()))
    }

    pub(crate) async fn topic_row(&self, slug: &TopicSlug) -> Result<Option<Topic>> {
        let sql = format!("SELECT {TOPIC_COLUMNS} FROM topics t WHERE t.slug = $1");
        let row: Option<TopicRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(slug.as_str()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Topic::from))
    }

    /// Follows (`on`) or unfollows a topic; `false` when nothing changed.
    #[tracing::instrument(skip(self, topic), fields(topic = %topic.slug))]
    pub(crate) async fn set_topic_follow(
        &self,
        user: UserId,
        topic: &Topic,
        on: bool,
    ) -> Result<bool> {
        let now = time::now();
        let (change, counter, kind): (&str, &str, fn(TopicFollowChanged) -> DomainEvent) = if on {
            (
                "INSERT INTO user_topic_follows (user_id, topic_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, topic_id) DO NOTHING",
                "UPDATE topics SET follower_count = follower_count + 1 WHERE id = $1",
                DomainEvent::TopicFollowed,
            )
        } else {
            (
                "DELETE FROM user_topic_follows WHERE user_id = $1 AND topic_id = $2",
                "UPDATE topics SET follower_count = follower_count - 1 WHERE id = $1",
                DomainEvent::TopicUnfollowed,
            )
        };
        let change_event = TopicFollowChanged {
            user_id: user,
            topic_id: topic.id,
            slug: topic.slug.clone(),
        };
        let event = NewEvent::new(kind(change_event));
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let query = sqlx::query(change).bind(user.as_uuid()).bind(topic.id.as_uuid());
            let query = if on { query.bind(now) } else { query };
            let changed = query
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if changed {
                sqlx::query(counter).bind(topic.id.as_uuid()).execute(&mut *tx).await?;
            }
            commit_if_changed(tx, changed, &event, now).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, after))]
    pub(crate) async fn suggestions_page(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Suggestion>> {
        let (score, id): (Option<i64>, Option<Uuid>) = match after {
            Some(cursor) => {
                let (score, id): (i64, Uuid) = cursor.decode()?;
                (Some(score), Some(id))
            }
            None => (None, None),
        };
        let sql = SUGGESTIONS.replace("{SUMMARY}", SUMMARY_COLUMNS);
        let rows: Vec<SuggestionRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(user.as_uuid())
                .bind(score)
                .bind(id)
                .bind(limit.probe())
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        let items = rows
            .into_iter()
            .map(|r| Suggestion {
                user: r.user.into(),
                mutual_connections: r.mutual,
                shared_topics: r.shared,
                score: r.score,
            })
            .collect();
        Ok(Page::from_probe(items, limit, |s: &Suggestion| {
            (s.score, s.user.id.as_uuid())
        }))
    }
}
