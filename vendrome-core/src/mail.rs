//! Mail to members (address verification, password reset): the [`Mail`] itself and the
//! [`Mailer`] port that delivers it — SMTP in production, `.eml` files in the data directory on
//! the embedded default.

use async_trait::async_trait;

/// One plain-text message to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The link the message is about, for adapters that log what they deliver (never a
    /// password or anything else secret beyond the single-use link itself).
    pub link: Option<String>,
}

/// Delivers mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Hands `mail` over for delivery. MUST return an error when it could not be handed over
    /// (the SMTP server refused it, the file could not be written).
    ///
    /// # Errors
    ///
    /// Any error of the mail transport (an `anyhow::Error`): the message was not handed over.
    async fn send(&self, mail: &Mail) -> anyhow::Result<()>;
}
