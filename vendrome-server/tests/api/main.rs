//! The HTTP API over a real socket: one test binary, one module per concern. Tests that touch
//! the store run on SQLite and on PostgreSQL (see [`both_stores!`]).

#[macro_use]
mod support;

mod blocks;
mod bookings;
mod caldav;
mod caldav_ctag;
mod calendar;
mod calendar_bookings;
mod calendar_busy;
mod calendar_google;
mod calendar_google_series;
mod calendar_ics;
mod calendar_integrations;
mod calendar_managed;
mod calendar_microsoft;
mod calendar_runner;
mod checkout;
mod checkout_tasks;
mod client_addresses;
mod contract;
mod conversations;
mod disabled_members;
mod errors;
mod feeds;
mod flags;
mod google_fake;
mod graph;
mod graph_fake;
mod group_rules;
mod home_cache;
mod idempotency;
mod identity;
mod identity_admin;
mod identity_limits;
mod identity_sessions;
mod investment_settlement;
mod investments;
mod ledger_tasks;
mod list_bounds;
mod marketing;
mod marketing_instances;
mod marketing_refunds;

mod mentorship;
mod messaging;
mod oauth;
mod orders;
mod paid_bookings;
mod payment_events;
mod posts;
mod profiles;
mod provider_drills;
mod provider_webhooks;
mod read_only;
mod realtime;
mod realtime_abuse;
mod recovery;
mod reviews;
mod search;
mod trending;
mod ws_client;
