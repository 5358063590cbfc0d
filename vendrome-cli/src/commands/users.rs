//! `vendrome users create|list|token` and `vendrome sessions revoke`.

use std::io::{BufRead as _, IsTerminal as _};
use std::sync::Arc;

use serde::Serialize;
use vendrome_core::auth::{AuthPolicy, AuthService, NewAccount};
use vendrome_core::enums::UserRole;
use vendrome_core::ids::UserId;
use vendrome_core::page::Limit;
use vendrome_core::users::{Email, User, UserRepo};
use vendrome_server::auth::KeyRing;
use vendrome_store::ephemeral::MemoryRateLimiter;
use vendrome_store::Store;

use crate::{output, Common};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an account with a password (prompted for, or read from standard input).
    Create {
        #[arg(long)]
        email: String,
        /// Defaults to the part of the email before the `@`.
        #[arg(long)]
        display_name: Option<String>,
        /// Make the account an administrator.
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        #[arg(long, value_parser = ["member", "moderator", "admin"])]
        role: Option<String>,
        #[command(flatten)]
        keys: Keys,
    },
    /// List accounts, oldest first.
    List {
        /// At most this many (1-100 per page; pages are fetched until the count is reached).
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Print a 15-minute access token for an account (operators: scripts and API checks). It is
    /// bound to no session, so only its expiry ends it.
    Token {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        keys: Keys,
    },
}

/// The server's signing keys: given, or the data dir's (made there when missing).
#[derive(clap::Args)]
pub struct Keys {
    #[arg(long, env = "VENDROME_SIGNING_KEYS", hide_env_values = true)]
    signing_keys: Option<String>,
}

impl Keys {
    fn ring(&self, common: &Common) -> anyhow::Result<KeyRing> {
        Ok(match &self.signing_keys {
            Some(spec) => KeyRing::parse(spec)?,
            None => KeyRing::load_or_create(&common.data_dir)?.0,
        })
    }
}

/// The service the API's accounts and sessions go through, over `store`.
fn auth(common: &Common, store: &Store, keys: &Keys) -> anyhow::Result<AuthService> {
    Ok(vendrome_server::state::auth_service(
        Arc::new(store.clone()),
        Arc::new(keys.ring(common)?),
        Arc::new(MemoryRateLimiter::new()),
        AuthPolicy::default(),
    ))
}

#[derive(clap::Subcommand)]
pub enum SessionsCommand {
    /// End every session of a user (audited as an operator's action).
    Revoke {
        /// The user's email or id.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        keys: Keys,
    },
}

#[derive(Serialize)]
struct UserOut {
    id: String,
    email: String,
    display_name: String,
    handle: Option<String>,
    role: UserRole,
    disabled: bool,
    created_at: String,
}

impl From<&User> for UserOut {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.as_str().to_owned(),
            handle: user.handle.as_ref().map(|h| h.as_str().to_owned()),
            role: user.role,
            disabled: user.is_disabled(),
            created_at: user.created_at.to_rfc3339(),
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ")?;
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn find_user(store: &Store, who: &str) -> anyhow::Result<User> {
    let found = match who.parse::<UserId>() {
        Ok(id) => store.user_by_id(id).await?,
        Err(_) => {
            let email = Email::parse(who)
                .map_err(|e| anyhow::anyhow!("`{who}` is no user id or email: {e}"))?;
            store.user_by_email(&email).await?
        }
    };
    found.ok_or_else(|| anyhow::anyhow!("no user is `{who}`"))
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    let store = super::open_migrated_store(common).await?;
    match command {
        Command::Create {
            email,
            display_name,
            admin,
            role,
            keys,
        } => {
            let display_name =
                display_name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_owned());
            let role = match (admin, role.as_deref()) {
                (true, _) | (false, Some("admin")) => UserRole::Admin,
                (false, Some("moderator")) => UserRole::Moderator,
                _ => UserRole::Member,
            };
            let account = NewAccount {
                email,
                password: read_password()?,
                display_name,
            };
            let user = auth(common, &store, &keys)?
                .create_account_as_operator(account, role)
                .await?;
            if common.json {
                output::json(&UserOut::from(&user))
            } else {
                println!(
                    "created {} {} ({})",
                    user.role,
                    user.email.as_str(),
                    user.id
                );
                Ok(())
            }
        }
        Command::List { limit } => {
            let mut users = Vec::new();
            let mut after = None;
            while users.len() < limit {
                let page = store
                    .list_users(after, Limit::parse((limit - users.len()).min(100) as u32)?)
                    .await?;
                users.extend(page.items);
                match page.next_cursor {
                    Some(cursor) => after = Some(cursor.decode()?),
                    None => break,
                }
            }
            if common.json {
                return output::json(&users.iter().map(UserOut::from).collect::<Vec<_>>());
            }
            for user in &users {
                let state = if user.is_disabled() {
                    " (disabled)"
                } else {
                    ""
                };
                println!(
                    "{} {:<9} {:<32} {}{state}",
                    user.id,
                    user.role.to_string(),
                    user.email.as_str(),
                    user.display_name.as_str()
                );
            }
            Ok(())
        }
        Command::Token { email, keys } => {
            let user = find_user(&store, &email).await?;
            anyhow::ensure!(!user.is_disabled(), "{} is disabled", user.email.as_str());
            println!("{}", keys.ring(common)?.issue(user.id, user.role, None)?);
            Ok(())
        }
    }
}

pub async fn run_sessions(common: &Common, command: SessionsCommand) -> anyhow::Result<()> {
    let store = super::open_migrated_store(common).await?;
    let SessionsCommand::Revoke { user, keys } = command;
    let user = find_user(&store, &user).await?;
    let ended = auth(common, &store, &keys)?
        .end_sessions_as_operator(user.id)
        .await?;
    if common.json {
        output::json(&serde_json::json!({ "user_id": user.id, "ended_tokens": ended }))
    } else {
        println!(
            "ended the sessions of {} ({ended} refresh tokens)",
            user.email.as_str()
        );
        Ok(())
    }
}
