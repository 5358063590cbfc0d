//! The OAuth 2 client of a calendar provider (Google, Microsoft): the authorization URL
//! (authorization code with PKCE S256 and `state`; for Google `access_type=offline` and
//! `prompt=consent`, for Microsoft the `offline_access` scope, so a refresh token is issued), the
//! code exchange and the refresh, through the `oauth2` crate. Endpoints are settings, so tests
//! point them at local fakes.

use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, TokenResponse as _, TokenUrl,
};
use vendrome_core::time::{self, Timestamp};

use crate::provider::RemoteError;
use crate::secrets::{Credentials, Secret};

use vendrome_core::enums::CalendarProvider;

/// How this server reaches a provider's calendars.
#[derive(Clone)]
pub struct ProviderConfig {
    pub client_id: String,
    pub client_secret: Secret,
    pub auth_url: String,
    pub token_url: String,
    /// The calendar API's base (Google's `…/calendar/v3`, Graph's `…/v1.0`).
    pub api_url: String,
    /// Where the provider sends the browser back
    /// (`{public}/v1/calendar/integrations/{provider}/callback`).
    pub redirect_url: String,
    /// Where the provider posts push notifications (`{public}/v1/calendar/webhooks/{provider}`);
    /// `None`:
    /// no watch channels, periodic syncs only.
    pub webhook_url: Option<String>,
    /// How long a push channel or subscription is asked to live (the provider may shorten it).
    pub channel_ttl: Duration,
    /// Where a disconnected integration's refresh token is revoked (Google's
    /// `…/revoke`, RFC 7009 style: `token=` form-encoded); `None`: not revoked there.
    pub revoke_url: Option<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("client_id", &self.client_id)
            .field("api_url", &self.api_url)
            .field("webhook_url", &self.webhook_url)
            .finish_non_exhaustive()
    }
}

/// What the browser is sent to, and what stays with us.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
}

/// Tokens from a code exchange or a refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub credentials: Credentials,
    pub expires_at: Option<Timestamp>,
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A configured provider client.
pub struct OAuthApp {
    pub(crate) provider: CalendarProvider,
    pub(crate) config: ProviderConfig,
    pub(crate) http: reqwest::Client,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("config", &self.config)
            .finish()
    }
}

impl OAuthApp {
    /// Google's client. Errors: as [`Self::new`].
    pub fn google(config: ProviderConfig) -> anyhow::Result<Self> {
        Self::new(CalendarProvider::Google, config)
    }

    /// Microsoft's (Graph) client. Errors: as [`Self::new`].
    pub fn microsoft(config: ProviderConfig) -> anyhow::Result<Self> {
        Self::new(CalendarProvider::Microsoft, config)
    }

    /// Errors: when an endpoint is not a URL or the HTTP client cannot be built.
    pub fn new(provider: CalendarProvider, config: ProviderConfig) -> anyhow::Result<Self> {
        for url in [
            &config.auth_url,
            &config.token_url,
            &config.api_url,
            &config.redirect_url,
        ] {
            reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("{url:?} is not a URL: {e}"))?;
        }
        // Token and API calls never follow redirects.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            provider,
            config,
            http,
        })
    }

    pub fn provider(&self) -> CalendarProvider {
        self.provider
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn client(&self) -> Client {
        BasicClient::new(ClientId::new(self.config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.config.client_secret.expose().to_owned(),
            ))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::new(self.config.auth_url.clone()).expect("checked in new"))
            .set_token_uri(TokenUrl::new(self.config.token_url.clone()).expect("checked in new"))
            .set_redirect_uri(
                RedirectUrl::new(self.config.redirect_url.clone()).expect("checked in new"),
            )
    }

    /// A new authorization URL with a fresh `state` and PKCE verifier (S256), asking for
    /// offline access (a refresh token) and, from Google, the consent screen (so one is issued
    /// again on a reconnection).
    pub fn authorize(&self) -> Authorization {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge);
        match self.provider {
            CalendarProvider::Microsoft => {
                for scope in crate::microsoft::SCOPES {
                    request = request.add_scope(Scope::new((*scope).to_owned()));
                }
            }
            _ => {
                request = request
                    .add_scope(Scope::new(crate::google::SCOPE.to_owned()))
                    .add_extra_param("access_type", "offline")
                    .add_extra_param("prompt", "consent");
            }
        }
        let (url, state) = request.url();
        Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        }
    }

    /// Trades an authorization code (with its PKCE verifier) for tokens.
    ///
    /// Errors: [`RemoteError::Rejected`] when the provider refuses the code; a refresh token is
    /// required (offline access).
    pub async fn exchange(&self, code: &str, pkce_verifier: &str) -> Result<Tokens, RemoteError> {
        let response = self
            .client()
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let refresh = response
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone()))
            .ok_or_else(|| {
                RemoteError::Rejected(
                    "the provider issued no refresh token (offline access)".into(),
                )
            })?;
        Ok(Tokens {
            credentials: Credentials {
                access: Secret::new(response.access_token().secret().clone()),
                refresh: Some(refresh),
            },
            expires_at: expires_at(response.expires_in()),
        })
    }

    /// New tokens from a refresh token (the refresh token kept when Google issues no new one).
    ///
    /// Errors: [`RemoteError::Rejected`] when the provider refuses it (`invalid_grant`: consent
    /// withdrawn or the token expired); [`RemoteError::Failed`] otherwise.
    /// Revokes `token` at the provider's revocation endpoint, if it has one (revoking a refresh
    /// token also ends the access tokens made from it). Whether it was asked.
    ///
    /// Errors: [`RemoteError::Failed`] when the endpoint refuses or cannot be reached.
    pub async fn revoke(&self, token: &Secret) -> Result<bool, RemoteError> {
        let Some(url) = &self.config.revoke_url else {
            return Ok(false);
        };
        let response = self
            .http
            .post(url)
            .form(&[("token", token.expose())])
            .send()
            .await
            .map_err(|_| {
                RemoteError::Failed("the revocation endpoint could not be reached".into())
            })?;
        // A token the provider no longer knows is revoked already.
        if response.status().is_success() || response.status() == reqwest::StatusCode::BAD_REQUEST {
            Ok(true)
        } else {
            Err(RemoteError::Failed(format!(
                "the revocation endpoint answered {}",
                response.status()
            )))
        }
    }

    pub async fn refresh(&self, refresh: &Secret) -> Result<Tokens, RemoteError> {
        let response = self
            .client()
            .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(Tokens {
            credentials: Credentials {
                access: Secret::new(response.access_token().secret().clone()),
                refresh: Some(
                    response
                        .refresh_token()
                        .map(|r| Secret::new(r.secret().clone()))
                        .unwrap_or_else(|| refresh.clone()),
                ),
            },
            expires_at: expires_at(response.expires_in()),
        })
    }
}

fn expires_at(expires_in: Option<Duration>) -> Option<Timestamp> {
    expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| time::now() + d)
}

/// A token endpoint's refusal, without the request (which holds the code or refresh token).
fn token_error<E: std::error::Error>(
    e: RequestTokenError<E, oauth2::basic::BasicErrorResponse>,
) -> RemoteError {
    match e {
        RequestTokenError::ServerResponse(response) => match response.error() {
            BasicErrorResponseType::InvalidGrant
            | BasicErrorResponseType::InvalidClient
            | BasicErrorResponseType::UnauthorizedClient => RemoteError::Rejected(format!(
                "the provider refused the grant ({})",
                response.error()
            )),
            other => RemoteError::Failed(format!("the provider's token endpoint answered {other}")),
        },
        RequestTokenError::Request(_) => {
            RemoteError::Failed("the provider's token endpoint could not be reached".into())
        }
        RequestTokenError::Parse(_, _) | RequestTokenError::Other(_) => RemoteError::Failed(
            "the provider's token endpoint answered something unreadable".into(),
        ),
    }
}
