//! Typed errors of the analysis library.

use std::path::PathBuf;

/// Why one input row was refused. `line` is 1-based with the header on line 1.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Row(RowError),
    #[error("header: {0}")]
    Header(String),
    #[error("parquet: {0}")]
    Parquet(String),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error("no data: {0}")]
    Empty(String),
    #[error("model fit did not converge: {0}")]
    NoConvergence(String),
    #[error("output: {0}")]
    Output(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = AnalysisError> = std::result::Result<T, E>;
