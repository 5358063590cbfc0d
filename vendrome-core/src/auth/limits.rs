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

fn device_mac(key: &[u8], user: UserId, nonce: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"vendrome device key\0");
    mac.update(user.as_uuid().as_bytes());
    mac.update(nonce.as_bytes());
    mac
}

/// The device key of `user` on one client: HMAC(key, user id ‖ nonce), carried as `nonce.mac`.
pub fn device_key(key: &[u8], user: UserId, nonce: &str) -> String {
    format!(
        "{nonce}.{}",
        super::refresh::hex(&device_mac(key, user, nonce).finalize().into_bytes())
    )
}

/// The nonce of `presented` when it is a device key of `user` (see [`device_key`]). The MACs
/// are compared in constant time, so the time taken tells nothing of how much of a guess was
/// right.
pub fn known_device(key: &[u8], user: UserId, presented: &str) -> Option<String> {
    let (nonce, mac) = presented.split_once('.')?;
    let bytes = unhex(mac)?;
    device_mac(key, user, nonce)
        .verify_slice(&bytes)
        .ok()
        .map(|()| nonce.to_owned())
}

/// Lower-case hex to bytes; `None` for anything else.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_key_is_known_only_to_its_account_and_whole() {
        let (secret, user) = (b"secret".as_slice(), UserId::new());
        let key = device_key(secret, user, "n1");
        assert_eq!(known_device(secret, user, &key).as_deref(), Some("n1"));
        assert_eq!(known_device(secret, UserId::new(), &key), None);
        assert_eq!(known_device(b"other", user, &key), None);
        let mut altered = key.clone();
        let last = if altered.ends_with('0') { "1" } else { "0" };
        altered.replace_range(altered.len() - 1.., last);
        assert_eq!(known_device(secret, user, &altered), None);
        for bad in ["", "n1", "n1.", "n1.zz", "n1.abc", &key[..key.len() - 2]] {
            assert_eq!(known_device(secret, user, bad), None, "{bad}");
        }
        assert_eq!(known_device(secret, user, &key.to_uppercase()), None);
    }
}
