//! OpenID Connect ID tokens: the signature against the provider's published keys (JWKS), then
//! `iss`, `aud` (our client id), `exp` and the `nonce` of the attempt.

use anyhow::{anyhow, bail, Context as _};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::RwLock;
use vendrome_core::oauth::constant_time_eq;

/// The claims of an ID token this module reads.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A boolean, or `"true"` as some providers send it.
    #[serde(default)]
    pub email_verified: Option<Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
}

/// Whether an `email_verified` claim says yes.
pub fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A provider's signing keys, fetched on first use and again when a token names a key not yet
/// seen (the provider rotated).
pub struct Jwks {
    uri: String,
    keys: RwLock<Option<JwkSet>>,
}

const ASYMMETRIC: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

impl Jwks {
    pub fn new(uri: String) -> Self {
        Self {
            uri,
            keys: RwLock::new(None),
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> anyhow::Result<JwkSet> {
        let response = http
            .get(&self.uri)
            .send()
            .await
            .context("fetching the JWKS")?;
        let response = response
            .error_for_status()
            .context("the JWKS endpoint refused")?;
        response.json().await.context("the JWKS is not a key set")
    }

    async fn key(
        &self,
        http: &reqwest::Client,
        kid: Option<&str>,
    ) -> anyhow::Result<jsonwebtoken::jwk::Jwk> {
        let find = |set: &JwkSet| match kid {
            Some(kid) => set.find(kid).cloned(),
            None if set.keys.len() == 1 => set.keys.first().cloned(),
            None => None,
        };
        if let Some(key) = self.keys.read().await.as_ref().and_then(find) {
            return Ok(key);
        }
        let fresh = self.fetch(http).await?;
        let key = find(&fresh);
        *self.keys.write().await = Some(fresh);
        key.ok_or_else(|| anyhow!("no key {kid:?} in the provider's JWKS"))
    }

    /// Verifies `token` and returns its claims. `issuers` are the accepted `iss` values.
    pub async fn verify(
        &self,
        http: &reqwest::Client,
        token: &str,
        issuers: &[String],
        client_id: &str,
        nonce: &str,
    ) -> anyhow::Result<IdClaims> {
        let header = jsonwebtoken::decode_header(token).context("the ID token is not a JWT")?;
        if !ASYMMETRIC.contains(&header.alg) {
            bail!(
                "the ID token is signed with {:?}, not a public-key algorithm",
                header.alg
            );
        }
        let jwk = self.key(http, header.kid.as_deref()).await?;
        let key = DecodingKey::from_jwk(&jwk).context("the provider's key is not usable")?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(issuers);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .context("the ID token did not verify")?
            .claims;
        // Compared in constant time: the nonce ties the token to this attempt.
        let sent = claims.nonce.as_deref().unwrap_or("");
        if !constant_time_eq(sent.as_bytes(), nonce.as_bytes()) {
            bail!("the ID token's nonce is not the attempt's");
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn email_verified_may_be_a_string() {
        assert!(super::truthy(Some(&json!(true))));
        assert!(super::truthy(Some(&json!("true"))));
        assert!(!super::truthy(Some(&json!("false"))));
        assert!(!super::truthy(None));
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
    }
}
