//! Why a use case did not happen, without HTTP: the server answers each
//! kind with its status and code (`keqing-server`'s `error.rs`), the
//! command line prints the message.

use keqing_domain::ValidationError;
use keqing_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is not valid, field by field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such record (the words name what was looked for).
    #[error("未找到 {0} not found")]
    NotFound(String),
    /// The caller's role may not do this (the words say what).
    #[error("无权操作 your role may not {0}")]
    Forbidden(String),
    /// No orders in the caller's scope to analyse.
    #[error("暂无可分析的订单 there are no orders to analyse in your scope")]
    NoOrders,
    /// The analysis engine refused its input.
    #[error("无法完成分析 {0}")]
    Analysis(#[from] keqing_analysis::AnalysisError),
    /// The store failed or refused (conflicts and duplicates are its kinds).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub fn forbidden(what: &str) -> AppError {
        AppError::Forbidden(what.to_string())
    }
}
