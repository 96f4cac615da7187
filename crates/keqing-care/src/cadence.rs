//! Contact cadence standards (客户接触标准) per class or tier, and how well
//! they are kept (003 A12, A13; 000 item 4).
//!
//! A standard is a list of requirements "`times` × `counted` per `period`".
//! Periods are calendar periods (ISO week from Monday, month, quarter,
//! year); the current one is the period containing the as-of date.
//!
//! **When is a contact due?** The `required` contacts of a period are
//! spread evenly: the k-th is due by day ⌈k × L / required⌉ of the period
//! (L = its length in days), the last one on its last day. Two visits a
//! quarter: the first by mid-quarter, the second by quarter end; one call a
//! month: by month end.
//! - `due_so_far` = how many contacts are due by the as-of date;
//! - `behind` = fewer made than due so far;
//! - `next_due` = the due day of the next contact to make (in the next
//!   period once this one's are all made).
//!
//! A manager's compliance = Σ min(made, due so far) / Σ due so far over
//! the lines of their customers: the share of due contacts made.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::activity::{Activity, ActivityKind};
use crate::error::{CareError, Result};
use crate::task::{CareTask, TaskDetail, TaskKey, TaskKind};

/// What counts toward a requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Counted {
    Visit,
    Call,
    Help,
    /// A visit or another in-person meeting (面对面).
    FaceToFace,
}

impl Counted {
    pub fn counts(self, kind: ActivityKind) -> bool {
        match self {
            Counted::Visit => kind == ActivityKind::Visit,
            Counted::Call => kind == ActivityKind::Call,
            Counted::Help => kind == ActivityKind::Help,
            Counted::FaceToFace => matches!(kind, ActivityKind::Visit | ActivityKind::Meeting),
        }
    }
}

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Period {
    /// ISO week, Monday to Sunday.
    Week,
    Month,
    Quarter,
    Year,
}

impl Period {
    /// First and last day of the period containing `date`.
    pub fn bounds(self, date: NaiveDate) -> (NaiveDate, NaiveDate) {
        let start = match self {
            Period::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
            Period::Month => date.with_day(1).unwrap_or(date),
            Period::Quarter => {
                let m = (date.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(date.year(), m, 1).unwrap_or(date)
            }
            Period::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
        };
        let next = match self {
            Period::Week => start + Days::new(7),
            Period::Month => start + Months::new(1),
            Period::Quarter => start + Months::new(3),
            Period::Year => start + Months::new(12),
        };
        (start, next - Days::new(1))
    }
}

/// "`times` × `counted` per `per`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Requirement {
    pub counted: Counted,
    pub times: u32,
    pub per: Period,
}

/// The standard for one class or tier of customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CadenceStandard {
    /// The class id customers refer to, e.g. `crystal`.
    pub class: String,
    pub name_zh: String,
    pub requirements: Vec<Requirement>,
}

/// The standards from the source documents; deployments edit or replace them.
pub fn default_standards() -> Vec<CadenceStandard> {
    use Counted::*;
    use Period::*;
    let r = |counted, times, per| Requirement {
        counted,
        times,
        per,
    };
    vec![
        // 003 A13: 水晶 large customers, 2 visits a quarter and 1 call a month.
        CadenceStandard {
            class: "crystal".into(),
            name_zh: "水晶大客户".into(),
            requirements: vec![r(Visit, 2, Quarter), r(Call, 1, Month)],
        },
        // 003 A13: business A(A+), 1 visit a quarter and 1 call a month.
        CadenceStandard {
            class: "business_a_plus".into(),
            name_zh: "商务A(A+)客户".into(),
            requirements: vec![r(Visit, 1, Quarter), r(Call, 1, Month)],
        },
        // 000 item 4: A-class customers, at least one help a week.
        CadenceStandard {
            class: "class_a".into(),
            name_zh: "A类客户".into(),
            requirements: vec![r(Help, 1, Week)],
        },
        // 003 A12: large customers, at least one face-to-face meeting a quarter.
        CadenceStandard {
            class: "large".into(),
            name_zh: "大客户".into(),
            requirements: vec![r(FaceToFace, 1, Quarter)],
        },
    ]
}

/// A customer under one or more standards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadenceCustomer {
    pub customer_id: i64,
    pub manager_id: i64,
    /// Classes whose standards apply, e.g. `["crystal", "large"]`.
    pub classes: Vec<String>,
}

/// One requirement of one customer in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadenceLine {
    pub customer_id: i64,
    pub manager_id: i64,
    pub class: String,
    pub requirement: Requirement,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub required: u32,
    pub made: u32,
    pub due_so_far: u32,
    pub behind: bool,
    pub next_due: NaiveDate,
}

/// A manager's fulfilment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerCompliance {
    pub manager_id: i64,
    /// Contacts due so far over all their customers' lines.
    pub due: u32,
    /// Of those, made (extra contacts beyond what is due do not count).
    pub made: u32,
    /// Customers with at least one line behind, ascending.
    pub customers_behind: Vec<i64>,
}

impl ManagerCompliance {
    /// `made / due`, `None` when nothing is due yet.
    pub fn share(&self) -> Option<f64> {
        (self.due > 0).then(|| f64::from(self.made) / f64::from(self.due))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadenceReport {
    pub as_of: NaiveDate,
    /// Ordered by customer id, then standard and requirement order.
    pub lines: Vec<CadenceLine>,
    /// Ordered by manager id.
    pub managers: Vec<ManagerCompliance>,
}

/// Due day of the k-th of `required` contacts in `[start, end]` (k ≥ 1).
fn due_day(start: NaiveDate, end: NaiveDate, k: u32, required: u32) -> NaiveDate {
    let len = (end - start).num_days() as u64 + 1;
    let day = (u64::from(k) * len).div_ceil(u64::from(required));
    start + Days::new(day.saturating_sub(1))
}

/// The cadence report at `as_of`: every requirement of every customer's
/// classes against the activities logged in the current period up to
/// `as_of`. An unknown class, or a requirement of zero times, is an error.
pub fn cadence_report(
    standards: &[CadenceStandard],
    customers: &[CadenceCustomer],
    activities: &[Activity],
    as_of: NaiveDate,
) -> Result<CadenceReport> {
    let by_class: HashMap<&str, &CadenceStandard> =
        standards.iter().map(|s| (s.class.as_str(), s)).collect();
    for s in standards {
        if let Some(r) = s.requirements.iter().find(|r| r.times == 0) {
            return Err(CareError::InvalidParameter {
                name: "requirements",
                detail: format!(
                    "class {:?}: {:?} per {:?} must be at least once",
                    s.class, r.counted, r.per
                ),
            });
        }
    }
    let mut by_customer: HashMap<i64, Vec<&Activity>> = HashMap::new();
    for a in activities.iter().filter(|a| a.date <= as_of) {
        by_customer.entry(a.customer_id).or_default().push(a);
    }
    let mut sorted: Vec<&CadenceCustomer> = customers.iter().collect();
    sorted.sort_by_key(|c| c.customer_id);

    let mut lines = Vec::new();
    let mut managers: BTreeMap<i64, ManagerCompliance> = BTreeMap::new();
    for c in sorted {
        let acts = by_customer
            .get(&c.customer_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let m = managers
            .entry(c.manager_id)
            .or_insert_with(|| ManagerCompliance {
                manager_id: c.manager_id,
                due: 0,
                made: 0,
                customers_behind: Vec::new(),
            });
        let mut customer_behind = false;
        for class in &c.classes {
            let standard =
                by_class
                    .get(class.as_str())
                    .ok_or_else(|| CareError::InvalidParameter {
                        name: "classes",
                        detail: format!(
                            "customer {} has unknown cadence class {class:?}",
                            c.customer_id
                        ),
                    })?;
            for &req in &standard.requirements {
                let (start, end) = req.per.bounds(as_of);
                let made = acts
                    .iter()
                    .filter(|a| a.date >= start && req.counted.counts(a.kind))
                    .count() as u32;
                let due_so_far = (1..=req.times)
                    .take_while(|&k| due_day(start, end, k, req.times) <= as_of)
                    .count() as u32;
                let next_due = if made < req.times {
                    due_day(start, end, made + 1, req.times)
                } else {
                    let (ns, ne) = req.per.bounds(end + Days::new(1));
                    due_day(ns, ne, 1, req.times)
                };
                let behind = made < due_so_far;
                customer_behind |= behind;
                m.due += due_so_far;
                m.made += made.min(due_so_far);
                lines.push(CadenceLine {
                    customer_id: c.customer_id,
                    manager_id: c.manager_id,
                    class: class.clone(),
                    requirement: req,
                    period_start: start,
                    period_end: end,
                    required: req.times,
                    made,
                    due_so_far,
                    behind,
                    next_due,
                });
            }
        }
        if customer_behind {
            m.customers_behind.push(c.customer_id);
        }
    }
    Ok(CadenceReport {
        as_of,
        lines,
        managers: managers.into_values().collect(),
    })
}

/// Cadence tasks from a report: one per line that is behind (to do at
/// once, on the as-of date) or whose next contact is due within
/// `lookahead_days`. Each may be done until its period ends. The key's date
/// is the due day of the contact the task is for, so a line that stays
/// behind day after day keeps one task. Lines of one customer due the same
/// day share a key, so only the first (in standard order) is kept.
pub fn cadence_tasks(report: &CadenceReport, lookahead_days: u32) -> Vec<CareTask> {
    let horizon = report.as_of + Days::new(u64::from(lookahead_days));
    let mut tasks: Vec<CareTask> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for l in &report.lines {
        let due = if l.behind {
            report.as_of
        } else if l.made < l.required && l.next_due <= horizon {
            l.next_due
        } else {
            continue;
        };
        let key = TaskKey::customer(TaskKind::Cadence, l.customer_id, None, l.next_due);
        if seen.insert(key) {
            tasks.push(CareTask {
                key,
                due,
                latest: l.period_end,
                detail: TaskDetail::Cadence {
                    class: l.class.clone(),
                    requirement: l.requirement,
                    made: l.made,
                },
            });
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn act(customer_id: i64, kind: ActivityKind, date: NaiveDate) -> Activity {
        Activity {
            customer_id,
            kind,
            date,
        }
    }

    #[test]
    fn period_bounds() {
        assert_eq!(
            Period::Week.bounds(d(2026, 11, 23)),
            (d(2026, 11, 23), d(2026, 11, 29))
        );
        assert_eq!(
            Period::Month.bounds(d(2026, 2, 10)),
            (d(2026, 2, 1), d(2026, 2, 28))
        );
        assert_eq!(
            Period::Quarter.bounds(d(2026, 11, 23)),
            (d(2026, 10, 1), d(2026, 12, 31))
        );
        assert_eq!(
            Period::Year.bounds(d(2026, 11, 23)),
            (d(2026, 1, 1), d(2026, 12, 31))
        );
    }

    #[test]
    fn crystal_customer_two_visits_a_quarter_one_call_a_month() {
        let customers = [CadenceCustomer {
            customer_id: 1,
            manager_id: 9,
            classes: vec!["crystal".into()],
        }];
        let as_of = d(2026, 11, 23);
        // One visit in Q4 (Oct 20), one call in November, an old call in October.
        let acts = [
            act(1, ActivityKind::Visit, d(2026, 10, 20)),
            act(1, ActivityKind::Call, d(2026, 10, 5)),
            act(1, ActivityKind::Call, d(2026, 11, 3)),
            act(1, ActivityKind::Call, d(2026, 11, 30)), // after as_of: not counted
        ];
        let r = cadence_report(&default_standards(), &customers, &acts, as_of).unwrap();
        let visit = &r.lines[0];
        // Q4 has 92 days: 1st visit due by Nov 15 (day 46), 2nd by Dec 31.
        assert_eq!(
            (visit.required, visit.made, visit.due_so_far, visit.behind),
            (2, 1, 1, false)
        );
        assert_eq!(visit.next_due, d(2026, 12, 31));
        let call = &r.lines[1];
        assert_eq!(
            (call.required, call.made, call.due_so_far, call.behind),
            (1, 1, 0, false)
        );
        // November's call is made: the next is due by the end of December.
        assert_eq!(call.next_due, d(2026, 12, 31));
        assert_eq!(r.managers[0].due, 1);
        assert_eq!(r.managers[0].made, 1);
        assert_eq!(r.managers[0].share(), Some(1.0));
    }

    #[test]
    fn behind_customers_and_manager_share() {
        let customers = [
            CadenceCustomer {
                customer_id: 1,
                manager_id: 9,
                classes: vec!["class_a".into()],
            },
            CadenceCustomer {
                customer_id: 2,
                manager_id: 9,
                classes: vec!["class_a".into(), "large".into()],
            },
        ];
        // Sunday Nov 29: the week's help is due; customer 1 got one, 2 did not.
        let as_of = d(2026, 11, 29);
        let acts = [
            act(1, ActivityKind::Help, d(2026, 11, 24)),
            act(2, ActivityKind::Meeting, d(2026, 10, 2)),
        ];
        let r = cadence_report(&default_standards(), &customers, &acts, as_of).unwrap();
        assert_eq!(r.lines.len(), 3);
        assert!(!r.lines[0].behind);
        assert!(r.lines[1].behind);
        // The meeting counts as face-to-face for the quarter.
        assert_eq!((r.lines[2].made, r.lines[2].behind), (1, false));
        let m = &r.managers[0];
        assert_eq!((m.due, m.made), (2, 1));
        assert_eq!(m.customers_behind, [2]);
        assert_eq!(m.share(), Some(0.5));
        let tasks = cadence_tasks(&r, 0);
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].key.to_string(), "cadence:c2:-:2026-11-29");
        assert_eq!(tasks[0].latest, d(2026, 11, 29));
    }

    #[test]
    fn a_line_behind_keeps_one_task() {
        let customers = [CadenceCustomer {
            customer_id: 3,
            manager_id: 1,
            classes: vec!["crystal".into()],
        }];
        // No visit yet in Q4: the first was due by Nov 15.
        let keys = |as_of| {
            let r = cadence_report(&default_standards(), &customers, &[], as_of).unwrap();
            let t = cadence_tasks(&r, 0);
            assert_eq!(t[0].due, as_of);
            t[0].key.to_string()
        };
        assert_eq!(keys(d(2026, 11, 20)), "cadence:c3:-:2026-11-15");
        assert_eq!(keys(d(2026, 11, 21)), "cadence:c3:-:2026-11-15");
    }

    #[test]
    fn lookahead_tasks_and_errors() {
        let customers = [CadenceCustomer {
            customer_id: 5,
            manager_id: 1,
            classes: vec!["business_a_plus".into()],
        }];
        let r = cadence_report(&default_standards(), &customers, &[], d(2026, 11, 23)).unwrap();
        // The November call is due Nov 30: within a 7-day lookahead.
        let tasks = cadence_tasks(&r, 7);
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].due, d(2026, 11, 30));
        assert!(cadence_tasks(&r, 6).is_empty());
        let bad = [CadenceCustomer {
            customer_id: 5,
            manager_id: 1,
            classes: vec!["crystl".into()],
        }];
        assert!(cadence_report(&default_standards(), &bad, &[], d(2026, 11, 23)).is_err());
    }
}
