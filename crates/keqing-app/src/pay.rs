//! Pay (issue 26, seeds 000 and 003): the monthly pay P = A + B + C and its
//! runs (draft → reviewed → approved → locked), the duty checklist with its
//! evidence, the year-end bonus, the 70/30 scorecard and its rankings.
//!
//! Permissions are the matrix's `pay` grants: reading follows the scope
//! (a manager their own line, a supervisor their team, finance, directors
//! and administrators everyone); scoring and reviewing take `pay` update in
//! one's scope; creating, approving, locking, adjusting and the settings
//! take `pay` update or create over everyone (finance, administrators).

use crate::performance::{month_figures, year_sales_fen};
use crate::AppError;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use keqing_domain::access::{Action, Grants, Resource, RowOwner, Scope};
use keqing_domain::pay::{self as rules, Duty, DutyScore, ScoreGroup, ScoreItem};
use keqing_domain::{Money, Role, User, ValidationError};
use keqing_store::pay::{NewPayLine, NewScore, PayEvidence, PayLine, PayRun};
use keqing_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The settings document of the duty checklist.
pub const DUTIES_SETTING: &str = "duties";
/// The settings document of the scorecard items.
pub const SCORECARD_SETTING: &str = "scorecard";

/// One duty's part of the soft pay C.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DutyFigure {
    /// The duty's number, 1 to 10.
    pub no: u32,
    /// What the duty asks.
    pub title: String,
    /// Its weight in the soft score, percent.
    pub weight: u32,
    /// What a full score earns, yuan.
    pub amount: Money,
    /// The supervisor's score, 0 to 100 (0 when not scored).
    pub score: u32,
    /// amount × score ÷ 100, yuan, half up to the fen.
    pub earned: Money,
}

/// The figures a line was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormulaInputs {
    /// Base pay A in force on the month's last day, yuan.
    pub base: Money,
    /// The month's sales plan, yuan; null when there is none (B = 0).
    pub plan: Option<Money>,
    /// The month's actual sales, yuan.
    pub actual: Money,
    /// The rate of B as a fraction ("0.15").
    pub rate: String,
    /// Where the rate comes from: 本人 the person, 角色 their role, 默认 the default.
    pub rate_source: String,
    /// B's own formula with its figures, or why B is 0.
    pub hard: String,
    /// Each duty's score and what it earned (C is their sum).
    pub duties: Vec<DutyFigure>,
}

/// A line's formula: the text finance reads and its inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Formula {
    /// "P = A + B + C = 5000.00 + 18750.00 + 800.00 = 24550.00", or an adjustment's reason.
    pub text: String,
    /// The inputs; null for an adjustment line.
    pub inputs: Option<FormulaInputs>,
}

/// What a line stores besides its total.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LineDoc {
    name: String,
    base: Money,
    hard: Money,
    soft: Money,
    formula: Formula,
    #[serde(default)]
    reason: Option<String>,
}

/// One line of a pay run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayLineView {
    /// The line's id.
    pub id: i64,
    /// The person paid.
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// Their team when the line was computed.
    pub team_id: Option<i64>,
    /// A: base pay, yuan.
    pub base: Money,
    /// B: the hard-target pay, yuan.
    pub hard: Money,
    /// C: the soft-target pay, yuan.
    pub soft: Money,
    /// P = A + B + C (an adjustment: its amount), yuan.
    pub total: Money,
    /// How the total was computed.
    pub formula: Formula,
    /// A correction line added by finance (after the lock too).
    pub adjustment: bool,
    /// An adjustment's reason.
    pub reason: Option<String>,
    /// Whether the person's supervisor (or an administrator) reviewed the line.
    pub reviewed: bool,
    /// Who reviewed it.
    pub reviewed_by: Option<i64>,
    /// When.
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// A pay run of one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayRunView {
    /// The run's id.
    pub id: i64,
    /// Its month, YYYY-MM.
    pub month: String,
    /// draft, reviewed, approved or locked.
    pub status: String,
    /// Its version: a change names it and is refused (409) when stale.
    pub version: i64,
    /// Who created it, when.
    pub created_by: Option<i64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who completed the review.
    pub reviewed_by: Option<i64>,
    /// When the review was complete.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Who approved it (finance).
    pub approved_by: Option<i64>,
    /// When it was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// Who locked it (finance).
    pub locked_by: Option<i64>,
    /// When it was locked; a locked run never changes.
    pub locked_at: Option<DateTime<Utc>>,
    /// Sum of the lines shown, yuan.
    pub total: Money,
    /// The lines the caller may read (empty in lists).
    pub lines: Vec<PayLineView>,
}

/// A person's pay of a month: the run's line, or a live estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaySlip {
    /// The person.
    pub user_id: i64,
    /// YYYY-MM.
    pub month: String,
    /// The run's status, or "estimate" when no run exists yet.
    pub status: String,
    /// A, yuan.
    pub base: Money,
    /// B, yuan.
    pub hard: Money,
    /// C, yuan.
    pub soft: Money,
    /// P plus any adjustments, yuan.
    pub total: Money,
    /// The formula of the computed line.
    pub formula: Formula,
    /// Adjustments of the month, yuan (0 when none).
    pub adjustments: Money,
}

fn bad(e: StoreError) -> AppError {
    AppError::Store(e)
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(ValidationError::one(field, message))
}

fn row_of(u: &User) -> RowOwner<'_> {
    RowOwner {
        owner_id: Some(u.id),
        team_id: u.team_id,
        region: u.region.as_deref(),
    }
}

/// The caller's pay scope for an action, or 403.
pub fn scope(grants: &Grants, user: &User, action: Action) -> Result<Scope, AppError> {
    if !user.active {
        return Err(AppError::forbidden("see pay"));
    }
    grants
        .scope(user.role, Resource::Pay, action)
        .ok_or_else(|| AppError::forbidden(&format!("{} pay", action.as_str())))
}

/// Finance's acts (create, approve, lock, adjust, settings): `pay` with
/// scope all for the action.
pub fn finance(grants: &Grants, user: &User, action: Action, what: &str) -> Result<(), AppError> {
    match scope(grants, user, action) {
        Ok(Scope::All) if user.role != Role::Director => Ok(()),
        _ => Err(AppError::forbidden(what)),
    }
}

fn covers(scope: Scope, caller: &User, person: &User) -> bool {
    scope.covers(caller, row_of(person))
}

fn stored_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("serialisable")
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Store(StoreError::Db(format!("stored {what} is not valid: {e}")))
}

// --- settings ---

/// The duty checklist (finance's, or the ten duties of 000) and its version (0: the defaults).
pub async fn duties(store: &dyn Store) -> Result<(Vec<Duty>, i64), AppError> {
    match store.pay_setting(DUTIES_SETTING).await? {
        None => Ok((rules::default_duties(), 0)),
        Some(s) => Ok((
            serde_json::from_value(s.doc).map_err(|e| corrupt("duties", e))?,
            s.version,
        )),
    }
}

/// Stores the duty checklist (finance, administrators); 422 naming
/// `duties`, 409 when `version` is stale.
pub async fn set_duties(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    new: &[Duty],
    version: i64,
) -> Result<(Vec<Duty>, i64), AppError> {
    finance(grants, actor, Action::Update, "change the duty checklist")?;
    rules::check_duties(new)?;
    let s = store
        .put_pay_setting(DUTIES_SETTING, &stored_json(&new), version, actor)
        .await?;
    Ok((new.to_vec(), s.version))
}

/// The scorecard items (finance's, or 003's eight) and their version.
pub async fn score_items(store: &dyn Store) -> Result<(Vec<ScoreItem>, i64), AppError> {
    match store.pay_setting(SCORECARD_SETTING).await? {
        None => Ok((rules::default_score_items(), 0)),
        Some(s) => Ok((
            serde_json::from_value(s.doc).map_err(|e| corrupt("scorecard", e))?,
            s.version,
        )),
    }
}

/// Stores the scorecard items; 422 naming `items` unless the weights add up to 100.
pub async fn set_score_items(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    new: &[ScoreItem],
    version: i64,
) -> Result<(Vec<ScoreItem>, i64), AppError> {
    finance(grants, actor, Action::Update, "change the scorecard")?;
    rules::check_score_items(new)?;
    if let Some((n, _)) = new
        .iter()
        .enumerate()
        .find(|(_, i)| i.metric.as_deref().is_some_and(|m| m != "sales_amount"))
    {
        return Err(invalid(
            &format!("items[{n}].metric"),
            "目前只能绑定销售额 sales_amount only sales_amount can fill a score for now",
        ));
    }
    let s = store
        .put_pay_setting(SCORECARD_SETTING, &stored_json(&new), version, actor)
        .await?;
    Ok((new.to_vec(), s.version))
}

// --- bases and rates ---

/// Sets a person's base pay from a day on (finance, administrators).
pub async fn set_base(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    user_id: i64,
    effective_from: NaiveDate,
    amount: Money,
) -> Result<keqing_store::pay::PayBase, AppError> {
    finance(grants, actor, Action::Update, "set base pay")?;
    if amount.fen() < 0 {
        return Err(invalid(
            "amount",
            "底薪不能为负 base pay may not be negative",
        ));
    }
    match store
        .add_pay_base(user_id, effective_from, amount, actor)
        .await
    {
        Err(StoreError::Refused(_)) => {
            Err(invalid("user_id", format!("用户不存在 no user {user_id}")))
        }
        r => Ok(r?),
    }
}

/// Sets the rate of B for a role or a person from a day on (finance, administrators).
pub async fn set_rate(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    role: Option<Role>,
    user_id: Option<i64>,
    effective_from: NaiveDate,
    rate_bp: i64,
) -> Result<keqing_store::pay::PayRate, AppError> {
    finance(grants, actor, Action::Update, "set pay rates")?;
    let subject = match (role, user_id) {
        (Some(r), None) => format!("role:{}", r.as_str()),
        (None, Some(u)) => format!("user:{u}"),
        _ => {
            return Err(invalid(
                "role",
                "请给出角色或用户之一 name either a role or a user_id",
            ))
        }
    };
    match store
        .add_pay_rate(&subject, effective_from, rate_bp, actor)
        .await
    {
        Err(StoreError::Refused(_)) => Err(invalid(
            "user_id",
            format!("用户不存在 no user {}", user_id.unwrap_or_default()),
        )),
        r => Ok(r?),
    }
}

// --- computing a month ---

/// What a month's computation needs, read once.
struct MonthInputs {
    users: Vec<User>,
    bases: Vec<keqing_store::pay::PayBase>,
    rates: Vec<keqing_store::pay::PayRate>,
    duties: Vec<Duty>,
    scores: HashMap<i64, Vec<DutyScore>>,
    figures: HashMap<i64, (Option<i64>, i64)>,
    last_day: NaiveDate,
}

async fn month_inputs(store: &dyn Store, year: i32, month: u32) -> Result<MonthInputs, AppError> {
    let key = format!("{year:04}-{month:02}");
    let (_, last_day) = rules::month_bounds(year, month);
    let mut scores: HashMap<i64, Vec<DutyScore>> = HashMap::new();
    for s in store.scores("duty", &key).await? {
        if let Ok(no) = s.item.parse() {
            scores.entry(s.user_id).or_default().push(DutyScore {
                no,
                score: s.score.clamp(0, 100) as u32,
            });
        }
    }
    Ok(MonthInputs {
        users: store.users().await?,
        bases: store.pay_bases().await?,
        rates: store.pay_rates().await?,
        duties: duties(store).await?.0,
        scores,
        figures: month_figures(store, year, month)
            .await?
            .into_iter()
            .map(|f| (f.user_id, (f.plan_fen, f.actual_fen)))
            .collect(),
        last_day,
    })
}

impl MonthInputs {
    fn base(&self, user: i64) -> Option<Money> {
        self.bases
            .iter()
            .filter(|b| b.user_id == user && b.effective_from <= self.last_day)
            .max_by_key(|b| (b.effective_from, b.id))
            .map(|b| b.amount)
    }

    fn rate(&self, user: &User) -> (i64, &'static str) {
        let pick = |subject: &str| {
            self.rates
                .iter()
                .filter(|r| r.subject == subject && r.effective_from <= self.last_day)
                .max_by_key(|r| (r.effective_from, r.id))
                .map(|r| r.rate_bp)
        };
        if let Some(r) = pick(&format!("user:{}", user.id)) {
            (r, "本人 person")
        } else if let Some(r) = pick(&format!("role:{}", user.role.as_str())) {
            (r, "角色 role")
        } else {
            (rules::DEFAULT_RATE_BP, "默认 default")
        }
    }

    /// Who is paid: active customer managers and supervisors, and anyone
    /// with a base pay or sales figures in the month.
    fn payroll(&self) -> Vec<&User> {
        self.users
            .iter()
            .filter(|u| {
                u.active
                    && (matches!(u.role, Role::Manager | Role::Supervisor)
                        || self.base(u.id).is_some()
                        || self.figures.contains_key(&u.id))
            })
            .collect()
    }

    fn line(&self, u: &User) -> (NewPayLine, LineDoc) {
        let base = self.base(u.id).unwrap_or_default();
        let (plan, actual) = self.figures.get(&u.id).copied().unwrap_or((None, 0));
        let (rate_bp, rate_source) = self.rate(u);
        let hard = rules::hard_pay(Money(actual), plan.map(Money), rate_bp);
        let scores = self.scores.get(&u.id).map(Vec::as_slice).unwrap_or(&[]);
        let (soft, parts) = rules::soft_pay(&self.duties, scores);
        let total = Money(base.fen() + hard.amount.fen() + soft.fen());
        let duties = self
            .duties
            .iter()
            .zip(parts)
            .map(|(d, (_, score, earned))| DutyFigure {
                no: d.no,
                title: d.title.clone(),
                weight: d.weight,
                amount: d.amount,
                score,
                earned,
            })
            .collect();
        let doc = LineDoc {
            name: u.display_name.clone(),
            base,
            hard: hard.amount,
            soft,
            formula: Formula {
                text: rules::pay_text(base, hard.amount, soft),
                inputs: Some(FormulaInputs {
                    base,
                    plan: plan.map(Money),
                    actual: Money(actual),
                    rate: rate_fraction(rate_bp),
                    rate_source: rate_source.into(),
                    hard: hard.text,
                    duties,
                }),
            },
            reason: None,
        };
        (
            NewPayLine {
                user_id: u.id,
                team_id: u.team_id,
                total,
                doc: stored_json(&doc),
            },
            doc,
        )
    }
}

/// 1500 basis points → "0.15"; 1250 → "0.125".
pub fn rate_fraction(bp: i64) -> String {
    let s = format!("{}.{:04}", bp / 10_000, bp % 10_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn parse_month(field: &str, month: &str) -> Result<(i32, u32), AppError> {
    rules::parse_month(month).map_err(|e| invalid(field, e))
}

/// Every line of a month as computed now.
async fn compute(store: &dyn Store, year: i32, month: u32) -> Result<Vec<NewPayLine>, AppError> {
    let m = month_inputs(store, year, month).await?;
    Ok(m.payroll().into_iter().map(|u| m.line(u).0).collect())
}

fn line_view(l: &PayLine) -> Result<PayLineView, AppError> {
    let doc: LineDoc = serde_json::from_value(l.doc.clone()).map_err(|e| corrupt("pay line", e))?;
    Ok(PayLineView {
        id: l.id,
        user_id: l.user_id,
        name: doc.name,
        team_id: l.team_id,
        base: doc.base,
        hard: doc.hard,
        soft: doc.soft,
        total: l.total,
        formula: doc.formula,
        adjustment: l.adjustment,
        reason: doc.reason,
        reviewed: l.reviewed_at.is_some(),
        reviewed_by: l.reviewed_by,
        reviewed_at: l.reviewed_at,
    })
}

/// A run as the caller may see it: the lines in their scope.
async fn run_view(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    run: &PayRun,
) -> Result<PayRunView, AppError> {
    let scope = scope(grants, caller, Action::Read)?;
    let users: HashMap<i64, User> = store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut lines = vec![];
    for l in &run.lines {
        let visible = match users.get(&l.user_id) {
            Some(u) => {
                // The line's team when computed decides a supervisor's reach.
                let at_the_time = User {
                    team_id: l.team_id,
                    ..u.clone()
                };
                covers(scope, caller, &at_the_time)
            }
            None => scope == Scope::All,
        };
        if visible {
            lines.push(line_view(l)?);
        }
    }
    Ok(PayRunView {
        id: run.id,
        month: run.period.clone(),
        status: run.status.clone(),
        version: run.version,
        created_by: run.created_by,
        created_at: run.created_at,
        reviewed_by: run.reviewed_by,
        reviewed_at: run.reviewed_at,
        approved_by: run.approved_by,
        approved_at: run.approved_at,
        locked_by: run.locked_by,
        locked_at: run.locked_at,
        total: Money(lines.iter().map(|l| l.total.fen()).sum()),
        lines,
    })
}

async fn pay_run_of_kind(store: &dyn Store, id: i64, kind: &str) -> Result<PayRun, AppError> {
    match store.pay_run(id).await {
        Ok(r) if r.kind == kind => Ok(r),
        Ok(_) | Err(StoreError::NotFound) => Err(AppError::NotFound(format!("run {id}"))),
        Err(e) => Err(bad(e)),
    }
}

/// Creates the draft run of a month (finance); 409 when it exists.
pub async fn create_run(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    month: &str,
) -> Result<PayRunView, AppError> {
    finance(grants, actor, Action::Create, "create pay runs")?;
    let (y, m) = parse_month("month", month)?;
    let key = format!("{y:04}-{m:02}");
    let lines = compute(store, y, m).await?;
    let run = store
        .create_pay_run(
            "pay",
            &key,
            &serde_json::json!({"month": key}),
            &lines,
            actor,
        )
        .await?;
    run_view(store, grants, actor, &run).await
}

/// Computes a draft run's lines again (finance); 409 unless draft or when stale.
pub async fn recompute_run(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    id: i64,
    version: i64,
) -> Result<PayRunView, AppError> {
    finance(grants, actor, Action::Update, "recompute pay runs")?;
    let run = pay_run_of_kind(store, id, "pay").await?;
    let (y, m) = parse_month("month", &run.period)?;
    let lines = compute(store, y, m).await?;
    let run = store
        .recompute_pay_run(id, version, &run.doc, &lines, actor)
        .await?;
    run_view(store, grants, actor, &run).await
}

/// Runs (newest first), without lines; anyone with pay read.
pub async fn runs(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
) -> Result<Vec<PayRunView>, AppError> {
    scope(grants, caller, Action::Read)?;
    let mut out = vec![];
    for r in store.pay_runs("pay").await? {
        let mut v = run_view(store, grants, caller, &r).await?;
        v.total = Money(0);
        out.push(v);
    }
    Ok(out)
}

/// A run with the lines in the caller's scope.
pub async fn run(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    id: i64,
) -> Result<PayRunView, AppError> {
    scope(grants, caller, Action::Read)?;
    let r = pay_run_of_kind(store, id, "pay").await?;
    run_view(store, grants, caller, &r).await
}

/// A supervisor reviews their team's lines (an administrator or finance
/// all of them); the run is reviewed when every line is.
pub async fn review_run(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    id: i64,
    version: i64,
) -> Result<PayRunView, AppError> {
    let scope = scope(grants, actor, Action::Update)?;
    let run = pay_run_of_kind(store, id, "pay").await?;
    let run = match scope {
        Scope::All => store.review_pay_run(id, version, &[], true, actor).await?,
        Scope::Team => {
            let Some(team) = actor.team_id else {
                return Err(AppError::forbidden("review pay without a team"));
            };
            let users: Vec<i64> = run
                .lines
                .iter()
                .filter(|l| l.team_id == Some(team) && !l.adjustment)
                .map(|l| l.user_id)
                .collect();
            if users.is_empty() {
                return Err(AppError::forbidden(
                    "review a run with none of your team's lines",
                ));
            }
            store
                .review_pay_run(id, version, &users, false, actor)
                .await?
        }
        _ => return Err(AppError::forbidden("review pay runs")),
    };
    run_view(store, grants, actor, &run).await
}

/// Finance approves a reviewed run.
pub async fn approve_run(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    id: i64,
    version: i64,
) -> Result<PayRunView, AppError> {
    finance(grants, actor, Action::Update, "approve pay runs")?;
    pay_run_of_kind(store, id, "pay").await?;
    let run = store
        .advance_pay_run(id, version, "reviewed", "approved", actor)
        .await?;
    run_view(store, grants, actor, &run).await
}

/// Finance locks an approved run; it never changes again.
pub async fn lock_run(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    id: i64,
    version: i64,
) -> Result<PayRunView, AppError> {
    finance(grants, actor, Action::Update, "lock pay runs")?;
    pay_run_of_kind(store, id, "pay").await?;
    let run = store
        .advance_pay_run(id, version, "approved", "locked", actor)
        .await?;
    run_view(store, grants, actor, &run).await
}

/// Adds a correction line (finance), in any state, audited with its reason.
pub async fn adjust_run(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    id: i64,
    user_id: i64,
    amount: Money,
    reason: &str,
) -> Result<PayRunView, AppError> {
    finance(grants, actor, Action::Create, "adjust pay runs")?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(invalid(
            "reason",
            "请填写调整原因（1 到 500 字） give the reason (1 to 500 characters)",
        ));
    }
    if amount.fen() == 0 {
        return Err(invalid(
            "amount",
            "调整金额不能为 0 the amount may not be 0",
        ));
    }
    pay_run_of_kind(store, id, "pay").await?;
    let Some(person) = store.user(user_id).await? else {
        return Err(invalid("user_id", format!("用户不存在 no user {user_id}")));
    };
    let doc = LineDoc {
        name: person.display_name.clone(),
        base: Money(0),
        hard: Money(0),
        soft: Money(0),
        formula: Formula {
            text: format!("调整 adjustment {amount}：{reason}"),
            inputs: None,
        },
        reason: Some(reason.to_string()),
    };
    let line = NewPayLine {
        user_id,
        team_id: person.team_id,
        total: amount,
        doc: stored_json(&doc),
    };
    let run = store.add_pay_adjustment(id, &line, reason, actor).await?;
    run_view(store, grants, actor, &run).await
}

/// The run as rows for the payroll workbook (everyone: finance's export).
pub async fn export_run(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    id: i64,
) -> Result<(String, Vec<u8>), AppError> {
    scope(grants, actor, Action::Read)?;
    let r = pay_run_of_kind(store, id, "pay").await?;
    let view = run_view(store, grants, actor, &r).await?;
    let teams: HashMap<i64, String> = store
        .teams()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let rows: Vec<keqing_io::PayRow> = view
        .lines
        .iter()
        .map(|l| keqing_io::PayRow {
            user_id: l.user_id,
            name: l.name.clone(),
            team: l
                .team_id
                .and_then(|t| teams.get(&t).cloned())
                .unwrap_or_default(),
            base: l.base,
            hard: l.hard,
            soft: l.soft,
            total: l.total,
            kind: if l.adjustment {
                "调整".into()
            } else {
                String::new()
            },
            formula: l.formula.text.clone(),
        })
        .collect();
    let status = match view.status.as_str() {
        "draft" => "草稿",
        "reviewed" => "已审核",
        "approved" => "已批准",
        _ => "已锁定",
    };
    let bytes = keqing_io::write_pay_run_xlsx(&format!("工资 {} {status}", view.month), &rows)
        .map_err(|e| AppError::Store(StoreError::Db(e.to_string())))?;
    Ok((format!("pay-{}.xlsx", view.month), bytes))
}

/// A person's slip of a month: their line (plus adjustments) if a run
/// exists, else a live estimate.
pub async fn slip(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    month: &str,
    user_id: i64,
) -> Result<PaySlip, AppError> {
    let scope = scope(grants, caller, Action::Read)?;
    let (y, m) = parse_month("month", month)?;
    let key = format!("{y:04}-{m:02}");
    let Some(person) = store.user(user_id).await? else {
        return Err(AppError::NotFound(format!("user {user_id}")));
    };
    if !covers(scope, caller, &person) {
        return Err(AppError::NotFound(format!("user {user_id}")));
    }
    if let Some(run) = store.pay_run_of("pay", &key).await? {
        let mine: Vec<_> = run.lines.iter().filter(|l| l.user_id == user_id).collect();
        if let Some(l) = mine.iter().find(|l| !l.adjustment) {
            let v = line_view(l)?;
            let adjustments: i64 = mine
                .iter()
                .filter(|l| l.adjustment)
                .map(|l| l.total.fen())
                .sum();
            return Ok(PaySlip {
                user_id,
                month: key,
                status: run.status,
                base: v.base,
                hard: v.hard,
                soft: v.soft,
                total: Money(v.total.fen() + adjustments),
                formula: v.formula,
                adjustments: Money(adjustments),
            });
        }
    }
    let inputs = month_inputs(store, y, m).await?;
    let (line, doc) = inputs.line(&person);
    Ok(PaySlip {
        user_id,
        month: key,
        status: "estimate".into(),
        base: doc.base,
        hard: doc.hard,
        soft: doc.soft,
        total: line.total,
        formula: doc.formula,
        adjustments: Money(0),
    })
}

// --- the checklist ---

/// Evidence keqing has for a person's duties in a month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DutyEvidence {
    /// Changes of their customers' files registered in the month within 15 days (duty 1).
    pub changes_on_time: i64,
    /// Registered in the month, later than 15 days (duty 1).
    pub changes_late: i64,
    /// Greetings they did in the month (duty 7).
    pub greetings_done: i64,
    /// ISO weeks of the month in which they helped an A-class customer (duty 4).
    pub help_weeks: i64,
    /// ISO weeks the month touches.
    pub weeks_in_month: i64,
}

/// One duty's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DutyScoreView {
    /// The duty's number.
    pub no: u32,
    /// 0 to 100.
    pub score: u32,
}

/// A person's checklist of a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistMember {
    /// The person.
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// Their team.
    pub team_id: Option<i64>,
    /// Their scores so far (duties not scored are missing).
    pub scores: Vec<DutyScoreView>,
    /// The soft pay C these scores earn, yuan.
    pub soft: Money,
    /// The facts offered as evidence.
    pub evidence: DutyEvidence,
}

/// The checklist of a month: the duties and the members in the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checklist {
    /// YYYY-MM.
    pub month: String,
    /// The duties with their weights and amounts.
    pub duties: Vec<Duty>,
    /// The members.
    pub members: Vec<ChecklistMember>,
}

fn weeks_in_month(year: i32, month: u32) -> i64 {
    let (first, last) = rules::month_bounds(year, month);
    let mut weeks = std::collections::BTreeSet::new();
    let mut d = first;
    while d <= last {
        let w = d.iso_week();
        weeks.insert((w.year(), w.week()));
        d = d.succ_opt().expect("a day");
    }
    weeks.len() as i64
}

/// The checklist of a month for the people the caller may read.
pub async fn checklist(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    month: &str,
) -> Result<Checklist, AppError> {
    let scope = scope(grants, caller, Action::Read)?;
    let (y, m) = parse_month("month", month)?;
    let key = format!("{y:04}-{m:02}");
    let (first, last) = rules::month_bounds(y, m);
    let inputs = month_inputs(store, y, m).await?;
    let evidence: HashMap<i64, PayEvidence> = store
        .pay_evidence(first, last)
        .await?
        .into_iter()
        .map(|e| (e.user_id, e))
        .collect();
    let weeks = weeks_in_month(y, m);
    let members = inputs
        .payroll()
        .into_iter()
        .filter(|u| covers(scope, caller, u))
        // A supervisor scores their members, not themself.
        .filter(|u| scope == Scope::All || u.id != caller.id || scope == Scope::Own)
        .map(|u| {
            let mut scores = inputs.scores.get(&u.id).cloned().unwrap_or_default();
            scores.sort_by_key(|s| s.no);
            let (soft, _) = rules::soft_pay(&inputs.duties, &scores);
            let e = evidence.get(&u.id).cloned().unwrap_or_default();
            ChecklistMember {
                user_id: u.id,
                name: u.display_name.clone(),
                team_id: u.team_id,
                scores: scores
                    .iter()
                    .map(|s| DutyScoreView {
                        no: s.no,
                        score: s.score,
                    })
                    .collect(),
                soft,
                evidence: DutyEvidence {
                    changes_on_time: e.changes_on_time,
                    changes_late: e.changes_late,
                    greetings_done: e.greetings_done,
                    help_weeks: e.help_weeks,
                    weeks_in_month: weeks,
                },
            }
        })
        .collect();
    Ok(Checklist {
        month: key,
        duties: inputs.duties,
        members,
    })
}

/// The caller (a supervisor for their team, finance or an administrator
/// for anyone) scores a person's duties of a month, 0 to 100 each.
pub async fn score_duties(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    month: &str,
    user_id: i64,
    scores: &[DutyScoreView],
) -> Result<ChecklistMember, AppError> {
    let scope = scope(grants, actor, Action::Update)?;
    let (y, m) = parse_month("month", month)?;
    let key = format!("{y:04}-{m:02}");
    let Some(person) = store.user(user_id).await? else {
        return Err(invalid("user_id", format!("用户不存在 no user {user_id}")));
    };
    if !covers(scope, actor, &person) {
        return Err(AppError::forbidden("score someone outside your team"));
    }
    if person.id == actor.id && scope != Scope::All {
        return Err(AppError::forbidden("score yourself"));
    }
    let (duties, _) = duties(store).await?;
    let mut errors = keqing_domain::error::Collector::default();
    for (i, s) in scores.iter().enumerate() {
        if !duties.iter().any(|d| d.no == s.no) {
            errors.push(
                format!("scores[{i}].no"),
                format!("没有第 {} 项职责 no duty {}", s.no, s.no),
            );
        }
        if s.score > 100 {
            errors.push(
                format!("scores[{i}].score"),
                "分数应在 0 到 100 之间 a score is 0 to 100",
            );
        }
    }
    if scores.is_empty() {
        errors.push("scores", "请至少给一项打分 score at least one duty");
    }
    errors.finish()?;
    let rows: Vec<NewScore> = scores
        .iter()
        .map(|s| NewScore {
            item: s.no.to_string(),
            score: s.score as i64,
            note: None,
        })
        .collect();
    store
        .put_scores("duty", &key, user_id, &rows, actor)
        .await?;
    let list = checklist(store, grants, actor, &key).await?;
    list.members
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or_else(|| AppError::NotFound(format!("user {user_id}")))
}

// --- the year-end bonus ---

/// One person's share of the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BonusShare {
    /// The person.
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// Their pay of the year: the locked runs' lines, adjustments included, yuan.
    pub pay: Money,
    /// Whole months from their start to the year's end.
    pub months_of_service: u32,
    /// 1 from 3 months of service, 0.1 less for each month missing.
    pub factor: f64,
    /// pay ÷ everyone's pay × pool × factor, yuan, half up to the fen.
    pub bonus: Money,
}

/// The year-end bonus as simulated or stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bonus {
    /// The bonus run's id (null for a simulation).
    pub id: Option<i64>,
    /// draft, approved or locked; "simulation" for a simulation.
    pub status: String,
    /// The run's version (0 for a simulation).
    pub version: i64,
    /// The year.
    pub year: i32,
    /// The pool's rate, a fraction ("0.05").
    pub rate: String,
    /// The company's sales of the year, yuan.
    pub sales: Money,
    /// rate × sales, yuan.
    pub pool: Money,
    /// Everyone's pay of the year, yuan.
    pub total_pay: Money,
    /// The shares, largest pay first.
    pub shares: Vec<BonusShare>,
}

async fn simulate(store: &dyn Store, year: i32, rate_bp: i64) -> Result<Bonus, AppError> {
    let mut pay: BTreeMap<i64, i64> = BTreeMap::new();
    let prefix = format!("{year:04}-");
    for r in store.pay_runs("pay").await? {
        if r.status == "locked" && r.period.starts_with(&prefix) {
            for l in store.pay_run(r.id).await?.lines {
                *pay.entry(l.user_id).or_default() += l.total.fen();
            }
        }
    }
    let sales = Money(year_sales_fen(store, year).await?);
    let pool = rules::bonus_pool(sales, rate_bp);
    let all = Money(pay.values().filter(|v| **v > 0).sum());
    let users: HashMap<i64, User> = store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let starts = store.user_starts().await?;
    let mut shares: Vec<BonusShare> = pay
        .into_iter()
        .filter(|(_, p)| *p > 0)
        .map(|(id, p)| {
            let start = starts
                .get(&id)
                .map(|t| keqing_domain::day::china_day(*t))
                .unwrap_or(NaiveDate::MIN);
            let months = rules::months_of_service(start, year);
            let factor = rules::service_factor(months);
            BonusShare {
                user_id: id,
                name: users
                    .get(&id)
                    .map(|u| u.display_name.clone())
                    .unwrap_or_default(),
                pay: Money(p),
                months_of_service: months.min(999),
                factor: factor as f64 / 100.0,
                bonus: rules::bonus_share(Money(p), all, pool, factor),
            }
        })
        .collect();
    shares.sort_by(|a, b| b.pay.cmp(&a.pay).then(a.user_id.cmp(&b.user_id)));
    Ok(Bonus {
        id: None,
        status: "simulation".into(),
        version: 0,
        year,
        rate: rate_fraction(rate_bp),
        sales,
        pool,
        total_pay: all,
        shares,
    })
}

fn check_year(year: i32) -> Result<(), AppError> {
    if !(2000..=2100).contains(&year) {
        return Err(invalid(
            "year",
            "年份应在 2000 到 2100 之间 a year from 2000 to 2100",
        ));
    }
    Ok(())
}

/// Simulates the year's bonus (finance, administrators, directors read).
pub async fn simulate_bonus(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    year: i32,
    rate_bp: Option<i64>,
) -> Result<Bonus, AppError> {
    if scope(grants, caller, Action::Read)? != Scope::All {
        return Err(AppError::forbidden("simulate the bonus"));
    }
    check_year(year)?;
    simulate(store, year, rate_bp.unwrap_or(rules::DEFAULT_BONUS_RATE_BP)).await
}

fn bonus_of(run: &PayRun) -> Result<Bonus, AppError> {
    let mut b: Bonus = serde_json::from_value::<BonusDoc>(run.doc.clone())
        .map_err(|e| corrupt("bonus run", e))?
        .into_bonus();
    b.id = Some(run.id);
    b.status = run.status.clone();
    b.version = run.version;
    b.shares = run
        .lines
        .iter()
        .map(|l| serde_json::from_value(l.doc.clone()).map_err(|e| corrupt("bonus line", e)))
        .collect::<Result<_, _>>()?;
    Ok(b)
}

#[derive(Serialize, Deserialize)]
struct BonusDoc {
    year: i32,
    rate: String,
    sales: Money,
    pool: Money,
    total_pay: Money,
}

impl BonusDoc {
    fn into_bonus(self) -> Bonus {
        Bonus {
            id: None,
            status: String::new(),
            version: 0,
            year: self.year,
            rate: self.rate,
            sales: self.sales,
            pool: self.pool,
            total_pay: self.total_pay,
            shares: vec![],
        }
    }
}

/// Saves the simulated bonus as a draft run (finance); 409 when the year has one.
pub async fn save_bonus(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    year: i32,
    rate_bp: Option<i64>,
) -> Result<Bonus, AppError> {
    finance(grants, actor, Action::Create, "save bonus runs")?;
    check_year(year)?;
    let b = simulate(store, year, rate_bp.unwrap_or(rules::DEFAULT_BONUS_RATE_BP)).await?;
    let doc = stored_json(&BonusDoc {
        year,
        rate: b.rate.clone(),
        sales: b.sales,
        pool: b.pool,
        total_pay: b.total_pay,
    });
    let lines: Vec<NewPayLine> = b
        .shares
        .iter()
        .map(|s| NewPayLine {
            user_id: s.user_id,
            team_id: None,
            total: s.bonus,
            doc: stored_json(s),
        })
        .collect();
    let run = store
        .create_pay_run("bonus", &year.to_string(), &doc, &lines, actor)
        .await?;
    bonus_of(&run)
}

/// Bonus runs, newest first (readers with scope all).
pub async fn bonus_runs(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
) -> Result<Vec<Bonus>, AppError> {
    if scope(grants, caller, Action::Read)? != Scope::All {
        return Err(AppError::forbidden("see bonus runs"));
    }
    let mut out = vec![];
    for r in store.pay_runs("bonus").await? {
        out.push(bonus_of(&store.pay_run(r.id).await?)?);
    }
    Ok(out)
}

/// Approves (draft → approved) or locks (approved → locked) a bonus run (finance).
pub async fn advance_bonus(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    id: i64,
    version: i64,
    lock: bool,
) -> Result<Bonus, AppError> {
    finance(grants, actor, Action::Update, "approve or lock bonus runs")?;
    pay_run_of_kind(store, id, "bonus").await?;
    let (from, to) = if lock {
        ("approved", "locked")
    } else {
        ("draft", "approved")
    };
    let run = store.advance_pay_run(id, version, from, to, actor).await?;
    bonus_of(&run)
}

// --- the scorecard ---

/// One item's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemScore {
    /// The item's key.
    pub key: String,
    /// 0 to 100.
    pub score: u32,
}

/// A person's scorecard of a month, ranked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedCard {
    /// The person.
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// Their team.
    pub team_id: Option<i64>,
    /// The team's name.
    pub team_name: Option<String>,
    /// Their region.
    pub region: Option<String>,
    /// What they are ranked within: the team's name, the region, or 公司.
    pub group: String,
    /// Each item's score (metric-bound items filled from completion when not scored by hand).
    pub scores: Vec<ItemScore>,
    /// The quantitative items' weighted points (of 70 by default).
    pub quantitative: f64,
    /// The qualitative items' weighted points (of 30 by default).
    pub qualitative: f64,
    /// The weighted total, 0 to 100, two decimals.
    pub total: f64,
    /// Rank within the group, 1 = best (ties share a rank).
    pub rank: u32,
}

/// The rankings of a month.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rankings {
    /// YYYY-MM.
    pub month: String,
    /// team, region or company.
    pub level: String,
    /// The items and their weights.
    pub items: Vec<ScoreItem>,
    /// The people in the caller's scope, by group then rank.
    pub ranked: Vec<RankedCard>,
}

/// Scores a person's scorecard items of a month (supervisor: their team;
/// finance, administrators: anyone).
pub async fn score_card(
    store: &dyn Store,
    grants: &Grants,
    actor: &User,
    month: &str,
    user_id: i64,
    scores: &[ItemScore],
) -> Result<(), AppError> {
    let scope = scope(grants, actor, Action::Update)?;
    let (y, m) = parse_month("month", month)?;
    let Some(person) = store.user(user_id).await? else {
        return Err(invalid("user_id", format!("用户不存在 no user {user_id}")));
    };
    if !covers(scope, actor, &person) {
        return Err(AppError::forbidden("score someone outside your team"));
    }
    if person.id == actor.id && scope != Scope::All {
        return Err(AppError::forbidden("score yourself"));
    }
    let (items, _) = score_items(store).await?;
    let mut errors = keqing_domain::error::Collector::default();
    if scores.is_empty() {
        errors.push("scores", "请至少给一项打分 score at least one item");
    }
    for (i, s) in scores.iter().enumerate() {
        if !items.iter().any(|it| it.key == s.key) {
            errors.push(
                format!("scores[{i}].key"),
                format!("没有评分项 {} no item {}", s.key, s.key),
            );
        }
        if s.score > 100 {
            errors.push(
                format!("scores[{i}].score"),
                "分数应在 0 到 100 之间 a score is 0 to 100",
            );
        }
    }
    errors.finish()?;
    let rows: Vec<NewScore> = scores
        .iter()
        .map(|s| NewScore {
            item: s.key.clone(),
            score: s.score as i64,
            note: None,
        })
        .collect();
    store
        .put_scores("card", &format!("{y:04}-{m:02}"), user_id, &rows, actor)
        .await?;
    Ok(())
}

/// Rankings of a month at a level (team, region, company) over the people
/// the caller may read.
pub async fn rankings(
    store: &dyn Store,
    grants: &Grants,
    caller: &User,
    month: &str,
    level: &str,
) -> Result<Rankings, AppError> {
    let scope = scope(grants, caller, Action::Read)?;
    let (y, m) = parse_month("month", month)?;
    if !matches!(level, "team" | "region" | "company") {
        return Err(invalid(
            "level",
            "层级应为 team、region 或 company level is team, region or company",
        ));
    }
    let key = format!("{y:04}-{m:02}");
    let (items, _) = score_items(store).await?;
    let mut manual: HashMap<i64, HashMap<String, u32>> = HashMap::new();
    for s in store.scores("card", &key).await? {
        manual
            .entry(s.user_id)
            .or_default()
            .insert(s.item, s.score.clamp(0, 100) as u32);
    }
    let completion: HashMap<i64, u32> = month_figures(store, y, m)
        .await?
        .into_iter()
        .filter_map(|f| {
            let plan = f.plan_fen.filter(|p| *p > 0)?;
            let pct = (f.actual_fen.max(0) as i128 * 100 / plan as i128).min(100) as u32;
            Some((f.user_id, pct))
        })
        .collect();
    let teams: HashMap<i64, keqing_store::Team> = store
        .teams()
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut cards: Vec<RankedCard> = store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.active && covers(scope, caller, u))
        .filter(|u| manual.contains_key(&u.id) || completion.contains_key(&u.id))
        .map(|u| {
            let mine = manual.get(&u.id);
            let score_of = |k: &str| -> Option<u32> {
                mine.and_then(|m| m.get(k).copied()).or_else(|| {
                    let item = items.iter().find(|i| i.key == k)?;
                    item.metric.as_ref().and(completion.get(&u.id).copied())
                })
            };
            let part = |g: ScoreGroup| {
                let sub: Vec<ScoreItem> = items.iter().filter(|i| i.group == g).cloned().collect();
                rules::weighted_total(&sub, score_of) as f64 / 100.0
            };
            let team = u.team_id.and_then(|t| teams.get(&t));
            let region = u
                .region
                .clone()
                .or_else(|| team.and_then(|t| t.region.clone()));
            let group = match level {
                "team" => team.map_or_else(|| "无团队".to_string(), |t| t.name.clone()),
                "region" => region.clone().unwrap_or_else(|| "无区域".into()),
                _ => "公司".into(),
            };
            RankedCard {
                user_id: u.id,
                name: u.display_name.clone(),
                team_id: u.team_id,
                team_name: team.map(|t| t.name.clone()),
                region,
                group,
                scores: items
                    .iter()
                    .filter_map(|i| {
                        score_of(&i.key).map(|s| ItemScore {
                            key: i.key.clone(),
                            score: s,
                        })
                    })
                    .collect(),
                quantitative: part(ScoreGroup::Quantitative),
                qualitative: part(ScoreGroup::Qualitative),
                total: rules::weighted_total(&items, score_of) as f64 / 100.0,
                rank: 0,
            }
        })
        .collect();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in cards.iter().enumerate() {
        groups.entry(c.group.clone()).or_default().push(i);
    }
    for idx in groups.values() {
        let totals: Vec<i64> = idx
            .iter()
            .map(|&i| (cards[i].total * 100.0).round() as i64)
            .collect();
        for (&i, r) in idx.iter().zip(rules::ranks(&totals)) {
            cards[i].rank = r;
        }
    }
    cards.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then(a.rank.cmp(&b.rank))
            .then(a.user_id.cmp(&b.user_id))
    });
    Ok(Rankings {
        month: key,
        level: level.into(),
        items,
        ranked: cards,
    })
}

// --- the demo ---

/// The demo's pay (`serve --demo`): a base pay for everyone, the duty
/// checklist scored for the two months before `today`'s, those two months'
/// runs reviewed, approved and locked, and a scorecard for last month.
/// Deterministic: scores come from the person's id and the item.
pub async fn load_demo(store: &dyn Store, admin: &User, today: NaiveDate) -> Result<(), AppError> {
    let users: Vec<User> = store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.active)
        .collect();
    let finance_user = users
        .iter()
        .find(|u| u.role == Role::Finance)
        .cloned()
        .unwrap_or_else(|| admin.clone());
    let start = NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).expect("a day");
    // The sales payroll (000's 业务员月工资): customer managers and their
    // supervisors; the other roles are paid outside it.
    for u in &users {
        let yuan = match u.role {
            Role::Supervisor => 7000,
            Role::Manager => 5000,
            _ => continue,
        } + (u.id % 5) * 200;
        store
            .add_pay_base(u.id, start, Money::from_yuan(yuan), &finance_user)
            .await?;
    }
    // The demo company sells wholesale, millions a month a person: 000's
    // 15% suits a shop's takings, so its finance set B's rate at 1% for
    // both sales roles (a rate per role, as a deployment may).
    for role in ["role:manager", "role:supervisor"] {
        store.add_pay_rate(role, start, 100, &finance_user).await?;
    }
    let (duties, _) = duties(store).await?;
    let (items, _) = score_items(store).await?;
    let first = today.with_day(1).expect("the first");
    let months: Vec<NaiveDate> = (1..=2)
        .rev()
        .map(|back| {
            let mut d = first;
            for _ in 0..back {
                d = d.pred_opt().expect("a day").with_day(1).expect("the first");
            }
            d
        })
        .collect();
    let scored: Vec<&User> = users
        .iter()
        .filter(|u| matches!(u.role, Role::Manager | Role::Supervisor))
        .collect();
    // B needs a plan: when the demo has no sales targets for a year yet,
    // each salesperson gets one a little under what they sold (so the runs
    // show real figures); the demo's own targets, loaded first, win.
    let mut years: Vec<i32> = months.iter().map(|m| m.year()).collect();
    years.dedup();
    for year in years {
        if !store
            .targets(year, Some(keqing_domain::performance::Metric::SalesAmount))
            .await?
            .is_empty()
        {
            continue;
        }
        let mut plan: HashMap<i64, [i64; 12]> = HashMap::new();
        for month in 1..=12u32 {
            for f in month_figures(store, year, month).await? {
                // 95% of the month's sales, to the hundred yuan (10,000 fen).
                let fen = f.actual_fen.max(0) * 95 / 100 / 10_000 * 10_000;
                plan.entry(f.user_id).or_insert([0; 12])[month as usize - 1] = fen;
            }
        }
        for u in &scored {
            let Some(months) = plan.get(&u.id).copied() else {
                continue;
            };
            let amount: i64 = months.iter().sum();
            if amount == 0 {
                continue;
            }
            let target = keqing_domain::performance::TargetInput {
                level: keqing_domain::performance::Level::User,
                subject_id: Some(u.id),
                metric: keqing_domain::performance::Metric::SalesAmount,
                year,
                amount,
                months,
            };
            store.create_target(&target, admin).await?;
        }
    }
    for m in &months {
        let key = m.format("%Y-%m").to_string();
        for u in &scored {
            let scores: Vec<NewScore> = duties
                .iter()
                .map(|d| NewScore {
                    item: d.no.to_string(),
                    score: 60 + (u.id * 7 + d.no as i64 * 13 + m.month() as i64) % 41,
                    note: None,
                })
                .collect();
            store.put_scores("duty", &key, u.id, &scores, admin).await?;
        }
        let lines = compute(store, m.year(), m.month()).await?;
        let run = store
            .create_pay_run(
                "pay",
                &key,
                &serde_json::json!({"month": key}),
                &lines,
                &finance_user,
            )
            .await?;
        let run = store
            .review_pay_run(run.id, run.version, &[], true, admin)
            .await?;
        let run = store
            .advance_pay_run(run.id, run.version, "reviewed", "approved", &finance_user)
            .await?;
        store
            .advance_pay_run(run.id, run.version, "approved", "locked", &finance_user)
            .await?;
    }
    if let Some(last) = months.last() {
        let key = last.format("%Y-%m").to_string();
        for u in &scored {
            let scores: Vec<NewScore> = items
                .iter()
                .enumerate()
                .map(|(i, it)| NewScore {
                    item: it.key.clone(),
                    score: 55 + (u.id * 11 + i as i64 * 17) % 46,
                    note: None,
                })
                .collect();
            store.put_scores("card", &key, u.id, &scores, admin).await?;
        }
    }
    Ok(())
}
