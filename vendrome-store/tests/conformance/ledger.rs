//! The ledger: a posting is written once per key even under concurrency, balances follow the
//! entries (with the appended balance moves folded in or not), `check` finds a balance changed
//! behind the ledger's back, and the postings of many payments are read in one query.

use std::sync::Arc;

use vendrome_core::enums::{LedgerAccountKind, LedgerDirection, PaymentProvider};
use vendrome_core::ledger::{postings, AccountCode, Entry, LedgerRepo, PostOutcome, Posting};
use vendrome_core::money::Money;
use vendrome_core::page::Limit;
use vendrome_core::time;
use vendrome_store::{with_db, Store};

use crate::orders::zar;
use crate::payments::{charge, order_of, refund, started};

conformance!(
    a_posting_is_written_once_under_concurrency,
    balances_follow_entries_and_check_finds_tampering,
    concurrent_postings_to_shared_accounts_fold_exactly,
    postings_of_many_payments_are_read_at_once
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

async fn concurrent_postings_to_shared_accounts_fold_exactly(store: Store) {
    let provider = PaymentProvider::Sandbox;
    let clearing = AccountCode::provider_clearing(provider, zar());
    let fees = AccountCode::platform_fees(zar());
    let store = Arc::new(store);
    // Twenty postings to the same two accounts at once, with folds running among them.
    let mut tasks: Vec<_> = (0..20i64)
        .map(|n| {
            let store = store.clone();
            let (clearing, fees) = (clearing.clone(), fees.clone());
            tokio::spawn(async move {
                let amount = Money::new(100 + n, zar());
                let posting = Posting::new(
                    format!("test:{n}"),
                    "a move to the shared accounts",
                    None,
                    vec![Entry::debit(clearing, amount), Entry::credit(fees, amount)],
                )
                .unwrap();
                assert_eq!(
                    store.post(&posting, time::now()).await.unwrap(),
                    PostOutcome::Posted
                );
                0
            })
        })
        .collect();
    tasks.extend((0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.fold_balances(7).await.unwrap() })
    }));
    for task in tasks {
        task.await.unwrap();
    }
    let expected: i64 = (0..20).map(|n| 100 + n).sum();
    let read = |code: AccountCode| {
        let store = store.clone();
        async move { store.account(&code).await.unwrap().unwrap().balance }
    };
    assert_eq!(read(clearing.clone()).await, expected);
    assert_eq!(read(fees.clone()).await, expected);
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    // Fold what is left: the balances read the same, and nothing remains to fold.
    while store.fold_balances(5).await.unwrap() > 0 {}
    assert_eq!(store.fold_balances(100).await.unwrap(), 0);
    assert_eq!(read(clearing.clone()).await, expected);
    assert_eq!(read(fees).await, expected);
    let (accounts, _) = store.accounts(None, Limit::default()).await.unwrap();
    assert!(
        accounts.iter().all(|a| a.balance == expected),
        "{accounts:?}"
    );
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!((check.transactions, check.entries), (20, 40));
}

async fn postings_of_many_payments_are_read_at_once(store: Store) {
    let mut posted = Vec::new();
    for price in [1_000, 2_000, 3_000] {
        let order = order_of(&store, price).await;
        let payment = started(&store, &charge(&order, "c")).await.id;
        let posting = postings::charge_succeeded(
            payment,
            PaymentProvider::Sandbox,
            Money::new(price, zar()),
            Money::new(price / 20, zar()),
            order.seller_id,
        )
        .unwrap();
        store.post(&posting, time::now()).await.unwrap();
        posted.push((payment, price));
    }
    let unposted = started(&store, &charge(&order_of(&store, 500).await, "c"))
        .await
        .id;
    let mut asked: Vec<_> = posted.iter().map(|(p, _)| *p).collect();
    asked.push(unposted);
    asked.reverse();
    let entries = store.postings_for_payments(&asked).await.unwrap();
    assert_eq!(entries.len(), 9, "three entries for each posted payment");
    for (payment, price) in &posted {
        let mine: Vec<_> = entries
            .iter()
            .filter(|e| e.payment_id == Some(*payment))
            .collect();
        assert_eq!(mine.len(), 3);
        let debits: i64 = mine
            .iter()
            .filter(|e| e.direction == LedgerDirection::Debit)
            .map(|e| e.amount)
            .sum();
        assert_eq!(debits, *price);
        // The same entries the one-payment read gives.
        assert_eq!(
            store.postings_for_payment(*payment).await.unwrap().len(),
            mine.len()
        );
    }
    // Grouped: each payment's entries come together.
    let mut runs: Vec<_> = entries.iter().map(|e| e.payment_id).collect();
    runs.dedup();
    assert_eq!(runs.len(), 3);
    assert!(store.postings_for_payments(&[]).await.unwrap().is_empty());
}

/// PostgreSQL writes a posting in one statement that creates its missing accounts. When another
/// transaction creates one of them meanwhile (committed after the statement's snapshot), the
/// statement finds it neither in its snapshot nor among its own inserts: it must write nothing,
/// and the writer must post again with the account the other transaction made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_posting_takes_an_account_created_meanwhile() {
    let Some((_db, store, pool)) = crate::postgres_only::database().await else {
        return;
    };
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
    // Another transaction creates the seller's account and holds it uncommitted.
    let payable = AccountCode::user_payable(order.seller_id, zar());
    let theirs = uuid::Uuid::now_v7();
    let mut other = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO ledger_accounts (id, code, name, kind, owner_user_id, currency, balance, created_at) \
         VALUES ($1, $2, $3, $4::ledger_account_kind, $5, $6, 0, now())",
    )
    .bind(theirs)
    .bind(payable.as_str())
    .bind(payable.name())
    .bind(vendrome_core::SqlEnum::as_str(payable.kind()))
    .bind(payable.owner().map(|u| u.as_uuid()))
    .bind(payable.currency().as_str())
    .execute(&mut *other)
    .await
    .unwrap();
    let posted = {
        let (store, posting) = (store.clone(), posting.clone());
        tokio::spawn(async move { store.post(&posting, time::now()).await })
    };
    // The posting's statement waits on the other transaction's account row.
    assert!(
        crate::postgres_only::until_one_waits(&pool, &posted).await,
        "the posting did not wait for the account"
    );
    other.commit().await.unwrap();
    assert_eq!(posted.await.unwrap().unwrap(), PostOutcome::Posted);
    let used: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT e.account_id FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
         WHERE a.code = $1",
    )
    .bind(payable.as_str())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(used, vec![theirs]);
    assert_eq!(
        store.post(&posting, time::now()).await.unwrap(),
        PostOutcome::AlreadyPosted
    );
    assert!(store.check().await.unwrap().is_clean());
}
