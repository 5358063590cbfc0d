//! One member's authorized session with a provider's API: every request carries the access
//! token, refreshed first when it is known to have expired; a 401 refreshes it once through the provider's token endpoint and sends the request
//! again once (a second 401, or a refused refresh, is [`RemoteError::Rejected`]); the refreshed
//! tokens are kept for the caller to seal and store; requests are counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::{RequestBuilder, Response, StatusCode};

use crate::oauth_app::OAuthApp;
use crate::provider::{Refreshed, RemoteError};
use crate::secrets::Credentials;

pub(crate) struct Session {
    pub(crate) app: Arc<OAuthApp>,
    tokens: Mutex<Credentials>,
    refreshed: Mutex<Option<Refreshed>>,
    requests: AtomicUsize,
    /// When the access token expires, if known.
    expires_at: Option<vendrome_core::time::Timestamp>,
}

impl Session {
    pub(crate) fn new(app: Arc<OAuthApp>, credentials: Credentials) -> Self {
        Self {
            app,
            tokens: Mutex::new(credentials),
            refreshed: Mutex::new(None),
            requests: AtomicUsize::new(0),
            expires_at: None,
        }
    }

    /// The access token expires at `at` (refreshed before the first request once it has, or
    /// within half a minute).
    pub(crate) fn expiring(mut self, at: Option<vendrome_core::time::Timestamp>) -> Self {
        self.expires_at = at;
        self
    }

    /// Refreshes the access token once; the new one.
    async fn refresh_now(&self) -> Result<String, RemoteError> {
        let refresh = self.tokens.lock().expect("tokens").refresh.clone();
        let refresh = refresh.ok_or_else(|| {
            RemoteError::Rejected(
                "the provider refused the access token and there is no refresh token".into(),
            )
        })?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let fresh = self.app.refresh(&refresh).await?;
        let access = fresh.credentials.access.expose().to_owned();
        *self.tokens.lock().expect("tokens") = fresh.credentials.clone();
        *self.refreshed.lock().expect("refreshed") = Some(Refreshed {
            credentials: fresh.credentials,
            expires_at: fresh.expires_at,
        });
        Ok(access)
    }

    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn refreshed(&self) -> Option<Refreshed> {
        self.refreshed.lock().expect("refreshed").clone()
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Result<reqwest::Url, RemoteError> {
        let mut url = reqwest::Url::parse(&self.app.config.api_url)
            .map_err(|e| RemoteError::Failed(format!("the API URL does not parse: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| RemoteError::Failed("the API URL has no path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn once(&self, request: RequestBuilder) -> Result<Response, RemoteError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        request.send().await.map_err(|e| {
            RemoteError::Failed(format!(
                "the provider's API could not be reached: {}",
                e.without_url()
            ))
        })
    }

    /// Sends `body` as JSON with `method` to `url`, with `If-Match: <etag>` when an etag is
    /// known: the providers' version check on an event. A 412 (the event changed since) is
    /// [`RemoteError::Conflict`].
    pub(crate) async fn write_json(
        &self,
        method: reqwest::Method,
        url: &reqwest::Url,
        etag: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<Response, RemoteError> {
        let response = self
            .send(|http, access| {
                let request = http
                    .request(method.clone(), url.clone())
                    .bearer_auth(access)
                    .json(body);
                match etag {
                    Some(etag) => request.header("If-Match", etag),
                    None => request,
                }
            })
            .await?;
        if response.status() == StatusCode::PRECONDITION_FAILED {
            return Err(RemoteError::Conflict);
        }
        Ok(response)
    }

    /// Sends the request `make` builds for an access token; on a 401, refreshes the token once
    /// and sends it again once.
    pub(crate) async fn send(
        &self,
        make: impl Fn(&reqwest::Client, &str) -> RequestBuilder,
    ) -> Result<Response, RemoteError> {
        let http = &self.app.http;
        let stale = self
            .expires_at
            .is_some_and(|t| t <= vendrome_core::time::now() + chrono::Duration::seconds(30));
        let has_refresh = self.tokens.lock().expect("tokens").refresh.is_some();
        if stale && has_refresh && self.refreshed.lock().expect("refreshed").is_none() {
            let access = self.refresh_now().await?;
            let response = self.once(make(http, &access)).await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                return Err(RemoteError::Rejected(
                    "the provider refused a freshly refreshed access token (401)".into(),
                ));
            }
            return Ok(response);
        }
        let access = self
            .tokens
            .lock()
            .expect("tokens")
            .access
            .expose()
            .to_owned();
        let response = self.once(make(http, &access)).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        if self.refreshed.lock().expect("refreshed").is_some() {
            return Err(RemoteError::Rejected(
                "the provider refused a freshly refreshed access token (401)".into(),
            ));
        }
        let access = self.refresh_now().await?;
        let response = self.once(make(http, &access)).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(RemoteError::Rejected(
                "the provider refused a freshly refreshed access token (401)".into(),
            ));
        }
        Ok(response)
    }
}

pub(crate) fn refusal(status: StatusCode) -> RemoteError {
    if status == StatusCode::UNAUTHORIZED {
        RemoteError::Rejected(format!("the provider refused the credentials ({status})"))
    } else {
        RemoteError::Failed(format!("the provider answered {status}"))
    }
}

pub(crate) async fn read<T: serde::de::DeserializeOwned>(
    response: Response,
) -> Result<T, RemoteError> {
    let status = response.status();
    if !status.is_success() {
        return Err(refusal(status));
    }
    response.json().await.map_err(|e| {
        RemoteError::Failed(format!(
            "the provider's answer does not read: {}",
            e.without_url()
        ))
    })
}
