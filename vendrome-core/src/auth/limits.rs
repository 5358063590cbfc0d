//! The rate limits of sign-in: per address on every attempt, and per account on failures.
//!
//! Guessing is slowed, not used to lock people out: an account allows at most
//! [`LoginLimits::account_failures`] failed sign-ins per hour from clients it does not know;
//! a client that signed in to it before holds a *device key* (returned at sign-in) and has a
//! budget of its own, so an attacker exhausting the account's budget does not lock out its owner.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::UserId;
use crate::rate_limit::Rule;

/// The budgets.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub register_per_ip: Rule,
    pub login_per_ip: Rule,
    pub refresh_per_ip: Rule,
    pub oauth_per_ip: Rule,
    /// Failed sign-ins per account from unknown clients.
    pub account_failures: Rule,
    /// Failed sign-ins per account from one known client.
    pub device_failures: Rule,
    /// Verification and password-reset mails asked for per address.
    pub mail_per_ip: Rule,
    /// Verification and password-reset mails per account (by email address).
    pub mail_per_account: Rule,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        Self {
            register_per_ip: Rule {
                name: "register_ip",
                limit: 20,
                window: hour,
            },
            login_per_ip: Rule {
                name: "login_ip",
                limit: 60,
                window: minute,
            },
            refresh_per_ip: Rule {
                name: "refresh_ip",
                limit: 120,
                window: minute,
            },
            oauth_per_ip: Rule {
                name: "oauth_ip",
                limit: 30,
                window: minute,
            },
            account_failures: Rule {
                name: "login_account_failures",
                limit: 100,
                window: hour,
            },
            device_failures: Rule {
                name: "login_device_failures",
                limit: 10,
                window: Duration::from_secs(900),
            },
            mail_per_ip: Rule {
                name: "account_mail_ip",
                limit: 20,
                window: hour,
            },
            mail_per_account: Rule {
                name: "account_mail_account",
                limit: 5,
                window: hour,
            },
        }
    }
}

/// The device key of `user` on one client: HMAC(key, user id ‖ nonce), carried as `nonce.mac`.
pub fn device_key(key: &[u8], user: UserId, nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"vendrome device key\0");
    mac.update(user.as_uuid().as_bytes());
    mac.update(nonce.as_bytes());
    format!(
        "{nonce}.{}",
        super::refresh::hex(&mac.finalize().into_bytes())
    )
}
