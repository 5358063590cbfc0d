//! Time as the store keeps it: UTC, microsecond precision (PostgreSQL's), so that a value
//! survives a round trip through either database unchanged.

use chrono::{DateTime, SubsecRound, Utc};

/// A point in time, UTC.
pub type Timestamp = DateTime<Utc>;

/// Now, truncated to microseconds.
pub fn now() -> Timestamp {
    Utc::now().trunc_subsecs(6)
}
