use super::postings::{charge_succeeded, fee_share, refund_succeeded};
use super::*;
use crate::enums::PaymentProvider;
use crate::ids::UserId;

fn zar(amount: i64) -> Money {
    Money::new(amount, Currency::parse("ZAR").unwrap())
}

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("USD").unwrap())
}

#[test]
fn postings_must_balance_per_currency() {
    let fees = AccountCode::platform_fees(zar(0).currency);
    let clearing = AccountCode::provider_clearing(PaymentProvider::Stripe, zar(0).currency);
    assert!(Posting::new(
        "k",
        "d",
        None,
        vec![
            Entry::debit(clearing.clone(), zar(10)),
            Entry::credit(fees.clone(), zar(10))
        ]
    )
    .is_ok());
    assert!(matches!(
        Posting::new(
            "k",
            "d",
            None,
            vec![
                Entry::debit(clearing.clone(), zar(10)),
                Entry::credit(fees.clone(), zar(9))
            ]
        ),
        Err(PostingError::Unbalanced {
            debits: 10,
            credits: 9,
            ..
        })
    ));
    assert!(matches!(
        Posting::new(
            "k",
            "d",
            None,
            vec![Entry::debit(clearing.clone(), zar(10))]
        ),
        Err(PostingError::TooFewEntries)
    ));
    assert!(matches!(
        Posting::new(
            "k",
            "d",
            None,
            vec![
                Entry::debit(clearing.clone(), usd(10)),
                Entry::credit(fees.clone(), usd(10))
            ]
        ),
        Err(PostingError::WrongCurrency { .. })
    ));
    assert!(matches!(
        Posting::new(
            "k",
            "d",
            None,
            vec![
                Entry::debit(clearing, zar(-10)),
                Entry::credit(fees, zar(-10))
            ]
        ),
        Err(PostingError::NonPositive { .. })
    ));
}

#[test]
fn a_reversal_undoes_every_entry() {
    let posting = charge_succeeded(
        PaymentId::new(),
        PaymentProvider::Sandbox,
        zar(1050),
        zar(53),
        UserId::new(),
    )
    .unwrap();
    let reversal = posting.reversal("r", "undo");
    for (a, b) in posting.entries().iter().zip(reversal.entries()) {
        assert_eq!((&a.account, a.amount), (&b.account, b.amount));
        assert_ne!(a.direction, b.direction);
    }
}

#[test]
fn a_charge_pays_the_seller_less_the_fee() {
    let seller = UserId::new();
    let posting = charge_succeeded(
        PaymentId::new(),
        PaymentProvider::Stripe,
        zar(1050),
        zar(53),
        seller,
    )
    .unwrap();
    let amount_of = |code: AccountCode| {
        posting
            .entries()
            .iter()
            .find(|e| e.account == code)
            .map(|e| (e.direction, e.amount.amount))
    };
    let cur = zar(0).currency;
    assert_eq!(
        amount_of(AccountCode::provider_clearing(PaymentProvider::Stripe, cur)),
        Some((LedgerDirection::Debit, 1050))
    );
    assert_eq!(
        amount_of(AccountCode::user_payable(seller, cur)),
        Some((LedgerDirection::Credit, 997))
    );
    assert_eq!(
        amount_of(AccountCode::platform_fees(cur)),
        Some((LedgerDirection::Credit, 53))
    );
    // A zero fee leaves the fee entry out.
    let free = charge_succeeded(
        PaymentId::new(),
        PaymentProvider::Stripe,
        zar(100),
        zar(0),
        seller,
    )
    .unwrap();
    assert_eq!(free.entries().len(), 2);
}

#[test]
fn partial_refunds_give_back_exactly_the_fee() {
    for (total, fee, parts) in [
        (1050, 53, vec![1, 2, 3, 1044]),
        (999, 50, vec![333, 333, 333]),
        (7, 1, vec![1; 7]),
    ] {
        let mut before = 0;
        let mut fee_back = 0;
        for part in parts {
            fee_back += fee_share(zar(total), zar(fee), before, part);
            let posting = refund_succeeded(
                PaymentId::new(),
                PaymentProvider::Stripe,
                zar(total),
                zar(fee),
                before,
                zar(part),
                UserId::new(),
            );
            assert!(posting.is_ok(), "{total} {fee} {part}: {posting:?}");
            before += part;
        }
        assert_eq!(before, total);
        assert_eq!(fee_back, fee, "{total} {fee}");
    }
}

#[test]
fn balances_move_on_the_normal_side() {
    use LedgerAccountKind as K;
    use LedgerDirection as D;
    assert_eq!(balance_delta(K::Asset, D::Debit, 5), 5);
    assert_eq!(balance_delta(K::Asset, D::Credit, 5), -5);
    assert_eq!(balance_delta(K::Liability, D::Credit, 5), 5);
    assert_eq!(balance_delta(K::Revenue, D::Debit, 5), -5);
    assert_eq!(balance_delta(K::Expense, D::Debit, 5), 5);
}

#[test]
fn account_codes_parse_only_known_shapes() {
    let user = UserId::new();
    let cur = zar(0).currency;
    for code in [
        AccountCode::provider_clearing(PaymentProvider::Paystack, cur),
        AccountCode::user_payable(user, cur),
        AccountCode::user_ad_balance(user, cur),
        AccountCode::campaign_escrow(uuid::Uuid::now_v7(), cur),
        AccountCode::platform_fees(cur),
        AccountCode::platform_ad_revenue(cur),
        AccountCode::platform_refunds(cur),
    ] {
        assert_eq!(AccountCode::parse(code.as_str()), Some(code.clone()));
        assert_eq!(code.currency(), cur);
        assert!(!code.name().is_empty());
    }
    assert_eq!(AccountCode::user_payable(user, cur).owner(), Some(user));
    assert_eq!(
        AccountCode::user_payable(user, cur).kind(),
        LedgerAccountKind::Liability
    );
    for bad in [
        "",
        "platform:fees",
        "platform:fees:zar",
        "provider:acme:clearing:ZAR",
        "user:nope:payable:ZAR",
        "platform:fees:ZAR:x",
    ] {
        assert_eq!(AccountCode::parse(bad), None, "{bad}");
    }
}
