//! Reconciliation: what the provider settled in a window against what our ledger posted.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::enums::PaymentStatus;
use vendrome_core::enums::{LedgerDirection, PaymentProvider as ProviderId, ReconciliationStatus};
use vendrome_core::ids::{PaymentId, ReconciliationRunId};
use vendrome_core::money::Money;
use vendrome_core::payments::provider::SettledTransaction;
use vendrome_core::payments::{is_final, Discrepancy, Payment, RunOutcome};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use super::settle::Outcome;
use super::Payments;

/// Where a run is, for a progress bar: `done` of `total` provider transactions compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileProgress {
    pub done: u64,
    pub total: u64,
}

/// A provider transaction that agrees with the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matched {
    pub reference: String,
    pub payment_id: PaymentId,
    pub amount: Money,
}

/// What a run found, for a table or JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconciliationReport {
    pub run_id: ReconciliationRunId,
    pub provider: ProviderId,
    pub from: Timestamp,
    pub to: Timestamp,
    /// `clean` or `discrepancies`.
    pub status: ReconciliationStatus,
    pub matched: Vec<Matched>,
    pub discrepancies: Vec<Discrepancy>,
}

impl ReconciliationReport {
    /// Whether nothing disagreed.
    pub fn is_clean(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

/// The outcome of [`Payments::reconcile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconcileOutcome {
    Ran(ReconciliationReport),
    /// A run for this provider and window is running elsewhere or finished clean.
    AlreadyDone,
}

impl Payments {
    /// What the ledger posted for each of `payments` that has a posting: the sum of its
    /// postings' debits (a posting's debits equal its credits), read in one query.
    async fn posted(&self, payments: &[PaymentId]) -> Result<HashMap<PaymentId, i64>> {
        let entries = self.ports.ledger.postings_for_payments(payments).await?;
        let mut posted: HashMap<PaymentId, i64> = HashMap::new();
        for entry in entries {
            if let Some(payment) = entry.payment_id {
                let debit = match entry.direction {
                    LedgerDirection::Debit => entry.amount,
                    LedgerDirection::Credit => 0,
                };
                *posted.entry(payment).or_default() += debit;
            }
        }
        Ok(posted)
    }

    /// Compares `provider`'s settled transactions in `[from, to)` with the ledger, matching by
    /// provider reference and amount (a refund's negative amount against its positive posting):
    /// matched, missing in the ledger, missing at the provider, amount mismatch. The run is
    /// stored with each discrepancy recorded as a `reconciliation.discrepancy` audit event about
    /// the run (`reconciliation_run`, its id), by the system, in one transaction; `progress` is
    /// called as transactions are compared.
    ///
    /// # Errors
    ///
    /// [`Error::NotConfigured`] `provider_not_configured`; [`Error::Unavailable`]
    /// `provider_unavailable` when the provider cannot be read (the run is stored `failed`);
    /// [`Error::Unexpected`] when the storage fails.
    pub async fn reconcile(
        &self,
        provider: ProviderId,
        from: Timestamp,
        to: Timestamp,
        progress: &(dyn Fn(ReconcileProgress) + Send + Sync),
    ) -> Result<ReconcileOutcome> {
        let adapter = self.configured(provider)?;
        let run_id = ReconciliationRunId::new();
        let repo = &self.ports.reconciliation;
        if repo
            .start_run(run_id, provider, from, to, self.now())
            .await?
            .is_none()
        {
            return Ok(ReconcileOutcome::AlreadyDone);
        }
        let settled = match adapter.settled_transactions(from, to).await {
            Ok(settled) => settled,
            Err(e) => {
                let failed = RunOutcome {
                    status: ReconciliationStatus::Failed,
                    matched: 0,
                    discrepancies: Vec::new(),
                };
                repo.finish_run(run_id, &failed, &[], &system(), self.now())
                    .await?;
                return Err(super::provider_error(&e));
            }
        };
        let ours = self
            .ports
            .payments
            .succeeded_between(provider, from, to)
            .await?;
        let (matched, discrepancies) = self.compare(provider, &settled, ours, progress).await?;
        let status = if discrepancies.is_empty() {
            ReconciliationStatus::Clean
        } else {
            ReconciliationStatus::Discrepancies
        };
        let audit: Vec<NewAuditEvent> = discrepancies
            .iter()
            .map(|discrepancy| NewAuditEvent {
                action: "reconciliation.discrepancy".into(),
                target_type: "reconciliation_run".into(),
                target_id: run_id.to_string(),
                details: json!({
                    "provider": provider,
                    "from": from,
                    "to": to,
                    "discrepancy": discrepancy,
                }),
            })
            .collect();
        let outcome = RunOutcome {
            status,
            matched: i64::try_from(matched.len()).unwrap_or(i64::MAX),
            discrepancies: discrepancies.clone(),
        };
        repo.finish_run(run_id, &outcome, &audit, &system(), self.now())
            .await?;
        Ok(ReconcileOutcome::Ran(ReconciliationReport {
            run_id,
            provider,
            from,
            to,
            status,
            matched,
            discrepancies,
        }))
    }

    /// Repairs what a run found that a webhook should have done: a transaction the provider
    /// settled (`MissingInLedger`) whose payment of ours is still open, for exactly the
    /// payment's amount, is settled `succeeded` through the same idempotent path as a webhook
    /// (one posting per payment, the order's compare-and-set move). Anything else (an amount
    /// mismatch, a transaction of no payment of ours, a payment already final) is left for a
    /// human: reported, never changed. Answers the payments repaired.
    ///
    /// # Errors
    ///
    /// [`Error::Unexpected`](vendrome_core::Error::Unexpected) when the storage fails.
    pub async fn repair(&self, report: &ReconciliationReport) -> Result<Vec<Matched>> {
        let mut repaired = Vec::new();
        for discrepancy in &report.discrepancies {
            let Discrepancy::MissingInLedger { reference, amount } = discrepancy else {
                continue;
            };
            let Some(payment) = self
                .ports
                .payments
                .payment_by_reference(report.provider, reference)
                .await?
            else {
                continue;
            };
            if is_final(payment.status) || payment.amount != *amount || amount.amount <= 0 {
                continue;
            }
            let settled = self
                .settled(
                    &payment,
                    Outcome::new(PaymentStatus::Succeeded, Some(reference.clone())),
                )
                .await?;
            if settled.status == PaymentStatus::Succeeded {
                repaired.push(Matched {
                    reference: reference.clone(),
                    payment_id: payment.id,
                    amount: *amount,
                });
            }
        }
        Ok(repaired)
    }

    async fn compare(
        &self,
        provider: ProviderId,
        settled: &[SettledTransaction],
        ours: Vec<Payment>,
        progress: &(dyn Fn(ReconcileProgress) + Send + Sync),
    ) -> Result<(Vec<Matched>, Vec<Discrepancy>)> {
        let mut ours: HashMap<String, Payment> = ours
            .into_iter()
            .filter_map(|p| p.provider_reference.clone().map(|r| (r, p)))
            .collect();
        let mut matched = Vec::new();
        let mut discrepancies = Vec::new();
        let total = settled.len() as u64;
        // The provider's transactions with the payments they name, then the ledger's postings
        // of all those payments in one query.
        let mut pairs = Vec::with_capacity(settled.len());
        for tx in settled {
            let payment = match ours.remove(&tx.reference) {
                Some(p) => Some(p),
                None => {
                    self.ports
                        .payments
                        .payment_by_reference(provider, &tx.reference)
                        .await?
                }
            };
            pairs.push((tx, payment));
        }
        let ids: Vec<PaymentId> = pairs
            .iter()
            .filter_map(|(_, p)| p.as_ref().map(|p| p.id))
            .collect();
        let posted_by_payment = self.posted(&ids).await?;
        for (done, (tx, payment)) in pairs.into_iter().enumerate() {
            let amount = Money::new(tx.amount.amount.abs(), tx.amount.currency);
            let posted = payment
                .as_ref()
                .and_then(|p| posted_by_payment.get(&p.id).copied());
            match (payment, posted) {
                (Some(p), Some(posted)) if posted == amount.amount && p.amount == amount => {
                    matched.push(Matched {
                        reference: tx.reference.clone(),
                        payment_id: p.id,
                        amount,
                    });
                }
                (Some(p), Some(posted)) => discrepancies.push(Discrepancy::AmountMismatch {
                    reference: tx.reference.clone(),
                    payment_id: p.id,
                    ledger: Money::new(posted, p.amount.currency),
                    provider: amount,
                }),
                // Still open here, settled there for another amount: no webhook would post it.
                (Some(p), None) if p.amount != amount => {
                    discrepancies.push(Discrepancy::AmountMismatch {
                        reference: tx.reference.clone(),
                        payment_id: p.id,
                        ledger: p.amount,
                        provider: amount,
                    });
                }
                _ => discrepancies.push(Discrepancy::MissingInLedger {
                    reference: tx.reference.clone(),
                    amount,
                }),
            }
            progress(ReconcileProgress {
                done: done as u64 + 1,
                total,
            });
        }
        for (reference, p) in ours {
            discrepancies.push(Discrepancy::MissingAtProvider {
                reference,
                payment_id: p.id,
                amount: p.amount,
            });
        }
        Ok((matched, discrepancies))
    }
}

/// Who records a run's audit events: the system, not a member.
fn system() -> AuditContext {
    AuditContext {
        via: Some("system"),
        ..AuditContext::default()
    }
}
