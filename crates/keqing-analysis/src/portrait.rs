//! Portrait reports (客户画像, 002): customers by any categorical field or band.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{AnalysisError, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortraitGroup {
    pub group: String,
    pub customers: u64,
    pub customer_share: f64,
    pub sales_fen: i64,
    pub sales_share: f64,
    /// Sales per customer (fen, rounded down).
    pub sales_per_customer_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Portrait {
    /// Groups by customers descending (ties by name).
    pub groups: Vec<PortraitGroup>,
    /// The group with the highest sales per customer (最有价值群体).
    pub most_valuable: Option<String>,
}

/// Distribution of customers over `group[i]` with their sales `sales_fen[i]`
/// (region, gender, age band, price band, …).
pub fn portrait<S: AsRef<str>>(group: &[S], sales_fen: &[i64]) -> Result<Portrait> {
    if group.len() != sales_fen.len() {
        return Err(AnalysisError::InvalidParameter(
            "groups and sales differ in length".into(),
        ));
    }
    if group.is_empty() {
        return Err(AnalysisError::Empty("no customers".into()));
    }
    let mut m: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
    for (g, s) in group.iter().zip(sales_fen) {
        let e = m.entry(g.as_ref()).or_default();
        e.0 += 1;
        e.1 += s;
    }
    let n = group.len() as f64;
    let total: i64 = sales_fen.iter().sum();
    let mut groups: Vec<PortraitGroup> = m
        .into_iter()
        .map(|(g, (c, s))| PortraitGroup {
            group: g.to_string(),
            customers: c,
            customer_share: c as f64 / n,
            sales_fen: s,
            sales_share: if total != 0 {
                s as f64 / total as f64
            } else {
                0.0
            },
            sales_per_customer_fen: s / c as i64,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.customers
            .cmp(&a.customers)
            .then_with(|| a.group.cmp(&b.group))
    });
    let most_valuable = groups
        .iter()
        .max_by(|a, b| {
            a.sales_per_customer_fen
                .cmp(&b.sales_per_customer_fen)
                .then_with(|| b.group.cmp(&a.group))
        })
        .map(|g| g.group.clone());
    Ok(Portrait {
        groups,
        most_valuable,
    })
}

/// Label of the band holding `v` for ascending `edges`: `<e0`, `e0-e1`, …, `≥en`.
pub fn band_label(v: i64, edges: &[i64]) -> String {
    match edges.iter().position(|&e| v < e) {
        Some(0) => format!("<{}", edges[0]),
        Some(i) => format!("{}-{}", edges[i - 1], edges[i]),
        None => match edges.last() {
            Some(e) => format!("≥{e}"),
            None => "all".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_customers_and_names_the_most_valuable() {
        let region = ["华东", "华北", "华东", "华南"];
        let sales = [100, 900, 300, 50];
        let p = portrait(&region, &sales).unwrap();
        assert_eq!(p.groups[0].group, "华东");
        assert_eq!(p.groups[0].customers, 2);
        assert_eq!(p.groups[0].customer_share, 0.5);
        assert_eq!(p.most_valuable.as_deref(), Some("华北"));
        let total: u64 = p.groups.iter().map(|g| g.customers).sum();
        assert_eq!(total, 4);
    }

    #[test]
    fn bands_by_edges() {
        let edges = [18, 30, 45];
        let got: Vec<String> = [10, 18, 29, 45, 80]
            .iter()
            .map(|&v| band_label(v, &edges))
            .collect();
        assert_eq!(got, ["<18", "18-30", "18-30", "≥45", "≥45"]);
    }
}
