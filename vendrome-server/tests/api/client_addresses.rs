//! Per-address budgets count clients, not load balancers: behind trusted proxies the client is
//! the right-most forwarded address they did not add; anonymous search has a budget of its own;
//! `/metrics` can live on its own address.

use std::time::Duration;

use serde_json::json;
use vendrome_core::enums::UserRole;
use vendrome_core::rate_limit::Rule;
use vendrome_server::client_addr::TrustedProxies;

use crate::support::{expect_error, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(forwarded_clients_have_their_own_budgets_and_sessions);

/// A wrong-password sign-in from `forwarded` (as the load balancer reports it): its status.
async fn attempt(app: &TestApp, forwarded: &str) -> u16 {
    app.post("/v1/auth/login")
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "email": "nobody@example.com", "password": "wrong password 1" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn two_logins_a_minute(setup: &mut Setup) {
    setup.policy.limits.login_per_ip = Rule {
        name: "login_ip",
        limit: 2,
        window: Duration::from_secs(60),
    };
}

async fn forwarded_clients_have_their_own_budgets_and_sessions(backend: Backend) {
    // The test client connects from 127.0.0.1: the load balancer here.
    let mut setup = Setup::new(backend);
    setup.config.trusted_proxies = TrustedProxies::parse("127.0.0.0/8").unwrap();
    two_logins_a_minute(&mut setup);
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    // A spoofed left-most entry changes nothing: the proxy appended the real address.
    for _ in 0..2 {
        assert_eq!(attempt(&app, "6.6.6.6, 203.0.113.1").await, 401);
    }
    assert_eq!(attempt(&app, "7.7.7.7, 203.0.113.1").await, 429);
    // Another client behind the same balancer still has its budget.
    assert_eq!(attempt(&app, "203.0.113.2").await, 401);

    // The session and the audit trail record the client, not the balancer.
    let registered = app
        .post("/v1/auth/register")
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({ "email": "fwd@example.com", "password": "correct horse battery staple", "display_name": "Fwd" }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let body: serde_json::Value = registered.json().await.unwrap();
    let token = body["data"]["access_token"].as_str().unwrap().to_owned();
    let sessions = succeed(app.get("/v1/auth/sessions").bearer_auth(&token)).await;
    assert_eq!(sessions["data"][0]["ip"], "198.51.100.7", "{sessions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_forwarded_headers_are_ignored() {
    let mut setup = Setup::new(Backend::Sqlite);
    two_logins_a_minute(&mut setup);
    let app = spawn_with(setup).await.unwrap();
    assert_eq!(attempt(&app, "203.0.113.1").await, 401);
    assert_eq!(attempt(&app, "203.0.113.2").await, 401);
    // Every "client" is the one peer: one budget.
    assert_eq!(attempt(&app, "203.0.113.3").await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_search_has_a_budget_per_address() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.search_limit = Rule {
        name: "search_ip",
        limit: 2,
        window: Duration::from_secs(60),
    };
    let app = spawn_with(setup).await.unwrap();
    app.sync_search().await;
    for _ in 0..2 {
        succeed(app.get("/v1/search?q=solar")).await;
    }
    let refused = app.get("/v1/search?q=solar").send().await.unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    expect_error(refused, 429, "rate_limited").await;
    // Signed-in members are not counted against the address.
    let token = app.token(UserRole::Member).await;
    for _ in 0..3 {
        succeed(app.get("/v1/search?q=solar").bearer_auth(&token)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_served_on_their_own_address() {
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    let app = spawn_with(setup).await.unwrap();
    // Not on the API's address...
    expect_error(app.get("/metrics").send().await.unwrap(), 404, "not_found").await;
    // ...but on the metrics one.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, vendrome_server::app::metrics_router())
            .await
            .unwrap();
    });
    let metrics = app
        .client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("http_requests"), "{text}");
    // By default it is served with the API.
    let app = spawn_with(Setup::new(Backend::Sqlite)).await.unwrap();
    assert_eq!(app.get("/metrics").send().await.unwrap().status(), 200);
}
