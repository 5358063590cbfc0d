//! Every stable error `code` a client can receive, with its HTTP status and meaning: the one
//! registry.
//!
//! Call sites keep passing `&'static str` codes to [`Error::conflict`](crate::Error::conflict)
//! and friends; `tests/error_codes.rs` scans the workspace's sources for every code literal
//! given to a constructor (core's `Error`, the server's `ApiError`) and fails on one missing
//! here or registered under another status, and checks that ARCHITECTURE.md's error-code table
//! is [`markdown_table`] of this list.

/// One stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The `code` of the error envelope.
    pub code: &'static str,
    /// The HTTP status it is answered with.
    pub status: u16,
    /// When a client receives it.
    pub meaning: &'static str,
}

const fn code(code: &'static str, status: u16, meaning: &'static str) -> ErrorCode {
    ErrorCode {
        code,
        status,
        meaning,
    }
}

/// The registry, grouped by where the codes come from.
pub const ERROR_CODES: &[ErrorCode] = &[
    // The request itself.
    code("validation_failed", 422, "input breaks a rule; `details.fields` names each field"),
    code("malformed_json", 400, "the body is not JSON (`details.line`, `details.column`)"),
    code("unsupported_media_type", 415, "a JSON body without a JSON content type"),
    code("payload_too_large", 413, "body over `VENDROME_BODY_LIMIT_BYTES`"),
    code("not_found", 404, "unknown resource or route"),
    code("method_not_allowed", 405, "the route exists, the method does not"),
    code("not_acceptable", 406, "the client accepts no JSON answer"),
    code("bad_request", 400, "a request refused outside any handler, for no more specific reason"),
    code("websocket_required", 426, "`GET /v1/ws` without a WebSocket upgrade"),
    code("already_authenticated", 409, "a realtime socket that is signed in sends `auth` again"),
    // Identity and sessions.
    code("unauthenticated", 401, "sign-in required (an answer made outside any handler)"),
    code("token_missing", 401, "no bearer token"),
    code("token_invalid", 401, "a bearer token that does not verify"),
    code("token_expired", 401, "a bearer token past its expiry"),
    code("session_revoked", 401, "the token's session ended (logout, revocation, reuse of a rotated refresh token, disabled account)"),
    code("invalid_credentials", 401, "wrong password or unknown email (the same answer for both)"),
    code("refresh_token_invalid", 401, "a refresh token never issued"),
    code("session_expired", 401, "a session past its lifetime"),
    code("rate_limited", 429, "over a budget (`Retry-After`, `details.retry_after_seconds`)"),
    code("forbidden", 403, "not allowed (an answer made outside any handler)"),
    code("admin_only", 403, "the caller is not an admin"),
    code("account_disabled", 403, "right password, disabled account"),
    code("current_password_incorrect", 403, "a password or email change with the wrong current password"),
    code("last_admin", 409, "an admin demoting or disabling themselves"),
    code("badge_exists", 409, "a live badge of that kind exists"),
    code("email_taken", 409, "another account has the email"),
    code("handle_taken", 409, "another account has the handle"),
    // OAuth.
    code("identity_taken", 409, "the provider identity is linked to another account"),
    code("provider_already_linked", 409, "the account has an identity of that provider already"),
    code("last_sign_in_method", 409, "unlinking would leave the account no way to sign in"),
    code("oauth_email_required", 403, "the provider shared no email address to sign up with"),
    code("oauth_code_invalid", 401, "the one-time code of a browser sign-in is unknown, used, expired, or presented without the browser's cookie"),
    code("email_taken_unverified", 409, "a provider sign-in with an address an account has but never verified: sign in with the password, then link"),
    code("oauth_state_invalid", 400, "an unknown, used or expired OAuth `state`, or one started in another browser (no or another `vendrome_oauth` cookie)"),
    code("oauth_provider_error", 502, "the provider refused or answered nonsense (never passed on)"),
    // The social graph, posts and messaging.
    code("blocked", 403, "a block stands between the caller and the member"),
    code("connection_exists", 409, "a connection or pending request already exists between the two"),
    code("invalid_transition", 409, "the connection's state does not allow that action by that party"),
    code("not_author", 403, "only the author (or a moderator, for posts) may change it"),
    code("not_owner", 403, "only the owner may do this (a home feed, demoting a group admin)"),
    code("connections_only", 403, "the member takes new conversations from their connections only"),
    code("not_sender", 403, "only a message's sender may edit or delete it"),
    code("edit_window_passed", 409, "the message or review is older than its edit window (30 days for a review)"),
    code("not_a_group", 409, "a direct conversation has no members to change"),
    code("not_admin", 403, "only a group's admins may do this"),
    code("owner", 403, "a group's owner cannot be removed or have their role changed"),
    code("group_full", 409, "the group has reached its member limit"),
    // Orders and payments.
    code("invalid_order_transition", 409, "the order's status does not allow this move"),
    code("not_order_party_action", 403, "the caller's part in the order does not allow this move"),
    code("mixed_sellers", 422, "an order's products belong to more than one seller"),
    code("mixed_currencies", 422, "an order's products are priced in more than one currency"),
    code("own_listing", 422, "a member orders their own product"),
    code("out_of_stock", 409, "a product has less in stock than the order asks for; the message names the post"),
    code("already_paid", 409, "the order or booking already has a succeeded payment"),
    code("payment_declined", 402, "the provider declined the payment or refund"),
    code("payment_rejected", 422, "the provider refused the request as made (an unsupported currency or method)"),
    code("provider_unavailable", 503, "the payment provider could not be reached; retry with the same `Idempotency-Key`"),
    code("provider_not_configured", 404, "no such payment provider is configured on this server"),
    code("invalid_signature", 400, "a webhook's signature is missing, wrong or outside the provider's time tolerance"),
    code("invalid_webhook_payload", 400, "a correctly signed webhook whose body cannot be read"),
    code("amount_mismatch", 400, "a correctly signed webhook says a charge succeeded with another amount than the payment's (nothing moves; stored `failed`)"),
    code("refund_exceeds_total", 422, "refunds of the order would add up to more than its total"),
    // Bookings.
    code("slot_unavailable", 409, "the start asked for is not a slot the service offers now (outside availability, too soon, too far ahead, or taken)"),
    code("invalid_booking_transition", 409, "the booking's status does not allow this move"),
    code("not_booking_party_action", 403, "the caller's part in the booking does not allow this move"),
    code("booking_not_ended", 409, "a booking is completed or marked no-show only after its end time"),
    // Reviews and mentorship.
    code("not_a_buyer", 403, "a review of an order or booking by someone other than its buyer or client, or of one not completed"),
    code("already_reviewed", 409, "the author has reviewed this order or booking already (a deleted review counts)"),
    code("not_review_subject", 403, "a reply to a review by someone other than the reviewed seller or provider"),
    code("already_replied", 409, "the review has its one reply"),
    code("invalid_mentorship_transition", 409, "the mentorship's status does not allow this move"),
    code("not_mentorship_party_action", 403, "the caller's part in the mentorship does not allow this move"),
    code("mentorship_exists", 409, "the two already have a requested, active or paused mentorship"),
    code("not_a_mentorship_request", 422, "a mentorship offer on a post that is not a live mentorship request"),
    code("own_request", 422, "a mentorship with oneself: offering on one's own request, or naming oneself as mentor"),
    code("mentorship_not_active", 409, "goals, sessions and notes belong to an active (or paused, for notes) mentorship"),
    code("feedback_given", 409, "the caller has given feedback on this mentorship already"),
    // Marketing.
    code("invalid_campaign_transition", 409, "the campaign's status does not allow this move (or a draft was submitted already)"),
    code("not_campaign_owner_action", 403, "the owner asks for a move only the system makes (funding, starting, completing a campaign)"),
    code("not_own_post", 422, "a campaign promoting a post that is not the caller's live post"),
    code("campaign_not_editable", 409, "a campaign is changed only while it is an unsubmitted draft or paused"),
    code("campaign_funded", 409, "a funded campaign's budget cannot change"),
    code("campaign_not_submitted", 409, "a draft is funded only once it was submitted"),
    code("not_own_event", 403, "a member reporting an impression or click of another viewer (only an admin may)"),
    code("campaign_not_ended", 409, "a refund of a campaign's unspent budget before the campaign is completed or cancelled"),
    code("nothing_to_refund", 409, "a refund of an ended campaign whose released remainder is refunded already (or was nothing)"),
    // Investments.
    code("not_a_crowdfunding_post", 422, "a campaign made from a post that is not a live crowdfunding post"),
    code("not_campaign_owner", 403, "only the campaign's founder (or an admin, to cancel) may do this"),
    code("campaign_exists", 409, "the crowdfunding post has a campaign already"),
    code("campaign_ended", 409, "publishing a draft whose deadline has passed"),
    code("own_campaign", 422, "a founder backing their own campaign"),
    code("campaign_not_open", 409, "a commitment to a campaign that is not live or funded, past its deadline, or being settled"),
    code("campaign_full", 409, "the commitment would take an all-or-nothing campaign past 150 % of its goal"),
    code("verification_required", 403, "the caller's verification level is below what this needs; the message names the level"),
    code("country_required", 403, "backing a campaign with a country from a profile without one"),
    code("corridor_not_allowed", 403, "a cross-border commitment along no configured corridor"),
    code("invalid_commitment_transition", 409, "the commitment's status does not allow this move"),
    code("own_post", 422, "interest expressed in one's own investment offer or request"),
    code("withdrawal_closed", 409, "a withdrawal inside 48 hours of the deadline, or once the campaign is decided"),
    // Idempotency.
    code("idempotency_key_mismatch", 409, "the key was used with a different request"),
    code("idempotency_key_in_progress", 409, "the first request with the key still runs (`Retry-After: 1`)"),
    code("invalid_idempotency_key", 400, "not 1 to 255 visible ASCII characters"),
    code("idempotency_key_required", 400, "a money movement that needs an `Idempotency-Key` (a campaign's refund) was sent without one"),
    // Availability.
    code("overloaded", 503, "a worker pool's queue (password hashing, search) is full, with `Retry-After: 1`"),
    code("owner_must_transfer", 409, "a group's owner leaves without handing the group over first"),
    code("not_event_owner", 403, "a change or deletion of a calendar event the caller can see but does not own"),
    code("not_invited", 403, "an answer (RSVP) to a calendar event by someone not invited to it"),
    code("calendar_event_managed", 409, "a change to the title, times, zone, recurrence or attendees of a booking's or mentorship session's calendar event: reschedule or cancel the booking or session instead (the message names it)"),
    code("calendar_sync_unconfigured", 503, "connecting a calendar on a server with no calendar keys (`VENDROME_CALENDAR_KEYS`)"),
    code("integration_exists", 409, "the calendar (the same server URL and user) is connected already"),
    code("calendar_sync_failed", 503, "the calendar server could not be reached or refused the sync; the integration keeps the error as `last_error`"),
    code("calendar_reconnect_required", 409, "a sync of an integration whose server refused its credentials (status `revoked`): reconnect it with new ones first"),
    code("calendar_sync_running", 409, "a sync asked for while another one of the same calendar runs; try again shortly"),
    code("calendar_provider_mismatch", 409, "new CalDAV credentials for an integration of another provider"),
    code("calendar_provider_not_configured", 503, "connecting a Google or Microsoft calendar on a server without that provider's client (`VENDROME_CALENDAR_GOOGLE_CLIENT_ID`, `VENDROME_CALENDAR_MICROSOFT_CLIENT_ID`)"),
    code("calendar_connect_state_invalid", 400, "a calendar connection's callback with an unknown, used or expired `state`, or in another browser than the one that started it (no or another `vendrome_calendar_connect` cookie)"),
    code("calendar_connect_failed", 503, "the provider refused the authorization code of a calendar connection or could not be reached"),
    code("not_connected", 403, "free/busy of a member who is not the caller's connection"),
    code("request_timeout", 503, "past `VENDROME_REQUEST_TIMEOUT_SECS`, with `Retry-After: 1`"),
    code("read_only", 503, "a write while read-only mode is on (the `read_only` flag or `serve --read-only`), with `Retry-After: 30`; reads, `/v1/auth/refresh` and `/v1/admin/flags/…` keep working"),
    code("not_ready", 503, "`/readyz`: the database did not answer within two seconds, or the search index is being built"),
    code("search_timeout", 503, "a PostgreSQL-path search ran past its statement timeout; add words or filters"),
    code("search_unavailable", 503, "the embedded search index is being built"),
    code("unavailable", 503, "the service is unavailable (an answer made outside any handler)"),
    code("internal_error", 500, "anything unexpected, including a panic"),
];

/// The registered entry of `code`.
pub fn lookup(code: &str) -> Option<&'static ErrorCode> {
    ERROR_CODES.iter().find(|c| c.code == code)
}

/// ARCHITECTURE.md's error-code table, as this registry makes it.
pub fn markdown_table() -> String {
    let mut table = String::from("| code | status | when |\n|---|---|---|\n");
    for c in ERROR_CODES {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.code, c.status, c.meaning
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_error_statuses() {
        let mut seen = std::collections::HashSet::new();
        for c in ERROR_CODES {
            assert!(seen.insert(c.code), "{} is registered twice", c.code);
            assert!(
                c.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{} is not snake_case",
                c.code
            );
            assert!(
                (400..600).contains(&c.status),
                "{} has status {}",
                c.code,
                c.status
            );
            assert!(!c.meaning.is_empty(), "{} says nothing", c.code);
        }
    }
}
