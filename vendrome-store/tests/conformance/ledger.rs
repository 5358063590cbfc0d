//! The ledger: a posting is written once per key even under concurrency, balances follow the
//! entries, and `check` finds a balance changed behind the ledger's back.

use std::sync::Arc;

use vendrome_core::enums::{LedgerAccountKind, PaymentProvider};
use vendrome_core::ledger::{postings, AccountCode, LedgerRepo, PostOutcome};
use vendrome_core::money::Money;
use vendrome_core::page::Limit;
use vendrome_core::time;
use vendrome_store::{with_db, Store};

use crate::orders::zar;
use crate::payments::{charge, order_of, refund, started};

conformance!(
    a_posting_is_written_once_under_concurrency,
    balances_follow_entries_and_check_finds_tampering
);

async fn a_posting_is_written_once_under_concurrency(store: Store) {
    let order = order_of(&store, 10_000).await;
    let payment = started(&store, &charge(&order, "c")).await.id;
    let posting = postings::charge_succeeded(
        payment,
        PaymentProvider::Sandbox,
        Money::new(10_000, zar()),
        Money::new(500, zar()),
        order.seller_id,
    )
    .unwrap();
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, posting) = (store.clone(), posting.clone());
            tokio::spawn(async move { store.post(&posting, time::now()).await.unwrap() })
        })
        .collect();
    let mut posted = 0;
    for task in tasks {
        if task.await.unwrap() == PostOutcome::Posted {
            posted += 1;
        }
    }
    assert_eq!(posted, 1);
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!(
        (check.transactions, check.entries, check.accounts),
        (1, 3, 3)
    );
    let entries = store.postings_for_payment(payment).await.unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries
        .iter()
        .all(|e| e.idempotency_key == format!("payment:{payment}:succeeded")));
}

async fn balances_follow_entries_and_check_finds_tampering(store: Store) {
    let order = order_of(&store, 10_500).await;
    let seller = order.seller_id;
    let charged = started(&store, &charge(&order, "c")).await;
    let refund = started(&store, &refund(&charged, 2_100, "r")).await.id;
    let charge = charged.id;
    let total = Money::new(10_500, zar());
    let fee = Money::new(525, zar());
    let at = time::now();
    let provider = PaymentProvider::Sandbox;
    let charged = postings::charge_succeeded(charge, provider, total, fee, seller).unwrap();
    assert_eq!(store.post(&charged, at).await.unwrap(), PostOutcome::Posted);
    let refunded = postings::refund_succeeded(
        refund,
        provider,
        total,
        fee,
        0,
        Money::new(2_100, zar()),
        seller,
    )
    .unwrap();
    assert_eq!(
        store.post(&refunded, at).await.unwrap(),
        PostOutcome::Posted
    );
    assert_eq!(
        store.post(&refunded, at).await.unwrap(),
        PostOutcome::AlreadyPosted
    );

    let clearing = AccountCode::provider_clearing(provider, zar());
    let payable = AccountCode::user_payable(seller, zar());
    let fees = AccountCode::platform_fees(zar());
    let balance = |code: AccountCode| {
        let store = &store;
        async move { store.account(&code).await.unwrap().unwrap() }
    };
    let clearing_account = balance(clearing.clone()).await;
    assert_eq!(
        (clearing_account.kind, clearing_account.balance),
        (LedgerAccountKind::Asset, 8_400)
    );
    // The fee's share of 2,100 of 10,500 with a fee of 525 is 105.
    assert_eq!(balance(payable.clone()).await.balance, 9_975 - 1_995);
    assert_eq!(balance(fees.clone()).await.balance, 420);
    assert_eq!(
        store
            .account(&AccountCode::platform_refunds(zar()))
            .await
            .unwrap(),
        None
    );

    let (accounts, next) = store
        .accounts(None, Limit::parse(2).unwrap())
        .await
        .unwrap();
    assert_eq!(accounts.len(), 2);
    let (rest, last) = store
        .accounts(next.as_ref(), Limit::parse(2).unwrap())
        .await
        .unwrap();
    assert_eq!((rest.len(), last), (1, None));
    let mut codes: Vec<_> = accounts
        .iter()
        .chain(&rest)
        .map(|a| a.code.clone())
        .collect();
    let sorted = {
        let mut s = codes.clone();
        s.sort();
        s
    };
    assert_eq!(codes, sorted);
    codes.dedup();
    assert_eq!(codes.len(), 3);

    let (entries, next) = store
        .entries(&payable, None, Limit::parse(1).unwrap())
        .await
        .unwrap();
    assert_eq!(entries[0].amount, 9_975);
    let (entries, end) = store
        .entries(&payable, next.as_ref(), Limit::parse(1).unwrap())
        .await
        .unwrap();
    assert_eq!((entries[0].amount, end), (1_995, None));

    assert!(store.check().await.unwrap().is_clean());
    with_db!(store.db(), pool => {
        sqlx::query("UPDATE ledger_accounts SET balance = balance + 1 WHERE code = $1")
            .bind(fees.as_str())
            .execute(pool)
            .await
            .map(drop)
    })
    .unwrap();
    let check = store.check().await.unwrap();
    assert!(!check.is_clean());
    assert_eq!(check.balance_mismatches, vec![(fees.to_string(), 421, 420)]);
    assert!(check.unbalanced_currencies.is_empty());
    assert!(check.unbalanced_transactions.is_empty());
}
