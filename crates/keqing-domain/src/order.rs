//! Orders and payments (SPEC §2): what the value analysis is computed from.

use crate::customer::{opt_id, opt_text, parse_with};
use crate::error::{Collector, ValidationError};
use crate::money::Money;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

labeled_enum!(
    /// What an order's quantity counts: yuan, cases or pieces (003 A7
    /// counts sales in cases: 25000 → 25500 箱).
    OrderUnit {
    Yuan = "yuan", "元";
    Case = "case", "箱";
    Piece = "piece", "件";
});

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrder {
    /// The order number in the source system; makes a re-import idempotent.
    pub external_id: Option<String>,
    pub customer_id: i64,
    pub ordered_at: DateTime<Utc>,
    pub amount: Money,
    pub quantity: i64,
    /// What the quantity counts (none: not said, as in most imported files).
    pub unit: Option<OrderUnit>,
    pub product: Option<String>,
    pub channel: Option<String>,
    pub store: Option<String>,
    pub due_date: Option<NaiveDate>,
    /// The day the order was paid in full (null while anything is owed):
    /// an import's paid date (one payment of the full amount), or the last
    /// payment's day once the payments reach the amount.
    pub paid_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: i64,
    #[serde(flatten)]
    pub fields: NewOrder,
    /// Starts at 1; an edit must send the version it read (stale: 409).
    pub version: i64,
    /// The instalments recorded against the order, by due date.
    pub payments: Vec<Payment>,
    /// The sum of the payments with a paid date, in yuan.
    pub paid: Money,
    /// What is still owed: the amount less what was paid, in yuan.
    pub outstanding: Money,
    /// What no payment covers yet: the amount less every payment recorded
    /// (paid or not yet), in yuan; a new payment may not be larger.
    pub unscheduled: Money,
}

impl Order {
    /// An order with its payments, paid and outstanding summed from them.
    pub fn with_payments(id: i64, fields: NewOrder, version: i64, payments: Vec<Payment>) -> Order {
        let paid = payments
            .iter()
            .filter(|p| p.paid_date.is_some())
            .map(|p| p.amount.fen())
            .sum();
        let recorded: i64 = payments.iter().map(|p| p.amount.fen()).sum();
        Order {
            id,
            outstanding: Money(fields.amount.fen() - paid),
            unscheduled: Money(fields.amount.fen() - recorded),
            fields,
            version,
            payments,
            paid: Money(paid),
        }
    }
}

/// One instalment (回款) of an order: due on a day, paid on a day (none:
/// not yet paid).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    pub id: i64,
    pub order_id: i64,
    /// in yuan, above zero
    pub amount: Money,
    /// the day it is due (null: not said)
    pub due_date: Option<NaiveDate>,
    /// the day it was paid (null: not paid yet)
    pub paid_date: Option<NaiveDate>,
    /// starts at 1; an edit must send the version it read (stale: 409)
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// who recorded it (null: an import or the migration)
    pub created_by: Option<i64>,
}

/// A payment to record, or a payment as an edit leaves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewPayment {
    pub amount: Money,
    pub due_date: Option<NaiveDate>,
    pub paid_date: Option<NaiveDate>,
}

/// The members an order entered by hand may have (`POST /orders`).
const ENTRY_FIELDS: &[&str] = &[
    "customer_id",
    "date",
    "amount",
    "quantity",
    "unit",
    "product",
    "channel",
];

/// The instant an order entered with its day alone is stored at: noon in
/// China (UTC+8), 04:00 UTC, so that the day is the same in China and in
/// UTC (the analysis reads an order's UTC day).
pub fn entered_at(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(4, 0, 0)
        .expect("04:00 is a time of every day")
        .and_utc()
}

impl NewOrder {
    /// An order entered by hand: `{customer_id, date (YYYY-MM-DD), amount
    /// (yuan, a decimal string), quantity?, unit? (yuan, case, piece or
    /// 元, 箱, 件), product?, channel?}`, every wrong member named. The day
    /// is stored as [`entered_at`]; it has no order number.
    pub fn from_json(obj: &Map<String, Value>) -> Result<NewOrder, ValidationError> {
        let mut c = Collector::default();
        for k in obj.keys() {
            if !ENTRY_FIELDS.contains(&k.as_str()) {
                c.push(k, "未知字段 unknown field");
            }
        }
        let g = |k: &str| obj.get(k);
        let customer_id = c.take("customer_id", opt_id(g("customer_id"))).flatten();
        if customer_id.is_none() && g("customer_id").is_none_or(|v| v.is_null()) {
            c.push("customer_id", "缺少客户 an order needs its customer_id");
        }
        let day = c.take("date", day(g("date"))).flatten();
        if day.is_none() && g("date").is_none_or(|v| v.is_null()) {
            c.push("date", "缺少下单日期 an order needs its date");
        }
        let amount = amount(&mut c, g("amount"));
        let quantity = match g("quantity") {
            None | Some(Value::Null) => Some(1),
            v => c.take("quantity", quantity(v)),
        };
        let unit = c
            .take("unit", parse_with(g("unit"), OrderUnit::parse))
            .flatten();
        let product = c.take("product", opt_text(g("product"))).flatten();
        let channel = c.take("channel", opt_text(g("channel"))).flatten();
        c.finish()?;
        Ok(NewOrder {
            external_id: None,
            customer_id: customer_id.unwrap_or_default(),
            ordered_at: entered_at(day.unwrap_or_default()),
            amount: amount.unwrap_or_default(),
            quantity: quantity.unwrap_or(1),
            unit,
            product,
            channel,
            store: None,
            due_date: None,
            paid_date: None,
        })
    }
}

/// A day member (YYYY-MM-DD); null or absent: none.
fn day(v: Option<&Value>) -> Result<Option<NaiveDate>, String> {
    parse_with(v, |s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| format!("日期格式不正确 not a date such as 2026-03-01: {s:?}"))
    })
}

/// An amount in yuan above zero, given as a string; every fault recorded
/// under `amount`.
fn amount(c: &mut Collector, v: Option<&Value>) -> Option<Money> {
    let m = match v {
        None | Some(Value::Null) => {
            c.push("amount", "缺少金额 the amount in yuan is required");
            None
        }
        Some(Value::String(_)) => c.take("amount", parse_with(v, Money::parse)).flatten(),
        Some(_) => {
            c.push(
                "amount",
                "金额应为文本，如 \"1234.50\" give the amount in yuan as a string such as \"1234.50\"",
            );
            None
        }
    };
    if m.is_some_and(|m| m.fen() <= 0) {
        c.push("amount", "金额应大于0 the amount must be above zero");
        return None;
    }
    m
}

/// A quantity: a whole number above zero (a number or a string of one).
fn quantity(v: Option<&Value>) -> Result<i64, String> {
    let q = match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    q.filter(|q| *q > 0)
        .ok_or_else(|| "数量应为正整数 the quantity must be a whole number above zero".to_string())
}

/// The members an edit of an order may change (`PATCH /orders/{id}`).
const EDIT_FIELDS: &[&str] = &["date", "amount", "quantity", "unit", "product", "channel"];

impl NewOrder {
    /// This order with an edit applied (`{date?, amount?, quantity?,
    /// unit?, product?, channel?}`, the version taken off by the caller):
    /// a member left out stays, null clears unit, product and channel;
    /// every wrong member named, as [`NewOrder::from_json`] names them.
    pub fn patched(&self, obj: &Map<String, Value>) -> Result<NewOrder, ValidationError> {
        let mut c = Collector::default();
        let mut o = self.clone();
        for (k, v) in obj {
            let v = Some(v);
            match k.as_str() {
                "date" => match c.take("date", day(v)) {
                    Some(Some(d)) => o.ordered_at = entered_at(d),
                    Some(None) => c.push("date", "缺少下单日期 an order needs its date"),
                    None => {}
                },
                "amount" => {
                    if let Some(m) = amount(&mut c, v) {
                        o.amount = m
                    }
                }
                "quantity" => {
                    if let Some(q) = c.take("quantity", quantity(v)) {
                        o.quantity = q
                    }
                }
                "unit" => {
                    if let Some(u) = c.take("unit", parse_with(v, OrderUnit::parse)) {
                        o.unit = u
                    }
                }
                "product" => {
                    if let Some(p) = c.take("product", opt_text(v)) {
                        o.product = p
                    }
                }
                "channel" => {
                    if let Some(p) = c.take("channel", opt_text(v)) {
                        o.channel = p
                    }
                }
                _ => c.push(k, "未知字段 unknown field"),
            }
        }
        c.finish()?;
        Ok(o)
    }

    /// The members an edit may change, as JSON, for the field-level
    /// history ([`crate::history::diff`]).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "date".into(),
            Value::String(self.ordered_at.date_naive().to_string()),
        );
        m.insert("amount".into(), Value::String(self.amount.to_string()));
        m.insert("quantity".into(), Value::from(self.quantity));
        m.insert(
            "unit".into(),
            self.unit
                .map_or(Value::Null, |u| Value::String(u.as_str().into())),
        );
        m.insert("product".into(), self.product.clone().into());
        m.insert("channel".into(), self.channel.clone().into());
        debug_assert!(m.keys().all(|k| EDIT_FIELDS.contains(&k.as_str())));
        m
    }
}

/// The members of a payment (`POST /orders/{id}/payments`, `PATCH
/// /payments/{id}`).
const PAYMENT_FIELDS: &[&str] = &["amount", "due_date", "paid_date"];

impl NewPayment {
    /// A payment recorded: `{amount (yuan string), due_date?, paid_date?}`,
    /// the paid date not after `today` (China), every wrong member named.
    pub fn from_json(
        obj: &Map<String, Value>,
        today: NaiveDate,
    ) -> Result<NewPayment, ValidationError> {
        let mut c = Collector::default();
        for k in obj.keys() {
            if !PAYMENT_FIELDS.contains(&k.as_str()) {
                c.push(k, "未知字段 unknown field");
            }
        }
        let amount = amount(&mut c, obj.get("amount"));
        let due_date = c.take("due_date", day(obj.get("due_date"))).flatten();
        let paid_date = c
            .take("paid_date", paid_day(obj.get("paid_date"), today))
            .flatten();
        c.finish()?;
        Ok(NewPayment {
            amount: amount.unwrap_or_default(),
            due_date,
            paid_date,
        })
    }

    /// This payment with an edit applied (`{amount?, due_date?,
    /// paid_date?}`, the version taken off by the caller): a member left
    /// out stays, null clears a date.
    pub fn patched(
        &self,
        obj: &Map<String, Value>,
        today: NaiveDate,
    ) -> Result<NewPayment, ValidationError> {
        let mut c = Collector::default();
        let mut p = self.clone();
        for (k, v) in obj {
            match k.as_str() {
                "amount" => {
                    if let Some(m) = amount(&mut c, Some(v)) {
                        p.amount = m
                    }
                }
                "due_date" => {
                    if let Some(d) = c.take("due_date", day(Some(v))) {
                        p.due_date = d
                    }
                }
                "paid_date" => {
                    if let Some(d) = c.take("paid_date", paid_day(Some(v), today)) {
                        p.paid_date = d
                    }
                }
                _ => c.push(k, "未知字段 unknown field"),
            }
        }
        c.finish()?;
        Ok(p)
    }

    /// The members an edit may change, as JSON, for the audit log.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("amount".into(), Value::String(self.amount.to_string()));
        m.insert(
            "due_date".into(),
            self.due_date.map(|d| d.to_string()).into(),
        );
        m.insert(
            "paid_date".into(),
            self.paid_date.map(|d| d.to_string()).into(),
        );
        m
    }
}

impl Payment {
    /// The members an edit works on.
    pub fn fields(&self) -> NewPayment {
        NewPayment {
            amount: self.amount,
            due_date: self.due_date,
            paid_date: self.paid_date,
        }
    }
}

/// A paid date: a day not after `today` (money is recorded once received).
fn paid_day(v: Option<&Value>, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    match day(v)? {
        Some(d) if d > today => Err(format!(
            "回款日期不能晚于今天 the paid date cannot be after today ({today})"
        )),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> Result<NewOrder, ValidationError> {
        NewOrder::from_json(v.as_object().unwrap())
    }

    fn fields(e: ValidationError) -> Vec<String> {
        e.errors.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn an_order_entered_by_hand_is_parsed() {
        let o = entry(json!({"customer_id": 7, "date": "2026-03-01", "amount": "1,234.50", "quantity": 3, "unit": "箱", "product": "螺纹钢"})).unwrap();
        assert_eq!(o.customer_id, 7);
        assert_eq!(o.amount, Money(123_450));
        assert_eq!((o.quantity, o.unit), (3, Some(OrderUnit::Case)));
        assert_eq!(o.ordered_at.to_rfc3339(), "2026-03-01T04:00:00+00:00");
        assert_eq!(o.external_id, None);
        let o = entry(
            json!({"customer_id": "7", "date": "2026-03-01", "amount": "88", "unit": "piece"}),
        )
        .unwrap();
        assert_eq!((o.quantity, o.unit), (1, Some(OrderUnit::Piece)));
    }

    #[test]
    fn every_bad_member_is_named() {
        let e = entry(json!({"date": "2026/03/01", "amount": 12.5, "quantity": 0, "unit": "吨", "colour": "red"})).unwrap_err();
        let mut f = fields(e);
        f.sort();
        assert_eq!(
            f,
            [
                "amount",
                "colour",
                "customer_id",
                "date",
                "quantity",
                "unit"
            ]
        );
        let e = entry(json!({"customer_id": 1, "date": "2026-03-01", "amount": "-5"})).unwrap_err();
        assert_eq!(fields(e), ["amount"]);
        let e =
            entry(json!({"customer_id": 1, "date": "2026-03-01", "amount": "1.234"})).unwrap_err();
        assert_eq!(fields(e), ["amount"]);
    }

    #[test]
    fn an_edit_changes_only_what_it_names() {
        let o = entry(json!({"customer_id": 7, "date": "2026-03-01", "amount": "100", "unit": "箱", "product": "A"})).unwrap();
        let e = o
            .patched(
                json!({"amount": "80.50", "product": null})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!((e.amount, e.product.as_deref()), (Money(8050), None));
        assert_eq!((e.unit, e.ordered_at), (o.unit, o.ordered_at));
        let d = crate::history::diff(&o.to_json(), &e.to_json());
        let f: Vec<_> = d.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(f, ["amount", "product"]);
        let err = o
            .patched(
                json!({"amount": "0", "date": null, "quantity": -1, "customer_id": 3})
                    .as_object()
                    .unwrap(),
            )
            .unwrap_err();
        let mut f = fields(err);
        f.sort();
        assert_eq!(f, ["amount", "customer_id", "date", "quantity"]);
    }

    #[test]
    fn a_payment_is_parsed_and_its_paid_date_is_not_ahead() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 10).unwrap();
        let p = NewPayment::from_json(
            json!({"amount": "300", "due_date": "2026-06-01"})
                .as_object()
                .unwrap(),
            today,
        )
        .unwrap();
        assert_eq!((p.amount, p.paid_date), (Money(30_000), None));
        let paid = p
            .patched(
                json!({"paid_date": "2026-05-10"}).as_object().unwrap(),
                today,
            )
            .unwrap();
        assert_eq!(paid.paid_date, Some(today));
        assert_eq!(paid.due_date, p.due_date);
        let e = NewPayment::from_json(
            json!({"amount": "-1", "paid_date": "2026-05-11", "note": "x"})
                .as_object()
                .unwrap(),
            today,
        )
        .unwrap_err();
        let amount = e.errors.iter().find(|f| f.field == "amount").unwrap();
        assert!(amount.message.starts_with("金额"), "{e}");
        let mut f = fields(e);
        f.sort();
        assert_eq!(f, ["amount", "note", "paid_date"]);
    }

    #[test]
    fn an_order_sums_its_payments() {
        let o = entry(json!({"customer_id": 7, "date": "2026-03-01", "amount": "1000"})).unwrap();
        let pay = |id, fen, paid: Option<NaiveDate>| Payment {
            id,
            order_id: 1,
            amount: Money(fen),
            due_date: None,
            paid_date: paid,
            version: 1,
            created_at: Utc::now(),
            created_by: None,
        };
        let day = NaiveDate::from_ymd_opt(2026, 3, 5);
        let o = Order::with_payments(1, o, 1, vec![pay(1, 30_000, day), pay(2, 20_000, None)]);
        assert_eq!(
            (o.paid, o.outstanding, o.unscheduled),
            (Money(30_000), Money(70_000), Money(50_000))
        );
    }
}
