//! Identity and access: passwords, sessions with rotating refresh tokens, sign-in and sign-out,
//! and the rate limits that keep guessing slow.
//!
//! [`AuthService`] is the whole of it for adapters: it validates, checks rights, hashes off the
//! async threads (through [`PasswordHasher`]), signs access tokens (through [`AccessTokens`]) and
//! talks to storage through the ports.

mod account;
mod account_tokens;
mod limits;
mod operator;
mod password;
mod recovery;
mod refresh;
mod service;
mod session_flow;
mod sessions;

pub use account::ProfileChanges;
pub use account_tokens::{AccountToken, AccountTokenRepo, TokenPurpose};
pub use limits::{device_key, LoginLimits};
pub use password::{
    argon2, hash_blocking, verify_blocking, Password, PasswordHash, PasswordHasher, DECOY_HASH,
};
pub use recovery::{AccountRecovery, RESET_TTL, VERIFY_TTL};
pub use refresh::{RefreshToken, RotationKey};
pub use service::{AccessTokens, AuthPolicy, AuthService, NewAccount, SignedIn};
pub use sessions::{
    reasons, ClientInfo, NewSessionToken, RevocationNotices, SessionRepo, SessionToken,
};
