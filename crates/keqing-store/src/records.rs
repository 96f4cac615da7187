//! Activities and orders (SPEC §2).

use crate::*;

#[async_trait]
pub trait RecordStore: Send + Sync {
    // --- activities, orders ---
    /// Logs an activity; a follow-up also stamps the customer's last follow-up.
    async fn add_activity(
        &self,
        customer_id: i64,
        activity: &NewActivity,
        actor: &User,
    ) -> Result<Activity>;

    /// Logs an activity and stores the care tasks it sets (the follow-up a
    /// salesperson plans while logging it) in one transaction: both or
    /// neither. A task already stored under the same key stays as it is.
    async fn add_activity_with_tasks(
        &self,
        customer_id: i64,
        activity: &NewActivity,
        tasks: CareTaskBatch,
        actor: &User,
    ) -> Result<Activity>;

    async fn activities(&self, customer_id: i64) -> Result<Vec<Activity>>;

    async fn add_orders(&self, orders: &[NewOrder]) -> Result<OrderImportOutcome>;

    /// Records one order entered by hand, audited (`create order`) in the
    /// same transaction; [`StoreError::NotFound`] when the customer does not
    /// exist or is deleted. The order counts in the analysis as an imported
    /// one does ([`RecordStore::order_facts`]).
    async fn create_order(&self, order: &NewOrder, actor: &User) -> Result<Order>;

    /// A customer's orders, newest first, each with its payments.
    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>>;

    /// One order with its payments.
    async fn order(&self, id: i64) -> Result<Option<Order>>;

    /// Changes an order if it is still at `version` ([`StoreError::Conflict`]
    /// otherwise), audited (`update order`, the `changes` as before/after of
    /// each field) in the same transaction. An amount below what its
    /// payments add up to is refused ([`StoreError::Invalid`] on `amount`).
    async fn update_order(
        &self,
        id: i64,
        version: i64,
        order: &NewOrder,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Order>;

    /// The audit log's lines about an order and its payments, oldest first.
    async fn order_history(&self, id: i64) -> Result<Vec<AuditEntry>>;

    /// Records a payment of an order, audited (`create payment`). The sum of
    /// the order's payments may not pass its amount: checked in the
    /// transaction that writes (the order's row locked), refused with
    /// [`StoreError::Invalid`] on `amount` and nothing written.
    /// [`StoreError::NotFound`]: no such order.
    async fn add_payment(
        &self,
        order_id: i64,
        payment: &NewPayment,
        actor: &User,
    ) -> Result<Payment>;

    async fn payment(&self, id: i64) -> Result<Option<Payment>>;

    /// Changes a payment if it is still at `version`, with the same check
    /// as [`RecordStore::add_payment`], audited (`update payment`).
    async fn update_payment(
        &self,
        id: i64,
        version: i64,
        payment: &NewPayment,
        actor: &User,
    ) -> Result<Payment>;

    /// What customers in reach owe on `as_of` (回款 still to come): totals,
    /// ageing buckets and the 50 customers owing most, computed in SQL.
    async fn receivables(&self, q: &ReceivablesQuery) -> Result<Receivables>;

    async fn order_facts(&self) -> Result<Vec<OrderFact>>;
}

/// Whose receivables to read ([`RecordStore::receivables`]), by the
/// customer's owner: theirs, their team's, their region's (by province, as
/// a regional scope reads), or the company's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivablesSubject {
    Company,
    User(i64),
    Team(i64),
    Region(String),
}

#[derive(Debug, Clone)]
pub struct ReceivablesQuery {
    /// What the caller may read (their Order read scope).
    pub visibility: Visibility,
    pub subject: ReceivablesSubject,
    /// Payments paid after this day count as not yet paid; orders placed
    /// after it count not at all.
    pub as_of: NaiveDate,
    /// How many customers to name, those owing most first.
    pub limit: i64,
}

/// The labels of the ageing buckets, by days past due: not yet due, then
/// 1–30, 31–60, 61–90 and over 90 days.
pub const RECEIVABLE_BUCKETS: [&str; 5] = ["未到期", "1-30天", "31-60天", "61-90天", "90天以上"];

/// What is owed, all told. Each order's outstanding amount (its amount less
/// what was paid by `as_of`) falls due in pieces: each payment not yet paid
/// on its due day, the rest not scheduled on the order's due day; a piece
/// without a due day is due on the order's day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receivables {
    /// everything still owed, in yuan
    pub outstanding: Money,
    /// what is past its due day, in yuan
    pub overdue: Money,
    /// the outstanding amount by days past due
    pub buckets: Vec<ReceivableBucket>,
    /// the customers owing most, first the largest
    pub customers: Vec<CustomerReceivable>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivableBucket {
    /// 未到期, 1-30天, 31-60天, 61-90天 or 90天以上
    pub label: String,
    /// in yuan
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerReceivable {
    pub customer_id: i64,
    pub name: String,
    /// the customer's owner (null: in the pool)
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    /// still owed, in yuan
    pub outstanding: Money,
    /// past its due day, in yuan
    pub overdue: Money,
    /// the earliest due day of what is owed
    pub oldest_due: Option<NaiveDate>,
}

/// One customer's line of the receivables query, as both backends read it:
/// (customer_id, name, owner_id, owner_name, outstanding, overdue,
/// oldest_due, the five bucket amounts).
pub(crate) type ReceivableRow = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    i64,
    i64,
    Option<NaiveDate>,
    [i64; 5],
);

/// The customers' conditions of the receivables query: alive, in the
/// caller's reach, the subject's; the same text in both dialects.
pub(crate) fn receivable_customers(
    q: &ReceivablesQuery,
    b: &mut impl crate::customers::BindCustomer,
) -> String {
    let f = CustomerFilter {
        visibility: q.visibility.clone(),
        ..Default::default()
    };
    let mut w = vec![];
    crate::customers::scope_conditions(&f, &mut w, b);
    match &q.subject {
        ReceivablesSubject::Company => {}
        ReceivablesSubject::User(u) => {
            let a = b.int(*u);
            w.push(format!("owner_id = {a}"));
        }
        ReceivablesSubject::Team(t) => {
            let a = b.int(*t);
            w.push(format!("team_id = {a}"));
        }
        ReceivablesSubject::Region(r) => {
            let a = b.text(r.clone());
            w.push(format!("province = {a}"));
        }
    }
    w.join(" AND ")
}

/// Sums customer lines into the totals and keeps the first `limit` (the
/// rows come largest first).
pub(crate) fn receivables_of(rows: Vec<ReceivableRow>, limit: i64) -> Receivables {
    let mut buckets = [0i64; 5];
    let (mut outstanding, mut overdue) = (0, 0);
    for r in &rows {
        outstanding += r.4;
        overdue += r.5;
        for (b, v) in buckets.iter_mut().zip(r.7) {
            *b += v;
        }
    }
    Receivables {
        outstanding: Money(outstanding),
        overdue: Money(overdue),
        buckets: RECEIVABLE_BUCKETS
            .iter()
            .zip(buckets)
            .map(|(l, a)| ReceivableBucket {
                label: l.to_string(),
                amount: Money(a),
            })
            .collect(),
        customers: rows
            .into_iter()
            .take(limit.max(0) as usize)
            .map(|r| CustomerReceivable {
                customer_id: r.0,
                name: r.1,
                owner_id: r.2,
                owner_name: r.3,
                outstanding: Money(r.4),
                overdue: Money(r.5),
                oldest_due: r.6,
            })
            .collect(),
    }
}

/// A payment larger than what is still owed on its order.
pub(crate) fn over_owed(owed_fen: i64) -> StoreError {
    StoreError::Invalid {
        field: "amount".into(),
        message: format!(
            "回款金额超过订单未收金额（尚欠 {m} 元） the payment is larger than what is still owed on the order ({m} yuan)",
            m = Money(owed_fen.max(0))
        ),
    }
}

/// An order's amount below what its payments add up to.
pub(crate) fn below_payments(recorded_fen: i64) -> StoreError {
    StoreError::Invalid {
        field: "amount".into(),
        message: format!(
            "订单金额不能低于已登记的回款 {m} 元 the amount cannot be below the payments recorded ({m} yuan)",
            m = Money(recorded_fen)
        ),
    }
}

/// Keeps an order's `paid_date` the day it was paid in full (the last paid
/// day, once the paid payments reach its amount), NULL while anything is
/// owed: the receivables read only the orders open on their day. The same
/// text in both dialects, the order's id its one parameter.
pub(crate) const SETTLE_ORDER: &str = "UPDATE orders SET paid_date = CASE
        WHEN (SELECT COALESCE(sum(amount_fen), 0) FROM payments WHERE order_id = orders.id AND paid_date IS NOT NULL) >= amount_fen
        THEN (SELECT max(paid_date) FROM payments WHERE order_id = orders.id)
        ELSE NULL END
    WHERE id = {id} AND EXISTS (SELECT 1 FROM payments WHERE order_id = orders.id)";

/// An update's audit detail as a customer's has it (the fields, their old
/// and new values: the audit page shows old → new), with the id of the
/// record it belongs to (`customer_id` of an order, `order_id` of a payment).
pub(crate) fn with_ids(changes: &[FieldChange], key: &str, id: i64) -> serde_json::Value {
    let mut d = crate::customers::changed_fields(changes);
    d[key] = id.into();
    d
}
