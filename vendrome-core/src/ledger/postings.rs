//! The postings money movements make. Each is keyed by what caused it, so it is written once.

use super::{AccountCode, Entry, Posting, PostingError};
use crate::enums::PaymentProvider;
use crate::ids::{CampaignId, InvestmentCampaignId, PaymentId, UserId};
use crate::money::Money;

/// A charge that succeeded: the provider holds the total for us; we owe the payee the total
/// less the platform fee; the fee is ours. Key `payment:<id>:succeeded`.
///
/// # Errors
///
/// [`PostingError`] when the amounts are not positive or differ in currency.
pub fn charge_succeeded(
    payment: PaymentId,
    provider: PaymentProvider,
    total: Money,
    fee: Money,
    payee: UserId,
) -> Result<Posting, PostingError> {
    let currency = total.currency;
    let payable = Money::new(total.amount - fee.amount, currency);
    Posting::new(
        format!("payment:{payment}:succeeded"),
        format!("charge {payment} succeeded"),
        Some(payment),
        vec![
            Entry::debit(AccountCode::provider_clearing(provider, currency), total),
            Entry::credit(AccountCode::user_payable(payee, currency), payable),
            Entry::credit(AccountCode::platform_fees(currency), fee),
        ],
    )
}

/// A campaign's funding charge that succeeded: the provider holds the amount for us, and it is
/// the owner's prepaid advertising until it is spent. Key `payment:<id>:succeeded`.
///
/// # Errors
///
/// [`PostingError`] when the amount is not positive.
pub fn ad_funding_succeeded(
    payment: PaymentId,
    provider: PaymentProvider,
    total: Money,
    owner: UserId,
) -> Result<Posting, PostingError> {
    let currency = total.currency;
    Posting::new(
        format!("payment:{payment}:succeeded"),
        format!("ad budget {payment} funded"),
        Some(payment),
        vec![
            Entry::debit(AccountCode::provider_clearing(provider, currency), total),
            Entry::credit(AccountCode::user_ad_balance(owner, currency), total),
        ],
    )
}

/// A refund of a campaign's unspent remainder that succeeded: the amount leaves the owner's ad
/// balance and goes back out of the provider's clearing, the reverse of
/// [`ad_funding_succeeded`]. Key `payment:<refund id>:succeeded`.
///
/// # Errors
///
/// [`PostingError`] when the amount is not positive.
pub fn ad_refund_succeeded(
    refund: PaymentId,
    provider: PaymentProvider,
    amount: Money,
    owner: UserId,
) -> Result<Posting, PostingError> {
    let currency = amount.currency;
    Posting::new(
        format!("payment:{refund}:succeeded"),
        format!("ad budget refund {refund} succeeded"),
        Some(refund),
        vec![
            Entry::debit(AccountCode::user_ad_balance(owner, currency), amount),
            Entry::credit(AccountCode::provider_clearing(provider, currency), amount),
        ],
    )
}

/// A batch's spend of one campaign: from the owner's ad balance to ad revenue. Keyed by the
/// campaign and the batch's first new event (`campaign:<id>:spend:<event id>`): an event is
/// recorded once, so the posting is made once.
///
/// # Errors
///
/// [`PostingError`] when the amount is not positive.
pub fn ad_spend(
    campaign: CampaignId,
    first_event: uuid::Uuid,
    owner: UserId,
    spend: Money,
) -> Result<Posting, PostingError> {
    Posting::new(
        format!("campaign:{campaign}:spend:{first_event}"),
        format!("campaign {campaign} spend"),
        None,
        vec![
            Entry::debit(AccountCode::user_ad_balance(owner, spend.currency), spend),
            Entry::credit(AccountCode::platform_ad_revenue(spend.currency), spend),
        ],
    )
}

/// The fee's share of `refunded` of a charge of `total` with `fee`, rounded half-up. Computed
/// on running totals, so the shares of several partial refunds add up to exactly the fee once
/// the whole total is refunded.
pub fn fee_share(total: Money, fee: Money, refunded_before: i64, refunded: i64) -> i64 {
    let share_of = |part: i64| -> i64 {
        if total.amount == 0 {
            return 0;
        }
        let scaled = i128::from(fee.amount) * i128::from(part);
        let total = i128::from(total.amount);
        i64::try_from((2 * scaled + total) / (2 * total)).unwrap_or(i64::MAX)
    };
    share_of(refunded_before + refunded) - share_of(refunded_before)
}

/// A refund that succeeded: the reverse share of the charge, from the payee and the fee, back
/// out of the provider's clearing. Key `payment:<refund id>:succeeded`.
///
/// # Errors
///
/// [`PostingError`] when the amounts are not positive or differ in currency.
#[allow(clippy::too_many_arguments)]
pub fn refund_succeeded(
    refund: PaymentId,
    provider: PaymentProvider,
    charge_total: Money,
    charge_fee: Money,
    refunded_before: i64,
    amount: Money,
    payee: UserId,
) -> Result<Posting, PostingError> {
    let currency = amount.currency;
    let fee_back = fee_share(charge_total, charge_fee, refunded_before, amount.amount);
    Posting::new(
        format!("payment:{refund}:succeeded"),
        format!("refund {refund} succeeded"),
        Some(refund),
        vec![
            Entry::debit(
                AccountCode::user_payable(payee, currency),
                Money::new(amount.amount - fee_back, currency),
            ),
            Entry::debit(
                AccountCode::platform_fees(currency),
                Money::new(fee_back, currency),
            ),
            Entry::credit(AccountCode::provider_clearing(provider, currency), amount),
        ],
    )
}

/// A refund that succeeded, before its fee share is known: the share depends on how much of
/// the charge was refunded before it, which only the transaction that settles it can read
/// (two refunds of one charge settling at once would otherwise both read the same total).
/// `PaymentRepo::settle` reads the charge's succeeded refunds under a lock on the charge and
/// writes [`RefundShare::posting`] of that total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundShare {
    pub refund: PaymentId,
    pub charge: PaymentId,
    pub provider: PaymentProvider,
    pub charge_total: Money,
    pub charge_fee: Money,
    pub amount: Money,
    pub payee: UserId,
}

impl RefundShare {
    /// The refund's posting when `refunded_before` of the charge was refunded by refunds that
    /// succeeded before it.
    ///
    /// # Errors
    ///
    /// [`PostingError`] when the amounts are not positive or differ in currency.
    pub fn posting(&self, refunded_before: i64) -> Result<Posting, PostingError> {
        refund_succeeded(
            self.refund,
            self.provider,
            self.charge_total,
            self.charge_fee,
            refunded_before,
            self.amount,
            self.payee,
        )
    }
}

/// A commitment's charge that succeeded: the provider holds the amount for us, and we hold it
/// in the campaign's escrow until the settlement releases or refunds it. No fee is taken before
/// the release. Key `payment:<id>:succeeded`.
///
/// # Errors
///
/// [`PostingError`] when the amount is not positive.
pub fn commitment_charged(
    payment: PaymentId,
    provider: PaymentProvider,
    amount: Money,
    campaign: InvestmentCampaignId,
) -> Result<Posting, PostingError> {
    let currency = amount.currency;
    Posting::new(
        format!("payment:{payment}:succeeded"),
        format!("commitment charge {payment} into escrow"),
        Some(payment),
        vec![
            Entry::debit(AccountCode::provider_clearing(provider, currency), amount),
            Entry::credit(
                AccountCode::campaign_escrow(campaign.as_uuid(), currency),
                amount,
            ),
        ],
    )
}

/// A commitment's refund that succeeded: the reverse of [`commitment_charged`], out of the
/// campaign's escrow. Key `payment:<refund id>:succeeded`.
///
/// # Errors
///
/// [`PostingError`] when the amount is not positive.
pub fn commitment_refunded(
    refund: PaymentId,
    provider: PaymentProvider,
    amount: Money,
    campaign: InvestmentCampaignId,
) -> Result<Posting, PostingError> {
    let currency = amount.currency;
    Posting::new(
        format!("payment:{refund}:succeeded"),
        format!("commitment refund {refund} out of escrow"),
        Some(refund),
        vec![
            Entry::debit(
                AccountCode::campaign_escrow(campaign.as_uuid(), currency),
                amount,
            ),
            Entry::credit(AccountCode::provider_clearing(provider, currency), amount),
        ],
    )
}

/// A campaign's escrow released at its settlement: `raised` leaves the escrow, the founder is
/// owed it less `fee`, the fee is ours. Key `campaign:<id>:release`, so a campaign is released
/// once whoever settles it.
///
/// # Errors
///
/// [`PostingError`] when the amounts are not positive or differ in currency.
pub fn campaign_released(
    campaign: InvestmentCampaignId,
    raised: Money,
    fee: Money,
    founder: UserId,
) -> Result<Posting, PostingError> {
    let currency = raised.currency;
    Posting::new(
        format!("campaign:{campaign}:release"),
        format!("campaign {campaign} released to its founder"),
        None,
        vec![
            Entry::debit(
                AccountCode::campaign_escrow(campaign.as_uuid(), currency),
                raised,
            ),
            Entry::credit(
                AccountCode::user_payable(founder, currency),
                Money::new(raised.amount - fee.amount, currency),
            ),
            Entry::credit(AccountCode::platform_fees(currency), fee),
        ],
    )
}
