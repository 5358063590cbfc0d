//! Conversations and messages: direct conversations, sending (idempotent by `Idempotency-Key`
//! and by `client_message_id`), history, read pointers, and the inbox with unread counts.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::ConversationKind;
use vendrome_core::ids::{ConversationId, MessageId, UserId};
use vendrome_core::messaging::{
    Attachment, ClientMessageId, HistoryFrom, InboxEntry, Message, MessageBody, MessageContent,
};
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::validation::ValidationErrors;

use super::page::PageQuery;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConversationRequest {
    /// The member to talk to.
    pub user_id: UserId,
}

/// A conversation the caller just opened or already had.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedView {
    pub id: ConversationId,
    /// `false` when the conversation already existed.
    pub created: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// Up to 4,000 characters; may be empty (or left out) when something is attached.
    #[serde(default)]
    pub body: String,
    /// Up to 10 files already uploaded elsewhere.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The client's own id for this message: sending it again returns the stored message.
    pub client_message_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The newest message the caller has seen.
    pub message_id: MessageId,
}

/// Whether the read pointer moved (it never moves back).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadView {
    pub moved: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// `null` for system messages.
    pub sender_id: Option<UserId>,
    /// Empty when the message is only attachments.
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub created_at: DateTime<Utc>,
    /// Set once its sender edited it.
    pub edited_at: Option<DateTime<Utc>>,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            sender_id: m.sender_id,
            body: m.body,
            attachments: m.attachments,
            created_at: m.created_at,
            edited_at: m.edited_at,
        }
    }
}

/// A conversation in the caller's inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: ConversationId,
    pub kind: ConversationKind,
    /// Groups only.
    pub title: Option<String>,
    /// The other participants.
    pub participant_ids: Vec<UserId>,
    pub last_message: Option<MessageView>,
    /// Messages from others after the caller's read pointer.
    pub unread: i64,
    pub last_activity: DateTime<Utc>,
}

impl From<InboxEntry> for ConversationView {
    fn from(e: InboxEntry) -> Self {
        Self {
            id: e.conversation_id,
            kind: e.kind,
            title: e.title,
            participant_ids: e.others,
            last_message: e.last_message.map(MessageView::from),
            unread: e.unread,
            last_activity: e.last_activity,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    /// 1 to 4,000 characters.
    pub body: String,
}

/// A deletion's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDeleted {
    pub deleted: bool,
}

/// A page of history: the newest messages, or those before or after a message.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page (continues in that page's direction).
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
    /// Messages older than this one, newest first (empty: absent).
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub before: Option<String>,
    /// Messages newer than this one, oldest first (empty: absent).
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub after: Option<String>,
}

impl HistoryQuery {
    fn parse(&self) -> Result<(HistoryFrom, Option<Cursor>, Limit), ApiError> {
        let (cursor, limit) = PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .parse()?;
        let mut errors = ValidationErrors::new();
        let anchor = |field: &str, raw: &str, errors: &mut ValidationErrors| {
            let parsed = raw.parse::<MessageId>().ok();
            if parsed.is_none() {
                errors.add(field, "invalid_format", "must be a message id");
            }
            parsed
        };
        let from = match (&self.before, &self.after) {
            (Some(_), Some(_)) => {
                errors.add("after", "conflict", "give `before` or `after`, not both");
                None
            }
            (Some(raw), None) => anchor("before", raw, &mut errors).map(HistoryFrom::Before),
            (None, Some(raw)) => anchor("after", raw, &mut errors).map(HistoryFrom::After),
            (None, None) => Some(HistoryFrom::Latest),
        };
        errors.into_result()?;
        Ok((from.unwrap_or(HistoryFrom::Latest), cursor, limit))
    }
}

fn message_id(raw: &str) -> Result<MessageId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("message"))
}

pub(crate) fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("conversation"))
}

/// Open a direct conversation with a member (or get the one that exists).
#[utoipa::path(post, path = "/v1/conversations", tag = "messaging", security(("bearer" = [])),
    request_body = StartConversationRequest,
    responses(
        (status = 201, description = "Opened now.", body = Envelope<StartedView>),
        (status = 200, description = "It already existed.", body = Envelope<StartedView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`blocked`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (yourself).", body = ErrorEnvelope),
    ))]
pub async fn start_conversation(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<StartConversationRequest>,
) -> ApiResult<ApiSuccess<StartedView>> {
    let (id, created) = state
        .messaging
        .start_direct(&auth.caller, body.user_id)
        .await?;
    let view = StartedView { id, created };
    Ok(if created {
        ApiSuccess::created(view)
    } else {
        ApiSuccess::ok(view)
    })
}

/// The caller's conversations, latest activity first, with unread counts.
#[utoipa::path(get, path = "/v1/conversations", tag = "messaging", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of conversations.", body = Envelope<Vec<ConversationView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn list_conversations(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<ConversationView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state
        .messaging
        .inbox(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, ConversationView::from))
}

/// Send a message.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The conversation.")),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "The message (the stored one for a repeated `client_message_id`).", body = Envelope<MessageView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`blocked`.", body = ErrorEnvelope),
        (status = 404, description = "No such conversation, or the caller is not in it.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn send_message(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<ApiSuccess<MessageView>> {
    let id = conversation_id(&id)?;
    let mut errors = ValidationErrors::new();
    let content = match MessageContent::parse(&body.body, body.attachments) {
        Ok(content) => Some(content),
        Err(broken) => {
            errors.merge(broken);
            None
        }
    };
    let client = match &body.client_message_id {
        Some(raw) => errors.check("client_message_id", ClientMessageId::parse(raw)),
        None => None,
    };
    errors.into_result()?;
    let content = content.expect("checked above");
    let message = state
        .messaging
        .send(&auth.caller, id, content, client)
        .await?;
    Ok(ApiSuccess::created(message.into()))
}

/// A conversation's messages: the newest first, or from any message backwards (`before`) or
/// forwards (`after`).
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The conversation."), HistoryQuery),
    responses(
        (status = 200, description = "A page of messages.", body = Envelope<Vec<MessageView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such conversation, or the caller is not in it.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn list_messages(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<ApiSuccess<Vec<MessageView>>> {
    let id = conversation_id(&id)?;
    let (from, cursor, limit) = query.parse()?;
    let page = state
        .messaging
        .messages(&auth.caller, id, from, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, MessageView::from))
}

/// Mark the conversation read up to a message.
#[utoipa::path(post, path = "/v1/conversations/{id}/read", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The conversation.")),
    request_body = ReadRequest,
    responses(
        (status = 200, description = "Whether the pointer moved.", body = Envelope<ReadView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such conversation or message, or the caller is not in it.", body = ErrorEnvelope),
    ))]
pub async fn mark_read(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReadRequest>,
) -> ApiResult<ApiSuccess<ReadView>> {
    let id = conversation_id(&id)?;
    let moved = state
        .messaging
        .mark_read(&auth.caller, id, body.message_id)
        .await?;
    Ok(ApiSuccess::ok(ReadView { moved }))
}

/// Edit one's own message, within the edit window (15 minutes by default).
#[utoipa::path(patch, path = "/v1/messages/{id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = MessageId, Path, description = "The message.")),
    request_body = EditMessageRequest,
    responses(
        (status = 200, description = "The message as it is now.", body = Envelope<MessageView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_sender`.", body = ErrorEnvelope),
        (status = 404, description = "No such message, or the caller is not in its conversation.", body = ErrorEnvelope),
        (status = 409, description = "`edit_window_passed`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn edit_message(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditMessageRequest>,
) -> ApiResult<ApiSuccess<MessageView>> {
    let id = message_id(&id)?;
    let mut errors = ValidationErrors::new();
    let text = errors.check("body", MessageBody::parse(&body.body));
    errors.into_result()?;
    let text = text.expect("checked above");
    let message = state.messaging.edit(&auth.caller, id, text).await?;
    Ok(ApiSuccess::ok(message.into()))
}

/// Delete one's own message, within the edit window.
#[utoipa::path(delete, path = "/v1/messages/{id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = MessageId, Path, description = "The message.")),
    responses(
        (status = 200, description = "Deleted.", body = Envelope<MessageDeleted>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_sender`.", body = ErrorEnvelope),
        (status = 404, description = "No such message, or the caller is not in its conversation.", body = ErrorEnvelope),
        (status = 409, description = "`edit_window_passed`.", body = ErrorEnvelope),
    ))]
pub async fn delete_message(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<MessageDeleted>> {
    state
        .messaging
        .delete(&auth.caller, message_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(MessageDeleted { deleted: true }))
}
