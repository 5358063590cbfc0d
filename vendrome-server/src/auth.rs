//! Access tokens: short-lived JWTs (HS256) signed with a key that carries an id (`kid`), so keys
//! can rotate — the first key of the ring signs, every key of the ring verifies.
//!
//! Extractors: [`Authenticated`] requires a valid bearer token (401 otherwise, with
//! `token_missing`, `token_invalid` or `token_expired`); [`MaybeAuthenticated`] accepts its
//! absence but still refuses a bad one.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use vendrome_core::access::Caller;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::{SessionId, UserId};

use crate::error::ApiError;
use crate::state::AppState;

/// How long an access token lives.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
const ISSUER: &str = "vendrome";

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: UserId,
    pub role: UserRole,
    /// The session the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

struct Key {
    id: String,
    secret: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The signing keys: the first signs, all verify.
pub struct KeyRing {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

impl KeyRing {
    const MIN_SECRET_BYTES: usize = 32;

    /// Parses `kid:secret[,kid:secret…]`, secrets in unpadded base64url of at least 32 bytes.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, secret) = entry
                .split_once(':')
                .context("each key is written `kid:base64url-secret`")?;
            anyhow::ensure!(!id.is_empty(), "a key id must not be empty");
            let secret = URL_SAFE_NO_PAD
                .decode(secret.trim_end_matches('='))
                .with_context(|| format!("key `{id}` is not unpadded base64url"))?;
            anyhow::ensure!(
                secret.len() >= Self::MIN_SECRET_BYTES,
                "key `{id}` has {} bytes; at least {} are required",
                secret.len(),
                Self::MIN_SECRET_BYTES
            );
            keys.push(Key {
                id: id.to_owned(),
                encoding: EncodingKey::from_secret(&secret),
                decoding: DecodingKey::from_secret(&secret),
                secret,
            });
        }
        anyhow::ensure!(!keys.is_empty(), "no signing key given");
        Ok(Self { keys })
    }

    /// A new random key spec (`kid:secret`), for the embedded default and for operators.
    pub fn generate_spec() -> String {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        format!(
            "k{}:{}",
            chrono::Utc::now().format("%Y%m%d"),
            URL_SAFE_NO_PAD.encode(secret)
        )
    }

    /// Reads the key file in `data_dir`, creating it (readable by the owner only) when missing.
    /// Returns the ring and whether the file was created now.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(Self, bool)> {
        let path = data_dir.join("signing-keys");
        if path.exists() {
            let spec = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok((Self::parse(&spec)?, false));
        }
        let spec = Self::generate_spec();
        write_private(&path, &spec).with_context(|| format!("writing {}", path.display()))?;
        Ok((Self::parse(&spec)?, true))
    }

    /// A secret for other keyed uses (refresh-token rotation, device keys), derived from the
    /// signing key so that one setting configures both.
    pub fn derived_secret(&self, purpose: &str) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        Sha256::new()
            .chain_update(b"vendrome derived secret\0")
            .chain_update(purpose.as_bytes())
            .chain_update([0])
            .chain_update(&self.keys[0].secret)
            .finalize()
            .to_vec()
    }

    /// Signs an access token for `user`.
    pub fn issue(
        &self,
        user: UserId,
        role: UserRole,
        session: Option<SessionId>,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            role,
            sid: session,
            iat: now,
            exp: now + ACCESS_TOKEN_TTL.as_secs() as i64,
            iss: ISSUER.to_owned(),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims with the current key.
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.id.clone());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// Verifies a token's signature (by its `kid`), expiry and issuer.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid =
            || ApiError::unauthenticated("token_invalid", "the access token is not valid");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let kid = header.kid.ok_or_else(invalid)?;
        let key = self.keys.iter().find(|k| k.id == kid).ok_or_else(invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => ApiError::unauthenticated(
                    "token_expired",
                    "the access token has expired; refresh it",
                ),
                _ => invalid(),
            })
    }
}

impl vendrome_core::auth::AccessTokens for KeyRing {
    fn issue(
        &self,
        user: UserId,
        role: UserRole,
        session: SessionId,
    ) -> vendrome_core::Result<String> {
        Ok(KeyRing::issue(self, user, role, Some(session))?)
    }

    fn ttl(&self) -> Duration {
        ACCESS_TOKEN_TTL
    }
}

/// Writes a new file readable by its owner only (0600 on Unix); fails when it exists.
pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// A caller with a valid access token of a live session.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated {
    pub caller: Caller,
    /// The session the token belongs to (absent only on tokens minted by operators).
    pub session: Option<SessionId>,
}

/// A caller who may be anonymous; a token, when sent, must be valid.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthenticated(pub Option<Caller>);

pub(crate) fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("token_invalid", "the access token is not valid"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthenticated(
            "token_invalid",
            "send the access token as `Authorization: Bearer <token>`",
        )),
    }
}

/// The caller behind an access token, when the token is valid and its session live.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<Authenticated, ApiError> {
    let claims = state.keys.verify(token)?;
    if let Some(session) = claims.sid {
        if !state
            .session_guard
            .is_live(&state.auth, session, claims.sub)
            .await?
        {
            return Err(ApiError::unauthenticated(
                "session_revoked",
                "the session has ended; sign in again",
            ));
        }
    }
    // A token carries the role it was issued with. Admin and moderator rights are re-read from
    // the store, so a demotion takes them away at once, not when the token expires.
    let role = if claims.role.is_privileged() {
        state.auth.current_role(claims.sub).await?.ok_or_else(|| {
            ApiError::unauthenticated("session_revoked", "the session has ended; sign in again")
        })?
    } else {
        claims.role
    };
    Ok(Authenticated {
        caller: Caller {
            user_id: claims.sub,
            role,
        },
        session: claims.sid,
    })
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?.ok_or_else(|| {
            ApiError::unauthenticated("token_missing", "sign in: this needs an access token")
        })?;
        authenticate(state, token).await
    }
}

impl FromRequestParts<AppState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts)? {
            Some(token) => authenticate(state, token)
                .await
                .map(|a| MaybeAuthenticated(Some(a.caller))),
            None => Ok(MaybeAuthenticated(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::parse(&KeyRing::generate_spec()).unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_caller() {
        let keys = ring();
        let user = UserId::new();
        let token = keys.issue(user, UserRole::Admin, None).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.role), (user, UserRole::Admin));
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused_distinctly() {
        let keys = ring();
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: UserId::new(),
            role: UserRole::Member,
            sid: None,
            iat: now - 100,
            exp: now - 10,
            iss: ISSUER.into(),
        };
        assert_eq!(
            keys.verify(&keys.sign(&claims).unwrap()).unwrap_err().code,
            "token_expired"
        );

        let mut token = keys.issue(UserId::new(), UserRole::Member, None).unwrap();
        token.pop();
        token.push('x');
        assert_eq!(keys.verify(&token).unwrap_err().code, "token_invalid");

        let other = ring().issue(UserId::new(), UserRole::Member, None).unwrap();
        assert_eq!(keys.verify(&other).unwrap_err().code, "token_invalid");
        assert_eq!(keys.verify("not.a.jwt").unwrap_err().code, "token_invalid");
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let old = KeyRing::generate_spec();
        let new = KeyRing::generate_spec().replacen('k', "n", 1);
        let before = KeyRing::parse(&old)
            .unwrap()
            .issue(UserId::new(), UserRole::Member, None)
            .unwrap();
        let rotated = KeyRing::parse(&format!("{new},{old}")).unwrap();
        assert!(rotated.verify(&before).is_ok());
    }

    #[test]
    fn weak_or_malformed_key_specs_are_refused() {
        assert!(KeyRing::parse("").is_err());
        assert!(KeyRing::parse("k1:c2hvcnQ").is_err());
        assert!(KeyRing::parse("nocolon").is_err());
    }
}
