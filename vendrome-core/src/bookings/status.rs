//! The booking's state machine, as migrations 6 and 37 name it: `awaiting_payment -> requested |
//! confirmed | cancelled; requested -> confirmed | declined | cancelled; confirmed -> completed |
//! cancelled | no_show`. Who may make each move is part of the table; that completion and
//! no-show wait for the end time is the service's rule. Only the server moves a booking out of
//! `awaiting_payment` on its payment (a succeeded charge settles it, see `vendrome-payments`).

use crate::enums::BookingStatus;
use crate::Error;

/// What someone asks of a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingAction {
    Confirm,
    Decline,
    Cancel,
    Complete,
    NoShow,
    /// Its charge succeeded: on to `requested`, for the provider to confirm or decline.
    Pay,
    /// Its charge succeeded and the service auto-confirms: on to `confirmed`.
    PayAndConfirm,
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingActor {
    Client,
    Provider,
    Admin,
    /// The server itself (a payment's settlement, an unpaid booking's expiry).
    System,
}

/// The status `action` by `actor` moves a booking in `from` to.
///
/// # Errors
///
/// [`Error::Forbidden`] `not_booking_party_action` when the actor may not make this move at
/// all, and [`Error::Conflict`] `invalid_booking_transition` when the status does not allow it.
pub fn transition(
    from: BookingStatus,
    action: BookingAction,
    actor: BookingActor,
) -> Result<BookingStatus, Error> {
    use BookingAction as A;
    use BookingActor as W;
    use BookingStatus as S;
    let allowed_actor = match action {
        A::Confirm | A::Decline | A::Complete | A::NoShow => {
            matches!(actor, W::Provider | W::Admin)
        }
        A::Cancel => true,
        A::Pay | A::PayAndConfirm => actor == W::System,
    };
    if !allowed_actor {
        return Err(Error::forbidden(
            "not_booking_party_action",
            format!("{actor:?} may not {action:?} a booking").to_lowercase(),
        ));
    }
    match (from, action) {
        (S::AwaitingPayment, A::Pay) => Ok(S::Requested),
        (S::AwaitingPayment, A::PayAndConfirm) => Ok(S::Confirmed),
        (S::AwaitingPayment, A::Cancel) => Ok(S::Cancelled),
        (S::Requested, A::Confirm) => Ok(S::Confirmed),
        (S::Requested, A::Decline) => Ok(S::Declined),
        (S::Requested | S::Confirmed, A::Cancel) => Ok(S::Cancelled),
        (S::Confirmed, A::Complete) => Ok(S::Completed),
        (S::Confirmed, A::NoShow) => Ok(S::NoShow),
        _ => Err(Error::conflict(
            "invalid_booking_transition",
            format!("a booking that is {from} cannot be {action:?}").to_lowercase(),
        )),
    }
}

/// Whether a booking in `status` holds its time (the provider cannot be booked over it).
pub fn holds_time(status: BookingStatus) -> bool {
    matches!(
        status,
        BookingStatus::AwaitingPayment | BookingStatus::Requested | BookingStatus::Confirmed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlEnum as _;

    /// Every (status, action, actor), written out.
    #[test]
    fn the_transition_table() {
        use BookingAction as A;
        use BookingActor as W;
        use BookingStatus as S;
        let mut allowed: Vec<(S, A, W, S)> = Vec::new();
        for who in [W::Provider, W::Admin] {
            allowed.push((S::Requested, A::Confirm, who, S::Confirmed));
            allowed.push((S::Requested, A::Decline, who, S::Declined));
            allowed.push((S::Confirmed, A::Complete, who, S::Completed));
            allowed.push((S::Confirmed, A::NoShow, who, S::NoShow));
        }
        allowed.push((S::AwaitingPayment, A::Pay, W::System, S::Requested));
        allowed.push((
            S::AwaitingPayment,
            A::PayAndConfirm,
            W::System,
            S::Confirmed,
        ));
        for who in [W::Client, W::Provider, W::Admin, W::System] {
            allowed.push((S::AwaitingPayment, A::Cancel, who, S::Cancelled));
            allowed.push((S::Requested, A::Cancel, who, S::Cancelled));
            allowed.push((S::Confirmed, A::Cancel, who, S::Cancelled));
        }
        let actions = [
            A::Confirm,
            A::Decline,
            A::Cancel,
            A::Complete,
            A::NoShow,
            A::Pay,
            A::PayAndConfirm,
        ];
        let actors = [W::Client, W::Provider, W::Admin, W::System];
        let mut checked = 0;
        for &from in S::ALL {
            for action in actions {
                for actor in actors {
                    let expected = allowed
                        .iter()
                        .find(|(f, a, w, _)| (*f, *a, *w) == (from, action, actor))
                        .map(|(.., to)| *to);
                    let got = transition(from, action, actor).ok();
                    assert_eq!(got, expected, "{from} {action:?} by {actor:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 7 * 7 * 4);
    }

    #[test]
    fn refusals_name_their_reason() {
        let client_confirms = transition(
            BookingStatus::Requested,
            BookingAction::Confirm,
            BookingActor::Client,
        );
        assert!(matches!(
            client_confirms,
            Err(Error::Forbidden {
                code: "not_booking_party_action",
                ..
            })
        ));
        let twice = transition(
            BookingStatus::Cancelled,
            BookingAction::Cancel,
            BookingActor::Client,
        );
        assert!(matches!(
            twice,
            Err(Error::Conflict {
                code: "invalid_booking_transition",
                ..
            })
        ));
        assert!(holds_time(BookingStatus::Requested) && !holds_time(BookingStatus::Declined));
        assert!(holds_time(BookingStatus::AwaitingPayment));
        let client_pays = transition(
            BookingStatus::AwaitingPayment,
            BookingAction::Pay,
            BookingActor::Client,
        );
        assert!(matches!(
            client_pays,
            Err(Error::Forbidden {
                code: "not_booking_party_action",
                ..
            })
        ));
    }
}
