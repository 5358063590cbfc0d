//! The double-entry ledger's rules. The store is a dumb writer of what this module hands it.
//!
//! - A [`Posting`] balances per currency: its debits equal its credits in each currency. It can
//!   only be built through [`Posting::new`], which checks that.
//! - Entries are never updated or deleted; a correction is a reversing posting
//!   ([`Posting::reversal`]).
//! - A posting carries an idempotency id (`payment:<id>:succeeded`): the store writes it at most
//!   once, so a replayed event or a retried request cannot post twice.
//! - Each account holds one currency and keeps a running balance in its normal direction
//!   (debit-normal for assets and expenses, credit-normal otherwise); `vendrome ledger check`
//!   recomputes every balance from the entries ([`LedgerRepo::check`]).

mod accounts;
pub mod postings;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

pub use self::accounts::AccountCode;
use crate::enums::{LedgerAccountKind, LedgerDirection};
use crate::ids::{LedgerTransactionId, PaymentId};
use crate::money::{Currency, Money};
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

/// One side of a posting: an amount (always positive) to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub account: AccountCode,
    pub direction: LedgerDirection,
    pub amount: Money,
}

impl Entry {
    pub fn debit(account: AccountCode, amount: Money) -> Self {
        Self {
            account,
            direction: LedgerDirection::Debit,
            amount,
        }
    }

    pub fn credit(account: AccountCode, amount: Money) -> Self {
        Self {
            account,
            direction: LedgerDirection::Credit,
            amount,
        }
    }
}

/// A balanced set of entries, posted at most once per `idempotency_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    id: LedgerTransactionId,
    idempotency_key: String,
    description: String,
    payment_id: Option<PaymentId>,
    entries: Vec<Entry>,
}

/// Why a posting could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error("a posting needs at least two entries")]
    TooFewEntries,
    #[error("entry amounts must be positive; {account} has {amount}")]
    NonPositive { account: String, amount: Money },
    #[error("account {account} holds {expected}, not {got}")]
    WrongCurrency {
        account: String,
        expected: Currency,
        got: Currency,
    },
    #[error("debits ({debits}) and credits ({credits}) differ in {currency}")]
    Unbalanced {
        currency: Currency,
        debits: i128,
        credits: i128,
    },
}

impl Posting {
    /// A posting of `entries`, checked: at least two, each positive and in its account's
    /// currency, debits equal to credits in every currency. Zero-amount entries (a fee of 0)
    /// are dropped before the check.
    ///
    /// # Errors
    ///
    /// The [`PostingError`] naming the first rule broken.
    pub fn new(
        idempotency_key: impl Into<String>,
        description: impl Into<String>,
        payment_id: Option<PaymentId>,
        entries: Vec<Entry>,
    ) -> Result<Self, PostingError> {
        let entries: Vec<Entry> = entries
            .into_iter()
            .filter(|e| e.amount.amount != 0)
            .collect();
        if entries.len() < 2 {
            return Err(PostingError::TooFewEntries);
        }
        let mut sums: BTreeMap<Currency, (i128, i128)> = BTreeMap::new();
        for entry in &entries {
            if entry.amount.amount < 0 {
                return Err(PostingError::NonPositive {
                    account: entry.account.to_string(),
                    amount: entry.amount,
                });
            }
            if entry.account.currency() != entry.amount.currency {
                return Err(PostingError::WrongCurrency {
                    account: entry.account.to_string(),
                    expected: entry.account.currency(),
                    got: entry.amount.currency,
                });
            }
            let sum = sums.entry(entry.amount.currency).or_default();
            match entry.direction {
                LedgerDirection::Debit => sum.0 += i128::from(entry.amount.amount),
                LedgerDirection::Credit => sum.1 += i128::from(entry.amount.amount),
            }
        }
        if let Some((currency, (debits, credits))) = sums.into_iter().find(|(_, (d, c))| d != c) {
            return Err(PostingError::Unbalanced {
                currency,
                debits,
                credits,
            });
        }
        Ok(Self {
            id: LedgerTransactionId::new(),
            idempotency_key: idempotency_key.into(),
            description: description.into(),
            payment_id,
            entries,
        })
    }

    /// The posting that undoes this one: every entry on the other side, under its own key.
    pub fn reversal(
        &self,
        idempotency_key: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            id: LedgerTransactionId::new(),
            idempotency_key: idempotency_key.into(),
            description: description.into(),
            payment_id: self.payment_id,
            entries: self
                .entries
                .iter()
                .map(|e| Entry {
                    account: e.account.clone(),
                    direction: match e.direction {
                        LedgerDirection::Debit => LedgerDirection::Credit,
                        LedgerDirection::Credit => LedgerDirection::Debit,
                    },
                    amount: e.amount,
                })
                .collect(),
        }
    }

    pub fn id(&self) -> LedgerTransactionId {
        self.id
    }

    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn payment_id(&self) -> Option<PaymentId> {
        self.payment_id
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// How an entry changes its account's stored balance: plus on the account's normal side, minus
/// on the other.
pub fn balance_delta(kind: LedgerAccountKind, direction: LedgerDirection, amount: i64) -> i64 {
    let debit_normal = matches!(kind, LedgerAccountKind::Asset | LedgerAccountKind::Expense);
    if debit_normal == (direction == LedgerDirection::Debit) {
        amount
    } else {
        -amount
    }
}

/// An account as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub code: AccountCode,
    pub kind: LedgerAccountKind,
    pub currency: Currency,
    /// Signed, in the account's normal direction.
    pub balance: i64,
    pub created_at: Timestamp,
}

/// One stored entry, with its posting's key and description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEntry {
    pub transaction_id: LedgerTransactionId,
    pub idempotency_key: String,
    pub description: String,
    pub payment_id: Option<PaymentId>,
    pub direction: LedgerDirection,
    pub amount: i64,
    pub currency: Currency,
    pub created_at: Timestamp,
}

/// What `vendrome ledger check` found. Clean when both lists are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LedgerCheck {
    pub transactions: u64,
    pub entries: u64,
    pub accounts: u64,
    /// Currencies whose debits and credits differ over the whole ledger: (currency, debits,
    /// credits).
    pub unbalanced_currencies: Vec<(Currency, i128, i128)>,
    /// Postings that do not balance on their own: their ids.
    pub unbalanced_transactions: Vec<LedgerTransactionId>,
    /// Accounts whose stored balance differs from the sum of their entries: (code, stored,
    /// computed).
    pub balance_mismatches: Vec<(String, i64, i64)>,
}

impl LedgerCheck {
    pub fn is_clean(&self) -> bool {
        self.unbalanced_currencies.is_empty()
            && self.unbalanced_transactions.is_empty()
            && self.balance_mismatches.is_empty()
    }
}

/// The result of writing a posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    Posted,
    /// A posting with this idempotency key was already written; nothing changed.
    AlreadyPosted,
}

/// Storage of the ledger. Writes only through [`Posting`]s, which core has checked; accounts
/// are created on first use from their code.
#[async_trait]
pub trait LedgerRepo: Send + Sync {
    /// Writes the posting and moves each account's balance ([`balance_delta`]) in one
    /// transaction, unless a posting with its idempotency key exists. The moves may be
    /// appended and folded into the stored balance later ([`fold_balances`](Self::fold_balances)),
    /// so a posting never waits on another's lock of a shared account; every read includes them.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn post(&self, posting: &Posting, at: Timestamp) -> Result<PostOutcome>;

    /// Accounts ordered by code, after the cursor.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn accounts(
        &self,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Account>, Option<Cursor>)>;

    /// The account with this code, `None` when it has never been posted to.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn account(&self, code: &AccountCode) -> Result<Option<Account>>;

    /// The account's entries, oldest first, after the cursor.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn entries(
        &self,
        code: &AccountCode,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<StoredEntry>, Option<Cursor>)>;

    /// The postings made for a payment, oldest first (reconciliation matches on these).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn postings_for_payment(&self, payment: PaymentId) -> Result<Vec<StoredEntry>>;

    /// The entries of the postings made for any of `payments`, grouped by payment and oldest
    /// first within each, in one query (reconciliation reads a window's payments at once).
    /// A payment with no posting has no entry.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn postings_for_payments(&self, payments: &[PaymentId]) -> Result<Vec<StoredEntry>>;

    /// Folds the balance moves postings appended (up to `limit` of them) into the accounts'
    /// stored balances, in one transaction, and answers how many it folded. Balances read
    /// through this port already include the moves not yet folded, so folding changes no
    /// balance anyone reads; it keeps the appended moves few.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn fold_balances(&self, limit: u32) -> Result<u64>;

    /// Recomputes the invariants over the whole ledger with grouped queries.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn check(&self) -> Result<LedgerCheck>;
}

#[cfg(test)]
mod tests;
