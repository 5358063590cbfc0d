//! Feature flags: everyone reads them evaluated for themselves; admins change them.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::audit::AuditContext;
use vendrome_core::enums::{UserRole, VerificationLevel};
use vendrome_core::flags::{
    ChangeReason, Cohorts, Country, EvaluatedFlag, Flag, FlagName, FlagUpdate, RolloutPercent,
};
use vendrome_core::ids::UserId;
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
    /// Whether it is on for this caller (deterministic per member; anonymous callers get
    /// `enabled`).
    pub active: bool,
    pub cohorts: CohortsView,
}

/// Who a flag is for besides its percentage. Named members are counted, never listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CohortsView {
    /// How many members the flag names (on for them while the flag is on).
    pub included_users: usize,
    /// The percentage only picks among members of these roles (any, when empty)…
    pub roles: Vec<UserRole>,
    /// …of these verification levels (any, when empty)…
    pub levels: Vec<VerificationLevel>,
    /// …and whose profile is in one of these countries (any, when empty).
    #[schema(example = json!(["KE"]))]
    pub countries: Vec<String>,
}

impl From<&Cohorts> for CohortsView {
    fn from(cohorts: &Cohorts) -> Self {
        Self {
            included_users: cohorts.users.len(),
            roles: cohorts.roles.iter().copied().collect(),
            levels: cohorts.levels.iter().copied().collect(),
            countries: cohorts
                .countries
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
        }
    }
}

impl FlagView {
    fn new(flag: Flag, active: bool) -> Self {
        Self {
            name: flag.name.as_str().to_owned(),
            description: flag.description,
            enabled: flag.enabled,
            rollout_percent: flag.rollout_percent.get(),
            active,
            cohorts: CohortsView::from(&flag.cohorts),
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
    /// The flag's cohorts as a whole; left out, they stay as they are (send `{}` to clear them).
    #[serde(default)]
    pub cohorts: Option<CohortsRequest>,
    /// Why, kept in the audit event with who changed what.
    #[schema(min_length = 1, max_length = 500, example = "canary: the Nairobi team")]
    pub reason: String,
}

/// A flag's cohorts, replacing the ones it has.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CohortsRequest {
    /// Members the flag is on for while it is on, whatever the percentage (at most 1,000; each
    /// must name an account).
    #[schema(max_items = 1000)]
    pub include_users: Vec<UserId>,
    pub roles: Vec<UserRole>,
    pub levels: Vec<VerificationLevel>,
    /// ISO 3166-1 alpha-2 codes.
    #[schema(example = json!(["KE", "ZA"]))]
    pub countries: Vec<String>,
}

impl CohortsRequest {
    fn try_into_domain(self) -> Result<Cohorts, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let countries = self
            .countries
            .iter()
            .filter_map(|c| errors.check("countries", Country::parse(c)))
            .collect();
        errors.into_result()?;
        Cohorts {
            users: self.include_users.into_iter().collect(),
            roles: self.roles.into_iter().collect(),
            levels: self.levels.into_iter().collect(),
            countries,
        }
        .bounded()
        .map_err(|e| {
            let mut errors = ValidationErrors::new();
            errors.check::<()>("include_users", Err(e));
            errors
        })
    }
}

impl UpdateFlagRequest {
    fn try_into_domain(self) -> Result<FlagUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let rollout_percent = self
            .rollout_percent
            .and_then(|n| errors.check("rollout_percent", RolloutPercent::parse(n)));
        let reason = errors.check("reason", ChangeReason::parse(&self.reason));
        let cohorts = match self.cohorts.map(CohortsRequest::try_into_domain) {
            Some(result) => errors.check("cohorts", result.map(Some)).flatten(),
            None => None,
        };
        errors.into_result()?;
        Ok(FlagUpdate {
            enabled: self.enabled,
            rollout_percent,
            cohorts,
            reason: reason.expect("a reason that failed to parse was recorded as an error"),
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

/// Turn a flag on or off and set its rollout and cohorts (admins only; audited with the reason).
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
        (status = 422, description = "The body breaks a rule (`validation_failed`; `unknown_users` under `include_users` lists ids no account has).", body = ErrorEnvelope),
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
    state.flag_snapshot.forget();
    state.read_only_flag.forget();
    let active = state.flags.evaluate_one(&flag, caller.user_id).await?;
    Ok(ApiSuccess::ok(FlagView::new(flag, active)))
}
