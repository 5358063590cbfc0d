//! Every rate-limit rule of the server, with its default, and how operators change them: a file
//! (`--rate-limits FILE`, lines `rule = limit/window`) and `VENDROME_RATE_LIMIT_<RULE>` variables
//! (`limit/window`), the variables winning. A window is a number of seconds or a number with
//! `s`, `m`, `h` or `d` (`60/1m`, `20/1h`, `10/900`).
//!
//! | rule | default | what it counts |
//! |---|---|---|
//! | `register_ip` | 20/1h | registrations per client address |
//! | `login_ip` | 60/1m | sign-in attempts per client address |
//! | `refresh_ip` | 120/1m | token refreshes per client address |
//! | `oauth_ip` | 30/1m | OAuth sign-in starts and callbacks per client address |
//! | `login_account_failures` | 100/1h | failed sign-ins per account from unknown clients |
//! | `login_device_failures` | 10/15m | failed sign-ins per account from one known client |
//! | `search_ip` | 60/1m | searches per client address without a signed-in member |

use std::time::Duration;

use anyhow::Context as _;
use vendrome_core::auth::LoginLimits;
use vendrome_core::rate_limit::Rule;

/// The rules in force.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Sign-in, registration, refresh and OAuth budgets.
    pub login: LoginLimits,
    /// Anonymous searches per client address.
    pub search_ip: Rule,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login: LoginLimits::default(),
            search_ip: Rule {
                name: "search_ip",
                limit: 60,
                window: Duration::from_secs(60),
            },
        }
    }
}

impl RateLimits {
    /// The prefix of the environment variables that set one rule.
    pub const ENV_PREFIX: &'static str = "VENDROME_RATE_LIMIT_";

    /// Every rule, by name.
    pub fn rules(&self) -> [Rule; 7] {
        let l = &self.login;
        [
            l.register_per_ip,
            l.login_per_ip,
            l.refresh_per_ip,
            l.oauth_per_ip,
            l.account_failures,
            l.device_failures,
            self.search_ip,
        ]
    }

    fn rule_mut(&mut self, name: &str) -> Option<&mut Rule> {
        let l = &mut self.login;
        [
            &mut l.register_per_ip,
            &mut l.login_per_ip,
            &mut l.refresh_per_ip,
            &mut l.oauth_per_ip,
            &mut l.account_failures,
            &mut l.device_failures,
            &mut self.search_ip,
        ]
        .into_iter()
        .find(|rule| rule.name == name)
    }

    /// Sets the rule `name` from `limit/window`.
    pub fn set(&mut self, name: &str, spec: &str) -> Result<(), String> {
        let known = self.rules().map(|r| r.name).join(", ");
        let rule = self
            .rule_mut(name)
            .ok_or_else(|| format!("unknown rate-limit rule {name:?} (known: {known})"))?;
        let (limit, window) = parse_spec(spec).map_err(|e| format!("{name}: {e}"))?;
        rule.limit = limit;
        rule.window = window;
        Ok(())
    }

    /// The defaults, changed by the lines of `file` (when given) and then by the
    /// `VENDROME_RATE_LIMIT_<RULE>` entries of `vars`.
    pub fn load(
        file: Option<&std::path::Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut limits = Self::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read {}", path.display()))?;
            for (number, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let (name, spec) = line.split_once('=').with_context(|| {
                    format!(
                        "{}:{}: expected `rule = limit/window`",
                        path.display(),
                        number + 1
                    )
                })?;
                limits
                    .set(name.trim(), spec.trim())
                    .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), number + 1))?;
            }
        }
        for (key, value) in vars {
            if let Some(name) = key.strip_prefix(Self::ENV_PREFIX) {
                limits
                    .set(&name.to_ascii_lowercase(), value.trim())
                    .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            }
        }
        Ok(limits)
    }
}

/// `limit/window`: a positive count and a positive window.
fn parse_spec(spec: &str) -> Result<(u32, Duration), String> {
    let (limit, window) = spec
        .split_once('/')
        .ok_or_else(|| format!("{spec:?} is not `limit/window` (such as 60/1m)"))?;
    let limit: u32 = limit
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{limit:?} is not a positive count"))?;
    Ok((limit, parse_duration(window)?))
}

/// A positive span: a number of seconds, or a number with `s`, `m`, `h` or `d` (`30m`); used by
/// rate-limit windows and `--order-expiry`.
///
/// # Errors
///
/// A message naming what is wrong with `raw`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let window = raw.trim();
    let (number, unit) = match window.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => window.split_at(at),
        None => (window, "s"),
    };
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{window:?}: the unit is s, m, h or d")),
    };
    let count: u64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{window:?} is not a positive span"))?;
    Ok(Duration::from_secs(count * seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_units() {
        assert_eq!(parse_spec("60/1m"), Ok((60, Duration::from_secs(60))));
        assert_eq!(parse_spec(" 5 / 2h "), Ok((5, Duration::from_secs(7200))));
        assert_eq!(parse_spec("10/900"), Ok((10, Duration::from_secs(900))));
        assert_eq!(parse_spec("1/1d"), Ok((1, Duration::from_secs(86_400))));
        for bad in ["60", "0/1m", "5/0s", "5/1w", "x/1m", "5/m", "-1/1m"] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_then_the_environment_change_the_defaults() {
        let path = std::env::temp_dir().join(format!("limits-{}.conf", uuid::Uuid::new_v4()));
        std::fs::write(
            &path,
            "# tighter sign-in\nlogin_ip = 5/1m\nsearch_ip=100/10s\n",
        )
        .unwrap();
        let vars = [
            (
                "VENDROME_RATE_LIMIT_LOGIN_IP".to_owned(),
                "7/30s".to_owned(),
            ),
            ("VENDROME_BIND".to_owned(), "ignored".to_owned()),
        ];
        let limits = RateLimits::load(Some(&path), vars).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            (
                limits.login.login_per_ip.limit,
                limits.login.login_per_ip.window
            ),
            (7, Duration::from_secs(30)),
            "the variable wins over the file"
        );
        assert_eq!(limits.search_ip.limit, 100);
        assert_eq!(
            limits.login.register_per_ip,
            RateLimits::default().login.register_per_ip
        );
        let unknown = RateLimits::load(None, [("VENDROME_RATE_LIMIT_NOPE".into(), "1/1s".into())]);
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown rate-limit rule"));
        let names = RateLimits::default().rules().map(|r| r.name);
        let mut unique = names.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "rule names are unique");
    }
}
