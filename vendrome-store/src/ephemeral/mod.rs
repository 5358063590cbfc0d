//! Ephemeral state: what may be lost without harm and expires on its own — rate-limit counters,
//! presence and typing indicators. It lives in process memory when Vendrome runs as one process
//! ([`MemoryRateLimiter`], [`MemoryPresence`]), and in Valkey/Redis when several instances must
//! share it (`ValkeyRateLimiter`, `ValkeyPresence`, feature `valkey`, on by default).
//!
//! Both rate limiters keep a sliding log: the instant of every counted hit within the window, so
//! a burst at the edge of two windows cannot double the budget, and
//! [`Decision::Limited`](vendrome_core::rate_limit::Decision::Limited)'s `retry_after` is exact:
//! the time until the hit that must leave the window for the next one to fit (the oldest counted
//! hit, unless the rule's limit was lowered since) leaves it. It is always greater than zero. The
//! HTTP layer rounds it **up** to whole seconds for the `Retry-After` header, so a client that
//! waits that long is never refused again for the same reason.
//!
//! The conformance suite (`tests/conformance/rate_limit.rs`) runs the same tests on both.

mod memory;
mod presence_memory;
#[cfg(feature = "valkey")]
mod presence_valkey;
#[cfg(feature = "valkey")]
mod valkey;

pub use memory::MemoryRateLimiter;
pub use presence_memory::MemoryPresence;
#[cfg(feature = "valkey")]
pub use presence_valkey::ValkeyPresence;
#[cfg(feature = "valkey")]
pub use valkey::{connect as connect_valkey, ValkeyRateLimiter};
