//! [`FeedRepo`] for [`Store`]: the entries of each feed source, newest first on
//! `(created_at, post id)`, bounded per source so that a page costs the same at any depth.
//!
//! The home feed's sources read the viewer's people from one `WITH people AS (…)`, and keep
//! only entries that are their post's newest in the feed ([`no_newer_repost`]) and each post once
//! (a post in several followed topics), so that each source's `fetch` rows are `fetch` distinct
//! posts and the merged page is full whenever more exist.
//!
//! PostgreSQL answers the home feed in one statement: each source is a `LATERAL` scan per
//! followed person or topic, each stopping after `fetch` rows in index order, merged and cut to
//! `fetch`. SQLite has no `LATERAL`: it reads the followed topics first and scans each topic in
//! its own arm of a `UNION ALL`, and filters the people's posts by an `IN` set (few posts per
//! person); its statements run in-process, so the extra round trips cost little.

use std::collections::HashMap;

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::{PostType, VerificationLevel};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::posts::feed::{Circle, Feed, FeedEntry, FeedKey, FeedRepo, Repost};
use vendrome_core::posts::home_cache::sources::{Windows, WindowsWanted};
use vendrome_core::posts::listing::ListingFilter;
use vendrome_core::posts::AuthorSummary;
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::db::{Db, Dialect};
use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::{with_db, Store};

/// The columns every source answers, in this order.
const ENTRY_COLUMNS: &str =
    "src, post_id, at, reposter_id, display_name, handle, avatar_url, verification_level, quote";
/// The repost columns of a source that is not reposts (typed on PostgreSQL, where a bare NULL
/// in a subquery becomes text and no longer unions with the reposts' columns).
fn no_repost(dialect: Dialect) -> &'static str {
    dialect.pick(
        "NULL::uuid AS reposter_id, NULL::text AS display_name, NULL::text AS handle, NULL::text AS avatar_url, NULL::verification_level AS verification_level, NULL::text AS quote",
        "NULL AS reposter_id, NULL AS display_name, NULL AS handle, NULL AS avatar_url, NULL AS verification_level, NULL AS quote",
    )
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    src: i32,
    post_id: Uuid,
    at: Timestamp,
    reposter_id: Option<Uuid>,
    display_name: Option<String>,
    handle: Option<String>,
    avatar_url: Option<String>,
    verification_level: Option<DbEnum<VerificationLevel>>,
    quote: Option<String>,
}

impl EntryRow {
    fn into_entry(self) -> FeedEntry {
        let repost = match (self.reposter_id, self.display_name) {
            (Some(id), Some(display_name)) => Some(Repost {
                by: AuthorSummary {
                    id: UserId::from_uuid(id),
                    display_name,
                    handle: self.handle,
                    avatar_url: self.avatar_url,
                    verification_level: self
                        .verification_level
                        .map_or(VerificationLevel::Unverified, |v| v.0),
                },
                quote: self.quote,
            }),
            _ => None,
        };
        FeedEntry {
            key: FeedKey {
                at: self.at,
                post: PostId::from_uuid(self.post_id),
            },
            repost,
        }
    }
}

/// Appends the condition that `{alias}` (a `posts` row) is one `viewer` may see: by a member who
/// is not disabled, and public, their own, or a connection's; and that neither has blocked the
/// other. Each test is its own indexed probe (no `OR` inside a subquery, which would defeat the
/// indexes).
pub(crate) fn visible(sql: &mut SqlText, alias: &str, viewer: Option<Uuid>) {
    // A disabled member's posts are gone for everyone, as their profile is.
    sql.push(&format!(
        " AND NOT EXISTS (SELECT 1 FROM users du WHERE du.id = {alias}.author_id AND du.disabled_at IS NOT NULL)"
    ));
    let Some(v) = viewer else {
        sql.push(&format!(" AND {alias}.visibility = 'public'"));
        return;
    };
    sql.push(&format!(
        " AND ({alias}.visibility = 'public' OR {alias}.author_id = "
    ))
    .uuid(v)
    .push(&format!(
        " OR EXISTS (SELECT 1 FROM connections c WHERE c.requester_id = {alias}.author_id AND c.status = 'accepted' AND c.addressee_id = "
    ))
    .uuid(v)
    .push(&format!(
        ") OR EXISTS (SELECT 1 FROM connections c WHERE c.addressee_id = {alias}.author_id AND c.status = 'accepted' AND c.requester_id = "
    ))
    .uuid(v)
    .push("))");
    sql.push(" AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocker_id = ")
        .uuid(v)
        .push(&format!(
            " AND b.blocked_id = {alias}.author_id) AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocker_id = {alias}.author_id AND b.blocked_id = "
        ))
        .uuid(v)
        .push(")");
}

/// Appends `AND ({at}, {id}) < (before)` when there is a cursor.
fn before_key(sql: &mut SqlText, at: &str, id: &str, before: Option<FeedKey>) {
    if let Some(key) = before {
        sql.push(&format!(" AND ({at}, {id}) < ("))
            .bind(Arg::At(key.at))
            .push(", ")
            .uuid(key.post.as_uuid())
            .push(")");
    }
}

/// The viewer, the people they follow and their connections: the `people` table expression
/// every source of the home feed reads (`WITH people AS (…)` at the head of its statement).
fn people_cte(sql: &mut SqlText, viewer: Uuid) {
    sql.push("WITH people AS (SELECT ")
        .uuid(viewer)
        .push(" AS id UNION SELECT followee_id FROM user_follows WHERE follower_id = ")
        .uuid(viewer)
        .push(" UNION SELECT addressee_id FROM connections WHERE status = 'accepted' AND requester_id = ")
        .uuid(viewer)
        .push(" UNION SELECT requester_id FROM connections WHERE status = 'accepted' AND addressee_id = ")
        .uuid(viewer)
        .push(") ");
}

/// Appends the condition that none of [`people`](people_cte) reposted the post `{post}` after
/// `{at}`: an entry of the post at `{at}` is then its newest in the home feed. A post appears in
/// a home feed once, at its newest entry, so that the sequence a member walks is the same at any
/// page size and whether pages come from the cache or from here.
fn no_newer_repost(sql: &mut SqlText, post: &str, at: &str, reposter: Option<&str>) {
    sql.push(&format!(
        " AND NOT EXISTS (SELECT 1 FROM post_reposts nr WHERE nr.post_id = {post} AND "
    ));
    match reposter {
        // Another repost of the same post: newer, or as new and by a greater member id.
        Some(reposter) => sql.push(&format!("(nr.created_at, nr.user_id) > ({at}, {reposter})")),
        None => sql.push(&format!("nr.created_at > {at}")),
    };
    sql.push(" AND nr.user_id IN (SELECT id FROM people))");
}

/// Source 0 of the home feed: the posts of [`people`](people_cte).
fn people_posts(sql: &mut SqlText, viewer: Uuid, before: Option<FeedKey>, fetch: u32) {
    let lateral = sql.dialect == Dialect::Postgres;
    let columns = no_repost(sql.dialect);
    sql.push(&format!(
        "SELECT 0 AS src, p.id AS post_id, p.created_at AS at, {columns} FROM "
    ));
    if lateral {
        sql.push("people a CROSS JOIN LATERAL (SELECT p.id, p.created_at FROM posts p WHERE p.author_id = a.id AND p.deleted_at IS NULL");
    } else {
        sql.push("posts p WHERE p.deleted_at IS NULL AND p.author_id IN (SELECT id FROM people)");
    }
    before_key(sql, "p.created_at", "p.id", before);
    visible(sql, "p", Some(viewer));
    no_newer_repost(sql, "p.id", "p.created_at", None);
    if lateral {
        sql.push(" ORDER BY p.created_at DESC, p.id DESC LIMIT ")
            .bind(Arg::Int(fetch.into()))
            .push(") p");
    }
    sql.push(" ORDER BY at DESC, post_id DESC LIMIT ")
        .bind(Arg::Int(fetch.into()));
}

/// One topic's posts (`topic` is a subquery or a placeholder for the topic id).
/// In a home feed (`home`), only the posts none of [`people`](people_cte) reposted since.
fn topic_arm(
    sql: &mut SqlText,
    topic: &str,
    viewer: Option<Uuid>,
    before: Option<FeedKey>,
    fetch: u32,
    home: bool,
) {
    sql.push(&format!(
        "SELECT pt.post_id, pt.created_at AS at FROM post_topics pt JOIN posts p ON p.id = pt.post_id \
         WHERE pt.topic_id = {topic} AND p.deleted_at IS NULL"
    ));
    before_key(sql, "pt.created_at", "pt.post_id", before);
    visible(sql, "p", viewer);
    if home {
        no_newer_repost(sql, "pt.post_id", "pt.created_at", None);
    }
    sql.push(" ORDER BY pt.created_at DESC, pt.post_id DESC LIMIT ")
        .bind(Arg::Int(fetch.into()));
}

/// Source 1 of the home feed: the posts of the topics the viewer follows, each once (a post may
/// carry several of them). `topics` lists them for SQLite (PostgreSQL reads them in the same
/// statement).
fn topic_posts(
    sql: &mut SqlText,
    viewer: Uuid,
    topics: &[Uuid],
    before: Option<FeedKey>,
    fetch: u32,
) {
    let columns = no_repost(sql.dialect);
    sql.push(&format!(
        "SELECT DISTINCT 1 AS src, t.post_id, t.at, {columns} FROM "
    ));
    if sql.dialect == Dialect::Postgres {
        sql.push("user_topic_follows f CROSS JOIN LATERAL (");
        topic_arm(sql, "f.topic_id", Some(viewer), before, fetch, true);
        sql.push(") t WHERE f.user_id = ").uuid(viewer);
    } else {
        sql.push("(");
        for (i, topic) in topics.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT * FROM (");
            let placeholder = format!("${}", sql.args.len() + 1);
            sql.args.push(Arg::Uuid(*topic));
            topic_arm(sql, &placeholder, Some(viewer), before, fetch, true);
            sql.push(") s");
        }
        sql.push(") t");
    }
    sql.push(" ORDER BY at DESC, post_id DESC LIMIT ")
        .bind(Arg::Int(fetch.into()));
}

/// Source 2 of the home feed: what [`people`](people_cte) reposted, of what the viewer may see:
/// of each post its newest repost by them, and only when that is later than the post itself
/// (the API never writes an earlier one), so the repost is the post's newest entry.
fn people_reposts(sql: &mut SqlText, viewer: Uuid, before: Option<FeedKey>, fetch: u32) {
    let lateral = sql.dialect == Dialect::Postgres;
    sql.push("SELECT 2 AS src, r.post_id, r.created_at AS at, u.id AS reposter_id, u.display_name, u.handle, u.avatar_url, u.verification_level, r.quote FROM ");
    if lateral {
        sql.push("people a CROSS JOIN LATERAL (SELECT r.post_id, r.user_id, r.created_at, r.quote FROM post_reposts r JOIN posts p ON p.id = r.post_id WHERE r.user_id = a.id");
    } else {
        sql.push("post_reposts r JOIN posts p ON p.id = r.post_id JOIN users u ON u.id = r.user_id WHERE r.user_id IN (SELECT id FROM people)");
    }
    sql.push(" AND p.deleted_at IS NULL AND r.created_at > p.created_at AND NOT EXISTS (SELECT 1 FROM users ru WHERE ru.id = r.user_id AND ru.disabled_at IS NOT NULL)");
    before_key(sql, "r.created_at", "r.post_id", before);
    visible(sql, "p", Some(viewer));
    no_newer_repost(sql, "r.post_id", "r.created_at", Some("r.user_id"));
    if lateral {
        sql.push(" ORDER BY r.created_at DESC, r.post_id DESC LIMIT ")
            .bind(Arg::Int(fetch.into()))
            .push(") r JOIN users u ON u.id = r.user_id");
    }
    sql.push(" ORDER BY at DESC, post_id DESC LIMIT ")
        .bind(Arg::Int(fetch.into()));
}

/// One author's posts.
fn author_posts(
    sql: &mut SqlText,
    author: Uuid,
    viewer: Option<Uuid>,
    before: Option<FeedKey>,
    fetch: u32,
) {
    let columns = no_repost(sql.dialect);
    sql.push(&format!(
        "SELECT 0 AS src, p.id AS post_id, p.created_at AS at, {columns} FROM posts p \
         WHERE p.author_id = "
    ))
    .uuid(author)
    .push(" AND p.deleted_at IS NULL");
    before_key(sql, "p.created_at", "p.id", before);
    visible(sql, "p", viewer);
    sql.push(" ORDER BY p.created_at DESC, p.id DESC LIMIT ")
        .bind(Arg::Int(fetch.into()));
}

/// A topic's posts, as a whole source.
fn whole_topic(
    sql: &mut SqlText,
    topic: Uuid,
    viewer: Option<Uuid>,
    before: Option<FeedKey>,
    fetch: u32,
) {
    let columns = no_repost(sql.dialect);
    sql.push(&format!(
        "SELECT 0 AS src, t.post_id, t.at, {columns} FROM ("
    ));
    let placeholder = format!("${}", sql.args.len() + 1);
    sql.args.push(Arg::Uuid(topic));
    topic_arm(sql, &placeholder, viewer, before, fetch, false);
    sql.push(") t");
}

/// The payload table of a typed post, and the column the amount filters compare.
fn payload_table(post_type: PostType) -> Option<(&'static str, &'static str)> {
    match post_type {
        PostType::Text => None,
        PostType::Product => Some(("post_products", "price_amount")),
        PostType::Service => Some(("post_services", "rate_amount")),
        PostType::Crowdfunding => Some(("post_crowdfunding", "goal_amount")),
        PostType::InvestmentOffer => Some(("post_investment_offers", "ticket_max_amount")),
        PostType::InvestmentRequest => Some(("post_investment_requests", "amount_sought")),
        PostType::MentorshipRequest => Some(("post_mentorship_requests", "budget_amount")),
    }
}

/// Posts by type and filters.
fn listing(
    sql: &mut SqlText,
    filter: &ListingFilter,
    viewer: Option<Uuid>,
    before: Option<FeedKey>,
    fetch: u32,
) {
    let columns = no_repost(sql.dialect);
    sql.push(&format!(
        "SELECT 0 AS src, p.id AS post_id, p.created_at AS at, {columns} FROM posts p"
    ));
    let table = filter.post_type.and_then(payload_table);
    if let Some((table, _)) = table {
        sql.push(&format!(" JOIN {table} x ON x.post_id = p.id"));
    }
    sql.push(" WHERE p.deleted_at IS NULL");
    if let Some(post_type) = filter.post_type {
        sql.push(" AND p.post_type = ").enum_value(post_type);
    }
    if let Some((_, amount)) = table {
        // An offer matches when its ticket range overlaps the bounds.
        let low = if filter.post_type == Some(PostType::InvestmentOffer) {
            "ticket_max_amount"
        } else {
            amount
        };
        let high = if filter.post_type == Some(PostType::InvestmentOffer) {
            "ticket_min_amount"
        } else {
            amount
        };
        if let Some(min) = filter.min_amount {
            sql.push(&format!(" AND x.{low} >= ")).bind(Arg::Int(min));
        }
        if let Some(max) = filter.max_amount {
            sql.push(&format!(" AND x.{high} <= ")).bind(Arg::Int(max));
        }
        if let Some(currency) = &filter.currency {
            sql.push(" AND x.currency = ")
                .bind(Arg::Text(currency.as_str().to_owned()));
        }
        if let Some(category) = &filter.category {
            sql.push(" AND x.category = ")
                .bind(Arg::Text(category.clone()));
        }
        if let Some(remote) = filter.remote {
            sql.push(" AND x.is_remote = ").bind(Arg::Bool(remote));
        }
        if let Some(stage) = filter.stage {
            sql.push(" AND x.stage = ").enum_value(stage);
        }
        if let Some(instrument) = filter.instrument {
            sql.push(" AND x.instrument = ").enum_value(instrument);
        }
        if let Some(format) = filter.format {
            sql.push(" AND x.format = ").enum_value(format);
        }
    }
    before_key(sql, "p.created_at", "p.id", before);
    visible(sql, "p", viewer);
    sql.push(" ORDER BY p.created_at DESC, p.id DESC LIMIT ")
        .bind(Arg::Int(fetch.into()));
}

/// Runs `sql` and splits its rows into `sources` lists by their `src`.
async fn fetch_sources(store: &Store, sql: SqlText, sources: usize) -> Result<Vec<Vec<FeedEntry>>> {
    let rows: Vec<EntryRow> = with_db!(&store.db, pool => {
        bind_args!(sqlx::query_as::<_, EntryRow>(&sql.text), sql).fetch_all(pool).await
    })
    .or_unexpected()?;
    let mut out = vec![Vec::new(); sources];
    for row in rows {
        let src = usize::try_from(row.src).unwrap_or(0).min(sources - 1);
        out[src].push(row.into_entry());
    }
    Ok(out)
}

impl Store {
    async fn topic_id(&self, slug: &str) -> Result<Uuid> {
        let id: Option<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT id FROM topics WHERE slug = $1").bind(slug).fetch_optional(pool).await
        })
        .or_unexpected()?;
        id.ok_or(Error::not_found("topic"))
    }

    async fn followed_topics(&self, user: Uuid) -> Result<Vec<Uuid>> {
        with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT topic_id FROM user_topic_follows WHERE user_id = $1")
                .bind(user)
                .fetch_all(pool)
                .await
        })
        .or_unexpected()
    }

    async fn user_exists(&self, user: Uuid) -> Result<bool> {
        let found: Option<i32> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1").bind(user).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl FeedRepo for Store {
    #[tracing::instrument(skip(self, feed), fields(feed = ?std::mem::discriminant(feed)))]
    async fn feed_entries(
        &self,
        feed: &Feed,
        viewer: Option<UserId>,
        before: Option<FeedKey>,
        fetch: u32,
    ) -> Result<Vec<Vec<FeedEntry>>> {
        let dialect = self.db.dialect();
        let v = viewer.map(|v| v.as_uuid());
        let mut sql = SqlText::new(dialect, "");
        match feed {
            Feed::Home(owner) => {
                let owner = owner.as_uuid();
                let topics = match dialect {
                    Dialect::Postgres => Vec::new(),
                    Dialect::Sqlite => self.followed_topics(owner).await?,
                };
                let arm = |sql: &mut SqlText| {
                    sql.push(") s UNION ALL SELECT * FROM (");
                };
                people_cte(&mut sql, owner);
                sql.push(&format!("SELECT {ENTRY_COLUMNS} FROM (SELECT * FROM ("));
                people_posts(&mut sql, owner, before, fetch);
                if dialect == Dialect::Postgres || !topics.is_empty() {
                    arm(&mut sql);
                    topic_posts(&mut sql, owner, &topics, before, fetch);
                }
                arm(&mut sql);
                people_reposts(&mut sql, owner, before, fetch);
                sql.push(") s) e");
                fetch_sources(self, sql, 3).await
            }
            Feed::Author(author) => {
                if !self.user_exists(author.as_uuid()).await? {
                    return Err(Error::not_found("user"));
                }
                author_posts(&mut sql, author.as_uuid(), v, before, fetch);
                fetch_sources(self, sql, 1).await
            }
            Feed::Topic(slug) => {
                let topic = self.topic_id(slug.as_str()).await?;
                whole_topic(&mut sql, topic, v, before, fetch);
                fetch_sources(self, sql, 1).await
            }
            Feed::Listing(filter) => {
                listing(&mut sql, filter, v, before, fetch);
                fetch_sources(self, sql, 1).await
            }
        }
    }

    async fn members_after(&self, after: Option<UserId>, limit: u32) -> Result<Vec<UserId>> {
        let after = after.map_or(Uuid::nil(), |a| a.as_uuid());
        let ids: Vec<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }

    #[tracing::instrument(skip(self, wanted))]
    async fn windows(&self, wanted: &WindowsWanted, window: u32) -> Result<Windows> {
        crate::feed_windows::windows(self, wanted, window).await
    }

    #[tracing::instrument(skip(self))]
    async fn circle(&self, viewer: UserId) -> Result<Circle> {
        let mut circles = self.circles(&[viewer]).await?;
        Ok(circles.remove(&viewer).unwrap_or_default())
    }

    #[tracing::instrument(skip(self, members), fields(members = members.len()))]
    async fn circles(&self, members: &[UserId]) -> Result<HashMap<UserId, Circle>> {
        // One statement: each member's people by kind, and their followed topics' slugs
        // (kind `t`). `{m}` is the condition on each arm's member column.
        const ARMS: &str = "SELECT follower_id AS member, 'f' AS kind, followee_id AS person, NULL AS slug FROM user_follows WHERE {m:follower_id} \
             UNION ALL SELECT requester_id, 'c', addressee_id, NULL FROM connections WHERE status = 'accepted' AND {m:requester_id} \
             UNION ALL SELECT addressee_id, 'c', requester_id, NULL FROM connections WHERE status = 'accepted' AND {m:addressee_id} \
             UNION ALL SELECT blocker_id, 'b', blocked_id, NULL FROM user_blocks WHERE {m:blocker_id} \
             UNION ALL SELECT blocked_id, 'b', blocker_id, NULL FROM user_blocks WHERE {m:blocked_id} \
             UNION ALL SELECT requester_id, 's', addressee_id, NULL FROM connections WHERE status = 'pending' AND {m:requester_id} \
             UNION ALL SELECT addressee_id, 'r', requester_id, NULL FROM connections WHERE status = 'pending' AND {m:addressee_id} \
             UNION ALL SELECT f.user_id, 't', NULL, t.slug FROM user_topic_follows f JOIN topics t ON t.id = f.topic_id WHERE {m:f.user_id}";
        type Row = (Uuid, String, Option<Uuid>, Option<String>);
        if members.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = members.iter().map(|m| m.as_uuid()).collect();
        let condition = |column: &str, one: bool| match (self.db.dialect(), one) {
            (_, true) => format!("{column} = $1"),
            (Dialect::Postgres, false) => format!("{column} = ANY($1)"),
            (Dialect::Sqlite, false) => format!("{column} IN (SELECT id FROM m)"),
        };
        let one = ids.len() == 1;
        let mut text = match (self.db.dialect(), one) {
            // SQLite has no arrays: the members are a table of values.
            (Dialect::Sqlite, false) => {
                let values: Vec<String> = (1..=ids.len()).map(|i| format!("(${i})")).collect();
                format!("WITH m(id) AS (VALUES {}) {ARMS}", values.join(", "))
            }
            _ => ARMS.to_owned(),
        };
        for column in [
            "follower_id",
            "requester_id",
            "addressee_id",
            "blocker_id",
            "blocked_id",
            "f.user_id",
        ] {
            text = text.replace(&format!("{{m:{column}}}"), &condition(column, one));
        }
        let rows: Vec<Row> = match (&self.db, one) {
            (Db::Postgres(pool), true) => sqlx::query_as(&text).bind(ids[0]).fetch_all(pool).await,
            (Db::Postgres(pool), false) => sqlx::query_as(&text).bind(&ids).fetch_all(pool).await,
            (Db::Sqlite(pool), true) => sqlx::query_as(&text).bind(ids[0]).fetch_all(pool).await,
            (Db::Sqlite(pool), false) => {
                let mut query = sqlx::query_as(&text);
                for id in &ids {
                    query = query.bind(*id);
                }
                query.fetch_all(pool).await
            }
        }
        .or_unexpected()?;
        let mut circles: HashMap<UserId, Circle> = HashMap::new();
        for (member, kind, person, slug) in rows {
            let circle = circles.entry(UserId::from_uuid(member)).or_default();
            match (person, slug) {
                (None, Some(slug)) => {
                    circle.topics.insert(slug);
                }
                (Some(person), _) => {
                    let person = UserId::from_uuid(person);
                    match kind.as_str() {
                        "f" => circle.following.insert(person),
                        "c" => circle.connections.insert(person),
                        "s" => circle.requests_sent.insert(person),
                        "r" => circle.requests_received.insert(person),
                        _ => circle.blocked.insert(person),
                    };
                }
                (None, None) => {}
            }
        }
        Ok(circles)
    }
}
