//! Two `vendrome serve` processes on one PostgreSQL database, sharing the real NATS (frames) and
//! Valkey/Redis (presence, typing): what is sent through one instance reaches a socket on the
//! other exactly once. Skipped loudly when a service is unreachable, unless `CI=true`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use vendrome_store::testing;

/// A server process, stopped when dropped.
struct Instance {
    child: Child,
    port: u16,
    /// Its own data directory (each instance keeps its own search index).
    data_dir: std::path::PathBuf,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Instance {
    fn start(database: &str, keys: &str) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data_dir = std::env::temp_dir().join(format!("vendrome-instance-{port}"));
        let child = Command::new(env!("CARGO_BIN_EXE_vendrome"))
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("VENDROME_DATABASE_URL", database)
            .env("VENDROME_SIGNING_KEYS", keys)
            .env("VENDROME_NATS_URL", testing::nats_url())
            .env("VENDROME_VALKEY_URL", testing::redis_url())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary runs");
        let mut instance = Instance {
            child,
            port,
            data_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = instance.child.try_wait().unwrap() {
                panic!("the server exited early with {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return instance;
            }
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(instance: &Instance, token: &str) -> Socket {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/v1/ws", instance.port))
            .await
            .unwrap();
    let auth = json!({ "type": "auth", "token": token }).to_string();
    ws.send(Message::Text(auth.into())).await.unwrap();
    assert_eq!(next(&mut ws, "ready").await["type"], "ready");
    ws
}

/// The next frame of type `kind`.
async fn next(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame in time"))
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == kind {
                return frame;
            }
        }
    }
}

/// Every frame of type `kind` within `wait`.
async fn collect(ws: &mut Socket, kind: &str, wait: Duration) -> Vec<Value> {
    let until = tokio::time::Instant::now() + wait;
    let mut frames = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, ws.next()).await {
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == kind {
                frames.push(frame);
            }
        }
    }
    frames
}

/// `POST`s `body` (with `token`, when given) and answers the response's JSON.
async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

async fn register(client: &reqwest::Client, instance: &Instance, name: &str) -> (String, String) {
    let email = format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = post(
        client,
        instance.url("/v1/auth/register"),
        None,
        json!({ "email": email, "password": "a long enough passphrase", "display_name": name }),
    )
    .await;
    (
        body["data"]["user"]["id"].as_str().unwrap().to_owned(),
        body["data"]["access_token"].as_str().unwrap().to_owned(),
    )
}

/// Whether NATS and Valkey answer; `false` (after saying so, outside CI) when one does not.
fn services_reachable() -> bool {
    for (service, url, variable) in [
        ("NATS", testing::nats_url(), "VENDROME_TEST_NATS_URL"),
        (
            "Valkey/Redis",
            testing::redis_url(),
            "VENDROME_TEST_REDIS_URL",
        ),
    ] {
        let address = url.rsplit("//").next().unwrap_or_default().to_owned();
        if let Err(error) = std::net::TcpStream::connect(&address) {
            return testing::unreachable::<()>(service, &url, variable, error).is_some();
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_through_one_instance_reaches_a_socket_on_the_other_once() {
    if !services_reachable() {
        return;
    }
    let Some(db) = testing::postgres().await else {
        return;
    };
    let keys = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_vendrome"))
            .args(["keys", "generate"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let keys = keys.trim();
    let first = Instance::start(&db.url, keys);
    let second = Instance::start(&db.url, keys);
    let client = reqwest::Client::new();
    let (_, a) = register(&client, &first, "Ana").await;
    let (b_id, b) = register(&client, &second, "Ben").await;
    let opened = post(
        &client,
        first.url("/v1/conversations"),
        Some(&a),
        json!({ "user_id": b_id }),
    )
    .await;
    let conversation = opened["data"]["id"].as_str().unwrap().to_owned();

    // Ben listens on the second instance; Ana writes through the first.
    let mut ben = socket(&second, &b).await;
    let mut ana = socket(&first, &a).await;
    let mut sent = Vec::new();
    for n in 0..5 {
        let message = post(
            &client,
            first.url(&format!("/v1/conversations/{conversation}/messages")),
            Some(&a),
            json!({ "body": format!("message {n}") }),
        )
        .await;
        sent.push(message["data"]["id"].clone());
    }
    let mut received = Vec::new();
    for _ in 0..5 {
        received.push(next(&mut ben, "message.created").await["id"].clone());
    }
    received.extend(
        collect(&mut ben, "message.created", Duration::from_secs(2))
            .await
            .into_iter()
            .map(|f| f["id"].clone()),
    );
    assert_eq!(received, sent, "each message once, in order");

    // Presence and typing live in Valkey: each instance sees the other's sockets.
    ana.send(Message::Text(
        json!({ "type": "presence.query", "user_ids": [b_id] })
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next(&mut ana, "presence.state").await["data"]["members"][0]["status"],
        "online"
    );
    ana.send(Message::Text(
        json!({ "type": "typing.start", "conversation_id": conversation })
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    next(&mut ben, "typing.started").await;

    // And back: Ben writes through the second instance, Ana's socket on the first hears it once.
    let reply = post(
        &client,
        second.url(&format!("/v1/conversations/{conversation}/messages")),
        Some(&b),
        json!({ "body": "reply" }),
    )
    .await;
    let mut heard = vec![next(&mut ana, "message.created").await["id"].clone()];
    heard.extend(
        collect(&mut ana, "message.created", Duration::from_secs(2))
            .await
            .into_iter()
            .map(|f| f["id"].clone()),
    );
    // Ana's socket heard her own five too; reading up to `presence.state` went past them.
    assert_eq!(heard, vec![reply["data"]["id"].clone()]);

    // A flag changed by an operator reaches every socket, on both instances, once: whichever
    // instance's relay publishes the event broadcasts the frame over NATS.
    let changed = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(["flags", "set", "use_real_feed", "--on", "--percent", "10"])
        .args(["--reason", "canary across instances"])
        .env("VENDROME_DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    for socket in [&mut ana, &mut ben] {
        let frame = next(socket, "flags.changed").await;
        assert_eq!(frame["data"]["name"], "use_real_feed");
        assert_eq!(frame["data"]["rollout_percent"], 10);
        let again = collect(socket, "flags.changed", Duration::from_secs(2)).await;
        assert!(again.is_empty(), "once per socket: {again:?}");
    }
}
