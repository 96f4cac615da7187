//! The one error type of this crate.

use chrono::NaiveDate;
use thiserror::Error;

/// Everything that can go wrong in `keqing-care`. Every variant names the
/// offending input so the server can show it to the user unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CareError {
    /// A date outside the years the lunar calendar is checked for.
    #[error("日期超出支持范围 date {date} is outside the supported range {first}..={last}")]
    DateOutOfRange {
        date: NaiveDate,
        first: NaiveDate,
        last: NaiveDate,
    },
    /// A year outside 1901–2099.
    #[error("年份超出支持范围 year {year} is outside the supported range {first}..={last}")]
    YearOutOfRange { year: i32, first: i32, last: i32 },
    /// `from` after `to`.
    #[error("日期范围为空 empty date range: {from} is after {to}")]
    EmptyRange { from: NaiveDate, to: NaiveDate },
    /// A month/day that no calendar has (13th month, April 31st, lunar 31st…).
    #[error("日期不存在 invalid {calendar} date: {detail}")]
    InvalidDate {
        calendar: &'static str,
        detail: String,
    },
    /// A leap month asked for in a lunar year that does not have it.
    #[error("该农历年没有此闰月 lunar year {year} has no leap month {month}")]
    NoSuchLeapMonth { year: i32, month: u32 },
    /// A deployment calendar configuration that cannot be used.
    #[error("节日日历配置有误 invalid calendar configuration: {0}")]
    InvalidConfig(String),
    /// A message template that cannot be saved.
    #[error("模板有误 invalid template: {0}")]
    InvalidTemplate(#[from] crate::template::TemplateError),
    /// A task status change that the life cycle does not allow.
    #[error("任务状态不能这样变更 task cannot go from {from} to {to}")]
    InvalidTransition {
        from: &'static str,
        to: &'static str,
    },
    /// A rule parameter that makes no sense (a cap of zero contacts per zero days…).
    #[error("参数有误 invalid parameter {name}: {detail}")]
    InvalidParameter { name: &'static str, detail: String },
}

/// Result with [`CareError`].
pub type Result<T, E = CareError> = std::result::Result<T, E>;
