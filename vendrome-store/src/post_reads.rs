//! Loading posts as viewers see them: [`load_posts`] answers any number of ids in one statement
//! (each post with its author, its typed payload through one `LEFT JOIN` per payload table, its
//! topics and the viewer's own state as correlated subqueries), so feeds reuse it for a page.

use std::collections::HashMap;

use uuid::Uuid;
use vendrome_core::enums::ReactionKind;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::posts::{Post, ViewerState};
use vendrome_core::{Result, SqlEnum as _};

use crate::db::{Db, Dialect};
use crate::error::SqlxResultExt as _;
use crate::feeds::visible;
use crate::post_rows::PostRow;
use crate::sql_text::{bind_args, SqlText};
use crate::Store;

/// Who may see a post: the SQL condition on `p` (a `posts` alias) for one viewer.
pub(crate) enum Visibility {
    /// Every live post (authorisation checks, moderators).
    Any,
    /// Every live post of a member who is not disabled, whatever its visibility (caches that
    /// check visibility themselves).
    Active,
    /// What this viewer (or an anonymous one) may see: public posts, their own, their
    /// connections'; never those of someone either of them blocked.
    For(Option<UserId>),
}

/// The payload columns, one `LEFT JOIN`ed table per typed post (at most one matches a post).
const PAYLOAD_COLUMNS: &str = "\
    pr.title AS pr_title, pr.category AS pr_category, pr.price_amount, pr.currency AS pr_currency, pr.stock_quantity, pr.sku, \
    sv.title AS sv_title, sv.category AS sv_category, sv.rate_amount, sv.currency AS sv_currency, sv.rate_unit, sv.duration_minutes, sv.is_remote, sv.location, \
    sv.auto_confirm, sv.cancellation_window_hours, sv.late_cancellation_refund, \
    cf.title AS cf_title, cf.goal_amount, cf.currency AS cf_currency, cf.instrument AS cf_instrument, cf.ends_at, cf.reward_summary, \
    io.title AS io_title, io.ticket_min_amount, io.ticket_max_amount, io.currency AS io_currency, io.instrument AS io_instrument, io.stage AS io_stage, \
    ir.title AS ir_title, ir.amount_sought, ir.currency AS ir_currency, ir.instrument AS ir_instrument, ir.stage AS ir_stage, ir.use_of_funds, \
    mr.area AS mr_area, mr.format AS mr_format, mr.duration_weeks, mr.budget_amount, mr.currency AS mr_currency";

const PAYLOAD_JOINS: &str = " \
    LEFT JOIN post_products pr ON pr.post_id = p.id \
    LEFT JOIN post_services sv ON sv.post_id = p.id \
    LEFT JOIN post_crowdfunding cf ON cf.post_id = p.id \
    LEFT JOIN post_investment_offers io ON io.post_id = p.id \
    LEFT JOIN post_investment_requests ir ON ir.post_id = p.id \
    LEFT JOIN post_mentorship_requests mr ON mr.post_id = p.id";

/// The viewer's own state on `p` (a `posts` alias): `my_reaction`, `bookmarked`, `reposted`.
fn viewer_state_columns(sql: &mut SqlText, viewer: Uuid) {
    sql.push("(SELECT CAST(r.kind AS TEXT) FROM post_reactions r WHERE r.post_id = p.id AND r.user_id = ")
        .uuid(viewer)
        .push(") AS my_reaction, EXISTS (SELECT 1 FROM bookmarks b WHERE b.post_id = p.id AND b.user_id = ")
        .uuid(viewer)
        .push(") AS bookmarked, EXISTS (SELECT 1 FROM post_reposts rp WHERE rp.post_id = p.id AND rp.user_id = ")
        .uuid(viewer)
        .push(") AS reposted");
}

/// The statement that loads `ids` for `viewer`.
fn select(
    dialect: Dialect,
    ids: &[Uuid],
    visibility: &Visibility,
    viewer: Option<Uuid>,
) -> SqlText {
    let mut sql = SqlText::new(dialect, "SELECT p.id, p.post_type, p.visibility, p.body, p.media, p.reaction_count, \
        p.comment_count, p.repost_count, p.share_count, p.bookmark_count, p.created_at, p.updated_at, \
        p.edited_at, u.id AS author_id, u.display_name, u.handle, u.avatar_url, u.verification_level, ");
    sql.push(PAYLOAD_COLUMNS);
    // numeric(5,2) in PostgreSQL, REAL in SQLite: both read as a double.
    sql.push(dialect.pick(
        ", CAST(ir.equity_offered_percent AS double precision) AS equity_offered_percent",
        ", ir.equity_offered_percent",
    ));
    // Slugs hold no commas; they are sorted after reading.
    sql.push(dialect.pick(
        ", (SELECT string_agg(t.slug, ',') FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.post_id = p.id) AS topics",
        ", (SELECT group_concat(t.slug, ',') FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.post_id = p.id) AS topics",
    ));
    match viewer {
        Some(v) => {
            sql.push(", ");
            viewer_state_columns(&mut sql, v);
        }
        None => {
            sql.push(dialect.pick(
                ", NULL::text AS my_reaction, FALSE AS bookmarked, FALSE AS reposted",
                ", NULL AS my_reaction, FALSE AS bookmarked, FALSE AS reposted",
            ));
        }
    }
    sql.push(" FROM posts p JOIN users u ON u.id = p.author_id");
    sql.push(PAYLOAD_JOINS);
    sql.push(" WHERE p.deleted_at IS NULL");
    if !matches!(visibility, Visibility::Any) {
        // A disabled member's posts are gone for every reader, as their profile is.
        sql.push(" AND u.disabled_at IS NULL");
    }
    sql.push(" AND");
    ids_in(&mut sql, "p.id", ids);
    if let Visibility::For(who) = visibility {
        visible(&mut sql, "p", who.map(|w| w.as_uuid()));
    }
    seal(&mut sql);
    sql
}

/// Where a statement's ids go until [`seal`] places their argument.
const IDS: &str = "\u{1}ids\u{1}";

/// `{column}` is one of `ids`: an `IN` list on SQLite; on PostgreSQL one array argument, bound
/// after all others ([`seal`], then `.bind(ids)`), so that the statement's text, and the plan
/// each connection prepares for it once, is the same for any number of ids (planning the post
/// statement costs several milliseconds).
fn ids_in(sql: &mut SqlText, column: &str, ids: &[Uuid]) {
    match sql.dialect {
        Dialect::Postgres => {
            sql.push(&format!(" {column} = ANY({IDS})"));
        }
        Dialect::Sqlite => {
            sql.push(&format!(" {column} IN ("));
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.uuid(*id);
            }
            sql.push(")");
        }
    }
}

/// Runs `$sql` (built with [`ids_in`] and [`seal`]) as a `query_as` of `$row`, binding `$ids`
/// after its arguments on PostgreSQL (SQLite has them inline).
macro_rules! fetch_with_ids {
    ($store:expr, $row:ty, $sql:expr, $ids:expr) => {
        match &$store.db {
            Db::Postgres(pool) => {
                bind_args!(sqlx::query_as::<_, $row>(&$sql.text), $sql)
                    .bind(&$ids)
                    .fetch_all(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                bind_args!(sqlx::query_as::<_, $row>(&$sql.text), $sql)
                    .fetch_all(pool)
                    .await
            }
        }
    };
}

/// Numbers the ids' array argument (PostgreSQL) last.
fn seal(sql: &mut SqlText) {
    let placeholder = format!("${}::uuid[]", sql.args.len() + 1);
    sql.text = sql.text.replace(IDS, &placeholder);
}

/// The live posts among `ids` that `visibility` lets through, in the order of `ids`, with
/// `viewer`'s own state.
#[tracing::instrument(skip(store, ids, visibility), fields(ids = ids.len()))]
pub(crate) async fn load_posts(
    store: &Store,
    ids: &[PostId],
    visibility: Visibility,
    viewer: Option<UserId>,
) -> Result<Vec<Post>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let uuids: Vec<Uuid> = ids.iter().map(PostId::as_uuid).collect();
    let sql = select(
        store.dialect(),
        &uuids,
        &visibility,
        viewer.map(|v| v.as_uuid()),
    );
    let rows: Vec<PostRow> = fetch_with_ids!(store, PostRow, sql, uuids).or_unexpected()?;
    let mut by_id: HashMap<Uuid, Post> = HashMap::with_capacity(rows.len());
    for row in rows {
        let post = row.into_post()?;
        by_id.insert(post.id.as_uuid(), post);
    }
    Ok(uuids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// `viewer`'s reaction, bookmark and repost for each of `ids` that exists, in one statement.
#[tracing::instrument(skip(store, ids), fields(ids = ids.len()))]
pub(crate) async fn load_viewer_states(
    store: &Store,
    viewer: UserId,
    ids: &[PostId],
) -> Result<Vec<(PostId, ViewerState)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let v = viewer.as_uuid();
    let mut sql = SqlText::new(store.dialect(), "SELECT p.id, ");
    viewer_state_columns(&mut sql, v);
    sql.push(" FROM posts p WHERE");
    let uuids: Vec<Uuid> = ids.iter().map(PostId::as_uuid).collect();
    ids_in(&mut sql, "p.id", &uuids);
    seal(&mut sql);
    type Row = (Uuid, Option<String>, bool, bool);
    let rows: Vec<Row> = fetch_with_ids!(store, Row, sql, uuids).or_unexpected()?;
    Ok(rows
        .into_iter()
        .map(|(id, reaction, bookmarked, reposted)| {
            let state = ViewerState {
                reaction: reaction.as_deref().and_then(ReactionKind::from_label),
                bookmarked,
                reposted,
            };
            (PostId::from_uuid(id), state)
        })
        .collect())
}
