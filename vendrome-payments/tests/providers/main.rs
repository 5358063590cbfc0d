//! The provider adapters against local fakes of their APIs, each fake written from the
//! provider's documented API (each module names the document it follows). One binary, one
//! module per provider.

mod airwallex;
mod drills;
mod paypal;
mod paystack;
mod reconcile;
mod south_africa;
mod support;
mod yoco;
