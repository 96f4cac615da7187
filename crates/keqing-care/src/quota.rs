//! Daily activity quota per salesperson (001 篇7: every working day visit
//! 2 new customers and 3 existing customers, and make 4 calls).
//!
//! A *new-customer visit* is a visit to a customer not yet buying: business
//! stage new (新开发) or purchase-intent (意向); an *existing-customer
//! visit* is a visit to an existing customer (老客户); every call counts as
//! a call whatever the stage. Whether a day is a working day is the
//! caller's to say (China moves working days around holidays); on other
//! days nothing is required.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::activity::ActivityKind;
use crate::channel::BusinessStage;
use crate::task::{CareTask, TaskDetail, TaskKey, TaskKind};

/// The numbers a salesperson should reach each working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyQuota {
    pub new_customer_visits: u32,
    pub existing_customer_visits: u32,
    pub calls: u32,
}

impl Default for DailyQuota {
    /// 001 篇7: 2 new-customer visits, 3 existing-customer visits, 4 calls.
    fn default() -> Self {
        Self {
            new_customer_visits: 2,
            existing_customer_visits: 3,
            calls: 4,
        }
    }
}

/// One activity of a salesperson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesActivity {
    pub salesperson_id: i64,
    pub date: NaiveDate,
    pub kind: ActivityKind,
    /// The stage of the customer the activity was with.
    pub stage: BusinessStage,
}

/// Required, made and still to make, for one count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaCount {
    pub required: u32,
    pub made: u32,
    pub remaining: u32,
}

impl QuotaCount {
    fn new(required: u32, made: u32) -> Self {
        Self {
            required,
            made,
            remaining: required.saturating_sub(made),
        }
    }
}

/// A salesperson's progress on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaProgress {
    pub salesperson_id: i64,
    pub date: NaiveDate,
    pub working_day: bool,
    pub new_customer_visits: QuotaCount,
    pub existing_customer_visits: QuotaCount,
    pub calls: QuotaCount,
}

impl QuotaProgress {
    /// Every count reached.
    pub fn met(&self) -> bool {
        self.new_customer_visits.remaining == 0
            && self.existing_customer_visits.remaining == 0
            && self.calls.remaining == 0
    }

    /// The quota task for what remains; `None` when met.
    pub fn task(&self) -> Option<CareTask> {
        (!self.met()).then(|| CareTask {
            key: TaskKey::salesperson(TaskKind::Quota, self.salesperson_id, self.date),
            due: self.date,
            latest: self.date,
            detail: TaskDetail::Quota {
                new_customer_visits: self.new_customer_visits.remaining,
                existing_customer_visits: self.existing_customer_visits.remaining,
                calls: self.calls.remaining,
            },
        })
    }
}

/// Progress of `salesperson_id` on `date` from `activities` (others'
/// activities and other days are ignored).
pub fn quota_progress(
    quota: &DailyQuota,
    salesperson_id: i64,
    date: NaiveDate,
    working_day: bool,
    activities: &[SalesActivity],
) -> QuotaProgress {
    let (mut new_visits, mut existing_visits, mut calls) = (0, 0, 0);
    for a in activities
        .iter()
        .filter(|a| a.salesperson_id == salesperson_id && a.date == date)
    {
        match (a.kind, a.stage) {
            (ActivityKind::Visit, BusinessStage::New | BusinessStage::Intent) => new_visits += 1,
            (ActivityKind::Visit, BusinessStage::Existing) => existing_visits += 1,
            (ActivityKind::Call, _) => calls += 1,
            _ => {}
        }
    }
    let q = if working_day {
        *quota
    } else {
        DailyQuota {
            new_customer_visits: 0,
            existing_customer_visits: 0,
            calls: 0,
        }
    };
    QuotaProgress {
        salesperson_id,
        date,
        working_day,
        new_customer_visits: QuotaCount::new(q.new_customer_visits, new_visits),
        existing_customer_visits: QuotaCount::new(q.existing_customer_visits, existing_visits),
        calls: QuotaCount::new(q.calls, calls),
    }
}

/// Monday to Friday: a default for callers without a holiday calendar.
pub fn is_weekday(date: NaiveDate) -> bool {
    use chrono::Datelike;
    date.weekday().num_days_from_monday() < 5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn a(kind: ActivityKind, stage: BusinessStage) -> SalesActivity {
        SalesActivity {
            salesperson_id: 7,
            date: d(2026, 11, 23),
            kind,
            stage,
        }
    }

    #[test]
    fn counts_by_stage_and_kind() {
        use ActivityKind::*;
        use BusinessStage::*;
        let acts = [
            a(Visit, New),
            a(Visit, Intent),
            a(Visit, Existing),
            a(Call, New),
            a(Call, Existing),
            a(Sms, Existing),
            SalesActivity {
                salesperson_id: 8,
                ..a(Call, New)
            },
            SalesActivity {
                date: d(2026, 11, 22),
                ..a(Call, New)
            },
        ];
        let p = quota_progress(&DailyQuota::default(), 7, d(2026, 11, 23), true, &acts);
        assert_eq!(
            p.new_customer_visits,
            QuotaCount {
                required: 2,
                made: 2,
                remaining: 0
            }
        );
        assert_eq!(
            p.existing_customer_visits,
            QuotaCount {
                required: 3,
                made: 1,
                remaining: 2
            }
        );
        assert_eq!(
            p.calls,
            QuotaCount {
                required: 4,
                made: 2,
                remaining: 2
            }
        );
        assert!(!p.met());
        let t = p.task().unwrap();
        assert_eq!(t.key.to_string(), "quota:s7:2026-11-23");
        assert_eq!(
            t.detail,
            TaskDetail::Quota {
                new_customer_visits: 0,
                existing_customer_visits: 2,
                calls: 2
            }
        );
    }

    #[test]
    fn configurable_and_rest_days() {
        let q: DailyQuota = serde_json::from_str(r#"{"calls":1}"#).unwrap();
        assert_eq!(
            q,
            DailyQuota {
                new_customer_visits: 2,
                existing_customer_visits: 3,
                calls: 1
            }
        );
        let p = quota_progress(&q, 7, d(2026, 11, 22), false, &[]);
        assert!(p.met());
        assert_eq!(p.task(), None);
        assert!(is_weekday(d(2026, 11, 23)));
        assert!(!is_weekday(d(2026, 11, 22)));
    }
}
