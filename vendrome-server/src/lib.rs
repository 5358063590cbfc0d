//! Vendrome's HTTP API: an axum (on hyper) router under `/v1`, its envelopes and errors,
//! extractors, authentication, idempotency keys, metrics, the OpenAPI document, and the
//! composition root ([`app::App`]) that builds the application from a [`Config`].
//!
//! Only this crate knows HTTP and JSON shapes: handlers parse and validate input, call one
//! service method of `vendrome-core`, and wrap the result in the envelope.

pub mod access_log;
pub mod app;
pub mod auth;
pub mod client_addr;
pub mod commerce;
pub mod config;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod flag_metrics;
pub mod idempotency;
pub mod mail;
pub mod managed_events;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod openapi;
pub mod password_hasher;
pub mod rate_limits;
pub mod read_only;
pub mod realtime;
pub mod request_id;
pub mod routes;
pub mod session_guard;
pub mod state;
pub mod tasks;

pub use app::App;
pub use config::Config;
pub use state::{AppState, Services};
