//! Sales performance (业绩考核, SPEC §6): metrics, targets split year →
//! month → working day, their revisions, and the KPI formulas of 003 A7.
//!
//! Amounts are integers in a metric's unit: fen for money metrics (sales,
//! receivables), a count otherwise (cases, customers, visits). Working days
//! come from the caller (keqing-care's statutory calendar); the formulas
//! here are pure.

use crate::customer::{opt_id, opt_text};
use crate::error::{Collector, ValidationError};
use crate::money::Money;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

labeled_enum!(
    /// What a target counts (003 A7: sales in cases and yuan, receivables,
    /// new customers, visits).
    Metric {
    SalesAmount = "sales_amount", "销售额";
    Quantity = "quantity", "销量";
    Receivables = "receivables", "回款";
    NewCustomers = "new_customers", "新客户";
    Visits = "visits", "拜访";
});

impl Metric {
    /// Whether amounts are money (fen; yuan strings in JSON).
    pub fn is_money(self) -> bool {
        matches!(self, Metric::SalesAmount | Metric::Receivables)
    }

    /// The metric's number in the daily totals (`perf_daily.metric`).
    pub fn code(self) -> i64 {
        match self {
            Metric::SalesAmount => 1,
            Metric::Quantity => 2,
            Metric::Receivables => 3,
            Metric::NewCustomers => 4,
            Metric::Visits => 5,
        }
    }

    /// An amount as JSON carries it: yuan with two decimals for money, the
    /// count otherwise; always a string, so no figure loses precision.
    pub fn format(self, amount: i64) -> String {
        if self.is_money() {
            Money(amount).to_string()
        } else {
            amount.to_string()
        }
    }
}

labeled_enum!(
    /// Whose target: a person, a team, a region or the company.
    Level {
    User = "user", "个人";
    Team = "team", "团队";
    Region = "region", "区域";
    Company = "company", "公司";
});

/// A new target: `{level, subject_id?, metric, year, amount, months?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetInput {
    pub level: Level,
    /// The person, team or region (none for the company).
    pub subject_id: Option<i64>,
    pub metric: Metric,
    pub year: i32,
    /// The year's amount in the metric's unit.
    pub amount: i64,
    /// The year split into months, summing to `amount`.
    pub months: [i64; 12],
}

/// A revision: `{version, amount, effective_from, reason, months?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionInput {
    pub version: i64,
    pub amount: i64,
    /// The new split; none: the old one's proportions.
    pub months: Option<[i64; 12]>,
    pub effective_from: NaiveDate,
    pub reason: String,
}

/// One figure of a target's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetRevision {
    pub version: i64,
    pub amount: i64,
    pub months: Vec<i64>,
    pub effective_from: NaiveDate,
    pub reason: Option<String>,
    pub by: Option<i64>,
    pub by_name: Option<String>,
    pub at: DateTime<Utc>,
}

/// A stored target with its whole history, oldest revision first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub id: i64,
    pub level: Level,
    pub subject_id: Option<i64>,
    pub metric: Metric,
    pub year: i32,
    pub version: i64,
    pub revisions: Vec<TargetRevision>,
}

impl Target {
    /// The figure in force on `day`: the latest revision effective on or
    /// before it (the first one when `day` comes before them all).
    pub fn in_force(&self, day: NaiveDate) -> &TargetRevision {
        self.revisions
            .iter()
            .filter(|r| r.effective_from <= day)
            .max_by_key(|r| (r.effective_from, r.version))
            .or_else(|| self.revisions.first())
            .expect("a stored target has its first revision")
    }

    /// The figure now: the last revision.
    pub fn current(&self) -> &TargetRevision {
        self.revisions
            .last()
            .expect("a stored target has its first revision")
    }
}

const TARGET_FIELDS: &[&str] = &["level", "subject_id", "metric", "year", "amount", "months"];
const REVISION_FIELDS: &[&str] = &["version", "amount", "effective_from", "reason", "months"];

/// A number given as a JSON number or a decimal string, in hundredths.
fn hundredths(v: &Value) -> Result<i64, String> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => return Err(format!("应为数字 not a number: {other}")),
    };
    Money::parse(&text).map(|m| m.fen()).map_err(|_| {
        format!("应为数字，最多两位小数 not a number with at most two decimals: {text:?}")
    })
}

/// A year's amount in the metric's unit: yuan (to the fen) for money, a
/// whole count otherwise; never negative.
fn amount(metric: Option<Metric>, v: Option<&Value>) -> Result<i64, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Err("缺少目标值 the amount is missing".into());
    };
    let h = hundredths(v)?;
    if h < 0 {
        return Err("目标值不能为负 the amount cannot be negative".into());
    }
    match metric {
        Some(m) if m.is_money() => Ok(h),
        _ if h % 100 != 0 => Err("该指标为整数 this metric counts whole units".into()),
        _ => Ok(h / 100),
    }
}

/// `amount` split by `weights` (in hundredths, not all zero) in proportion,
/// the rounding remainders going to the largest fractions, so the months
/// sum to the amount exactly.
fn apportion(amount: i64, weights: &[i64; 12]) -> [i64; 12] {
    let total: i128 = weights.iter().map(|&w| w as i128).sum();
    let mut out = [0i64; 12];
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(12);
    let mut given = 0i64;
    for (i, &w) in weights.iter().enumerate() {
        let exact = amount as i128 * w as i128;
        out[i] = (exact / total) as i64;
        given += out[i];
        rems.push((exact % total, i));
    }
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems.into_iter().take((amount - given) as usize) {
        out[i] += 1;
    }
    out
}

/// The year split into months: evenly without weights; with twelve weights,
/// in proportion when they sum to 1, to 100 (per cent) or to the year's
/// amount itself (the months given as amounts). Anything else: an error on
/// `months`.
pub fn split_year(
    metric: Metric,
    amount: i64,
    months: Option<&Value>,
) -> Result<[i64; 12], String> {
    let Some(v) = months.filter(|v| !v.is_null()) else {
        return Ok(apportion(amount, &[1; 12]));
    };
    let Value::Array(items) = v else {
        return Err("应为12个月的权重数组 give months as an array of 12 weights".into());
    };
    if items.len() != 12 {
        return Err(format!(
            "应有12个月的权重，收到{}个 months needs 12 weights, got {}",
            items.len(),
            items.len()
        ));
    }
    let mut w = [0i64; 12];
    for (i, item) in items.iter().enumerate() {
        let h = hundredths(item).map_err(|e| format!("第{}个月 month {}: {e}", i + 1, i + 1))?;
        if h < 0 {
            return Err(format!(
                "第{}个月的权重不能为负 month {}'s weight cannot be negative",
                i + 1,
                i + 1
            ));
        }
        w[i] = h;
    }
    let sum: i64 = w.iter().sum();
    let amount_h = if metric.is_money() {
        amount
    } else {
        amount.saturating_mul(100)
    };
    if sum == 0 {
        return Err("各月权重不能全为0 the months' weights cannot all be zero".into());
    }
    if sum != 100 && sum != 10_000 && sum != amount_h {
        return Err(format!(
            "各月之和应等于全年目标 {} 或 100% the months must add up to the year's {} (or to 100%)",
            metric.format(amount),
            metric.format(amount)
        ));
    }
    Ok(apportion(amount, &w))
}

impl TargetInput {
    /// Parses `POST /targets`, every wrong field named.
    pub fn from_json(obj: &Map<String, Value>) -> Result<TargetInput, ValidationError> {
        let mut c = Collector::default();
        for k in obj.keys() {
            if !TARGET_FIELDS.contains(&k.as_str()) {
                c.push(k, "未知字段 unknown field");
            }
        }
        let g = |k: &str| obj.get(k);
        let level = c.take("level", required_label(g("level"), Level::parse, "level"));
        let metric = c.take(
            "metric",
            required_label(g("metric"), Metric::parse, "metric"),
        );
        let subject_id = c.take("subject_id", opt_id(g("subject_id"))).flatten();
        match (level, subject_id) {
            (Some(Level::Company), Some(_)) => c.push(
                "subject_id",
                "公司目标不需要对象 a company target has no subject_id",
            ),
            (Some(l), None) if l != Level::Company => c.push(
                "subject_id",
                "缺少目标对象 a person's, team's or region's target needs its subject_id",
            ),
            _ => {}
        }
        let year = c.take("year", year(g("year")));
        let amount = c.take("amount", amount(metric, g("amount")));
        let months = match (metric, amount) {
            (Some(m), Some(a)) => c.take("months", split_year(m, a, g("months"))),
            _ => None,
        };
        c.finish()?;
        Ok(TargetInput {
            level: level.expect("checked"),
            subject_id,
            metric: metric.expect("checked"),
            year: year.expect("checked"),
            amount: amount.expect("checked"),
            months: months.expect("checked"),
        })
    }
}

impl RevisionInput {
    /// Parses `PATCH /targets/{id}` for a target of `metric`; without
    /// `months` the split keeps `current`'s proportions.
    pub fn from_json(
        obj: &Map<String, Value>,
        metric: Metric,
    ) -> Result<RevisionInput, ValidationError> {
        let mut c = Collector::default();
        for k in obj.keys() {
            if !REVISION_FIELDS.contains(&k.as_str()) {
                c.push(k, "未知字段 unknown field");
            }
        }
        let g = |k: &str| obj.get(k);
        let version = match g("version") {
            Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v > 0) => n.as_i64(),
            _ => {
                c.push(
                    "version",
                    "缺少版本号（读取时的 version） the version you read is required",
                );
                None
            }
        };
        let amount = c.take("amount", amount(Some(metric), g("amount")));
        let months = match (amount, g("months").filter(|v| !v.is_null())) {
            (Some(a), Some(m)) => c.take("months", split_year(metric, a, Some(m))).map(Some),
            _ => Some(None),
        };
        let effective_from = match opt_text(g("effective_from")) {
            Ok(Some(s)) => c.take(
                "effective_from",
                NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|_| format!("日期格式不正确 not a date such as 2026-03-01: {s:?}")),
            ),
            Ok(None) => {
                c.push(
                    "effective_from",
                    "缺少生效日期 a revision needs the day it takes effect",
                );
                None
            }
            Err(e) => {
                c.push("effective_from", e);
                None
            }
        };
        let reason = match opt_text(g("reason")) {
            Ok(Some(r)) if r.chars().count() <= 200 => Some(r),
            Ok(Some(_)) => {
                c.push("reason", "原因最多200字 at most 200 characters");
                None
            }
            Ok(None) => {
                c.push("reason", "请说明修正原因 say why the target changes");
                None
            }
            Err(e) => {
                c.push("reason", e);
                None
            }
        };
        c.finish()?;
        Ok(RevisionInput {
            version: version.expect("checked"),
            amount: amount.expect("checked"),
            months: months.flatten(),
            effective_from: effective_from.expect("checked"),
            reason: reason.expect("checked"),
        })
    }

    /// The months this revision stores: its own split, or the amount in
    /// the proportions of `current` (evenly when that was all zero).
    pub fn months_from(&self, current: &[i64]) -> [i64; 12] {
        if let Some(m) = self.months {
            return m;
        }
        let mut w = [0i64; 12];
        for (i, v) in current.iter().take(12).enumerate() {
            w[i] = (*v).max(0);
        }
        if w.iter().all(|&x| x == 0) {
            w = [1; 12];
        }
        apportion(self.amount, &w)
    }
}

fn required_label<T, E: std::fmt::Display>(
    v: Option<&Value>,
    parse: impl Fn(&str) -> Result<T, E>,
    name: &str,
) -> Result<T, String> {
    match opt_text(v)? {
        Some(s) => parse(&s).map_err(|e| e.to_string()),
        None => Err(format!("缺少 {name} {name} is required")),
    }
}

fn year(v: Option<&Value>) -> Result<i32, String> {
    let y = match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => return Err("缺少年份 the year is required".into()),
    };
    match y {
        Some(y) if (2000..=2100).contains(&y) => Ok(y as i32),
        _ => Err("年份应在2000–2100之间 a year from 2000 to 2100".into()),
    }
}

/// A month's plan for the working days `elapsed` of its `total`, rounded
/// to the unit (half away from zero).
pub fn prorate(month_amount: i64, part: u32, total: u32) -> i64 {
    if total == 0 || part >= total {
        return if part == 0 && total == 0 {
            0
        } else {
            month_amount
        };
    }
    let num = month_amount as i128 * part as i128;
    ((num * 2 + total as i128) / (2 * total as i128)) as i64
}

/// The months (1–12) of `year` a period touches, with the first and last
/// day of each part.
pub fn months_in(year: i32, from: NaiveDate, to: NaiveDate) -> Vec<(u32, NaiveDate, NaiveDate)> {
    let mut out = vec![];
    for m in 1..=12u32 {
        let Some(first) = NaiveDate::from_ymd_opt(year, m, 1) else {
            continue;
        };
        let last = month_end(first);
        let (a, b) = (first.max(from), last.min(to));
        if a <= b {
            out.push((m, a, b));
        }
    }
    out
}

/// The last day of `day`'s month.
pub fn month_end(day: NaiveDate) -> NaiveDate {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(day)
}

/// The KPI figures of one period (003 A7).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kpi {
    pub plan: i64,
    pub actual: i64,
    /// actual ÷ plan; none without a plan.
    pub completion: Option<f64>,
    /// elapsed working days ÷ working days of the period.
    pub time_progress: f64,
    /// completion − time progress: positive is ahead of the calendar.
    pub points_ahead: Option<f64>,
    pub working_days: u32,
    pub elapsed_working_days: u32,
    /// The run rate carried to the end of the period: actual ÷ elapsed
    /// working days × working days.
    pub forecast: i64,
}

impl Kpi {
    pub fn compute(plan: i64, actual: i64, working_days: u32, elapsed: u32) -> Kpi {
        let elapsed = elapsed.min(working_days);
        let completion = (plan > 0).then(|| actual as f64 / plan as f64);
        let time_progress = if working_days == 0 {
            0.0
        } else {
            elapsed as f64 / working_days as f64
        };
        let forecast = if elapsed == 0 || elapsed == working_days {
            actual
        } else {
            let num = actual as i128 * working_days as i128;
            ((num * 2 + elapsed as i128) / (2 * elapsed as i128)) as i64
        };
        Kpi {
            plan,
            actual,
            completion,
            time_progress,
            points_ahead: completion.map(|c| c - time_progress),
            working_days,
            elapsed_working_days: elapsed,
            forecast,
        }
    }
}

/// A ratio as whole per cent, as reports print it (102%, 8 points).
pub fn percent(ratio: f64) -> i64 {
    (ratio * 100.0).round() as i64
}

/// The average price: amount ÷ quantity, to the fen (none without quantity).
pub fn average_price(amount_fen: i64, quantity: i64) -> Option<i64> {
    (quantity > 0).then(|| {
        let q = quantity as i128;
        ((amount_fen as i128 * 2 + q) / (2 * q)) as i64
    })
}

/// A sub-metric's share of its whole (省外烟 807 of 3082 cases).
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_tobacco_report_of_003() {
        // 3082 of 3017 cases at 94% time progress: 102%, 8 points ahead.
        // (16 of 17 working days is 94.1%.)
        let k = Kpi::compute(3017, 3082, 17, 16);
        assert_eq!(percent(k.completion.unwrap()), 102);
        assert_eq!(percent(k.time_progress), 94);
        assert_eq!(percent(k.points_ahead.unwrap()), 8);
        // 省外烟 807 of 694: 116%, 22 points; 14 key brands 118 of 92: 128%, 34.
        let k = Kpi::compute(694, 807, 17, 16);
        assert_eq!(percent(k.completion.unwrap()), 116);
        assert_eq!(percent(k.points_ahead.unwrap()), 22);
        let k = Kpi::compute(92, 118, 17, 16);
        assert_eq!(percent(k.completion.unwrap()), 128);
        assert_eq!(percent(k.points_ahead.unwrap()), 34);
        // Average price 10655 yuan a case against the plan's 10749: −94.
        let actual = average_price(3082 * 10655 * 100, 3082).unwrap();
        let plan = average_price(3017 * 10749 * 100, 3017).unwrap();
        assert_eq!((actual - plan) / 100, -94);
        // 省外烟 share 807 of 3082: 26%.
        assert_eq!(percent(share(807, 3082).unwrap()), 26);
    }

    #[test]
    fn forecast_and_edges() {
        // 100 in 10 of 20 working days runs to 200.
        assert_eq!(Kpi::compute(150, 100, 20, 10).forecast, 200);
        let none = Kpi::compute(0, 5, 20, 0);
        assert_eq!(none.completion, None);
        assert_eq!(none.points_ahead, None);
        assert_eq!(none.forecast, 5);
        assert_eq!(Kpi::compute(10, 5, 20, 25).elapsed_working_days, 20);
    }

    #[test]
    fn a_year_splits_evenly_or_by_weights() {
        // 25500 cases evenly: 2125 a month.
        assert_eq!(
            split_year(Metric::Quantity, 25500, None).unwrap(),
            [2125; 12]
        );
        // Remainders go to the largest fractions, the sum stays exact.
        let m = split_year(Metric::Quantity, 100, None).unwrap();
        assert_eq!(m.iter().sum::<i64>(), 100);
        assert_eq!(m[0], 9);
        // Per cent weights.
        let w = json!([10, 5, 8, 8, 8, 8, 8, 8, 8, 9, 10, 10]);
        let m = split_year(Metric::SalesAmount, 100_000_000, Some(&w)).unwrap();
        assert_eq!(m[0], 10_000_000);
        assert_eq!(m.iter().sum::<i64>(), 100_000_000);
        // Months as amounts.
        let w = json!(["3017", 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, "2483"]);
        assert_eq!(
            split_year(Metric::Quantity, 25500, Some(&w)).unwrap()[0],
            3017
        );
        // Months that add up to neither.
        let w = json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        let e = split_year(Metric::Quantity, 25500, Some(&w)).unwrap_err();
        assert!(e.starts_with("各月之和应等于全年目标"), "{e}");
        assert!(split_year(Metric::Quantity, 5, Some(&json!([1, 2]))).is_err());
    }

    #[test]
    fn bad_targets_name_their_fields() {
        let e = TargetInput::from_json(&obj(json!({
            "level": "user", "metric": "quantity", "year": 2026, "amount": -5
        })))
        .unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["subject_id", "amount"]);
        assert!(e.errors[1].message.starts_with("目标值不能为负"));
        let t = TargetInput::from_json(&obj(json!({
            "level": "company", "metric": "sales_amount", "year": 2026, "amount": "25000.50"
        })))
        .unwrap();
        assert_eq!(t.amount, 2_500_050);
        assert_eq!(t.months.iter().sum::<i64>(), 2_500_050);
        let e = TargetInput::from_json(&obj(json!({
            "level": "team", "subject_id": 3, "metric": "visits", "year": 1999, "amount": "2.5", "x": 1
        })))
        .unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["x", "year", "amount"]);
    }

    #[test]
    fn a_revision_keeps_the_split_and_the_history_reads_back() {
        // 003: 2.5万 cases pre-split on 27 Dec, revised to 2.55万 on 31 Dec.
        let r = RevisionInput::from_json(
            &obj(json!({"version": 1, "amount": 25500, "effective_from": "2026-12-31", "reason": "市局修正任务"})),
            Metric::Quantity,
        )
        .unwrap();
        let old = split_year(Metric::Quantity, 25000, None).unwrap();
        assert_eq!(r.months_from(&old).iter().sum::<i64>(), 25500);
        let rev = |v, amount, from: &str| TargetRevision {
            version: v,
            amount,
            months: vec![],
            effective_from: from.parse().unwrap(),
            reason: None,
            by: None,
            by_name: None,
            at: Utc::now(),
        };
        let t = Target {
            id: 1,
            level: Level::Company,
            subject_id: None,
            metric: Metric::Quantity,
            year: 2027,
            version: 2,
            revisions: vec![rev(1, 25000, "2026-12-27"), rev(2, 25500, "2026-12-31")],
        };
        assert_eq!(t.in_force("2026-12-30".parse().unwrap()).amount, 25000);
        assert_eq!(t.in_force("2027-01-28".parse().unwrap()).amount, 25500);
        assert_eq!(t.in_force("2026-01-01".parse().unwrap()).amount, 25000);
        let e = RevisionInput::from_json(&obj(json!({"amount": 1})), Metric::Quantity).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["version", "effective_from", "reason"]);
    }

    #[test]
    fn prorating_a_month() {
        assert_eq!(prorate(3017, 16, 17), 2840);
        assert_eq!(prorate(3017, 17, 17), 3017);
        assert_eq!(prorate(3017, 0, 17), 0);
        let parts = months_in(
            2026,
            "2026-01-15".parse().unwrap(),
            "2026-03-10".parse().unwrap(),
        );
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].1.to_string(), "2026-01-15");
        assert_eq!(parts[2].2.to_string(), "2026-03-10");
        assert_eq!(
            month_end("2026-02-03".parse().unwrap()).to_string(),
            "2026-02-28"
        );
    }
}
