//! Which requests get a line in the log ([`AccessLog`], `--access-log` / `VENDROME_ACCESS_LOG`):
//! every request, only those that failed or were slow, or only server errors and slow ones.
//! Server errors (5xx) and requests slower than [`AccessLogPolicy::slow`] are logged whatever
//! the setting; the request's other log lines (and its span, which carries the request id) are
//! not affected.

use std::time::Duration;

use axum::http::StatusCode;

/// Which requests are logged. The default is [`AccessLog::Errors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessLog {
    /// Every request: one INFO line each.
    All,
    /// Requests answered 4xx or 5xx, and slow ones.
    #[default]
    Errors,
    /// Only server errors (5xx) and slow requests.
    Off,
}

impl std::str::FromStr for AccessLog {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "all" => Ok(Self::All),
            "errors" => Ok(Self::Errors),
            "off" => Ok(Self::Off),
            _ => Err(format!(
                "unknown access log setting {raw:?}: use all, errors or off"
            )),
        }
    }
}

/// The setting and what counts as slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessLogPolicy {
    pub mode: AccessLog,
    /// A request that took at least this long is logged (WARN) whatever the mode.
    pub slow: Duration,
}

impl Default for AccessLogPolicy {
    fn default() -> Self {
        Self {
            mode: AccessLog::default(),
            slow: Self::DEFAULT_SLOW,
        }
    }
}

/// The line a finished request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// ERROR `request failed`: a server error.
    Failed,
    /// WARN `slow request`.
    Slow,
    /// INFO `request done`.
    Done,
}

impl AccessLogPolicy {
    pub const DEFAULT_SLOW: Duration = Duration::from_secs(1);

    /// The line a request answered `status` after `elapsed` gets, if any.
    pub fn line(&self, status: StatusCode, elapsed: Duration) -> Option<Line> {
        if status.is_server_error() {
            Some(Line::Failed)
        } else if elapsed >= self.slow {
            Some(Line::Slow)
        } else if self.mode == AccessLog::All
            || (self.mode == AccessLog::Errors && status.is_client_error())
        {
            Some(Line::Done)
        } else {
            None
        }
    }

    /// Writes the line for a finished request (inside its span).
    pub fn log(&self, status: StatusCode, elapsed: Duration) {
        let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
        let status = status.as_u16();
        match self.line(StatusCode::from_u16(status).unwrap_or_default(), elapsed) {
            Some(Line::Failed) => tracing::error!(status, elapsed_ms, "request failed"),
            Some(Line::Slow) => tracing::warn!(status, elapsed_ms, "slow request"),
            Some(Line::Done) => tracing::info!(status, elapsed_ms, "request done"),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_logs_what_it_says_and_failures_and_slow_requests_always() {
        let fast = Duration::from_millis(3);
        let slow = Duration::from_secs(2);
        let policy = |mode| AccessLogPolicy {
            mode,
            slow: AccessLogPolicy::DEFAULT_SLOW,
        };
        let cases = [
            (AccessLog::All, StatusCode::OK, fast, Some(Line::Done)),
            (
                AccessLog::All,
                StatusCode::NOT_FOUND,
                fast,
                Some(Line::Done),
            ),
            (AccessLog::Errors, StatusCode::OK, fast, None),
            (
                AccessLog::Errors,
                StatusCode::NOT_FOUND,
                fast,
                Some(Line::Done),
            ),
            (AccessLog::Off, StatusCode::OK, fast, None),
            (AccessLog::Off, StatusCode::NOT_FOUND, fast, None),
        ];
        for (mode, status, elapsed, expected) in cases {
            assert_eq!(
                policy(mode).line(status, elapsed),
                expected,
                "{mode:?} {status}"
            );
        }
        for mode in [AccessLog::All, AccessLog::Errors, AccessLog::Off] {
            let failed = policy(mode).line(StatusCode::SERVICE_UNAVAILABLE, fast);
            assert_eq!(failed, Some(Line::Failed), "{mode:?}");
            assert_eq!(policy(mode).line(StatusCode::OK, slow), Some(Line::Slow));
        }
        assert_eq!("off".parse(), Ok(AccessLog::Off));
        assert!("none".parse::<AccessLog>().is_err());
    }

    /// The log a subscriber writes, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines the request-id middleware writes for a 200, a 404 and a 500 under `policy`.
    async fn lines_written(policy: AccessLogPolicy) -> Vec<String> {
        use axum::routing::get;
        use tower::ServiceExt as _;

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = axum::Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .layer(axum::middleware::from_fn_with_state(
                policy,
                crate::request_id::middleware,
            ));
        for path in ["/ok", "/missing", "/fail"] {
            let request = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_middleware_writes_the_lines_the_setting_asks_for() {
        let summary = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .map(|l| {
                    let status = l.split("status=").nth(1).unwrap_or("?");
                    let status = &status[..3.min(status.len())];
                    let what = ["request done", "request failed", "slow request"]
                        .into_iter()
                        .find(|w| l.contains(w))
                        .unwrap_or("?");
                    format!("{what} {status}")
                })
                .collect()
        };
        let normal = |mode| AccessLogPolicy {
            mode,
            slow: AccessLogPolicy::DEFAULT_SLOW,
        };
        let all = lines_written(normal(AccessLog::All)).await;
        assert_eq!(
            summary(&all),
            ["request done 200", "request done 404", "request failed 500"]
        );
        assert!(all.iter().all(|l| l.contains("request_id=")), "{all:?}");
        let errors = lines_written(normal(AccessLog::Errors)).await;
        assert_eq!(summary(&errors), ["request done 404", "request failed 500"]);
        let off = lines_written(normal(AccessLog::Off)).await;
        assert_eq!(summary(&off), ["request failed 500"]);
        // Everything counts as slow with a zero threshold: logged even when off.
        let slow = lines_written(AccessLogPolicy {
            mode: AccessLog::Off,
            slow: Duration::ZERO,
        })
        .await;
        assert_eq!(
            summary(&slow),
            ["slow request 200", "slow request 404", "request failed 500"]
        );
    }
}
