//! [`ValkeyRateLimiter`]: a sliding-log rate limiter in Valkey/Redis, one budget shared by every
//! server instance.

use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, RedisError, Script};
use sha2::{Digest, Sha256};
use vendrome_core::rate_limit::{Decision, RateLimiter, Rule};
use vendrome_core::{Error, Result};

/// How long [`ValkeyRateLimiter::connect`] (and each reconnection attempt) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one command may take before it fails, so a stuck server cannot hold requests.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Prunes, counts and (when `ARGV[3]` is `1` and the hit fits) records a hit, in one atomic step.
///
/// `KEYS[1]`: the key's sorted set, one member per counted hit, scored by its instant in
/// microseconds. `ARGV[1]`: the window in microseconds; `ARGV[2]`: the limit; `ARGV[3]`: `1` to
/// count the hit, `0` to peek; `ARGV[4]`: a random token that keeps members unique when two hits
/// share a microsecond. Returns `{1, remaining}` or `{0, retry_after in microseconds}`.
///
/// Microseconds since the epoch (about 1.8e15) are exact in Lua's doubles and in sorted-set
/// scores, both good to 2^53. A hit counts while less than a window has passed since it, so
/// `ZREMRANGEBYSCORE` drops scores up to `now - window` inclusive and every remaining hit leaves
/// the window strictly after `now`: `retry_after` is never zero.
const HIT_SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used < limit then
  if ARGV[3] == '1' then
    redis.call('ZADD', KEYS[1], now, time[1] .. '.' .. time[2] .. ':' .. ARGV[4])
    redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(window / 1000)))
    used = used + 1
  end
  return {1, limit - used}
end
local blocking = redis.call('ZRANGE', KEYS[1], used - limit, used - limit, 'WITHSCORES')
if blocking[2] == nil then
  return {0, window}
end
return {0, tonumber(blocking[2]) + window - now}
";

static HIT: LazyLock<Script> = LazyLock::new(|| Script::new(HIT_SCRIPT));

/// A sliding-log rate limiter in Valkey/Redis: every instance connected to the same server shares
/// one budget per key.
///
/// Each key under a rule is a sorted set, `vendrome:rl:{rule name}:{SHA-256 of the key, hex}`.
/// The key is hashed because it is often user input (an email, an IP): hashing keeps personal
/// data out of the cache, bounds the length, and makes a colon in a key harmless. Its members are
/// the counted hits; it expires one window after its last hit, so nothing outlives its use.
///
/// One Lua script (sent with `EVALSHA`, loaded again after a server restart) prunes, counts and
/// records a hit atomically, so concurrent hits from any number of instances never allow more
/// than the limit.
///
/// **Clock:** the server's (`TIME` inside the script), not the caller's. Every instance then
/// measures windows on one clock, so skew between application hosts cannot widen or shorten a
/// window, and the hits of one key are always recorded in order. Calling `TIME` before writing is
/// allowed since Redis 5 replicates a script's effects rather than the script (the script asks
/// for that mode explicitly on older servers). A jump of the server's wall clock moves every
/// window with it: `retry_after` is clamped to the window.
///
/// The connection is a [`ConnectionManager`]: one multiplexed connection, re-established in the
/// background when it drops. A call made while the server is unreachable fails with
/// [`Error::Unexpected`]; whether to then let the request through is the caller's decision.
#[derive(Clone)]
pub struct ValkeyRateLimiter {
    conn: ConnectionManager,
}

impl ValkeyRateLimiter {
    /// Connects as [`connect`] does.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            conn: connect(url).await?,
        })
    }

    /// A limiter on a connection the caller already holds (and may share with other adapters).
    pub fn from_connection(conn: ConnectionManager) -> Self {
        Self { conn }
    }

    async fn run(&self, rule: &Rule, key: &str, count: bool) -> Result<Decision> {
        let window_micros = u64::try_from(rule.window.as_micros()).unwrap_or(u64::MAX);
        let token = uuid::Uuid::new_v4().simple().to_string();
        let (allowed, value): (i64, i64) = HIT
            .key(redis_key(rule, key))
            .arg(window_micros)
            .arg(rule.limit)
            .arg(if count { "1" } else { "0" })
            .arg(token)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unexpected)?;
        let value = u64::try_from(value).unwrap_or(0);
        Ok(if allowed == 1 {
            Decision::Allowed {
                remaining: u32::try_from(value).unwrap_or(u32::MAX),
            }
        } else {
            let retry_after = Duration::from_micros(value)
                .min(rule.window)
                .max(Duration::from_micros(1));
            Decision::Limited { retry_after }
        })
    }
}

/// Connects to `redis://…` or `valkey://…` (`unix://…` for a socket; the TLS schemes would need
/// a TLS feature of the driver, not enabled), failing after five seconds if the server does not
/// answer. The manager reconnects in the background when the connection drops; every Valkey
/// adapter of a process may share it (it is cheap to clone).
pub async fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    // The URL may hold a password: it goes into no error message.
    let client = redis::Client::open(url).context("invalid Valkey/Redis URL")?;
    // One plain attempt first: the manager retries its first connection with backoff, which
    // would turn "connection refused" into a bare timeout.
    let probe = AsyncConnectionConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT);
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        client.get_multiplexed_async_connection_with_config(&probe),
    )
    .await
    .map_err(|_| anyhow::anyhow!("Valkey/Redis did not answer within {CONNECT_TIMEOUT:?}"))?
    .context("could not connect to Valkey/Redis")?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
        .set_max_delay(1_000);
    let conn = tokio::time::timeout(
        CONNECT_TIMEOUT,
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|_| anyhow::anyhow!("Valkey/Redis did not answer within {CONNECT_TIMEOUT:?}"))?
    .context("could not connect to Valkey/Redis")?;
    Ok(conn)
}

impl std::fmt::Debug for ValkeyRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValkeyRateLimiter").finish_non_exhaustive()
    }
}

#[async_trait]
impl RateLimiter for ValkeyRateLimiter {
    #[tracing::instrument(skip_all, fields(rule = rule.name))]
    async fn hit(&self, rule: &Rule, key: &str) -> Result<Decision> {
        self.run(rule, key, true).await
    }

    #[tracing::instrument(skip_all, fields(rule = rule.name))]
    async fn peek(&self, rule: &Rule, key: &str) -> Result<Decision> {
        self.run(rule, key, false).await
    }

    #[tracing::instrument(skip_all, fields(rule = rule.name))]
    async fn reset(&self, rule: &Rule, key: &str) -> Result<()> {
        redis::cmd("DEL")
            .arg(redis_key(rule, key))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unexpected)
    }

    #[tracing::instrument(skip_all, fields(rule = rule.name))]
    async fn refund(&self, rule: &Rule, key: &str) -> Result<()> {
        // Hits are scored by their time: the highest score is the latest hit.
        redis::cmd("ZPOPMAX")
            .arg(redis_key(rule, key))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unexpected)
    }
}

/// `vendrome:rl:{rule name}:{SHA-256 of the key, hex}`.
fn redis_key(rule: &Rule, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("vendrome:rl:{}:{}", rule.name, hex::encode(digest))
}

fn unexpected(error: RedisError) -> Error {
    Error::Unexpected(anyhow::Error::new(error).context("Valkey/Redis rate limiter"))
}
