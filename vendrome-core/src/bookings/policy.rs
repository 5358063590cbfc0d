//! The service's cancellation policy: a client who cancels inside the cancellation window (less
//! than `window_hours` before the start) gets back what the policy says (`full`, `half` or
//! `none`); earlier, or when the provider (or an admin, or the server) cancels, everything.

use super::BookingActor;
pub use crate::enums::CancellationRefund as LateRefund;
use crate::time::Timestamp;
use chrono::Duration;

/// A service's cancellation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancellationPolicy {
    /// How many hours before the start a client's cancellation counts as late.
    pub window_hours: i32,
    pub late_refund: LateRefund,
}

impl Default for CancellationPolicy {
    fn default() -> Self {
        Self {
            window_hours: 24,
            late_refund: LateRefund::Half,
        }
    }
}

impl CancellationPolicy {
    /// What cancelling a booking of `amount` that starts at `starts_at`, by `actor` at `now`,
    /// refunds. Half is rounded down to the minor unit.
    pub fn refund(
        &self,
        amount: i64,
        actor: BookingActor,
        starts_at: Timestamp,
        now: Timestamp,
    ) -> i64 {
        let late = now > starts_at - Duration::hours(i64::from(self.window_hours));
        if actor != BookingActor::Client || !late {
            return amount;
        }
        match self.late_refund {
            LateRefund::Full => amount,
            LateRefund::Half => amount / 2,
            LateRefund::None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn late_client_cancellations_refund_per_the_policy() {
        let start = chrono::Utc.with_ymd_and_hms(2027, 3, 1, 10, 0, 0).unwrap();
        let early = start - Duration::hours(25);
        let late = start - Duration::hours(23);
        for (policy, late_amount) in [
            (LateRefund::Full, 1_001),
            (LateRefund::Half, 500),
            (LateRefund::None, 0),
        ] {
            let p = CancellationPolicy {
                window_hours: 24,
                late_refund: policy,
            };
            assert_eq!(p.refund(1_001, BookingActor::Client, start, early), 1_001);
            assert_eq!(
                p.refund(1_001, BookingActor::Client, start, late),
                late_amount
            );
            assert_eq!(p.refund(1_001, BookingActor::Provider, start, late), 1_001);
            assert_eq!(p.refund(1_001, BookingActor::System, start, late), 1_001);
        }
    }
}
