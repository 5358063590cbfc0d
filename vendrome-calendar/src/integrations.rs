//! [`IntegrationService`]: a member's connections to external calendars — connecting one with
//! its credentials sealed ([`crate::secrets`]), listing them with their state, last sync and
//! last error, disconnecting — and the key rotation that re-seals every stored credential.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::calendar::integrations::{
    Conflict, Integration, IntegrationRepo, NewIntegration, SealedCredentials,
};
use vendrome_core::enums::CalendarProvider;
use vendrome_core::ids::{CalendarConflictId, CalendarIntegrationId};
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time;
use vendrome_core::validation::{web_url, ValidationErrors};
use vendrome_core::{Error, Result};

use crate::secrets::{CalendarKeys, Credentials, Secret};
use crate::service::rename;

/// How many rows a key rotation reads at a time.
const ROTATION_BATCH: u32 = 200;

/// What a member sends to connect a CalDAV calendar.
#[derive(Debug, Clone)]
pub struct CaldavInput {
    /// The calendar collection's URL (`https://dav.example.com/alice/calendar/`).
    pub url: String,
    pub username: String,
    pub password: Secret,
}

/// Calendar integrations, checked for the caller.
#[derive(Clone)]
pub struct IntegrationService {
    repo: Arc<dyn IntegrationRepo>,
    keys: Option<Arc<CalendarKeys>>,
}

impl IntegrationService {
    /// `keys` `None`: no calendar keys are configured, so nothing can be connected (reads and
    /// disconnections still work).
    pub fn new(repo: Arc<dyn IntegrationRepo>, keys: Option<Arc<CalendarKeys>>) -> Self {
        Self { repo, keys }
    }

    pub(crate) fn keys(&self) -> Result<&CalendarKeys> {
        self.keys.as_deref().ok_or_else(|| {
            Error::unavailable(
                "calendar_sync_unconfigured",
                "calendar sync has no encryption keys on this server (VENDROME_CALENDAR_KEYS)",
            )
        })
    }

    /// Connects a CalDAV calendar for the caller, the password sealed.
    ///
    /// Errors: `validation_failed` (`url`: `invalid_url`; `username`, `password`: `required`,
    /// `too_long`); [`Error::Conflict`] `integration_exists`; [`Error::Unavailable`]
    /// `calendar_sync_unconfigured` without keys.
    pub async fn connect_caldav(&self, caller: &Caller, input: CaldavInput) -> Result<Integration> {
        let mut errors = ValidationErrors::new();
        errors.check("url", web_url(&input.url));
        for (field, value, max) in [
            ("username", input.username.as_str(), 256),
            ("password", input.password.expose(), 1024),
        ] {
            if value.is_empty() {
                errors.add(field, "required", "must not be empty");
            } else if value.chars().count() > max {
                errors.add(field, "too_long", format!("at most {max} characters"));
            }
        }
        errors.into_result()?;
        let keys = self.keys()?;
        let id = CalendarIntegrationId::new();
        let credentials = keys.seal(
            id,
            &Credentials {
                access: input.password,
                refresh: None,
            },
        );
        // A collection URL is one calendar: with or without its final slash.
        let url = format!("{}/", input.url.trim_end_matches('/'));
        self.repo
            .create_integration(&NewIntegration {
                id,
                user_id: caller.user_id,
                provider: CalendarProvider::Caldav,
                provider_account_id: input.username,
                account_email: None,
                external_calendar_id: url,
                credentials,
                token_expires_at: None,
                now: time::now(),
            })
            .await
    }

    /// The caller's integrations, oldest first.
    ///
    /// Errors: `validation_failed` (`cursor`) for a cursor this list did not hand out.
    pub async fn list(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Integration>> {
        let after: Option<CalendarIntegrationId> = after
            .map(|c| c.decode())
            .transpose()
            .map_err(|e| rename(e, "cursor"))?;
        let rows = self
            .repo
            .integrations_of(caller.user_id, after, limit.probe() as u32)
            .await?;
        Ok(Page::from_probe(rows, limit, |i| i.id))
    }

    /// The caller's conflict log (edits that lost to a later one on the other side), oldest
    /// first.
    ///
    /// Errors: `validation_failed` (`cursor`) for a cursor this list did not hand out.
    pub async fn conflicts(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Conflict>> {
        let after: Option<CalendarConflictId> = after
            .map(|c| c.decode())
            .transpose()
            .map_err(|e| rename(e, "cursor"))?;
        let rows = self
            .repo
            .conflicts_of(caller.user_id, after, limit.probe() as u32)
            .await?;
        Ok(Page::from_probe(rows, limit, |c| c.id))
    }

    /// The caller's integration `id`.
    ///
    /// Errors: [`Error::NotFound`] (`calendar integration`) when there is none or it is someone
    /// else's (not told apart).
    pub async fn get(&self, caller: &Caller, id: CalendarIntegrationId) -> Result<Integration> {
        match self.repo.integration(id).await? {
            Some(i) if i.user_id == caller.user_id => Ok(i),
            _ => Err(Error::not_found("calendar integration")),
        }
    }

    /// Disconnects the caller's integration: its credentials, links and sync jobs are deleted.
    ///
    /// Errors: as [`Self::get`].
    pub async fn disconnect(&self, caller: &Caller, id: CalendarIntegrationId) -> Result<()> {
        self.get(caller, id).await?;
        if !self.repo.delete_integration(id).await? {
            return Err(Error::not_found("calendar integration"));
        }
        Ok(())
    }

    /// Gives the caller's CalDAV integration a new password (after the server refused the old
    /// one): sealed, the integration back to `active` with no `last_error`, its events and
    /// cursor kept.
    ///
    /// Errors: as [`Self::get`]; `validation_failed` (`password`: `required`, `too_long`);
    /// [`Error::Conflict`] `calendar_provider_mismatch` for an integration that is not CalDAV;
    /// `calendar_sync_unconfigured` without keys.
    pub async fn reconnect_caldav(
        &self,
        caller: &Caller,
        id: CalendarIntegrationId,
        password: Secret,
    ) -> Result<Integration> {
        let integration = self.get(caller, id).await?;
        let mut errors = ValidationErrors::new();
        if password.expose().is_empty() {
            errors.add("password", "required", "must not be empty");
        } else if password.expose().chars().count() > 1024 {
            errors.add("password", "too_long", "at most 1024 characters");
        }
        errors.into_result()?;
        if integration.provider != CalendarProvider::Caldav {
            return Err(Error::conflict(
                "calendar_provider_mismatch",
                "this integration is not a CalDAV calendar",
            ));
        }
        let keys = self.keys()?;
        let sealed = keys.seal(
            id,
            &Credentials {
                access: password,
                refresh: None,
            },
        );
        if !self.repo.reconnect(id, &sealed, time::now()).await? {
            return Err(Error::not_found("calendar integration"));
        }
        self.get(caller, id).await
    }

    /// The integration's credentials in the clear, for a sync.
    ///
    /// Errors: [`Error::Unexpected`] when they were dropped or do not open with the configured
    /// keys; `calendar_sync_unconfigured` without keys.
    pub fn credentials(&self, integration: &Integration) -> Result<Credentials> {
        let sealed = integration.credentials.as_ref().ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "calendar integration {} has no credentials",
                integration.id
            ))
        })?;
        self.keys()?.open(integration.id, sealed)
    }

    /// `credentials` of integration `id` sealed with the current key (a refreshed token).
    ///
    /// Errors: `calendar_sync_unconfigured` without keys.
    pub fn seal(
        &self,
        id: CalendarIntegrationId,
        credentials: &Credentials,
    ) -> Result<SealedCredentials> {
        Ok(self.keys()?.seal(id, credentials))
    }

    /// Re-seals every credential sealed by another key than the current one; returns how many
    /// integrations were re-sealed. A row whose credentials changed meanwhile (a token refresh
    /// seals with the current key) is left as it is; running it again re-seals nothing.
    ///
    /// Errors: [`Error::Unexpected`] when a credential does not open with the configured keys
    /// (an old key was dropped before its rows were re-sealed).
    pub async fn rotate_keys(&self) -> Result<usize> {
        let keys = self.keys()?;
        let mut resealed = 0;
        let mut after = None;
        loop {
            let batch = self
                .repo
                .sealed_with_other_keys(keys.current_id(), after, ROTATION_BATCH)
                .await?;
            let Some(last) = batch.last() else {
                return Ok(resealed);
            };
            after = Some(last.id);
            for integration in &batch {
                let Some(sealed) = &integration.credentials else {
                    continue;
                };
                let plain = keys.open(integration.id, sealed)?;
                let fresh = keys.seal(integration.id, &plain);
                if self
                    .repo
                    .reseal(integration.id, &sealed.key_id, &fresh, time::now())
                    .await?
                {
                    resealed += 1;
                }
            }
        }
    }
}
