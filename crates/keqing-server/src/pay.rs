//! Pay (issue 26): base pay and rates, the duty checklist, pay runs
//! (draft → reviewed → approved → locked) and their export, pay slips, the
//! year-end bonus and the 70/30 scorecard. The rules are keqing-app's
//! (`keqing_app::pay`); these handlers translate HTTP.

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use keqing_app::pay::{
    self as app, Bonus, Checklist, ChecklistMember, DutyScoreView, ItemScore, PayRunView, PaySlip,
    Rankings,
};
use keqing_domain::access::{Action, Scope};
use keqing_domain::pay::{parse_rate, Duty, ScoreItem};
use keqing_domain::{Money, Role};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn rate_bp(field: &str, rate: Option<&str>) -> Result<Option<i64>, ApiError> {
    rate.map(|r| parse_rate(r).map_err(|e| ApiError::invalid(field, e)))
        .transpose()
}

// --- settings ---

/// The duty checklist and the scorecard items, with their versions.
#[derive(Serialize, ToSchema)]
pub struct PaySettings {
    /// The soft-target duties (000 article 1), each with its weight and amount.
    pub duties: Vec<Duty>,
    /// The duties' version (0: the defaults, never stored); a change names it.
    pub duties_version: i64,
    /// The scorecard items (003), quantitative and qualitative, weights summing to 100.
    pub items: Vec<ScoreItem>,
    /// The items' version (0: the defaults).
    pub items_version: i64,
}

#[utoipa::path(
    get,
    path = "/pay/settings",
    tag = "pay",
    operation_id = "pay_get_settings",
    description = "The duty checklist (the ten duties of 000 article 1 with weights and amounts; item 3, missing from the seed text, is keqing's: regular visits) and the scorecard items (003's 70/30), with their versions. Anyone who may read pay.",
    responses((status = 200, description = "The settings", body = PaySettings))
)]
pub async fn get_settings(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<PaySettings>, ApiError> {
    app::scope(&st.grants, &u, Action::Read)?;
    let (duties, duties_version) = app::duties(st.store.as_ref()).await?;
    let (items, items_version) = app::score_items(st.store.as_ref()).await?;
    Ok(Json(PaySettings {
        duties,
        duties_version,
        items,
        items_version,
    }))
}

/// New duties.
#[derive(Deserialize, ToSchema)]
pub struct DutiesBody {
    /// The version read (0 while the defaults are in force); 409 when stale.
    pub version: i64,
    /// The duties, numbered 1.. in order, weights summing to 100.
    pub duties: Vec<Duty>,
}

/// The duties stored.
#[derive(Serialize, ToSchema)]
pub struct DutiesAnswer {
    /// The duties.
    pub duties: Vec<Duty>,
    /// Their new version.
    pub version: i64,
}

#[utoipa::path(
    put,
    path = "/pay/duties",
    tag = "pay",
    operation_id = "pay_put_duties",
    description = "Change the duty checklist (finance, administrators): 422 naming `duties` unless the weights add up to 100; 409 on a stale version.",
    request_body = DutiesBody,
    responses((status = 200, description = "Stored", body = DutiesAnswer), (status = 409, description = "version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn put_duties(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<DutiesBody>,
) -> Result<Json<DutiesAnswer>, ApiError> {
    let (duties, version) =
        app::set_duties(st.store.as_ref(), &st.grants, &u, &b.duties, b.version).await?;
    Ok(Json(DutiesAnswer { duties, version }))
}

/// New scorecard items.
#[derive(Deserialize, ToSchema)]
pub struct ItemsBody {
    /// The version read (0 while the defaults are in force); 409 when stale.
    pub version: i64,
    /// The items; their weights must add up to 100.
    pub items: Vec<ScoreItem>,
}

/// The items stored.
#[derive(Serialize, ToSchema)]
pub struct ItemsAnswer {
    /// The items.
    pub items: Vec<ScoreItem>,
    /// Their new version.
    pub version: i64,
}

#[utoipa::path(
    put,
    path = "/scorecard/items",
    tag = "pay",
    operation_id = "scorecard_put_items",
    description = "Change the scorecard items and weights (finance, administrators): 422 naming `items` unless the weights add up to 100; a quantitative item may be bound to the metric sales_amount, whose completion fills its score; 409 on a stale version.",
    request_body = ItemsBody,
    responses((status = 200, description = "Stored", body = ItemsAnswer), (status = 409, description = "version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn put_items(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<ItemsBody>,
) -> Result<Json<ItemsAnswer>, ApiError> {
    let (items, version) =
        app::set_score_items(st.store.as_ref(), &st.grants, &u, &b.items, b.version).await?;
    Ok(Json(ItemsAnswer { items, version }))
}

// --- bases and rates ---

/// A base pay from a day on.
#[derive(Serialize, ToSchema)]
pub struct BaseView {
    /// Its id.
    pub id: i64,
    /// The person.
    pub user_id: i64,
    /// From this day on (until a later one).
    pub effective_from: NaiveDate,
    /// Base pay A per month, yuan.
    pub amount: Money,
    /// Who set it.
    pub set_by: Option<i64>,
    /// When.
    pub set_at: DateTime<Utc>,
}

/// Base pays, history included.
#[derive(Serialize, ToSchema)]
pub struct BaseList {
    /// Every base pay set, by person and day.
    pub items: Vec<BaseView>,
}

/// A new base pay.
#[derive(Deserialize, ToSchema)]
pub struct BaseBody {
    /// The person.
    pub user_id: i64,
    /// Base pay A per month, yuan ("5000.00").
    pub amount: Money,
    /// From this day on, YYYY-MM-DD (default: the first of the current month).
    #[serde(default)]
    pub effective_from: Option<NaiveDate>,
}

fn first_of_month() -> NaiveDate {
    use chrono::Datelike;
    let today = keqing_domain::day::china_today();
    today.with_day(1).expect("the first")
}

fn base_view(b: keqing_store::pay::PayBase) -> BaseView {
    BaseView {
        id: b.id,
        user_id: b.user_id,
        effective_from: b.effective_from,
        amount: b.amount,
        set_by: b.set_by,
        set_at: b.set_at,
    }
}

#[utoipa::path(
    get,
    path = "/pay/bases",
    tag = "pay",
    operation_id = "pay_list_bases",
    description = "Base pays with their history (the latest day not after a date is in force), within the caller's pay scope.",
    responses((status = 200, description = "The bases", body = BaseList))
)]
pub async fn list_bases(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<BaseList>, ApiError> {
    let scope = app::scope(&st.grants, &u, Action::Read)?;
    let users: std::collections::HashMap<i64, keqing_domain::User> = st
        .store
        .users()
        .await?
        .into_iter()
        .map(|x| (x.id, x))
        .collect();
    let items = st
        .store
        .pay_bases()
        .await?
        .into_iter()
        .filter(|b| {
            scope == Scope::All
                || users.get(&b.user_id).is_some_and(|p| {
                    scope.covers(
                        &u,
                        keqing_domain::access::RowOwner {
                            owner_id: Some(p.id),
                            team_id: p.team_id,
                            region: p.region.as_deref(),
                        },
                    )
                })
        })
        .map(base_view)
        .collect();
    Ok(Json(BaseList { items }))
}

#[utoipa::path(
    post,
    path = "/pay/bases",
    tag = "pay",
    operation_id = "pay_add_base",
    description = "Set a person's base pay from a day on (finance, administrators); the earlier figures stay in the history. 422 names `user_id` for an unknown person, `amount` for a negative one.",
    request_body = BaseBody,
    responses((status = 201, description = "Stored", body = BaseView))
)]
pub async fn add_base(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<BaseBody>,
) -> Result<(StatusCode, Json<BaseView>), ApiError> {
    let from = b.effective_from.unwrap_or_else(first_of_month);
    let base = app::set_base(st.store.as_ref(), &st.grants, &u, b.user_id, from, b.amount).await?;
    Ok((StatusCode::CREATED, Json(base_view(base))))
}

#[utoipa::path(
    put,
    path = "/pay/bases",
    tag = "pay",
    operation_id = "pay_put_base",
    description = "The same as POST /pay/bases (a new effective-dated figure; the history stays), answering 200.",
    request_body = BaseBody,
    responses((status = 200, description = "Stored", body = BaseView))
)]
pub async fn put_base(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<BaseBody>,
) -> Result<Json<BaseView>, ApiError> {
    let from = b.effective_from.unwrap_or_else(first_of_month);
    let base = app::set_base(st.store.as_ref(), &st.grants, &u, b.user_id, from, b.amount).await?;
    Ok(Json(base_view(base)))
}

/// A rate of B from a day on.
#[derive(Serialize, ToSchema)]
pub struct RateView {
    /// Its id.
    pub id: i64,
    /// "role:manager" or "user:12".
    pub subject: String,
    /// From this day on.
    pub effective_from: NaiveDate,
    /// The rate, a fraction ("0.15").
    pub rate: String,
    /// Who set it.
    pub set_by: Option<i64>,
    /// When.
    pub set_at: DateTime<Utc>,
}

/// The rates set (15% applies where none is).
#[derive(Serialize, ToSchema)]
pub struct RateList {
    /// Every rate set, by subject and day.
    pub items: Vec<RateView>,
    /// The default rate, a fraction ("0.15").
    pub default_rate: String,
}

/// A new rate for a role or a person.
#[derive(Deserialize, ToSchema)]
pub struct RateBody {
    /// The role it applies to (or give user_id).
    #[serde(default)]
    pub role: Option<Role>,
    /// The person it applies to, before their role's (or give role).
    #[serde(default)]
    pub user_id: Option<i64>,
    /// The rate: a fraction ("0.15") or a percent ("15%"), 0 to 1.
    pub rate: String,
    /// From this day on (default: the first of the current month).
    #[serde(default)]
    pub effective_from: Option<NaiveDate>,
}

fn rate_view(r: keqing_store::pay::PayRate) -> RateView {
    RateView {
        id: r.id,
        subject: r.subject,
        effective_from: r.effective_from,
        rate: app::rate_fraction(r.rate_bp),
        set_by: r.set_by,
        set_at: r.set_at,
    }
}

#[utoipa::path(
    get,
    path = "/pay/rates",
    tag = "pay",
    operation_id = "pay_list_rates",
    description = "The rates of the hard-target pay B set per role or person, with their history. Anyone who may read pay.",
    responses((status = 200, description = "The rates", body = RateList))
)]
pub async fn list_rates(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<RateList>, ApiError> {
    app::scope(&st.grants, &u, Action::Read)?;
    let items = st
        .store
        .pay_rates()
        .await?
        .into_iter()
        .map(rate_view)
        .collect();
    Ok(Json(RateList {
        items,
        default_rate: app::rate_fraction(keqing_domain::pay::DEFAULT_RATE_BP),
    }))
}

#[utoipa::path(
    post,
    path = "/pay/rates",
    tag = "pay",
    operation_id = "pay_add_rate",
    description = "Set the rate of B for a role or a person from a day on (finance, administrators); a person's rate comes before their role's, which comes before the default 15%. 422 names `rate` (not 0–1), `role` (neither or both given) or `user_id` (unknown).",
    request_body = RateBody,
    responses((status = 201, description = "Stored", body = RateView))
)]
pub async fn add_rate(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<RateBody>,
) -> Result<(StatusCode, Json<RateView>), ApiError> {
    let bp = rate_bp("rate", Some(&b.rate))?.unwrap_or_default();
    let from = b.effective_from.unwrap_or_else(first_of_month);
    let r = app::set_rate(
        st.store.as_ref(),
        &st.grants,
        &u,
        b.role,
        b.user_id,
        from,
        bp,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rate_view(r))))
}

// --- runs ---

/// The month of a new run.
#[derive(Deserialize, ToSchema)]
pub struct RunBody {
    /// YYYY-MM.
    pub month: String,
}

/// The version a change was made against.
#[derive(Deserialize, ToSchema)]
pub struct VersionBody {
    /// The run's version as read; 409 when it changed since.
    pub version: i64,
}

/// Pay runs.
#[derive(Serialize, ToSchema)]
pub struct RunList {
    /// Newest month first, without their lines.
    pub items: Vec<PayRunView>,
}

#[utoipa::path(
    post,
    path = "/pay/runs",
    tag = "pay",
    operation_id = "pay_create_run",
    description = "Create the draft pay run of a month (finance, administrators): a line per customer manager and supervisor (and anyone with a base pay or sales), P = A + B + C with its formula and inputs. B = (actual ÷ plan) × actual × rate, half up to the fen; no plan → B = 0 with the reason. 409 when the month has a run.",
    request_body = RunBody,
    responses((status = 201, description = "The run", body = PayRunView), (status = 409, description = "duplicate: the month has a run", body = crate::openapi::ErrorBody))
)]
pub async fn create_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<RunBody>,
) -> Result<(StatusCode, Json<PayRunView>), ApiError> {
    let run = app::create_run(st.store.as_ref(), &st.grants, &u, &b.month).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[utoipa::path(
    get,
    path = "/pay/runs",
    tag = "pay",
    operation_id = "pay_list_runs",
    description = "Pay runs, newest month first, with their status and who moved them on when (lines: GET /pay/runs/{id}).",
    responses((status = 200, description = "The runs", body = RunList))
)]
pub async fn list_runs(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<RunList>, ApiError> {
    let mut items = app::runs(st.store.as_ref(), &st.grants, &u).await?;
    for r in &mut items {
        r.lines.clear();
    }
    Ok(Json(RunList { items }))
}

#[utoipa::path(
    get,
    path = "/pay/runs/{id}",
    tag = "pay",
    operation_id = "pay_get_run",
    description = "A pay run with the lines in the caller's scope (a manager their own, a supervisor their team's, finance, directors and administrators all), each with its formula.",
    params(("id" = i64, Path, description = "The run's id")),
    responses((status = 200, description = "The run", body = PayRunView))
)]
pub async fn get_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<PayRunView>, ApiError> {
    Ok(Json(app::run(st.store.as_ref(), &st.grants, &u, id).await?))
}

#[utoipa::path(
    post,
    path = "/pay/runs/{id}/recompute",
    tag = "pay",
    operation_id = "pay_recompute_run",
    description = "Compute a draft run's lines again from today's figures and scores (finance); adjustments stay. 409 unless draft, or when the version is stale.",
    params(("id" = i64, Path, description = "The run's id")),
    request_body = VersionBody,
    responses((status = 200, description = "The run", body = PayRunView), (status = 409, description = "refused (not draft) or version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn recompute_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<VersionBody>,
) -> Result<Json<PayRunView>, ApiError> {
    Ok(Json(
        app::recompute_run(st.store.as_ref(), &st.grants, &u, id, b.version).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/pay/runs/{id}/review",
    tag = "pay",
    operation_id = "pay_review_run",
    description = "A supervisor reviews their team's lines (an administrator or finance every line); the run becomes reviewed when every line is. 409 unless draft, or when the version is stale; 403 for a supervisor with no line in the run.",
    params(("id" = i64, Path, description = "The run's id")),
    request_body = VersionBody,
    responses((status = 200, description = "The run", body = PayRunView), (status = 409, description = "refused or version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn review_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<VersionBody>,
) -> Result<Json<PayRunView>, ApiError> {
    Ok(Json(
        app::review_run(st.store.as_ref(), &st.grants, &u, id, b.version).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/pay/runs/{id}/approve",
    tag = "pay",
    operation_id = "pay_approve_run",
    description = "Finance approves a reviewed run. 409 unless reviewed (a locked run: locked), or when the version is stale.",
    params(("id" = i64, Path, description = "The run's id")),
    request_body = VersionBody,
    responses((status = 200, description = "The run", body = PayRunView), (status = 409, description = "refused or version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn approve_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<VersionBody>,
) -> Result<Json<PayRunView>, ApiError> {
    Ok(Json(
        app::approve_run(st.store.as_ref(), &st.grants, &u, id, b.version).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/pay/runs/{id}/lock",
    tag = "pay",
    operation_id = "pay_lock_run",
    description = "Finance locks an approved run: it never changes again (409 on any change; a correction is an adjustment).",
    params(("id" = i64, Path, description = "The run's id")),
    request_body = VersionBody,
    responses((status = 200, description = "The run", body = PayRunView), (status = 409, description = "refused or version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn lock_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<VersionBody>,
) -> Result<Json<PayRunView>, ApiError> {
    Ok(Json(
        app::lock_run(st.store.as_ref(), &st.grants, &u, id, b.version).await?,
    ))
}

/// A correction.
#[derive(Deserialize, ToSchema)]
pub struct AdjustmentBody {
    /// The person.
    pub user_id: i64,
    /// The amount, yuan, negative to take back ("-200.00"); not 0.
    pub amount: Money,
    /// Why (1 to 500 characters), kept on the line and in the audit log.
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/pay/runs/{id}/adjustments",
    tag = "pay",
    operation_id = "pay_adjust_run",
    description = "Add an adjustment line (finance, administrators), in any state, a locked run included: the correction of a locked run. Audited with its reason.",
    params(("id" = i64, Path, description = "The run's id")),
    request_body = AdjustmentBody,
    responses((status = 201, description = "The run with the new line", body = PayRunView))
)]
pub async fn adjust_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<AdjustmentBody>,
) -> Result<(StatusCode, Json<PayRunView>), ApiError> {
    let run = app::adjust_run(
        st.store.as_ref(),
        &st.grants,
        &u,
        id,
        b.user_id,
        b.amount,
        &b.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[utoipa::path(
    get,
    path = "/pay/runs/{id}/export.xlsx",
    tag = "pay",
    operation_id = "pay_export_run",
    description = "The run as an XLSX workbook for payroll: Chinese headers (工号, 姓名, 团队, 底薪A, 硬性考核B, 软性考核C, 应发合计P, 类型, 计算公式), amounts as numbers in yuan, the formula as text, a totals row (合计). The lines in the caller's scope.",
    params(("id" = i64, Path, description = "The run's id")),
    responses((status = 200, description = "The workbook", content((crate::openapi::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))))
)]
pub async fn export_run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (name, bytes) = app::export_run(st.store.as_ref(), &st.grants, &u, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, XLSX.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Whose slip, which month.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlipParams {
    /// YYYY-MM (default: the current month).
    #[serde(default)]
    pub month: Option<String>,
    /// The person (default: the caller).
    #[serde(default)]
    pub user_id: Option<i64>,
}

fn this_month() -> String {
    keqing_domain::day::china_today()
        .format("%Y-%m")
        .to_string()
}

#[utoipa::path(
    get,
    path = "/pay/slip",
    tag = "pay",
    operation_id = "pay_slip",
    description = "A person's pay of a month: the run's line (status the run's, adjustments added) if the month has a run, else a live estimate (status estimate). A manager their own, a supervisor their team's, finance, directors and administrators anyone's; 404 outside the scope.",
    params(SlipParams),
    responses((status = 200, description = "The slip", body = PaySlip))
)]
pub async fn slip(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<SlipParams>,
) -> Result<Json<PaySlip>, ApiError> {
    let month = p.month.unwrap_or_else(this_month);
    let user = p.user_id.unwrap_or(u.id);
    Ok(Json(
        app::slip(st.store.as_ref(), &st.grants, &u, &month, user).await?,
    ))
}

// --- the checklist ---

/// Which month.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthParams {
    /// YYYY-MM (default: the current month).
    #[serde(default)]
    pub month: Option<String>,
}

#[utoipa::path(
    get,
    path = "/pay/checklist",
    tag = "pay",
    operation_id = "pay_checklist",
    description = "The duty checklist of a month for the people in the caller's scope: the duties, each member's scores, the soft pay C they earn, and the evidence keqing has (changes registered within 15 days, greetings done, weeks with help for an A-class customer).",
    params(MonthParams),
    responses((status = 200, description = "The checklist", body = Checklist))
)]
pub async fn checklist(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<MonthParams>,
) -> Result<Json<Checklist>, ApiError> {
    let month = p.month.unwrap_or_else(this_month);
    Ok(Json(
        app::checklist(st.store.as_ref(), &st.grants, &u, &month).await?,
    ))
}

/// A person's duty scores of a month.
#[derive(Deserialize, ToSchema)]
pub struct ScoreDutiesBody {
    /// YYYY-MM.
    pub month: String,
    /// The person.
    pub user_id: i64,
    /// Scores 0 to 100 by duty number; each replaces the earlier one.
    pub scores: Vec<DutyScoreView>,
}

#[utoipa::path(
    put,
    path = "/pay/checklist",
    tag = "pay",
    operation_id = "pay_score_duties",
    description = "Score a person's duties of a month (a supervisor their team, finance and administrators anyone): 0 to 100 each; 422 names each wrong score; 403 outside the scope.",
    request_body = ScoreDutiesBody,
    responses((status = 200, description = "The person's checklist", body = ChecklistMember))
)]
pub async fn score_duties(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<ScoreDutiesBody>,
) -> Result<Json<ChecklistMember>, ApiError> {
    Ok(Json(
        app::score_duties(
            st.store.as_ref(),
            &st.grants,
            &u,
            &b.month,
            b.user_id,
            &b.scores,
        )
        .await?,
    ))
}

// --- the bonus ---

/// A year and, optionally, the pool's rate.
#[derive(Deserialize, ToSchema)]
pub struct BonusBody {
    /// The year.
    pub year: i32,
    /// The pool's share of the year's sales: "0.05" or "5%" (default 5%).
    #[serde(default)]
    pub rate: Option<String>,
}

/// Bonus runs.
#[derive(Serialize, ToSchema)]
pub struct BonusList {
    /// Newest year first.
    pub items: Vec<Bonus>,
}

#[utoipa::path(
    post,
    path = "/bonus/simulate",
    tag = "pay",
    operation_id = "bonus_simulate",
    description = "Simulate the year-end bonus (finance, directors, administrators): pool = rate × the year's sales; a share = the person's pay of the year (the locked runs' lines, adjustments included) ÷ everyone's × pool, 10% less per month under 3 months of service (2 → 90%, 1 → 80%, 0 → 70%). Nothing is stored.",
    request_body = BonusBody,
    responses((status = 200, description = "The simulation", body = Bonus))
)]
pub async fn simulate_bonus(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<BonusBody>,
) -> Result<Json<Bonus>, ApiError> {
    let rate = rate_bp("rate", b.rate.as_deref())?;
    Ok(Json(
        app::simulate_bonus(st.store.as_ref(), &st.grants, &u, b.year, rate).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/bonus/runs",
    tag = "pay",
    operation_id = "bonus_create_run",
    description = "Save the year's bonus as a draft run (finance, administrators), as the simulation computes it; 409 when the year has one.",
    request_body = BonusBody,
    responses((status = 201, description = "The bonus run", body = Bonus), (status = 409, description = "duplicate: the year has a run", body = crate::openapi::ErrorBody))
)]
pub async fn create_bonus(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<BonusBody>,
) -> Result<(StatusCode, Json<Bonus>), ApiError> {
    let rate = rate_bp("rate", b.rate.as_deref())?;
    let run = app::save_bonus(st.store.as_ref(), &st.grants, &u, b.year, rate).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[utoipa::path(
    get,
    path = "/bonus/runs",
    tag = "pay",
    operation_id = "bonus_list_runs",
    description = "Bonus runs with their shares (finance, directors, administrators).",
    responses((status = 200, description = "The runs", body = BonusList))
)]
pub async fn list_bonus(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<BonusList>, ApiError> {
    Ok(Json(BonusList {
        items: app::bonus_runs(st.store.as_ref(), &st.grants, &u).await?,
    }))
}

#[utoipa::path(
    post,
    path = "/bonus/runs/{id}/approve",
    tag = "pay",
    operation_id = "bonus_approve_run",
    description = "Finance approves a draft bonus run; 409 otherwise or when the version is stale.",
    params(("id" = i64, Path, description = "The bonus run's id")),
    request_body = VersionBody,
    responses((status = 200, description = "The run", body = Bonus), (status = 409, description = "refused or version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn approve_bonus(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<VersionBody>,
) -> Result<Json<Bonus>, ApiError> {
    Ok(Json(
        app::advance_bonus(st.store.as_ref(), &st.grants, &u, id, b.version, false).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/bonus/runs/{id}/lock",
    tag = "pay",
    operation_id = "bonus_lock_run",
    description = "Finance locks an approved bonus run; it never changes again (409).",
    params(("id" = i64, Path, description = "The bonus run's id")),
    request_body = VersionBody,
    responses((status = 200, description = "The run", body = Bonus), (status = 409, description = "refused or version_conflict", body = crate::openapi::ErrorBody))
)]
pub async fn lock_bonus(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<VersionBody>,
) -> Result<Json<Bonus>, ApiError> {
    Ok(Json(
        app::advance_bonus(st.store.as_ref(), &st.grants, &u, id, b.version, true).await?,
    ))
}

// --- the scorecard ---

/// A person's scorecard scores of a month.
#[derive(Deserialize, ToSchema)]
pub struct CardBody {
    /// YYYY-MM.
    pub month: String,
    /// The person.
    pub user_id: i64,
    /// Scores 0 to 100 by item key; each replaces the earlier one.
    pub scores: Vec<ItemScore>,
}

#[utoipa::path(
    put,
    path = "/scorecard/scores",
    tag = "pay",
    operation_id = "scorecard_put_scores",
    description = "Score a person's scorecard items of a month (a supervisor their team, finance and administrators anyone), 0 to 100 each; 422 names each unknown item or wrong score.",
    request_body = CardBody,
    responses((status = 204, description = "Stored"))
)]
pub async fn put_scores(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<CardBody>,
) -> Result<StatusCode, ApiError> {
    app::score_card(
        st.store.as_ref(),
        &st.grants,
        &u,
        &b.month,
        b.user_id,
        &b.scores,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which month and level.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingParams {
    /// YYYY-MM (default: the current month).
    #[serde(default)]
    pub month: Option<String>,
    /// team, region or company (default company).
    #[serde(default)]
    pub level: Option<String>,
}

#[utoipa::path(
    get,
    path = "/scorecard/rankings",
    tag = "pay",
    operation_id = "scorecard_rankings",
    description = "The scorecard of a month, ranked within each team, region or the company (level), over the people in the caller's pay scope: each item's score, the quantitative (70) and qualitative (30) points, the weighted total and the rank (ties share one).",
    params(RankingParams),
    responses((status = 200, description = "The rankings", body = Rankings))
)]
pub async fn rankings(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<RankingParams>,
) -> Result<Json<Rankings>, ApiError> {
    let month = p.month.unwrap_or_else(this_month);
    let level = p.level.unwrap_or_else(|| "company".into());
    Ok(Json(
        app::rankings(st.store.as_ref(), &st.grants, &u, &month, &level).await?,
    ))
}
