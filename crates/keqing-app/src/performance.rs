//! Sales performance (SPEC §6): targets and their revisions, KPI figures
//! (completion against time progress), the series behind the charts, the
//! leaderboards, and the monthly figures pay is computed from.
//!
//! Plans come from targets: a year's months, each spread over its working
//! days on the statutory calendar (keqing-care); a team's, region's or the
//! company's plan is its own target when one is set, else the sum of its
//! members'. Actuals come from the daily totals the store keeps; people
//! belong to a team, teams (or people without one) to a region, all to the
//! company.

use crate::AppError;
use chrono::{Datelike, NaiveDate};
use keqing_domain::access::{Action, Grants, Resource, Scope};
use keqing_domain::day::china_today;
use keqing_domain::performance::{
    self as perf, Kpi, Level, Metric, RevisionInput, Target, TargetInput,
};
use keqing_domain::{User, ValidationError};
use keqing_store::{Grain, Region, Store, StoreError, Team};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Who belongs where: the company's people, teams and regions.
pub struct Org {
    pub users: Vec<User>,
    pub teams: Vec<Team>,
    pub regions: Vec<Region>,
    /// Positions in `users` and `teams` by id, region ids by name: a board
    /// of hundreds of people looks each one up many times.
    user_at: HashMap<i64, usize>,
    team_at: HashMap<i64, usize>,
    region_at: HashMap<String, i64>,
}

/// One subject of a figure: a person, a team, a region or the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub level: Level,
    /// None for the company.
    pub id: Option<i64>,
}

impl Org {
    pub async fn load(store: &dyn Store) -> Result<Org, AppError> {
        Ok(Org::new(
            store.users().await?,
            store.teams().await?,
            store.regions().await?,
        ))
    }

    pub fn new(users: Vec<User>, teams: Vec<Team>, regions: Vec<Region>) -> Org {
        // The first of equal ids or names, as a search from the start finds.
        let mut user_at = HashMap::with_capacity(users.len());
        for (i, u) in users.iter().enumerate() {
            user_at.entry(u.id).or_insert(i);
        }
        let mut team_at = HashMap::with_capacity(teams.len());
        for (i, t) in teams.iter().enumerate() {
            team_at.entry(t.id).or_insert(i);
        }
        let mut region_at = HashMap::with_capacity(regions.len());
        for r in &regions {
            region_at.entry(r.name.clone()).or_insert(r.id);
        }
        Org {
            users,
            teams,
            regions,
            user_at,
            team_at,
            region_at,
        }
    }

    fn user(&self, id: i64) -> Option<&User> {
        self.user_at.get(&id).map(|&i| &self.users[i])
    }

    fn team(&self, id: i64) -> Option<&Team> {
        self.team_at.get(&id).map(|&i| &self.teams[i])
    }

    fn region_id(&self, name: Option<&str>) -> Option<i64> {
        self.region_at.get(name?).copied()
    }

    /// A person's region: their team's, else their own.
    fn user_region(&self, u: &User) -> Option<i64> {
        let team_region = u
            .team_id
            .and_then(|t| self.team(t))
            .and_then(|t| t.region.as_deref());
        self.region_id(team_region.or(u.region.as_deref()))
    }

    /// The subject directly above: person → team (else region, else
    /// company), team → region (else company), region → company.
    fn parent(&self, s: Subject) -> Option<Subject> {
        let company = Subject {
            level: Level::Company,
            id: None,
        };
        match (s.level, s.id) {
            (Level::Company, _) => None,
            (Level::Region, _) => Some(company),
            (Level::Team, Some(id)) => Some(
                self.region_id(self.team(id).and_then(|t| t.region.as_deref()))
                    .map_or(company, |r| Subject {
                        level: Level::Region,
                        id: Some(r),
                    }),
            ),
            (Level::User, Some(id)) => {
                let Some(u) = self.user(id) else {
                    return Some(company);
                };
                if let Some(t) = u.team_id.filter(|t| self.team(*t).is_some()) {
                    return Some(Subject {
                        level: Level::Team,
                        id: Some(t),
                    });
                }
                Some(self.user_region(u).map_or(company, |r| Subject {
                    level: Level::Region,
                    id: Some(r),
                }))
            }
            _ => Some(company),
        }
    }

    /// Whether `s`'s figures include person `user` (0: nobody, which only
    /// the company's do).
    pub fn contains(&self, s: Subject, user: i64) -> bool {
        if s.level == Level::Company {
            return true;
        }
        let mut at = Some(Subject {
            level: Level::User,
            id: Some(user),
        });
        if user == 0 {
            return false;
        }
        while let Some(x) = at {
            if x == s {
                return true;
            }
            at = self.parent(x);
        }
        false
    }

    /// The subject's name as people say it.
    pub fn name(&self, s: Subject) -> String {
        match (s.level, s.id) {
            (Level::Company, _) => "全公司".into(),
            (Level::User, Some(id)) => self
                .user(id)
                .map_or_else(|| format!("#{id}"), |u| u.display_name.clone()),
            (Level::Team, Some(id)) => self
                .team(id)
                .map_or_else(|| format!("#{id}"), |t| t.name.clone()),
            (Level::Region, Some(id)) => self
                .regions
                .iter()
                .find(|r| r.id == id)
                .map_or_else(|| format!("#{id}"), |r| r.name.clone()),
            _ => String::new(),
        }
    }

    /// Whether the subject exists (a person, team or region of that id).
    fn exists(&self, s: Subject) -> bool {
        match (s.level, s.id) {
            (Level::Company, None) => true,
            (Level::User, Some(id)) => self.user(id).is_some(),
            (Level::Team, Some(id)) => self.team(id).is_some(),
            (Level::Region, Some(id)) => self.regions.iter().any(|r| r.id == id),
            _ => false,
        }
    }

    /// Whether a caller with `scope` may see or set `s`'s figures.
    pub fn covers(&self, scope: Scope, caller: &User, s: Subject) -> bool {
        let caller_region = self.user_region(caller);
        match (scope, s.level, s.id) {
            (Scope::All, _, _) => true,
            (_, Level::Company, _) => false,
            (Scope::Own, Level::User, Some(id)) => id == caller.id,
            (Scope::Own, _, _) => false,
            (Scope::Team, Level::User, Some(id)) => {
                id == caller.id
                    || (caller.team_id.is_some()
                        && self.user(id).is_some_and(|u| u.team_id == caller.team_id))
            }
            (Scope::Team, Level::Team, Some(id)) => caller.team_id == Some(id),
            (Scope::Team, _, _) => false,
            (Scope::Region, _, _) => {
                caller_region.is_some()
                    && (s.level == Level::User && s.id == Some(caller.id)
                        || self.region_of(s) == caller_region)
            }
        }
    }

    /// The region a subject lies in (a region is its own).
    fn region_of(&self, s: Subject) -> Option<i64> {
        let mut at = Some(s);
        while let Some(x) = at {
            if x.level == Level::Region {
                return x.id;
            }
            at = self.parent(x);
        }
        None
    }

    /// Every subject at `level` (the company alone for the company level).
    fn subjects(&self, level: Level) -> Vec<Subject> {
        let ids: Vec<Option<i64>> = match level {
            Level::Company => vec![None],
            Level::User => self
                .users
                .iter()
                .filter(|u| u.active && u.id != 0)
                .map(|u| Some(u.id))
                .collect(),
            Level::Team => self.teams.iter().map(|t| Some(t.id)).collect(),
            Level::Region => self.regions.iter().map(|r| Some(r.id)).collect(),
        };
        ids.into_iter().map(|id| Subject { level, id }).collect()
    }
}

/// A subject's plan for a period: its own target's (when set) and its
/// members' sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Plan {
    /// The subject's own target for the period, when one is set.
    pub own: Option<i64>,
    /// The sum of its members' plans.
    pub members: i64,
}

impl Plan {
    /// The figure that counts: its own, else its members'.
    pub fn value(&self) -> i64 {
        self.own.unwrap_or(self.members)
    }

    /// Own − members, when the subject's target is set on its own.
    pub fn gap(&self) -> Option<i64> {
        self.own.map(|o| o - self.members)
    }
}

/// Targets of one metric, by subject and year, for a period's plans.
struct Plans {
    targets: HashMap<(Subject, i32), Target>,
    as_of: NaiveDate,
    /// Each subject's children, built once.
    children: HashMap<Subject, Vec<Subject>>,
    /// Working days of the spans asked so far: hundreds of people's plans
    /// ask the same months.
    working: std::sync::Mutex<HashMap<(NaiveDate, NaiveDate), u32>>,
}

impl Plans {
    fn new(org: &Org, targets: Vec<Target>, as_of: NaiveDate) -> Plans {
        let mut children: HashMap<Subject, Vec<Subject>> = HashMap::new();
        for level in [Level::User, Level::Team, Level::Region] {
            for s in org.subjects(level) {
                if let Some(p) = org.parent(s) {
                    children.entry(p).or_default().push(s);
                }
            }
        }
        let targets = targets
            .into_iter()
            .map(|t| {
                (
                    (
                        Subject {
                            level: t.level,
                            id: t.subject_id,
                        },
                        t.year,
                    ),
                    t,
                )
            })
            .collect();
        Plans {
            targets,
            as_of,
            children,
            working: Default::default(),
        }
    }

    fn working_days(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut seen = self.working.lock().unwrap_or_else(|e| e.into_inner());
        *seen
            .entry((from, to))
            .or_insert_with(|| keqing_care::working_days(from, to))
    }

    /// A target's share of `from..=to`: each month's figure in force at
    /// `as_of`, spread over the month's working days.
    fn own(&self, s: Subject, from: NaiveDate, to: NaiveDate) -> Option<i64> {
        let mut found = false;
        let mut total = 0;
        for year in from.year()..=to.year() {
            let Some(t) = self.targets.get(&(s, year)) else {
                continue;
            };
            found = true;
            let months = &t.in_force(self.as_of).months;
            for (m, a, b) in perf::months_in(year, from, to) {
                let amount = months.get(m as usize - 1).copied().unwrap_or(0);
                let first = NaiveDate::from_ymd_opt(year, m, 1).expect("a month's first day");
                let all = self.working_days(first, perf::month_end(first));
                total += perf::prorate(amount, self.working_days(a, b), all);
            }
        }
        found.then_some(total)
    }

    fn plan(&self, s: Subject, from: NaiveDate, to: NaiveDate) -> Plan {
        let members = self
            .children
            .get(&s)
            .map(|c| c.iter().map(|x| self.plan(*x, from, to).value()).sum())
            .unwrap_or(0);
        Plan {
            own: self.own(s, from, to),
            members,
        }
    }
}

/// The actual of each subject at `level` from per-person totals: each
/// person's total goes to the subjects above them (what [`Org::contains`]
/// says), found by walking up from the person once rather than asking every
/// subject about every person.
fn sum_actuals(org: &Org, subjects: &[Subject], rows: &[(i64, i64)]) -> HashMap<Subject, i64> {
    let mut out: HashMap<Subject, i64> = subjects.iter().map(|s| (*s, 0)).collect();
    let company = Subject {
        level: Level::Company,
        id: None,
    };
    for &(user, value) in rows {
        if user == 0 {
            // Nobody's (a pool customer's order): the company's only.
            if let Some(v) = out.get_mut(&company) {
                *v += value;
            }
            continue;
        }
        let mut at = Some(Subject {
            level: Level::User,
            id: Some(user),
        });
        let mut reached_company = false;
        while let Some(x) = at {
            reached_company |= x == company;
            if let Some(v) = out.get_mut(&x) {
                *v += value;
            }
            at = org.parent(x);
        }
        if !reached_company {
            if let Some(v) = out.get_mut(&company) {
                *v += value;
            }
        }
    }
    out
}

/// What a KPI figure is asked for.
#[derive(Debug, Clone, Copy)]
pub struct PerfQuery {
    pub level: Level,
    pub subject_id: Option<i64>,
    pub metric: Metric,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
}

/// One subject's KPI figures for a period.
#[derive(Debug, Clone)]
pub struct Performance {
    pub subject: Subject,
    pub name: String,
    pub metric: Metric,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    pub plan: Plan,
    pub kpi: Kpi,
}

fn kpi_for(plan: i64, actual: i64, from: NaiveDate, to: NaiveDate, as_of: NaiveDate) -> Kpi {
    let working = keqing_care::working_days(from, to);
    let elapsed = if as_of < from {
        0
    } else {
        keqing_care::working_days(from, as_of.min(to))
    };
    Kpi::compute(plan, actual, working, elapsed)
}

fn scope(grants: &Grants, caller: &User, r: Resource, a: Action) -> Result<Scope, AppError> {
    grants
        .scope(caller.role, r, a)
        .ok_or_else(|| AppError::forbidden(&format!("{} {}s", a.as_str(), r.as_str())))
}

fn invalid(field: &str, message: String) -> AppError {
    AppError::Invalid(ValidationError::one(field, message))
}

/// The subject a query names: the caller by default; a team or region the
/// caller's own when no id is given.
fn subject_of(
    org: &Org,
    caller: &User,
    level: Level,
    id: Option<i64>,
) -> Result<Subject, AppError> {
    let id = match (level, id) {
        (Level::Company, _) => None,
        (_, Some(id)) => Some(id),
        (Level::User, None) => Some(caller.id),
        (Level::Team, None) => caller.team_id,
        (Level::Region, None) => org.user_region(caller),
    };
    let s = Subject { level, id };
    if !org.exists(s) {
        return Err(invalid(
            "subject_id",
            format!(
                "未找到该{} no such {} (subject_id {})",
                level.label_zh(),
                level.as_str(),
                id.map_or("-".into(), |i| i.to_string())
            ),
        ));
    }
    Ok(s)
}

fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), AppError> {
    if to < from {
        return Err(invalid(
            "to",
            format!("结束日期早于开始日期 `to` ({to}) is before `from` ({from})"),
        ));
    }
    if (to - from).num_days() > 366 * 3 {
        return Err(invalid(
            "to",
            "期间最长三年 a period covers at most three years".into(),
        ));
    }
    Ok(())
}

async fn year_targets(
    store: &dyn Store,
    metric: Metric,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Target>, AppError> {
    let mut all = vec![];
    for year in from.year()..=to.year() {
        all.extend(store.targets(year, Some(metric)).await?);
    }
    Ok(all)
}

/// The people whose figures make `s`'s (none: everyone's, the company's).
fn members(org: &Org, s: Subject) -> Option<Vec<i64>> {
    (s.level != Level::Company).then(|| {
        org.users
            .iter()
            .map(|u| u.id)
            .filter(|&id| org.contains(s, id))
            .collect()
    })
}

/// Per-person totals of `metric` over the period, summed (of `users`
/// alone, when given).
async fn person_totals(
    store: &dyn Store,
    metric: Metric,
    from: NaiveDate,
    to: NaiveDate,
    users: Option<Vec<i64>>,
) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(store
        .actuals(metric, from, to, Grain::Total, users)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r.value))
        .collect())
}

/// `GET /performance`: one subject's plan, actual and KPI figures.
pub async fn performance(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    q: PerfQuery,
) -> Result<Performance, AppError> {
    check_period(q.from, q.to)?;
    let org = Org::load(store).await?;
    let subject = subject_of(&org, caller, q.level, q.subject_id)?;
    let sc = scope(grants, caller, Resource::Performance, Action::Read)?;
    if !org.covers(sc, caller, subject) {
        return Err(AppError::forbidden("read this subject's performance"));
    }
    let plans = Plans::new(
        &org,
        year_targets(store, q.metric, q.from, q.to).await?,
        q.as_of,
    );
    let plan = plans.plan(subject, q.from, q.to);
    let totals = person_totals(store, q.metric, q.from, q.to, members(&org, subject)).await?;
    let actual = sum_actuals(&org, &[subject], &totals)[&subject];
    Ok(Performance {
        subject,
        name: org.name(subject),
        metric: q.metric,
        from: q.from,
        to: q.to,
        as_of: q.as_of,
        plan,
        kpi: kpi_for(plan.value(), actual, q.from, q.to, q.as_of),
    })
}

/// A subject's average price over a period: sales ÷ quantity, actual and
/// planned, in fen a unit (003: 10655 against the plan's 10749).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AveragePrice {
    pub actual: Option<i64>,
    pub plan: Option<i64>,
}

/// [`AveragePrice`] of the subject `q` names (`q.metric` is not read).
pub async fn average_price(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    q: PerfQuery,
) -> Result<AveragePrice, AppError> {
    let sales = performance(
        store,
        grants,
        caller,
        PerfQuery {
            metric: Metric::SalesAmount,
            ..q
        },
    )
    .await?;
    let quantity = performance(
        store,
        grants,
        caller,
        PerfQuery {
            metric: Metric::Quantity,
            ..q
        },
    )
    .await?;
    Ok(AveragePrice {
        actual: perf::average_price(sales.kpi.actual, quantity.kpi.actual),
        plan: perf::average_price(sales.kpi.plan, quantity.kpi.plan),
    })
}

/// A sub-metric's part of the whole: the orders of some products against
/// all of the subject's (003: 省外烟 807 of 3082 cases, 26%).
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub products: Vec<String>,
    pub part: i64,
    pub whole: i64,
    pub share: Option<f64>,
}

/// Products of one sub-metric a share may name.
pub const SHARE_PRODUCTS_MAX: usize = 50;

/// [`Share`] of `products` in `whole`, the subject's figures as
/// [`performance`] read them (in the caller's scope), of sales or quantity.
pub async fn share(
    store: &dyn Store,
    whole: &Performance,
    products: Vec<String>,
) -> Result<Share, AppError> {
    if !matches!(whole.metric, Metric::SalesAmount | Metric::Quantity) {
        return Err(invalid(
            "share_of",
            format!(
                "按产品的占比只用于销售额或销量 a share of products is of sales_amount or quantity, not {}",
                whole.metric.as_str()
            ),
        ));
    }
    if products.is_empty() || products.len() > SHARE_PRODUCTS_MAX {
        return Err(invalid(
            "share_of",
            format!("请列出1到{SHARE_PRODUCTS_MAX}个产品 name 1 to {SHARE_PRODUCTS_MAX} products"),
        ));
    }
    let org = Org::load(store).await?;
    let part = store
        .product_actual(
            whole.metric,
            products.clone(),
            whole.from,
            whole.to,
            members(&org, whole.subject),
        )
        .await?;
    Ok(Share {
        products,
        part,
        whole: whole.kpi.actual,
        share: perf::share(part, whole.kpi.actual),
    })
}

/// One month of a subject's year.
#[derive(Debug, Clone)]
pub struct MonthFigures {
    pub month: NaiveDate,
    pub kpi: Kpi,
}

/// `GET /performance/series`: a subject's twelve months of the year `q.from`
/// falls in (`q.to` is not read).
pub async fn series(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    q: PerfQuery,
) -> Result<(Subject, String, Vec<MonthFigures>), AppError> {
    let PerfQuery {
        level,
        subject_id,
        metric,
        as_of,
        ..
    } = q;
    let year = q.from.year();
    let org = Org::load(store).await?;
    let subject = subject_of(&org, caller, level, subject_id)?;
    let sc = scope(grants, caller, Resource::Performance, Action::Read)?;
    if !org.covers(sc, caller, subject) {
        return Err(AppError::forbidden("read this subject's performance"));
    }
    let (from, to) = year_bounds(year)?;
    let plans = Plans::new(&org, store.targets(year, Some(metric)).await?, as_of);
    let rows = store
        .actuals(metric, from, to, Grain::Month, members(&org, subject))
        .await?;
    let mut by_month: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for r in rows {
        if org.contains(subject, r.user_id) {
            *by_month.entry(r.period).or_default() += r.value;
        }
    }
    let months = (1..=12)
        .map(|m| {
            let first = NaiveDate::from_ymd_opt(year, m, 1).expect("a month");
            let last = perf::month_end(first);
            let plan = plans.plan(subject, first, last).value();
            let actual = by_month.get(&first).copied().unwrap_or(0);
            MonthFigures {
                month: first,
                kpi: kpi_for(plan, actual, first, last, as_of),
            }
        })
        .collect();
    Ok((subject, org.name(subject), months))
}

fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate), AppError> {
    match (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) {
        (Some(a), Some(b)) if (2000..=2100).contains(&year) => Ok((a, b)),
        _ => Err(invalid(
            "year",
            "年份应在2000–2100之间 a year from 2000 to 2100".into(),
        )),
    }
}

/// One line of a leaderboard.
#[derive(Debug, Clone)]
pub struct BoardLine {
    pub subject: Subject,
    pub name: String,
    pub kpi: Kpi,
    pub rank: usize,
}

/// `GET /performance/board`: every subject at `q.level` in the caller's
/// scope, ranked by completion (those without a plan last, by actual);
/// `q.subject_id` is not read.
pub async fn board(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    q: PerfQuery,
) -> Result<Vec<BoardLine>, AppError> {
    let PerfQuery {
        level,
        metric,
        from,
        to,
        as_of,
        ..
    } = q;
    check_period(from, to)?;
    let org = Org::load(store).await?;
    let sc = scope(grants, caller, Resource::Performance, Action::Read)?;
    let plans = Plans::new(&org, year_targets(store, metric, from, to).await?, as_of);
    let totals = person_totals(store, metric, from, to, None).await?;
    let subjects: Vec<Subject> = org
        .subjects(level)
        .into_iter()
        .filter(|s| org.covers(sc, caller, *s))
        .collect();
    let actuals = sum_actuals(&org, &subjects, &totals);
    let mut lines: Vec<BoardLine> = subjects
        .iter()
        .map(|s| {
            let plan = plans.plan(*s, from, to).value();
            BoardLine {
                subject: *s,
                name: org.name(*s),
                kpi: kpi_for(plan, actuals[s], from, to, as_of),
                rank: 0,
            }
        })
        .filter(|l| level != Level::User || l.kpi.plan > 0 || l.kpi.actual != 0)
        .collect();
    lines.sort_by(|a, b| {
        let key = |l: &BoardLine| l.kpi.completion.unwrap_or(f64::NEG_INFINITY);
        key(b)
            .partial_cmp(&key(a))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.kpi.actual.cmp(&a.kpi.actual))
            .then(a.name.cmp(&b.name))
    });
    for (i, l) in lines.iter_mut().enumerate() {
        l.rank = i + 1;
    }
    Ok(lines)
}

/// A target as the pages show it: with its subject's name and, for a team,
/// region or the company, its members' sum and the gap.
#[derive(Debug, Clone)]
pub struct TargetView {
    pub target: Target,
    pub subject_name: String,
    pub members_sum: Option<i64>,
    pub gap: Option<i64>,
}

fn view(org: &Org, plans: &Plans, t: Target) -> TargetView {
    let s = Subject {
        level: t.level,
        id: t.subject_id,
    };
    let (from, to) = year_bounds(t.year).unwrap_or((plans.as_of, plans.as_of));
    let members = (t.level != Level::User).then(|| plans.plan(s, from, to).members);
    let own = t.current().amount;
    TargetView {
        subject_name: org.name(s),
        members_sum: members,
        gap: members.map(|m| own - m),
        target: t,
    }
}

/// `GET /targets`: the year's targets the caller may read.
pub async fn targets(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    year: i32,
    level: Option<Level>,
    subject_id: Option<i64>,
    metric: Option<Metric>,
) -> Result<Vec<TargetView>, AppError> {
    year_bounds(year)?;
    let sc = scope(grants, caller, Resource::Target, Action::Read)?;
    let org = Org::load(store).await?;
    let all = store.targets(year, metric).await?;
    let mut by_metric: BTreeMap<Metric, Vec<Target>> = BTreeMap::new();
    for t in &all {
        by_metric.entry(t.metric).or_default().push(t.clone());
    }
    let as_of = china_today();
    let plans: HashMap<Metric, Plans> = by_metric
        .into_iter()
        .map(|(m, ts)| (m, Plans::new(&org, ts, as_of)))
        .collect();
    Ok(all
        .into_iter()
        .filter(|t| level.is_none_or(|l| t.level == l))
        .filter(|t| subject_id.is_none() || t.subject_id == subject_id)
        .filter(|t| {
            org.covers(
                sc,
                caller,
                Subject {
                    level: t.level,
                    id: t.subject_id,
                },
            )
        })
        .map(|t| {
            let p = &plans[&t.metric];
            view(&org, p, t)
        })
        .collect())
}

async fn target_view(store: &dyn Store, org: &Org, t: Target) -> Result<TargetView, AppError> {
    let plans = Plans::new(
        org,
        store.targets(t.year, Some(t.metric)).await?,
        china_today(),
    );
    Ok(view(org, &plans, t))
}

/// `POST /targets`: sets a target in the caller's Target create scope;
/// 422 for an unknown subject, 409 (duplicate) when one is set.
pub async fn create_target(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    body: &Map<String, Value>,
) -> Result<TargetView, AppError> {
    let sc = scope(grants, caller, Resource::Target, Action::Create)?;
    let input = TargetInput::from_json(body)?;
    let org = Org::load(store).await?;
    let s = Subject {
        level: input.level,
        id: input.subject_id,
    };
    if !org.exists(s) {
        return Err(invalid(
            "subject_id",
            format!(
                "未找到该{} no such {} (subject_id {})",
                input.level.label_zh(),
                input.level.as_str(),
                input.subject_id.unwrap_or_default()
            ),
        ));
    }
    if !org.covers(sc, caller, s) {
        return Err(AppError::forbidden("set this subject's target"));
    }
    let t = store.create_target(&input, caller).await?;
    target_view(store, &org, t).await
}

/// `PATCH /targets/{id}`: a revision effective from a day, with why; 409
/// on a stale version.
pub async fn revise_target(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    id: i64,
    body: &Map<String, Value>,
) -> Result<TargetView, AppError> {
    let sc = scope(grants, caller, Resource::Target, Action::Update)?;
    let Some(t) = store.target(id).await? else {
        return Err(AppError::NotFound("target".into()));
    };
    let org = Org::load(store).await?;
    let s = Subject {
        level: t.level,
        id: t.subject_id,
    };
    if !org.covers(sc, caller, s) {
        return Err(AppError::NotFound("target".into()));
    }
    let r = RevisionInput::from_json(body, t.metric)?;
    let months = r.months_from(&t.current().months);
    let t = store
        .revise_target(id, &r, months, caller)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AppError::NotFound("target".into()),
            e => e.into(),
        })?;
    target_view(store, &org, t).await
}

/// One person's sales plan and actual for a month, for the pay run's B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthFigure {
    pub user_id: i64,
    /// The person's sales plan for the month in force at its last day
    /// (none without a target).
    pub plan_fen: Option<i64>,
    pub actual_fen: i64,
}

/// Every active person with a sales target or sales in the month, by id.
pub async fn month_figures(
    store: &dyn Store,
    year: i32,
    month: u32,
) -> Result<Vec<MonthFigure>, AppError> {
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return Err(invalid(
            "month",
            format!("不是有效的月份 not a month: {year}-{month:02}"),
        ));
    };
    let last = perf::month_end(first);
    let org = Org::load(store).await?;
    let plans = Plans::new(
        &org,
        store.targets(year, Some(Metric::SalesAmount)).await?,
        last,
    );
    let totals: HashMap<i64, i64> = person_totals(store, Metric::SalesAmount, first, last, None)
        .await?
        .into_iter()
        .collect();
    let mut out: Vec<MonthFigure> = org
        .users
        .iter()
        .filter(|u| u.active && u.id != 0)
        .map(|u| MonthFigure {
            user_id: u.id,
            plan_fen: plans.own(
                Subject {
                    level: Level::User,
                    id: Some(u.id),
                },
                first,
                last,
            ),
            actual_fen: totals.get(&u.id).copied().unwrap_or(0),
        })
        .filter(|f| f.plan_fen.is_some() || f.actual_fen != 0)
        .collect();
    out.sort_by_key(|f| f.user_id);
    Ok(out)
}

/// The company's actual sales in `year`, in fen (the bonus pool's base).
pub async fn year_sales_fen(store: &dyn Store, year: i32) -> Result<i64, AppError> {
    let (from, to) = year_bounds(year)?;
    Ok(person_totals(store, Metric::SalesAmount, from, to, None)
        .await?
        .iter()
        .map(|(_, v)| v)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keqing_domain::Role;

    /// Two regions; team 1 in 江苏, team 2 in 浙江, team 3 in no region;
    /// people in teams, one with only a region, one with neither.
    fn org() -> Org {
        let user = |id: i64, team: Option<i64>, region: Option<&str>| User {
            id,
            username: format!("u{id}"),
            display_name: format!("U{id}"),
            role: Role::Manager,
            team_id: team,
            region: region.map(str::to_string),
            active: true,
        };
        let team = |id: i64, region: Option<&str>| Team {
            id,
            name: format!("T{id}"),
            region: region.map(str::to_string),
        };
        let region = |id: i64, name: &str| Region {
            id,
            name: name.into(),
            users: 0,
            teams: 0,
        };
        Org::new(
            vec![
                user(1, Some(1), None),
                user(2, Some(1), Some("浙江")),
                user(3, Some(2), None),
                user(4, Some(3), None),
                user(5, None, Some("浙江")),
                user(6, None, None),
                user(7, Some(99), Some("江苏")),
            ],
            vec![team(1, Some("江苏")), team(2, Some("浙江")), team(3, None)],
            vec![region(10, "江苏"), region(20, "浙江")],
        )
    }

    #[test]
    fn sums_walk_up_as_contains_says() {
        let org = org();
        let mut subjects = vec![Subject {
            level: Level::Company,
            id: None,
        }];
        for level in [Level::User, Level::Team, Level::Region] {
            subjects.extend(org.subjects(level));
        }
        // Person 0 (nobody), the seven people and one the org does not know.
        let rows: Vec<(i64, i64)> = [0, 1, 2, 3, 4, 5, 6, 7, 42]
            .iter()
            .enumerate()
            .map(|(i, &u)| (u, 10i64.pow(i as u32)))
            .collect();
        let got = sum_actuals(&org, &subjects, &rows);
        for s in &subjects {
            let want: i64 = rows
                .iter()
                .filter(|(u, _)| org.contains(*s, *u))
                .map(|(_, v)| v)
                .sum();
            assert_eq!(got[s], want, "{s:?}");
        }
        let team1 = Subject {
            level: Level::Team,
            id: Some(1),
        };
        assert_eq!(got[&team1], 10 + 100, "people 1 and 2");
        let jiangsu = Subject {
            level: Level::Region,
            id: Some(10),
        };
        // Team 1's people, and person 7 (an unknown team: their region).
        assert_eq!(got[&jiangsu], 10 + 100 + 10_000_000);
    }
}
