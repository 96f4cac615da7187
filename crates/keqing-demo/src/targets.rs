//! The demo's yearly targets (SPEC §6, issue 26): for the company, each team,
//! each region and each customer manager, on sales and on visits, for last
//! year and this year, made from the demo's own orders and visits so every
//! completion reads like a real one (last year's targets about met, this
//! year's a stretch of about 8% over last year's actual).
//!
//! The company's sales target this year is split by month weights (more in
//! the autumn, the seed's 3082大箱 report's busy season); the rest evenly.
//! It is revised upward once, as 003's 2.5万 → 2.55万大箱 was: +2% from the
//! first of July, "市局修正任务".

use crate::{DemoActivity, TeamDef, UserDef};
use chrono::{Datelike, Duration, NaiveDate};
use keqing_domain::{ActivityKind, NewOrder, Role};
use serde::Serialize;
use std::collections::BTreeMap;

/// Who a target is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DemoSubject {
    Company,
    /// A team, by name.
    Team(String),
    /// A region, by name (the teams' regions: 江苏, 浙江).
    Region(String),
    /// A customer manager, by username.
    User(String),
}

impl DemoSubject {
    /// The level's API name: company, team, region, user.
    pub fn level(&self) -> &'static str {
        match self {
            DemoSubject::Company => "company",
            DemoSubject::Team(_) => "team",
            DemoSubject::Region(_) => "region",
            DemoSubject::User(_) => "user",
        }
    }
}

/// A revision of a target: the new yearly amount, from when, why, by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoRevision {
    pub amount: i64,
    pub effective_from: NaiveDate,
    pub reason: String,
    /// Username of who revised it.
    pub by: String,
}

/// A yearly target as `POST /api/v1/targets` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoTarget {
    pub subject: DemoSubject,
    /// The metric's API name: `sales_amount` (fen) or `visits` (a count).
    pub metric: &'static str,
    pub year: i32,
    /// The year's amount: fen for sales, a count for visits.
    pub amount: i64,
    /// Month weights (12, summing to 100), or none for an even split.
    pub months: Option<[u32; 12]>,
    pub revisions: Vec<DemoRevision>,
}

/// The company's sales by month this year: a quieter spring, a busy autumn.
pub const COMPANY_MONTH_WEIGHTS: [u32; 12] = [7, 6, 8, 8, 8, 8, 8, 8, 9, 10, 10, 10];
/// The reason of the company target's revision (003: 市局修正任务 2.5万 → 2.55万大箱).
pub const REVISION_REASON: &str = "市局修正任务";

/// The China day of an instant (orders and activities are stored in UTC).
fn china_year(at: chrono::DateTime<chrono::Utc>) -> i32 {
    (at + Duration::hours(8)).year()
}

/// Rounds up to a step (10,000 yuan for sales, 10 for visits), never to zero.
fn round_up(v: i64, step: i64) -> i64 {
    (((v.max(1)) + step - 1) / step) * step
}

/// The targets for `today`'s year and the year before.
pub(crate) fn generate(
    today: NaiveDate,
    teams: &[TeamDef],
    users: &[UserDef],
    customers: &[(Option<String>, &[NewOrder], &[DemoActivity])],
) -> Vec<DemoTarget> {
    let this = today.year();
    let years = [this - 1, this];
    // Actual sales (fen) and visits per manager and year.
    let mut sales: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    let mut visits: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for (owner, orders, activities) in customers {
        if let Some(owner) = owner {
            for o in orders.iter() {
                *sales
                    .entry((owner.as_str(), china_year(o.ordered_at)))
                    .or_default() += o.amount.fen();
            }
        }
        for a in activities.iter() {
            if a.activity.kind == ActivityKind::Visit {
                if let Some(at) = a.activity.at {
                    *visits.entry((a.by.as_str(), china_year(at))).or_default() += 1;
                }
            }
        }
    }
    // This year is partial: its plan is last year's actual and 8% more (or,
    // without last year, this year's so far carried to the year's end).
    let elapsed = today.ordinal() as i64;
    let days = NaiveDate::from_ymd_opt(this, 12, 31).map_or(365, |d| d.ordinal() as i64);
    let plan = |actual: &BTreeMap<(&str, i32), i64>, who: &str, year: i32, step: i64| {
        let last = actual.get(&(who, year - 1)).copied().unwrap_or(0);
        let base = if year == this {
            if last > 0 {
                last * 108 / 100
            } else {
                actual.get(&(who, year)).copied().unwrap_or(0) * days / elapsed.max(1)
            }
        } else {
            // Last year's targets, set before it: its actual less 3%.
            actual.get(&(who, year)).copied().unwrap_or(0) * 97 / 100
        };
        round_up(base, step)
    };
    const SALES_STEP: i64 = 1_000_000; // 1万 yuan in fen
    const VISITS_STEP: i64 = 10;
    let mut out = vec![];
    for year in years {
        let mut company = (0i64, 0i64);
        let mut regions: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for (ti, team) in teams.iter().enumerate() {
            let mut sum = (0i64, 0i64);
            for u in users
                .iter()
                .filter(|u| u.role == Role::Manager && u.team == Some(ti))
            {
                let s = plan(&sales, u.username, year, SALES_STEP);
                let v = plan(&visits, u.username, year, VISITS_STEP);
                sum = (sum.0 + s, sum.1 + v);
                for (metric, amount) in [("sales_amount", s), ("visits", v)] {
                    out.push(DemoTarget {
                        subject: DemoSubject::User(u.username.to_string()),
                        metric,
                        year,
                        amount,
                        months: None,
                        revisions: vec![],
                    });
                }
            }
            // A team's own target asks a little more than its members' sum:
            // the page shows the gap between the two.
            let own = (
                round_up(sum.0 * 102 / 100, SALES_STEP),
                round_up(sum.1, VISITS_STEP),
            );
            for (metric, amount) in [("sales_amount", own.0), ("visits", own.1)] {
                out.push(DemoTarget {
                    subject: DemoSubject::Team(team.name.to_string()),
                    metric,
                    year,
                    amount,
                    months: None,
                    revisions: vec![],
                });
            }
            let r = regions.entry(team.region).or_default();
            *r = (r.0 + own.0, r.1 + own.1);
            company = (company.0 + own.0, company.1 + own.1);
        }
        for (region, (s, v)) in regions {
            for (metric, amount) in [("sales_amount", s), ("visits", v)] {
                out.push(DemoTarget {
                    subject: DemoSubject::Region(region.to_string()),
                    metric,
                    year,
                    amount,
                    months: None,
                    revisions: vec![],
                });
            }
        }
        let revisions = if year == this {
            vec![DemoRevision {
                amount: round_up(company.0 * 102 / 100, SALES_STEP),
                effective_from: NaiveDate::from_ymd_opt(this, 7, 1).unwrap_or(today),
                reason: REVISION_REASON.to_string(),
                by: "zhaomin".to_string(),
            }]
        } else {
            vec![]
        };
        out.push(DemoTarget {
            subject: DemoSubject::Company,
            metric: "sales_amount",
            year,
            amount: company.0,
            months: (year == this).then_some(COMPANY_MONTH_WEIGHTS),
            revisions,
        });
        out.push(DemoTarget {
            subject: DemoSubject::Company,
            metric: "visits",
            year,
            amount: company.1,
            months: None,
            revisions: vec![],
        });
    }
    out
}
