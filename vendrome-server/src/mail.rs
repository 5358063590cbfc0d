//! The [`Mailer`] adapters: SMTP through `lettre` in production (`VENDROME_SMTP_URL`), `.eml`
//! files under `<data dir>/mail/` on the embedded default (each logged with its link, so a
//! developer can open it), and memory for tests and embedding programs.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use vendrome_core::mail::{Mail, Mailer};

/// Where mail goes and who it is from.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct MailSettings {
    /// `smtp://user:pass@host:587?tls=required`, `smtps://…:465` (see `lettre`'s
    /// `AsyncSmtpTransport::from_url`); unset writes `.eml` files in the data directory.
    pub smtp_url: Option<String>,
    /// The `From` of every message (`Vendrome <no-reply@example.com>`).
    pub from: Option<String>,
    /// The frontend's address the links point at (`{base}/verify-email?token=…`,
    /// `{base}/reset-password?token=…`); unset, the first OAuth redirect origin, else the
    /// public URL, else the listening address.
    pub link_base: Option<String>,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field(
                "smtp_url",
                &self.smtp_url.as_deref().map(vendrome_store::db::redact),
            )
            .field("from", &self.from)
            .field("link_base", &self.link_base)
            .finish()
    }
}

/// The sender when none is configured.
pub const DEFAULT_FROM: &str = "Vendrome <no-reply@localhost>";

fn message(from: &Mailbox, mail: &Mail) -> anyhow::Result<Message> {
    let to: Mailbox = mail
        .to
        .parse()
        .with_context(|| format!("{:?} is not a mailbox", mail.to))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .context("the message could not be built")
}

fn mailbox(from: Option<&str>) -> anyhow::Result<Mailbox> {
    from.unwrap_or(DEFAULT_FROM)
        .parse()
        .context("VENDROME_MAIL_FROM is not a mailbox (`Name <address>` or `address`)")
}

/// Mail over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `url`. Connects lazily, on the first message.
    pub fn new(url: &str, from: Option<&str>) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("VENDROME_SMTP_URL is not a valid SMTP URL")?
            .build();
        Ok(Self {
            transport,
            from: mailbox(from)?,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let message = message(&self.from, mail)?;
        self.transport
            .send(message)
            .await
            .context("the SMTP server did not take the message")?;
        tracing::info!(subject = %mail.subject, "mail sent");
        Ok(())
    }
}

/// Mail as `.eml` files in a directory (the embedded default: nothing leaves the machine).
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: Option<&str>) -> anyhow::Result<Self> {
        Ok(Self {
            dir,
            from: mailbox(from)?,
        })
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let message = message(&self.from, mail)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S"),
            uuid::Uuid::new_v4().simple()
        );
        let path = self.dir.join(name);
        tokio::fs::write(&path, message.formatted())
            .await
            .with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(
            path = %path.display(),
            subject = %mail.subject,
            link = mail.link.as_deref().unwrap_or(""),
            "mail written (no SMTP server configured)"
        );
        Ok(())
    }
}

/// Mail kept in memory (the last thousand messages), for tests and embedding programs.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Mail>>,
    arrived: tokio::sync::Notify,
}

impl MemoryMailer {
    const KEEP: usize = 1000;

    /// Every message kept, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().expect("never poisoned").clone()
    }

    /// The latest message to `to`, waiting for one to arrive.
    pub async fn next_to(&self, to: &str) -> Mail {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(mail) = self.sent().into_iter().rev().find(|m| m.to == to) {
                return mail;
            }
            arrived.await;
        }
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let mut sent = self.sent.lock().expect("never poisoned");
        if sent.len() >= Self::KEEP {
            sent.remove(0);
        }
        sent.push(mail.clone());
        self.arrived.notify_waiters();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_hold_the_whole_message() {
        let dir = std::env::temp_dir().join(format!("vendrome-mail-{}", uuid::Uuid::new_v4()));
        let mailer = FileMailer::new(dir.clone(), Some("Vendrome <no-reply@example.com>")).unwrap();
        let mail = Mail {
            to: "ada@example.com".into(),
            subject: "Confirm your email address".into(),
            text: "open https://app.example.com/verify-email?token=abc\n".into(),
            link: Some("https://app.example.com/verify-email?token=abc".into()),
        };
        mailer.send(&mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().unwrap().path();
        assert_eq!(path.extension().unwrap(), "eml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("To: ada@example.com"), "{text}");
        assert!(
            text.contains("From: Vendrome <no-reply@example.com>"),
            "{text}"
        );
        assert!(
            text.contains("Subject: Confirm your email address"),
            "{text}"
        );
        assert!(text.contains("verify-email?token=abc"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(SmtpMailer::new("smtp://mail.example.com:587", None).is_ok());
        assert!(SmtpMailer::new("ftp://mail.example.com", None).is_err());
        assert!(FileMailer::new(PathBuf::from("."), Some("not a mailbox <")).is_err());
    }
}
