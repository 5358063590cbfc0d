//! The investor deal flow: the caller's offers matched to others' requests (and the reverse),
//! each explaining its score; and interest in an offer or request, sent as a direct message to
//! its author (the message's realtime event is the other party's notification). See
//! `vendrome_core::investments::matches`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::enums::PostType;
use vendrome_core::ids::{ConversationId, PostId, UserId};
use vendrome_core::investments::{DealMatch, MatchReason};
use vendrome_core::messaging::MessageBody;
use vendrome_core::validation::ValidationErrors;

use super::investments::PageParams;
use super::messaging::MessageView;
use super::page::PageQuery;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// An offer or request matched to one of the caller's own.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    /// The caller's post the match is for.
    pub own_post_id: PostId,
    /// The other party's offer (when the caller's post is a request) or request.
    pub post_id: PostId,
    pub post_type: PostType,
    /// The other party.
    pub author: UserId,
    pub title: String,
    /// The sum of the reasons' points (industry 30, amount 25, stage 20, instrument 15,
    /// country 10).
    pub score: i64,
    /// What matched.
    pub reasons: Vec<MatchReason>,
}

impl From<DealMatch> for MatchView {
    fn from(m: DealMatch) -> Self {
        Self {
            own_post_id: m.own_post_id,
            post_id: m.post_id,
            post_type: m.post_type,
            author: m.author_id,
            title: m.title,
            score: m.score,
            reasons: m.reasons,
        }
    }
}

/// Interest in one offer or request (exactly one of the two ids), with a first message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterestRequest {
    pub offer_post_id: Option<PostId>,
    pub request_post_id: Option<PostId>,
    /// 1 to 4,000 characters.
    pub message: String,
}

/// Where the interest was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterestView {
    pub conversation_id: ConversationId,
    /// Whether the direct conversation was opened by this interest.
    pub opened: bool,
    pub message: MessageView,
}

/// The caller's deal flow: investment offers matched to their requests and requests matched to
/// their offers, in the same currency, best score first.
#[utoipa::path(get, path = "/v1/investments/matches", tag = "investments", security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of matches.", body = Envelope<Vec<MatchView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn matches(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageParams>,
) -> ApiResult<ApiSuccess<Vec<MatchView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let (items, next) = state
        .investments
        .matches(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(
        vendrome_core::page::Page {
            items,
            next_cursor: next,
        },
        MatchView::from,
    ))
}

/// Express interest in an investment offer or request: opens (or reuses) the direct
/// conversation with its author and sends the message there; the author hears it as any new
/// message (`message.created`).
#[utoipa::path(post, path = "/v1/investments/interests", tag = "investments", security(("bearer" = [])),
    request_body = InterestRequest,
    responses(
        (status = 201, description = "The message, in its conversation.", body = Envelope<InterestView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`blocked`, `connections_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such live public offer or request.", body = ErrorEnvelope),
        (status = 422, description = "`own_post`; `validation_failed` (`offer_post_id` / `request_post_id`: exactly one; `message`).", body = ErrorEnvelope),
    ))]
pub async fn express_interest(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<InterestRequest>,
) -> ApiResult<ApiSuccess<InterestView>> {
    let mut errors = ValidationErrors::new();
    let target = match (body.offer_post_id, body.request_post_id) {
        (Some(offer), None) => Some((offer, PostType::InvestmentOffer)),
        (None, Some(request)) => Some((request, PostType::InvestmentRequest)),
        _ => {
            errors.add(
                "offer_post_id",
                "exactly_one",
                "give exactly one of offer_post_id and request_post_id",
            );
            None
        }
    };
    let message = errors.check("message", MessageBody::parse(&body.message));
    errors.into_result().map_err(vendrome_core::Error::from)?;
    let (Some((post, kind)), Some(message)) = (target, message) else {
        return Err(
            vendrome_core::Error::Unexpected(anyhow::anyhow!("checked input is missing")).into(),
        );
    };
    let author = state
        .investments
        .interest_target(&auth.caller, post, kind)
        .await?;
    let (conversation, opened) = state.messaging.start_direct(&auth.caller, author).await?;
    let sent = state
        .messaging
        .send(&auth.caller, conversation, message, None)
        .await?;
    Ok(ApiSuccess::created(InterestView {
        conversation_id: conversation,
        opened,
        message: sent.into(),
    }))
}
