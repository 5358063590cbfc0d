//! One provider over HTTP, through the `oauth2` crate: the authorization URL (code flow with
//! PKCE S256, `state` and `nonce`), the code exchange, and the profile — from the verified ID
//! token for OpenID Connect providers, from userinfo otherwise.

use anyhow::{anyhow, bail, Context as _};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::OnceCell;
use vendrome_core::oauth::VerifiedProfile;

use super::id_token::{truthy, Jwks};
use super::settings::{Endpoints, ProviderSettings};

/// The token response's `id_token`, which plain OAuth 2 does not know.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
type CodeClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The endpoints in force, once discovered.
struct Resolved {
    auth_url: AuthUrl,
    token_url: TokenUrl,
    userinfo_url: Option<String>,
    /// For OpenID Connect providers: the accepted issuers and the signing keys.
    oidc: Option<(Vec<String>, Jwks)>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

/// What the browser is sent to, and what stays with us.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// A configured provider.
pub struct ProviderClient {
    settings: ProviderSettings,
    redirect_uri: RedirectUrl,
    http: reqwest::Client,
    resolved: OnceCell<Resolved>,
}

impl ProviderClient {
    pub fn new(
        settings: ProviderSettings,
        redirect_uri: RedirectUrl,
        http: reqwest::Client,
    ) -> Self {
        Self {
            settings,
            redirect_uri,
            http,
            resolved: OnceCell::new(),
        }
    }

    async fn resolved(&self) -> anyhow::Result<&Resolved> {
        self.resolved.get_or_try_init(|| self.resolve()).await
    }

    async fn resolve(&self) -> anyhow::Result<Resolved> {
        match &self.settings.endpoints {
            Endpoints::Explicit {
                auth_url,
                token_url,
                userinfo_url,
            } => Ok(Resolved {
                auth_url: AuthUrl::new(auth_url.clone())?,
                token_url: TokenUrl::new(token_url.clone())?,
                userinfo_url: Some(userinfo_url.clone()),
                oidc: None,
            }),
            Endpoints::Discover { issuer } => {
                let url = format!("{issuer}/.well-known/openid-configuration");
                let response = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .context("fetching the discovery document")?;
                let discovery: Discovery = response
                    .error_for_status()
                    .context("the discovery endpoint refused")?
                    .json()
                    .await
                    .context("the discovery document is not valid")?;
                if discovery.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
                    bail!(
                        "the discovery document names issuer {}, not {issuer}",
                        discovery.issuer
                    );
                }
                // Google's ID tokens name their issuer with or without the scheme.
                let mut issuers = vec![discovery.issuer.clone()];
                if let Some(bare) = discovery.issuer.strip_prefix("https://") {
                    issuers.push(bare.to_owned());
                }
                Ok(Resolved {
                    auth_url: AuthUrl::new(discovery.authorization_endpoint)?,
                    token_url: TokenUrl::new(discovery.token_endpoint)?,
                    userinfo_url: discovery.userinfo_endpoint,
                    oidc: Some((issuers, Jwks::new(discovery.jwks_uri))),
                })
            }
        }
    }

    fn client(&self, resolved: &Resolved) -> CodeClient {
        oauth2::Client::new(ClientId::new(self.settings.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.settings.client_secret.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(resolved.auth_url.clone())
            .set_token_uri(resolved.token_url.clone())
            .set_redirect_uri(self.redirect_uri.clone())
    }

    /// A new authorization URL with a fresh `state`, PKCE verifier and `nonce`.
    pub async fn authorize(&self) -> anyhow::Result<Authorization> {
        let resolved = self.resolved().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let client = self.client(resolved);
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.settings.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge);
        if resolved.oidc.is_some() {
            request = request.add_extra_param("nonce", nonce.clone());
        }
        let (url, state) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce,
        })
    }

    /// Trades the code for tokens (sending the PKCE verifier) and says who signed in.
    pub async fn profile(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> anyhow::Result<VerifiedProfile> {
        let resolved = self.resolved().await?;
        let tokens = self
            .client(resolved)
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow!("the code exchange failed: {e}"))?;
        let access_token = tokens.access_token().secret();
        let provider = self.settings.provider;
        let Some((issuers, jwks)) = &resolved.oidc else {
            let url = resolved
                .userinfo_url
                .as_deref()
                .context("no userinfo endpoint")?;
            return self
                .userinfo(url, access_token)
                .await
                .and_then(|info| profile_from_userinfo(provider, &info));
        };
        let id_token = tokens
            .extra_fields()
            .id_token
            .as_deref()
            .context("the token response has no ID token")?;
        let claims = jwks
            .verify(
                &self.http,
                id_token,
                issuers,
                &self.settings.client_id,
                nonce,
            )
            .await?;
        let mut profile = VerifiedProfile {
            provider,
            subject: claims.sub,
            email: claims.email,
            email_verified: truthy(claims.email_verified.as_ref()),
            name: claims.name,
            picture: claims.picture,
        };
        // Some providers keep the email out of the ID token; userinfo has it, for the same subject.
        if profile.email.is_none() {
            if let Some(url) = &resolved.userinfo_url {
                let info =
                    profile_from_userinfo(provider, &self.userinfo(url, access_token).await?)?;
                if info.subject == profile.subject {
                    profile.email = info.email;
                    profile.email_verified = info.email_verified;
                    profile.name = profile.name.or(info.name);
                    profile.picture = profile.picture.or(info.picture);
                }
            }
        }
        Ok(profile)
    }

    async fn userinfo(&self, url: &str, access_token: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .context("calling userinfo")?;
        response
            .error_for_status()
            .context("userinfo refused")?
            .json()
            .await
            .context("userinfo is not JSON")
    }
}

/// A profile from an OpenID Connect userinfo answer or Facebook's Graph `me` (`id`, and
/// `picture.data.url`). An email counts as verified only when `email_verified` says so.
fn profile_from_userinfo(
    provider: vendrome_core::enums::OauthProvider,
    info: &Value,
) -> anyhow::Result<VerifiedProfile> {
    let subject = match info.get("sub").or_else(|| info.get("id")) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => bail!("userinfo has no subject"),
    };
    let text = |key: &str| info.get(key).and_then(Value::as_str).map(str::to_owned);
    let picture = text("picture").or_else(|| {
        info.pointer("/picture/data/url")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    Ok(VerifiedProfile {
        provider,
        subject,
        email: text("email"),
        email_verified: truthy(info.get("email_verified")),
        name: text("name"),
        picture,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vendrome_core::enums::OauthProvider;

    #[test]
    fn graph_and_oidc_userinfo_shapes() {
        let graph = json!({"id": "1234", "name": "Ada", "email": "ada@example.com",
            "picture": {"data": {"url": "https://cdn.example.com/ada.jpg"}}});
        let profile = super::profile_from_userinfo(OauthProvider::Facebook, &graph).unwrap();
        assert_eq!(profile.subject, "1234");
        assert_eq!(
            profile.picture.as_deref(),
            Some("https://cdn.example.com/ada.jpg")
        );
        assert!(
            !profile.email_verified,
            "Graph does not vouch for the email"
        );

        let oidc = json!({"sub": "abc", "email": "ada@example.com", "email_verified": true});
        assert!(
            super::profile_from_userinfo(OauthProvider::Linkedin, &oidc)
                .unwrap()
                .email_verified
        );
        assert!(
            super::profile_from_userinfo(OauthProvider::Linkedin, &json!({"name": "x"})).is_err()
        );
    }
}
