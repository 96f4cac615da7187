//! Logged activities (SPEC §2), as far as the care rules count them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The kind of a logged contact with a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// 拜访: a visit to the customer.
    Visit,
    /// 电话
    Call,
    /// 短信
    Sms,
    Email,
    /// 微信
    Wechat,
    /// 送礼
    Gift,
    /// 帮助: one of the seven kinds of help in 000 (a favour, a problem
    /// solved, a complaint handled, advice, …).
    Help,
    /// Any other in-person meeting (a meal, an event): face-to-face.
    Meeting,
}

/// One logged activity with a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Activity {
    pub customer_id: i64,
    pub kind: ActivityKind,
    pub date: NaiveDate,
}
