//! AISAS funnel (000 article 5): St0 targets, St1 attention, St2 interest,
//! St3 search, St4 action (purchase), St5 share.

use serde::Serialize;

use crate::error::{AnalysisError, Result};

/// The five AISAS conversion stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FunnelStage {
    /// 注意 Ht1 = St1/St0.
    Attention,
    /// 兴趣 Ht2 = St2/St1.
    Interest,
    /// 搜索 Ht3 = St3/St2.
    Search,
    /// 行动 Ht4 = St4/St3.
    Action,
    /// 分享 Ht5 = St5/St4.
    Share,
}

impl FunnelStage {
    pub const ALL: [FunnelStage; 5] = [
        FunnelStage::Attention,
        FunnelStage::Interest,
        FunnelStage::Search,
        FunnelStage::Action,
        FunnelStage::Share,
    ];

    pub fn key(self) -> &'static str {
        match self {
            FunnelStage::Attention => "attention",
            FunnelStage::Interest => "interest",
            FunnelStage::Search => "search",
            FunnelStage::Action => "action",
            FunnelStage::Share => "share",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            FunnelStage::Attention => "注意",
            FunnelStage::Interest => "兴趣",
            FunnelStage::Search => "搜索",
            FunnelStage::Action => "行动",
            FunnelStage::Share => "分享",
        }
    }
}

/// Conversion rates in percent, rounded to two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelRates {
    pub attention: f64,
    pub interest: f64,
    pub search: f64,
    pub action: f64,
    pub share: f64,
    /// Traditional H = St4/St0.
    pub overall: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelResult {
    pub counts: [u64; 6],
    pub rates: FunnelRates,
    /// The stage with the lowest conversion (the first one on ties).
    pub weakest: FunnelStage,
}

fn pct(num: u64, den: u64) -> f64 {
    (num as f64 / den as f64 * 10_000.0).round() / 100.0
}

/// AISAS rates from the six stage counts.
pub fn aisas(counts: [u64; 6]) -> Result<FunnelResult> {
    if counts[..5].contains(&0) {
        return Err(AnalysisError::InvalidParameter(
            "stage counts St0..St4 must be positive".into(),
        ));
    }
    let r: Vec<f64> = (0..5).map(|i| pct(counts[i + 1], counts[i])).collect();
    let rates = FunnelRates {
        attention: r[0],
        interest: r[1],
        search: r[2],
        action: r[3],
        share: r[4],
        overall: pct(counts[4], counts[0]),
    };
    // Compare exact ratios, not rounded percentages.
    let mut weakest = 0;
    for i in 1..5 {
        if (counts[i + 1] as u128) * (counts[weakest] as u128)
            < (counts[weakest + 1] as u128) * (counts[i] as u128)
        {
            weakest = i;
        }
    }
    Ok(FunnelResult {
        counts,
        rates,
        weakest: FunnelStage::ALL[weakest],
    })
}

/// Parses `750,200,150,80,75,70`.
pub fn parse_counts(s: &str) -> Result<[u64; 6]> {
    let v: Vec<u64> = s
        .split(',')
        .map(|p| p.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            AnalysisError::InvalidParameter(format!("counts {s:?}: expected six whole numbers"))
        })?;
    v.try_into().map_err(|_| {
        AnalysisError::InvalidParameter(format!("counts {s:?}: expected six numbers St0..St5"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_fixture_750_200_150_80_75_70() {
        let r = aisas(parse_counts("750,200,150,80,75,70").unwrap()).unwrap();
        assert_eq!(
            r.rates,
            FunnelRates {
                attention: 26.67,
                interest: 75.0,
                search: 53.33,
                action: 93.75,
                share: 93.33,
                overall: 10.0
            }
        );
        assert_eq!(r.weakest, FunnelStage::Attention);
    }

    #[test]
    fn weakest_is_the_lowest_ratio() {
        let r = aisas([100, 90, 80, 10, 9, 9]).unwrap();
        assert_eq!(r.weakest, FunnelStage::Search);
        assert!(aisas([0, 1, 1, 1, 1, 1]).is_err());
        assert!(parse_counts("1,2,3").is_err());
    }
}
