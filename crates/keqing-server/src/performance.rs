//! Sales performance (SPEC §6): targets and their revisions, KPI figures,
//! the monthly series behind the charts and the leaderboards.
//!
//! Amounts travel as strings in the metric's unit: yuan with two decimals
//! for money metrics (sales_amount, receivables), whole counts otherwise.
//! Ratios are numbers (1.0215 is 102%).

use crate::auth::CurrentUser;
use crate::error::{ApiError, JsonObject};
use crate::extract::{Json, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use keqing_app::performance::{self as app, PerfQuery, TargetView};
use keqing_domain::day::china_today;
use keqing_domain::performance::{month_end, Kpi, Level, Metric};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One figure of a target's history.
#[derive(Serialize, ToSchema)]
pub struct RevisionAnswer {
    /// 1 for the target as first set, then one more per revision
    pub version: i64,
    /// the year's amount (yuan for money metrics, else a count)
    pub amount: String,
    /// the year's twelve months, January first, summing to `amount`
    pub months: Vec<String>,
    /// the day this figure took effect (a target's first: 1 January)
    pub effective_from: NaiveDate,
    /// why it changed (none for the first)
    pub reason: Option<String>,
    /// who set it
    pub by: Option<i64>,
    /// their name
    pub by_name: Option<String>,
    /// when it was stored
    pub at: DateTime<Utc>,
}

/// A target with its history.
#[derive(Serialize, ToSchema)]
pub struct TargetAnswer {
    pub id: i64,
    pub level: Level,
    /// the person, team or region (none for the company)
    pub subject_id: Option<i64>,
    /// the subject's name (全公司 for the company)
    pub subject_name: String,
    pub metric: Metric,
    pub year: i32,
    /// the year's amount now (the last revision's)
    pub amount: String,
    /// the months now
    pub months: Vec<String>,
    /// send it back with a revision; a stale one is refused (409)
    pub version: i64,
    /// a team's, region's or the company's target set on its own (always
    /// true: a stored target is set); its members' sum is beside it
    pub set_on_its_own: bool,
    /// for a team, region or the company: the year's sum of its members'
    /// plans (none for a person)
    pub members_sum: Option<String>,
    /// amount − members_sum: what the members' targets leave uncovered
    /// (negative: they exceed it)
    pub gap: Option<String>,
    /// every figure it had, oldest first
    pub revisions: Vec<RevisionAnswer>,
}

impl From<TargetView> for TargetAnswer {
    fn from(v: TargetView) -> TargetAnswer {
        let m = v.target.metric;
        let fmt = |xs: &[i64]| xs.iter().map(|x| m.format(*x)).collect::<Vec<_>>();
        let current = v.target.current().clone();
        TargetAnswer {
            id: v.target.id,
            level: v.target.level,
            subject_id: v.target.subject_id,
            subject_name: v.subject_name,
            metric: m,
            year: v.target.year,
            amount: m.format(current.amount),
            months: fmt(&current.months),
            version: v.target.version,
            set_on_its_own: true,
            members_sum: v.members_sum.map(|x| m.format(x)),
            gap: v.gap.map(|x| m.format(x)),
            revisions: v
                .target
                .revisions
                .iter()
                .map(|r| RevisionAnswer {
                    version: r.version,
                    amount: m.format(r.amount),
                    months: fmt(&r.months),
                    effective_from: r.effective_from,
                    reason: r.reason.clone(),
                    by: r.by,
                    by_name: r.by_name.clone(),
                    at: r.at,
                })
                .collect(),
        }
    }
}

/// A new target (`keqing_domain::performance::TargetInput::from_json`,
/// which names every wrong field in one 422).
#[derive(ToSchema)]
pub struct TargetBody {
    /// user, team, region or company (个人, 团队, 区域, 公司)
    pub level: Level,
    /// the person, team or region; none for the company
    pub subject_id: Option<i64>,
    /// sales_amount, quantity, receivables, new_customers or visits
    pub metric: Metric,
    /// 2000–2100
    pub year: i32,
    /// the year's amount, not negative: yuan (a decimal string such as
    /// "25000.00") for money metrics, a whole number otherwise
    pub amount: String,
    /// twelve weights, January first: fractions summing to 1, per cents
    /// summing to 100, or the months' amounts summing to `amount`;
    /// without them the year is split evenly. Each month is spread over
    /// its working days on the statutory calendar.
    pub months: Option<Vec<String>>,
}

/// A revision of a target.
#[derive(ToSchema)]
pub struct RevisionBody {
    /// the target's version as read (409 when someone revised it since)
    pub version: i64,
    /// the year's new amount
    pub amount: String,
    /// the day the new figure takes effect (YYYY-MM-DD); figures before it
    /// keep the old one
    pub effective_from: NaiveDate,
    /// why (required, at most 200 characters), such as 市局修正任务
    pub reason: String,
    /// a new split (as for a new target); without it the old proportions
    pub months: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/targets",
    tag = "performance",
    operation_id = "targets_create",
    description = "Set a yearly target for a person, team, region or the company on one metric. Directors and administrators set any; supervisors their team's and its members'. 422 names each wrong field (an unknown subject, a negative amount, months that add up to neither the year, 1 nor 100); 409 when the subject already has a target for that metric and year (revise it instead).",
    request_body = TargetBody,
    responses((status = 201, description = "The target stored, with its first revision", body = TargetAnswer), (status = 422, description = "invalid: the fields that are wrong", body = crate::openapi::ErrorBody), (status = 409, description = "a target is set already", body = crate::openapi::ErrorBody))
)]
pub async fn create_target(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<TargetBody>,
) -> Result<(StatusCode, Json<TargetAnswer>), ApiError> {
    let v = app::create_target(st.store.as_ref(), &st.grants, &u, &body).await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

#[utoipa::path(
    patch,
    path = "/targets/{id}",
    tag = "performance",
    operation_id = "targets_revise",
    description = "Revise a target from a day on, with the reason (003: 2.5万 → 2.55万大箱). The history stays: figures for a day before `effective_from` read the old amount. 409 on a stale version, 422 naming each wrong field.",
    params(("id" = i64, Path, description = "target id")),
    request_body = RevisionBody,
    responses((status = 200, description = "The target with its new revision", body = TargetAnswer), (status = 409, description = "stale version", body = crate::openapi::ErrorBody), (status = 422, description = "invalid: the fields that are wrong", body = crate::openapi::ErrorBody))
)]
pub async fn revise_target(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(body, _): JsonObject<RevisionBody>,
) -> Result<Json<TargetAnswer>, ApiError> {
    let v = app::revise_target(st.store.as_ref(), &st.grants, &u, id, &body).await?;
    Ok(Json(v.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TargetParams {
    /// the year (default: this year)
    year: Option<i32>,
    /// only this level
    level: Option<Level>,
    /// only this subject
    subject_id: Option<i64>,
    /// only this metric
    metric: Option<Metric>,
}

/// Targets.
#[derive(Serialize, ToSchema)]
pub struct TargetList {
    pub items: Vec<TargetAnswer>,
}

#[utoipa::path(
    get,
    path = "/targets",
    tag = "performance",
    operation_id = "targets_list",
    description = "The year's targets the caller may read (a manager their own, a supervisor their team's, directors, finance and administrators all), each with its revisions and, for a team, region or the company, the sum of its members' targets and the gap.",
    params(TargetParams),
    responses((status = 200, description = "The targets", body = TargetList))
)]
pub async fn list_targets(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<TargetParams>,
) -> Result<Json<TargetList>, ApiError> {
    let year = p.year.unwrap_or_else(|| china_today().year());
    let items = app::targets(
        st.store.as_ref(),
        &st.grants,
        &u,
        year,
        p.level,
        p.subject_id,
        p.metric,
    )
    .await?;
    Ok(Json(TargetList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PerfParams {
    /// user (default), team, region or company
    level: Option<Level>,
    /// the person, team or region (default: the caller, or the caller's
    /// team or region)
    subject_id: Option<i64>,
    /// default sales_amount
    metric: Option<Metric>,
    /// the period's first day (default: this month's first)
    from: Option<NaiveDate>,
    /// the period's last day (default: this month's last)
    to: Option<NaiveDate>,
    /// the day figures are read at (default: today in China): time
    /// progress counts working days up to it, and each target's figure in
    /// force on it is used
    as_of: Option<NaiveDate>,
    /// true: also the average price (sales ÷ quantity), actual and planned
    average_price: Option<bool>,
    /// products, comma-separated (at most 50): also their share of the
    /// subject's sales or quantity (a sub-metric, such as 省外烟 of all)
    share_of: Option<String>,
}

/// KPI figures of one subject for one period (003 A7).
#[derive(Serialize, ToSchema)]
pub struct PerformanceAnswer {
    pub level: Level,
    pub subject_id: Option<i64>,
    /// the subject's name
    pub name: String,
    pub metric: Metric,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    /// the plan for the period: each month's target spread over its
    /// working days (the subject's own target, else its members' sum)
    pub plan: String,
    /// what was achieved in the period
    pub actual: String,
    /// actual ÷ plan (none without a plan)
    pub completion: Option<f64>,
    /// elapsed working days ÷ working days of the period
    pub time_progress: f64,
    /// completion − time progress: above 0 is ahead of the calendar
    pub points_ahead: Option<f64>,
    /// working days of the period (statutory holidays off, make-up days on)
    pub working_days: u32,
    /// working days from `from` to `as_of`
    pub elapsed_working_days: u32,
    /// the run rate carried to the period's end
    pub forecast: String,
    /// the subject's own target for the period, when set
    pub own_plan: Option<String>,
    /// the sum of its members' plans
    pub members_plan: String,
    /// own_plan − members_plan, when its own is set
    pub gap: Option<String>,
    /// with `average_price=true`: sales ÷ quantity, actual and planned
    pub average_price: Option<AveragePriceAnswer>,
    /// with `share_of`: the products' part of the actual
    pub share: Option<ShareAnswer>,
}

/// Sales ÷ quantity, in yuan a unit (003: 10655 against the plan's 10749).
#[derive(Serialize, ToSchema)]
pub struct AveragePriceAnswer {
    /// none without quantity
    pub actual: Option<String>,
    /// none without a quantity plan
    pub plan: Option<String>,
    /// actual − plan (−94 in 003)
    pub gap: Option<String>,
}

/// A sub-metric's part of the whole.
#[derive(Serialize, ToSchema)]
pub struct ShareAnswer {
    /// the products named
    pub products: Vec<String>,
    /// their sales or quantity in the period (the subject's orders)
    pub part: String,
    /// all of the subject's (`actual`)
    pub whole: String,
    /// part ÷ whole (none when the whole is 0)
    pub share: Option<f64>,
}

fn ratio_answer(k: &Kpi) -> (Option<f64>, f64, Option<f64>) {
    let r = |x: f64| (x * 10_000.0).round() / 10_000.0;
    (
        k.completion.map(r),
        r(k.time_progress),
        k.points_ahead.map(r),
    )
}

fn period(p: &PerfParams) -> (NaiveDate, NaiveDate, NaiveDate) {
    let today = china_today();
    let first = today.with_day(1).unwrap_or(today);
    let from = p.from.unwrap_or(first);
    let to = p.to.unwrap_or_else(|| month_end(from));
    (from, to, p.as_of.unwrap_or(today))
}

#[utoipa::path(
    get,
    path = "/performance",
    tag = "performance",
    operation_id = "performance_get",
    description = "One subject's plan, actual, completion, time progress (working days on the statutory calendar), points ahead and run-rate forecast for a period, within the caller's scope (403 outside it); on request the average price against the plan's (`average_price=true`) and a sub-metric's share (`share_of=省外烟,…`: those products' orders against all). Aggregated in the database from daily and monthly totals; only a share reads orders, through their product index.",
    params(PerfParams),
    responses((status = 200, description = "The figures", body = PerformanceAnswer), (status = 422, description = "invalid parameters", body = crate::openapi::ErrorBody))
)]
pub async fn get(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<PerfParams>,
) -> Result<Json<PerformanceAnswer>, ApiError> {
    let (from, to, as_of) = period(&p);
    let q = PerfQuery {
        level: p.level.unwrap_or(Level::User),
        subject_id: p.subject_id,
        metric: p.metric.unwrap_or(Metric::SalesAmount),
        from,
        to,
        as_of,
    };
    let r = app::performance(st.store.as_ref(), &st.grants, &u, q).await?;
    let average_price = if p.average_price == Some(true) {
        let a = app::average_price(st.store.as_ref(), &st.grants, &u, q).await?;
        let yuan = |f: i64| Metric::SalesAmount.format(f);
        Some(AveragePriceAnswer {
            actual: a.actual.map(yuan),
            plan: a.plan.map(yuan),
            gap: a.actual.zip(a.plan).map(|(x, y)| yuan(x - y)),
        })
    } else {
        None
    };
    let share = match p.share_of.as_deref() {
        None => None,
        Some(list) => {
            let products: Vec<String> = list
                .split([',', '，'])
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect();
            let s = app::share(st.store.as_ref(), &r, products).await?;
            Some(ShareAnswer {
                products: s.products,
                part: q.metric.format(s.part),
                whole: q.metric.format(s.whole),
                share: s.share.map(|x| (x * 10_000.0).round() / 10_000.0),
            })
        }
    };
    let m = r.metric;
    let (completion, time_progress, points_ahead) = ratio_answer(&r.kpi);
    Ok(Json(PerformanceAnswer {
        level: r.subject.level,
        subject_id: r.subject.id,
        name: r.name,
        metric: m,
        from: r.from,
        to: r.to,
        as_of: r.as_of,
        plan: m.format(r.kpi.plan),
        actual: m.format(r.kpi.actual),
        completion,
        time_progress,
        points_ahead,
        working_days: r.kpi.working_days,
        elapsed_working_days: r.kpi.elapsed_working_days,
        forecast: m.format(r.kpi.forecast),
        own_plan: r.plan.own.map(|x| m.format(x)),
        members_plan: m.format(r.plan.members),
        gap: r.plan.gap().map(|x| m.format(x)),
        average_price,
        share,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// user (default), team, region or company
    level: Option<Level>,
    /// as for /performance
    subject_id: Option<i64>,
    /// default sales_amount
    metric: Option<Metric>,
    /// default this year
    year: Option<i32>,
    /// default today in China
    as_of: Option<NaiveDate>,
}

/// One month of a series.
#[derive(Serialize, ToSchema)]
pub struct SeriesMonth {
    /// YYYY-MM
    pub month: String,
    pub plan: String,
    pub actual: String,
    pub completion: Option<f64>,
    pub time_progress: f64,
    pub working_days: u32,
    pub elapsed_working_days: u32,
}

/// A subject's twelve months.
#[derive(Serialize, ToSchema)]
pub struct SeriesAnswer {
    pub level: Level,
    pub subject_id: Option<i64>,
    pub name: String,
    pub metric: Metric,
    pub year: i32,
    /// January to December
    pub items: Vec<SeriesMonth>,
}

#[utoipa::path(
    get,
    path = "/performance/series",
    tag = "performance",
    operation_id = "performance_series",
    description = "A subject's plan and actual month by month for one year (the trend charts), in the caller's scope.",
    params(SeriesParams),
    responses((status = 200, description = "Twelve months", body = SeriesAnswer))
)]
pub async fn series(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<SeriesParams>,
) -> Result<Json<SeriesAnswer>, ApiError> {
    let year = p.year.unwrap_or_else(|| china_today().year());
    let metric = p.metric.unwrap_or(Metric::SalesAmount);
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return Err(ApiError::invalid(
            "year",
            "年份应在2000–2100之间 a year from 2000 to 2100",
        ));
    };
    let q = PerfQuery {
        level: p.level.unwrap_or(Level::User),
        subject_id: p.subject_id,
        metric,
        from: first,
        to: first,
        as_of: p.as_of.unwrap_or_else(china_today),
    };
    let (subject, name, months) = app::series(st.store.as_ref(), &st.grants, &u, q).await?;
    Ok(Json(SeriesAnswer {
        level: subject.level,
        subject_id: subject.id,
        name,
        metric,
        year,
        items: months
            .iter()
            .map(|m| {
                let (completion, time_progress, _) = ratio_answer(&m.kpi);
                SeriesMonth {
                    month: m.month.format("%Y-%m").to_string(),
                    plan: metric.format(m.kpi.plan),
                    actual: metric.format(m.kpi.actual),
                    completion,
                    time_progress,
                    working_days: m.kpi.working_days,
                    elapsed_working_days: m.kpi.elapsed_working_days,
                }
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// user (default), team or region
    level: Option<Level>,
    /// default sales_amount
    metric: Option<Metric>,
    /// the period's first day (default: this month's first)
    from: Option<NaiveDate>,
    /// the period's last day (default: the end of `from`'s month)
    to: Option<NaiveDate>,
    /// the day figures are read at (default: today in China)
    as_of: Option<NaiveDate>,
}

/// One line of a leaderboard.
#[derive(Serialize, ToSchema)]
pub struct BoardItem {
    pub subject_id: Option<i64>,
    pub name: String,
    pub plan: String,
    pub actual: String,
    pub completion: Option<f64>,
    pub points_ahead: Option<f64>,
    pub forecast: String,
    /// 1 for the highest completion (those without a plan last, by actual)
    pub rank: usize,
}

/// A leaderboard.
#[derive(Serialize, ToSchema)]
pub struct BoardAnswer {
    pub level: Level,
    pub metric: Metric,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    pub time_progress: f64,
    pub items: Vec<BoardItem>,
}

#[utoipa::path(
    get,
    path = "/performance/board",
    tag = "performance",
    operation_id = "performance_board",
    description = "Every person, team or region in the caller's scope ranked by completion for a period (people without a plan or an actual are left out).",
    params(BoardParams),
    responses((status = 200, description = "The leaderboard", body = BoardAnswer), (status = 422, description = "invalid parameters", body = crate::openapi::ErrorBody))
)]
pub async fn board(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<BoardParams>,
) -> Result<Json<BoardAnswer>, ApiError> {
    let level = p.level.unwrap_or(Level::User);
    if level == Level::Company {
        return Err(ApiError::invalid(
            "level",
            "排行榜按个人、团队或区域 a leaderboard ranks users, teams or regions",
        ));
    }
    let metric = p.metric.unwrap_or(Metric::SalesAmount);
    let (from, to, as_of) = period(&PerfParams {
        level: None,
        subject_id: None,
        metric: None,
        from: p.from,
        to: p.to,
        as_of: p.as_of,
        average_price: None,
        share_of: None,
    });
    let q = PerfQuery {
        level,
        subject_id: None,
        metric,
        from,
        to,
        as_of,
    };
    let lines = app::board(st.store.as_ref(), &st.grants, &u, q).await?;
    let tp = Kpi::compute(
        0,
        0,
        keqing_care::working_days(from, to),
        if as_of < from {
            0
        } else {
            keqing_care::working_days(from, as_of.min(to))
        },
    );
    Ok(Json(BoardAnswer {
        level,
        metric,
        from,
        to,
        as_of,
        time_progress: ratio_answer(&tp).1,
        items: lines
            .into_iter()
            .map(|l| {
                let (completion, _, points_ahead) = ratio_answer(&l.kpi);
                BoardItem {
                    subject_id: l.subject.id,
                    name: l.name,
                    plan: metric.format(l.kpi.plan),
                    actual: metric.format(l.kpi.actual),
                    completion,
                    points_ahead,
                    forecast: metric.format(l.kpi.forecast),
                    rank: l.rank,
                }
            })
            .collect(),
    }))
}
