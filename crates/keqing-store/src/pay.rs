//! Pay (issue 26): base pay and rates (effective-dated), the duty checklist
//! and scorecard scores, pay and bonus runs with their lines. The store
//! keeps what must be atomic: a run's version and state (a locked run
//! refuses every change but an adjustment line), one run per month or year.

use crate::*;
use keqing_domain::Money;

/// A run's states, in order.
pub const RUN_STATES: [&str; 4] = ["draft", "reviewed", "approved", "locked"];

/// Base pay A of a person from a day on (the latest day not after a date
/// is in force; the history stays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayBase {
    pub id: i64,
    pub user_id: i64,
    pub effective_from: NaiveDate,
    pub amount: Money,
    pub set_by: Option<i64>,
    pub set_at: DateTime<Utc>,
}

/// A rate of the hard-target pay B for a role (`role:manager`) or a person
/// (`user:12`) from a day on, in basis points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayRate {
    pub id: i64,
    pub subject: String,
    pub effective_from: NaiveDate,
    pub rate_bp: i64,
    pub set_by: Option<i64>,
    pub set_at: DateTime<Utc>,
}

/// A named settings document (the duties, the scorecard items), versioned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaySetting {
    pub name: String,
    pub doc: serde_json::Value,
    pub version: i64,
}

/// One score: `kind` "duty" (the checklist, item = the duty's number) or
/// "card" (the scorecard, item = the item's key), 0 to 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreRow {
    pub kind: String,
    pub month: String,
    pub user_id: i64,
    pub item: String,
    pub score: i64,
    pub note: Option<String>,
    pub scored_by: Option<i64>,
    pub scored_at: DateTime<Utc>,
}

/// A score to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScore {
    pub item: String,
    pub score: i64,
    pub note: Option<String>,
}

/// A line of a run as computed (or an adjustment): the total and the
/// figures behind it (`doc`, the formula with its inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPayLine {
    pub user_id: i64,
    pub team_id: Option<i64>,
    pub total: Money,
    pub doc: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayLine {
    pub id: i64,
    pub run_id: i64,
    pub user_id: i64,
    pub team_id: Option<i64>,
    /// A correction added to the run (after its lock too), not a computed line.
    pub adjustment: bool,
    pub total: Money,
    pub doc: serde_json::Value,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A pay run (`kind` "pay", period "YYYY-MM") or a bonus run ("bonus", "YYYY").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayRun {
    pub id: i64,
    pub kind: String,
    pub period: String,
    pub status: String,
    pub version: i64,
    pub doc: serde_json::Value,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub locked_by: Option<i64>,
    pub locked_at: Option<DateTime<Utc>>,
    /// Its lines by id (empty in lists).
    pub lines: Vec<PayLine>,
}

/// Facts of one person's month offered as evidence for the checklist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PayEvidence {
    pub user_id: i64,
    /// Changes of their customers' files registered in the month within 15 days of the report.
    pub changes_on_time: i64,
    /// Registered in the month, later than 15 days.
    pub changes_late: i64,
    /// Greeting tasks they did in the month.
    pub greetings_done: i64,
    /// ISO weeks of the month with help logged for an A-class customer.
    pub help_weeks: i64,
}

#[async_trait]
pub trait PayStore: Send + Sync {
    /// Sets a person's base pay from `effective_from` on, audited;
    /// [`StoreError::Refused`] for an unknown person.
    async fn add_pay_base(
        &self,
        user_id: i64,
        effective_from: NaiveDate,
        amount: Money,
        actor: &User,
    ) -> Result<PayBase>;

    /// Every base pay ever set, by person, day and id.
    async fn pay_bases(&self) -> Result<Vec<PayBase>>;

    /// Sets the rate of B for `subject` ("role:…" or "user:ID") from a day on, audited.
    async fn add_pay_rate(
        &self,
        subject: &str,
        effective_from: NaiveDate,
        rate_bp: i64,
        actor: &User,
    ) -> Result<PayRate>;

    async fn pay_rates(&self) -> Result<Vec<PayRate>>;

    async fn pay_setting(&self, name: &str) -> Result<Option<PaySetting>>;

    /// Stores a settings document if its version is still `version` (0: not
    /// stored yet); [`StoreError::Conflict`] otherwise. Audited.
    async fn put_pay_setting(
        &self,
        name: &str,
        doc: &serde_json::Value,
        version: i64,
        actor: &User,
    ) -> Result<PaySetting>;

    /// Stores a person's scores of a month (each item replaces its earlier
    /// score), audited, in one transaction.
    async fn put_scores(
        &self,
        kind: &str,
        month: &str,
        user_id: i64,
        scores: &[NewScore],
        actor: &User,
    ) -> Result<()>;

    /// Every score of a kind and month.
    async fn scores(&self, kind: &str, month: &str) -> Result<Vec<ScoreRow>>;

    /// The checklist's evidence of every person with any, for the days
    /// `from..=to`.
    async fn pay_evidence(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<PayEvidence>>;

    /// Creates a draft run with its lines, audited; [`StoreError::Duplicate`]
    /// when a run of the kind and period exists.
    async fn create_pay_run(
        &self,
        kind: &str,
        period: &str,
        doc: &serde_json::Value,
        lines: &[NewPayLine],
        actor: &User,
    ) -> Result<PayRun>;

    /// Runs of a kind, newest period first, without their lines.
    async fn pay_runs(&self, kind: &str) -> Result<Vec<PayRun>>;

    /// A run with its lines.
    async fn pay_run(&self, id: i64) -> Result<PayRun>;

    /// The run of a kind and period, with its lines, if there is one.
    async fn pay_run_of(&self, kind: &str, period: &str) -> Result<Option<PayRun>>;

    /// Replaces a draft run's computed lines (adjustments stay) and its
    /// document; refused unless draft, [`StoreError::Conflict`] on a stale version.
    async fn recompute_pay_run(
        &self,
        id: i64,
        version: i64,
        doc: &serde_json::Value,
        lines: &[NewPayLine],
        actor: &User,
    ) -> Result<PayRun>;

    /// Marks the lines of `user_ids` reviewed (all lines when `all`); the run
    /// becomes reviewed when every computed line is. Draft runs only.
    async fn review_pay_run(
        &self,
        id: i64,
        version: i64,
        user_ids: &[i64],
        all: bool,
        actor: &User,
    ) -> Result<PayRun>;

    /// Moves a run from `from` to `to` (reviewed → approved, approved →
    /// locked; draft → approved for a bonus run), recording who and when.
    async fn advance_pay_run(
        &self,
        id: i64,
        version: i64,
        from: &str,
        to: &str,
        actor: &User,
    ) -> Result<PayRun>;

    /// Adds an adjustment line to a run in any state (a locked run's only
    /// change), audited with its reason.
    async fn add_pay_adjustment(
        &self,
        id: i64,
        line: &NewPayLine,
        reason: &str,
        actor: &User,
    ) -> Result<PayRun>;
}

/// The run refuses a change in its present state.
pub(crate) fn refuse_state(status: &str, wanted: &str) -> StoreError {
    if status == "locked" {
        StoreError::Refused(format!(
            "工资单已锁定，不能再修改，更正请添加调整行 the run is locked and never changes; add an adjustment line to correct it (wanted: {wanted})"
        ))
    } else {
        StoreError::Refused(format!(
            "工资单状态为 {status}，不能{wanted} the run is {status}: it cannot be {wanted}"
        ))
    }
}

/// Distinct ISO weeks per person among (person, instant) pairs, in China time.
pub(crate) fn help_weeks(
    rows: impl IntoIterator<Item = (i64, DateTime<Utc>)>,
) -> HashMap<i64, i64> {
    use chrono::Datelike;
    let mut seen = std::collections::HashSet::new();
    let mut out = HashMap::new();
    for (user, at) in rows {
        let w = keqing_domain::day::china_day(at).iso_week();
        if seen.insert((user, w.year(), w.week())) {
            *out.entry(user).or_insert(0) += 1;
        }
    }
    out
}

/// Evidence counts merged into one row per person.
pub(crate) fn evidence_rows(
    changes: Vec<(i64, i64, i64)>,
    greetings: Vec<(i64, i64)>,
    help: HashMap<i64, i64>,
) -> Vec<PayEvidence> {
    let mut m: std::collections::BTreeMap<i64, PayEvidence> = Default::default();
    fn row(m: &mut std::collections::BTreeMap<i64, PayEvidence>, u: i64) -> &mut PayEvidence {
        m.entry(u).or_insert_with(|| PayEvidence {
            user_id: u,
            ..Default::default()
        })
    }
    for (u, on_time, late) in changes {
        let r = row(&mut m, u);
        r.changes_on_time += on_time;
        r.changes_late += late;
    }
    for (u, n) in greetings {
        row(&mut m, u).greetings_done += n;
    }
    for (u, n) in help {
        row(&mut m, u).help_weeks += n;
    }
    m.into_values().collect()
}
