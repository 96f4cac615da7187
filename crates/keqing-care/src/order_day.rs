//! Order-day reminder (003 A14): on a customer's order day (订货日), a
//! customer who has not ordered by 14:30 gets a call task.

use chrono::{NaiveDateTime, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::task::{CareTask, TaskDetail, TaskKey, TaskKind};

/// 14:30, the cut-off of 003 A14.
pub fn default_cutoff() -> NaiveTime {
    NaiveTime::from_hms_opt(14, 30, 0).unwrap_or(NaiveTime::MIN)
}

/// A customer with fixed order weekdays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDayCustomer {
    pub customer_id: i64,
    pub order_weekdays: Vec<Weekday>,
    /// When the customer last ordered (local time), if ever.
    pub last_order_at: Option<NaiveDateTime>,
}

/// Call tasks (kind `order_day`) at local time `now`: for every customer
/// whose order day it is, who has not ordered yet today, once `now` is at
/// or after `cutoff`. Keyed (order_day, customer, -, today): running it
/// every few minutes creates each task once.
pub fn order_day_reminders(
    now: NaiveDateTime,
    cutoff: NaiveTime,
    customers: &[OrderDayCustomer],
) -> Vec<CareTask> {
    use chrono::Datelike;
    if now.time() < cutoff {
        return Vec::new();
    }
    let today = now.date();
    let mut tasks: Vec<CareTask> = customers
        .iter()
        .filter(|c| c.order_weekdays.contains(&today.weekday()))
        .filter(|c| c.last_order_at.is_none_or(|t| t.date() != today))
        .map(|c| CareTask {
            key: TaskKey::customer(TaskKind::OrderDay, c.customer_id, None, today),
            due: today,
            latest: today,
            detail: TaskDetail::OrderDay { cutoff },
        })
        .collect();
    tasks.sort_by_key(|t| t.key);
    tasks.dedup_by_key(|t| t.key);
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        // 2026-11-23 is a Monday.
        NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn customers() -> Vec<OrderDayCustomer> {
        vec![
            OrderDayCustomer {
                customer_id: 1,
                order_weekdays: vec![Weekday::Mon, Weekday::Thu],
                last_order_at: None,
            },
            OrderDayCustomer {
                customer_id: 2,
                order_weekdays: vec![Weekday::Mon],
                last_order_at: Some(at(9, 15)),
            },
            OrderDayCustomer {
                customer_id: 3,
                order_weekdays: vec![Weekday::Tue],
                last_order_at: None,
            },
            OrderDayCustomer {
                customer_id: 4,
                order_weekdays: vec![Weekday::Mon],
                last_order_at: Some(at(9, 0) - chrono::Days::new(7)),
            },
        ]
    }

    #[test]
    fn only_after_the_cutoff_and_without_an_order_today() {
        assert!(order_day_reminders(at(14, 29), default_cutoff(), &customers()).is_empty());
        let tasks = order_day_reminders(at(14, 30), default_cutoff(), &customers());
        let keys: Vec<String> = tasks.iter().map(|t| t.key.to_string()).collect();
        assert_eq!(
            keys,
            ["order_day:c1:-:2026-11-23", "order_day:c4:-:2026-11-23"]
        );
        // Later runs the same day give the same keys.
        let again = order_day_reminders(at(17, 0), default_cutoff(), &customers());
        assert_eq!(again, tasks);
    }
}
