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
        (name = "flags", description = "Feature flags for the staged move off mock data."),
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
    document
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).expect("the document serialises");
    json.push('\n');
    json
}
