//! Calling an order off whatever it became meanwhile: `POST /v1/orders/{id}/cancel` reads the
//! order, then either cancels it (unpaid: the order service, stock given back) or refunds it in
//! full (paid: [`Payments::cancel_paid`]). A payment may land between the read and the cancel;
//! the cancel's compare-and-set from `pending_payment` then finds the order `paid` and changes
//! nothing. Rather than answer that race with a conflict, the order is read again and the
//! decision made anew, so a seller's cancel of an order that has just been paid refunds it.

use vendrome_core::access::Caller;
use vendrome_core::enums::OrderStatus;
use vendrome_core::ids::OrderId;
use vendrome_core::orders::{Order, OrderService};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::Payments;

/// Reads of the order one cancel makes at most. An order's status only moves forward, and only
/// `pending_payment` → `paid` turns a cancel into a refund, so the second read decides; the
/// third is a margin.
const ATTEMPTS: usize = 3;

impl Payments {
    /// Calls order `id` off as `caller`: an unpaid order is cancelled by `orders` (its stock is
    /// given back), a paid one is refunded in full and ends `refunded`. When the order changes
    /// between the read and the move (a payment lands), it is read again and the move decided
    /// again; the answer is the order as it is after the move.
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] (`order`) when there is no such order or the caller is no party;
    /// - [`Error::Forbidden`] `not_order_party_action` for a buyer calling off a paid order;
    /// - [`Error::Conflict`] `invalid_order_transition` when the order is fulfilled, completed,
    ///   cancelled or refunded (read again, not only at the first read);
    /// - as [`Payments::cancel_paid`] for the refund of a paid order.
    pub async fn cancel_order(
        &self,
        orders: &OrderService,
        caller: &Caller,
        id: OrderId,
        now: Timestamp,
    ) -> Result<Order> {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let order = orders.get(caller, id).await?;
            if order.status == OrderStatus::Paid {
                self.cancel_paid(id, caller).await?;
                return orders.get(caller, id).await;
            }
            match orders.cancel(caller, id, now).await {
                Err(Error::Conflict {
                    code: "invalid_order_transition",
                    message,
                }) => {
                    let again = orders.get(caller, id).await?;
                    if again.status == order.status {
                        // Nothing moved: the order is past calling off.
                        return Err(Error::conflict("invalid_order_transition", message));
                    }
                    last = Some(message);
                }
                other => return other,
            }
        }
        Err(Error::conflict(
            "invalid_order_transition",
            last.unwrap_or_else(|| "the order kept changing; read it again".to_owned()),
        ))
    }
}
