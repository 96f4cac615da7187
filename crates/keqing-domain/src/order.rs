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
    pub paid_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: i64,
    #[serde(flatten)]
    pub fields: NewOrder,
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
        let day = c
            .take(
                "date",
                parse_with(g("date"), |s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map_err(|_| format!("日期格式不正确 not a date such as 2026-03-01: {s:?}"))
                }),
            )
            .flatten();
        if day.is_none() && g("date").is_none_or(|v| v.is_null()) {
            c.push("date", "缺少下单日期 an order needs its date");
        }
        let amount = match g("amount") {
            None | Some(Value::Null) => {
                c.push("amount", "缺少金额 an order needs its amount in yuan");
                None
            }
            Some(Value::String(_)) => c
                .take("amount", parse_with(g("amount"), Money::parse))
                .flatten(),
            Some(_) => {
                c.push(
                    "amount",
                    "金额应为文本，如 \"1234.50\" give the amount in yuan as a string such as \"1234.50\"",
                );
                None
            }
        };
        if amount.is_some_and(|m| m.fen() <= 0) {
            c.push("amount", "金额应大于0 the amount must be above zero");
        }
        let quantity = match g("quantity") {
            None | Some(Value::Null) => Some(1),
            Some(Value::Number(n)) => n.as_i64().filter(|q| *q > 0).or_else(|| {
                c.push(
                    "quantity",
                    "数量应为正整数 the quantity must be a whole number above zero",
                );
                None
            }),
            Some(Value::String(s)) => {
                s.trim().parse::<i64>().ok().filter(|q| *q > 0).or_else(|| {
                    c.push(
                        "quantity",
                        "数量应为正整数 the quantity must be a whole number above zero",
                    );
                    None
                })
            }
            Some(_) => {
                c.push(
                    "quantity",
                    "数量应为正整数 the quantity must be a whole number above zero",
                );
                None
            }
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
}
