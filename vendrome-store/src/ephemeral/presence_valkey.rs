//! [`ValkeyPresence`]: presence and typing in Valkey/Redis, shared by every server instance.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::realtime::{PresenceChange, PresenceRepo, PresenceStatus};
use vendrome_core::{Error, Result};

/// Reads, and with `ARGV[1]` `beat` or `leave` changes, one member's sockets, atomically.
///
/// `KEYS[1]`: a sorted set of the member's sockets scored by when each expires (milliseconds on
/// the server's clock); `KEYS[2]`: a hash of each socket's status. Expired sockets are dropped
/// from both first. `ARGV[2]`: the socket; `ARGV[3]`: its status; `ARGV[4]`: its time to live
/// in milliseconds. Returns `{before, after}`, each 0 (offline), 1 (away) or 2 (online). Both
/// keys expire with the member's longest-lived socket, so a crashed instance leaves nothing
/// behind for longer than a time to live.
const PRESENCE_SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function status()
  local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
    redis.call('HDEL', KEYS[2], unpack(expired))
  end
  local best = 0
  for _, s in ipairs(redis.call('HVALS', KEYS[2])) do
    local v = 0
    if s == 'online' then v = 2 elseif s == 'away' then v = 1 end
    if v > best then best = v end
  end
  return best
end
local before = status()
if ARGV[1] == 'beat' then
  local ttl = tonumber(ARGV[4])
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  for _, key in ipairs(KEYS) do
    if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  end
elseif ARGV[1] == 'leave' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return {before, status()}
";

static PRESENCE: LazyLock<Script> = LazyLock::new(|| Script::new(PRESENCE_SCRIPT));

/// Presence and typing in Valkey/Redis.
///
/// A member's sockets are `vendrome:presence:{user}` (sorted set, socket → expiry) and
/// `vendrome:presence:{user}:status` (hash, socket → status); the braces keep both in one
/// cluster slot. A typist is `vendrome:typing:{conversation}:{user}`, a plain key with the typing
/// time to live. Every key expires by itself, so an instance that dies leaves no one online or
/// typing for longer than a time to live; the server's clock decides expiry for every instance.
#[derive(Clone)]
pub struct ValkeyPresence {
    conn: ConnectionManager,
}

impl ValkeyPresence {
    /// Connects as [`super::valkey::connect`] does.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Self::from_connection(super::valkey::connect(url).await?))
    }

    /// Presence on a connection the caller already holds.
    pub fn from_connection(conn: ConnectionManager) -> Self {
        Self { conn }
    }

    async fn run(
        &self,
        user: UserId,
        op: &str,
        socket: &str,
        status: PresenceStatus,
        ttl: Duration,
    ) -> Result<PresenceChange> {
        let (before, after): (u8, u8) = PRESENCE
            .key(sockets_key(user))
            .key(status_key(user))
            .arg(op)
            .arg(socket)
            .arg(status.as_str())
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unexpected)?;
        Ok(PresenceChange {
            before: level(before),
            after: level(after),
        })
    }
}

impl std::fmt::Debug for ValkeyPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValkeyPresence").finish_non_exhaustive()
    }
}

fn sockets_key(user: UserId) -> String {
    format!("vendrome:presence:{{{user}}}")
}

fn status_key(user: UserId) -> String {
    format!("vendrome:presence:{{{user}}}:status")
}

fn typing_key(conversation: ConversationId, user: UserId) -> String {
    format!("vendrome:typing:{conversation}:{user}")
}

fn level(value: u8) -> PresenceStatus {
    match value {
        2 => PresenceStatus::Online,
        1 => PresenceStatus::Away,
        _ => PresenceStatus::Offline,
    }
}

#[async_trait]
impl PresenceRepo for ValkeyPresence {
    async fn heartbeat(
        &self,
        user: UserId,
        socket: &str,
        status: PresenceStatus,
        ttl: Duration,
    ) -> Result<PresenceChange> {
        self.run(user, "beat", socket, status, ttl).await
    }

    async fn leave(&self, user: UserId, socket: &str) -> Result<PresenceChange> {
        self.run(
            user,
            "leave",
            socket,
            PresenceStatus::Offline,
            Duration::ZERO,
        )
        .await
    }

    async fn statuses(&self, users: &[UserId]) -> Result<Vec<PresenceStatus>> {
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            let change = self
                .run(*user, "read", "", PresenceStatus::Offline, Duration::ZERO)
                .await?;
            out.push(change.after);
        }
        Ok(out)
    }

    async fn start_typing(
        &self,
        conversation: ConversationId,
        user: UserId,
        ttl: Duration,
    ) -> Result<bool> {
        let previous: Option<String> = redis::cmd("SET")
            .arg(typing_key(conversation, user))
            .arg("1")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .arg("GET")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unexpected)?;
        Ok(previous.is_none())
    }

    async fn stop_typing(&self, conversation: ConversationId, user: UserId) -> Result<bool> {
        let removed: i64 = redis::cmd("DEL")
            .arg(typing_key(conversation, user))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unexpected)?;
        Ok(removed == 1)
    }

    async fn is_typing(&self, conversation: ConversationId, user: UserId) -> Result<bool> {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(typing_key(conversation, user))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unexpected)?;
        Ok(exists == 1)
    }
}

fn unexpected(error: RedisError) -> Error {
    Error::Unexpected(anyhow::Error::new(error).context("Valkey/Redis presence"))
}
