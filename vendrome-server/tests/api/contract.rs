//! The envelope, request ids, health, metrics, CORS and the documents.

use crate::support::{expect_error, json, spawn_app, spawn_with, Backend, Setup};

#[tokio::test]
async fn healthz_answers_the_envelope_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/healthz").send().await.unwrap();
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["status"], "ok");
    assert_eq!(body["meta"]["request_id"], header.as_str());
}

#[tokio::test]
async fn an_incoming_request_id_is_kept() {
    let app = spawn_app().await;
    let response = app
        .get("/healthz")
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let (_, body) = json(response).await;
    assert_eq!(body["meta"]["request_id"], "trace-abc-123");
}

both_stores!(readyz_checks_the_database);

async fn readyz_checks_the_database(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let building = expect_error(app.get("/readyz").send().await.unwrap(), 503, "not_ready").await;
    assert_eq!(
        building["error"]["message"],
        "the search index is being built"
    );
    app.sync_search().await;
    let (status, body) = json(app.get("/readyz").send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "ready");
    app.db.store.db().close().await;
    expect_error(app.get("/readyz").send().await.unwrap(), 503, "not_ready").await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_envelopes() {
    let app = spawn_app().await;
    expect_error(
        app.get("/v1/nothing-here").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let response = app
        .client
        .delete(app.url("/v1/flags"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    expect_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/healthz").send().await.unwrap();
    app.get("/v1/nothing-here").send().await.unwrap();
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = |route: &str, status: &str| {
        text.lines().any(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(line("/healthz", "200"), "{text}");
    assert!(line("unmatched", "404"), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "a latency histogram: {text}"
    );
}

#[tokio::test]
async fn openapi_document_and_docs_page_are_served() {
    let app = spawn_app().await;
    let (status, document) = json(app.get("/v1/openapi.json").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["paths"]["/v1/flags"]["get"].is_object());
    assert_eq!(
        document,
        serde_json::to_value(vendrome_server::openapi::document()).unwrap()
    );
    let page = app.get("/docs").send().await.unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("/v1/openapi.json"));
}

#[tokio::test]
async fn the_committed_contract_is_current() {
    let committed = include_str!("../../../contracts/openapi.json");
    assert!(
        committed == vendrome_server::openapi::document_json(),
        "contracts/openapi.json is stale: run `cargo run -p vendrome-cli -- openapi > contracts/openapi.json`"
    );
}

#[tokio::test]
async fn cors_allows_the_configured_origin_only() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.cors_origins = vec!["https://app.example.com".into()];
    let app = spawn_with(setup).await.unwrap();
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/flags"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.extra = Some(Box::new(|_| crate::errors::test_routes()));
    let app = spawn_with(setup).await.unwrap();
    let slow = tokio::spawn(app.client.get(app.url("/test/slow")).send());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let address = app.address;
    app.stop().await;
    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(response.status(), 200);
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no longer listening"
    );
}

#[test]
fn every_schema_reference_resolves() {
    let document = serde_json::to_string(&vendrome_server::openapi::document()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&document).unwrap();
    let schemas = value["components"]["schemas"].as_object().unwrap();
    let prefix = "#/components/schemas/";
    let dangling: Vec<&str> = document
        .match_indices(prefix)
        .map(|(at, _)| {
            let rest = &document[at + prefix.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .filter(|name| !schemas.contains_key(*name))
        .collect();
    assert!(
        dangling.is_empty(),
        "references to schemas the document does not define: {dangling:?}"
    );
}

#[test]
fn every_operation_id_is_unique() {
    // Generated clients name their methods after operation ids; two alike break them.
    let doc = vendrome_server::openapi::document();
    let doc = serde_json::to_value(&doc).unwrap();
    let mut seen = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                assert!(
                    seen.insert(id.to_owned()),
                    "{method} {path} repeats operationId {id}"
                );
            }
        }
    }
    assert!(seen.len() > 50);
}

/// The parameter `name` of `GET path` in the document.
fn parameter<'a>(document: &'a serde_json::Value, path: &str, name: &str) -> &'a serde_json::Value {
    document["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("GET {path} documents `{name}`"))
}

/// What the document says a parameter takes is what the server takes: every `limit` is 1 to
/// `Limit::MAX`, `q` is 1 to 200 characters and required, and each listed value of an
/// enumerated parameter is accepted while another is refused.
#[tokio::test]
async fn documented_parameter_bounds_are_the_ones_enforced() {
    use vendrome_core::page::Limit;

    let document = serde_json::to_value(vendrome_server::openapi::document()).unwrap();
    let mut limits = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["name"] == "limit" {
                    let schema = &param["schema"];
                    assert_eq!(
                        (schema["minimum"].as_u64(), schema["maximum"].as_u64()),
                        (Some(1), Some(u64::from(Limit::MAX))),
                        "{method} {path}"
                    );
                    limits += 1;
                }
            }
        }
    }
    assert!(limits > 10, "{limits} list operations");

    let app = spawn_app().await;
    app.sync_search().await;
    let status = |url: String| {
        let request = app.get(&url);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for (limit, expected) in [(1, 200), (Limit::MAX, 200), (0, 422), (Limit::MAX + 1, 422)] {
        assert_eq!(
            status(format!("/v1/topics?limit={limit}")).await,
            expected,
            "limit={limit}"
        );
    }

    let q = &parameter(&document, "/v1/search", "q");
    assert_eq!(q["required"], true);
    let longest = q["schema"]["maxLength"].as_u64().unwrap() as usize;
    assert_eq!(q["schema"]["minLength"], 1);
    for (q, expected) in [("x".repeat(longest), 200), ("x".repeat(longest + 1), 422)] {
        assert_eq!(
            status(format!("/v1/search?q={q}")).await,
            expected,
            "{} characters",
            q.len()
        );
    }
    assert_eq!(status("/v1/search".into()).await, 422, "q absent");

    for (path, name, rest) in [
        ("/v1/trending", "window", ""),
        ("/v1/trending", "kind", ""),
        ("/v1/search", "kind", "&q=pilot"),
    ] {
        let values = parameter(&document, path, name)["schema"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} lists the values of `{name}`"))
            .clone();
        assert!(values.len() >= 2);
        for value in values {
            let value = value.as_str().unwrap();
            assert_eq!(
                status(format!("{path}?{name}={value}{rest}")).await,
                200,
                "{path} {name}={value}"
            );
        }
        assert_eq!(
            status(format!("{path}?{name}=other{rest}")).await,
            422,
            "{path} {name}=other"
        );
    }
}

/// Every operation whose handler reads a bearer token — required or optional — documents the
/// 401 that a bad, expired or revoked one gets (an optional sign-in still refuses a bad token).
#[test]
fn every_operation_that_reads_a_token_documents_401() {
    let routes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut undocumented = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&routes).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for block in source.split("#[utoipa::path(").skip(1) {
            let Some(fn_at) = block.find("async fn ") else {
                continue;
            };
            let (attributes, handler) = block.split_at(fn_at);
            let signature = &handler[..handler.find(") ->").unwrap_or(handler.len())];
            if !signature.contains("Authenticated") {
                continue;
            }
            checked += 1;
            if !attributes.contains("status = 401") {
                let name = signature["async fn ".len()..]
                    .split('(')
                    .next()
                    .unwrap_or_default();
                undocumented.push(format!("{}: {name}", path.display()));
            }
        }
    }
    assert!(checked > 50, "only {checked} handlers found");
    assert!(
        undocumented.is_empty(),
        "handlers that read a token but document no 401: {undocumented:#?}"
    );
}
