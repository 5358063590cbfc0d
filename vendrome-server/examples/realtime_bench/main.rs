//! Realtime benchmark: many WebSocket connections held by `vendrome serve`, with 1:1 and group
//! traffic, on one instance and on two instances joined by NATS (presence in Valkey).
//!
//! Run it through `scripts/bench/realtime.sh`, which raises the open-file limit and builds the
//! release binaries first:
//!
//! ```sh
//! scripts/bench/realtime.sh                                 # 10,000 connections
//! scripts/bench/realtime.sh --connections 2000 --seconds 5
//! ```
//!
//! It makes a fresh PostgreSQL database with one member per connection, a direct conversation
//! for every two members and groups of `--group-size` members, signs a token for each, starts
//! the server(s) as their own processes, and opens every connection (spread over the
//! instances). Then it measures:
//!
//! 1. connections held, and the servers' resident memory per connection (growth from before the
//!    first connection to after the last, divided by the connections);
//! 2. 1:1 traffic: `--direct-rate` messages/s for `--seconds`, each sent with `POST` through a
//!    server and received by both members' sockets;
//! 3. group traffic: `--group-rate` messages/s into the groups, each received by every member;
//!
//! For each traffic phase: messages sent per second, frames received per second, received out of
//! expected, and the fan-out latency p50/p99 from just before the `POST` to the frame's arrival
//! (both clocks are this process's). The load generator shares the two cores with the servers,
//! PostgreSQL, NATS and Valkey.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::messaging::groups::{GroupRepo as _, GroupTitle};
use vendrome_core::messaging::MessagingRepo as _;
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_server::auth::KeyRing;
use vendrome_store::Store;

// The feed benchmark's plumbing (databases, server processes, percentiles); not all of it is used here.
#[allow(dead_code)]
#[path = "../feed_bench/support.rs"]
mod support;
use support::{percentile_ms, Server, StoreKind};

#[derive(Debug)]
struct Options {
    connections: usize,
    group_size: usize,
    seconds: u64,
    direct_rate: u64,
    group_rate: u64,
    instances: Vec<usize>,
    vendrome: String,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Options {
            connections: 10_000,
            group_size: 100,
            seconds: 10,
            direct_rate: 200,
            group_rate: 10,
            instances: vec![1, 2],
            vendrome: "target/release/vendrome".into(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--connections" => options.connections = value()?.parse()?,
                "--group-size" => options.group_size = value()?.parse()?,
                "--seconds" => options.seconds = value()?.parse()?,
                "--direct-rate" => options.direct_rate = value()?.parse()?,
                "--group-rate" => options.group_rate = value()?.parse()?,
                "--instances" => {
                    options.instances = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                "--vendrome" => options.vendrome = value()?,
                other => bail!("unknown option {other}"),
            }
        }
        if options.connections < 2 * options.group_size.max(1) {
            bail!("--connections must hold at least two groups");
        }
        Ok(options)
    }
}

/// The members, their tokens and their conversations.
struct Network {
    tokens: Vec<String>,
    /// Direct conversations: (conversation, sender index).
    direct: Vec<(ConversationId, usize)>,
    /// Groups: (conversation, sender index, members).
    groups: Vec<(ConversationId, usize, usize)>,
}

async fn build_network(
    store: &Store,
    keys: &KeyRing,
    options: &Options,
) -> anyhow::Result<Network> {
    let started = Instant::now();
    let users: Vec<UserId> = futures::stream::iter(0..options.connections)
        .map(|i| {
            let store = store.clone();
            async move {
                let new = NewUser {
                    email: Email::parse(&format!("member{i}@bench.example.com"))?,
                    display_name: DisplayName::parse(&format!("Member {i}"))?,
                    handle: None,
                    password_hash: None,
                    role: UserRole::Member,
                };
                anyhow::Ok(store.create_user(new).await?.id)
            }
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let tokens = users
        .iter()
        .map(|u| keys.issue(*u, UserRole::Member, None))
        .collect::<Result<Vec<_>, _>>()?;
    let direct: Vec<(ConversationId, usize)> = futures::stream::iter(0..users.len() / 2)
        .map(|pair| {
            let store = store.clone();
            let (a, b) = (users[2 * pair], users[2 * pair + 1]);
            async move { anyhow::Ok((store.direct_conversation(a, b).await?.0, 2 * pair)) }
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut groups = Vec::new();
    for (n, members) in users.chunks_exact(options.group_size).enumerate() {
        let title = GroupTitle::parse(&format!("Group {n}"))?;
        let id = store.create_group(members[0], title, &members[1..]).await?;
        groups.push((id, n * options.group_size, members.len()));
    }
    println!(
        "network: {} members, {} direct conversations, {} groups of {} ({:.1} s)",
        users.len(),
        direct.len(),
        groups.len(),
        options.group_size,
        started.elapsed().as_secs_f64()
    );
    Ok(Network {
        tokens,
        direct,
        groups,
    })
}

/// A received `message.created`: the phase its body names and the latency.
type Receipt = (String, Duration);

/// Opens one socket and reports every bench message it receives.
async fn hold(
    address: std::net::SocketAddr,
    token: String,
    epoch: Instant,
    receipts: mpsc::UnboundedSender<Receipt>,
    ready: Arc<AtomicUsize>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut request = format!("ws://{address}/v1/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    loop {
        let message = tokio::select! {
            message = socket.next() => message,
            _ = stop.changed() => break,
        };
        let Some(Ok(message)) = message else { break };
        let Message::Text(text) = message else {
            continue;
        };
        // Frames are `{"id","type","at","data"}`; the body is "bench <phase> <micros>".
        if text.contains(r#""type":"ready""#) {
            ready.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if !text.contains(r#""type":"message.created""#) {
            continue;
        }
        let frame: serde_json::Value = serde_json::from_str(&text)?;
        let body = frame["data"]["body"].as_str().unwrap_or_default();
        let mut parts = body.split(' ');
        if let (Some("bench"), Some(phase), Some(sent)) = (parts.next(), parts.next(), parts.next())
        {
            let sent = Duration::from_micros(sent.parse()?);
            let _ = receipts.send((phase.to_owned(), epoch.elapsed().saturating_sub(sent)));
        }
    }
    let _ = socket.close(None).await;
    Ok(())
}

struct PhaseResult {
    name: &'static str,
    sent: usize,
    seconds: f64,
    expected: usize,
    latencies: Vec<Duration>,
}

/// Sends `rate` messages/s for `seconds` into `targets` (conversation, sender token index,
/// receipts each message should make), round robin, through the servers in turn.
#[allow(clippy::too_many_arguments)]
async fn traffic(
    name: &'static str,
    client: &reqwest::Client,
    servers: &[std::net::SocketAddr],
    network: &Network,
    targets: &[(ConversationId, usize, usize)],
    rate: u64,
    seconds: u64,
    epoch: Instant,
    receipts: &mut mpsc::UnboundedReceiver<Receipt>,
) -> anyhow::Result<PhaseResult> {
    let total = (rate * seconds) as usize;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let started = Instant::now();
    let mut requests = Vec::with_capacity(total);
    let mut expected = 0;
    for n in 0..total {
        tick.tick().await;
        let (conversation, sender, fanout) = targets[n % targets.len()];
        expected += fanout;
        let server = servers[n % servers.len()];
        let request = client
            .post(format!(
                "http://{server}/v1/conversations/{conversation}/messages"
            ))
            .bearer_auth(&network.tokens[sender])
            .json(&serde_json::json!({
                "body": format!("bench {name} {}", epoch.elapsed().as_micros()),
            }));
        requests.push(tokio::spawn(async move { request.send().await }));
    }
    let mut failed = 0;
    for request in requests {
        match request.await? {
            Ok(response) if response.status().is_success() => {}
            _ => failed += 1,
        }
    }
    let sending = started.elapsed().as_secs_f64();
    if failed > 0 {
        println!("  {name}: {failed} sends failed");
    }
    // Receipts still in flight: wait until they stop coming.
    let mut latencies = Vec::with_capacity(expected);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(2) {
        match tokio::time::timeout(Duration::from_millis(100), receipts.recv()).await {
            Ok(Some((phase, latency))) => {
                if phase == name {
                    latencies.push(latency);
                }
                quiet_since = Instant::now();
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    latencies.sort();
    Ok(PhaseResult {
        name,
        sent: total - failed,
        seconds: sending,
        expected,
        latencies,
    })
}

async fn run(options: &Options, instances: usize) -> anyhow::Result<()> {
    let url = StoreKind::Postgres
        .prepare(false, "vendrome_realtime_bench")
        .await?;
    let status = std::process::Command::new(&options.vendrome)
        .args(["--database-url", &url, "migrate", "up"])
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("migrations failed");
    }
    let keys_spec = KeyRing::generate_spec();
    let keys = KeyRing::parse(&keys_spec)?;
    let store = Store::open(&url).await?;
    let network = build_network(&store, &keys, options).await?;
    store.db().close().await;

    let mut env = Vec::new();
    if instances > 1 {
        env.push(("VENDROME_NATS_URL", vendrome_store::testing::nats_url()));
        env.push(("VENDROME_VALKEY_URL", vendrome_store::testing::redis_url()));
    }
    let mut servers = Vec::new();
    for _ in 0..instances {
        servers.push(Server::start_with(&options.vendrome, &url, &keys_spec, &env).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline: u64 = servers.iter().filter_map(Server::rss_kib).sum();
    let addresses: Vec<_> = servers.iter().map(|s| s.address).collect();

    let epoch = Instant::now();
    let (receipts_tx, mut receipts) = mpsc::unbounded_channel();
    let ready = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let connecting = Instant::now();
    let mut sockets = Vec::with_capacity(options.connections);
    for (n, token) in network.tokens.iter().enumerate() {
        sockets.push(tokio::spawn(hold(
            addresses[n % addresses.len()],
            token.clone(),
            epoch,
            receipts_tx.clone(),
            ready.clone(),
            stopped.clone(),
        )));
        // Open in waves, so the listen backlog never overflows.
        if n % 200 == 199 {
            while ready.load(Ordering::Relaxed) + 50 < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    while ready.load(Ordering::Relaxed) < options.connections
        && connecting.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held = ready.load(Ordering::Relaxed);
    let connect_seconds = connecting.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded: u64 = servers.iter().filter_map(Server::rss_kib).sum();
    let per_connection_kib = loaded.saturating_sub(baseline) as f64 / held.max(1) as f64;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let direct: Vec<_> = network
        .direct
        .iter()
        .map(|(c, sender)| (*c, *sender, 2))
        .collect();
    let groups = network.groups.clone();
    let mut results = Vec::new();
    for (name, targets, rate) in [
        ("1:1", &direct, options.direct_rate),
        ("group", &groups, options.group_rate),
    ] {
        results.push(
            traffic(
                name,
                &client,
                &addresses,
                &network,
                targets,
                rate,
                options.seconds,
                epoch,
                &mut receipts,
            )
            .await?,
        );
    }
    let still_held = sockets.iter().filter(|s| !s.is_finished()).count();
    let _ = stop.send(true);
    for socket in sockets {
        let _ = socket.await;
    }
    let peak: u64 = servers.iter().filter_map(Server::peak_rss_kib).sum();
    for server in servers {
        server.stop().await;
    }

    println!();
    println!(
        "{} instance(s){}: {held} of {} connections ready in {connect_seconds:.1} s, {still_held} still open after the traffic; \
         server RSS {:.1} MiB before, {:.1} MiB with them ({per_connection_kib:.1} KiB per connection), peak {:.1} MiB",
        instances,
        if instances > 1 { " over NATS + Valkey" } else { "" },
        options.connections,
        baseline as f64 / 1024.0,
        loaded as f64 / 1024.0,
        peak as f64 / 1024.0,
    );
    println!("| instances | traffic | messages/s sent | frames/s received | received / expected | fan-out p50 ms | p99 ms |");
    println!("|--:|---|--:|--:|--:|--:|--:|");
    for r in results {
        let received = r.latencies.len();
        println!(
            "| {instances} | {} | {:.0} | {:.0} | {received} / {} | {:.1} | {:.1} |",
            r.name,
            r.sent as f64 / r.seconds,
            received as f64 / r.seconds,
            r.expected,
            percentile_ms(&r.latencies, 50.0).unwrap_or(f64::NAN),
            percentile_ms(&r.latencies, 99.0).unwrap_or(f64::NAN),
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    println!("options: {options:?}");
    for instances in options.instances.clone() {
        run(&options, instances).await?;
    }
    Ok(())
}
