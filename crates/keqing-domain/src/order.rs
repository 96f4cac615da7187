//! Orders and payments (SPEC §2): what the value analysis is computed from.

use crate::money::Money;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrder {
    /// The order number in the source system; makes a re-import idempotent.
    pub external_id: Option<String>,
    pub customer_id: i64,
    pub ordered_at: DateTime<Utc>,
    pub amount: Money,
    pub quantity: i64,
    pub product: Option<String>,
    pub channel: Option<String>,
    pub store: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub paid_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: i64,
    #[serde(flatten)]
    pub fields: NewOrder,
}
