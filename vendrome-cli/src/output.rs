//! How the CLI talks: logs on stderr, data on stdout (as text or `--json`), progress bars on
//! long steps, one-line failures.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

pub fn init_logging(format: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A command that ran but whose finding is a failure with its own exit status (3: the ledger
/// check or a reconciliation found discrepancies), distinct from 1 (it could not run).
#[derive(Debug)]
pub struct Exit {
    pub status: u8,
    pub reason: &'static str,
}

impl Exit {
    pub fn new(status: u8, reason: &'static str) -> Self {
        Self { status, reason }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for Exit {}

/// Prints the error and its causes on one line; exit status 1, or the status an [`Exit`] names.
pub fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    match error.downcast_ref::<Exit>() {
        Some(exit) => ExitCode::from(exit.status),
        None => ExitCode::FAILURE,
    }
}

/// A progress bar of `total` steps (hidden when stderr is not a terminal).
pub fn progress(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total).with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A spinner for a step of unknown length (hidden when stderr is not a terminal).
pub fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints `value` as pretty JSON.
pub fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
