//! STUB until the foundation lands on main (its version replaces this file
//! at the merge): the figures pay needs, with the foundation's signatures.

use crate::AppError;
use keqing_store::Store;

/// A person's sales plan and actual of one month, in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthFigure {
    pub user_id: i64,
    pub plan_fen: Option<i64>,
    pub actual_fen: i64,
}

/// Every active user with a sales_amount target or sales in the month.
/// Stub: nobody (the foundation reads targets and perf_daily).
pub async fn month_figures(
    _store: &dyn Store,
    _year: i32,
    _month: u32,
) -> Result<Vec<MonthFigure>, AppError> {
    Ok(vec![])
}

/// The company's actual sales of a year, in fen. Stub: 0.
pub async fn year_sales_fen(_store: &dyn Store, _year: i32) -> Result<i64, AppError> {
    Ok(0)
}
