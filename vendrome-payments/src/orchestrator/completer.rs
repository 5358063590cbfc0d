//! The completer: finishes attempts abandoned between recovery points (a crash, a lost
//! answer, a timeout), safe to run on several instances (attempts are leased).

use vendrome_core::enums::{PaymentAttemptPhase, PaymentKind};
use vendrome_core::payments::{is_final, Payment, ABANDONED_AFTER};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use super::settle::Outcome;
use super::Payments;

/// How long the completer holds an attempt it took.
const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// How many attempts one pass takes.
const BATCH: u32 = 100;

/// What one pass of the completer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletionReport {
    /// Attempts taken over.
    pub claimed: usize,
    /// Those that reached an outcome in this pass.
    pub finished: usize,
    /// Those whose provider could not be asked now (left for the next pass).
    pub failed: usize,
}

impl Payments {
    /// Takes over attempts untouched for [`ABANDONED_AFTER`]: one still `started` calls the
    /// provider again with the same provider key (so it finds what the lost call made); one
    /// `provider_called` asks the provider for its status and settles a final answer.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](vendrome_core::Error::Unexpected), when claiming fails; an
    /// attempt that fails is counted in [`CompletionReport::failed`] and logged.
    pub async fn complete_abandoned(&self, now: Timestamp) -> Result<CompletionReport> {
        let idle_since = now - chrono::Duration::from_std(ABANDONED_AFTER).unwrap_or_default();
        let claimed = self
            .ports
            .payments
            .claim_abandoned(idle_since, now, LEASE, BATCH)
            .await?;
        let mut report = CompletionReport {
            claimed: claimed.len(),
            ..CompletionReport::default()
        };
        for payment in claimed {
            match self.complete_one(payment.clone()).await {
                Ok(p) if p.phase == PaymentAttemptPhase::Finished => report.finished += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(payment = %payment.id, error = %e, "could not complete an abandoned payment");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    async fn complete_one(&self, payment: Payment) -> Result<Payment> {
        match (payment.phase, payment.kind) {
            (PaymentAttemptPhase::Started, PaymentKind::Refund) => self.drive_refund(payment).await,
            (PaymentAttemptPhase::Started, _) => self.drive_charge(payment).await,
            (PaymentAttemptPhase::ProviderCalled, _) => {
                let Some(reference) = payment.provider_reference.clone() else {
                    return Ok(payment);
                };
                let provider = self.configured(payment.provider)?;
                let answer = provider
                    .status(&reference)
                    .await
                    .map_err(|e| super::provider_error(&e))?;
                if !is_final(answer.status) {
                    return Ok(payment);
                }
                let mut outcome = Outcome::new(answer.status, Some(reference));
                outcome.failure = answer.failure;
                self.settled(&payment, outcome).await
            }
            (PaymentAttemptPhase::Finished, _) => Ok(payment),
        }
    }
}
