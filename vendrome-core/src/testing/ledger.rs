//! [`LedgerRepo`] in memory: a posting is written once per idempotency key, accounts are made
//! on first use from their code, and balances move by [`balance_delta`].

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{page_of, InMemory};
use crate::enums::LedgerDirection;
use crate::ids::PaymentId;
use crate::ledger::{
    balance_delta, Account, AccountCode, LedgerCheck, LedgerRepo, PostOutcome, Posting, StoredEntry,
};
use crate::money::Currency;
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

impl InMemory {
    /// `LedgerRepo::post` past its failure point.
    pub(super) fn post_now(&self, posting: &Posting, at: Timestamp) -> PostOutcome {
        let mut commerce = self.commerce();
        if commerce
            .posting_keys
            .iter()
            .any(|k| k == posting.idempotency_key())
        {
            return PostOutcome::AlreadyPosted;
        }
        commerce
            .posting_keys
            .push(posting.idempotency_key().to_owned());
        for entry in posting.entries() {
            let kind = entry.account.kind();
            let delta = balance_delta(kind, entry.direction, entry.amount.amount);
            match commerce
                .accounts
                .iter_mut()
                .find(|a| a.code == entry.account)
            {
                Some(account) => account.balance += delta,
                None => commerce.accounts.push(Account {
                    code: entry.account.clone(),
                    kind,
                    currency: entry.account.currency(),
                    balance: delta,
                    created_at: at,
                }),
            }
            commerce.entries.push((
                entry.account.clone(),
                StoredEntry {
                    transaction_id: posting.id(),
                    idempotency_key: posting.idempotency_key().to_owned(),
                    description: posting.description().to_owned(),
                    payment_id: posting.payment_id(),
                    direction: entry.direction,
                    amount: entry.amount.amount,
                    currency: entry.amount.currency,
                    created_at: at,
                },
            ));
        }
        PostOutcome::Posted
    }
}

#[async_trait]
impl LedgerRepo for InMemory {
    async fn post(&self, posting: &Posting, at: Timestamp) -> Result<PostOutcome> {
        self.commerce().fail_point("LedgerRepo::post")?;
        Ok(self.post_now(posting, at))
    }

    async fn accounts(
        &self,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Account>, Option<Cursor>)> {
        let mut accounts = self.commerce().accounts.clone();
        accounts.sort_by(|a, b| a.code.cmp(&b.code));
        let page = page_of(accounts, after, limit)?;
        Ok((page.items, page.next_cursor))
    }

    async fn account(&self, code: &AccountCode) -> Result<Option<Account>> {
        Ok(self
            .commerce()
            .accounts
            .iter()
            .find(|a| &a.code == code)
            .cloned())
    }

    async fn entries(
        &self,
        code: &AccountCode,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<StoredEntry>, Option<Cursor>)> {
        let entries: Vec<StoredEntry> = self
            .commerce()
            .entries
            .iter()
            .filter(|(c, _)| c == code)
            .map(|(_, e)| e.clone())
            .collect();
        let page = page_of(entries, after, limit)?;
        Ok((page.items, page.next_cursor))
    }

    async fn postings_for_payment(&self, payment: PaymentId) -> Result<Vec<StoredEntry>> {
        Ok(self
            .commerce()
            .entries
            .iter()
            .filter(|(_, e)| e.payment_id == Some(payment))
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn postings_for_payments(&self, payments: &[PaymentId]) -> Result<Vec<StoredEntry>> {
        let mut found: Vec<StoredEntry> = Vec::new();
        for &payment in payments {
            found.extend(self.postings_for_payment(payment).await?);
        }
        Ok(found)
    }

    /// Balances move at once here: nothing is ever waiting to be folded.
    async fn fold_balances(&self, _limit: u32) -> Result<u64> {
        Ok(0)
    }

    async fn check(&self) -> Result<LedgerCheck> {
        let commerce = self.commerce();
        let sides = |e: &StoredEntry| match e.direction {
            LedgerDirection::Debit => (i128::from(e.amount), 0),
            LedgerDirection::Credit => (0, i128::from(e.amount)),
        };
        let mut by_currency: BTreeMap<Currency, (i128, i128)> = BTreeMap::new();
        let mut by_posting: BTreeMap<_, (i128, i128)> = BTreeMap::new();
        let mut computed: BTreeMap<&AccountCode, i64> = BTreeMap::new();
        for (code, e) in &commerce.entries {
            let (d, c) = sides(e);
            let cur = by_currency.entry(e.currency).or_default();
            cur.0 += d;
            cur.1 += c;
            let post = by_posting.entry(e.transaction_id).or_default();
            post.0 += d;
            post.1 += c;
            *computed.entry(code).or_default() += balance_delta(code.kind(), e.direction, e.amount);
        }
        Ok(LedgerCheck {
            transactions: by_posting.len() as u64,
            entries: commerce.entries.len() as u64,
            accounts: commerce.accounts.len() as u64,
            unbalanced_currencies: by_currency
                .into_iter()
                .filter(|(_, (d, c))| d != c)
                .map(|(cur, (d, c))| (cur, d, c))
                .collect(),
            unbalanced_transactions: by_posting
                .into_iter()
                .filter(|(_, (d, c))| d != c)
                .map(|(id, _)| id)
                .collect(),
            balance_mismatches: commerce
                .accounts
                .iter()
                .filter_map(|a| {
                    let sum = computed.get(&a.code).copied().unwrap_or(0);
                    (sum != a.balance).then(|| (a.code.to_string(), a.balance, sum))
                })
                .collect(),
        })
    }
}
