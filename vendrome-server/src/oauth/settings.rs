//! Which providers are configured and where they live, from `VENDROME_*` variables.
//!
//! For each provider `P` in `GOOGLE`, `FACEBOOK`, `LINKEDIN`:
//!
//! | variable | meaning |
//! |---|---|
//! | `VENDROME_OAUTH_P_CLIENT_ID` | the client id; the provider is enabled when it is set |
//! | `VENDROME_OAUTH_P_CLIENT_SECRET` | the client secret (required with the id) |
//! | `VENDROME_OAUTH_P_ISSUER` | an OpenID Connect issuer: endpoints come from its discovery document and the ID token is verified |
//! | `VENDROME_OAUTH_P_AUTH_URL`, `_TOKEN_URL`, `_USERINFO_URL` | plain OAuth 2 endpoints instead (all three): the profile comes from userinfo |
//! | `VENDROME_OAUTH_P_SCOPES` | scopes, space- or comma-separated, instead of the provider's defaults |
//!
//! Without endpoint variables Google and LinkedIn use their OpenID Connect issuers and Facebook
//! the Graph API. `VENDROME_PUBLIC_URL` (required once a provider is enabled) is where the API is
//! reached from outside: the exact redirect URI of `P` is `{public}/v1/auth/oauth/{p}/callback`.

use anyhow::{bail, Context as _};
use vendrome_core::enums::OauthProvider;
use vendrome_core::SqlEnum as _;

/// Where a provider's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoints {
    /// OpenID Connect: `{issuer}/.well-known/openid-configuration`; the ID token is verified.
    Discover { issuer: String },
    /// Plain OAuth 2: the profile comes from `userinfo_url`.
    Explicit {
        auth_url: String,
        token_url: String,
        userinfo_url: String,
    },
}

/// One configured provider.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    pub provider: OauthProvider,
    pub client_id: String,
    pub client_secret: String,
    pub endpoints: Endpoints,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("endpoints", &self.endpoints)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Every provider setting; the default enables none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthSettings {
    /// `https://api.example.com`: the API's address as browsers and providers reach it.
    pub public_url: Option<String>,
    pub providers: Vec<ProviderSettings>,
}

pub const ALL_PROVIDERS: [OauthProvider; 3] = [
    OauthProvider::Google,
    OauthProvider::Facebook,
    OauthProvider::Linkedin,
];

fn default_endpoints(provider: OauthProvider) -> Endpoints {
    match provider {
        OauthProvider::Google => Endpoints::Discover {
            issuer: "https://accounts.google.com".into(),
        },
        OauthProvider::Linkedin => Endpoints::Discover {
            issuer: "https://www.linkedin.com/oauth".into(),
        },
        OauthProvider::Facebook => Endpoints::Explicit {
            auth_url: "https://www.facebook.com/v21.0/dialog/oauth".into(),
            token_url: "https://graph.facebook.com/v21.0/oauth/access_token".into(),
            userinfo_url: "https://graph.facebook.com/v21.0/me?fields=id,name,email,picture".into(),
        },
    }
}

pub fn default_scopes(provider: OauthProvider) -> Vec<String> {
    let scopes: &[&str] = match provider {
        OauthProvider::Google | OauthProvider::Linkedin => &["openid", "email", "profile"],
        OauthProvider::Facebook => &["email", "public_profile"],
    };
    scopes.iter().map(|s| (*s).to_owned()).collect()
}

fn http_url(name: &str, value: &str) -> anyhow::Result<String> {
    let url = oauth2::url::Url::parse(value).with_context(|| format!("{name} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("{name} must be an http(s) URL");
    }
    Ok(value.trim_end_matches('/').to_owned())
}

impl OAuthSettings {
    /// Reads the variables of the table above from the process environment.
    pub fn from_env(public_url: Option<String>) -> anyhow::Result<Self> {
        Self::from_lookup(public_url, |name| std::env::var(name).ok())
    }

    /// Reads them through `lookup` (empty values count as unset).
    pub fn from_lookup(
        public_url: Option<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut providers = Vec::new();
        for provider in ALL_PROVIDERS {
            let var = |suffix: &str| {
                format!(
                    "VENDROME_OAUTH_{}_{suffix}",
                    provider.as_str().to_uppercase()
                )
            };
            let Some(client_id) = get(&var("CLIENT_ID")) else {
                continue;
            };
            let client_secret = get(&var("CLIENT_SECRET"))
                .with_context(|| format!("{} is required", var("CLIENT_SECRET")))?;
            let explicit = [var("AUTH_URL"), var("TOKEN_URL"), var("USERINFO_URL")]
                .map(|name| get(&name).map(|v| (name, v)));
            let endpoints = match (get(&var("ISSUER")), explicit) {
                (Some(issuer), _) => Endpoints::Discover {
                    issuer: http_url(&var("ISSUER"), &issuer)?,
                },
                (None, [Some((a, auth)), Some((t, token)), Some((u, userinfo))]) => {
                    Endpoints::Explicit {
                        auth_url: http_url(&a, &auth)?,
                        token_url: http_url(&t, &token)?,
                        userinfo_url: http_url(&u, &userinfo)?,
                    }
                }
                (None, [None, None, None]) => default_endpoints(provider),
                (None, _) => bail!(
                    "set all of {}, {} and {}, or {}",
                    var("AUTH_URL"),
                    var("TOKEN_URL"),
                    var("USERINFO_URL"),
                    var("ISSUER")
                ),
            };
            let scopes = match get(&var("SCOPES")) {
                Some(list) => list
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => default_scopes(provider),
            };
            providers.push(ProviderSettings {
                provider,
                client_id,
                client_secret,
                endpoints,
                scopes,
            });
        }
        let public_url = public_url
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        let public_url = match (public_url, providers.is_empty()) {
            (Some(url), _) => Some(http_url("VENDROME_PUBLIC_URL", &url)?),
            (None, true) => None,
            (None, false) => {
                bail!("VENDROME_PUBLIC_URL is required when an OAuth provider is configured")
            }
        };
        Ok(Self {
            public_url,
            providers,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(public: Option<&str>, vars: &[(&str, &str)]) -> anyhow::Result<OAuthSettings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        OAuthSettings::from_lookup(public.map(str::to_owned), |name| vars.get(name).cloned())
    }

    #[test]
    fn providers_are_enabled_by_their_client_id() {
        assert_eq!(read(None, &[]).unwrap(), OAuthSettings::default());
        let settings = read(
            Some("https://api.example.com/"),
            &[
                ("VENDROME_OAUTH_GOOGLE_CLIENT_ID", "g"),
                ("VENDROME_OAUTH_GOOGLE_CLIENT_SECRET", "s"),
                ("VENDROME_OAUTH_FACEBOOK_CLIENT_ID", "f"),
                ("VENDROME_OAUTH_FACEBOOK_CLIENT_SECRET", "s"),
                ("VENDROME_OAUTH_FACEBOOK_SCOPES", "email, public_profile"),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.public_url.as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(settings.providers.len(), 2);
        assert_eq!(
            settings.providers[0].endpoints,
            Endpoints::Discover {
                issuer: "https://accounts.google.com".into()
            }
        );
        assert_eq!(settings.providers[1].scopes, ["email", "public_profile"]);
        assert!(
            !format!("{settings:?}").contains("\"s\""),
            "secrets stay out of logs"
        );
    }

    #[test]
    fn incomplete_configuration_is_refused() {
        let id = ("VENDROME_OAUTH_LINKEDIN_CLIENT_ID", "l");
        let secret = ("VENDROME_OAUTH_LINKEDIN_CLIENT_SECRET", "s");
        assert!(read(Some("https://x.test"), &[id]).is_err(), "no secret");
        assert!(read(None, &[id, secret]).is_err(), "no public URL");
        assert!(read(
            Some("https://x.test"),
            &[
                id,
                secret,
                ("VENDROME_OAUTH_LINKEDIN_AUTH_URL", "https://a.test")
            ]
        )
        .is_err());
        assert!(read(
            Some("https://x.test"),
            &[
                id,
                secret,
                ("VENDROME_OAUTH_LINKEDIN_ISSUER", "ftp://a.test")
            ]
        )
        .is_err());
    }
}
