//! # keqing-analysis — customer-value analysis (客户价值分析)
//!
//! Everything works on one in-memory table, [`Transactions`] (customer key,
//! day, amount in fen). Build it from database orders with
//! [`TransactionsBuilder`], or read a CSV ([`read_csv`]) or Parquet file
//! (`read_parquet`, feature `parquet`). Then call the analyses:
//!
//! | analysis | function |
//! |---|---|
//! | RFM eight classes and 1–5 scores | [`rfm::rfm`], or [`rfm::rfm_from_totals`] on [`CustomerTotals`] read with [`read_csv_totals`] (no rows kept) |
//! | ABC / Pareto | [`abc::abc`] |
//! | tiers, yearly re-tiering, periodic rating, GE matrix | [`tier`] |
//! | repeat purchase, purchase cycle | [`repeat::repeat_purchases`] |
//! | churn rate by cause | [`churn::churn_rate`] |
//! | portrait distributions | [`portrait::portrait`] |
//! | CLV: BG/NBD, Pareto/NBD, Gamma-Gamma | [`clv::summarise`], [`clv::clv`] |
//! | k-means with silhouette | [`cluster::kmeans`] |
//! | AISAS funnel | [`funnel::aisas`] |
//!
//! The library has no web or database dependency. The command line
//! (`keqing analyze …`) is in [`cli`] behind the `cli` feature.

pub mod abc;
pub mod churn;
#[cfg(feature = "cli")]
pub mod cli;
pub mod cluster;
pub mod clv;
pub mod csv;
pub mod date;
pub mod error;
pub mod funnel;
pub mod money;
pub mod optim;
#[cfg(feature = "parquet")]
pub mod parquet_input;
pub mod portrait;
pub mod repeat;
pub mod rfm;
pub mod special;
pub mod tier;
pub mod transactions;

pub use crate::csv::{read_csv, read_csv_from, read_csv_totals, ReadOptions, ReadReport};
pub use crate::error::{AnalysisError, Result, RowError};
#[cfg(feature = "parquet")]
pub use crate::parquet_input::read_parquet;
pub use crate::transactions::{CustomerIdx, CustomerTotals, Transactions, TransactionsBuilder};

/// Reads a transactions file, CSV or (with the `parquet` feature) Parquet by extension.
pub fn read_transactions(
    path: &std::path::Path,
    opts: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Transactions, ReadReport)> {
    let is_parquet = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    if is_parquet {
        #[cfg(feature = "parquet")]
        return parquet_input::read_parquet(path, opts);
        #[cfg(not(feature = "parquet"))]
        return Err(AnalysisError::Parquet(
            "this build has no Parquet support (feature `parquet`)".into(),
        ));
    }
    csv::read_csv_with_progress(path, opts, progress)
}
