//! `vendrome`: run the server, manage the database, flags and seed data, print the API contract.
//!
//! Every option can also come from a `VENDROME_*` environment variable. Exit status is 0 on
//! success, 1 with a one-line reason on stderr when a command could not run, and 3 when a check
//! ran and found discrepancies (`ledger check`, `reconcile`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod output;

/// mimalloc (its v2 line) hands freed memory back to the system within milliseconds. glibc's
/// malloc keeps it in per-thread arenas: after the first start's search index build on 1M posts,
/// ~1 GB stayed resident in a server that needs ~45 MB (the same server restarted). mimalloc v3
/// purges only after a second, and kept 225 MiB of the build's memory resident 5 s after it;
/// v2 kept 67 MiB. Without the default `mimalloc` feature the system's malloc serves, so that a
/// heap profiler can follow it.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "vendrome",
    version,
    about = "Vendrome: the backend of a business social network and marketplace."
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every verb takes.
#[derive(clap::Args, Clone)]
pub struct Common {
    /// `postgres://…` or `sqlite://…`. Default: a SQLite file `vendrome.db` in the data dir.
    #[arg(long, env = "VENDROME_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the embedded defaults keep their files.
    #[arg(long, env = "VENDROME_DATA_DIR", default_value = vendrome_server::Config::DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// Machine-readable output (JSON) for verbs that print data.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log format on stderr.
    #[arg(long, env = "VENDROME_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,
}

// One command is parsed once per process: the size of its largest variant (`serve`'s many
// settings) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (applies pending migrations first).
    Serve(commands::serve::Args),
    /// Apply or inspect database migrations.
    #[command(subcommand)]
    Migrate(commands::migrate::Command),
    /// Read and change feature flags.
    #[command(subcommand)]
    Flags(commands::flags::Command),
    /// Load seed data.
    #[command(subcommand)]
    Seed(commands::seed::Command),
    /// Print the OpenAPI document (the one committed at contracts/openapi.json).
    Openapi,
    /// Manage accounts.
    #[command(subcommand)]
    Users(commands::users::Command),
    /// Manage sessions.
    #[command(subcommand)]
    Sessions(commands::users::SessionsCommand),
    /// Signing keys for access tokens.
    #[command(subcommand)]
    Keys(commands::keys::Command),
    /// Compare a provider's settled transactions with the ledger for a window of days; exit
    /// status 3 when they disagree.
    Reconcile(commands::reconcile::Args),
    /// The double-entry ledger.
    #[command(subcommand)]
    Ledger(commands::ledger::Command),
    /// The embedded search index.
    #[command(subcommand)]
    Search(commands::search::Command),
    /// Calendar sync: credential keys and the sync queue.
    #[command(subcommand)]
    Calendar(commands::calendar::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_logging(&cli.common.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return output::fail(&anyhow::Error::new(error)),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => commands::serve::run(&cli.common, args).await,
            Command::Migrate(command) => commands::migrate::run(&cli.common, command).await,
            Command::Flags(command) => commands::flags::run(&cli.common, command).await,
            Command::Seed(command) => commands::seed::run(&cli.common, command).await,
            Command::Search(command) => commands::search::run(&cli.common, command).await,
            Command::Calendar(command) => commands::calendar::run(&cli.common, command).await,
            Command::Ledger(command) => commands::ledger::run(&cli.common, command).await,
            Command::Reconcile(args) => commands::reconcile::run(&cli.common, args).await,
            Command::Openapi => {
                print!("{}", vendrome_server::openapi::document_json());
                Ok(())
            }
            Command::Keys(command) => commands::keys::run(command),
            Command::Users(command) => commands::users::run(&cli.common, command).await,
            Command::Sessions(command) => commands::users::run_sessions(&cli.common, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => output::fail(&error),
    }
}
