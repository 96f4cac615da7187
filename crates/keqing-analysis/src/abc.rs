//! ABC / Pareto classes by cumulative share of sales (002 客户分类表, 70/20/5/5).

use serde::Serialize;

use crate::error::{AnalysisError, Result};
use crate::transactions::{CustomerIdx, Transactions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum AbcClass {
    A,
    B,
    C,
    D,
}

impl AbcClass {
    pub const ALL: [AbcClass; 4] = [AbcClass::A, AbcClass::B, AbcClass::C, AbcClass::D];

    pub fn key(self) -> &'static str {
        match self {
            AbcClass::A => "A",
            AbcClass::B => "B",
            AbcClass::C => "C",
            AbcClass::D => "D",
        }
    }
}

/// Class sizes as percentages of sales, `[70, 20, 5, 5]` by default; they must
/// be positive and sum to 100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbcCuts(pub [f64; 4]);

impl Default for AbcCuts {
    fn default() -> Self {
        AbcCuts([70.0, 20.0, 5.0, 5.0])
    }
}

impl AbcCuts {
    /// Parses `70,20,5,5`.
    pub fn parse(s: &str) -> Result<AbcCuts> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                AnalysisError::InvalidParameter(format!(
                    "cuts {s:?}: expected four numbers like 70,20,5,5"
                ))
            })?;
        let arr: [f64; 4] = v.try_into().map_err(|_| {
            AnalysisError::InvalidParameter(format!("cuts {s:?}: expected four numbers"))
        })?;
        let cuts = AbcCuts(arr);
        cuts.validate()?;
        Ok(cuts)
    }

    pub fn validate(&self) -> Result<()> {
        let sum: f64 = self.0.iter().sum();
        if self.0.iter().any(|c| !c.is_finite() || *c <= 0.0) || (sum - 100.0).abs() > 1e-9 {
            return Err(AnalysisError::InvalidParameter(
                "ABC cuts must be positive and sum to 100".into(),
            ));
        }
        Ok(())
    }

    /// Class of a customer given the share (0–1) of sales ranked before it.
    pub fn class_for(&self, share_before: f64) -> AbcClass {
        let a = self.0[0] / 100.0;
        let b = a + self.0[1] / 100.0;
        let c = b + self.0[2] / 100.0;
        if share_before < a {
            AbcClass::A
        } else if share_before < b {
            AbcClass::B
        } else if share_before < c {
            AbcClass::C
        } else {
            AbcClass::D
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbcCustomer {
    pub customer: CustomerIdx,
    /// 1 = largest sales.
    pub rank: usize,
    pub sales_fen: i64,
    /// Share of total sales held by the customers ranked before this one.
    pub share_before: f64,
    pub class: AbcClass,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbcClassSummary {
    pub class: AbcClass,
    pub customers: u64,
    pub sales_fen: i64,
    pub customer_share: f64,
    pub sales_share: f64,
}

/// A point of the Pareto (Lorenz-style) curve: the top `customer_share` of
/// customers hold `sales_share` of sales.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParetoPoint {
    pub customer_share: f64,
    pub sales_share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AbcResult {
    pub total_sales_fen: i64,
    /// Customers by rank.
    pub customers: Vec<AbcCustomer>,
    pub classes: Vec<AbcClassSummary>,
    /// Share of sales of the top 20% of customers (⌈0.2·n⌉ customers).
    pub top20_share: f64,
    /// 101 points, customer shares 0, 0.01, …, 1.
    pareto: Vec<ParetoPoint>,
}

impl AbcResult {
    pub fn pareto(&self) -> &[ParetoPoint] {
        &self.pareto
    }
}

/// ABC classes from per-customer totals. Ties in sales rank by customer id.
pub fn abc(tx: &Transactions, cuts: &AbcCuts) -> Result<AbcResult> {
    tx.validate()?;
    let mut sales = vec![0i64; tx.customer_count()];
    for (c, a) in tx.customer.iter().zip(&tx.amount_fen) {
        sales[*c as usize] += a;
    }
    abc_from_sales(&tx.customer_ids, &sales, cuts)
}

/// ABC classes from sales per customer (`ids[i]` has `sales_fen[i]`).
pub fn abc_from_sales(ids: &[String], sales_fen: &[i64], cuts: &AbcCuts) -> Result<AbcResult> {
    cuts.validate()?;
    let total: i64 = sales_fen.iter().sum();
    if sales_fen.is_empty() || total <= 0 {
        return Err(AnalysisError::Empty(
            "ABC needs customers with positive total sales".into(),
        ));
    }
    let mut order: Vec<u32> = (0..sales_fen.len() as u32).collect();
    order.sort_unstable_by(|&x, &y| {
        sales_fen[y as usize]
            .cmp(&sales_fen[x as usize])
            .then_with(|| ids[x as usize].cmp(&ids[y as usize]))
    });
    let t = total as f64;
    let mut before: i64 = 0;
    let mut customers = Vec::with_capacity(order.len());
    let mut classes: Vec<AbcClassSummary> = AbcClass::ALL
        .iter()
        .map(|&class| AbcClassSummary {
            class,
            customers: 0,
            sales_fen: 0,
            customer_share: 0.0,
            sales_share: 0.0,
        })
        .collect();
    let mut cum: Vec<i64> = Vec::with_capacity(order.len() + 1);
    cum.push(0);
    for (i, &c) in order.iter().enumerate() {
        let s = sales_fen[c as usize];
        let share_before = before as f64 / t;
        let class = cuts.class_for(share_before);
        let cs = &mut classes[class as usize];
        cs.customers += 1;
        cs.sales_fen += s;
        customers.push(AbcCustomer {
            customer: c,
            rank: i + 1,
            sales_fen: s,
            share_before,
            class,
        });
        before += s;
        cum.push(before);
    }
    let n = order.len();
    for cs in &mut classes {
        cs.customer_share = cs.customers as f64 / n as f64;
        cs.sales_share = cs.sales_fen as f64 / t;
    }
    let top = n.div_ceil(5);
    let pareto = (0..=100)
        .map(|p| {
            let k = (p * n + 50) / 100;
            ParetoPoint {
                customer_share: p as f64 / 100.0,
                sales_share: cum[k] as f64 / t,
            }
        })
        .collect();
    Ok(AbcResult {
        total_sales_fen: total,
        customers,
        classes,
        top20_share: cum[top] as f64 / t,
        pareto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i:02}")).collect()
    }

    #[test]
    fn classes_by_share_held_before_each_customer() {
        // Sales 50, 20, 10, 10, 5, 3, 2 (total 100): shares before 0, 50, 70, 80, 90, 95, 98.
        let sales = [50, 20, 10, 10, 5, 3, 2].map(|y: i64| y * 100);
        let r = abc_from_sales(&ids(7), &sales, &AbcCuts::default()).unwrap();
        let got: Vec<&str> = r.customers.iter().map(|c| c.class.key()).collect();
        assert_eq!(got, ["A", "A", "B", "B", "C", "D", "D"]);
        assert_eq!(r.classes[0].sales_share, 0.7);
        assert_eq!(r.classes[3].customers, 2);
        // Top 20% of 7 customers = 2 customers = 70%.
        assert!((r.top20_share - 0.7).abs() < 1e-12);
        assert_eq!(r.pareto().len(), 101);
        assert_eq!(r.pareto()[100].sales_share, 1.0);
    }

    #[test]
    fn ties_rank_by_customer_id() {
        let r =
            abc_from_sales(&["b".into(), "a".into()], &[100, 100], &AbcCuts::default()).unwrap();
        assert_eq!(r.customers[0].customer, 1);
        assert_eq!(r.customers[1].class, AbcClass::A);
    }

    #[test]
    fn cuts_parse_and_validate() {
        assert_eq!(AbcCuts::parse("70,20,5,5").unwrap(), AbcCuts::default());
        assert!(AbcCuts::parse("70,20,5").is_err());
        assert!(AbcCuts::parse("70,20,5,6").is_err());
        let c = AbcCuts::parse("50,30,10,10").unwrap();
        assert_eq!(c.class_for(0.5), AbcClass::B);
    }
}
