//! The public pool's rules as a setting, and release to the pool by hand
//! (SPEC §1; the pool's list and claims are in `customers.rs`).

use crate::auth::CurrentUser;
use crate::customers::authorized;
use crate::error::ApiError;
use crate::extract::Json;
use crate::AppState;
use axum::extract::State;
use keqing_domain::access::{Action, Resource};
use keqing_domain::archive::{self, PoolRules};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most customers one release names.
const RELEASE_MAX: usize = 200;

#[utoipa::path(
    get,
    path = "/pool/rules",
    tag = "customers",
    operation_id = "pool_get_rules",
    description = "The public pool's rules: days without follow-up before a customer is released, by default and per class (A–D), and the most customers one manager may own (a claim beyond it is refused). Every signed-in user may read them.",
    responses((status = 200, description = "The rules in force", body = PoolRules))
)]
pub async fn get_rules(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<PoolRules>, ApiError> {
    Ok(Json(keqing_app::pool::rules(st.store.as_ref()).await?))
}

#[utoipa::path(
    put,
    path = "/pool/rules",
    tag = "customers",
    operation_id = "pool_put_rules",
    description = "Change the public pool's rules (administrators): days 1–3650 (default, and per class A–D), claim limit 1–1,000,000; 422 names each field out of range. The daily release and every claim use them from then on; the change is in the audit log with the old and new rules.",
    request_body = PoolRules,
    responses((status = 200, description = "The rules stored", body = PoolRules))
)]
pub async fn put_rules(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(rules): Json<PoolRules>,
) -> Result<Json<PoolRules>, ApiError> {
    Ok(Json(
        keqing_app::pool::set_rules(st.store.as_ref(), &u, &rules).await?,
    ))
}

/// Customers to release to the pool, and why.
#[derive(Deserialize, ToSchema)]
pub struct ReleaseBody {
    /// the customers (at most 200), each one the caller may change
    ids: Vec<i64>,
    /// why (required, at most 200 characters): kept in each customer's
    /// ownership history and in the audit log
    #[serde(default)]
    reason: Option<String>,
}

/// The answer to a release by hand.
#[derive(Serialize, ToSchema)]
pub struct ReleasedByHand {
    /// the customers released (those named that had an owner)
    pub released: Vec<i64>,
}

#[utoipa::path(
    post,
    path = "/customers/release",
    tag = "customers",
    operation_id = "customers_release_by_hand",
    description = "Release customers to the public pool now, with a reason (a manager their own, a supervisor their team's or region's, an administrator or director any): each must be one the caller may change (403 otherwise, nothing released); those already in the pool are left as they are. The reason is kept in the ownership history and the audit log.",
    request_body = ReleaseBody,
    responses((status = 200, description = "The customers released", body = ReleasedByHand))
)]
pub async fn release_by_hand(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<ReleaseBody>,
) -> Result<Json<ReleasedByHand>, ApiError> {
    if b.ids.is_empty() {
        return Err(ApiError::invalid(
            "ids",
            "请至少选择一个客户 name at least one customer",
        ));
    }
    if b.ids.len() > RELEASE_MAX {
        return Err(ApiError::invalid(
            "ids",
            format!("一次最多{RELEASE_MAX}个客户 at most {RELEASE_MAX} customers at a time"),
        ));
    }
    for id in &b.ids {
        authorized(&st, &u, *id, Resource::Customer, Action::Update).await?;
    }
    let reason = archive::hand_over_reason(b.reason.as_deref())?;
    let released = st.store.release_customers(&b.ids, &reason, &u).await?;
    Ok(Json(ReleasedByHand { released }))
}
