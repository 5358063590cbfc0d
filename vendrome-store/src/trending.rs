//! [`TrendingRepo`] on both databases: the last week's engagements with public, live posts (and
//! their topics), and the stored lists.

use std::collections::HashMap;

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::PostVisibility;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::time::Timestamp;
use vendrome_core::trending::{
    Engagement, EngagementKind, TrendKind, TrendingItem, TrendingRepo, Window,
};
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::{with_db, Store};

/// Post ids per topic lookup.
const TOPIC_BATCH: usize = 500;

#[derive(sqlx::FromRow)]
struct EngagementRow {
    post_id: Uuid,
    user_id: Uuid,
    kind: String,
    created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    item_id: String,
    score: f64,
    engagers: i64,
    posts: i64,
}

#[async_trait]
impl TrendingRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn engagements_since(&self, since: Timestamp) -> Result<Vec<Engagement>> {
        let mut sql = SqlText::new(
            self.dialect(),
            "SELECT e.post_id, e.user_id, e.kind, e.created_at FROM (\
             SELECT post_id, user_id, 'reaction' AS kind, created_at FROM post_reactions WHERE created_at > $1 \
             UNION ALL SELECT post_id, author_id, 'comment', created_at FROM post_comments \
             WHERE created_at > $1 AND deleted_at IS NULL \
             UNION ALL SELECT post_id, user_id, 'repost', created_at FROM post_reposts WHERE created_at > $1 \
             UNION ALL SELECT post_id, user_id, 'share', created_at FROM post_shares WHERE created_at > $1\
             ) e JOIN posts p ON p.id = e.post_id AND p.deleted_at IS NULL AND e.user_id <> p.author_id \
             JOIN users a ON a.id = p.author_id AND a.disabled_at IS NULL WHERE p.visibility = ",
        );
        sql.args.push(Arg::At(since));
        sql.enum_value(PostVisibility::Public);
        let rows: Vec<EngagementRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, EngagementRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;

        // The topics of the engaged posts, a batch of ids at a time.
        let mut posts: Vec<Uuid> = rows.iter().map(|r| r.post_id).collect();
        posts.sort();
        posts.dedup();
        let mut topics: HashMap<Uuid, Vec<String>> = HashMap::new();
        for batch in posts.chunks(TOPIC_BATCH) {
            let mut sql = SqlText::new(
                self.dialect(),
                "SELECT pt.post_id, t.slug FROM post_topics pt JOIN topics t ON t.id = pt.topic_id \
                 WHERE pt.post_id IN (",
            );
            for (i, post) in batch.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.uuid(*post);
            }
            sql.push(")");
            let pairs: Vec<(Uuid, String)> = with_db!(&self.db, pool => {
                bind_args!(sqlx::query_as::<_, (Uuid, String)>(&sql.text), sql).fetch_all(pool).await
            })
            .or_unexpected()?;
            for (post, slug) in pairs {
                topics.entry(post).or_default().push(slug);
            }
        }
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let kind = match row.kind.as_str() {
                    "reaction" => EngagementKind::Reaction,
                    "comment" => EngagementKind::Comment,
                    "repost" => EngagementKind::Repost,
                    "share" => EngagementKind::Share,
                    _ => return None,
                };
                Some(Engagement {
                    post: PostId::from_uuid(row.post_id),
                    member: UserId::from_uuid(row.user_id),
                    kind,
                    at: row.created_at,
                    topics: topics.get(&row.post_id).cloned().unwrap_or_default(),
                })
            })
            .collect())
    }

    #[tracing::instrument(skip(self, items))]
    async fn store_trending(
        &self,
        window: Window,
        kind: TrendKind,
        items: &[TrendingItem],
        computed_at: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM trending_items WHERE time_window = $1 AND kind = $2")
                .bind(window.as_str())
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await?;
            for (rank, item) in items.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO trending_items (time_window, kind, rank, item_id, score, engagers, posts, computed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(window.as_str())
                .bind(kind.as_str())
                .bind(rank as i64 + 1)
                .bind(&item.id)
                .bind(item.score)
                .bind(item.engagers)
                .bind(item.posts)
                .bind(computed_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .or_unexpected()
    }

    async fn trending(
        &self,
        window: Window,
        kind: TrendKind,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<TrendingItem>> {
        let rows: Vec<ItemRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT item_id, score, engagers, posts FROM trending_items \
                 WHERE time_window = $1 AND kind = $2 AND rank > $3 ORDER BY rank LIMIT $4",
            )
            .bind(window.as_str())
            .bind(kind.as_str())
            .bind(offset)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(rows
            .into_iter()
            .map(|r| TrendingItem {
                id: r.item_id,
                score: r.score,
                engagers: r.engagers,
                posts: r.posts,
            })
            .collect())
    }
}
