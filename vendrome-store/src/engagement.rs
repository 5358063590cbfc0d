//! [`EngagementRepo`] on both databases.
//!
//! Every write opens its transaction by locking the post row (`lock_post`): on PostgreSQL a
//! row lock, so writers on one post queue up; on SQLite a write, so the transaction holds the
//! database's write lock before it reads anything (a read first would make a later upgrade fail
//! with SQLITE_BUSY under concurrency). Counters then change only when the counted row really
//! changed (`rows_affected`), in the same transaction, so they stay exact.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::{ReactionKind, ShareChannel, VerificationLevel};
use vendrome_core::ids::{CommentId, PostId, ShareId, UserId};
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::posts::engagement::{Comment, CommentBody, EngagementRepo, Reaction};
use vendrome_core::posts::{events, AuthorSummary};
use vendrome_core::time::Timestamp;
use vendrome_core::validation::ValidationErrors;
use vendrome_core::{time, Error, Result, SqlEnum};

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Dialect, Store};

/// Locks a live post for the rest of the transaction; no row when it is unknown or deleted.
fn lock_post(dialect: Dialect) -> &'static str {
    dialect.pick(
        "SELECT id FROM posts WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE",
        "UPDATE posts SET id = id WHERE id = $1 AND deleted_at IS NULL RETURNING id",
    )
}

/// Opens a transaction on `$pool` with post `$post` locked; ends the body with `Ok(None)` when
/// the post is not live.
macro_rules! begin_on_post {
    ($pool:expr, $dialect:expr, $post:expr) => {{
        let mut tx = $pool.begin().await?;
        let live: Option<Uuid> = sqlx::query_scalar(lock_post($dialect))
            .bind($post)
            .fetch_optional(&mut *tx)
            .await?;
        if live.is_none() {
            return Ok(None);
        }
        tx
    }};
}

fn kind_of(label: Option<String>) -> Option<ReactionKind> {
    label.as_deref().and_then(ReactionKind::from_label)
}

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: Uuid,
    post_id: Uuid,
    parent_id: Option<Uuid>,
    body: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    author_id: Uuid,
    display_name: String,
    handle: Option<String>,
    avatar_url: Option<String>,
    verification_level: DbEnum<VerificationLevel>,
}

impl From<CommentRow> for Comment {
    fn from(r: CommentRow) -> Self {
        Comment {
            id: CommentId::from_uuid(r.id),
            post_id: PostId::from_uuid(r.post_id),
            parent_id: r.parent_id.map(CommentId::from_uuid),
            author: AuthorSummary {
                id: UserId::from_uuid(r.author_id),
                display_name: r.display_name,
                handle: r.handle,
                avatar_url: r.avatar_url,
                verification_level: r.verification_level.0,
            },
            body: r.body,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ReactionRow {
    kind: DbEnum<ReactionKind>,
    created_at: Timestamp,
    author_id: Uuid,
    display_name: String,
    handle: Option<String>,
    avatar_url: Option<String>,
    verification_level: DbEnum<VerificationLevel>,
}

#[derive(sqlx::FromRow)]
struct BookmarkRow {
    post_id: Uuid,
    created_at: Timestamp,
}

const COMMENT_SELECT: &str =
    "SELECT c.id, c.post_id, c.parent_id, c.body, c.created_at, c.updated_at, \
    u.id AS author_id, u.display_name, u.handle, u.avatar_url, u.verification_level \
    FROM post_comments c JOIN users u ON u.id = c.author_id JOIN posts p ON p.id = c.post_id \
    WHERE c.deleted_at IS NULL AND p.deleted_at IS NULL AND u.disabled_at IS NULL";

fn post_missing<T>(outcome: Option<T>) -> Result<T> {
    outcome.ok_or(Error::not_found("post"))
}

/// The outcome of adding a comment.
enum Added {
    Comment(CommentId),
    BadParent,
}

#[async_trait]
impl EngagementRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn set_reaction(&self, post: PostId, user: UserId, kind: ReactionKind) -> Result<()> {
        let now = time::now();
        let (p, u) = (post.as_uuid(), user.as_uuid());
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            let inserted = sqlx::query("INSERT INTO post_reactions (post_id, user_id, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (post_id, user_id) DO NOTHING")
                .bind(p).bind(u).bind(DbEnum(kind)).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 1 {
                sqlx::query("UPDATE posts SET reaction_count = reaction_count + 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
                tx.append_event(&events::reaction_set(post, user, kind, None), now).await?;
            } else {
                let previous: Option<String> = sqlx::query_scalar("SELECT CAST(kind AS TEXT) FROM post_reactions WHERE post_id = $1 AND user_id = $2")
                    .bind(p).bind(u).fetch_optional(&mut *tx).await?;
                let previous = kind_of(previous);
                if previous != Some(kind) {
                    sqlx::query("UPDATE post_reactions SET kind = $3, updated_at = $4 WHERE post_id = $1 AND user_id = $2")
                        .bind(p).bind(u).bind(DbEnum(kind)).bind(now).execute(&mut *tx).await?;
                    tx.append_event(&events::reaction_set(post, user, kind, previous), now).await?;
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(()))
        })
        .or_unexpected()?;
        post_missing(done)
    }

    #[tracing::instrument(skip(self))]
    async fn remove_reaction(&self, post: PostId, user: UserId) -> Result<()> {
        let now = time::now();
        let (p, u) = (post.as_uuid(), user.as_uuid());
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            let removed: Option<String> = sqlx::query_scalar("DELETE FROM post_reactions WHERE post_id = $1 AND user_id = $2 RETURNING CAST(kind AS TEXT)")
                .bind(p).bind(u).fetch_optional(&mut *tx).await?;
            if let Some(kind) = kind_of(removed) {
                sqlx::query("UPDATE posts SET reaction_count = reaction_count - 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
                tx.append_event(&events::reaction_removed(post, user, kind), now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(()))
        })
        .or_unexpected()?;
        post_missing(done)
    }

    #[tracing::instrument(skip(self, after))]
    async fn reactions(
        &self,
        post: PostId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Reaction>> {
        let after: Option<(Timestamp, Uuid)> = after
            .map(Cursor::decode)
            .transpose()
            .map_err(cursor_error)?;
        let rows: Vec<(ReactionRow, Uuid)> = with_db!(&self.db, pool => {
            let mut q = sqlx::QueryBuilder::new("SELECT r.kind, r.created_at, u.id AS author_id, u.display_name, u.handle, u.avatar_url, u.verification_level \
                FROM post_reactions r JOIN users u ON u.id = r.user_id WHERE u.disabled_at IS NULL AND r.post_id = ");
            q.push_bind(post.as_uuid());
            if let Some((at, id)) = after {
                q.push(" AND (r.created_at < ").push_bind(at).push(" OR (r.created_at = ").push_bind(at).push(" AND r.user_id < ").push_bind(id).push("))");
            }
            q.push(" ORDER BY r.created_at DESC, r.user_id DESC LIMIT ").push_bind(limit.probe());
            let rows: Vec<ReactionRow> = q.build_query_as().fetch_all(pool).await?;
            Ok::<_, sqlx::Error>(rows.into_iter().map(|r| { let id = r.author_id; (r, id) }).collect())
        })
        .or_unexpected()?;
        let page = Page::from_probe(rows, limit, |(r, id)| (r.created_at, *id));
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|(r, _)| Reaction {
                    user: AuthorSummary {
                        id: UserId::from_uuid(r.author_id),
                        display_name: r.display_name,
                        handle: r.handle,
                        avatar_url: r.avatar_url,
                        verification_level: r.verification_level.0,
                    },
                    kind: r.kind.0,
                    created_at: r.created_at,
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn set_bookmark(&self, post: PostId, user: UserId) -> Result<()> {
        let now = time::now();
        let (p, u) = (post.as_uuid(), user.as_uuid());
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            let inserted = sqlx::query("INSERT INTO bookmarks (user_id, post_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, post_id) DO NOTHING")
                .bind(u).bind(p).bind(now).execute(&mut *tx).await?.rows_affected();
            if inserted == 1 {
                sqlx::query("UPDATE posts SET bookmark_count = bookmark_count + 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
                tx.append_event(&events::bookmark_set(post, user), now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(()))
        })
        .or_unexpected()?;
        post_missing(done)
    }

    #[tracing::instrument(skip(self))]
    async fn remove_bookmark(&self, post: PostId, user: UserId) -> Result<()> {
        let (p, u) = (post.as_uuid(), user.as_uuid());
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            let removed = sqlx::query("DELETE FROM bookmarks WHERE user_id = $1 AND post_id = $2")
                .bind(u).bind(p).execute(&mut *tx).await?.rows_affected();
            if removed == 1 {
                sqlx::query("UPDATE posts SET bookmark_count = bookmark_count - 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
                tx.append_event(&events::bookmark_removed(post, user), time::now()).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(()))
        })
        .or_unexpected()?;
        post_missing(done)
    }

    #[tracing::instrument(skip(self, after))]
    async fn bookmarks(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<PostId>> {
        let after: Option<(Timestamp, Uuid)> = after
            .map(Cursor::decode)
            .transpose()
            .map_err(cursor_error)?;
        let rows: Vec<BookmarkRow> = with_db!(&self.db, pool => {
            let mut q = sqlx::QueryBuilder::new("SELECT b.post_id, b.created_at FROM bookmarks b JOIN posts p ON p.id = b.post_id \
                WHERE p.deleted_at IS NULL AND b.user_id = ");
            q.push_bind(user.as_uuid());
            if let Some((at, id)) = after {
                q.push(" AND (b.created_at < ").push_bind(at).push(" OR (b.created_at = ").push_bind(at).push(" AND b.post_id < ").push_bind(id).push("))");
            }
            q.push(" ORDER BY b.created_at DESC, b.post_id DESC LIMIT ").push_bind(limit.probe());
            q.build_query_as().fetch_all(pool).await
        })
        .or_unexpected()?;
        let page = Page::from_probe(rows, limit, |r| (r.created_at, r.post_id));
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|r| PostId::from_uuid(r.post_id))
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    #[tracing::instrument(skip(self, body))]
    async fn add_comment(
        &self,
        post: PostId,
        author: UserId,
        parent: Option<CommentId>,
        body: CommentBody,
    ) -> Result<Comment> {
        let now = time::now();
        let id = CommentId::new();
        let p = post.as_uuid();
        let added = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            if let Some(parent) = parent {
                // One level of replies: the parent is a live top-level comment of this post.
                let ok: Option<Uuid> = sqlx::query_scalar("SELECT id FROM post_comments WHERE id = $1 AND post_id = $2 AND parent_id IS NULL AND deleted_at IS NULL")
                    .bind(parent.as_uuid()).bind(p).fetch_optional(&mut *tx).await?;
                if ok.is_none() {
                    return Ok(Some(Added::BadParent));
                }
            }
            sqlx::query("INSERT INTO post_comments (id, post_id, author_id, parent_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
                .bind(id.as_uuid()).bind(p).bind(author.as_uuid()).bind(parent.map(|c| c.as_uuid())).bind(body.as_str()).bind(now)
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
            tx.append_event(&events::comment_created(id, post, parent, author), now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(Added::Comment(id)))
        })
        .or_unexpected()?;
        match post_missing(added)? {
            Added::BadParent => Err(ValidationErrors::single(
                "parent_id",
                "invalid_parent",
                "must be a top-level comment of the same post",
            )
            .into()),
            Added::Comment(id) => self
                .comment_by_id(id)
                .await?
                .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("comment {id:?} vanished"))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn comment_by_id(&self, id: CommentId) -> Result<Option<Comment>> {
        let sql = format!("{COMMENT_SELECT} AND c.id = $1");
        let row: Option<CommentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Comment::from))
    }

    #[tracing::instrument(skip(self, body))]
    async fn update_comment(&self, id: CommentId, body: CommentBody) -> Result<Comment> {
        let now = time::now();
        let changed: Option<(Uuid, Uuid)> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(Uuid, Uuid)> = sqlx::query_as("UPDATE post_comments SET body = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL RETURNING post_id, author_id")
                .bind(id.as_uuid()).bind(body.as_str()).bind(now).fetch_optional(&mut *tx).await?;
            if let Some((post, author)) = row {
                tx.append_event(&events::comment_updated(id, PostId::from_uuid(post), UserId::from_uuid(author)), now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        changed.ok_or(Error::not_found("comment"))?;
        self.comment_by_id(id)
            .await?
            .ok_or(Error::not_found("comment"))
    }

    #[tracing::instrument(skip(self))]
    async fn delete_comment(&self, id: CommentId, by: UserId) -> Result<()> {
        let now = time::now();
        let deleted: Option<(Uuid, Uuid)> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(Uuid, Uuid)> = sqlx::query_as("UPDATE post_comments SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING post_id, author_id")
                .bind(id.as_uuid()).bind(now).fetch_optional(&mut *tx).await?;
            if let Some((post, author)) = row {
                sqlx::query("UPDATE posts SET comment_count = comment_count - 1 WHERE id = $1").bind(post).execute(&mut *tx).await?;
                tx.append_event(&events::comment_deleted(id, PostId::from_uuid(post), UserId::from_uuid(author), by), now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        deleted.map(drop).ok_or(Error::not_found("comment"))
    }

    #[tracing::instrument(skip(self, after))]
    async fn comments(
        &self,
        post: PostId,
        parent: Option<CommentId>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Comment>> {
        let after: Option<Uuid> = after
            .map(Cursor::decode)
            .transpose()
            .map_err(cursor_error)?;
        let rows: Vec<CommentRow> = with_db!(&self.db, pool => {
            let mut q = sqlx::QueryBuilder::new(COMMENT_SELECT);
            q.push(" AND c.post_id = ").push_bind(post.as_uuid());
            match parent {
                None => { q.push(" AND c.parent_id IS NULL"); }
                Some(parent) => { q.push(" AND c.parent_id = ").push_bind(parent.as_uuid()); }
            }
            if let Some(after) = after {
                q.push(" AND c.id > ").push_bind(after);
            }
            // Comment ids are UUIDv7: id order is creation order.
            q.push(" ORDER BY c.id LIMIT ").push_bind(limit.probe());
            q.build_query_as().fetch_all(pool).await
        })
        .or_unexpected()?;
        let page = Page::from_probe(rows, limit, |r| r.id);
        Ok(Page {
            items: page.items.into_iter().map(Comment::from).collect(),
            next_cursor: page.next_cursor,
        })
    }

    #[tracing::instrument(skip(self, quote))]
    async fn set_repost(&self, post: PostId, user: UserId, quote: Option<String>) -> Result<()> {
        let now = time::now();
        let (p, u) = (post.as_uuid(), user.as_uuid());
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            let inserted = sqlx::query("INSERT INTO post_reposts (post_id, user_id, created_at, quote) VALUES ($1, $2, $3, $4) ON CONFLICT (post_id, user_id) DO NOTHING")
                .bind(p).bind(u).bind(now).bind(&quote).execute(&mut *tx).await?.rows_affected();
            if inserted == 1 {
                sqlx::query("UPDATE posts SET repost_count = repost_count + 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
                tx.append_event(&events::repost_created(post, user, quote.as_deref()), now).await?;
            } else {
                // Reposting again only changes the quote; nothing new to announce.
                sqlx::query("UPDATE post_reposts SET quote = $3 WHERE post_id = $1 AND user_id = $2")
                    .bind(p).bind(u).bind(&quote).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(()))
        })
        .or_unexpected()?;
        post_missing(done)
    }

    #[tracing::instrument(skip(self))]
    async fn remove_repost(&self, post: PostId, user: UserId) -> Result<()> {
        let now = time::now();
        let (p, u) = (post.as_uuid(), user.as_uuid());
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            let removed = sqlx::query("DELETE FROM post_reposts WHERE post_id = $1 AND user_id = $2")
                .bind(p).bind(u).execute(&mut *tx).await?.rows_affected();
            if removed == 1 {
                sqlx::query("UPDATE posts SET repost_count = repost_count - 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
                tx.append_event(&events::repost_removed(post, user), now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(()))
        })
        .or_unexpected()?;
        post_missing(done)
    }

    #[tracing::instrument(skip(self))]
    async fn add_share(
        &self,
        post: PostId,
        user: UserId,
        channel: ShareChannel,
    ) -> Result<ShareId> {
        let now = time::now();
        let id = ShareId::new();
        let p = post.as_uuid();
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = begin_on_post!(pool, dialect, p);
            // Once per member, channel and post: a repeat answers the first share.
            let inserted = sqlx::query(
                "INSERT INTO post_shares (id, post_id, user_id, channel, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (post_id, user_id, channel) DO NOTHING",
            )
            .bind(id.as_uuid()).bind(p).bind(user.as_uuid()).bind(DbEnum(channel)).bind(now).execute(&mut *tx).await?
            .rows_affected() == 1;
            if !inserted {
                let first: Uuid = sqlx::query_scalar(
                    "SELECT id FROM post_shares WHERE post_id = $1 AND user_id = $2 AND channel = $3",
                )
                .bind(p).bind(user.as_uuid()).bind(DbEnum(channel)).fetch_one(&mut *tx).await?;
                return Ok(Some(ShareId::from_uuid(first)));
            }
            sqlx::query("UPDATE posts SET share_count = share_count + 1 WHERE id = $1").bind(p).execute(&mut *tx).await?;
            tx.append_event(&events::share_created(id, post, user, channel), now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(id))
        })
        .or_unexpected()?;
        post_missing(done)
    }
}

/// A cursor that does not decode is the caller's error, reported under `cursor`.
fn cursor_error(errors: ValidationErrors) -> Error {
    let mut named = ValidationErrors::new();
    named.check::<()>("cursor", Err(errors));
    Error::Invalid(named)
}
