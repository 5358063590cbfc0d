//! The payload types: one struct per typed post, and [`Currency`].

use serde::Serialize;

use crate::enums::{
    CancellationRefund, InvestmentInstrument, InvestmentStage, MentorshipFormat, ServiceRateUnit,
};
use crate::time::Timestamp;

pub use crate::money::Currency;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductPayload {
    pub title: String,
    pub category: Option<String>,
    /// Price in minor units of `currency`.
    pub price_minor: i64,
    pub currency: Currency,
    /// `null`: stock is not tracked.
    pub stock_quantity: Option<i32>,
    pub sku: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServicePayload {
    pub title: String,
    pub category: Option<String>,
    /// Rate in minor units of `currency`, per `rate_unit`.
    pub rate_minor: i64,
    pub currency: Currency,
    pub rate_unit: ServiceRateUnit,
    pub duration_minutes: Option<i32>,
    pub is_remote: bool,
    pub location: Option<String>,
    /// Bookings are confirmed at once, without the provider (`false` when absent).
    pub auto_confirm: bool,
    /// 0 to 8760 (24 when absent): a client who cancels less than this many hours before the
    /// start gets back what `late_cancellation_refund` says; earlier, everything.
    pub cancellation_window_hours: i32,
    /// `full`, `half` (when absent) or `none`.
    pub late_cancellation_refund: CancellationRefund,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrowdfundingPayload {
    pub title: String,
    /// Goal in minor units of `currency`; positive.
    pub goal_minor: i64,
    pub currency: Currency,
    pub instrument: InvestmentInstrument,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ends_at: Timestamp,
    pub reward_summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvestmentOfferPayload {
    pub title: String,
    pub ticket_min_minor: i64,
    /// At least `ticket_min_minor`.
    pub ticket_max_minor: i64,
    pub currency: Currency,
    /// `null`: any.
    pub instrument: Option<InvestmentInstrument>,
    /// `null`: any.
    pub stage: Option<InvestmentStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvestmentRequestPayload {
    pub title: String,
    /// Positive, in minor units of `currency`.
    pub amount_sought_minor: i64,
    pub currency: Currency,
    pub instrument: InvestmentInstrument,
    pub stage: InvestmentStage,
    /// 0 to 100, two decimals.
    pub equity_offered_percent: Option<f64>,
    pub use_of_funds: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MentorshipRequestPayload {
    /// The expertise sought.
    pub area: String,
    pub format: MentorshipFormat,
    pub duration_weeks: Option<i32>,
    /// Both set (paid) or both `null` (unpaid).
    pub budget_minor: Option<i64>,
    pub currency: Option<Currency>,
}
