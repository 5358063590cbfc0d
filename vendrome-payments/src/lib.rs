//! Vendrome payments: the orchestrator ([`Payments`]) and the provider adapters ([`Sandbox`],
//! [`stripe::Stripe`]), over vendrome-core's ports (`PaymentRepo`, `OrderRepo`,
//! `WebhookInbox`, `LedgerRepo`, `ReconciliationRepo`, `PaymentProvider`).
//!
//! The crate reaches storage only through those ports (no sqlx, axum or vendrome-store in its
//! tree); the HTTP clients of provider adapters may be built on hyper.

mod cancel;
pub mod notifications;
pub mod orchestrator;
pub mod providers;
pub mod routing;
pub mod sandbox;
pub mod signature;
pub mod stripe;

pub use orchestrator::{
    provider_key, CheckoutRequest, Clock, CompletionReport, Matched, Payments, Ports,
    ReconcileOutcome, ReconcileProgress, ReconciliationReport, SettlementReport, WebhookOutcome,
};
pub use sandbox::{Sandbox, SandboxConfig, SandboxOutcome};
pub use stripe::{Stripe, StripeConfig};
