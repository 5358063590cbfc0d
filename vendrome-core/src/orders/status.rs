//! The order's state machine, as migration 6 names it: `pending_payment -> paid | cancelled;
//! paid -> fulfilled | refunded; fulfilled -> completed | refunded`. Who may make each move is
//! part of the table.

use crate::enums::OrderStatus;
use crate::Error;

/// What someone asks of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// The payment succeeded.
    Pay,
    /// Called off: unpaid (buyer, seller, expiry) or paid but not yet fulfilled (seller, who
    /// refunds it in full).
    Cancel,
    Fulfil,
    Complete,
    /// A refund that brings the refunded total to the order's total.
    RefundInFull,
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderActor {
    Buyer,
    Seller,
    Admin,
    /// The server itself: payment outcomes, expiry, automatic completion.
    System,
}

/// The status `action` by `actor` moves an order in `from` to.
///
/// # Errors
///
/// [`Error::Forbidden`] `not_order_party_action` when the actor may not make this move at all,
/// and [`Error::Conflict`] `invalid_order_transition` when the order's status does not allow it.
pub fn transition(
    from: OrderStatus,
    action: OrderAction,
    actor: OrderActor,
) -> Result<OrderStatus, Error> {
    use OrderAction as A;
    use OrderActor as W;
    use OrderStatus as S;
    let allowed_actor = match action {
        A::Pay => matches!(actor, W::System),
        A::Cancel => match from {
            S::PendingPayment => matches!(actor, W::Buyer | W::Seller | W::Admin | W::System),
            _ => matches!(actor, W::Seller | W::Admin),
        },
        A::Fulfil => matches!(actor, W::Seller | W::Admin),
        A::Complete => matches!(actor, W::Buyer | W::Admin | W::System),
        A::RefundInFull => matches!(actor, W::Seller | W::Admin | W::System),
    };
    if !allowed_actor {
        return Err(Error::forbidden(
            "not_order_party_action",
            format!("{actor:?} may not {action:?} an order that is {from}").to_lowercase(),
        ));
    }
    let to = match (from, action) {
        (S::PendingPayment, A::Pay) => S::Paid,
        (S::PendingPayment, A::Cancel) => S::Cancelled,
        // A paid order the seller calls off is refunded in full.
        (S::Paid, A::Cancel) => S::Refunded,
        (S::Paid, A::Fulfil) => S::Fulfilled,
        (S::Fulfilled, A::Complete) => S::Completed,
        (S::Paid | S::Fulfilled, A::RefundInFull) => S::Refunded,
        _ => {
            return Err(Error::conflict(
                "invalid_order_transition",
                format!("an order that is {from} cannot be {}", past(action)),
            ))
        }
    };
    Ok(to)
}

fn past(action: OrderAction) -> &'static str {
    match action {
        OrderAction::Pay => "paid",
        OrderAction::Cancel => "cancelled",
        OrderAction::Fulfil => "fulfilled",
        OrderAction::Complete => "completed",
        OrderAction::RefundInFull => "refunded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlEnum as _;

    /// Every (status, action, actor): the whole table, written out, so a change to the rules is
    /// a change to this test.
    #[test]
    fn the_transition_table() {
        use OrderAction as A;
        use OrderActor as W;
        use OrderStatus as S;
        let allowed: &[(S, A, W, S)] = &[
            (S::PendingPayment, A::Pay, W::System, S::Paid),
            (S::PendingPayment, A::Cancel, W::Buyer, S::Cancelled),
            (S::PendingPayment, A::Cancel, W::Seller, S::Cancelled),
            (S::PendingPayment, A::Cancel, W::Admin, S::Cancelled),
            (S::PendingPayment, A::Cancel, W::System, S::Cancelled),
            (S::Paid, A::Cancel, W::Seller, S::Refunded),
            (S::Paid, A::Cancel, W::Admin, S::Refunded),
            (S::Paid, A::Fulfil, W::Seller, S::Fulfilled),
            (S::Paid, A::Fulfil, W::Admin, S::Fulfilled),
            (S::Paid, A::RefundInFull, W::Seller, S::Refunded),
            (S::Paid, A::RefundInFull, W::Admin, S::Refunded),
            (S::Paid, A::RefundInFull, W::System, S::Refunded),
            (S::Fulfilled, A::Complete, W::Buyer, S::Completed),
            (S::Fulfilled, A::Complete, W::Admin, S::Completed),
            (S::Fulfilled, A::Complete, W::System, S::Completed),
            (S::Fulfilled, A::RefundInFull, W::Seller, S::Refunded),
            (S::Fulfilled, A::RefundInFull, W::Admin, S::Refunded),
            (S::Fulfilled, A::RefundInFull, W::System, S::Refunded),
        ];
        let actions = [A::Pay, A::Cancel, A::Fulfil, A::Complete, A::RefundInFull];
        let actors = [W::Buyer, W::Seller, W::Admin, W::System];
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
        assert_eq!(checked, 6 * 5 * 4);
    }

    #[test]
    fn refusals_name_their_reason() {
        let wrong_actor = transition(OrderStatus::Paid, OrderAction::Fulfil, OrderActor::Buyer);
        assert!(matches!(
            wrong_actor,
            Err(Error::Forbidden {
                code: "not_order_party_action",
                ..
            })
        ));
        let wrong_state = transition(
            OrderStatus::Completed,
            OrderAction::Fulfil,
            OrderActor::Seller,
        );
        assert!(matches!(
            wrong_state,
            Err(Error::Conflict {
                code: "invalid_order_transition",
                ..
            })
        ));
    }
}
