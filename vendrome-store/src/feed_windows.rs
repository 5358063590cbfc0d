//! [`FeedRepo::windows`](vendrome_core::posts::feed::FeedRepo::windows): the newest entries of
//! many home-feed sources at once, with only the rules that hold for every viewer (live posts,
//! by members not disabled), for the home-feed cache to keep and share between readers.
//!
//! PostgreSQL reads every source asked for in one statement: a `LATERAL` index scan per author,
//! topic and reposter, each stopping after `window` rows. SQLite has no `LATERAL` nor arrays:
//! each source is an arm of a `UNION ALL`, a bounded number of arms a statement.

use uuid::Uuid;
use vendrome_core::enums::{PostVisibility, VerificationLevel};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::posts::feed::FeedKey;
use vendrome_core::posts::home_cache::sources::{PostMark, RepostMark, Windows, WindowsWanted};
use vendrome_core::posts::AuthorSummary;
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::db::{Db, Dialect};
use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::Store;

/// A post by a member who is not disabled (`{author}` is the author's id).
fn author_enabled(author: &str) -> String {
    format!(" AND NOT EXISTS (SELECT 1 FROM users du WHERE du.id = {author} AND du.disabled_at IS NOT NULL)")
}

/// All three kinds in one statement, the sources as arrays.
static POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(postgres_statement);

fn postgres_statement() -> String {
    let none = "NULL::text AS quote, NULL::text AS display_name, NULL::text AS handle, \
                NULL::text AS avatar_url, NULL::verification_level AS verification_level, \
                false AS disabled";
    format!(
        "SELECT 0 AS src, a.id AS owner, NULL::text AS slug, p.id AS post_id, p.created_at AS at, \
             a.id AS author_id, p.visibility, {none} \
         FROM unnest($1::uuid[]) a(id) CROSS JOIN LATERAL (\
             SELECT p.id, p.created_at, p.visibility FROM posts p \
             WHERE p.author_id = a.id AND p.deleted_at IS NULL \
             ORDER BY p.created_at DESC, p.id DESC LIMIT $4) p \
         WHERE NOT EXISTS (SELECT 1 FROM users du WHERE du.id = a.id AND du.disabled_at IS NOT NULL) \
         UNION ALL \
         SELECT 1, NULL, t.slug::text, x.post_id, x.at, x.author_id, x.visibility, {none} \
         FROM topics t CROSS JOIN LATERAL (\
             SELECT pt.post_id, pt.created_at AS at, p.author_id, p.visibility \
             FROM post_topics pt JOIN posts p ON p.id = pt.post_id \
             WHERE pt.topic_id = t.id AND p.deleted_at IS NULL{enabled} \
             ORDER BY pt.created_at DESC, pt.post_id DESC LIMIT $4) x \
         WHERE t.slug = ANY($2) \
         UNION ALL \
         SELECT 2, u.id, NULL, r.post_id, r.created_at, r.author_id, r.visibility, r.quote, \
             u.display_name, u.handle, u.avatar_url, u.verification_level, u.disabled_at IS NOT NULL \
         FROM unnest($3::uuid[]) a(id) JOIN users u ON u.id = a.id CROSS JOIN LATERAL (\
             SELECT r.post_id, r.created_at, r.quote, p.author_id, p.visibility \
             FROM post_reposts r JOIN posts p ON p.id = r.post_id \
             WHERE r.user_id = a.id AND p.deleted_at IS NULL AND r.created_at > p.created_at{enabled} \
             ORDER BY r.created_at DESC, r.post_id DESC LIMIT $4) r",
        enabled = author_enabled("p.author_id"),
    )
}

/// Arms of a SQLite statement at most (its compound-select limit is 500).
const ARMS: usize = 100;

/// One source of the window as a SQLite `UNION ALL` arm.
enum Arm<'a> {
    Author(Uuid),
    Topic(&'a str),
    Reposter(Uuid),
}

fn sqlite_arm(sql: &mut SqlText, arm: &Arm<'_>, window: u32) {
    let none = "NULL AS quote, NULL AS display_name, NULL AS handle, NULL AS avatar_url, \
                NULL AS verification_level, 0 AS disabled";
    sql.push("SELECT * FROM (");
    match arm {
        Arm::Author(author) => {
            sql.push(&format!(
                "SELECT 0 AS src, p.author_id AS owner, NULL AS slug, p.id AS post_id, \
                 p.created_at AS at, p.author_id, p.visibility, {none} FROM posts p \
                 WHERE p.deleted_at IS NULL AND p.author_id = "
            ))
            .uuid(*author)
            .push(&author_enabled("p.author_id"))
            .push(" ORDER BY p.created_at DESC, p.id DESC");
        }
        Arm::Topic(slug) => {
            sql.push(&format!(
                "SELECT 1 AS src, NULL AS owner, t.slug, pt.post_id, pt.created_at AS at, \
                 p.author_id, p.visibility, {none} \
                 FROM topics t JOIN post_topics pt ON pt.topic_id = t.id \
                 JOIN posts p ON p.id = pt.post_id WHERE p.deleted_at IS NULL AND t.slug = "
            ))
            .bind(Arg::Text((*slug).to_owned()))
            .push(&author_enabled("p.author_id"))
            .push(" ORDER BY pt.created_at DESC, pt.post_id DESC");
        }
        Arm::Reposter(reposter) => {
            sql.push(
                "SELECT 2 AS src, u.id AS owner, NULL AS slug, r.post_id, r.created_at AS at, \
                 p.author_id, p.visibility, r.quote, u.display_name, u.handle, u.avatar_url, \
                 u.verification_level, u.disabled_at IS NOT NULL AS disabled \
                 FROM post_reposts r JOIN posts p ON p.id = r.post_id JOIN users u ON u.id = r.user_id \
                 WHERE p.deleted_at IS NULL AND r.created_at > p.created_at AND r.user_id = ",
            )
            .uuid(*reposter)
            .push(&author_enabled("p.author_id"))
            .push(" ORDER BY r.created_at DESC, r.post_id DESC");
        }
    }
    sql.push(" LIMIT ").bind(Arg::Int(window.into())).push(")");
}

#[derive(sqlx::FromRow)]
struct WindowRow {
    src: i32,
    owner: Option<Uuid>,
    slug: Option<String>,
    post_id: Uuid,
    at: Timestamp,
    author_id: Uuid,
    visibility: DbEnum<PostVisibility>,
    quote: Option<String>,
    display_name: Option<String>,
    handle: Option<String>,
    avatar_url: Option<String>,
    verification_level: Option<DbEnum<VerificationLevel>>,
    disabled: bool,
}

/// Sorts the rows into their windows, keeping the order they came in (newest first in each).
fn windows_of(rows: Vec<WindowRow>) -> Windows {
    let mut windows = Windows::default();
    for row in rows {
        let key = FeedKey {
            at: row.at,
            post: PostId::from_uuid(row.post_id),
        };
        let author = UserId::from_uuid(row.author_id);
        let visibility = row.visibility.0;
        match (row.src, row.owner, row.slug) {
            (0, Some(owner), _) => {
                let mark = PostMark {
                    key,
                    author,
                    visibility,
                };
                windows
                    .authors
                    .entry(UserId::from_uuid(owner))
                    .or_default()
                    .push(mark);
            }
            (1, _, Some(slug)) => {
                let mark = PostMark {
                    key,
                    author,
                    visibility,
                };
                windows.topics.entry(slug).or_default().push(mark);
            }
            (2, Some(owner), _) => {
                let reposter = UserId::from_uuid(owner);
                let marks = windows.reposters.entry(reposter).or_default();
                if marks.by.is_none() {
                    marks.by = Some(AuthorSummary {
                        id: reposter,
                        display_name: row.display_name.unwrap_or_default(),
                        handle: row.handle,
                        avatar_url: row.avatar_url,
                        verification_level: row
                            .verification_level
                            .map_or(VerificationLevel::Unverified, |v| v.0),
                    });
                    marks.disabled = row.disabled;
                }
                marks.reposts.push(RepostMark {
                    key,
                    author,
                    visibility,
                    quote: row.quote,
                });
            }
            _ => {}
        }
    }
    // Newest first, whatever order the arms' rows came in.
    let newest_first = |a: &FeedKey, b: &FeedKey| b.cmp(a);
    for marks in windows
        .authors
        .values_mut()
        .chain(windows.topics.values_mut())
    {
        marks.sort_by(|a, b| newest_first(&a.key, &b.key));
    }
    for marks in windows.reposters.values_mut() {
        marks.reposts.sort_by(|a, b| newest_first(&a.key, &b.key));
    }
    windows
}

/// See the module documentation.
pub(crate) async fn windows(store: &Store, wanted: &WindowsWanted, window: u32) -> Result<Windows> {
    if wanted.is_empty() {
        return Ok(Windows::default());
    }
    let rows: Vec<WindowRow> = match &store.db {
        Db::Postgres(pool) => {
            let uuids = |ids: &[UserId]| ids.iter().map(|id| id.as_uuid()).collect::<Vec<_>>();
            sqlx::query_as(POSTGRES.as_str())
                .bind(uuids(&wanted.authors))
                .bind(&wanted.topics)
                .bind(uuids(&wanted.reposters))
                .bind(i64::from(window))
                .fetch_all(pool)
                .await
                .or_unexpected()?
        }
        Db::Sqlite(pool) => {
            let arms: Vec<Arm<'_>> = (wanted.authors.iter().map(|a| Arm::Author(a.as_uuid())))
                .chain(wanted.topics.iter().map(|t| Arm::Topic(t)))
                .chain(wanted.reposters.iter().map(|r| Arm::Reposter(r.as_uuid())))
                .collect();
            let mut rows = Vec::new();
            for chunk in arms.chunks(ARMS) {
                let mut sql = SqlText::new(Dialect::Sqlite, "");
                for (i, arm) in chunk.iter().enumerate() {
                    if i > 0 {
                        sql.push(" UNION ALL ");
                    }
                    sqlite_arm(&mut sql, arm, window);
                }
                let part: Vec<WindowRow> =
                    bind_args!(sqlx::query_as::<_, WindowRow>(&sql.text), sql)
                        .fetch_all(pool)
                        .await
                        .or_unexpected()?;
                rows.extend(part);
            }
            rows
        }
    };
    Ok(windows_of(rows))
}
