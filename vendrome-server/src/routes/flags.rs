//! Feature flags: everyone reads them evaluated for themselves; admins change them.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::audit::AuditContext;
use vendrome_core::flags::{EvaluatedFlag, Flag, FlagName, FlagUpdate, RolloutPercent};
use vendrome_core::validation::ValidationErrors;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientIp};
use crate::request_id;
use crate::state::AppState;

/// A feature flag as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagView {
    #[schema(example = "use_real_feed")]
    pub name: String,
    pub description: String,
    /// The flag's base state: on or off.
    pub enabled: bool,
    /// The share of signed-in users it is on for, when enabled.
    #[schema(minimum = 0, maximum = 100)]
    pub rollout_percent: u8,
    /// Whether it is on for this caller (deterministic per user; anonymous callers get
    /// `enabled`).
    pub active: bool,
}

impl FlagView {
    fn new(flag: Flag, active: bool) -> Self {
        Self {
            name: flag.name.as_str().to_owned(),
            description: flag.description,
            enabled: flag.enabled,
            rollout_percent: flag.rollout_percent.get(),
            active,
        }
    }
}

impl From<EvaluatedFlag> for FlagView {
    fn from(evaluated: EvaluatedFlag) -> Self {
        Self::new(evaluated.flag, evaluated.active)
    }
}

/// A change to a flag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFlagRequest {
    pub enabled: bool,
    /// 0 to 100; left out, the percentage stays as it is.
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub rollout_percent: Option<i64>,
}

impl UpdateFlagRequest {
    fn try_into_domain(self) -> Result<FlagUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let rollout_percent = self
            .rollout_percent
            .and_then(|n| errors.check("rollout_percent", RolloutPercent::parse(n)));
        errors.into_result()?;
        Ok(FlagUpdate {
            enabled: self.enabled,
            rollout_percent,
        })
    }
}

/// Every flag, evaluated for the caller.
#[utoipa::path(get, path = "/v1/flags", tag = "flags",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Every flag, sorted by name.", body = Envelope<Vec<FlagView>>),
        (status = 401, description = "A token was sent and is not valid.", body = ErrorEnvelope),
    ))]
pub async fn list_flags(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
) -> ApiResult<ApiSuccess<Vec<FlagView>>> {
    let flags = state.flags.evaluate_all(caller.map(|c| c.user_id)).await?;
    Ok(ApiSuccess::ok(
        flags.into_iter().map(FlagView::from).collect(),
    ))
}

/// Turn a flag on or off and set its rollout (admins only; audited).
#[utoipa::path(put, path = "/v1/admin/flags/{name}", tag = "flags",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The flag's name.", example = "use_real_feed")),
    request_body = UpdateFlagRequest,
    responses(
        (status = 200, description = "The flag as it is now.", body = Envelope<FlagView>),
        (status = 400, description = "The body is not JSON (`malformed_json`).", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "The caller is not an admin (`admin_only`).", body = ErrorEnvelope),
        (status = 404, description = "No flag has this name.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "The body breaks a rule (`validation_failed`).", body = ErrorEnvelope),
    ))]
pub async fn update_flag(
    State(state): State<AppState>,
    Authenticated { caller, .. }: Authenticated,
    ClientIp(ip): ClientIp,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UpdateFlagRequest>,
) -> ApiResult<ApiSuccess<FlagView>> {
    caller.require_admin()?;
    let name = FlagName::parse(&name).map_err(|_| ApiError::not_found("flag"))?;
    let update = body.try_into_domain()?;
    let audit = AuditContext {
        actor_id: Some(caller.user_id),
        ip: ip.map(|ip| ip.to_string()),
        request_id: Some(request_id::current()),
        via: None,
    };
    let flag = state
        .flags
        .update_as(&caller, &name, update, &audit)
        .await?;
    let active = flag.evaluate(Some(caller.user_id));
    Ok(ApiSuccess::ok(FlagView::new(flag, active)))
}
