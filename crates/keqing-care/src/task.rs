//! Care tasks: kinds, idempotency keys and the status life cycle.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{CareError, Result};

/// What a care task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Greet a contact on an occasion, birthday or company date (000 item 7).
    Greeting,
    /// A visit, call or help a customer's cadence standard calls for (003 A13).
    Cadence,
    /// A salesperson's daily visits and calls not yet made (001 篇7).
    Quota,
    /// A reported data change not registered within 15 days (000 item 1).
    Deadline,
    /// A customer who has not ordered by 14:30 on an order day (003 A14).
    OrderDay,
    /// The next step a salesperson set when logging a contact: follow the
    /// customer up on that day.
    FollowUp,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::Cadence => "cadence",
            Self::Quota => "quota",
            Self::Deadline => "deadline",
            Self::OrderDay => "order_day",
            Self::FollowUp => "follow_up",
        }
    }

    /// Whether doing the task means contacting the customer, so that it
    /// counts against the frequency cap ([`crate::cap`]). Registering a data
    /// change and a salesperson's own quota do not.
    pub fn contacts_customer(self) -> bool {
        matches!(
            self,
            Self::Greeting | Self::Cadence | Self::OrderDay | Self::FollowUp
        )
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity of a task: planning the same thing twice gives the same
/// key, so a store with a unique index on its `Display` string (or on the
/// fields) never holds duplicates. Customer tasks carry the customer (and
/// contact); quota tasks the salesperson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskKey {
    pub kind: TaskKind,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub salesperson_id: Option<i64>,
    pub date: NaiveDate,
}

impl TaskKey {
    /// Key of a task about a customer, or one of its contacts.
    pub fn customer(
        kind: TaskKind,
        customer_id: i64,
        contact_id: Option<i64>,
        date: NaiveDate,
    ) -> Self {
        Self {
            kind,
            customer_id: Some(customer_id),
            contact_id,
            salesperson_id: None,
            date,
        }
    }

    /// Key of a salesperson's own task (the daily quota).
    pub fn salesperson(kind: TaskKind, salesperson_id: i64, date: NaiveDate) -> Self {
        Self {
            kind,
            customer_id: None,
            contact_id: None,
            salesperson_id: Some(salesperson_id),
            date,
        }
    }
}

impl fmt::Display for TaskKey {
    /// `greeting:c42:p7:2026-02-17`, `deadline:c42:-:2026-12-01`,
    /// `quota:s3:2026-11-23`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.kind)?;
        if let Some(s) = self.salesperson_id {
            write!(f, "s{s}:")?;
        }
        if let Some(c) = self.customer_id {
            write!(f, "c{c}:")?;
            match self.contact_id {
                Some(p) => write!(f, "p{p}:")?,
                None => f.write_str("-:")?,
            }
        }
        write!(f, "{}", self.date)
    }
}

/// A planned task of the rules other than greetings (cadence, quota,
/// deadline, order day), ready to store under its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareTask {
    /// The idempotency key; its date is the day the task was planned for.
    pub key: TaskKey,
    /// The day it should be done (the key's date unless deferred by the
    /// frequency cap).
    pub due: NaiveDate,
    /// The last day it still makes sense; the frequency cap never defers
    /// past it.
    pub latest: NaiveDate,
    pub detail: TaskDetail,
}

/// What a [`CareTask`] asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskDetail {
    /// Make the contacts a cadence standard requires (see [`crate::cadence`]).
    Cadence {
        class: String,
        requirement: crate::cadence::Requirement,
        made: u32,
    },
    /// Make the day's remaining visits and calls (see [`crate::quota`]).
    Quota {
        new_customer_visits: u32,
        existing_customer_visits: u32,
        calls: u32,
    },
    /// Register these reported data changes, due on `deadline` (see
    /// [`crate::deadline`]).
    Deadline {
        change_ids: Vec<i64>,
        deadline: NaiveDate,
    },
    /// Call the customer: no order yet on its order day (see [`crate::order_day`]).
    OrderDay { cutoff: chrono::NaiveTime },
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Skipped { reason: String },
    Snoozed { until: NaiveDate },
}

/// What a user does to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TaskAction {
    Complete,
    Skip { reason: String },
    Snooze { until: NaiveDate },
    Reopen,
}

/// The result of an action that the life cycle allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Transition {
    /// The status changed; store it. `Changed(Done)` is the moment to log
    /// the activity, exactly once.
    Changed(TaskStatus),
    /// Nothing to do: the task already was in that state (completing a done
    /// task twice, skipping a skipped one, reopening an open one).
    NoOp,
}

impl TaskStatus {
    fn name(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Skipped { .. } => "skipped",
            Self::Snoozed { .. } => "snoozed",
        }
    }

    /// Whether the task shows on `date`'s work list: open, or snoozed until
    /// that day or earlier.
    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        match self {
            Self::Open => true,
            Self::Snoozed { until } => *until <= date,
            Self::Done | Self::Skipped { .. } => false,
        }
    }

    /// Applies `action` on day `today`. Allowed:
    /// - open or snoozed → done, skipped (a reason is required), snoozed (to
    ///   a later day than `today`);
    /// - skipped or snoozed → open (reopen); skipped → done (it was done after all);
    /// - the same action again → [`Transition::NoOp`] (done twice, skipped
    ///   twice, open reopened);
    /// - a done task is final: skipping, snoozing or reopening it is refused.
    pub fn apply(&self, action: &TaskAction, today: NaiveDate) -> Result<Transition> {
        use TaskAction as A;
        use TaskStatus as S;
        let refuse = |to: &'static str| {
            Err(CareError::InvalidTransition {
                from: self.name(),
                to,
            })
        };
        match (self, action) {
            (S::Done, A::Complete) | (S::Open, A::Reopen) | (S::Skipped { .. }, A::Skip { .. }) => {
                Ok(Transition::NoOp)
            }
            (S::Done, A::Skip { .. }) => refuse("skipped"),
            (S::Done, A::Snooze { .. }) => refuse("snoozed"),
            (S::Done, A::Reopen) => refuse("open"),
            (S::Skipped { .. }, A::Snooze { .. }) => refuse("snoozed"),
            (_, A::Complete) => Ok(Transition::Changed(S::Done)),
            (_, A::Reopen) => Ok(Transition::Changed(S::Open)),
            (_, A::Skip { reason }) => {
                if reason.trim().is_empty() {
                    return Err(CareError::InvalidParameter {
                        name: "reason",
                        detail: "a skipped task needs a reason".into(),
                    });
                }
                Ok(Transition::Changed(S::Skipped {
                    reason: reason.trim().to_owned(),
                }))
            }
            (_, A::Snooze { until }) => {
                if *until <= today {
                    return Err(CareError::InvalidParameter {
                        name: "until",
                        detail: format!("snooze until {until} is not after today {today}"),
                    });
                }
                Ok(Transition::Changed(S::Snoozed { until: *until }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn key_strings() {
        let k = TaskKey::customer(TaskKind::Greeting, 42, Some(7), d(2026, 2, 17));
        assert_eq!(k.to_string(), "greeting:c42:p7:2026-02-17");
        let k = TaskKey::customer(TaskKind::Deadline, 42, None, d(2026, 12, 1));
        assert_eq!(k.to_string(), "deadline:c42:-:2026-12-01");
        assert_eq!(
            TaskKey::salesperson(TaskKind::Quota, 3, d(2026, 11, 23)).to_string(),
            "quota:s3:2026-11-23"
        );
    }

    #[test]
    fn completing_twice_is_a_no_op() {
        let today = d(2026, 11, 23);
        let s = TaskStatus::Open;
        let Transition::Changed(done) = s.apply(&TaskAction::Complete, today).unwrap() else {
            panic!("open -> done must change")
        };
        assert_eq!(done, TaskStatus::Done);
        assert_eq!(
            done.apply(&TaskAction::Complete, today).unwrap(),
            Transition::NoOp
        );
        assert!(matches!(
            done.apply(&TaskAction::Reopen, today),
            Err(CareError::InvalidTransition {
                from: "done",
                to: "open"
            })
        ));
    }

    #[test]
    fn skip_and_snooze_rules() {
        let today = d(2026, 11, 23);
        let open = TaskStatus::Open;
        assert!(open
            .apply(
                &TaskAction::Skip {
                    reason: "  ".into()
                },
                today
            )
            .is_err());
        let skipped = open
            .apply(
                &TaskAction::Skip {
                    reason: " 客户出差 ".into(),
                },
                today,
            )
            .unwrap();
        assert_eq!(
            skipped,
            Transition::Changed(TaskStatus::Skipped {
                reason: "客户出差".into()
            })
        );
        assert!(open
            .apply(&TaskAction::Snooze { until: today }, today)
            .is_err());
        let Transition::Changed(snoozed) = open
            .apply(
                &TaskAction::Snooze {
                    until: d(2026, 11, 25),
                },
                today,
            )
            .unwrap()
        else {
            panic!()
        };
        assert!(!snoozed.is_active_on(d(2026, 11, 24)));
        assert!(snoozed.is_active_on(d(2026, 11, 25)));
        assert_eq!(
            snoozed.apply(&TaskAction::Reopen, today).unwrap(),
            Transition::Changed(TaskStatus::Open)
        );
        assert_eq!(
            open.apply(&TaskAction::Reopen, today).unwrap(),
            Transition::NoOp
        );
        let skipped = TaskStatus::Skipped { reason: "x".into() };
        assert!(skipped
            .apply(
                &TaskAction::Snooze {
                    until: d(2026, 12, 1)
                },
                today
            )
            .is_err());
        assert_eq!(
            skipped.apply(&TaskAction::Complete, today).unwrap(),
            Transition::Changed(TaskStatus::Done)
        );
    }

    #[test]
    fn serde_shapes() {
        let s = TaskStatus::Snoozed {
            until: d(2026, 11, 25),
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"status":"snoozed","until":"2026-11-25"}"#
        );
        assert_eq!(
            serde_json::to_string(&TaskKind::OrderDay).unwrap(),
            r#""order_day""#
        );
    }
}
