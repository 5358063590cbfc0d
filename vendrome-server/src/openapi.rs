//! The OpenAPI 3.1 document, generated from the handlers' annotations and the Rust types.
//! Committed at `contracts/openapi.json`; CI fails when that copy is stale.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vendrome API",
        description = "The HTTP API of Vendrome, a business social network and marketplace. Base path /v1; \
                       JSON envelopes `{data, meta}` and `{error: {code, message, details}, meta}`; \
                       times RFC 3339 UTC; ids UUIDv7; money in integer minor units with an ISO 4217 currency; \
                       lists paginated by opaque cursors.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Liveness and readiness."),
        (name = "auth", description = "Registration, sign-in, rotating refresh tokens, sessions."),
        (name = "me", description = "The caller's own account."),
        (name = "users", description = "Other members: verification."),
        (name = "admin", description = "Administrators' levers on accounts (audited), and their reads of the ledger and of reconciliation runs."),
        (name = "flags", description = "Feature flags for the staged move off mock data."),
        (name = "graph", description = "Connections, follows, topics and people you may know."),
        (name = "posts", description = "Typed posts, reactions, comments, reposts, shares and bookmarks."),
        (name = "messaging", description = "Direct and group conversations, messages with attachments, read pointers, the inbox and messaging settings."),
        (name = "realtime", description = "The WebSocket gateway: live messages, receipts, typing and presence (frames in docs/realtime.md)."),
        (name = "profiles", description = "Business profiles, their completeness, and the directory of members."),
        (name = "search", description = "Profiles, posts and topics by words: typos forgiven, the last word as a prefix, filters, highlighted snippets."),
        (name = "bookings", description = "Service bookings: providers' weekly availability in their time zone, the slots it leaves, bookings that never overlap, and their life (confirm, decline, cancel with the service's refund policy, complete, no-show)."),
        (name = "orders", description = "Product orders: stock reserved when placed, priced from the products, paid through checkout, fulfilled, completed, cancelled and refunded."),
        (name = "payments", description = "Payments through the orchestrator: checkout answers, the caller's payments, the methods on offer, providers' signed webhooks, and the sandbox provider's page."),
        (name = "reviews", description = "Reviews of completed orders and bookings by their buyers, the seller's one reply, and the ratings of listings and members (integer aggregates, kept in the review's transaction)."),
        (name = "investments", description = "Crowdfunding campaigns made from crowdfunding posts, commitments held in the campaign's escrow and settled at the deadline (released to the founder, or refunded), verification gates and cross-border corridors, and the deal flow between investment offers and requests."),
        (name = "mentorship", description = "Mentorships: offers on mentorship requests and direct requests, their status machine, goals, sessions, private notes, feedback at completion, and the directory of mentors."),
        (name = "calendar", description = "The native calendar: events with recurrence, invitations and answers, free/busy."),
        (name = "marketing", description = "Marketing campaigns: targeting, the audience estimate, funding through a checkout, event ingest that never overspends, stats (JSON and CSV), and members' direct-marketing consent."),
        (name = "feeds", description = "The home feed, member and topic feeds, and the typed listings (marketplace, crowdfunding, investment, mentorship)."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A 15-minute access token."))
                    .build(),
            ),
        );
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = crate::routes::api().split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    add_common_responses(&mut document);
    document
}

/// Answers every operation of a kind can give, added where a handler's annotation does not
/// already say more: the body errors of every operation that takes a JSON body, and the
/// authentication errors of every operation that requires a token, and read-only mode's refusal
/// of every mutating operation it refuses.
fn add_common_responses(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let envelope = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build()
    };
    let body_errors = [
        ("400", "The body is not JSON (`malformed_json`)."),
        ("413", "The body is too large (`payload_too_large`)."),
        (
            "415",
            "The body is not `application/json` (`unsupported_media_type`).",
        ),
        (
            "422",
            "The body breaks a rule (`validation_failed`, with per-field details).",
        ),
    ];
    let auth_errors = [("401", "No valid access token (`token_missing`, `token_invalid`, `token_expired`, `session_revoked`).")];
    let read_only = [(
        "503",
        "`read_only`: the server is in read-only mode (maintenance, rollback); retry after `Retry-After` seconds.",
    )];
    for (path, item) in document.paths.paths.iter_mut() {
        let writes = !crate::read_only::exempt(path);
        let operations = [
            (&mut item.get, false),
            (&mut item.put, writes),
            (&mut item.post, writes),
            (&mut item.delete, writes),
            (&mut item.patch, writes),
        ];
        for (operation, mutating) in operations {
            let Some(operation) = operation else {
                continue;
            };
            let needs_token = operation.security.as_ref().is_some_and(|requirements| {
                !requirements.is_empty() && requirements.iter().all(|r| *r != Default::default())
            });
            let mut missing: Vec<(&str, &str)> = Vec::new();
            if operation.request_body.is_some() {
                missing.extend(body_errors);
            }
            if needs_token {
                missing.extend(auth_errors);
            }
            if mutating {
                missing.extend(read_only);
            }
            for (status, description) in missing {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| envelope(description).into());
            }
        }
    }
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).expect("the document serialises");
    json.push('\n');
    json
}
