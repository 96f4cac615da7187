//! Tiers by spend band with yearly re-tiering (001 篇3, 003 A13), the periodic
//! weighted rating (002) and GE-matrix scoring (001 篇4).

use serde::Serialize;

use crate::date::days_from_civil;
use crate::error::{AnalysisError, Result};
use crate::transactions::{CustomerIdx, Transactions};

/// A band of average monthly spend `[min, max)` in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierBand {
    pub name: String,
    pub min_monthly_fen: i64,
    pub max_monthly_fen: Option<i64>,
}

/// 003 A13: 水晶 3000–10000 a month, 商务A(A+) 1500–3000 a month, highest first.
pub fn default_bands() -> Vec<TierBand> {
    vec![
        TierBand {
            name: "水晶".into(),
            min_monthly_fen: 300_000,
            max_monthly_fen: Some(1_000_000),
        },
        TierBand {
            name: "商务A(A+)".into(),
            min_monthly_fen: 150_000,
            max_monthly_fen: Some(300_000),
        },
    ]
}

/// 003 A13: a large customer (大客户) spends at least 3000 a month.
pub const LARGE_CUSTOMER_MONTHLY_FEN: i64 = 300_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerTier {
    pub customer: CustomerIdx,
    /// Spend in the year divided by 12, fen.
    pub monthly_fen: i64,
    /// Index into the bands (0 = highest), `None` when in no band.
    pub band: Option<usize>,
    pub large_customer: bool,
}

/// Tier of every customer from its spend in calendar `year` (fixed at the start
/// of the next year). Bands are listed highest first.
pub fn tiers_for_year(tx: &Transactions, year: i32, bands: &[TierBand]) -> Vec<CustomerTier> {
    let (from, to) = (days_from_civil(year, 1, 1), days_from_civil(year, 12, 31));
    let mut spend = vec![0i64; tx.customer_count()];
    for i in 0..tx.len() {
        if (from..=to).contains(&tx.day[i]) {
            spend[tx.customer[i] as usize] += tx.amount_fen[i];
        }
    }
    spend
        .iter()
        .enumerate()
        .map(|(c, &s)| {
            let monthly = s.div_euclid(12);
            let band = bands.iter().position(|b| {
                monthly >= b.min_monthly_fen && b.max_monthly_fen.is_none_or(|m| monthly < m)
            });
            CustomerTier {
                customer: c as CustomerIdx,
                monthly_fen: monthly,
                band,
                large_customer: monthly >= LARGE_CUSTOMER_MONTHLY_FEN,
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierChange {
    pub customer: CustomerIdx,
    pub from: Option<usize>,
    pub to: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retiering {
    pub year: i32,
    pub tiers: Vec<CustomerTier>,
    /// 增级: moved to a higher band (or into a band from none).
    pub upgrades: Vec<TierChange>,
    /// 降级: moved to a lower band (or out of all bands).
    pub downgrades: Vec<TierChange>,
}

/// Yearly re-tiering: tiers from `year`'s spend compared with `year − 1`'s.
pub fn retier(tx: &Transactions, year: i32, bands: &[TierBand]) -> Retiering {
    let prev = tiers_for_year(tx, year - 1, bands);
    let tiers = tiers_for_year(tx, year, bands);
    // Lower index = higher band; no band ranks below all.
    let rank = |b: Option<usize>| b.map_or(usize::MAX, |i| i);
    let mut upgrades = Vec::new();
    let mut downgrades = Vec::new();
    for (p, t) in prev.iter().zip(&tiers) {
        let change = TierChange {
            customer: t.customer,
            from: p.band,
            to: t.band,
        };
        match rank(t.band).cmp(&rank(p.band)) {
            std::cmp::Ordering::Less => upgrades.push(change),
            std::cmp::Ordering::Greater => downgrades.push(change),
            std::cmp::Ordering::Equal => {}
        }
    }
    Retiering {
        year,
        tiers,
        upgrades,
        downgrades,
    }
}

/// The periodic rating grade (002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    /// 重点客户
    Key,
    /// 优质客户
    Quality,
    /// VIP 客户
    Vip,
    /// 普通客户
    Ordinary,
}

/// One customer's indicators in an evaluation period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatingInput {
    pub purchases: u64,
    pub amount_fen: i64,
    pub paid_fen: i64,
    /// Share of payments made on time, 0–1.
    pub on_time_share: f64,
    /// Contribution rate (share of the company's profit or sales), 0–1.
    pub contribution: f64,
}

/// Weights of purchase count, amount, payment amount, timeliness and
/// contribution (sum 1), and the minimum scores (0–100) of key, quality, VIP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatingRules {
    pub weights: [f64; 5],
    pub cuts: [f64; 3],
}

impl Default for RatingRules {
    fn default() -> Self {
        Self {
            weights: [0.2, 0.3, 0.2, 0.15, 0.15],
            cuts: [80.0, 60.0, 40.0],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    /// 0–100: each indicator scaled to 0–100 (count, amounts and contribution
    /// relative to the best customer, timeliness as a share), then weighted.
    pub score: f64,
    pub grade: Grade,
}

/// Rates customers within one evaluation period.
pub fn rate_customers(inputs: &[RatingInput], rules: &RatingRules) -> Result<Vec<Rating>> {
    let wsum: f64 = rules.weights.iter().sum();
    if (wsum - 1.0).abs() > 1e-9 || rules.weights.iter().any(|w| *w < 0.0) {
        return Err(AnalysisError::InvalidParameter(
            "rating weights must be non-negative and sum to 1".into(),
        ));
    }
    let max = |f: &dyn Fn(&RatingInput) -> f64| inputs.iter().map(f).fold(0.0f64, f64::max);
    let mp = max(&|r| r.purchases as f64);
    let ma = max(&|r| r.amount_fen as f64);
    let mpaid = max(&|r| r.paid_fen as f64);
    let mc = max(&|r| r.contribution);
    let rel = |v: f64, m: f64| {
        if m > 0.0 {
            (v / m).clamp(0.0, 1.0) * 100.0
        } else {
            0.0
        }
    };
    Ok(inputs
        .iter()
        .map(|r| {
            let s = [
                rel(r.purchases as f64, mp),
                rel(r.amount_fen as f64, ma),
                rel(r.paid_fen as f64, mpaid),
                r.on_time_share.clamp(0.0, 1.0) * 100.0,
                rel(r.contribution, mc),
            ];
            let score: f64 = s.iter().zip(&rules.weights).map(|(s, w)| s * w).sum();
            let grade = if score >= rules.cuts[0] {
                Grade::Key
            } else if score >= rules.cuts[1] {
                Grade::Quality
            } else if score >= rules.cuts[2] {
                Grade::Vip
            } else {
                Grade::Ordinary
            };
            Rating { score, grade }
        })
        .collect())
}

/// GE-matrix level of an axis score: ≤ 2.33 low, ≤ 3.67 medium, above high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GeLevel {
    Low,
    Medium,
    High,
}

impl GeLevel {
    pub fn of(score: f64) -> GeLevel {
        if score <= 2.33 {
            GeLevel::Low
        } else if score <= 3.67 {
            GeLevel::Medium
        } else {
            GeLevel::High
        }
    }
}

/// GE class: A 重点发展 (above the diagonal), B 维持 (the diagonal), C 一般关注.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GeClass {
    A,
    B,
    C,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeScore {
    /// Attractiveness A = Σ Xi·ai.
    pub attractiveness: f64,
    /// Competitiveness S = Σ Yi·bi.
    pub competitiveness: f64,
    pub attractiveness_level: GeLevel,
    pub competitiveness_level: GeLevel,
    pub class: GeClass,
}

fn weighted(factors: &[(f64, f64)], what: &str) -> Result<f64> {
    let wsum: f64 = factors.iter().map(|f| f.1).sum();
    if factors.is_empty() || (wsum - 1.0).abs() > 1e-9 {
        return Err(AnalysisError::InvalidParameter(format!(
            "{what} weights must sum to 1"
        )));
    }
    if factors
        .iter()
        .any(|(s, w)| !(1.0..=5.0).contains(s) || *w < 0.0)
    {
        return Err(AnalysisError::InvalidParameter(format!(
            "{what} scores must be 1–5 with non-negative weights"
        )));
    }
    Ok(factors.iter().map(|(s, w)| s * w).sum())
}

/// GE-matrix scoring from (score 1–5, weight) pairs of each axis.
pub fn ge_score(attractiveness: &[(f64, f64)], competitiveness: &[(f64, f64)]) -> Result<GeScore> {
    let a = weighted(attractiveness, "attractiveness")?;
    let s = weighted(competitiveness, "competitiveness")?;
    let (la, ls) = (GeLevel::of(a), GeLevel::of(s));
    let class = match la as u8 + ls as u8 {
        3.. => GeClass::A,
        2 => GeClass::B,
        _ => GeClass::C,
    };
    Ok(GeScore {
        attractiveness: a,
        competitiveness: s,
        attractiveness_level: la,
        competitiveness_level: ls,
        class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TransactionsBuilder;

    #[test]
    fn yearly_tiers_with_upgrades_and_downgrades() {
        let mut b = TransactionsBuilder::new();
        let d24 = days_from_civil(2024, 6, 1);
        let d25 = days_from_civil(2025, 6, 1);
        // up: 2024 ordinary, 2025 水晶 (3000 a month = 36000 a year).
        b.push("up", d24, 100_000);
        b.push("up", d25, 3_600_000);
        // down: 2024 水晶, 2025 商务A (1500 a month).
        b.push("down", d24, 3_600_000);
        b.push("down", d25, 1_800_000);
        // same: 商务A both years; 2999.99 a month is not 水晶.
        b.push("same", d24, 3_599_988);
        b.push("same", d25, 1_800_000);
        let tx = b.finish();
        let r = retier(&tx, 2025, &default_bands());
        assert_eq!(r.tiers[0].band, Some(0));
        assert!(r.tiers[0].large_customer);
        assert_eq!(r.tiers[2].band, Some(1));
        assert_eq!(
            r.upgrades,
            vec![TierChange {
                customer: 0,
                from: None,
                to: Some(0)
            }]
        );
        assert_eq!(
            r.downgrades,
            vec![TierChange {
                customer: 1,
                from: Some(0),
                to: Some(1)
            }]
        );
    }

    #[test]
    fn ge_matrix_cells_and_thresholds() {
        // A = 0.5·4 + 0.5·5 = 4.5 high; S = 3 medium → above the diagonal: A.
        let g = ge_score(&[(4.0, 0.5), (5.0, 0.5)], &[(3.0, 1.0)]).unwrap();
        assert_eq!((g.attractiveness, g.class), (4.5, GeClass::A));
        assert_eq!(
            ge_score(&[(5.0, 1.0)], &[(1.0, 1.0)]).unwrap().class,
            GeClass::B
        );
        assert_eq!(
            ge_score(&[(3.0, 1.0)], &[(3.0, 1.0)]).unwrap().class,
            GeClass::B
        );
        assert_eq!(
            ge_score(&[(2.33, 1.0)], &[(3.67, 1.0)]).unwrap().class,
            GeClass::C
        );
        assert_eq!(GeLevel::of(2.34), GeLevel::Medium);
        assert_eq!(GeLevel::of(3.68), GeLevel::High);
        assert!(ge_score(&[(3.0, 0.5)], &[(3.0, 1.0)]).is_err());
        assert!(ge_score(&[(6.0, 1.0)], &[(3.0, 1.0)]).is_err());
    }

    #[test]
    fn weighted_rating_grades() {
        let best = RatingInput {
            purchases: 10,
            amount_fen: 1_000_000,
            paid_fen: 1_000_000,
            on_time_share: 1.0,
            contribution: 0.5,
        };
        let half = RatingInput {
            purchases: 5,
            amount_fen: 500_000,
            paid_fen: 500_000,
            on_time_share: 1.0,
            contribution: 0.25,
        };
        let low = RatingInput {
            purchases: 1,
            amount_fen: 10_000,
            paid_fen: 0,
            on_time_share: 0.0,
            contribution: 0.0,
        };
        let r = rate_customers(&[best, half, low], &RatingRules::default()).unwrap();
        assert_eq!(r[0].grade, Grade::Key);
        assert!((r[0].score - 100.0).abs() < 1e-9);
        // 0.2·50 + 0.3·50 + 0.2·50 + 0.15·100 + 0.15·50 = 57.5 → VIP.
        assert!((r[1].score - 57.5).abs() < 1e-9);
        assert_eq!(r[1].grade, Grade::Vip);
        assert_eq!(r[2].grade, Grade::Ordinary);
    }
}
