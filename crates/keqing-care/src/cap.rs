//! Contact-frequency cap (000: too many calls annoyed a customer): no
//! customer is contacted on more than `max_contacts` days within any
//! `period_days` consecutive days, across all tasks and campaigns.
//!
//! Counting is by **day**: contacting a customer on a day counts once, how
//! many of its people are greeted and how many tasks fall on that day (a
//! Spring Festival greeting to five people of one company is one contact
//! day). Only tasks that contact the customer count
//! ([`TaskKind::contacts_customer`]); the others always pass.
//!
//! Each customer's tasks are decided one by one: by due day, then
//! order-day calls before greetings before cadence contacts, then by key. A task on a day the
//! customer is contacted anyway is kept; one that would break the cap is
//! deferred to the first day up to its `latest` day where it fits (or that
//! is already a contact day), and dropped when there is none — greetings
//! and order-day calls cannot move (their latest day is their day).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{CareError, Result};
use crate::greeting::GreetingTask;
use crate::task::{CareTask, TaskKey, TaskKind};

/// At most `max_contacts` contact days in any `period_days` consecutive days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrequencyCap {
    pub max_contacts: u32,
    pub period_days: u32,
}

/// A contact already made or already planned (and kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerContact {
    pub customer_id: i64,
    pub date: NaiveDate,
}

/// A task to decide, reduced to what the cap needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedContact {
    pub key: TaskKey,
    pub due: NaiveDate,
    pub latest: NaiveDate,
}

impl From<&CareTask> for PlannedContact {
    fn from(t: &CareTask) -> Self {
        Self {
            key: t.key,
            due: t.due,
            latest: t.latest,
        }
    }
}

impl From<&GreetingTask> for PlannedContact {
    fn from(t: &GreetingTask) -> Self {
        Self {
            key: t.key,
            due: t.key.date,
            latest: t.key.date,
        }
    }
}

/// What happens to one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum CapDecision {
    Keep,
    /// Do it on `to` instead of its due day.
    Defer {
        to: NaiveDate,
    },
    /// Over the cap with nowhere to go: `contact_days` already in the
    /// fullest period around its due day.
    Drop {
        contact_days: u32,
    },
}

fn priority(kind: TaskKind) -> u8 {
    match kind {
        TaskKind::OrderDay | TaskKind::FollowUp => 0,
        TaskKind::Greeting => 1,
        TaskKind::Cadence => 2,
        TaskKind::Deadline | TaskKind::Quota => 3,
    }
}

/// Contact days in the fullest window of `period` days containing `day`,
/// counting `day` itself as one more when `with_day` and it is not one yet.
/// `days` is sorted and without duplicates.
fn fullest_window(days: &[NaiveDate], day: NaiveDate, period: u32, with_day: bool) -> u32 {
    let extra = u32::from(with_day && days.binary_search(&day).is_err());
    let span = u64::from(period - 1);
    let mut most = 0;
    for back in 0..=span {
        let Some(start) = day.checked_sub_days(Days::new(back)) else {
            continue;
        };
        let Some(end) = start.checked_add_days(Days::new(span)) else {
            continue;
        };
        let from = days.partition_point(|d| *d < start);
        let to = days.partition_point(|d| *d <= end);
        most = most.max((to - from) as u32 + extra);
    }
    most
}

/// Decides every task against the cap, given the contacts already made or
/// planned. Returns one decision per task, in the order of `tasks`.
pub fn apply_frequency_cap(
    cap: FrequencyCap,
    already: &[CustomerContact],
    tasks: &[PlannedContact],
) -> Result<Vec<(TaskKey, CapDecision)>> {
    if cap.max_contacts == 0 || cap.period_days == 0 {
        return Err(CareError::InvalidParameter {
            name: "cap",
            detail: format!(
                "{} contacts per {} days: both must be at least 1",
                cap.max_contacts, cap.period_days
            ),
        });
    }
    // Customers are independent: decide customer by customer, each one's
    // tasks in the documented order, against that customer's contact days.
    let mut made: Vec<(i64, NaiveDate)> = already.iter().map(|c| (c.customer_id, c.date)).collect();
    made.sort_unstable();
    made.dedup();
    let mut order: Vec<usize> = (0..tasks.len())
        .filter(|&i| tasks[i].key.kind.contacts_customer() && tasks[i].key.customer_id.is_some())
        .collect();
    // Stable and run-aware: a day's greetings come in customer order already.
    order.sort_by_key(|&i| {
        let t = &tasks[i];
        (t.key.customer_id, t.due, priority(t.key.kind), t.key)
    });
    let mut decisions = vec![CapDecision::Keep; tasks.len()];
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut m = 0;
    let mut group_start = 0;
    while group_start < order.len() {
        let customer = tasks[order[group_start]]
            .key
            .customer_id
            .unwrap_or_default();
        let group_end = group_start
            + order[group_start..].partition_point(|&i| tasks[i].key.customer_id == Some(customer));
        days.clear();
        while m < made.len() && made[m].0 < customer {
            m += 1;
        }
        while m < made.len() && made[m].0 == customer {
            days.push(made[m].1);
            m += 1;
        }
        for &i in &order[group_start..group_end] {
            let t = &tasks[i];
            // Fewer contact days in all than the cap allows in one period:
            // any day fits, without counting windows.
            let fits = |days: &[NaiveDate], day: NaiveDate| {
                days.len() < cap.max_contacts as usize
                    || days.binary_search(&day).is_ok()
                    || fullest_window(days, day, cap.period_days, true) <= cap.max_contacts
            };
            let mut day = t.due;
            let chosen = loop {
                if fits(&days, day) {
                    break Some(day);
                }
                match day.succ_opt() {
                    Some(next) if next <= t.latest => day = next,
                    _ => break None,
                }
            };
            decisions[i] = match chosen {
                Some(d) => {
                    if let Err(at) = days.binary_search(&d) {
                        days.insert(at, d);
                    }
                    if d == t.due {
                        CapDecision::Keep
                    } else {
                        CapDecision::Defer { to: d }
                    }
                }
                None => CapDecision::Drop {
                    contact_days: fullest_window(&days, t.due, cap.period_days, false),
                },
            };
        }
        group_start = group_end;
    }
    Ok(tasks.iter().map(|t| t.key).zip(decisions).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn planned(
        kind: TaskKind,
        customer: i64,
        contact: Option<i64>,
        due: NaiveDate,
        latest: NaiveDate,
    ) -> PlannedContact {
        PlannedContact {
            key: TaskKey::customer(kind, customer, contact, due),
            due,
            latest,
        }
    }

    const CAP: FrequencyCap = FrequencyCap {
        max_contacts: 2,
        period_days: 7,
    };

    #[test]
    fn same_day_contacts_count_once() {
        let day = d(2026, 2, 17);
        let tasks: Vec<PlannedContact> = (1..=5)
            .map(|p| planned(TaskKind::Greeting, 1, Some(p), day, day))
            .collect();
        let out = apply_frequency_cap(
            CAP,
            &[CustomerContact {
                customer_id: 1,
                date: d(2026, 2, 15),
            }],
            &tasks,
        )
        .unwrap();
        assert!(out.iter().all(|(_, dec)| *dec == CapDecision::Keep));
    }

    #[test]
    fn over_the_cap_defers_or_drops() {
        let already = [
            CustomerContact {
                customer_id: 1,
                date: d(2026, 11, 20),
            },
            CustomerContact {
                customer_id: 1,
                date: d(2026, 11, 22),
            },
        ];
        let greeting = planned(
            TaskKind::Greeting,
            1,
            Some(5),
            d(2026, 11, 26),
            d(2026, 11, 26),
        );
        let cadence = planned(TaskKind::Cadence, 1, None, d(2026, 11, 23), d(2026, 12, 31));
        let other_customer = planned(TaskKind::Cadence, 2, None, d(2026, 11, 23), d(2026, 11, 23));
        let deadline = planned(
            TaskKind::Deadline,
            1,
            None,
            d(2026, 11, 23),
            d(2026, 11, 23),
        );
        let out = apply_frequency_cap(
            CAP,
            &already,
            &[greeting, cadence, other_customer, deadline],
        )
        .unwrap();
        // The cadence visit (due first) cannot be on Nov 23–26: the window
        // ending that day would hold Nov 20, 22 and it. Nov 27 fits
        // (Nov 21–27 holds only Nov 22).
        assert_eq!(
            out[1].1,
            CapDecision::Defer {
                to: d(2026, 11, 27)
            }
        );
        // The Thanksgiving greeting on the 26th cannot move: Nov 20–26
        // already holds 2 contact days.
        assert_eq!(out[0].1, CapDecision::Drop { contact_days: 2 });
        assert_eq!(out[2].1, CapDecision::Keep);
        // Registering a data change does not contact the customer.
        assert_eq!(out[3].1, CapDecision::Keep);
    }

    #[test]
    fn order_day_calls_go_first() {
        let day = d(2026, 11, 23);
        let cap = FrequencyCap {
            max_contacts: 1,
            period_days: 7,
        };
        let cadence = planned(TaskKind::Cadence, 1, None, day, day);
        let order = planned(TaskKind::OrderDay, 1, None, day, day);
        let next_day = planned(
            TaskKind::Greeting,
            1,
            Some(3),
            d(2026, 11, 24),
            d(2026, 11, 24),
        );
        let out = apply_frequency_cap(cap, &[], &[cadence, order, next_day]).unwrap();
        // Both on the 23rd are one contact day; the 24th would be a second.
        assert_eq!(out[0].1, CapDecision::Keep);
        assert_eq!(out[1].1, CapDecision::Keep);
        assert_eq!(out[2].1, CapDecision::Drop { contact_days: 1 });
        assert!(apply_frequency_cap(
            FrequencyCap {
                max_contacts: 0,
                period_days: 7
            },
            &[],
            &[]
        )
        .is_err());
    }
}
