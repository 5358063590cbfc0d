//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The process's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers at all.
    #[schema(example = "ok")]
    pub status: String,
}

/// Whether the service can take traffic.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: String,
    /// `postgres` or `sqlite`.
    pub database: String,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers.", body = Envelope<Health>)))]
pub async fn healthz() -> ApiSuccess<Health> {
    ApiSuccess::ok(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database answers within two seconds.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready for traffic.", body = Envelope<Readiness>),
        (status = 503, description = "`not_ready`: the database does not answer, or the embedded search index is still being built (a first start).", body = ErrorEnvelope),
    ))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<ApiSuccess<Readiness>> {
    let database = state.store.dialect().name().to_owned();
    if let Some((index, _)) = &state.search_index {
        if index.generation().is_none() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the search index is being built",
            ));
        }
    }
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Ok(ApiSuccess::ok(Readiness {
            status: "ready".into(),
            database,
        })),
        Ok(Err(error)) => {
            tracing::warn!(error = %format!("{error:#}"), "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database does not answer",
            ))
        }
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the database does not answer",
        )),
    }
}
