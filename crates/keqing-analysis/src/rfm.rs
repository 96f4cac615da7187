//! RFM: the eight-class model (八大类客户) and 1–5 quintile scores.

use serde::Serialize;

use crate::error::{AnalysisError, Result};
use crate::transactions::{CustomerIdx, CustomerTotals, Transactions};

/// The eight RFM classes of Chinese e-commerce practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmClass {
    /// 重要价值客户: R, F, M all high.
    ImportantValue,
    /// 重要发展客户: R and M high, F low.
    ImportantDevelop,
    /// 重要保持客户: F and M high, R low.
    ImportantKeep,
    /// 重要挽留客户: only M high.
    ImportantRetain,
    /// 一般价值客户: R and F high, M low.
    GeneralValue,
    /// 一般发展客户: only R high.
    GeneralDevelop,
    /// 一般保持客户: only F high.
    GeneralKeep,
    /// 一般挽留客户: none high.
    GeneralRetain,
}

impl RfmClass {
    pub const ALL: [RfmClass; 8] = [
        RfmClass::ImportantValue,
        RfmClass::ImportantDevelop,
        RfmClass::ImportantKeep,
        RfmClass::ImportantRetain,
        RfmClass::GeneralValue,
        RfmClass::GeneralDevelop,
        RfmClass::GeneralKeep,
        RfmClass::GeneralRetain,
    ];

    /// Class from which of R, F, M are "high".
    pub fn from_highs(r: bool, f: bool, m: bool) -> RfmClass {
        match (r, f, m) {
            (true, true, true) => RfmClass::ImportantValue,
            (true, false, true) => RfmClass::ImportantDevelop,
            (false, true, true) => RfmClass::ImportantKeep,
            (false, false, true) => RfmClass::ImportantRetain,
            (true, true, false) => RfmClass::GeneralValue,
            (true, false, false) => RfmClass::GeneralDevelop,
            (false, true, false) => RfmClass::GeneralKeep,
            (false, false, false) => RfmClass::GeneralRetain,
        }
    }

    /// Machine key, e.g. `important_value`.
    pub fn key(self) -> &'static str {
        match self {
            RfmClass::ImportantValue => "important_value",
            RfmClass::ImportantDevelop => "important_develop",
            RfmClass::ImportantKeep => "important_keep",
            RfmClass::ImportantRetain => "important_retain",
            RfmClass::GeneralValue => "general_value",
            RfmClass::GeneralDevelop => "general_develop",
            RfmClass::GeneralKeep => "general_keep",
            RfmClass::GeneralRetain => "general_retain",
        }
    }

    /// The users' word for the class.
    pub fn label_zh(self) -> &'static str {
        match self {
            RfmClass::ImportantValue => "重要价值客户",
            RfmClass::ImportantDevelop => "重要发展客户",
            RfmClass::ImportantKeep => "重要保持客户",
            RfmClass::ImportantRetain => "重要挽留客户",
            RfmClass::GeneralValue => "一般价值客户",
            RfmClass::GeneralDevelop => "一般发展客户",
            RfmClass::GeneralKeep => "一般保持客户",
            RfmClass::GeneralRetain => "一般挽留客户",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Hand-set thresholds replacing the means. R is high when `r < r_days`,
/// F when `f > f`, M when `m > m_fen`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RfmThresholds {
    pub r_days: f64,
    pub f: f64,
    pub m_fen: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RfmOptions {
    /// As-of day; default the day after the last purchase. Rows after it are ignored.
    pub as_of: Option<i32>,
    /// Thresholds instead of the means over all customers.
    pub thresholds: Option<RfmThresholds>,
    /// Skip the 1–5 quintile scores (they need three sorts).
    pub skip_scores: bool,
}

/// One customer's RFM values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRfm {
    pub customer: CustomerIdx,
    /// Days from the last purchase to the as-of date.
    pub recency_days: i32,
    /// Number of purchases (rows).
    pub frequency: u64,
    /// Total amount in fen.
    pub monetary_fen: i64,
    /// Quintile scores 1–5, 5 best (0 when scores were skipped).
    pub r_score: u8,
    pub f_score: u8,
    pub m_score: u8,
    pub class: RfmClass,
}

impl CustomerRfm {
    /// The combined score code such as "555".
    pub fn score_code(&self) -> String {
        format!("{}{}{}", self.r_score, self.f_score, self.m_score)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmClassSummary {
    pub class: RfmClass,
    pub count: u64,
    pub sales_fen: i64,
    pub customer_share: f64,
    pub sales_share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RfmResult {
    pub as_of: i32,
    pub customers: usize,
    pub transactions: usize,
    /// Means over all customers: days, purchases, fen.
    pub mean_r_days: f64,
    pub mean_f: f64,
    pub mean_m_fen: f64,
    /// The thresholds actually used (the means unless set by hand).
    pub thresholds: RfmThresholds,
    /// In [`RfmClass::ALL`] order.
    pub classes: Vec<RfmClassSummary>,
    /// Customers with at least one purchase up to the as-of date, by index.
    pub rows: Vec<CustomerRfm>,
}

/// Computes R, F, M per customer, the eight classes and the quintile scores.
pub fn rfm(tx: &Transactions, opts: &RfmOptions) -> Result<RfmResult> {
    tx.validate()?;
    let as_of = match opts.as_of.or_else(|| tx.default_as_of()) {
        Some(d) => d,
        None => return Err(AnalysisError::Empty("no transactions".into())),
    };
    let mut totals = CustomerTotals::from_transactions(tx, Some(as_of));
    totals.customer_ids = Vec::new(); // rows refer to tx.customer_ids
    rfm_core(&totals, as_of, opts)
}

/// RFM from per-customer totals (e.g. [`crate::csv::read_csv_totals`] with
/// `up_to` = the as-of date). Row indices refer to `totals.customer_ids`.
pub fn rfm_from_totals(totals: &CustomerTotals, opts: &RfmOptions) -> Result<RfmResult> {
    let as_of = match opts.as_of.or(totals.max_day.map(|d| d + 1)) {
        Some(d) => d,
        None => return Err(AnalysisError::Empty("no transactions".into())),
    };
    if totals.max_day.is_some_and(|m| m > as_of) {
        return Err(AnalysisError::InvalidParameter(
            "the totals include purchases after the as-of date; build them up to the as-of date"
                .into(),
        ));
    }
    rfm_core(totals, as_of, opts)
}

fn rfm_core(t: &CustomerTotals, as_of: i32, opts: &RfmOptions) -> Result<RfmResult> {
    let k = t.purchases.len();
    let mut rows: Vec<CustomerRfm> = (0..k)
        .filter(|&c| t.purchases[c] > 0)
        .map(|c| CustomerRfm {
            customer: c as CustomerIdx,
            recency_days: as_of - t.last_day[c],
            frequency: t.purchases[c],
            monetary_fen: t.amount_fen[c],
            r_score: 0,
            f_score: 0,
            m_score: 0,
            class: RfmClass::GeneralRetain,
        })
        .collect();
    if rows.is_empty() {
        return Err(AnalysisError::Empty(
            "no purchases on or before the as-of date".into(),
        ));
    }
    let n = rows.len() as f64;
    let mean_r = rows.iter().map(|r| f64::from(r.recency_days)).sum::<f64>() / n;
    let mean_f = rows.iter().map(|r| r.frequency as f64).sum::<f64>() / n;
    let mean_m = rows.iter().map(|r| r.monetary_fen as f64).sum::<f64>() / n;
    let th = opts.thresholds.unwrap_or(RfmThresholds {
        r_days: mean_r,
        f: mean_f,
        m_fen: mean_m,
    });
    let mut classes: Vec<RfmClassSummary> = RfmClass::ALL
        .iter()
        .map(|&class| RfmClassSummary {
            class,
            count: 0,
            sales_fen: 0,
            customer_share: 0.0,
            sales_share: 0.0,
        })
        .collect();
    let mut total_sales: i64 = 0;
    for r in &mut rows {
        r.class = RfmClass::from_highs(
            f64::from(r.recency_days) < th.r_days,
            r.frequency as f64 > th.f,
            r.monetary_fen as f64 > th.m_fen,
        );
        let s = &mut classes[r.class.index()];
        s.count += 1;
        s.sales_fen += r.monetary_fen;
        total_sales += r.monetary_fen;
    }
    for s in &mut classes {
        s.customer_share = s.count as f64 / n;
        s.sales_share = if total_sales != 0 {
            s.sales_fen as f64 / total_sales as f64
        } else {
            0.0
        };
    }
    if !opts.skip_scores {
        // R: fewer days is better, so score on the negated value.
        let r: Vec<i64> = rows.iter().map(|r| -i64::from(r.recency_days)).collect();
        let f: Vec<i64> = rows.iter().map(|r| r.frequency as i64).collect();
        let m: Vec<i64> = rows.iter().map(|r| r.monetary_fen).collect();
        let (rs, fs, ms) = (
            quintile_scores(&r),
            quintile_scores(&f),
            quintile_scores(&m),
        );
        for (i, row) in rows.iter_mut().enumerate() {
            row.r_score = rs[i];
            row.f_score = fs[i];
            row.m_score = ms[i];
        }
    }
    Ok(RfmResult {
        as_of,
        customers: rows.len(),
        transactions: t.rows as usize,
        mean_r_days: mean_r,
        mean_f,
        mean_m_fen: mean_m,
        thresholds: th,
        classes,
        rows,
    })
}

/// Score 1–5 by quintile, higher value better: 1 + ⌊5 · (customers strictly
/// lower) / n⌋, so tied values always share a score.
pub fn quintile_scores(values: &[i64]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = values.len().max(1);
    values
        .iter()
        .map(|v| {
            let below = sorted.partition_point(|x| x < v);
            (1 + below * 5 / n).min(5) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TransactionsBuilder;

    /// Eight customers, one in each class, with means R = 10, F = 3, M = 1000 yuan.
    fn one_per_class() -> Transactions {
        let mut b = TransactionsBuilder::new();
        // (id, recency, purchases, total yuan); as-of day 100.
        let spec: [(&str, i32, u64, i64); 8] = [
            ("iv", 2, 5, 1800),
            ("id", 2, 1, 1800),
            ("ik", 18, 5, 1800),
            ("ir", 18, 1, 1800),
            ("gv", 2, 5, 200),
            ("gd", 2, 1, 200),
            ("gk", 18, 5, 200),
            ("gr", 18, 1, 200),
        ];
        for (id, r, f, m) in spec {
            for j in 0..f {
                let amount = if j == 0 { m * 100 - (f as i64 - 1) } else { 1 };
                b.push(id, 100 - r, amount);
            }
        }
        b.finish()
    }

    #[test]
    fn eight_classes_from_means() {
        let tx = one_per_class();
        let res = rfm(
            &tx,
            &RfmOptions {
                as_of: Some(100),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(res.mean_r_days, 10.0);
        assert_eq!(res.mean_f, 3.0);
        assert_eq!(res.mean_m_fen, 100_000.0);
        for row in &res.rows {
            let id = &tx.customer_ids[row.customer as usize];
            let want = match id.as_str() {
                "iv" => RfmClass::ImportantValue,
                "id" => RfmClass::ImportantDevelop,
                "ik" => RfmClass::ImportantKeep,
                "ir" => RfmClass::ImportantRetain,
                "gv" => RfmClass::GeneralValue,
                "gd" => RfmClass::GeneralDevelop,
                "gk" => RfmClass::GeneralKeep,
                _ => RfmClass::GeneralRetain,
            };
            assert_eq!(row.class, want, "{id}");
        }
        assert!(res.classes.iter().all(|c| c.count == 1));
        assert_eq!(res.classes[0].sales_share, 1800.0 / 8000.0);
    }

    #[test]
    fn equal_to_the_mean_is_not_high() {
        let mut b = TransactionsBuilder::new();
        b.push("a", 10, 100);
        b.push("b", 10, 100);
        let res = rfm(&b.finish(), &RfmOptions::default()).unwrap();
        assert_eq!(res.as_of, 11);
        assert!(res.rows.iter().all(|r| r.class == RfmClass::GeneralRetain));
        assert!(res.rows.iter().all(|r| r.score_code() == "111"));
    }

    #[test]
    fn hand_set_thresholds_override_means() {
        let tx = one_per_class();
        let th = RfmThresholds {
            r_days: 100.0,
            f: 0.0,
            m_fen: 0.0,
        };
        let res = rfm(
            &tx,
            &RfmOptions {
                as_of: Some(100),
                thresholds: Some(th),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(res.classes[RfmClass::ImportantValue.index()].count, 8);
    }

    #[test]
    fn quintiles_give_five_to_the_best_fifth() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(quintile_scores(&v), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(quintile_scores(&[7, 7, 7]), vec![1, 1, 1]);
    }

    #[test]
    fn class_counts_sum_to_customers_for_many_random_inputs() {
        let mut rng = crate::cluster::Rng::new(7);
        for _ in 0..50 {
            let mut b = TransactionsBuilder::new();
            let n = 1 + rng.below(300) as usize;
            for _ in 0..n {
                let c = format!("c{}", rng.below(60));
                b.push(&c, rng.below(400) as i32, rng.below(100_000) as i64);
            }
            let tx = b.finish();
            let res = rfm(&tx, &RfmOptions::default()).unwrap();
            let total: u64 = res.classes.iter().map(|c| c.count).sum();
            assert_eq!(total as usize, tx.customer_count());
            assert_eq!(res.transactions, n);
            let shares: f64 = res.classes.iter().map(|c| c.sales_share).sum();
            assert!((shares - 1.0).abs() < 1e-9);
            assert!(res
                .rows
                .iter()
                .all(|r| (1..=5).contains(&r.r_score) && r.recency_days >= 1));
        }
    }
}
