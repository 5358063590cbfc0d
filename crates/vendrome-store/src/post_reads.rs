//! Loading posts as viewers see them: [`load_posts`] answers any number of ids in a fixed
//! number of queries (the posts with their authors, their topics, one query per payload table
//! present, the viewer's own state), so feeds can reuse it for a whole page.

use std::collections::HashMap;

use anyhow::Context as _;
use sqlx::QueryBuilder;
use uuid::Uuid;
use vendrome_core::enums::{
    InvestmentInstrument, InvestmentStage, MentorshipFormat, PostType, PostVisibility,
    ReactionKind, ServiceRateUnit, VerificationLevel,
};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::posts::payload::{
    CrowdfundingPayload, InvestmentOfferPayload, InvestmentRequestPayload,
    MentorshipRequestPayload, ProductPayload, ServicePayload,
};
use vendrome_core::posts::{
    AuthorSummary, Currency, MediaItem, Post, PostCounts, PostPayload, ViewerState,
};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result, SqlEnum};

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

/// Who may see a post: the SQL condition on `p` (a `posts` alias) for one viewer.
pub(crate) enum Visibility {
    /// Every live post (authorisation checks, moderators).
    Any,
    /// What this viewer (or an anonymous one) may see: public posts, their own, their
    /// connections'; never those of someone either of them blocked.
    For(Option<UserId>),
}

#[derive(sqlx::FromRow)]
struct PostRow {
    id: Uuid,
    post_type: DbEnum<PostType>,
    visibility: DbEnum<PostVisibility>,
    body: String,
    media: sqlx::types::Json<Vec<MediaItem>>,
    reaction_count: i64,
    comment_count: i64,
    repost_count: i64,
    share_count: i64,
    bookmark_count: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
    edited_at: Option<Timestamp>,
    author_id: Uuid,
    display_name: String,
    handle: Option<String>,
    avatar_url: Option<String>,
    verification_level: DbEnum<VerificationLevel>,
}

#[derive(sqlx::FromRow)]
struct TopicRow {
    post_id: Uuid,
    slug: String,
}

#[derive(sqlx::FromRow)]
struct ViewerRow {
    post_id: Uuid,
    what: String,
    kind: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    post_id: Uuid,
    title: String,
    category: Option<String>,
    price_amount: i64,
    currency: String,
    stock_quantity: Option<i32>,
    sku: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    post_id: Uuid,
    title: String,
    category: Option<String>,
    rate_amount: i64,
    currency: String,
    rate_unit: DbEnum<ServiceRateUnit>,
    duration_minutes: Option<i32>,
    is_remote: bool,
    location: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CrowdfundingRow {
    post_id: Uuid,
    title: String,
    goal_amount: i64,
    currency: String,
    instrument: DbEnum<InvestmentInstrument>,
    ends_at: Timestamp,
    reward_summary: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OfferRow {
    post_id: Uuid,
    title: String,
    ticket_min_amount: i64,
    ticket_max_amount: i64,
    currency: String,
    instrument: Option<DbEnum<InvestmentInstrument>>,
    stage: Option<DbEnum<InvestmentStage>>,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    post_id: Uuid,
    title: String,
    amount_sought: i64,
    currency: String,
    instrument: DbEnum<InvestmentInstrument>,
    stage: DbEnum<InvestmentStage>,
    equity_offered_percent: Option<f64>,
    use_of_funds: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MentorshipRow {
    post_id: Uuid,
    area: String,
    format: DbEnum<MentorshipFormat>,
    duration_weeks: Option<i32>,
    budget_amount: Option<i64>,
    currency: Option<String>,
}

fn currency(raw: &str, post: Uuid) -> Result<Currency> {
    Currency::parse(raw)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("stored post {post} has an invalid currency"))
        .map_err(Error::Unexpected)
}

/// Appends `(…ids…)` to `query`.
fn push_ids<'a, DB: sqlx::Database>(query: &mut QueryBuilder<'a, DB>, ids: &[Uuid])
where
    Uuid: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    query.push("(");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
}

/// Appends the visibility condition on `p` for `visibility`.
fn push_visibility<'a, DB: sqlx::Database>(
    query: &mut QueryBuilder<'a, DB>,
    visibility: &Visibility,
) where
    Uuid: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match visibility {
        Visibility::Any => {}
        Visibility::For(None) => {
            query.push(" AND p.visibility = 'public'");
        }
        Visibility::For(Some(viewer)) => {
            let v = viewer.as_uuid();
            query.push(" AND (p.visibility = 'public' OR p.author_id = ");
            query.push_bind(v);
            query.push(" OR EXISTS (SELECT 1 FROM connections c WHERE c.status = 'accepted' AND ((c.requester_id = ");
            query.push_bind(v);
            query.push(" AND c.addressee_id = p.author_id) OR (c.addressee_id = ");
            query.push_bind(v);
            query.push(" AND c.requester_id = p.author_id))))");
            // A block hides each from the other.
            query.push(" AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = ");
            query.push_bind(v);
            query.push(" AND b.blocked_id = p.author_id) OR (b.blocker_id = p.author_id AND b.blocked_id = ");
            query.push_bind(v);
            query.push("))");
        }
    }
}

const POST_SELECT: &str =
    "SELECT p.id, p.post_type, p.visibility, p.body, p.media, p.reaction_count, \
    p.comment_count, p.repost_count, p.share_count, p.bookmark_count, p.created_at, p.updated_at, \
    p.edited_at, u.id AS author_id, u.display_name, u.handle, u.avatar_url, u.verification_level \
    FROM posts p JOIN users u ON u.id = p.author_id WHERE p.deleted_at IS NULL AND p.id IN ";

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
    let (rows, topics, viewer_rows, payloads) = with_db!(&store.db, pool, dialect => {
        let mut query = QueryBuilder::new(POST_SELECT);
        push_ids(&mut query, &uuids);
        push_visibility(&mut query, &visibility);
        let rows: Vec<PostRow> = query.build_query_as().fetch_all(pool).await?;
        let found: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        if found.is_empty() {
            return Ok::<_, sqlx::Error>((rows, Vec::new(), Vec::new(), Payloads::default()));
        }

        let mut query = QueryBuilder::new(
            "SELECT pt.post_id, t.slug FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.post_id IN ",
        );
        push_ids(&mut query, &found);
        query.push(" ORDER BY t.slug");
        let topics: Vec<TopicRow> = query.build_query_as().fetch_all(pool).await?;

        let viewer_rows: Vec<ViewerRow> = match viewer {
            None => Vec::new(),
            Some(viewer) => {
                let v = viewer.as_uuid();
                let mut query = QueryBuilder::new("SELECT post_id, 'reaction' AS what, CAST(kind AS TEXT) AS kind FROM post_reactions WHERE user_id = ");
                query.push_bind(v).push(" AND post_id IN ");
                push_ids(&mut query, &found);
                query.push(" UNION ALL SELECT post_id, 'bookmark' AS what, NULL AS kind FROM bookmarks WHERE user_id = ");
                query.push_bind(v).push(" AND post_id IN ");
                push_ids(&mut query, &found);
                query.push(" UNION ALL SELECT post_id, 'repost' AS what, NULL AS kind FROM post_reposts WHERE user_id = ");
                query.push_bind(v).push(" AND post_id IN ");
                push_ids(&mut query, &found);
                query.build_query_as().fetch_all(pool).await?
            }
        };

        let of_type = |t: PostType| -> Vec<Uuid> {
            rows.iter().filter(|r| r.post_type.0 == t).map(|r| r.id).collect()
        };
        let mut payloads = Payloads::default();
        let ids = of_type(PostType::Product);
        if !ids.is_empty() {
            let mut q = QueryBuilder::new("SELECT post_id, title, category, price_amount, currency, stock_quantity, sku FROM post_products WHERE post_id IN ");
            push_ids(&mut q, &ids);
            payloads.products = q.build_query_as().fetch_all(pool).await?;
        }
        let ids = of_type(PostType::Service);
        if !ids.is_empty() {
            let mut q = QueryBuilder::new("SELECT post_id, title, category, rate_amount, currency, rate_unit, duration_minutes, is_remote, location FROM post_services WHERE post_id IN ");
            push_ids(&mut q, &ids);
            payloads.services = q.build_query_as().fetch_all(pool).await?;
        }
        let ids = of_type(PostType::Crowdfunding);
        if !ids.is_empty() {
            let mut q = QueryBuilder::new("SELECT post_id, title, goal_amount, currency, instrument, ends_at, reward_summary FROM post_crowdfunding WHERE post_id IN ");
            push_ids(&mut q, &ids);
            payloads.crowdfunding = q.build_query_as().fetch_all(pool).await?;
        }
        let ids = of_type(PostType::InvestmentOffer);
        if !ids.is_empty() {
            let mut q = QueryBuilder::new("SELECT post_id, title, ticket_min_amount, ticket_max_amount, currency, instrument, stage FROM post_investment_offers WHERE post_id IN ");
            push_ids(&mut q, &ids);
            payloads.offers = q.build_query_as().fetch_all(pool).await?;
        }
        let ids = of_type(PostType::InvestmentRequest);
        if !ids.is_empty() {
            // numeric(5,2) in PostgreSQL, REAL in SQLite: both read as a double.
            let mut q = QueryBuilder::new(dialect.pick(
                "SELECT post_id, title, amount_sought, currency, instrument, stage, CAST(equity_offered_percent AS double precision) AS equity_offered_percent, use_of_funds FROM post_investment_requests WHERE post_id IN ",
                "SELECT post_id, title, amount_sought, currency, instrument, stage, equity_offered_percent, use_of_funds FROM post_investment_requests WHERE post_id IN ",
            ));
            push_ids(&mut q, &ids);
            payloads.requests = q.build_query_as().fetch_all(pool).await?;
        }
        let ids = of_type(PostType::MentorshipRequest);
        if !ids.is_empty() {
            let mut q = QueryBuilder::new("SELECT post_id, area, format, duration_weeks, budget_amount, currency FROM post_mentorship_requests WHERE post_id IN ");
            push_ids(&mut q, &ids);
            payloads.mentorship = q.build_query_as().fetch_all(pool).await?;
        }
        Ok((rows, topics, viewer_rows, payloads))
    })
    .or_unexpected()?;

    let mut topics_of: HashMap<Uuid, Vec<String>> = HashMap::new();
    for t in topics {
        topics_of.entry(t.post_id).or_default().push(t.slug);
    }
    let mut state_of: HashMap<Uuid, ViewerState> = HashMap::new();
    for row in viewer_rows {
        let state = state_of.entry(row.post_id).or_default();
        match row.what.as_str() {
            "reaction" => {
                state.reaction = row.kind.as_deref().and_then(ReactionKind::from_label);
            }
            "bookmark" => state.bookmarked = true,
            _ => state.reposted = true,
        }
    }
    let mut payload_of = payloads.into_map()?;
    let mut by_id: HashMap<Uuid, Post> = HashMap::with_capacity(rows.len());
    for row in rows {
        let payload = match row.post_type.0 {
            PostType::Text => PostPayload::Text,
            _ => payload_of
                .remove(&row.id)
                .with_context(|| format!("stored post {} has no payload row", row.id))?,
        };
        let post = Post {
            id: PostId::from_uuid(row.id),
            author: AuthorSummary {
                id: UserId::from_uuid(row.author_id),
                display_name: row.display_name,
                handle: row.handle,
                avatar_url: row.avatar_url,
                verification_level: row.verification_level.0,
            },
            visibility: row.visibility.0,
            body: row.body,
            topics: topics_of.remove(&row.id).unwrap_or_default(),
            payload,
            media: row.media.0,
            counts: PostCounts {
                reactions: row.reaction_count,
                comments: row.comment_count,
                reposts: row.repost_count,
                shares: row.share_count,
                bookmarks: row.bookmark_count,
            },
            viewer: state_of.remove(&row.id).unwrap_or_default(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            edited_at: row.edited_at,
        };
        by_id.insert(row.id, post);
    }
    Ok(uuids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[derive(Default)]
struct Payloads {
    products: Vec<ProductRow>,
    services: Vec<ServiceRow>,
    crowdfunding: Vec<CrowdfundingRow>,
    offers: Vec<OfferRow>,
    requests: Vec<RequestRow>,
    mentorship: Vec<MentorshipRow>,
}

impl Payloads {
    fn into_map(self) -> Result<HashMap<Uuid, PostPayload>> {
        let mut map = HashMap::new();
        for r in self.products {
            let payload = PostPayload::Product(ProductPayload {
                title: r.title,
                category: r.category,
                price_minor: r.price_amount,
                currency: currency(&r.currency, r.post_id)?,
                stock_quantity: r.stock_quantity,
                sku: r.sku,
            });
            map.insert(r.post_id, payload);
        }
        for r in self.services {
            let payload = PostPayload::Service(ServicePayload {
                title: r.title,
                category: r.category,
                rate_minor: r.rate_amount,
                currency: currency(&r.currency, r.post_id)?,
                rate_unit: r.rate_unit.0,
                duration_minutes: r.duration_minutes,
                is_remote: r.is_remote,
                location: r.location,
            });
            map.insert(r.post_id, payload);
        }
        for r in self.crowdfunding {
            let payload = PostPayload::Crowdfunding(CrowdfundingPayload {
                title: r.title,
                goal_minor: r.goal_amount,
                currency: currency(&r.currency, r.post_id)?,
                instrument: r.instrument.0,
                ends_at: r.ends_at,
                reward_summary: r.reward_summary,
            });
            map.insert(r.post_id, payload);
        }
        for r in self.offers {
            let payload = PostPayload::InvestmentOffer(InvestmentOfferPayload {
                title: r.title,
                ticket_min_minor: r.ticket_min_amount,
                ticket_max_minor: r.ticket_max_amount,
                currency: currency(&r.currency, r.post_id)?,
                instrument: r.instrument.map(|e| e.0),
                stage: r.stage.map(|e| e.0),
            });
            map.insert(r.post_id, payload);
        }
        for r in self.requests {
            let payload = PostPayload::InvestmentRequest(InvestmentRequestPayload {
                title: r.title,
                amount_sought_minor: r.amount_sought,
                currency: currency(&r.currency, r.post_id)?,
                instrument: r.instrument.0,
                stage: r.stage.0,
                equity_offered_percent: r.equity_offered_percent,
                use_of_funds: r.use_of_funds,
            });
            map.insert(r.post_id, payload);
        }
        for r in self.mentorship {
            let currency = r
                .currency
                .as_deref()
                .map(|c| currency(c, r.post_id))
                .transpose()?;
            let payload = PostPayload::MentorshipRequest(MentorshipRequestPayload {
                area: r.area,
                format: r.format.0,
                duration_weeks: r.duration_weeks,
                budget_minor: r.budget_amount,
                currency,
            });
            map.insert(r.post_id, payload);
        }
        Ok(map)
    }
}
