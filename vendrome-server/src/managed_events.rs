//! Deleting a party's calendar copy of a booking or mentorship session cancels it: core's
//! `calendar::managed::ManagedEvents` port over the services the booking's and session's own
//! endpoints call, so the rules, refunds and errors are theirs.

use async_trait::async_trait;
use vendrome_core::access::Caller;
use vendrome_core::calendar::managed::{ManagedBy, ManagedEvents};
use vendrome_core::mentorship::MentorshipService;
use vendrome_core::Result;
use vendrome_payments::Payments;

/// See the module docs.
pub struct CancelThroughOwner {
    /// Cancels a booking and refunds it as `POST /v1/bookings/{id}/cancel` does.
    pub payments: Payments,
    /// Cancels a session as `DELETE /v1/mentorships/{id}/sessions/{session_id}` does.
    pub mentorship: MentorshipService,
}

#[async_trait]
impl ManagedEvents for CancelThroughOwner {
    async fn cancel(&self, caller: &Caller, managed: ManagedBy) -> Result<()> {
        match managed {
            ManagedBy::Booking(id) => self
                .payments
                .cancel_booking(caller, id, Some("cancelled from the calendar".to_owned()))
                .await
                .map(drop),
            ManagedBy::MentorshipSession {
                mentorship,
                session,
            } => {
                self.mentorship
                    .cancel_session(caller, mentorship, session, vendrome_core::time::now())
                    .await
            }
        }
    }
}
