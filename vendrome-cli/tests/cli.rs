//! The `vendrome` binary as an operator uses it: fresh data dirs, real processes, real signals.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vendrome(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(args)
        .env_remove("VENDROME_DATABASE_URL")
        .env_remove("VENDROME_SIGNING_KEYS")
        .env("VENDROME_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("vendrome-cli-{}", uuid::Uuid::new_v4()));
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_healthy(child: &mut Child, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited early with {status}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not start listening");
}

#[tokio::test]
async fn serve_with_no_configuration_just_works_and_stops_on_sigterm() {
    let dir = TempDir::new();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("VENDROME_DATABASE_URL")
        .env_remove("VENDROME_SIGNING_KEYS")
        .env("VENDROME_DATA_DIR", &dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(&mut child, port);

    let body: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["status"], "ok");
    let flags: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/v1/flags"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        flags["data"].as_array().unwrap().len(),
        8,
        "migrations were applied"
    );
    assert!(
        dir.0.join("vendrome.db").exists(),
        "the SQLite database lives in the data dir"
    );
    assert!(
        dir.0.join("signing-keys").exists(),
        "a signing key was generated"
    );

    // A realtime socket is open when the signal comes: it is closed with 1001 (going away).
    let created = vendrome_with_stdin(
        &dir.0,
        &["users", "create", "--email", "ws@example.com"],
        "a socket passphrase\n",
    );
    assert!(created.status.success());
    let token = stdout(&vendrome(
        &dir.0,
        &["users", "token", "--email", "ws@example.com"],
    ));
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://127.0.0.1:{port}/v1/ws"
        ))
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", token.trim()).parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    use futures::StreamExt as _;
    let ready = socket.next().await.unwrap().unwrap();
    assert!(ready.to_text().unwrap().contains("\"ready\""));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the socket closes in time")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1001));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn postgres_without_a_signing_key_refuses_to_start() {
    let dir = TempDir::new();
    let output = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .env_remove("VENDROME_SIGNING_KEYS")
        .env("VENDROME_DATA_DIR", &dir.0)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("VENDROME_SIGNING_KEYS"), "{stderr}");
}

#[test]
fn migrate_status_and_up() {
    let dir = TempDir::new();
    let before: serde_json::Value =
        serde_json::from_str(&stdout(&vendrome(&dir.0, &["migrate", "status", "--json"]))).unwrap();
    let migrations = before.as_array().unwrap();
    assert!(!migrations.is_empty() && migrations.iter().all(|m| m["applied"] == false));

    let up: serde_json::Value =
        serde_json::from_str(&stdout(&vendrome(&dir.0, &["migrate", "up", "--json"]))).unwrap();
    assert_eq!(up["applied"].as_u64(), Some(migrations.len() as u64));
    let after: serde_json::Value =
        serde_json::from_str(&stdout(&vendrome(&dir.0, &["migrate", "status", "--json"]))).unwrap();
    assert!(after
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["applied"] == true));
    let again: serde_json::Value =
        serde_json::from_str(&stdout(&vendrome(&dir.0, &["migrate", "up", "--json"]))).unwrap();
    assert_eq!(again["applied"], 0);
}

#[test]
fn flags_list_get_and_set() {
    let dir = TempDir::new();
    stdout(&vendrome(&dir.0, &["migrate", "up"]));
    let list = stdout(&vendrome(&dir.0, &["flags", "list"]));
    assert_eq!(list.lines().count(), 8, "{list}");

    let set: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &[
            "flags",
            "set",
            "use_real_feed",
            "--on",
            "--percent",
            "25",
            "--reason",
            "first step of the feed canary",
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(
        (
            set[0]["enabled"].as_bool(),
            set[0]["rollout_percent"].as_u64()
        ),
        (Some(true), Some(25))
    );
    let got: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &["flags", "get", "use_real_feed", "--json"],
    )))
    .unwrap();
    assert_eq!(got[0]["rollout_percent"], 25);
    let off: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &[
            "flags",
            "set",
            "use_real_feed",
            "--off",
            "--reason",
            "rollback",
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(
        (
            off[0]["enabled"].as_bool(),
            off[0]["rollout_percent"].as_u64()
        ),
        (Some(false), Some(25))
    );

    for bad in [
        vec!["flags", "set", "no_such_flag", "--on", "--reason", "r"],
        vec!["flags", "get", "Bad-Name"],
        vec![
            "flags",
            "set",
            "use_real_feed",
            "--on",
            "--percent",
            "101",
            "--reason",
            "r",
        ],
        vec!["flags", "set", "use_real_feed", "--on"],
        vec!["flags", "set", "use_real_feed", "--on", "--reason", " "],
    ] {
        let output = vendrome(&dir.0, &bad);
        assert!(!output.status.success(), "{bad:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.trim().is_empty(), "{bad:?} says why");
    }
}

#[test]
fn flags_take_cohorts_from_a_file_and_segments() {
    let dir = TempDir::new();
    stdout(&vendrome(&dir.0, &["migrate", "up"]));
    let mut ids = Vec::new();
    for email in ["ana@example.com", "ben@example.com"] {
        let created: serde_json::Value = serde_json::from_str(&stdout(&vendrome_with_stdin(
            &dir.0,
            &["users", "create", "--email", email, "--json"],
            "a cohort passphrase\n",
        )))
        .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let file = dir.0.join("canary.txt");
    std::fs::write(
        &file,
        format!("# the Nairobi team\n{}\n\nBen@Example.com\n", ids[0]),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let set = [
        "flags",
        "set",
        "use_real_feed",
        "--on",
        "--percent",
        "10",
        "--include-users",
        file,
        "--roles",
        "member,moderator",
        "--levels",
        "email_verified",
        "--countries",
        "ke,za",
        "--reason",
        "canary: the Nairobi team",
        "--json",
    ];
    let flag: serde_json::Value = serde_json::from_str(&stdout(&vendrome(&dir.0, &set))).unwrap();
    let mut named: Vec<String> = flag[0]["cohorts"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    named.sort();
    ids.sort();
    assert_eq!(named, ids, "one by id, one by email");
    assert_eq!(
        flag[0]["cohorts"]["roles"],
        serde_json::json!(["member", "moderator"])
    );
    assert_eq!(
        flag[0]["cohorts"]["levels"],
        serde_json::json!(["email_verified"])
    );
    assert_eq!(
        flag[0]["cohorts"]["countries"],
        serde_json::json!(["KE", "ZA"])
    );
    assert_eq!(flag[0]["rollout_percent"], 10);

    let shown = stdout(&vendrome(&dir.0, &["flags", "show", "use_real_feed"]));
    assert!(shown.contains("roles:     member,moderator"), "{shown}");
    assert!(shown.contains("countries: KE,ZA"), "{shown}");
    assert!(
        shown.contains(&ids[0]) && shown.contains(&ids[1]),
        "{shown}"
    );

    // Unknown members are listed and nothing changes.
    let stranger = uuid::Uuid::new_v4().to_string();
    let bad = dir.0.join("bad.txt");
    std::fs::write(
        &bad,
        format!("{}\nnobody@example.com\n{stranger}\n", ids[0]),
    )
    .unwrap();
    let output = vendrome(
        &dir.0,
        &[
            "flags",
            "set",
            "use_real_feed",
            "--percent",
            "50",
            "--include-users",
            bad.to_str().unwrap(),
            "--reason",
            "widen",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nobody@example.com") && stderr.contains(&stranger),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&ids[0]),
        "known members are not listed: {stderr}"
    );
    let after: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &["flags", "show", "use_real_feed", "--json"],
    )))
    .unwrap();
    assert_eq!(after[0]["rollout_percent"], 10, "nothing changed");
    assert_eq!(after[0]["cohorts"]["users"].as_array().unwrap().len(), 2);
}

#[test]
fn commands_refuse_an_unmigrated_database() {
    let dir = TempDir::new();
    let output = vendrome(&dir.0, &["flags", "list"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("migrate up"));
}

#[test]
fn seeding_fixtures_twice_changes_nothing() {
    let dir = TempDir::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let fixtures = fixtures.to_str().unwrap();
    stdout(&vendrome(&dir.0, &["migrate", "up"]));
    let first: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &["seed", "fixtures", "--dir", fixtures, "--json"],
    )))
    .unwrap();
    assert!(first["users_created"].as_u64().unwrap() >= 10, "{first}");
    assert!(first["flags_changed"].as_u64().unwrap() >= 1, "{first}");
    let second: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &["seed", "fixtures", "--dir", fixtures, "--json"],
    )))
    .unwrap();
    assert_eq!(second["users_created"], 0, "{second}");
    assert_eq!(second["flags_changed"], 0, "{second}");
    assert_eq!(second["users_present"], first["users_created"]);
    // The fixture users' calendar events (one with an invited connection), found on a rerun.
    assert_eq!(first["calendar"]["events_created"], 4, "{first}");
    assert_eq!(second["calendar"]["events_created"], 0, "{second}");
    assert_eq!(second["calendar"]["events_present"], 4, "{second}");
}

#[test]
fn openapi_prints_the_committed_contract() {
    let dir = TempDir::new();
    let printed = stdout(&vendrome(&dir.0, &["openapi"]));
    let committed = include_str!("../../contracts/openapi.json");
    assert!(printed == committed, "contracts/openapi.json is stale: run `cargo run -p vendrome-cli -- openapi > contracts/openapi.json`");
}

fn vendrome_with_stdin(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(args)
        .env_remove("VENDROME_DATABASE_URL")
        .env_remove("VENDROME_SIGNING_KEYS")
        .env("VENDROME_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn users_are_created_listed_and_their_sessions_revoked() {
    let dir = TempDir::new();
    stdout(&vendrome(&dir.0, &["migrate", "up"]));
    let created: serde_json::Value = serde_json::from_str(&stdout(&vendrome_with_stdin(
        &dir.0,
        &[
            "users",
            "create",
            "--email",
            "Ops@Example.com",
            "--admin",
            "--json",
        ],
        "an operator passphrase\n",
    )))
    .unwrap();
    assert_eq!(
        (created["email"].as_str(), created["role"].as_str()),
        (Some("ops@example.com"), Some("admin"))
    );

    let weak = vendrome_with_stdin(
        &dir.0,
        &["users", "create", "--email", "weak@example.com"],
        "password\n",
    );
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("common"),
        "says why"
    );
    let duplicate = vendrome_with_stdin(
        &dir.0,
        &["users", "create", "--email", "ops@example.com"],
        "an operator passphrase\n",
    );
    assert!(!duplicate.status.success());

    let list = stdout(&vendrome(&dir.0, &["users", "list"]));
    assert_eq!(list.lines().count(), 1);
    assert!(
        list.contains("ops@example.com") && list.contains("admin"),
        "{list}"
    );

    // The token is signed with the data dir's key, which a server on that dir accepts.
    let token = stdout(&vendrome(
        &dir.0,
        &["users", "token", "--email", "ops@example.com"],
    ));
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("VENDROME_DATABASE_URL")
        .env_remove("VENDROME_SIGNING_KEYS")
        .env("VENDROME_DATA_DIR", &dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(&mut child, port);
    let client = reqwest::Client::new();
    let me: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/v1/me"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["role"], "admin");

    // A sign-in, then an operator ends every session of the user.
    let login: serde_json::Value = client
        .post(format!("http://127.0.0.1:{port}/v1/auth/login"))
        .json(
            &serde_json::json!({"email": "ops@example.com", "password": "an operator passphrase"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["data"]["access_token"].as_str().unwrap().to_owned();
    let revoked: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &["sessions", "revoke", "--user", "ops@example.com", "--json"],
    )))
    .unwrap();
    assert_eq!(revoked["ended_tokens"], 1);
    // The server re-checks a session it has seen live within 30 s; this one it has not seen yet.
    let status = client
        .get(format!("http://127.0.0.1:{port}/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn search_reindex_builds_a_new_generation_and_status_reports_it() {
    let dir = TempDir::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    stdout(&vendrome(&dir.0, &["migrate", "up"]));
    let status = stdout(&vendrome(&dir.0, &["search", "status"]));
    assert!(status.contains("no index yet"), "{status}");
    stdout(&vendrome(
        &dir.0,
        &["seed", "fixtures", "--dir", fixtures.to_str().unwrap()],
    ));
    let first: serde_json::Value =
        serde_json::from_str(&stdout(&vendrome(&dir.0, &["search", "reindex", "--json"]))).unwrap();
    // Every fixture member, post and topic.
    assert!(first["documents"].as_u64().unwrap() >= 25, "{first}");
    let second: serde_json::Value =
        serde_json::from_str(&stdout(&vendrome(&dir.0, &["search", "reindex", "--json"]))).unwrap();
    assert_ne!(first["generation"], second["generation"]);
    assert_eq!(first["documents"], second["documents"]);
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&vendrome(&dir.0, &["search", "status", "--json"]))).unwrap();
    assert_eq!(status["generation"], second["generation"]);
    assert!(status["outbox_seq"].as_i64().unwrap() >= 0);
    assert!(dir
        .0
        .join("search")
        .join(second["generation"].as_str().unwrap())
        .is_dir());
    assert!(
        !dir.0
            .join("search")
            .join(first["generation"].as_str().unwrap())
            .exists(),
        "no server uses the old generation: it is removed"
    );
}

#[test]
fn calendar_keys_are_generated_and_rotated() {
    let dir = TempDir::new();
    let spec = stdout(&vendrome(&dir.0, &["calendar", "generate-key"]));
    let spec = spec.trim();
    let (kid, secret) = spec.split_once(':').unwrap();
    assert_eq!(secret.len(), 43, "{spec}");
    stdout(&vendrome(&dir.0, &["migrate", "up"]));
    let rotated: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &["calendar", "rotate-keys", "--calendar-keys", spec, "--json"],
    )))
    .unwrap();
    assert_eq!(rotated["resealed"], 0);
    assert_eq!(rotated["key_id"], kid);
    let bad = vendrome(
        &dir.0,
        &["calendar", "rotate-keys", "--calendar-keys", "k:short"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("VENDROME_CALENDAR_KEYS"));

    // The sync queue of a fresh database: empty, in both forms.
    let status: serde_json::Value = serde_json::from_str(&stdout(&vendrome(
        &dir.0,
        &["calendar", "sync-status", "--json"],
    )))
    .unwrap();
    assert_eq!(
        status,
        serde_json::json!({
            "pending": 0, "running": 0, "retrying": 0, "dead": 0, "oldest_pending": null
        })
    );
    let text = stdout(&vendrome(&dir.0, &["calendar", "sync-status"]));
    assert!(
        text.contains("pending 0") && text.contains("oldest pending: none"),
        "{text}"
    );
}
