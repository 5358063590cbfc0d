//! OAuth sign-in and linking, end to end against a real OpenID Connect server: oauth2-mock-server,
//! started per test by `scripts/peers/oauth-mock/server.mjs` (installed by
//! `scripts/peers/install.sh`). Google is configured through OIDC discovery (ID token verified);
//! Facebook through explicit endpoints on the same server (profile from userinfo).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::redirect::Policy;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use vendrome_core::audit::AuditRepo as _;
use vendrome_core::enums::OauthProvider;
use vendrome_core::page::Limit;
use vendrome_server::oauth::{Endpoints, OAuthSettings, ProviderSettings};
use vendrome_server::Config;

use crate::support::{expect_error, json, spawn_with, Backend, Setup, TestApp};

const PUBLIC_URL: &str = "http://vendrome.test";
const PASSWORD: &str = "correct horse battery staple";
const FRONTEND: &str = "https://app.example.com";

both_stores!(
    signs_up_then_signs_in_the_same_subject,
    verified_email_links_to_the_existing_account,
    unverified_email_does_not_link,
    state_is_single_use_and_per_provider,
    pkce_verifier_is_sent,
    nonce_mismatch_is_refused,
    links_and_unlinks_for_a_signed_in_user,
    an_unverified_registration_is_not_taken_over,
    the_callback_is_refused_in_another_browser,
    the_browser_flow_ends_with_a_one_time_code,
    the_browser_flow_redirects_errors_and_only_to_frontends,
);

#[tokio::test]
async fn unknown_and_unconfigured_providers_are_not_found() {
    let app = crate::support::spawn_app().await;
    for path in [
        "/v1/auth/oauth/twitter/start",
        "/v1/auth/oauth/google/start",
        "/v1/auth/oauth/google/callback?code=x&state=y",
    ] {
        expect_error(app.get(path).send().await.unwrap(), 404, "not_found").await;
    }
}

/// The OpenID Connect server of one test; killed when dropped.
struct Mock {
    issuer: String,
    control: String,
    http: reqwest::Client,
    _child: Child,
}

/// Starts the mock, or returns `None` (after saying so loudly) when node or the package is not
/// installed — which fails the test under `CI=true`.
async fn start_mock() -> Option<Mock> {
    let peers = std::env::var_os("VENDROME_PEERS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/vendrome-peers"))
        })
        .unwrap_or_else(|| PathBuf::from("/tmp/.cache/vendrome-peers"));
    let modules = peers.join("oauth-mock");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/peers/oauth-mock/server.mjs");
    let node_ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok
        || !modules
            .join("node_modules/oauth2-mock-server/package.json")
            .is_file()
    {
        let why = format!(
            "node or oauth2-mock-server is not installed in {} (run scripts/peers/install.sh)",
            modules.display()
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("*** SKIPPED OAuth test: {why} ***");
        return None;
    }
    let mut child = Command::new("node")
        .arg(&script)
        .arg(&modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the mock starts within 30 s")
        .unwrap()
        .expect("the mock prints its addresses");
    let ready: Value = serde_json::from_str(&line).unwrap();
    Some(Mock {
        issuer: ready["issuer"].as_str().unwrap().to_owned(),
        control: ready["control"].as_str().unwrap().to_owned(),
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        _child: child,
    })
}

impl Mock {
    fn settings(&self) -> OAuthSettings {
        let provider = |provider, endpoints| ProviderSettings {
            provider,
            client_id: format!("vendrome-{provider:?}").to_lowercase(),
            client_secret: "not-a-secret".into(),
            endpoints,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
        };
        let issuer = &self.issuer;
        OAuthSettings {
            public_url: Some(PUBLIC_URL.into()),
            providers: vec![
                provider(
                    OauthProvider::Google,
                    Endpoints::Discover {
                        issuer: issuer.clone(),
                    },
                ),
                provider(
                    OauthProvider::Facebook,
                    Endpoints::Explicit {
                        auth_url: format!("{issuer}/authorize"),
                        token_url: format!("{issuer}/token"),
                        userinfo_url: format!("{issuer}/userinfo"),
                    },
                ),
            ],
            redirect_origins: vec![FRONTEND.into()],
        }
    }

    /// Who signs in next.
    async fn next(&self, profile: Value) {
        let response = self
            .http
            .post(format!("{}/next", self.control))
            .json(&profile)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    async fn last_token_request(&self) -> Value {
        self.http
            .get(format!("{}/last-token", self.control))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Follows an authorization URL as a browser would, up to the redirect back to us; returns
    /// that redirect's query (`code=…&state=…`).
    async fn authorize(&self, authorization_url: &str, provider: &str) -> String {
        let response = self.http.get(authorization_url).send().await.unwrap();
        assert_eq!(response.status(), 302);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let callback = format!("{PUBLIC_URL}/v1/auth/oauth/{provider}/callback?");
        let query = location
            .strip_prefix(&callback)
            .unwrap_or_else(|| panic!("redirected to {location}, not {callback}…"));
        query.to_owned()
    }
}

async fn setup(backend: Backend) -> Option<(TestApp, Mock)> {
    let mock = start_mock().await?;
    let config = Config {
        oauth: mock.settings(),
        ..Config::default()
    };
    let app = spawn_with(Setup {
        config,
        ..Setup::new(backend)
    })
    .await?;
    Some((app, mock))
}

fn profile(sub: &str, email: &str, verified: bool) -> Value {
    json!({ "sub": sub, "email": email, "email_verified": verified, "name": "Grace Hopper" })
}

/// A callback URL the provider sent the browser to, and the browser's sign-in cookie.
struct Callback {
    path: String,
    cookie: String,
}

impl Callback {
    /// The browser following the redirect back to us.
    fn get(&self, app: &TestApp) -> reqwest::RequestBuilder {
        app.get(&self.path).header("cookie", &self.cookie)
    }
}

/// The `name=value` of the `vendrome_oauth` cookie a start set.
fn browser_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("vendrome_oauth="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// Starts (or, with a token, starts linking), goes through the provider, and returns the
/// callback path with its query, and the cookie the start set.
async fn through_provider(
    app: &TestApp,
    mock: &Mock,
    provider: &str,
    token: Option<&str>,
) -> Callback {
    let start = match token {
        Some(token) => app
            .post(&format!("/v1/me/identities/{provider}"))
            .bearer_auth(token),
        None => app.get(&format!("/v1/auth/oauth/{provider}/start")),
    };
    let response = start.send().await.unwrap();
    let cookie = browser_cookie(&response).expect("the start sets the browser cookie");
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    let url = body["data"]["authorization_url"].as_str().unwrap();
    let query = mock.authorize(url, provider).await;
    assert!(
        query.contains(&format!(
            "state={}",
            body["data"]["state"].as_str().unwrap()
        )),
        "{query}"
    );
    Callback {
        path: format!("/v1/auth/oauth/{provider}/callback?{query}"),
        cookie,
    }
}

async fn sign_in(app: &TestApp, mock: &Mock, provider: &str) -> (u16, Value) {
    let callback = through_provider(app, mock, provider, None).await;
    json(callback.get(app).send().await.unwrap()).await
}

async fn signs_up_then_signs_in_the_same_subject(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    mock.next(profile("g-1", "grace@example.com", true)).await;

    let (status, first) = sign_in(&app, &mock, "google").await;
    assert_eq!(status, 200, "{first}");
    let data = &first["data"];
    assert_eq!(data["user"]["email"], "grace@example.com");
    assert_eq!(
        data["user"]["email_verified"], true,
        "the provider vouched for the address"
    );
    assert_eq!(data["user"]["display_name"], "Grace Hopper");
    assert!(
        data["access_token"].is_string() && data["refresh_token"].is_string(),
        "{first}"
    );
    assert!(data["expires_in"].as_u64().unwrap() > 0);

    // The email changed at the provider: the subject still finds the account.
    mock.next(profile("g-1", "grace.hopper@example.com", true))
        .await;
    let (status, second) = sign_in(&app, &mock, "google").await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["data"]["user"]["id"], data["user"]["id"]);
    assert_ne!(
        second["data"]["session_id"], data["session_id"],
        "a new session"
    );

    let token = data["access_token"].as_str().unwrap();
    let (status, identities) = json(
        app.get("/v1/me/identities")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        identities["data"].as_array().unwrap().len(),
        1,
        "{identities}"
    );
    assert_eq!(identities["data"][0]["provider"], "google");
    assert!(identities["data"][0]["last_login_at"].is_string());
}

async fn verified_email_links_to_the_existing_account(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    let account = app.register("ada@example.com", PASSWORD).await;
    // Only an address the account proved is linked by email.
    app.verify_email(account["access_token"].as_str().unwrap(), "ada@example.com")
        .await;
    mock.next(profile("g-ada", "Ada@Example.com", true)).await;

    let (status, body) = sign_in(&app, &mock, "google").await;
    assert_eq!(status, 200, "{body}");
    let user_id = account["user"]["id"].as_str().unwrap();
    assert_eq!(body["data"]["user"]["id"], user_id);
    let events = app
        .db
        .store
        .events_for_target("user", user_id, None, Limit::DEFAULT)
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.action == "user.identity_linked"),
        "{:?}",
        events.items
    );
    // The password still works.
    assert_eq!(app.login("ada@example.com", PASSWORD).await.0, 200);
}

async fn unverified_email_does_not_link(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    let account = app.register("ada@example.com", PASSWORD).await;
    mock.next(profile("g-mallory", "ada@example.com", false))
        .await;

    let callback = through_provider(&app, &mock, "google", None).await;
    expect_error(callback.get(&app).send().await.unwrap(), 409, "email_taken").await;
    let token = account["access_token"].as_str().unwrap();
    let (_, identities) = json(
        app.get("/v1/me/identities")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(identities["data"], json!([]));

    // Facebook's Graph vouches for no email either (userinfo without `email_verified`).
    mock.next(json!({ "sub": "fb-mallory", "email": "ada@example.com" }))
        .await;
    let callback = through_provider(&app, &mock, "facebook", None).await;
    expect_error(callback.get(&app).send().await.unwrap(), 409, "email_taken").await;
}

async fn state_is_single_use_and_per_provider(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    mock.next(profile("g-1", "grace@example.com", true)).await;

    let callback = through_provider(&app, &mock, "google", None).await;
    assert_eq!(json(callback.get(&app).send().await.unwrap()).await.0, 200);
    expect_error(
        callback.get(&app).send().await.unwrap(),
        400,
        "oauth_state_invalid",
    )
    .await;

    let forged = app
        .get("/v1/auth/oauth/google/callback?code=x&state=forged")
        .send()
        .await
        .unwrap();
    expect_error(forged, 400, "oauth_state_invalid").await;
    expect_error(
        app.get("/v1/auth/oauth/google/callback?code=x")
            .send()
            .await
            .unwrap(),
        400,
        "oauth_state_invalid",
    )
    .await;

    // Google's state at Facebook's callback: refused, and spent.
    let callback = through_provider(&app, &mock, "google", None).await;
    let elsewhere = Callback {
        path: callback.path.replace("/oauth/google/", "/oauth/facebook/"),
        cookie: callback.cookie.clone(),
    };
    expect_error(
        elsewhere.get(&app).send().await.unwrap(),
        400,
        "oauth_state_invalid",
    )
    .await;
    expect_error(
        callback.get(&app).send().await.unwrap(),
        400,
        "oauth_state_invalid",
    )
    .await;
}

async fn pkce_verifier_is_sent(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    mock.next(profile("g-1", "grace@example.com", true)).await;

    let (status, body) = json(app.get("/v1/auth/oauth/google/start").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let url = body["data"]["authorization_url"].as_str().unwrap();
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("code_challenge="),
        "{url}"
    );
    assert!(url.contains("nonce="), "{url}");
    assert!(
        url.contains(&format!(
            "redirect_uri={}",
            "http%3A%2F%2Fvendrome.test%2Fv1%2Fauth%2Foauth%2Fgoogle%2Fcallback"
        )),
        "{url}"
    );

    // The mock refuses a code that was challenged when no verifier comes with it…
    let query = mock.authorize(url, "google").await;
    let code = query
        .split('&')
        .find_map(|p| p.strip_prefix("code="))
        .unwrap();
    let bare = mock
        .http
        .post(format!("{}/token", mock.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", "vendrome-google"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare.status(),
        400,
        "a challenged code without a verifier is refused"
    );

    // …and our callback sends it, with the exact redirect URI.
    let (status, body) = sign_in(&app, &mock, "google").await;
    assert_eq!(status, 200, "{body}");
    let sent = mock.last_token_request().await;
    assert!(
        sent["code_verifier"]
            .as_str()
            .is_some_and(|v| v.len() >= 43),
        "{sent}"
    );
    assert_eq!(
        sent["redirect_uri"],
        format!("{PUBLIC_URL}/v1/auth/oauth/google/callback")
    );
}

async fn nonce_mismatch_is_refused(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    let mut forged = profile("g-1", "grace@example.com", true);
    forged["nonce"] = json!("someone-elses-nonce");
    mock.next(forged).await;

    let callback = through_provider(&app, &mock, "google", None).await;
    let body = expect_error(
        callback.get(&app).send().await.unwrap(),
        502,
        "oauth_provider_error",
    )
    .await;
    assert!(
        !body.to_string().contains("nonce"),
        "provider details stay in the logs: {body}"
    );
    let token = app.token(vendrome_core::enums::UserRole::Member).await;
    let (_, identities) = json(
        app.get("/v1/me/identities")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(identities["data"], json!([]));
}

async fn links_and_unlinks_for_a_signed_in_user(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    // An account made through Google has no password: Google is its only way in.
    mock.next(profile("g-1", "grace@example.com", true)).await;
    let (status, body) = sign_in(&app, &mock, "google").await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["access_token"].as_str().unwrap().to_owned();
    let unlink = |provider: &str| {
        app.delete(&format!("/v1/me/identities/{provider}"))
            .bearer_auth(&token)
            .send()
    };
    expect_error(unlink("google").await.unwrap(), 409, "last_sign_in_method").await;

    // Linking Facebook: the callback links instead of signing in.
    mock.next(json!({ "sub": "fb-1", "email": "grace@example.com", "name": "Grace" }))
        .await;
    let callback = through_provider(&app, &mock, "facebook", Some(&token)).await;
    let (status, linked) = json(callback.get(&app).send().await.unwrap()).await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["data"]["provider"], "facebook");
    assert!(linked["data"].get("access_token").is_none(), "{linked}");
    let (_, identities) = json(
        app.get("/v1/me/identities")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let providers: Vec<_> = identities["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].clone())
        .collect();
    assert_eq!(providers, [json!("google"), json!("facebook")]);

    // That Facebook account cannot be linked to someone else.
    let other = app.token(vendrome_core::enums::UserRole::Member).await;
    let callback = through_provider(&app, &mock, "facebook", Some(&other)).await;
    expect_error(
        callback.get(&app).send().await.unwrap(),
        409,
        "identity_taken",
    )
    .await;

    // Now Google may go, but not Facebook after it.
    let (status, body) = json(unlink("google").await.unwrap()).await;
    assert_eq!(
        (status, &body["data"]["provider"]),
        (200, &json!("google")),
        "{body}"
    );
    expect_error(unlink("google").await.unwrap(), 404, "not_found").await;
    expect_error(
        unlink("facebook").await.unwrap(),
        409,
        "last_sign_in_method",
    )
    .await;
    expect_error(unlink("myspace").await.unwrap(), 404, "not_found").await;
    expect_error(
        app.delete("/v1/me/identities/facebook")
            .send()
            .await
            .unwrap(),
        401,
        "token_missing",
    )
    .await;
}

/// Someone registers the victim's address with a password before the victim ever signs in with
/// Google: the victim's Google sign-in must not adopt that account (whose password and sessions
/// the squatter holds).
async fn an_unverified_registration_is_not_taken_over(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    let squatter = app.register("victim@example.com", PASSWORD).await;
    mock.next(profile("g-victim", "victim@example.com", true))
        .await;

    let callback = through_provider(&app, &mock, "google", None).await;
    expect_error(
        callback.get(&app).send().await.unwrap(),
        409,
        "email_taken_unverified",
    )
    .await;
    let token = squatter["access_token"].as_str().unwrap();
    let (_, identities) = json(
        app.get("/v1/me/identities")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(identities["data"], json!([]), "nothing was linked");
}

async fn the_callback_is_refused_in_another_browser(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    mock.next(profile("g-1", "grace@example.com", true)).await;

    // The attacker's own callback URL, opened in the victim's browser (login CSRF): no cookie…
    let callback = through_provider(&app, &mock, "google", None).await;
    expect_error(
        app.get(&callback.path).send().await.unwrap(),
        400,
        "oauth_state_invalid",
    )
    .await;
    // …or the victim's own cookie of another sign-in.
    let attacker = through_provider(&app, &mock, "google", None).await;
    let victim = through_provider(&app, &mock, "google", None).await;
    assert_ne!(attacker.cookie, victim.cookie);
    let crossed = Callback {
        path: attacker.path.clone(),
        cookie: victim.cookie.clone(),
    };
    expect_error(
        crossed.get(&app).send().await.unwrap(),
        400,
        "oauth_state_invalid",
    )
    .await;
    // The right browser still finishes its own sign-in, and the answer is not to be cached.
    let response = victim.get(&app).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(json(response).await.0, 200);
}

/// Starts a browser sign-in that returns to `redirect_to`, goes through the provider, and
/// returns the callback and the start's answer status.
async fn browser_start(app: &TestApp, mock: &Mock, redirect_to: &str) -> Callback {
    let start = app
        .get("/v1/auth/oauth/google/start")
        .query(&[("redirect_to", redirect_to)])
        .send()
        .await
        .unwrap();
    let cookie = browser_cookie(&start).expect("the start sets the browser cookie");
    assert!(
        start.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly; SameSite=Lax"),
        "{:?}",
        start.headers()["set-cookie"]
    );
    let (status, body) = json(start).await;
    assert_eq!(status, 200, "{body}");
    let query = mock
        .authorize(
            body["data"]["authorization_url"].as_str().unwrap(),
            "google",
        )
        .await;
    Callback {
        path: format!("/v1/auth/oauth/google/callback?{query}"),
        cookie,
    }
}

/// Follows the callback as the browser does; returns where it is redirected to.
async fn redirected_to(app: &TestApp, callback: &Callback) -> String {
    let browser = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let response = browser
        .get(app.url(&callback.path))
        .header("cookie", &callback.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn exchange(app: &TestApp, code: &str, cookie: Option<&str>) -> reqwest::RequestBuilder {
    let request = app
        .post("/v1/auth/oauth/exchange")
        .json(&json!({ "code": code }));
    match cookie {
        Some(cookie) => request.header("cookie", cookie),
        None => request,
    }
}

async fn the_browser_flow_ends_with_a_one_time_code(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    mock.next(profile("g-1", "grace@example.com", true)).await;
    let page = format!("{FRONTEND}/auth/done?next=%2Ffeed");

    let callback = browser_start(&app, &mock, &page).await;
    let location = redirected_to(&app, &callback).await;
    let code = location
        .strip_prefix(&format!("{page}&code="))
        .unwrap_or_else(|| panic!("redirected to {location}"))
        .to_owned();
    assert!(!location.contains("token"), "no token in a URL: {location}");

    let response = exchange(&app, &code, Some(&callback.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["email"], "grace@example.com");
    let token = body["data"]["access_token"].as_str().unwrap();
    let me = app.get("/v1/me").bearer_auth(token).send().await.unwrap();
    assert_eq!(me.status(), 200);
    // Single use.
    expect_error(
        exchange(&app, &code, Some(&callback.cookie))
            .send()
            .await
            .unwrap(),
        401,
        "oauth_code_invalid",
    )
    .await;

    // A code that leaked (a log, a referrer) is worth nothing without the browser's cookie.
    let callback = browser_start(&app, &mock, &page).await;
    let location = redirected_to(&app, &callback).await;
    let code = location.split_once("&code=").unwrap().1;
    expect_error(
        exchange(&app, code, None).send().await.unwrap(),
        401,
        "oauth_code_invalid",
    )
    .await;
    expect_error(
        exchange(&app, "not-a-code", Some(&callback.cookie))
            .send()
            .await
            .unwrap(),
        401,
        "oauth_code_invalid",
    )
    .await;
}

async fn the_browser_flow_redirects_errors_and_only_to_frontends(backend: Backend) {
    let Some((app, mock)) = setup(backend).await else {
        return;
    };
    for elsewhere in [
        "https://evil.example.com/auth/done",
        "https://app.example.com.evil.test/",
        "http://app.example.com/auth/done",
        "javascript:alert(1)",
        "/auth/done",
    ] {
        let response = app
            .get("/v1/auth/oauth/google/start")
            .query(&[("redirect_to", elsewhere)])
            .send()
            .await
            .unwrap();
        let body = expect_error(response, 422, "validation_failed").await;
        assert_eq!(
            body["error"]["details"]["fields"]["redirect_to"][0]["code"], "origin_not_allowed",
            "{elsewhere}: {body}"
        );
    }

    // A refusal after the provider goes back to the frontend as an error code.
    app.register("ada@example.com", PASSWORD).await;
    mock.next(profile("g-ada", "ada@example.com", true)).await;
    let page = format!("{FRONTEND}/auth/done");
    let callback = browser_start(&app, &mock, &page).await;
    assert_eq!(
        redirected_to(&app, &callback).await,
        format!("{page}?error=email_taken_unverified")
    );
}
