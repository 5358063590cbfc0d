//! Signing in with Google, Facebook and LinkedIn: provider configuration ([`OAuthSettings`]),
//! the HTTP side of each provider ([`ProviderClient`]) and the registry handlers reach
//! ([`OAuthProviders`]). The rules (sign in, link, unlink) are `vendrome_core::oauth`'s.

mod id_token;
mod provider;
mod settings;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use oauth2::RedirectUrl;
use vendrome_core::enums::OauthProvider;
use vendrome_core::SqlEnum as _;

pub use provider::{Authorization, ProviderClient};
pub use settings::{Endpoints, OAuthSettings, ProviderSettings};

use crate::error::ApiError;

/// The configured providers.
#[derive(Default)]
pub struct OAuthProviders {
    providers: HashMap<OauthProvider, ProviderClient>,
    /// Where browser sign-ins may return to.
    redirects: OAuthSettings,
}

impl std::fmt::Debug for OAuthProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthProviders")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The exact redirect URI of `provider`.
pub fn redirect_uri(public_url: &str, provider: OauthProvider) -> String {
    format!(
        "{}/v1/auth/oauth/{}/callback",
        public_url.trim_end_matches('/'),
        provider.as_str()
    )
}

impl OAuthProviders {
    /// Clients for every configured provider. A provider whose settings do not make a client
    /// (possible only for settings not made by [`OAuthSettings::from_env`]) is left out, loudly.
    pub fn new(settings: &OAuthSettings) -> Self {
        let redirects = OAuthSettings {
            redirect_origins: settings.redirect_origins.clone(),
            ..OAuthSettings::default()
        };
        let Some(public_url) = &settings.public_url else {
            if !settings.providers.is_empty() {
                tracing::error!(
                    "OAuth providers are configured without a public URL: all are disabled"
                );
            }
            return Self {
                redirects,
                ..Self::default()
            };
        };
        // Provider calls never follow redirects (a token endpoint that redirects is refused).
        let http = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(http) => http,
            Err(error) => {
                tracing::error!(%error, "could not build the HTTP client for OAuth providers: all are disabled");
                return Self {
                    redirects,
                    ..Self::default()
                };
            }
        };
        let mut providers = HashMap::new();
        for provider in &settings.providers {
            match RedirectUrl::new(redirect_uri(public_url, provider.provider)) {
                Ok(uri) => {
                    providers.insert(
                        provider.provider,
                        ProviderClient::new(provider.clone(), uri, http.clone()),
                    );
                }
                Err(error) => {
                    tracing::error!(%error, provider = ?provider.provider, "bad redirect URI: provider disabled")
                }
            }
        }
        Self {
            providers,
            redirects,
        }
    }

    /// `redirect_to` when it is under a configured frontend origin; else 422
    /// `validation_failed` (`redirect_to`: `origin_not_allowed`): the API redirects nowhere else.
    pub fn redirect(&self, redirect_to: &str) -> Result<String, ApiError> {
        self.redirects.allowed_redirect(redirect_to).ok_or_else(|| {
            vendrome_core::Error::Invalid(vendrome_core::validation::ValidationErrors::single(
                "redirect_to",
                "origin_not_allowed",
                "must be a URL under one of the frontend origins the server is configured with",
            ))
            .into()
        })
    }

    /// The provider named in a path: unknown and unconfigured ones are both 404 `not_found`.
    pub fn get(&self, name: &str) -> Result<(OauthProvider, &ProviderClient), ApiError> {
        OauthProvider::from_label(name)
            .and_then(|provider| {
                self.providers
                    .get(&provider)
                    .map(|client| (provider, client))
            })
            .ok_or_else(|| ApiError::not_found("provider"))
    }
}

/// A provider that failed us: logged with its cause, answered 502 `oauth_provider_error`
/// without it.
pub fn provider_error(error: anyhow::Error) -> ApiError {
    tracing::warn!(error = ?error, "OAuth provider call failed");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "oauth_provider_error",
        "the sign-in provider could not complete the sign-in",
    )
}

/// A `state` never issued, already used, expired, or from another provider.
pub fn state_invalid() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "oauth_state_invalid",
        "this sign-in link is not valid any more; start the sign-in again",
    )
}
