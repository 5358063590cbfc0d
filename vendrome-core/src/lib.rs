//! The Vendrome domain: entities, identifiers, SQL-mirrored enums, validation, domain errors,
//! service logic and the *ports* (traits) through which that logic reaches storage and the
//! outside world.
//!
//! This crate does no I/O of its own and knows nothing of SQL drivers, HTTP or search engines:
//! adapters in `vendrome-store` (and later crates) implement the ports, and `vendrome-server`
//! adapts the services to HTTP. Everything here can be embedded in any async program.
//!
//! One module per aggregate or feature: [`users`], [`auth`], [`verification`], [`flags`],
//! [`outbox`], [`idempotency`], [`audit`], [`rate_limit`].

pub mod access;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod calendar;
pub mod enums;
pub mod error;
pub mod error_codes;
pub mod events;
pub mod flags;
pub mod graph;
pub mod idempotency;
pub mod ids;
pub mod investments;
pub mod ledger;
pub mod mail;
pub mod marketing;
pub mod mentorship;
pub mod messaging;
pub mod money;
pub mod oauth;
pub mod orders;
pub mod outbox;
pub mod page;
pub mod payments;
pub mod posts;
pub mod profiles;
pub mod rate_limit;
pub mod realtime;
pub mod reviews;
pub mod search;
pub mod sql_enum;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod trending;
pub mod users;
pub mod validation;
pub mod verification;
pub mod workers;

pub use error::{Error, Result};
pub use sql_enum::SqlEnum;
