//! Provider credentials sealed at rest: AES-256-GCM with a random 96-bit nonce per seal, the
//! integration id and the credential's role as associated data (a ciphertext copied to another
//! row or role does not open), and the sealing key's id stored beside the ciphertext, so keys
//! rotate row by row (`CalendarKeys` reads `VENDROME_CALENDAR_KEYS`, the first key sealing,
//! every key opening).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use vendrome_core::calendar::integrations::SealedCredentials;
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::{Error, Result};

const NONCE_BYTES: usize = 12;

/// A credential in the clear: an access or refresh token, or a password. Its `Debug` never shows
/// it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Credentials in the clear, as a sync needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access token, or a CalDAV password.
    pub access: Secret,
    /// The OAuth refresh token; `None` for CalDAV.
    pub refresh: Option<Secret>,
}

struct SealingKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The calendar credential keys: the first seals, every one opens.
pub struct CalendarKeys {
    keys: Vec<SealingKey>,
}

impl std::fmt::Debug for CalendarKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("CalendarKeys")
            .field("key_ids", &ids)
            .finish()
    }
}

impl CalendarKeys {
    /// Parses `kid:secret[,kid:secret…]`, each secret exactly 32 bytes in unpadded base64url;
    /// the first key seals new credentials.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut keys: Vec<SealingKey> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, secret) = entry
                .split_once(':')
                .context("each key is written `kid:base64url-secret`")?;
            anyhow::ensure!(!id.is_empty(), "a key id must not be empty");
            anyhow::ensure!(
                keys.iter().all(|k| k.id != id),
                "key id `{id}` is given twice"
            );
            let bytes = URL_SAFE_NO_PAD
                .decode(secret.trim_end_matches('='))
                .with_context(|| format!("key `{id}` is not unpadded base64url"))?;
            anyhow::ensure!(
                bytes.len() == 32,
                "key `{id}` has {} bytes; AES-256 needs exactly 32",
                bytes.len()
            );
            keys.push(SealingKey {
                id: id.to_owned(),
                cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
            });
        }
        anyhow::ensure!(!keys.is_empty(), "no calendar key given");
        Ok(Self { keys })
    }

    /// A new random key spec (`kid:secret`), for `vendrome calendar keys generate`.
    pub fn generate_spec() -> String {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        format!(
            "c{}:{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S"),
            URL_SAFE_NO_PAD.encode(secret)
        )
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `credentials` of integration `id` with the current key.
    pub fn seal(&self, id: CalendarIntegrationId, credentials: &Credentials) -> SealedCredentials {
        let key = &self.keys[0];
        SealedCredentials {
            key_id: key.id.clone(),
            access: seal_one(&key.cipher, id, "access", credentials.access.expose()),
            refresh: credentials
                .refresh
                .as_ref()
                .map(|r| seal_one(&key.cipher, id, "refresh", r.expose())),
        }
    }

    /// Opens credentials sealed for integration `id`.
    ///
    /// Errors: [`Error::Unexpected`] when their key is not configured or they do not open
    /// (tampered, or sealed for another row).
    pub fn open(
        &self,
        id: CalendarIntegrationId,
        sealed: &SealedCredentials,
    ) -> Result<Credentials> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| {
                Error::Unexpected(anyhow::anyhow!(
                    "calendar integration {id} is sealed with key `{}`, which is not configured",
                    sealed.key_id
                ))
            })?;
        Ok(Credentials {
            access: open_one(&key.cipher, id, "access", &sealed.access)?,
            refresh: sealed
                .refresh
                .as_deref()
                .map(|r| open_one(&key.cipher, id, "refresh", r))
                .transpose()?,
        })
    }
}

fn aad(id: CalendarIntegrationId, role: &str) -> Vec<u8> {
    format!("vendrome calendar {role} {id}").into_bytes()
}

/// `nonce || ciphertext+tag`.
fn seal_one(cipher: &Aes256Gcm, id: CalendarIntegrationId, role: &str, plain: &str) -> Vec<u8> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let aad = aad(id, role);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_bytes(),
                aad: &aad,
            },
        )
        .expect("AES-GCM seals any message under 64 GiB");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

fn open_one(
    cipher: &Aes256Gcm,
    id: CalendarIntegrationId,
    role: &str,
    sealed: &[u8],
) -> Result<Secret> {
    let fail = || {
        Error::Unexpected(anyhow::anyhow!(
            "the {role} credential of calendar integration {id} does not open"
        ))
    };
    if sealed.len() < NONCE_BYTES {
        return Err(fail());
    }
    let (nonce, body) = sealed.split_at(NONCE_BYTES);
    let aad = aad(id, role);
    let plain = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: &aad,
            },
        )
        .map_err(|_| fail())?;
    String::from_utf8(plain).map(Secret).map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access: Secret::new("ya29.access-token-in-the-clear"),
            refresh: Some(Secret::new("1//refresh-token-in-the-clear")),
        }
    }

    #[test]
    fn sealed_credentials_open_with_any_configured_key_and_only_for_their_row() {
        let old = CalendarKeys::generate_spec();
        let new = CalendarKeys::generate_spec().replacen('c', "d", 1);
        let before = CalendarKeys::parse(&old).unwrap();
        let (id, other) = (CalendarIntegrationId::new(), CalendarIntegrationId::new());
        let sealed = before.seal(id, &creds());
        assert_eq!(sealed.key_id, before.current_id());
        // Neither plaintext appears in the ciphertexts; two seals differ (fresh nonces).
        for bytes in [&sealed.access, sealed.refresh.as_ref().unwrap()] {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains("clear"), "{text}");
        }
        assert_ne!(before.seal(id, &creds()).access, sealed.access);
        assert_eq!(before.open(id, &sealed).unwrap(), creds());
        // Another row's ciphertext does not open here.
        assert!(before.open(other, &sealed).is_err());
        // After rotation (new key first, old kept) old seals still open; new ones use the new key.
        let rotated = CalendarKeys::parse(&format!("{new},{old}")).unwrap();
        assert_eq!(rotated.open(id, &sealed).unwrap(), creds());
        let resealed = rotated.seal(id, &creds());
        assert_ne!(resealed.key_id, sealed.key_id);
        // Without the old key, old seals do not open.
        assert!(CalendarKeys::parse(&new)
            .unwrap()
            .open(id, &sealed)
            .is_err());
        // Tampering is caught.
        let mut bad = sealed.clone();
        *bad.access.last_mut().unwrap() ^= 1;
        assert!(before.open(id, &bad).is_err());
        assert!(!format!("{:?} {:?}", creds(), rotated).contains("clear"));
    }

    #[test]
    fn bad_key_specs_are_refused() {
        assert!(CalendarKeys::parse("").is_err());
        assert!(CalendarKeys::parse("nokey").is_err());
        assert!(CalendarKeys::parse("k:c2hvcnQ").is_err());
        let spec = CalendarKeys::generate_spec();
        assert!(CalendarKeys::parse(&format!("{spec},{spec}")).is_err());
    }
}
