//! The 15-day data-change deadline (000 item 1: "客户资料发生变更后，要保证
//! 在15日内调整登记表相应内容"): a change reported on day d must be
//! registered by d + 15; on d + 15 it is still in time, from d + 16 it is
//! overdue.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::task::{CareTask, TaskDetail, TaskKey, TaskKind};

/// Days allowed to register a reported change.
pub const REGISTRATION_DAYS: u64 = 15;

/// A reported change of a customer's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataChange {
    pub change_id: i64,
    pub customer_id: i64,
    pub reported_on: NaiveDate,
    /// `None` while not yet registered.
    pub registered_on: Option<NaiveDate>,
}

impl DataChange {
    /// The last day to register it: reported + 15 days.
    pub fn deadline(&self) -> NaiveDate {
        self.reported_on + Days::new(REGISTRATION_DAYS)
    }

    /// Still open and past its deadline at `as_of`.
    pub fn is_overdue(&self, as_of: NaiveDate) -> bool {
        self.registered_on.is_none() && as_of > self.deadline()
    }
}

/// Tasks (kind `deadline`) for the changes overdue at `as_of`: one per
/// customer and deadline day, listing the change ids, keyed on the
/// deadline (so the same overdue change gives the same task every day).
pub fn overdue_change_tasks(as_of: NaiveDate, changes: &[DataChange]) -> Vec<CareTask> {
    let mut grouped: BTreeMap<(i64, NaiveDate), Vec<i64>> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.is_overdue(as_of)) {
        grouped
            .entry((c.customer_id, c.deadline()))
            .or_default()
            .push(c.change_id);
    }
    grouped
        .into_iter()
        .map(|((customer_id, deadline), mut change_ids)| {
            change_ids.sort_unstable();
            change_ids.dedup();
            CareTask {
                key: TaskKey::customer(TaskKind::Deadline, customer_id, None, deadline),
                due: as_of,
                latest: as_of,
                detail: TaskDetail::Deadline {
                    change_ids,
                    deadline,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn fifteen_days_then_overdue() {
        let c = DataChange {
            change_id: 1,
            customer_id: 5,
            reported_on: d(2026, 11, 1),
            registered_on: None,
        };
        assert_eq!(c.deadline(), d(2026, 11, 16));
        assert!(!c.is_overdue(d(2026, 11, 16)));
        assert!(c.is_overdue(d(2026, 11, 17)));
        let done = DataChange {
            registered_on: Some(d(2026, 11, 20)),
            ..c
        };
        assert!(!done.is_overdue(d(2026, 11, 23)));
    }

    #[test]
    fn one_task_per_customer_and_deadline() {
        let changes = [
            DataChange {
                change_id: 3,
                customer_id: 5,
                reported_on: d(2026, 11, 1),
                registered_on: None,
            },
            DataChange {
                change_id: 1,
                customer_id: 5,
                reported_on: d(2026, 11, 1),
                registered_on: None,
            },
            DataChange {
                change_id: 2,
                customer_id: 6,
                reported_on: d(2026, 11, 8),
                registered_on: None,
            },
            DataChange {
                change_id: 4,
                customer_id: 7,
                reported_on: d(2026, 10, 1),
                registered_on: Some(d(2026, 10, 30)),
            },
        ];
        let tasks = overdue_change_tasks(d(2026, 11, 23), &changes);
        let keys: Vec<String> = tasks.iter().map(|t| t.key.to_string()).collect();
        assert_eq!(keys, ["deadline:c5:-:2026-11-16"]);
        assert_eq!(
            tasks[0].detail,
            TaskDetail::Deadline {
                change_ids: vec![1, 3],
                deadline: d(2026, 11, 16)
            }
        );
        // A day later customer 6's change (deadline Nov 23) is overdue too; 5's key is unchanged.
        let tasks = overdue_change_tasks(d(2026, 11, 24), &changes);
        let keys: Vec<String> = tasks.iter().map(|t| t.key.to_string()).collect();
        assert_eq!(
            keys,
            ["deadline:c5:-:2026-11-16", "deadline:c6:-:2026-11-23"]
        );
    }
}
