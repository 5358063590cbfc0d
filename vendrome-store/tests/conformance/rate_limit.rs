//! The `RateLimiter` port on both adapters: every test registered with [`rate_limiters!`] runs
//! once on a `MemoryRateLimiter` and once on a `ValkeyRateLimiter` at `VENDROME_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`), skipped loudly when that is unreachable, unless `CI=true`.
//!
//! Every test makes its own rule names and keys (UUIDs), so parallel tests and keys left on the
//! server by earlier runs never meet.

use std::sync::Arc;
use std::time::Duration;

use vendrome_core::rate_limit::{Decision, RateLimiter, Rule};
use vendrome_store::ephemeral::MemoryRateLimiter;

/// Registers rate-limiter tests (`async fn(Arc<dyn RateLimiter>)`) to run on both adapters.
macro_rules! rate_limiters {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$name(super::memory()).await;
                }

                #[cfg(feature = "valkey")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn valkey() {
                    let Some(limiter) = super::valkey::connect().await else { return };
                    super::$name(std::sync::Arc::new(limiter)).await;
                }
            }
        )*
    };
}

rate_limiters!(
    allows_exactly_the_limit_then_limits,
    retry_after_counts_from_the_oldest_hit,
    hits_are_allowed_again_after_the_window,
    refused_hits_are_not_counted,
    peek_does_not_count,
    reset_forgets_the_key,
    refund_takes_back_one_hit,
    keys_and_rules_are_independent,
    concurrent_hits_never_pass_the_limit,
);

fn memory() -> Arc<dyn RateLimiter> {
    Arc::new(MemoryRateLimiter::new())
}

/// A rule no other test (or earlier run) uses.
fn rule(limit: u32, window: Duration) -> Rule {
    Rule {
        name: unique_name(),
        limit,
        window,
    }
}

fn unique_name() -> &'static str {
    Box::leak(format!("test_{}", uuid::Uuid::new_v4().simple()).into_boxed_str())
}

/// A key like the ones real rules use: an email, from user input.
fn email() -> String {
    format!("Someone+{}@Example.com", uuid::Uuid::new_v4().simple())
}

fn retry_after(decision: Decision) -> Duration {
    match decision {
        Decision::Limited { retry_after } => retry_after,
        Decision::Allowed { remaining } => {
            panic!("expected Limited, got Allowed {{ {remaining} }}")
        }
    }
}

async fn allows_exactly_the_limit_then_limits(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(3, Duration::from_secs(60));
    let key = email();

    for remaining in [2, 1, 0] {
        let decision = limiter.hit(&rule, &key).await.unwrap();
        assert_eq!(decision, Decision::Allowed { remaining });
    }
    for _ in 0..3 {
        let wait = retry_after(limiter.hit(&rule, &key).await.unwrap());
        assert!(wait > Duration::ZERO, "retry_after must be positive");
        assert!(
            wait <= rule.window,
            "retry_after {wait:?} exceeds the window"
        );
    }
}

async fn retry_after_counts_from_the_oldest_hit(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(2, Duration::from_secs(10));
    let key = email();

    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    let wait = retry_after(limiter.hit(&rule, &key).await.unwrap());

    // The first hit leaves the window 10 s after it, and 400 ms have passed since.
    assert!(
        wait <= Duration::from_millis(9_600) && wait > Duration::from_secs(8),
        "retry_after {wait:?} is not the time until the oldest hit leaves the window"
    );
}

async fn hits_are_allowed_again_after_the_window(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(2, Duration::from_millis(400));
    let key = email();

    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    let wait = retry_after(limiter.hit(&rule, &key).await.unwrap());
    assert!(wait > Duration::ZERO && wait <= rule.window);

    tokio::time::sleep(wait + Duration::from_millis(50)).await;

    assert_eq!(
        limiter.hit(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 1 }
    );
}

async fn refused_hits_are_not_counted(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(2, Duration::from_millis(1_000));
    let key = email();

    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    tokio::time::sleep(Duration::from_millis(250)).await;
    for _ in 0..5 {
        assert!(!limiter.hit(&rule, &key).await.unwrap().is_allowed());
    }
    // The two counted hits have left the window; the refused ones, had they counted, would not.
    tokio::time::sleep(Duration::from_millis(800)).await;

    assert_eq!(
        limiter.hit(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 1 }
    );
    assert_eq!(
        limiter.hit(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 0 }
    );
}

async fn peek_does_not_count(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(2, Duration::from_secs(60));
    let key = email();

    for _ in 0..5 {
        assert_eq!(
            limiter.peek(&rule, &key).await.unwrap(),
            Decision::Allowed { remaining: 2 }
        );
    }
    assert_eq!(
        limiter.hit(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 1 }
    );
    assert_eq!(
        limiter.peek(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 1 }
    );
    assert_eq!(
        limiter.hit(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 0 }
    );
    let wait = retry_after(limiter.peek(&rule, &key).await.unwrap());
    assert!(wait > Duration::ZERO && wait <= rule.window);
}

async fn reset_forgets_the_key(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(1, Duration::from_secs(60));
    let key = email();
    let other = email();
    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    assert!(limiter.hit(&rule, &other).await.unwrap().is_allowed());
    assert!(!limiter.hit(&rule, &key).await.unwrap().is_allowed());

    limiter.reset(&rule, &key).await.unwrap();

    assert_eq!(
        limiter.hit(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 0 }
    );
    assert!(
        !limiter.hit(&rule, &other).await.unwrap().is_allowed(),
        "reset touched another key"
    );
    // Resetting a key never hit is no error.
    limiter.reset(&rule, &email()).await.unwrap();
}

async fn refund_takes_back_one_hit(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(2, Duration::from_secs(60));
    let key = email();
    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    assert!(limiter.hit(&rule, &key).await.unwrap().is_allowed());
    assert!(!limiter.peek(&rule, &key).await.unwrap().is_allowed());

    limiter.refund(&rule, &key).await.unwrap();

    assert_eq!(
        limiter.peek(&rule, &key).await.unwrap(),
        Decision::Allowed { remaining: 1 },
        "one hit was taken back, not both"
    );
    // Nothing to take back is no error.
    limiter.refund(&rule, &email()).await.unwrap();
}

async fn keys_and_rules_are_independent(limiter: Arc<dyn RateLimiter>) {
    let window = Duration::from_secs(60);
    let first = rule(1, window);
    // A rule whose name extends the first's by a colon, so the keys `a:b` under the first and
    // `b` under this one would collide if keys were joined naively.
    let second = Rule {
        name: Box::leak(format!("{}:a", first.name).into_boxed_str()),
        limit: 1,
        window,
    };
    let key = email();

    assert!(limiter.hit(&first, &key).await.unwrap().is_allowed());
    assert!(!limiter.hit(&first, &key).await.unwrap().is_allowed());

    assert!(limiter.hit(&first, &email()).await.unwrap().is_allowed());
    assert!(limiter.hit(&second, &key).await.unwrap().is_allowed());
    assert!(limiter.hit(&first, "a:b").await.unwrap().is_allowed());
    assert!(limiter.hit(&second, "b").await.unwrap().is_allowed());
    // Keys differing only in case are different keys: normalizing is the caller's job.
    assert!(limiter
        .hit(&first, &key.to_lowercase())
        .await
        .unwrap()
        .is_allowed());
}

async fn concurrent_hits_never_pass_the_limit(limiter: Arc<dyn RateLimiter>) {
    let rule = rule(10, Duration::from_secs(60));
    let key = email();

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (limiter, key) = (limiter.clone(), key.clone());
            tokio::spawn(async move { limiter.hit(&rule, &key).await.unwrap() })
        })
        .collect();
    let mut allowed = 0;
    let mut remaining_seen = Vec::new();
    for task in tasks {
        if let Decision::Allowed { remaining } = task.await.unwrap() {
            allowed += 1;
            remaining_seen.push(remaining);
        }
    }

    assert_eq!(allowed, 10);
    remaining_seen.sort_unstable();
    assert_eq!(remaining_seen, (0..10).collect::<Vec<_>>());
    assert!(!limiter.peek(&rule, &key).await.unwrap().is_allowed());
}

/// The in-memory limiter forgets expired keys and never holds more than its cap.
mod memory_bounds {
    use super::*;

    #[tokio::test]
    async fn expired_keys_are_swept() {
        let limiter = MemoryRateLimiter::new();
        let short = rule(1, Duration::from_millis(20));
        for _ in 0..1000 {
            limiter.hit(&short, &email()).await.unwrap();
        }
        assert_eq!(limiter.tracked_keys(), 1000);
        tokio::time::sleep(Duration::from_millis(40)).await;

        // Peeks record nothing, but they count as calls, and a sweep comes every 1024 calls.
        let key = email();
        for _ in 0..1100 {
            limiter.peek(&short, &key).await.unwrap();
        }

        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[tokio::test]
    async fn the_cap_holds_and_expired_keys_go_first() {
        let limiter = MemoryRateLimiter::with_max_keys(10);
        let short = rule(1, Duration::from_millis(20));
        let long = rule(1, Duration::from_secs(60));
        for _ in 0..10 {
            limiter.hit(&short, &email()).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        let kept = email();
        limiter.hit(&long, &kept).await.unwrap();
        assert_eq!(
            limiter.tracked_keys(),
            1,
            "expired keys should be swept first"
        );

        for _ in 0..50 {
            limiter.hit(&long, &email()).await.unwrap();
            assert!(limiter.tracked_keys() <= 10);
        }
        let recent = email();
        limiter.hit(&long, &recent).await.unwrap();

        assert!(limiter.tracked_keys() <= 10);
        assert!(
            !limiter.hit(&long, &recent).await.unwrap().is_allowed(),
            "the most recently hit key must survive eviction"
        );
    }
}

#[cfg(feature = "valkey")]
mod valkey {
    use std::sync::Arc;
    use std::time::Duration;

    use vendrome_core::rate_limit::RateLimiter;
    use vendrome_store::ephemeral::ValkeyRateLimiter;

    /// The limiter on the test server; `None` (after saying so on stderr) when it is unreachable
    /// outside CI.
    pub(super) async fn connect() -> Option<ValkeyRateLimiter> {
        let url = vendrome_store::testing::redis_url();
        match ValkeyRateLimiter::connect(&url).await {
            Ok(limiter) => Some(limiter),
            Err(error) => vendrome_store::testing::unreachable(
                "Valkey/Redis",
                &url,
                "VENDROME_TEST_REDIS_URL",
                format!("{error:#}"),
            ),
        }
    }

    /// Two server instances, each with its own connection, share one budget per key.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_share_one_budget() {
        let Some(first) = connect().await else { return };
        let Some(second) = connect().await else {
            return;
        };
        let (first, second): (Arc<dyn RateLimiter>, Arc<dyn RateLimiter>) =
            (Arc::new(first), Arc::new(second));
        let rule = super::rule(4, Duration::from_secs(60));
        let key = super::email();

        let mut allowed = 0;
        for round in 0..5 {
            for limiter in [&first, &second] {
                if limiter.hit(&rule, &key).await.unwrap().is_allowed() {
                    allowed += 1;
                }
            }
            if round == 0 {
                assert_eq!(
                    second.peek(&rule, &key).await.unwrap(),
                    vendrome_core::rate_limit::Decision::Allowed { remaining: 2 }
                );
            }
        }
        assert_eq!(allowed, 4);
        assert!(!first.peek(&rule, &key).await.unwrap().is_allowed());

        second.reset(&rule, &key).await.unwrap();

        assert!(first.hit(&rule, &key).await.unwrap().is_allowed());
    }

    /// Hits from many tasks on two instances at once still never pass the limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_hits_on_two_instances_never_pass_the_limit() {
        let Some(first) = connect().await else { return };
        let Some(second) = connect().await else {
            return;
        };
        let instances: [Arc<dyn RateLimiter>; 2] = [Arc::new(first), Arc::new(second)];
        let rule = super::rule(10, Duration::from_secs(60));
        let key = super::email();

        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (limiter, key) = (instances[i % 2].clone(), key.clone());
                tokio::spawn(async move { limiter.hit(&rule, &key).await.unwrap() })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            allowed += usize::from(task.await.unwrap().is_allowed());
        }

        assert_eq!(allowed, 10);
    }
}
