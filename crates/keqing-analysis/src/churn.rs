//! Churn (客户流失): rate per period and breakdown by cause (003 A13).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{AnalysisError, Result};
use crate::transactions::{CustomerIdx, Transactions};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseShare {
    pub cause: String,
    pub customers: u64,
    /// Share of the churned customers.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChurnResult {
    pub customers_at_start: u64,
    pub churned: u64,
    /// churned / customers at the start of the period.
    pub rate: f64,
    /// Causes by number of customers, descending (ties by name).
    pub by_cause: Vec<CauseShare>,
}

/// Churn rate of a period and its causes: `causes` holds one entry per churned
/// customer (the cause recorded for it, e.g. "竞争对手远距离", "自身经营").
pub fn churn_rate<S: AsRef<str>>(customers_at_start: u64, causes: &[S]) -> Result<ChurnResult> {
    if customers_at_start == 0 {
        return Err(AnalysisError::InvalidParameter(
            "no customers at the start of the period".into(),
        ));
    }
    let churned = causes.len() as u64;
    if churned > customers_at_start {
        return Err(AnalysisError::InvalidParameter(
            "more churned customers than customers".into(),
        ));
    }
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    for c in causes {
        *m.entry(c.as_ref()).or_default() += 1;
    }
    let mut by_cause: Vec<CauseShare> = m
        .into_iter()
        .map(|(cause, n)| CauseShare {
            cause: cause.to_string(),
            customers: n,
            share: n as f64 / churned as f64,
        })
        .collect();
    by_cause.sort_by(|a, b| {
        b.customers
            .cmp(&a.customers)
            .then_with(|| a.cause.cmp(&b.cause))
    });
    Ok(ChurnResult {
        customers_at_start,
        churned,
        rate: churned as f64 / customers_at_start as f64,
        by_cause,
    })
}

/// Customers who bought in `[from, to]` but not in the following `window`
/// days: the behavioural churn list when no cause has been recorded.
pub fn lapsed_customers(tx: &Transactions, from: i32, to: i32, window: i32) -> Vec<CustomerIdx> {
    let k = tx.customer_count();
    let mut before = vec![false; k];
    let mut after = vec![false; k];
    for i in 0..tx.len() {
        let (c, d) = (tx.customer[i] as usize, tx.day[i]);
        if (from..=to).contains(&d) {
            before[c] = true;
        } else if d > to && d <= to + window {
            after[c] = true;
        }
    }
    (0..k)
        .filter(|&c| before[c] && !after[c])
        .map(|c| c as CustomerIdx)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_fixture_3_06_percent_in_half_a_year() {
        // 30,600 of 1,000,000 customers churned: 32% competitor far away,
        // 8.5% competitor data, 40% own business, 19.5% other.
        let mut causes: Vec<&str> = Vec::new();
        causes.extend(std::iter::repeat_n("竞争对手远距离", 9_792));
        causes.extend(std::iter::repeat_n("竞争对手资料", 2_601));
        causes.extend(std::iter::repeat_n("自身经营", 12_240));
        causes.extend(std::iter::repeat_n("其他", 5_967));
        let r = churn_rate(1_000_000, &causes).unwrap();
        assert_eq!((r.rate * 10_000.0).round() / 100.0, 3.06);
        let shares: Vec<(&str, f64)> = r
            .by_cause
            .iter()
            .map(|c| (c.cause.as_str(), (c.share * 1000.0).round() / 10.0))
            .collect();
        assert_eq!(
            shares,
            vec![
                ("自身经营", 40.0),
                ("竞争对手远距离", 32.0),
                ("其他", 19.5),
                ("竞争对手资料", 8.5)
            ]
        );
        assert!(churn_rate(0, &causes).is_err());
    }

    #[test]
    fn lapsed_are_buyers_without_later_purchases() {
        let mut b = crate::TransactionsBuilder::new();
        b.push("stays", 5, 1);
        b.push("stays", 20, 1);
        b.push("leaves", 5, 1);
        b.push("late", 20, 1);
        let tx = b.finish();
        assert_eq!(lapsed_customers(&tx, 0, 10, 30), vec![1]);
    }
}
