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
//!
//! `VENDROME_OAUTH_REDIRECT_ORIGINS` lists, comma-separated, the frontend origins
//! (`https://app.example.com`) a browser sign-in may return to (`start?redirect_to=…`); a
//! `redirect_to` outside them is refused, so the API never redirects anywhere else.

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
    /// Origins (`scheme://host[:port]`) a browser sign-in may be sent back to.
    pub redirect_origins: Vec<String>,
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

/// An origin as configured: an http(s) URL with nothing after the host and port.
fn origin(value: &str) -> anyhow::Result<String> {
    let url = oauth2::url::Url::parse(value)
        .with_context(|| format!("VENDROME_OAUTH_REDIRECT_ORIGINS: {value:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        bail!("VENDROME_OAUTH_REDIRECT_ORIGINS: {value:?} is not an origin like https://app.example.com");
    }
    Ok(url.origin().ascii_serialization())
}

impl OAuthSettings {
    /// `redirect_to` when it is an http(s) URL under one of the configured origins, without
    /// credentials or fragment; `None` otherwise.
    pub fn allowed_redirect(&self, redirect_to: &str) -> Option<String> {
        let url = oauth2::url::Url::parse(redirect_to).ok()?;
        let origin = url.origin().ascii_serialization();
        let allowed = matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && url.fragment().is_none()
            && self.redirect_origins.contains(&origin);
        allowed.then(|| url.to_string())
    }

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
        let redirect_origins = get("VENDROME_OAUTH_REDIRECT_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(origin)
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            public_url,
            providers,
            redirect_origins,
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
    fn redirects_go_only_to_configured_origins() {
        let settings = read(
            None,
            &[(
                "VENDROME_OAUTH_REDIRECT_ORIGINS",
                "https://app.example.com, http://localhost:5173/",
            )],
        )
        .unwrap();
        assert_eq!(
            settings.redirect_origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
        for ok in [
            "https://app.example.com/auth/done",
            "https://app.example.com/auth/done?next=%2Ffeed",
            "http://localhost:5173/",
        ] {
            assert!(settings.allowed_redirect(ok).is_some(), "{ok}");
        }
        for bad in [
            "https://evil.example.com/",
            "https://app.example.com.evil.test/",
            "https://app.example.com:8443/",
            "http://app.example.com/",
            "https://user@app.example.com/",
            "https://app.example.com/#frag",
            "javascript:alert(1)",
            "//app.example.com/",
            "/relative",
        ] {
            assert_eq!(settings.allowed_redirect(bad), None, "{bad}");
        }
        assert!(read(
            None,
            &[("VENDROME_OAUTH_REDIRECT_ORIGINS", "https://a.test/path")]
        )
        .is_err());
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
