//! Payloads of the booking events.

use serde::{Deserialize, Serialize};

use super::about;
use crate::enums::BookingStatus;
use crate::ids::{BookingId, PostId, UserId};
use crate::money::Currency;
use crate::time::Timestamp;

/// A booking was made or moved: `booking.requested`, `booking.confirmed`, `booking.declined`,
/// `booking.cancelled`, `booking.completed`, `booking.no_show`. Client and provider hear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingChanged {
    pub booking_id: BookingId,
    pub service_post_id: PostId,
    pub client_id: UserId,
    pub provider_id: UserId,
    /// The status after the change.
    pub status: BookingStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub amount: i64,
    /// What a cancellation refunds per the service's policy (0 otherwise).
    pub refund_amount: i64,
    pub currency: Currency,
}

about!("booking" by booking_id: BookingChanged);
