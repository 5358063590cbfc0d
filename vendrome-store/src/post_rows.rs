//! A post as [`crate::post_reads`] reads it, one row with every payload table's columns, and
//! its conversion into core's [`Post`]. A stored value that no longer parses, or a typed post
//! without its payload row, is [`Error::Unexpected`], never a half-valid post.

use anyhow::Context as _;
use uuid::Uuid;
use vendrome_core::enums::{
    CancellationRefund, InvestmentInstrument, InvestmentStage, MentorshipFormat, PostType,
    PostVisibility, ReactionKind, ServiceRateUnit, VerificationLevel,
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

use crate::sql_enum::DbEnum;

#[derive(sqlx::FromRow)]
pub(crate) struct PostRow {
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
    topics: Option<String>,
    my_reaction: Option<String>,
    bookmarked: bool,
    reposted: bool,
    // post_products
    pr_title: Option<String>,
    pr_category: Option<String>,
    price_amount: Option<i64>,
    pr_currency: Option<String>,
    stock_quantity: Option<i32>,
    sku: Option<String>,
    // post_services
    sv_title: Option<String>,
    sv_category: Option<String>,
    rate_amount: Option<i64>,
    sv_currency: Option<String>,
    rate_unit: Option<DbEnum<ServiceRateUnit>>,
    duration_minutes: Option<i32>,
    is_remote: Option<bool>,
    location: Option<String>,
    auto_confirm: Option<bool>,
    cancellation_window_hours: Option<i32>,
    late_cancellation_refund: Option<DbEnum<CancellationRefund>>,
    // post_crowdfunding
    cf_title: Option<String>,
    goal_amount: Option<i64>,
    cf_currency: Option<String>,
    cf_instrument: Option<DbEnum<InvestmentInstrument>>,
    ends_at: Option<Timestamp>,
    reward_summary: Option<String>,
    // post_investment_offers
    io_title: Option<String>,
    ticket_min_amount: Option<i64>,
    ticket_max_amount: Option<i64>,
    io_currency: Option<String>,
    io_instrument: Option<DbEnum<InvestmentInstrument>>,
    io_stage: Option<DbEnum<InvestmentStage>>,
    // post_investment_requests
    ir_title: Option<String>,
    amount_sought: Option<i64>,
    ir_currency: Option<String>,
    ir_instrument: Option<DbEnum<InvestmentInstrument>>,
    ir_stage: Option<DbEnum<InvestmentStage>>,
    equity_offered_percent: Option<f64>,
    use_of_funds: Option<String>,
    // post_mentorship_requests
    mr_area: Option<String>,
    mr_format: Option<DbEnum<MentorshipFormat>>,
    duration_weeks: Option<i32>,
    budget_amount: Option<i64>,
    mr_currency: Option<String>,
}

/// A required column of the post's payload row.
fn need<T>(value: Option<T>, post: Uuid, column: &str) -> Result<T> {
    value
        .with_context(|| format!("stored post {post} has no payload value for {column}"))
        .map_err(Error::Unexpected)
}

fn currency(raw: Option<String>, post: Uuid) -> Result<Currency> {
    let raw = need(raw, post, "currency")?;
    Currency::parse(raw.trim())
        .map_err(anyhow::Error::new)
        .with_context(|| format!("stored post {post} has an invalid currency"))
        .map_err(Error::Unexpected)
}

impl PostRow {
    fn payload(&mut self) -> Result<PostPayload> {
        let id = self.id;
        Ok(match self.post_type.0 {
            PostType::Text => PostPayload::Text,
            PostType::Product => PostPayload::Product(ProductPayload {
                title: need(self.pr_title.take(), id, "title")?,
                category: self.pr_category.take(),
                price_minor: need(self.price_amount, id, "price_amount")?,
                currency: currency(self.pr_currency.take(), id)?,
                stock_quantity: self.stock_quantity,
                sku: self.sku.take(),
            }),
            PostType::Service => PostPayload::Service(ServicePayload {
                title: need(self.sv_title.take(), id, "title")?,
                category: self.sv_category.take(),
                rate_minor: need(self.rate_amount, id, "rate_amount")?,
                currency: currency(self.sv_currency.take(), id)?,
                rate_unit: need(self.rate_unit.take(), id, "rate_unit")?.0,
                duration_minutes: self.duration_minutes,
                is_remote: need(self.is_remote, id, "is_remote")?,
                location: self.location.take(),
                auto_confirm: need(self.auto_confirm, id, "auto_confirm")?,
                cancellation_window_hours: need(
                    self.cancellation_window_hours,
                    id,
                    "cancellation_window_hours",
                )?,
                late_cancellation_refund: need(
                    self.late_cancellation_refund.take(),
                    id,
                    "late_cancellation_refund",
                )?
                .0,
            }),
            PostType::Crowdfunding => PostPayload::Crowdfunding(CrowdfundingPayload {
                title: need(self.cf_title.take(), id, "title")?,
                goal_minor: need(self.goal_amount, id, "goal_amount")?,
                currency: currency(self.cf_currency.take(), id)?,
                instrument: need(self.cf_instrument.take(), id, "instrument")?.0,
                ends_at: need(self.ends_at, id, "ends_at")?,
                reward_summary: self.reward_summary.take(),
            }),
            PostType::InvestmentOffer => PostPayload::InvestmentOffer(InvestmentOfferPayload {
                title: need(self.io_title.take(), id, "title")?,
                ticket_min_minor: need(self.ticket_min_amount, id, "ticket_min_amount")?,
                ticket_max_minor: need(self.ticket_max_amount, id, "ticket_max_amount")?,
                currency: currency(self.io_currency.take(), id)?,
                instrument: self.io_instrument.take().map(|e| e.0),
                stage: self.io_stage.take().map(|e| e.0),
            }),
            PostType::InvestmentRequest => {
                PostPayload::InvestmentRequest(InvestmentRequestPayload {
                    title: need(self.ir_title.take(), id, "title")?,
                    amount_sought_minor: need(self.amount_sought, id, "amount_sought")?,
                    currency: currency(self.ir_currency.take(), id)?,
                    instrument: need(self.ir_instrument.take(), id, "instrument")?.0,
                    stage: need(self.ir_stage.take(), id, "stage")?.0,
                    equity_offered_percent: self.equity_offered_percent,
                    use_of_funds: self.use_of_funds.take(),
                })
            }
            PostType::MentorshipRequest => {
                let currency = match self.mr_currency.take() {
                    Some(raw) => Some(currency(Some(raw), id)?),
                    None => None,
                };
                PostPayload::MentorshipRequest(MentorshipRequestPayload {
                    area: need(self.mr_area.take(), id, "area")?,
                    format: need(self.mr_format.take(), id, "format")?.0,
                    duration_weeks: self.duration_weeks,
                    budget_minor: self.budget_amount,
                    currency,
                })
            }
        })
    }

    pub(crate) fn into_post(mut self) -> Result<Post> {
        let payload = self.payload()?;
        let mut topics: Vec<String> = self
            .topics
            .as_deref()
            .map(|t| t.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        topics.sort();
        Ok(Post {
            id: PostId::from_uuid(self.id),
            author: AuthorSummary {
                id: UserId::from_uuid(self.author_id),
                display_name: self.display_name,
                handle: self.handle,
                avatar_url: self.avatar_url,
                verification_level: self.verification_level.0,
            },
            visibility: self.visibility.0,
            body: self.body,
            topics,
            payload,
            media: self.media.0,
            counts: PostCounts {
                reactions: self.reaction_count,
                comments: self.comment_count,
                reposts: self.repost_count,
                shares: self.share_count,
                bookmarks: self.bookmark_count,
            },
            viewer: ViewerState {
                reaction: self
                    .my_reaction
                    .as_deref()
                    .and_then(ReactionKind::from_label),
                bookmarked: self.bookmarked,
                reposted: self.reposted,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
            edited_at: self.edited_at,
        })
    }
}
