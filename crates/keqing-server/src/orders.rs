//! Orders edited with a version, their payments (回款) and receivables
//! (SPEC §2, §6). Recording an order is `customers::create_order`.

use crate::auth::CurrentUser;
use crate::customers::{authorized, user_names};
use crate::error::{ApiError, JsonObject};
use crate::extract::{Json, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use keqing_domain::access::{Action, Resource};
use keqing_domain::{Money, NewPayment, Order, OrderUnit, Payment, User};
use keqing_store::{AuditEntry, Receivables};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use keqing_domain::day::china_today as today;

/// Takes the `version` an edit must send off its body.
fn take_version(body: &mut Map<String, Value>) -> Result<i64, ApiError> {
    match body.remove("version") {
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Some(_) => Err(ApiError::invalid(
            "version",
            "版本号应为整数 version must be the integer version you read",
        )),
        None => Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "version_required",
            "缺少版本号 send the `version` you read, so a stale edit is refused instead of overwriting",
        )),
    }
}

/// Loads an order the caller may act on (`action` on Order, the scope row
/// its customer), or answers 404 / 403.
async fn order_in_reach(
    st: &AppState,
    u: &User,
    id: i64,
    action: Action,
) -> Result<Order, ApiError> {
    let o = st
        .store
        .order(id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    authorized(st, u, o.fields.customer_id, Resource::Order, action)
        .await
        .map_err(|e| {
            if e.status == StatusCode::NOT_FOUND {
                ApiError::not_found("order")
            } else {
                e
            }
        })?;
    Ok(o)
}

/// The members an order's edit may send (`NewOrder::patched`, which names
/// every wrong one in one 422).
#[derive(ToSchema)]
pub struct OrderPatch {
    /// the version read; a stale one gives 409
    pub version: i64,
    /// the day ordered, YYYY-MM-DD; not after today (China time)
    pub date: Option<NaiveDate>,
    /// the amount in yuan, a decimal string above zero; not below the
    /// payments recorded
    pub amount: Option<Money>,
    /// a whole number above zero
    pub quantity: Option<i64>,
    /// what the quantity counts (元, 箱, 件 are taken too); null: not said
    pub unit: Option<OrderUnit>,
    /// null clears it
    pub product: Option<String>,
    /// null clears it
    pub channel: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/orders/{id}",
    tag = "customers",
    operation_id = "orders_update",
    description = "Change an order (date, amount, quantity, unit, product, channel) with the version read: 409 when stale, 422 naming each wrong field (an amount below the payments recorded among them). Audited with each field's before and after",
    params(("id" = i64, Path, description = "order id")),
    request_body = OrderPatch,
    responses((status = 200, description = "The order changed, with its payments", body = Order), (status = 409, description = "version_conflict: someone else saved first (details: expected_version, current_version)", body = crate::openapi::ErrorBody))
)]
pub async fn update(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(mut body, _): JsonObject<OrderPatch>,
) -> Result<Json<Order>, ApiError> {
    let version = take_version(&mut body)?;
    let o = order_in_reach(&st, &u, id, Action::Update).await?;
    let new = o.fields.patched(&body)?;
    if new.ordered_at.date_naive() > today() {
        return Err(ApiError::invalid(
            "date",
            format!(
                "下单日期不能晚于今天 the order date cannot be after today ({})",
                today()
            ),
        ));
    }
    if o.version != version {
        return Err(keqing_store::StoreError::Conflict {
            expected: version,
            current: o.version,
        }
        .into());
    }
    let changes = keqing_domain::history::diff(&o.fields.to_json(), &new.to_json());
    if changes.is_empty() {
        return Ok(Json(o));
    }
    Ok(Json(
        st.store
            .update_order(id, version, &new, &changes, &u)
            .await?,
    ))
}

/// `{items}`: what happened to an order and its payments, oldest first.
#[derive(Serialize, ToSchema)]
pub struct OrderHistory {
    pub items: Vec<OrderEvent>,
}

/// A line of the audit log about an order or one of its payments.
#[derive(Serialize, ToSchema)]
pub struct OrderEvent {
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// the display name of `user_id` (null: none)
    pub user_name: Option<String>,
}

#[utoipa::path(
    get,
    path = "/orders/{id}/history",
    tag = "customers",
    operation_id = "orders_history",
    description = "What happened to an order and its payments (create, update with each field's old and new), oldest first",
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "The order's audit lines", body = OrderHistory))
)]
pub async fn history(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<OrderHistory>, ApiError> {
    order_in_reach(&st, &u, id, Action::Read).await?;
    let items = st.store.order_history(id).await?;
    let names = user_names(&st, items.iter().map(|h| h.user_id).collect()).await?;
    Ok(Json(OrderHistory {
        items: items
            .into_iter()
            .map(|entry| OrderEvent {
                user_name: entry.user_id.and_then(|u| names.get(&u).cloned()),
                entry,
            })
            .collect(),
    }))
}

/// A payment to record (`NewPayment::from_json`, which names every wrong
/// member in one 422).
#[derive(ToSchema)]
pub struct PaymentBody {
    /// in yuan, a decimal string above zero, not more than what no payment
    /// covers yet (the order's `unscheduled`)
    pub amount: Money,
    /// the day it is due, YYYY-MM-DD
    pub due_date: Option<NaiveDate>,
    /// the day it was paid, YYYY-MM-DD, not after today (China time); none:
    /// not paid yet
    pub paid_date: Option<NaiveDate>,
}

#[utoipa::path(
    post,
    path = "/orders/{id}/payments",
    tag = "customers",
    operation_id = "orders_create_payment",
    description = "Record a payment (回款) of an order, paid or due: {amount, due_date?, paid_date?}. 422 names `amount` when it is larger than what is still owed on the order (its amount less the payments recorded), `paid_date` when after today",
    params(("id" = i64, Path, description = "order id")),
    request_body = PaymentBody,
    responses((status = 201, description = "The payment stored, with its id", body = Payment), (status = 422, description = "invalid: the fields that are wrong", body = crate::openapi::ErrorBody))
)]
pub async fn create_payment(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(body, _): JsonObject<PaymentBody>,
) -> Result<(StatusCode, Json<Payment>), ApiError> {
    let p = NewPayment::from_json(&body, today())?;
    order_in_reach(&st, &u, id, Action::Update).await?;
    let payment = st.store.add_payment(id, &p, &u).await?;
    Ok((StatusCode::CREATED, Json(payment)))
}

/// The members a payment's edit may send.
#[derive(ToSchema)]
pub struct PaymentPatch {
    /// the version read; a stale one gives 409
    pub version: i64,
    /// in yuan, a decimal string above zero
    pub amount: Option<Money>,
    /// YYYY-MM-DD; null clears it
    pub due_date: Option<NaiveDate>,
    /// YYYY-MM-DD, not after today; null: not paid yet
    pub paid_date: Option<NaiveDate>,
}

#[utoipa::path(
    patch,
    path = "/payments/{id}",
    tag = "customers",
    operation_id = "payments_update",
    description = "Change a payment with the version read, e.g. mark it paid ({version, paid_date}): 409 when stale, 422 as when recorded",
    params(("id" = i64, Path, description = "payment id")),
    request_body = PaymentPatch,
    responses((status = 200, description = "The payment changed", body = Payment), (status = 409, description = "version_conflict: someone else saved first", body = crate::openapi::ErrorBody))
)]
pub async fn update_payment(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(mut body, _): JsonObject<PaymentPatch>,
) -> Result<Json<Payment>, ApiError> {
    let version = take_version(&mut body)?;
    let before = st
        .store
        .payment(id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    order_in_reach(&st, &u, before.order_id, Action::Update)
        .await
        .map_err(|e| {
            if e.status == StatusCode::NOT_FOUND {
                ApiError::not_found("payment")
            } else {
                e
            }
        })?;
    let new = before.fields().patched(&body, today())?;
    Ok(Json(st.store.update_payment(id, version, &new, &u).await?))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceivableParams {
    /// user (default), team, region or company
    level: Option<String>,
    /// the user, team or region id (default: the caller's own)
    subject_id: Option<i64>,
    /// the day (YYYY-MM-DD; default today in China): payments after it
    /// count as unpaid, orders after it not at all
    as_of: Option<NaiveDate>,
}

#[utoipa::path(
    get,
    path = "/receivables",
    tag = "customers",
    operation_id = "receivables",
    description = "What customers still owe (回款 to come) in your Order read scope: outstanding, overdue, by age past due (未到期, 1-30天, 31-60天, 61-90天, 90天以上) and the 50 customers owing most. A subject outside your scope: 403",
    params(ReceivableParams),
    responses((status = 200, description = "The receivables", body = Receivables))
)]
pub async fn receivables(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ReceivableParams>,
) -> Result<Json<Receivables>, ApiError> {
    Ok(Json(
        keqing_app::receivables::receivables(
            st.store.as_ref(),
            &st.grants,
            &u,
            p.level.as_deref(),
            p.subject_id,
            p.as_of.unwrap_or_else(today),
        )
        .await?,
    ))
}
