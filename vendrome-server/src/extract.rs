//! Extractors that answer bad input with the error envelope instead of axum's plain-text
//! rejections: a JSON body ([`ApiJson`]) and a query string ([`ApiQuery`]).

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde_json::json;

use crate::error::ApiError;

/// A JSON request body. Answers 415 `unsupported_media_type` without a JSON content type,
/// 413 `payload_too_large` past the body limit, 400 `malformed_json` for text that is not JSON,
/// and 422 `validation_failed` (naming the field) for JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(_) => {
                        ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE)
                    }
                    _ => ApiError::for_status(StatusCode::BAD_REQUEST),
                })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body is not valid JSON",
            )
            .with_details(json!({ "line": e.line(), "column": e.column() }))
        })?;
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::validation(&vendrome_core::validation::ValidationErrors::single(
                    &field,
                    "invalid_type",
                    e.into_inner().to_string(),
                ))
            })
    }
}

/// An optional JSON body: absent when the request has no body and no content type (`POST` with
/// nothing to say); otherwise read as [`ApiJson`] reads it.
impl<T: DeserializeOwned, S: Send + Sync> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let empty = request.headers().get(header::CONTENT_TYPE).is_none()
            && request
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_none_or(|length| length.as_bytes() == b"0");
        if empty {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}

pub(crate) fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A query string. Answers 422 `validation_failed` when it does not fit.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|rejection: QueryRejection| {
                ApiError::validation(&vendrome_core::validation::ValidationErrors::single(
                    "query",
                    "invalid_query",
                    rejection.body_text(),
                ))
            })
    }
}

/// The client's IP address, when the server knows it (it always does over a real socket): the
/// address [`crate::client_addr`] resolved behind trusted proxies, else the TCP peer.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

/// The client address of a request from its extensions (see [`ClientIp`]).
pub fn client_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<crate::client_addr::ClientAddr>()
        .map(|client| client.0)
        .or_else(|| {
            extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip())
        })
}

/// The caller's user agent and address, for sessions and audit events.
pub struct Client(pub vendrome_core::auth::ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        Ok(Client(vendrome_core::auth::ClientInfo {
            user_agent,
            ip: ip.map(|ip| ip.to_string()),
        }))
    }
}

impl Client {
    /// The audit context of a signed-in caller making this request.
    pub fn audit(&self, actor: vendrome_core::ids::UserId) -> vendrome_core::audit::AuditContext {
        vendrome_core::audit::AuditContext {
            actor_id: Some(actor),
            ip: self.0.ip.clone(),
            request_id: Some(crate::request_id::current()),
            via: None,
        }
    }
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Reads a JSON integer also when it is written with a zero fraction (`37.0`), as JSON Schema
/// counts it an integer; any other fraction, or a value out of range, is refused.
pub(crate) fn whole_number<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        // Exact: a whole f64 within i64's range converts without loss.
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
            Ok(Some(f as i64))
        }
        _ => Err(D::Error::custom(format!(
            "invalid type: {number}, expected a whole number"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(super::is_json(Some(&HeaderValue::from_static(ok))), "{ok}");
        }
        for bad in ["text/plain", "application/x-www-form-urlencoded", "json"] {
            assert!(
                !super::is_json(Some(&HeaderValue::from_static(bad))),
                "{bad}"
            );
        }
        assert!(!super::is_json(None));
    }
}
