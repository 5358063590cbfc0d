//! Account codes: `provider:<p>:clearing:<CUR>`, `user:<id>:payable:<CUR>`,
//! `platform:fees:<CUR>`, and the rest of DESIGN's list. The code says what the account is for,
//! whose it is, its kind and its currency.

use serde::Serialize;

use crate::enums::{LedgerAccountKind, PaymentProvider};
use crate::ids::UserId;
use crate::money::Currency;
use crate::SqlEnum as _;

/// A validated account code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountCode(String);

/// What an account is for; each purpose has one code shape and one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// `provider:<p>:clearing:<CUR>`: money the provider holds for us (asset).
    Clearing,
    /// `user:<id>:payable:<CUR>`: what we owe a member (liability).
    Payable,
    /// `user:<id>:ad_balance:<CUR>`: a member's prepaid advertising (liability).
    AdBalance,
    /// `escrow:campaign:<id>:<CUR>`: commitments held for a campaign (liability).
    Escrow,
    /// `platform:fees:<CUR>`, `platform:ad_revenue:<CUR>` (revenue).
    Revenue,
    /// `platform:refunds:<CUR>`: refunds the platform bears itself (expense).
    Refunds,
}

impl AccountCode {
    pub fn provider_clearing(provider: PaymentProvider, currency: Currency) -> Self {
        Self(format!(
            "provider:{}:clearing:{currency}",
            provider.as_str()
        ))
    }

    pub fn user_payable(user: UserId, currency: Currency) -> Self {
        Self(format!("user:{user}:payable:{currency}"))
    }

    pub fn user_ad_balance(user: UserId, currency: Currency) -> Self {
        Self(format!("user:{user}:ad_balance:{currency}"))
    }

    pub fn campaign_escrow(campaign: uuid::Uuid, currency: Currency) -> Self {
        Self(format!("escrow:campaign:{campaign}:{currency}"))
    }

    pub fn platform_fees(currency: Currency) -> Self {
        Self(format!("platform:fees:{currency}"))
    }

    pub fn platform_ad_revenue(currency: Currency) -> Self {
        Self(format!("platform:ad_revenue:{currency}"))
    }

    pub fn platform_refunds(currency: Currency) -> Self {
        Self(format!("platform:refunds:{currency}"))
    }

    /// Parses a code of one of the known shapes; `None` otherwise.
    pub fn parse(raw: &str) -> Option<Self> {
        let code = Self(raw.to_owned());
        code.purpose().map(|_| code)
    }

    fn parts(&self) -> Vec<&str> {
        self.0.split(':').collect()
    }

    fn purpose(&self) -> Option<Purpose> {
        let parts = self.parts();
        let currency_ok = parts.last().is_some_and(|c| Currency::parse(c).is_ok());
        let uuid_ok = |s: &str| uuid::Uuid::parse_str(s).is_ok();
        let purpose = match parts.as_slice() {
            ["provider", p, "clearing", _] if PaymentProvider::from_label(p).is_some() => {
                Purpose::Clearing
            }
            ["user", id, "payable", _] if uuid_ok(id) => Purpose::Payable,
            ["user", id, "ad_balance", _] if uuid_ok(id) => Purpose::AdBalance,
            ["escrow", "campaign", id, _] if uuid_ok(id) => Purpose::Escrow,
            ["platform", "fees" | "ad_revenue", _] => Purpose::Revenue,
            ["platform", "refunds", _] => Purpose::Refunds,
            _ => return None,
        };
        currency_ok.then_some(purpose)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The account's currency (the code's last part).
    pub fn currency(&self) -> Currency {
        let last = self.0.rsplit(':').next().unwrap_or_default();
        Currency::parse(last).expect("codes are built or parsed with a currency")
    }

    pub fn kind(&self) -> LedgerAccountKind {
        match self.purpose().expect("codes are built or parsed valid") {
            Purpose::Clearing => LedgerAccountKind::Asset,
            Purpose::Payable | Purpose::AdBalance | Purpose::Escrow => LedgerAccountKind::Liability,
            Purpose::Revenue => LedgerAccountKind::Revenue,
            Purpose::Refunds => LedgerAccountKind::Expense,
        }
    }

    /// The member the account belongs to, for `user:` accounts.
    pub fn owner(&self) -> Option<UserId> {
        match self.parts().as_slice() {
            ["user", id, ..] => id.parse().ok(),
            _ => None,
        }
    }

    /// A readable name for the account (`ledger_accounts.name`).
    pub fn name(&self) -> String {
        let currency = self.currency();
        match self.purpose().expect("codes are built or parsed valid") {
            Purpose::Clearing => format!("{} clearing ({currency})", self.parts()[1]),
            Purpose::Payable => format!("payable to member {} ({currency})", self.parts()[1]),
            Purpose::AdBalance => format!("ad balance of member {} ({currency})", self.parts()[1]),
            Purpose::Escrow => format!("escrow of campaign {} ({currency})", self.parts()[2]),
            Purpose::Revenue => format!("platform {} ({currency})", self.parts()[1]),
            Purpose::Refunds => format!("refunds borne by the platform ({currency})"),
        }
    }
}

impl std::fmt::Display for AccountCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
