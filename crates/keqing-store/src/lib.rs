//! keqing's storage.
//!
//! The rest of the program talks to one interface, [`Store`]; SQLite (the
//! embedded default) and PostgreSQL (for teams) implement it, and one test
//! suite ([`suite`], feature `testing`) runs against both. SQL lives in the
//! backend that runs it: nothing above this crate knows which one it is.
//!
//! The store keeps data and keeps it consistent (transactions, optimistic
//! versions, idempotent imports). Business rules — validation, permissions,
//! what counts as a duplicate — are decided above it, in the domain and the
//! server, and handed down as plain values.

pub mod analysis;
pub mod backup;
pub mod care;
pub mod customers;
mod doc;
mod fts;
pub mod imports;
pub mod pay;
pub mod people;
pub mod performance;
mod postgres;
pub mod records;
mod search_build;
mod sqlite;
#[cfg(feature = "testing")]
pub mod suite;
mod verify;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use keqing_domain::activity::{Activity, NewActivity};
use keqing_domain::archive::PoolRules;
use keqing_domain::contact::{Contact, ContactInput};
use keqing_domain::customer::{Customer, CustomerInput};
use keqing_domain::history::FieldChange;
use keqing_domain::order::{NewOrder, NewPayment, Order, Payment};
use keqing_domain::Money;
use keqing_domain::{Role, User};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

pub use analysis::AnalysisStore;
pub use backup::BackupStore;
pub use care::CareStore;
pub use customers::CustomerStore;
pub use imports::ImportStore;
pub use pay::PayStore;
pub use people::PeopleStore;
pub use performance::{ActualRow, Grain, PerformanceStore};
pub use postgres::PgStore;
pub use records::{
    CustomerReceivable, ReceivableBucket, Receivables, ReceivablesQuery, ReceivablesSubject,
    RecordStore, RECEIVABLE_BUCKETS,
};
pub use sqlite::SqliteStore;
pub use verify::DIFFERENCES_SHOWN;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The record changed since it was read: nothing was written.
    #[error("version conflict: expected {expected}, current {current}")]
    Conflict { expected: i64, current: i64 },
    /// Refused because it would duplicate existing records (ids given).
    #[error("duplicate of {0:?}")]
    Duplicate(Vec<i64>),
    /// A rule the store enforces atomically (e.g. the pool claim limit).
    #[error("{0}")]
    Refused(String),
    /// A value refused by a rule checked where it is written (a payment
    /// larger than what is still owed): 422 naming the field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("database: {0}")]
    Db(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Opens the store a URL names: `sqlite://PATH` (or a bare path, or
/// `sqlite::memory:`) or `postgres://…` / `postgresql://…`. Migrations run on open.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with(url, false).await
}

/// [`open`] for a process that imports and exits (`keqing import`): its
/// bulk imports may take an SQLite database for themselves while they run
/// ([`SqliteStore::with_exclusive_bulk`]). PostgreSQL opens as with [`open`].
pub async fn open_for_import(url: &str) -> Result<Arc<dyn Store>> {
    open_with(url, true).await
}

async fn open_with(url: &str, exclusive_bulk: bool) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let store = SqliteStore::open(path).await?;
        Ok(Arc::new(if exclusive_bulk {
            store.with_exclusive_bulk()
        } else {
            store
        }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub region: Option<String>,
}

/// A region (区域, SPEC §9): what a regional scope covers, the customers whose
/// province it names. Users and teams name one from this list; the store adds
/// a region a user or team is given that the list lacks, so every region in
/// use is listed, and removes only a region no user or team is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Region {
    pub id: i64,
    pub name: String,
    /// Users whose region it is.
    pub users: i64,
    /// Teams whose region it is.
    pub teams: i64,
}

/// What an administrator changes about a team ([`Store::update_team`]);
/// `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamChange {
    pub name: Option<String>,
    /// `Some(None)` clears the region.
    pub region: Option<Option<String>>,
}

/// The audit detail of a team change: the old and new value of each field
/// that differs, or `None` when nothing does.
pub(crate) fn team_change_detail(old: &Team, new: &Team) -> Option<serde_json::Value> {
    let (mut was, mut now) = (serde_json::Map::new(), serde_json::Map::new());
    if old.name != new.name {
        was.insert("name".into(), old.name.clone().into());
        now.insert("name".into(), new.name.clone().into());
    }
    if old.region != new.region {
        was.insert("region".into(), old.region.clone().into());
        now.insert("region".into(), new.region.clone().into());
    }
    (!was.is_empty()).then(|| serde_json::json!({"old": was, "new": now}))
}

impl TeamChange {
    /// The team as this change leaves it.
    pub fn apply(&self, team: &Team) -> Team {
        Team {
            id: team.id,
            name: self.name.clone().unwrap_or_else(|| team.name.clone()),
            region: self.region.clone().unwrap_or_else(|| team.region.clone()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: Option<i64>,
    pub region: Option<String>,
    pub password_hash: String,
}

/// What an administrator changes about a user ([`Store::update_user`]);
/// `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub role: Option<Role>,
    /// `Some(None)` takes the user out of any team.
    pub team_id: Option<Option<i64>>,
    /// `Some(None)` clears the region.
    pub region: Option<Option<String>>,
    pub active: Option<bool>,
    /// The name the workbench shows for the user.
    pub display_name: Option<String>,
}

impl UserChange {
    /// The user as this change leaves them.
    pub fn apply(&self, user: &User) -> User {
        User {
            display_name: self
                .display_name
                .clone()
                .unwrap_or_else(|| user.display_name.clone()),
            role: self.role.unwrap_or(user.role),
            team_id: self.team_id.unwrap_or(user.team_id),
            region: self.region.clone().unwrap_or_else(|| user.region.clone()),
            active: self.active.unwrap_or(user.active),
            ..user.clone()
        }
    }
}

/// The audit detail of a user change: the old and new value of each field
/// that differs, or `None` when nothing does.
pub(crate) fn user_change_detail(old: &User, new: &User) -> Option<serde_json::Value> {
    let (mut was, mut now) = (serde_json::Map::new(), serde_json::Map::new());
    let mut field = |name: &str, a: serde_json::Value, b: serde_json::Value| {
        if a != b {
            was.insert(name.into(), a);
            now.insert(name.into(), b);
        }
    };
    field(
        "display_name",
        old.display_name.clone().into(),
        new.display_name.clone().into(),
    );
    field("role", old.role.as_str().into(), new.role.as_str().into());
    field("team_id", old.team_id.into(), new.team_id.into());
    field(
        "region",
        old.region.clone().into(),
        new.region.clone().into(),
    );
    field("active", old.active.into(), new.active.into());
    (!was.is_empty()).then(|| serde_json::json!({"old": was, "new": now}))
}

/// Whether a change takes away the last active administrator (`others`:
/// how many other active administrators there are).
pub(crate) fn removes_last_admin(old: &User, new: &User, others: i64) -> bool {
    let admin = |u: &User| u.active && u.role == Role::Admin;
    admin(old) && !admin(new) && others == 0
}

/// Why the store refuses a change ([`StoreError::Refused`]), in the words
/// both backends use: Chinese first, then English, as every message a user
/// reads (the server shows them after 操作被拒绝).
pub(crate) mod refuse {
    use super::StoreError;
    use std::fmt::Display;

    fn r(text: String) -> StoreError {
        StoreError::Refused(text)
    }

    pub fn last_admin() -> StoreError {
        r("这是最后一位在岗的管理员：请先让另一位用户成为管理员 this is the last active administrator: make another user an administrator before demoting or deactivating this one".into())
    }

    pub fn no_user(user: impl Display) -> StoreError {
        r(format!("用户不存在 no user {user}"))
    }

    pub fn user_exists(username: &str) -> StoreError {
        r(format!("用户名已存在 user {username} exists already"))
    }

    pub fn no_team(team: impl Display) -> StoreError {
        r(format!("团队不存在 no team {team}"))
    }

    pub fn team_exists(name: &str) -> StoreError {
        r(format!("团队名称已存在 a team named {name} exists already"))
    }

    pub fn region_in_use(name: &str, users: i64, teams: i64) -> StoreError {
        r(format!(
            "区域“{name}”还有 {users} 位用户、{teams} 个团队：请先把他们调到别的区域 region {name} has {users} users and {teams} teams: move them to another region first"
        ))
    }

    pub fn merge_into_itself() -> StoreError {
        r("客户不能合并到自己 a customer cannot be merged into itself".into())
    }

    pub fn merge_live_only() -> StoreError {
        r("只能合并未删除的客户 only live customers can be merged".into())
    }

    pub fn not_in_pool() -> StoreError {
        r("该客户不在公海中 this customer is not in the pool".into())
    }

    pub fn pool_limit(owned: i64, max_owned: i64) -> StoreError {
        r(format!(
            "名下已有 {owned} 位客户，已达上限 {max_owned} you own {owned} customers; the limit is {max_owned}"
        ))
    }

    pub fn restore_needs_empty() -> StoreError {
        r("恢复备份需要一个空数据库 restore needs an empty database".into())
    }

    /// A restore whose rows did not read back as the backup holds them;
    /// `shown` names the first differences.
    pub fn restore_not_verified(differences: u64, shown: &[String]) -> StoreError {
        r(format!(
            "恢复校验失败：数据库与备份有 {differences} 处不同，恢复已撤销，数据库仍为空 \
             restore verification failed: {differences} differences between the database and \
             the backup; the restore was rolled back and the database is empty. \
             前 {} 处 the first {}:\n  {}",
            shown.len(),
            shown.len(),
            shown.join("\n  ")
        ))
    }

    pub fn task_moved_on(now: &str, expected: &str) -> StoreError {
        r(format!(
            "任务状态已变为 {now}，不是 {expected} the task is {now} now, not {expected}"
        ))
    }

    pub fn import_cut_short() -> StoreError {
        r("导入的数据未读完：读取文件出错 the rows of the import stopped before their end: the reader of the file failed".into())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_refusal_reads_chinese_first_then_english() {
            let all = [
                last_admin(),
                no_user(7),
                user_exists("wang"),
                no_team(3),
                team_exists("华东一组"),
                region_in_use("华东", 2, 1),
                merge_into_itself(),
                merge_live_only(),
                not_in_pool(),
                pool_limit(50, 50),
                restore_needs_empty(),
                task_moved_on("done", "open"),
                import_cut_short(),
            ];
            for e in all {
                let StoreError::Refused(m) = e else {
                    panic!("not a refusal: {e:?}")
                };
                let first = m.chars().next().unwrap();
                assert!(('\u{4e00}'..='\u{9fff}').contains(&first), "{m}");
                assert!(
                    m.chars().any(|c| c.is_ascii_alphabetic()),
                    "no English in {m}"
                );
            }
        }
    }
}

/// Every customer a filter matches, read in pages of 1,000 by id (keyset
/// paging, no counting): for jobs that walk a whole set.
pub async fn all_customers(store: &dyn Store, filter: &CustomerFilter) -> Result<Vec<Customer>> {
    let mut f = CustomerFilter {
        sort: CustomerSort::IdAsc,
        limit: 1000,
        offset: 0,
        skip_total: true,
        ..filter.clone()
    };
    let mut out = vec![];
    loop {
        let page = store.list_customers(&f).await?;
        let n = page.items.len() as i64;
        f.after_id = page.items.last().map(|c| c.id);
        out.extend(page.items);
        if n < f.limit {
            return Ok(out);
        }
    }
}

/// Which rows a caller may see, pushed down into the query (SPEC §9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visibility {
    #[default]
    All,
    /// Owned by this user, or in the pool.
    OwnerOrPool(i64),
    /// Owned by this user, by this team, or in the pool.
    TeamOrPool { user: i64, team: Option<i64> },
    /// Owned by this user, in this region (province), or in the pool.
    RegionOrPool { user: i64, region: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameQuery {
    /// Part of the name.
    Text(String),
    /// Pinyin (prefix or part of the full pinyin) or initials typed in order.
    Pinyin(String),
    /// The last digits of a phone number (company or contact).
    PhoneSuffix(String),
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub visibility: Visibility,
    pub query: Option<NameQuery>,
    /// The other words of a search of several (`江苏 钢业`): a customer
    /// matches when `query` and each of these match it. The store decides
    /// which word's index drives the search ([`customers::search_words`]).
    pub more_words: Vec<NameQuery>,
    pub owner_id: Option<i64>,
    /// Only customers in the public pool.
    pub in_pool: bool,
    /// Only customers with an owner (not in the pool).
    pub owned_only: bool,
    /// Keyset paging: only ids above this one (with the id order, a loop over
    /// every matching customer reads each row once instead of OFFSET's rescans).
    pub after_id: Option<i64>,
    /// Leave `Page::total` at -1 instead of counting (for loops over all rows).
    pub skip_total: bool,
    pub tag: Option<String>,
    /// A custom profile field (key, value): the value, or one of the options
    /// of a multi choice, equals the text given.
    pub custom: Option<(String, String)>,
    pub province: Option<String>,
    pub class: Option<String>,
    pub tier: Option<String>,
    pub stage: Option<String>,
    /// The RFM class the value analysis wrote (`important_retain`…).
    pub rfm_class: Option<String>,
    /// Only customers whose P(alive) (written by the value analysis) is
    /// below this; those without one are left out.
    pub p_alive_below: Option<f64>,
    /// Only customers with no follow-up since this moment (or none ever).
    pub no_follow_up_since: Option<DateTime<Utc>>,
    /// Only customers who bought, but not since this moment (those who
    /// never bought are left out: they are not slipping away).
    pub no_purchase_since: Option<DateTime<Utc>>,
    /// Only the members of this group customer (those whose `parent_id` it is).
    pub parent_id: Option<i64>,
    pub include_deleted: bool,
    pub deleted_only: bool,
    pub sort: CustomerSort,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CustomerSort {
    #[default]
    IdAsc,
    NameAsc,
    UpdatedDesc,
    /// The longest without a follow-up first (never followed up first of all).
    LastFollowUpAsc,
    /// The longest without a purchase first; those who never bought last.
    LastPurchaseAsc,
    /// The lowest P(alive) first; those without one last.
    PAliveAsc,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Rows in all; when `capped`, only the first matches were counted and
    /// there are more (a very broad name search: see `SEARCH_COUNT_CAP`).
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
    pub capped: bool,
}

impl<T> Page<T> {
    /// A page with nothing on it (a filter nothing can match).
    pub fn empty(offset: i64, limit: i64) -> Page<T> {
        Page {
            items: vec![],
            total: 0,
            offset,
            limit,
            capped: false,
        }
    }
}

/// Matches a name search counts on SQLite before it stops (at least the
/// page asked for): one or two letters match a large share of a million
/// customers, and counting them all would cost the user's every keystroke.
pub const SEARCH_COUNT_CAP: i64 = 1000;

/// Rows a customer list counts before it stops (at least to the end of the
/// page asked for); the page then says `capped`. Counting a million live
/// customers reads a whole index on every page load; "10,000+" is as useful.
pub const LIST_COUNT_CAP: i64 = 10_000;

/// The count of a customer list, up to [`LIST_COUNT_CAP`]: the limit to put
/// on the counting query (one more than the cap, to see there are more).
pub(crate) fn list_count_limit(offset: i64, limit: i64) -> i64 {
    LIST_COUNT_CAP.max(offset.max(0) + limit) + 1
}

/// `(total, capped)` from a count made with [`list_count_limit`].
pub(crate) fn capped_total(counted: i64, count_limit: i64) -> (i64, bool) {
    if counted >= count_limit {
        (count_limit - 1, true)
    } else {
        (counted, false)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub id: i64,
    pub customer_id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub field: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnershipEvent {
    pub id: i64,
    pub customer_id: i64,
    pub at: DateTime<Utc>,
    pub from_user: Option<i64>,
    pub to_user: Option<i64>,
    /// create, transfer, release, claim, merge
    pub reason: String,
    pub actor_id: Option<i64>,
    /// Why, in the words of whoever handed the customer over or released
    /// it (a transfer or a release by hand); `None` for the others.
    pub note: Option<String>,
}

/// What a caller's customers hold, for the list's filters: the provinces
/// of the live customers in scope, and the tags they carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerFacets {
    /// The provinces, by name.
    pub provinces: Vec<String>,
    /// The tags in use, by name (at most [`FACET_TAGS_MAX`]).
    pub tags: Vec<String>,
}

/// Most tags [`CustomerStore::customer_facets`] lists.
pub const FACET_TAGS_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub detail: serde_json::Value,
}

/// Which lines of the audit log to read ([`Store::audit_page`]), newest
/// first; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who acted.
    pub user_id: Option<i64>,
    /// What was done (`update`, `login`, …).
    pub action: Option<String>,
    /// The kind of record (`customer`, `user`, …).
    pub entity: Option<String>,
    /// The record (with `entity`, one record).
    pub entity_id: Option<i64>,
    /// From this instant on.
    pub since: Option<DateTime<Utc>>,
    /// Before this instant.
    pub until: Option<DateTime<Utc>>,
    pub offset: i64,
    /// At most this many lines (1–1000).
    pub limit: i64,
}

/// The conditions of an audit page, the same text in both dialects; `at`
/// is the cast a bound time needs (`::text::timestamptz` on PostgreSQL).
pub(crate) fn audit_conditions(
    f: &AuditFilter,
    b: &mut impl customers::BindCustomer,
    at_cast: &str,
) -> String {
    let mut w: Vec<String> = vec![];
    if let Some(u) = f.user_id {
        w.push(format!("user_id = {}", b.int(u)));
    }
    if let Some(a) = &f.action {
        w.push(format!("action = {}", b.text(a.clone())));
    }
    if let Some(e) = &f.entity {
        w.push(format!("entity = {}", b.text(e.clone())));
    }
    if let Some(id) = f.entity_id {
        w.push(format!("entity_id = {}", b.int(id)));
    }
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    if let Some(t) = f.since {
        w.push(format!("at >= {}{at_cast}", b.text(stamp(t))));
    }
    if let Some(t) = f.until {
        w.push(format!("at < {}{at_cast}", b.text(stamp(t))));
    }
    if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    }
}

/// A reported change of customer data that must reach the file within 15 days (000).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeReport {
    pub id: i64,
    pub customer_id: i64,
    pub note: String,
    pub reported_on: NaiveDate,
    pub due_on: NaiveDate,
    pub registered_on: Option<NaiveDate>,
    pub reported_by: Option<i64>,
}

/// One good row of a customer import.
#[derive(Debug, Clone)]
pub struct ImportCustomer {
    pub line: u64,
    pub customer: CustomerInput,
    pub contact: Option<ContactInput>,
}

/// One good row of a contacts import, its customer resolved.
#[derive(Debug, Clone)]
pub struct ImportContact {
    pub line: u64,
    pub customer_id: i64,
    pub contact: ContactInput,
}

/// The good rows of an import as the file is read, a batch at a time: the
/// reader of the file sends batch k + 1 while the store writes batch k, so
/// a million-row file is never held whole, parsed, in memory.
///
/// The sender ends the rows with [`ImportSender::finish`]; rows whose
/// sender went away without it (a reader that failed) make the import fail,
/// so a file is never taken as shorter than it is.
pub struct ImportRows<T> {
    expected: usize,
    rx: tokio::sync::mpsc::Receiver<ImportMessage<T>>,
}

enum ImportMessage<T> {
    Rows(Vec<T>),
    End,
}

/// The sending half of [`ImportRows`].
pub struct ImportSender<T> {
    tx: tokio::sync::mpsc::Sender<ImportMessage<T>>,
}

impl<T> ImportRows<T> {
    /// Rows to be sent; `expected` is how many the file can give at most
    /// (its data rows): a store decides by it how to write them.
    pub fn channel(expected: usize) -> (ImportSender<T>, ImportRows<T>) {
        // Two batches in flight: the one being prepared and the next.
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        (ImportSender { tx }, ImportRows { expected, rx })
    }

    /// Rows already in memory, in batches of [`IMPORT_BATCH`].
    pub fn from_vec(mut rows: Vec<T>) -> ImportRows<T> {
        let expected = rows.len();
        let mut batches = vec![];
        while rows.len() > IMPORT_BATCH {
            let rest = rows.split_off(IMPORT_BATCH);
            batches.push(std::mem::replace(&mut rows, rest));
        }
        if !rows.is_empty() {
            batches.push(rows);
        }
        let (tx, rx) = tokio::sync::mpsc::channel(batches.len() + 1);
        for b in batches {
            let _ = tx.try_send(ImportMessage::Rows(b));
        }
        let _ = tx.try_send(ImportMessage::End);
        ImportRows { expected, rx }
    }

    /// The most rows this import can hold.
    pub fn expected(&self) -> usize {
        self.expected
    }

    /// The next batch, `None` after the last; an error when the sender
    /// stopped before the end. For a blocking thread.
    pub fn blocking_next(&mut self) -> Result<Option<Vec<T>>> {
        Self::message(self.rx.blocking_recv())
    }

    /// The next batch (see [`ImportRows::blocking_next`]).
    pub async fn next(&mut self) -> Result<Option<Vec<T>>> {
        Self::message(self.rx.recv().await)
    }

    fn message(m: Option<ImportMessage<T>>) -> Result<Option<Vec<T>>> {
        match m {
            Some(ImportMessage::Rows(rows)) => Ok(Some(rows)),
            Some(ImportMessage::End) => Ok(None),
            None => Err(refuse::import_cut_short()),
        }
    }
}

impl<T> ImportSender<T> {
    /// Sends a batch; `false` when the store stopped taking rows (it failed:
    /// its error is what the import answers).
    pub fn blocking_send(&self, rows: Vec<T>) -> bool {
        rows.is_empty() || self.tx.blocking_send(ImportMessage::Rows(rows)).is_ok()
    }

    /// Sends a batch from async code (see [`ImportSender::blocking_send`]).
    pub async fn send(&self, rows: Vec<T>) -> bool {
        rows.is_empty() || self.tx.send(ImportMessage::Rows(rows)).await.is_ok()
    }

    /// Says the rows are complete.
    pub fn blocking_finish(self) {
        let _ = self.tx.blocking_send(ImportMessage::End);
    }

    /// Says the rows are complete, from async code.
    pub async fn finish(self) {
        let _ = self.tx.send(ImportMessage::End).await;
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportOutcome {
    pub imported: u64,
    /// Lines whose customer already existed (same external code, or same
    /// normalised name + phone): a re-run creates nothing new.
    pub existing: Vec<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OrderImportOutcome {
    pub imported: u64,
    /// Orders whose external id was already stored.
    pub existing: u64,
}

/// One purchase, as the analysis engine reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFact {
    pub customer_id: i64,
    pub date: NaiveDate,
    pub amount_fen: i64,
}

/// Customer fields the analysis engine writes back.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueUpdate {
    pub customer_id: i64,
    pub class: Option<String>,
    pub rfm_class: Option<String>,
    pub tier: Option<String>,
    pub clv: Option<String>,
    /// The probability that the customer is still buying (BG/NBD, 0..=1).
    pub p_alive: Option<f64>,
}

/// Row counts per table, for verifying a backup against its restore.
pub type TableCounts = Vec<(String, i64)>;

/// The whole store: the sum of the areas' traits, so that `Arc<dyn Store>`
/// reaches every method.
pub trait Store:
    PeopleStore
    + CustomerStore
    + RecordStore
    + ImportStore
    + CareStore
    + AnalysisStore
    + BackupStore
    + PerformanceStore
    + PayStore
    + Send
    + Sync
{
    /// "sqlite" or "postgres", for logs and `/healthz`.
    fn backend(&self) -> &'static str;
}

/// Tables in dependency order: a restore loads them in this order.
pub const TABLES: &[&str] = &[
    "regions",
    "teams",
    "users",
    "customers",
    "contacts",
    "activities",
    "orders",
    "payments",
    "customer_history",
    "ownership_log",
    "change_reports",
    "audit_log",
    "care_templates",
    "care_texts",
    "care_tasks",
    "care_settings",
    "analysis_snapshots",
    "analysis_snapshot_members",
    "targets",
    "target_revisions",
    "pay_settings",
    "pay_bases",
    "pay_rates",
    "pay_scores",
    "pay_runs",
    "pay_lines",
];

pub(crate) fn db_err<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

/// Columns denormalised out of a customer's document, for search, filters and scope.
pub(crate) struct CustomerIndex {
    pub name: String,
    pub pinyin: String,
    pub initials: String,
    /// The phone's digits reversed: the column a phone suffix is found by.
    pub phone_rev: Option<String>,
    pub province: Option<String>,
    pub class: Option<String>,
    pub tier: Option<String>,
    pub stage: String,
    pub tags: String,
    pub external_code: Option<String>,
    pub dedup_key: Option<String>,
    /// The stored document's text (see [`stored_customer_doc`]).
    pub doc: String,
}

impl CustomerIndex {
    pub fn of(c: &CustomerInput) -> CustomerIndex {
        let keys = keqing_domain::search::name_keys(&c.name);
        CustomerIndex {
            name: c.name.clone(),
            pinyin: keys.pinyin,
            initials: keys.initials,
            phone_rev: c.phone.as_ref().map(|p| rev(&p.digits())),
            province: c.province.clone(),
            class: c.class.clone(),
            tier: c.tier.clone(),
            stage: c.stage.as_str().to_string(),
            // Bars around each tag so `LIKE '%|tag|%'` matches whole tags only.
            tags: if c.tags.is_empty() {
                String::new()
            } else {
                format!("|{}|", c.tags.join("|"))
            },
            external_code: c.external_code.clone(),
            dedup_key: c.dedup_key(),
            doc: stored_customer_doc(c),
        }
    }

    /// The name's search tokens ([`fts::tokens`]), separated by spaces.
    pub(crate) fn search_tokens(&self) -> String {
        fts::tokens(&fts::Keyed {
            name: &self.name,
            pinyin: &self.pinyin,
            initials: &self.initials,
        })
    }
}

pub(crate) use doc::{stored_contact_doc, stored_customer_doc};

pub(crate) fn customer_input(doc: &serde_json::Value) -> Result<CustomerInput> {
    match doc {
        serde_json::Value::Object(m) => CustomerInput::from_json(m).map_err(db_err),
        _ => Err(StoreError::Db("customer document is not an object".into())),
    }
}

pub(crate) fn contact_input(doc: &serde_json::Value) -> Result<ContactInput> {
    match doc {
        serde_json::Value::Object(m) => ContactInput::from_json(m).map_err(db_err),
        _ => Err(StoreError::Db("contact document is not an object".into())),
    }
}

pub(crate) fn activity_input(doc: &serde_json::Value) -> Result<NewActivity> {
    match doc {
        serde_json::Value::Object(m) => NewActivity::from_json(m).map_err(db_err),
        _ => Err(StoreError::Db("activity document is not an object".into())),
    }
}

/// Rows per committed transaction in an import: a crash loses at most one batch,
/// which the re-run then stores.
pub const IMPORT_BATCH: usize = 10_000;

/// Columns that hold JSON documents in every table.
pub(crate) const JSON_COLUMNS: &[&str] = &[
    "doc", "detail", "old", "new", "value", "params", "summary", "data", "months",
];

/// Reads a backup's JSON lines, naming the line of any that is not JSON.
pub(crate) fn read_backup(
    input: &mut (dyn std::io::BufRead + Send),
) -> Result<Vec<serde_json::Value>> {
    let mut rows = vec![];
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        n += 1;
        if input.read_line(&mut line).map_err(db_err)? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| StoreError::Db(format!("backup line {n}: {e}")))?;
        rows.push(v);
    }
    Ok(rows)
}

/// Brings the rows of an older backup to today's shape (see the steps);
/// a backup of this version is left as it is.
pub(crate) fn upgrade_backup(rows: &mut Vec<serde_json::Value>) {
    upgrade_regions(rows);
    upgrade_care_tasks(rows);
    upgrade_payments(rows);
}

/// A backup written before payments (SQLite 19, PostgreSQL 20) has orders
/// without a version and no `payments` rows: each order gets version 1, and
/// each paid one its one payment of its full amount (due as the order
/// says), as the migration makes them, placed after the last order.
fn upgrade_payments(rows: &mut Vec<serde_json::Value>) {
    use serde_json::json;
    if rows.iter().any(|v| v["table"] == "payments") {
        return;
    }
    let old = |v: &serde_json::Value| v["table"] == "orders" && v["row"].get("version").is_none();
    if !rows.iter().any(old) {
        return;
    }
    let now = crate::sqlite::ts(chrono::Utc::now());
    let mut payments = vec![];
    for v in rows.iter_mut().filter(|v| old(v)) {
        let Some(row) = v["row"].as_object_mut() else {
            continue;
        };
        row.insert("version".into(), json!(1));
        let paid = row.get("paid_date").filter(|d| !d.is_null()).cloned();
        let amount = row.get("amount_fen").and_then(|a| a.as_i64()).unwrap_or(0);
        if let Some(paid) = paid.filter(|_| amount > 0) {
            payments.push(json!({"table": "payments", "row": {
                "id": payments.len() as i64 + 1,
                "order_id": row.get("id").cloned().unwrap_or_default(),
                "amount_fen": amount,
                "due_date": row.get("due_date").cloned().unwrap_or_default(),
                "paid_date": paid,
                "version": 1,
                "created_at": now,
                "created_by": null,
            }}));
        }
    }
    let at = rows
        .iter()
        .rposition(|v| v["table"] == "orders")
        .map_or(rows.len(), |i| i + 1);
    rows.splice(at..at, payments);
}

/// A backup written before schema version 9 has no `regions` rows: they are
/// the regions its teams and users name, teams first, as the migration makes
/// them, placed before the first team.
fn upgrade_regions(rows: &mut Vec<serde_json::Value>) {
    use serde_json::json;
    if rows.iter().any(|v| v["table"] == "regions") {
        return;
    }
    let mut names: Vec<String> = vec![];
    for table in ["teams", "users"] {
        for v in rows.iter().filter(|v| v["table"] == table) {
            if let Some(r) = v["row"]["region"].as_str().filter(|r| !r.is_empty()) {
                if !names.iter().any(|n| n == r) {
                    names.push(r.to_string());
                }
            }
        }
    }
    let at = rows
        .iter()
        .position(|v| v["table"] == "teams" || v["table"] == "users")
        .unwrap_or(0);
    let now = crate::sqlite::ts(chrono::Utc::now());
    let made = names.into_iter().enumerate().map(|(i, name)| {
        json!({"table": "regions", "row": {"id": i as i64 + 1, "name": name, "created_at": now}})
    });
    rows.splice(at..at, made);
}

/// Brings the rows of a backup written before schema version 6 (care tasks made narrow) to today's
/// shape: a care task's occasions and message move to `care_texts`, its
/// planned day comes from its key, and an open customer task's owner is the
/// customer's (not stored). Newer backups are left as they are.
fn upgrade_care_tasks(rows: &mut Vec<serde_json::Value>) {
    use serde_json::{json, Value};
    let old = |v: &Value| v["table"] == "care_tasks" && v["row"].get("key").is_some();
    let Some(at) = rows.iter().position(old) else {
        return;
    };
    let base = rows
        .iter()
        .filter(|v| v["table"] == "care_texts")
        .filter_map(|v| v["row"]["id"].as_i64())
        .max()
        .unwrap_or(0);
    let mut texts: Vec<String> = vec![];
    let mut id_of = |text: String| -> i64 {
        let i = match texts.iter().position(|t| *t == text) {
            Some(i) => i,
            None => {
                texts.push(text);
                texts.len() - 1
            }
        };
        base + 1 + i as i64
    };
    for v in rows.iter_mut().filter(|v| old(v)) {
        let Some(row) = v["row"].as_object_mut() else {
            continue;
        };
        let key = row.remove("key").unwrap_or_default();
        let key = key.as_str().unwrap_or_default();
        let planned_for = key.get(key.len().saturating_sub(10)..).unwrap_or_default();
        let occasions = row.remove("occasions").unwrap_or(Value::Null).to_string();
        let message = row
            .remove("message")
            .and_then(|m| m.as_str().map(str::to_string));
        let open = matches!(
            row.get("status").and_then(Value::as_str),
            Some("open" | "snoozed")
        );
        if open && !row.get("customer_id").is_none_or(Value::is_null) {
            row.insert("owner_id".into(), Value::Null);
        }
        row.insert("planned_for".into(), json!(planned_for));
        row.insert("occasions_id".into(), json!(id_of(occasions)));
        row.insert("template_id".into(), Value::Null);
        row.insert("message_id".into(), json!(message.map(&mut id_of)));
    }
    let texts: Vec<Value> = texts
        .into_iter()
        .enumerate()
        .map(|(i, body)| json!({"table": "care_texts", "row": {"id": base + 1 + i as i64, "body": body}}))
        .collect();
    rows.splice(at..at, texts);
}

/// Escapes LIKE wildcards so what a user typed matches literally (`ESCAPE '\'`).
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Digits reversed: a phone suffix search becomes an indexable prefix range.
pub(crate) fn rev(s: &str) -> String {
    s.chars().rev().collect()
}

// --- relationship care (客情维护, SPEC §4) ---

/// Care tasks to store in one transaction. Texts many tasks share (the
/// occasions of a festival, a template, a rule's message) are stored once
/// and referred to by their index here.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CareTaskBatch {
    pub texts: Vec<String>,
    pub tasks: Vec<NewCareTask>,
}

impl CareTaskBatch {
    /// The index of `text` in `texts`, adding it when new (a linear search:
    /// a batch holds a handful of texts).
    pub fn text(&mut self, text: &str) -> u32 {
        match self.texts.iter().position(|t| t == text) {
            Some(i) => i as u32,
            None => {
                self.texts.push(text.to_owned());
                (self.texts.len() - 1) as u32
            }
        }
    }
}

/// A care task to store under its key (kind, customer or salesperson,
/// contact, planned day).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewCareTask {
    /// greeting, cadence, quota, deadline, order_day or follow_up
    pub kind: &'static str,
    /// The day it was planned for (part of its key).
    pub planned_for: NaiveDate,
    /// The day it is due: the planned day, or later when the frequency cap
    /// deferred it or a cadence line fell behind.
    pub date: NaiveDate,
    /// `None` for a salesperson's own task (the daily quota).
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// The salesperson of a task without a customer. A customer's task
    /// belongs to whoever owns the customer.
    pub salesperson_id: Option<i64>,
    /// Index in the batch's texts: the occasions of a greeting (a JSON
    /// array), or the rule's detail (JSON).
    pub occasions: u32,
    /// Index of a greeting's message template (rendered when shown).
    pub template: Option<u32>,
    /// Index of a rule task's message.
    pub message: Option<u32>,
    pub channel: Option<&'static str>,
}

/// A stored care task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CareTaskRow {
    pub id: i64,
    /// `greeting:c42:p7:2026-02-17`, `quota:s3:2026-11-23`.
    pub key: String,
    pub kind: String,
    pub planned_for: NaiveDate,
    pub date: NaiveDate,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Whose task it is: an open or snoozed customer task belongs to the
    /// customer's current owner (`None` in the pool); a done or skipped one
    /// to the owner it was closed under; a quota task to its salesperson.
    pub owner_id: Option<i64>,
    /// The occasions (JSON array) or the rule's detail; `null` without
    /// [`CareTaskFilter::details`].
    pub occasions: serde_json::Value,
    /// A rule task's channel; a greeting's is suggested when shown.
    pub channel: Option<String>,
    /// A rule task's message; a greeting's is rendered from `template`.
    pub message: Option<String>,
    /// A greeting's message template.
    pub template: Option<String>,
    /// open, done, skipped or snoozed
    pub status: String,
    pub reason: Option<String>,
    pub snoozed_until: Option<NaiveDate>,
    /// The activity logged when the task was completed.
    pub activity_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What a greeting is made from (with [`CareTaskFilter::details`]).
    pub facts: Option<CareTaskFacts>,
}

/// The current facts a task's channel and message are made from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CareTaskFacts {
    pub customer_name: Option<String>,
    /// new, intent or existing
    pub business_stage: Option<String>,
    pub gifts_forbidden: bool,
    pub contact_name: Option<String>,
    pub contact_title: Option<String>,
    pub contact_level: Option<keqing_domain::contact::ContactLevel>,
    /// The display name of the task's owner.
    pub owner_name: Option<String>,
}

/// Which care tasks to list. Tasks of a deleted contact or customer are
/// never listed: nothing points at a record that is gone.
#[derive(Debug, Clone, Default)]
pub struct CareTaskFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Only tasks of these owners (`None`: everyone's); see
    /// [`CareTaskRow::owner_id`].
    pub owners: Option<Vec<i64>>,
    /// Read the occasions, texts and [`CareTaskFacts`] too (to show the
    /// tasks), not only ids, days, owners and statuses (to count them).
    pub details: bool,
    pub offset: i64,
    /// 0: no limit.
    pub limit: i64,
}

/// Whom a calendar occasion greets (see [`Store::care_roster`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CareRoster {
    /// (customer id, owner id), by customer id.
    pub customers: Vec<(i64, i64)>,
    /// (contact id, customer id), by customer id then contact id.
    pub contacts: Vec<(i64, i64)>,
}

/// A stored task that contacts a customer, as the frequency cap counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareTaskContact {
    /// greeting, cadence or order_day
    pub kind: &'static str,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub planned_for: NaiveDate,
    /// The day the contact is made (a snoozed task: the day it wakes).
    pub date: NaiveDate,
}

/// What [`Store::care_task_contacts`] finds. Two festivals a week apart
/// (Christmas and New Year, Mid-Autumn and National Day) put two or four
/// million stored greetings in the frequency cap's window; the earlier
/// festival's cannot be planned again, so they come as one day per
/// customer, not one task per contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CareTaskContacts {
    /// The tasks a run of the planned days may plan again: every cadence
    /// and order-day task, and the greetings planned on those days.
    pub tasks: Vec<CareTaskContact>,
    /// The days the other greetings contact their customer: (customer id,
    /// day), by customer and day, each once.
    pub days: Vec<(i64, NaiveDate)>,
}

impl CareTaskContacts {
    /// Sorts a stored task into `tasks` or `days` (see [`CareTaskContacts`]);
    /// the greetings of a day come in customer order (the order they were
    /// stored in), so most repeats are dropped here.
    pub(crate) fn push(&mut self, t: CareTaskContact, planned: (NaiveDate, NaiveDate)) {
        if t.kind == "greeting" && !(planned.0..=planned.1).contains(&t.planned_for) {
            if self.days.last() != Some(&(t.customer_id, t.date)) {
                self.days.push((t.customer_id, t.date));
            }
        } else {
            self.tasks.push(t);
        }
    }

    /// Sorts `days` and drops the repeats left.
    pub(crate) fn finish(mut self) -> CareTaskContacts {
        self.days.sort_unstable();
        self.days.dedup();
        self.days.shrink_to_fit();
        self
    }
}

/// A status change of a care task, applied only while the task is still in
/// `expected` (the status the caller decided from); otherwise nothing is
/// written and the answer is [`StoreError::Refused`].
#[derive(Debug, Clone, PartialEq)]
pub struct CareStatusChange {
    pub expected: String,
    pub status: String,
    pub reason: Option<String>,
    pub snoozed_until: Option<NaiveDate>,
    /// Logged on the task's customer in the same transaction (completing).
    pub activity: Option<NewActivity>,
}

/// A message template (the signature rule is checked above the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CareTemplate {
    pub id: i64,
    pub name: String,
    pub body: String,
    /// The occasion id it is for (`mid_autumn`, `birthday`…); `None`: any.
    pub occasion: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCareTemplate {
    pub name: String,
    pub body: String,
    pub occasion: Option<String>,
    pub active: bool,
}

/// What care planning needs of a live, owned customer, read in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct CareCustomerFacts {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub team_id: Option<i64>,
    pub class: Option<String>,
    pub tier: Option<String>,
    /// new, intent or existing
    pub business_stage: Option<String>,
    pub key_customer: bool,
    pub gifts_forbidden: bool,
    pub key_dates: Vec<keqing_domain::customer::KeyDate>,
    /// Custom field `order_weekdays` (e.g. `"mon,thu"` or `["周一"]`), as stored.
    pub order_weekdays: Option<serde_json::Value>,
}

/// What care planning needs of a live contact of a live, owned customer.
#[derive(Debug, Clone, PartialEq)]
pub struct CareContactFacts {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub title: Option<String>,
    pub level: Option<keqing_domain::contact::ContactLevel>,
    pub birthday: Option<keqing_domain::contact::Birthday>,
}

/// One logged activity, as the care rules count it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityFact {
    pub customer_id: i64,
    pub user_id: Option<i64>,
    pub kind: keqing_domain::activity::ActivityKind,
    pub at: DateTime<Utc>,
    /// The customer's business stage (new, intent, existing) of a visit
    /// (since the time asked for): the daily quota counts new- and
    /// existing-customer visits apart.
    pub customer_stage: Option<String>,
    /// A gift logged against the customer's card: the rule it broke
    /// (`forbidden`, `over_limit`).
    pub card_breach: Option<String>,
}

/// Which customers [`Store::care_customers`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CareCustomerQuery {
    /// Every live, owned customer (a calendar occasion greets them all).
    pub all: bool,
    /// Otherwise: those under a care rule of their own (a class, tier or
    /// key-customer flag for the cadence standards, key dates, order
    /// weekdays), and these.
    pub ids: Vec<i64>,
}

/// A task's key as keqing-care writes it: `greeting:c42:p7:2026-02-17`,
/// `deadline:c42:-:2026-12-01`, `quota:s3:2026-11-23` (a task without a
/// customer is its owner's, the salesperson's).
pub(crate) fn care_task_key(
    kind: &str,
    customer_id: Option<i64>,
    contact_id: Option<i64>,
    owner_id: Option<i64>,
    planned_for: NaiveDate,
) -> String {
    match (customer_id, contact_id) {
        (Some(c), Some(p)) => format!("{kind}:c{c}:p{p}:{planned_for}"),
        (Some(c), None) => format!("{kind}:c{c}:-:{planned_for}"),
        (None, _) => match owner_id {
            Some(s) => format!("{kind}:s{s}:{planned_for}"),
            None => format!("{kind}:{planned_for}"),
        },
    }
}

/// Every care task kind, in the order of SQLite's stored codes (index =
/// code): new kinds go at the end.
pub(crate) const CARE_KINDS: [&str; 6] = [
    "greeting",
    "cadence",
    "quota",
    "deadline",
    "order_day",
    "follow_up",
];

/// The kinds of care task, as stored.
pub(crate) fn care_kind(kind: &str) -> Option<&'static str> {
    CARE_KINDS.into_iter().find(|k| *k == kind)
}

/// The key a contact's birthday is looked up by, without its year:
/// `S11-23` (solar), `L08-15` (lunar), `LL04-30` (lunar leap month) — the
/// backends index the same expression over the stored birthday.
pub fn birthday_key(b: &keqing_domain::contact::Birthday) -> String {
    use keqing_domain::contact::Birthday as B;
    let (kind, month, day) = match *b {
        B::Solar { month, day, .. } => ("S", month, day),
        B::Lunar {
            month, day, leap, ..
        } => (if leap { "LL" } else { "L" }, month, day),
    };
    // Digit by digit where month and day have two (every parsed birthday):
    // an import makes a key for each contact it stores.
    if month >= 100 || day >= 100 {
        return format!("{kind}{month:02}-{day:02}");
    }
    let mut text = *b"00-00";
    keqing_domain::contact::put_digits(&mut text[..2], month);
    keqing_domain::contact::put_digits(&mut text[3..], day);
    let mut key = String::with_capacity(kind.len() + text.len());
    key.push_str(kind);
    key.extend(text.iter().map(|&b| char::from(b)));
    key
}

// --- analysis snapshots (SPEC §3, §5) ---

/// One customer of a snapshot: its class (an RFM key, an ABC letter, a CLV
/// band) and the values the analysis gave it (score, R/F/M, CLV…).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotMember {
    pub customer_id: i64,
    pub class: Option<String>,
    pub data: serde_json::Value,
}

/// An analysis result to save: what ran (kind, parameters, as-of date),
/// its summary, and its members.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnalysisSnapshot {
    /// rfm, abc or clv
    pub kind: String,
    pub name: String,
    pub params: serde_json::Value,
    pub as_of: Option<NaiveDate>,
    pub summary: serde_json::Value,
    pub created_by: Option<i64>,
    pub members: Vec<SnapshotMember>,
}

/// A saved snapshot (without its members).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalysisSnapshot {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub params: serde_json::Value,
    pub as_of: Option<NaiveDate>,
    pub summary: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    /// Number of members.
    pub members: i64,
}

/// Which members of a snapshot to read.
#[derive(Debug, Clone, Default)]
pub struct SnapshotMemberFilter {
    pub visibility: Visibility,
    pub class: Option<String>,
    pub offset: i64,
    /// 0: no limit.
    pub limit: i64,
}

/// A member with the customer's current name and owner.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotMemberRow {
    pub customer_id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    pub class: Option<String>,
    pub data: serde_json::Value,
}

/// A care task as read, before its shared texts and facts are looked up.
pub(crate) struct CareTaskBase {
    pub row: CareTaskRow,
    pub occasions_id: i64,
    pub template_id: Option<i64>,
    pub message_id: Option<i64>,
}

/// Fills in the texts and facts of tasks from what both backends read by
/// id: the shared texts, and per customer (name, business stage, gifts
/// forbidden), per contact (name, title, level), per owner (name).
pub(crate) fn fill_care_task_details(
    rows: &mut [CareTaskBase],
    texts: &HashMap<i64, String>,
    customers: &HashMap<i64, (String, Option<String>, bool)>,
    contacts: &HashMap<i64, (String, Option<String>, Option<String>)>,
    owners: &HashMap<i64, String>,
) -> Result<()> {
    for b in rows {
        let r = &mut b.row;
        r.occasions = match texts.get(&b.occasions_id) {
            Some(t) => serde_json::from_str(t).map_err(db_err)?,
            None => serde_json::Value::Null,
        };
        r.template = b.template_id.and_then(|i| texts.get(&i).cloned());
        r.message = b.message_id.and_then(|i| texts.get(&i).cloned());
        let customer = r.customer_id.and_then(|i| customers.get(&i));
        let contact = r.contact_id.and_then(|i| contacts.get(&i));
        r.facts = Some(CareTaskFacts {
            customer_name: customer.map(|c| c.0.clone()),
            business_stage: customer.and_then(|c| c.1.clone()),
            gifts_forbidden: customer.is_some_and(|c| c.2),
            contact_name: contact.map(|p| p.0.clone()),
            contact_title: contact.and_then(|p| p.1.clone()),
            contact_level: contact
                .and_then(|p| p.2.as_deref())
                .and_then(|l| keqing_domain::contact::ContactLevel::parse(l).ok()),
            owner_name: r.owner_id.and_then(|i| owners.get(&i).cloned()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod birthday_key_tests {
    use super::birthday_key;
    use keqing_domain::contact::Birthday;

    #[test]
    fn keys_written_as_format_writes_them() {
        for month in [0, 1, 9, 10, 12, 99, 100, 123] {
            for day in [0, 1, 9, 10, 30, 99, 100] {
                let solar = Birthday::Solar {
                    year: Some(1980),
                    month,
                    day,
                };
                assert_eq!(birthday_key(&solar), format!("S{month:02}-{day:02}"));
                for (leap, kind) in [(false, "L"), (true, "LL")] {
                    let lunar = Birthday::Lunar {
                        year: None,
                        month,
                        day,
                        leap,
                    };
                    assert_eq!(birthday_key(&lunar), format!("{kind}{month:02}-{day:02}"));
                }
            }
        }
    }
}

/// Every area's trait, for calling the store's methods on a concrete
/// backend (`SqliteStore`, `PgStore`); a `dyn Store` needs none of them.
pub mod prelude {
    pub use crate::{
        AnalysisStore, BackupStore, CareStore, CustomerStore, ImportStore, PayStore, PeopleStore,
        PerformanceStore, RecordStore, Store,
    };
}
