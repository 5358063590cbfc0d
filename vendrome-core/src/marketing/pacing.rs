//! Pacing: what a batch of events is charged ([`bill`]: never past the total budget nor a
//! day's budget), and which campaign a feed page carries ([`choose`]: bid × predicted rate,
//! served less while ahead of an even daily schedule). Pure functions, so the store calls
//! [`bill`] under the campaign's row lock and delivery calls [`choose`] on its snapshot.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Timelike as _};

use super::Bid;
use crate::enums::{MarketingBidModel, MarketingEventKind};
use crate::ids::{CampaignId, PostId, UserId};
use crate::time::Timestamp;

/// A campaign's spending state as its transaction read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendState {
    pub bid: Bid,
    pub budget: i64,
    pub daily_budget: Option<i64>,
    pub spent: i64,
    /// Impressions charged so far (a CPM campaign's spend follows them).
    pub billed_impressions: i64,
    /// What was spent on each UTC day the batch's events fall on.
    pub day_spent: BTreeMap<NaiveDate, i64>,
}

/// One event to charge, in the order they are charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chargeable {
    pub kind: MarketingEventKind,
    pub at: Timestamp,
}

/// What [`bill`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Billing {
    /// Per event, in order: charged (or free under the bid model) rather than past a budget.
    pub billed: Vec<bool>,
    /// What each event costs (0 when unbilled).
    pub cost: Vec<i64>,
    pub spend: i64,
    pub billed_impressions: i64,
}

/// The cost of the impression after `billed` were charged at a CPM `bid`: the spend of
/// `billed + 1` impressions less that of `billed`, each rounded down, so any split into
/// batches adds up to `floor(n × bid / 1000)`.
pub fn impression_cost(bid: i64, billed: i64) -> i64 {
    let spend = |n: i64| i64::try_from(i128::from(n) * i128::from(bid) / 1000).unwrap_or(i64::MAX);
    spend(billed + 1) - spend(billed)
}

/// Charges `events` at the bid, in order: an event is billed when its cost fits both the rest
/// of the total budget and the rest of its day's budget, and recorded unbilled otherwise.
/// Under CPM clicks are free, under CPC impressions are; a free event is billed while the
/// campaign still has budget.
pub fn bill(state: &SpendState, events: &[Chargeable]) -> Billing {
    let mut billing = Billing::default();
    let mut spent = state.spent;
    let mut impressions = state.billed_impressions;
    let mut day_spent = state.day_spent.clone();
    for event in events {
        let cost = match (state.bid.model, event.kind) {
            (MarketingBidModel::Cpm, MarketingEventKind::Impression) => {
                impression_cost(state.bid.amount, impressions)
            }
            (MarketingBidModel::Cpc, MarketingEventKind::Click) => state.bid.amount,
            _ => 0,
        };
        let day = event.at.date_naive();
        let today = day_spent.get(&day).copied().unwrap_or(0);
        let fits = spent + cost <= state.budget
            && state.daily_budget.is_none_or(|d| today + cost <= d)
            && (cost > 0 || spent < state.budget);
        billing.billed.push(fits);
        billing.cost.push(if fits { cost } else { 0 });
        if fits {
            spent += cost;
            billing.spend += cost;
            *day_spent.entry(day).or_insert(0) += cost;
            if event.kind == MarketingEventKind::Impression {
                impressions += 1;
                billing.billed_impressions += 1;
            }
        }
    }
    billing
}

/// Whether a campaign with `spent` of `budget` can no longer pay for one more charged event.
pub fn exhausted(bid: Bid, budget: i64, spent: i64) -> bool {
    let unit = match bid.model {
        MarketingBidModel::Cpm => (bid.amount + 999) / 1000,
        MarketingBidModel::Cpc => bid.amount,
    };
    budget - spent < unit.max(1)
}

/// A running campaign as delivery sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub campaign_id: CampaignId,
    pub owner_id: UserId,
    pub post_id: PostId,
    pub bid: Bid,
    pub daily_budget: Option<i64>,
    /// Spent today (UTC).
    pub day_spent: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// The click rate delivery expects: the campaign's own, pulled towards 1 % while it has few
/// impressions (a prior of 100 impressions and one click).
pub fn predicted_ctr(impressions: i64, clicks: i64) -> f64 {
    (clicks as f64 + 1.0) / (impressions as f64 + 100.0)
}

/// The pacing factor at `now`: 1 while the day's spend is at or behind an even schedule of the
/// daily budget, falling towards 0 the further ahead it is; 0 once the day's budget is spent.
pub fn pacing(daily_budget: Option<i64>, day_spent: i64, now: Timestamp) -> f64 {
    let Some(daily) = daily_budget else {
        return 1.0;
    };
    if day_spent >= daily {
        return 0.0;
    }
    let elapsed = f64::from(now.num_seconds_from_midnight()) / 86_400.0;
    // At least a tenth of the day's budget is always open, so a campaign starts at midnight.
    let schedule = (daily as f64 * elapsed).max(daily as f64 / 10.0);
    if (day_spent as f64) <= schedule {
        1.0
    } else {
        (schedule / day_spent as f64).clamp(0.0, 1.0)
    }
}

/// The bid per impression (a CPC bid times the predicted click rate): what one impression of
/// the candidate is worth before pacing, so never less than its [`score`].
pub fn value(c: &Candidate) -> f64 {
    match c.bid.model {
        MarketingBidModel::Cpm => c.bid.amount as f64 / 1000.0,
        MarketingBidModel::Cpc => c.bid.amount as f64 * predicted_ctr(c.impressions, c.clicks),
    }
}

/// What one impression of the candidate is worth now: its [`value`] times the pacing factor.
pub fn score(c: &Candidate, now: Timestamp) -> f64 {
    value(c) * pacing(c.daily_budget, c.day_spent, now)
}

/// The candidate to show: the highest score above zero, ties to the lower campaign id.
pub fn choose<'a>(
    candidates: impl IntoIterator<Item = &'a Candidate>,
    now: Timestamp,
) -> Option<&'a Candidate> {
    candidates
        .into_iter()
        .map(|c| (score(c, now), c))
        .filter(|(s, _)| *s > 0.0)
        .max_by(|(a, ca), (b, cb)| a.total_cmp(b).then(cb.campaign_id.cmp(&ca.campaign_id)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(h: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap()
    }

    fn state(model: MarketingBidModel, amount: i64, budget: i64, daily: Option<i64>) -> SpendState {
        SpendState {
            bid: Bid { model, amount },
            budget,
            daily_budget: daily,
            spent: 0,
            billed_impressions: 0,
            day_spent: BTreeMap::new(),
        }
    }

    #[test]
    fn cpm_spend_is_the_same_in_any_batches() {
        let one: i64 = (0..2_345).map(|n| impression_cost(733, n)).sum();
        assert_eq!(one, 2_345 * 733 / 1000);
    }

    #[test]
    fn spend_stops_at_the_budget_and_the_rest_is_unbilled() {
        let s = state(MarketingBidModel::Cpc, 10, 1_000, None);
        let clicks = vec![
            Chargeable {
                kind: MarketingEventKind::Click,
                at: at(10)
            };
            300
        ];
        let b = bill(&s, &clicks);
        assert_eq!(b.spend, 1_000);
        assert_eq!(b.billed.iter().filter(|x| **x).count(), 100);
        assert!(exhausted(s.bid, 1_000, b.spend));
    }

    #[test]
    fn a_day_never_spends_past_its_daily_budget() {
        let mut s = state(MarketingBidModel::Cpc, 10, 10_000, Some(50));
        s.day_spent.insert(at(10).date_naive(), 30);
        let clicks = vec![
            Chargeable {
                kind: MarketingEventKind::Click,
                at: at(10)
            };
            5
        ];
        assert_eq!(bill(&s, &clicks).spend, 20);
    }

    #[test]
    fn ahead_of_schedule_is_served_less() {
        assert_eq!(pacing(Some(2_400), 500, at(12)), 1.0);
        let ahead = pacing(Some(2_400), 2_000, at(12));
        assert!(ahead > 0.0 && ahead < 1.0, "{ahead}");
        assert_eq!(pacing(Some(2_400), 2_400, at(23)), 0.0);
    }
}
