//! Connecting a Google or Microsoft calendar with OAuth 2: `start` stores a connection in flight for the
//! member (SHA-256 of its `state`, the PKCE verifier; single use, expiring after
//! [`ATTEMPT_TTL`]) and answers Google's authorization URL; `finish`, from the callback's `code`
//! and `state`, takes the attempt (once), trades the code for tokens with the verifier, seals
//! them ([`crate::secrets`]) into a new integration of the member's primary calendar (or into
//! the one already connected, back to `active`: a reconnection), and opens its push channel
//! (a Google watch channel, a Graph subscription).
//!
//! The callback carries no session (the browser comes back from the provider): the `state`, 256
//! random bits bound to the member who started and usable once, is what identifies them, and it
//! is honoured only in the browser that started (the hash of a secret the server keeps in that
//! browser's httpOnly cookie), so nobody can have a victim's calendar connected to their own
//! account by sending them an authorization URL they started.

use vendrome_core::access::Caller;
use vendrome_core::calendar::integrations::{ConnectAttempt, Integration, NewIntegration};
use vendrome_core::enums::CalendarProvider;
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::oauth::state_hash;
use vendrome_core::time;
use vendrome_core::{Error, Result};

use crate::oauth_app::OAuthApp;
use crate::provider::RemoteError;
use crate::sync::SyncEngine;

/// How long a started connection may wait for its callback.
pub const ATTEMPT_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// The calendar a connection syncs (the member's default one).
const PRIMARY: &str = "primary";

fn not_configured(provider: CalendarProvider) -> Error {
    Error::unavailable(
        "calendar_provider_not_configured",
        format!(
            "this server has no {} calendar client configured",
            vendrome_core::SqlEnum::as_str(provider)
        ),
    )
}

impl SyncEngine {
    fn app(&self, provider: CalendarProvider) -> Result<&std::sync::Arc<OAuthApp>> {
        match provider {
            CalendarProvider::Google => self.google.as_ref(),
            CalendarProvider::Microsoft => self.microsoft.as_ref(),
            CalendarProvider::Caldav => None,
        }
        .ok_or_else(|| not_configured(provider))
    }

    /// Starts connecting the caller's Google calendar (see [`Self::start`]).
    ///
    /// Errors: as [`Self::start`].
    pub async fn start_google(&self, caller: &Caller, browser_secret: &str) -> Result<String> {
        self.start(caller, CalendarProvider::Google, browser_secret)
            .await
    }

    /// Finishes a Google connection (see [`Self::finish`]).
    ///
    /// Errors: as [`Self::finish`].
    pub async fn finish_google(
        &self,
        code: &str,
        state: &str,
        browser_secret: Option<&str>,
    ) -> Result<Integration> {
        self.finish(CalendarProvider::Google, code, state, browser_secret)
            .await
    }

    /// Starts connecting the caller's calendar at `provider` in the browser holding
    /// `browser_secret`: the URL to send it to.
    ///
    /// Errors: [`Error::Unavailable`] `calendar_provider_not_configured` without a client for
    /// it, `calendar_sync_unconfigured` without calendar keys.
    pub async fn start(
        &self,
        caller: &Caller,
        provider: CalendarProvider,
        browser_secret: &str,
    ) -> Result<String> {
        let app = self.app(provider)?;
        self.integrations.keys()?;
        let authorization = app.authorize();
        let now = time::now();
        self.repo
            .save_connect_attempt(&ConnectAttempt {
                state_hash: state_hash(&authorization.state),
                user_id: caller.user_id,
                provider,
                pkce_verifier: authorization.pkce_verifier,
                browser_hash: state_hash(browser_secret),
                created_at: now,
                expires_at: now + ATTEMPT_TTL,
            })
            .await?;
        Ok(authorization.url)
    }

    /// Finishes a connection at `provider` from its callback: the member's integration,
    /// connected (or reconnected) with its tokens sealed, its push channel opened when push is
    /// configured.
    ///
    /// Errors: [`Error::BadRequest`] `calendar_connect_state_invalid` for a `state` that is
    /// unknown, used, expired, of another provider, or brought back by another browser than the
    /// one holding `browser_secret`; [`Error::Unavailable`]
    /// `calendar_connect_failed` when the provider refuses the code or cannot be reached,
    /// `calendar_provider_not_configured`, `calendar_sync_unconfigured`.
    pub async fn finish(
        &self,
        provider: CalendarProvider,
        code: &str,
        state: &str,
        browser_secret: Option<&str>,
    ) -> Result<Integration> {
        let app = self.app(provider)?;
        let keys = self.integrations.keys()?;
        let attempt = self
            .repo
            .take_connect_attempt(&state_hash(state), time::now())
            .await?
            .filter(|a| {
                a.provider == provider
                    && crate::push::secret_matches(browser_secret, &a.browser_hash)
            })
            .ok_or_else(|| {
                Error::bad_request(
                    "calendar_connect_state_invalid",
                    "this connection is unknown, was finished already or expired: start again",
                )
            })?;
        let failed = |e: RemoteError| {
            tracing::warn!(error = %e, "connecting a calendar failed");
            Error::unavailable(
                "calendar_connect_failed",
                format!("the provider did not complete the connection: {e}"),
            )
        };
        let tokens = app
            .exchange(code, &attempt.pkce_verifier)
            .await
            .map_err(failed)?;
        let account = match provider {
            CalendarProvider::Microsoft => {
                app.microsoft_calendar(PRIMARY, tokens.credentials.clone())
                    .account()
                    .await
            }
            _ => {
                app.calendar(PRIMARY, tokens.credentials.clone())
                    .account()
                    .await
            }
        }
        .map_err(failed)?;
        let now = time::now();
        let existing = self
            .repo
            .integrations_of(attempt.user_id, None, 1000)
            .await?
            .into_iter()
            .find(|i| {
                i.provider == provider
                    && i.provider_account_id == account
                    && i.external_calendar_id == PRIMARY
            });
        let integration = match existing {
            Some(existing) => {
                let sealed = keys.seal(existing.id, &tokens.credentials);
                self.repo.reconnect(existing.id, &sealed, now).await?;
                self.repo
                    .store_tokens(existing.id, &sealed, tokens.expires_at, now)
                    .await?;
                self.repo
                    .integration(existing.id)
                    .await?
                    .ok_or_else(|| Error::not_found("calendar integration"))?
            }
            None => {
                let id = CalendarIntegrationId::new();
                self.repo
                    .create_integration(&NewIntegration {
                        id,
                        user_id: attempt.user_id,
                        provider,
                        provider_account_id: account.clone(),
                        account_email: account.contains('@').then(|| account.clone()),
                        external_calendar_id: PRIMARY.to_owned(),
                        credentials: keys.seal(id, &tokens.credentials),
                        token_expires_at: tokens.expires_at,
                        now,
                    })
                    .await?
            }
        };
        self.open_channel(&integration).await?;
        Ok(self
            .repo
            .integration(integration.id)
            .await?
            .unwrap_or(integration))
    }
}
