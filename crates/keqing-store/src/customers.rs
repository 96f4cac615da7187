//! Customers, their contacts, history, the pool and the 15-day change deadline (SPEC §1).

use crate::*;

#[async_trait]
pub trait CustomerStore: Send + Sync {
    // --- customers ---
    /// Ids of live customers with the same external code or dedup key.
    async fn find_duplicates(&self, input: &CustomerInput) -> Result<Vec<i64>>;

    /// Creates a customer; refuses a duplicate ([`StoreError::Duplicate`]).
    async fn create_customer(
        &self,
        input: &CustomerInput,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<Customer>;

    async fn customer(&self, id: i64) -> Result<Option<Customer>>;

    async fn customers_by_ids(&self, ids: &[i64]) -> Result<Vec<Customer>>;

    /// Writes a new version when `expected_version` is current; records `changes`.
    async fn update_customer(
        &self,
        id: i64,
        expected_version: i64,
        input: &CustomerInput,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Customer>;

    /// Soft delete: the file and its history stay, restorable by an administrator.
    async fn delete_customer(&self, id: i64, actor: &User) -> Result<()>;

    async fn restore_customer(&self, id: i64, actor: &User) -> Result<Customer>;

    async fn list_customers(&self, filter: &CustomerFilter) -> Result<Page<Customer>>;

    async fn history(&self, customer_id: i64) -> Result<Vec<HistoryEntry>>;

    /// Moves `other`'s contacts, activities, orders and history onto `keep`
    /// and marks `other` merged; both histories survive.
    async fn merge_customers(&self, keep: i64, other: i64, actor: &User) -> Result<Customer>;

    /// Hands customers (with their whole history) to another manager.
    async fn transfer_customers(
        &self,
        ids: &[i64],
        to_user: i64,
        reason: &str,
        actor: &User,
    ) -> Result<u64>;

    /// Releases to the pool every owned customer whose last follow-up (or
    /// assignment) is older than the rules allow; returns their ids.
    async fn release_stale(
        &self,
        rules: &PoolRules,
        now: DateTime<Utc>,
        actor: &User,
    ) -> Result<Vec<i64>>;

    /// Claims a pool customer for `user` unless they already own `max_owned`.
    async fn claim(&self, customer_id: i64, user: &User, max_owned: i64) -> Result<Customer>;

    async fn ownership_log(&self, customer_id: i64) -> Result<Vec<OwnershipEvent>>;

    // --- contacts ---
    async fn create_contact(
        &self,
        customer_id: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact>;

    async fn contact(&self, id: i64) -> Result<Option<Contact>>;

    async fn contacts(&self, customer_id: i64) -> Result<Vec<Contact>>;

    async fn update_contact(
        &self,
        id: i64,
        expected_version: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact>;

    async fn delete_contact(&self, id: i64, actor: &User) -> Result<()>;

    // --- the 15-day change deadline ---
    async fn report_change(
        &self,
        customer_id: i64,
        note: &str,
        reported_on: NaiveDate,
        actor: &User,
    ) -> Result<ChangeReport>;

    async fn register_change(&self, id: i64, on: NaiveDate, actor: &User) -> Result<ChangeReport>;

    /// Unregistered reports, optionally of one owner's customers.
    async fn open_changes(&self, owner_id: Option<i64>) -> Result<Vec<ChangeReport>>;
}

// --- what both backends' customer code decides alike ---

/// The tables whose rows follow a merged customer onto the one it is merged into.
pub(crate) const MERGE_MOVES: [&str; 6] = [
    "contacts",
    "activities",
    "orders",
    "customer_history",
    "ownership_log",
    "change_reports",
];

/// Refuses a write made against a version that is no longer the current one.
pub(crate) fn check_version(expected: i64, current: i64) -> Result<()> {
    if current != expected {
        return Err(StoreError::Conflict { expected, current });
    }
    Ok(())
}

/// Refuses a customer whose external code or dedup key live customers hold.
#[inline]
pub(crate) fn refuse_duplicates(dups: Vec<i64>) -> Result<()> {
    if !dups.is_empty() {
        return Err(StoreError::Duplicate(dups));
    }
    Ok(())
}

/// The ids two duplicate lookups found, each once, in order, without `except`.
pub(crate) fn distinct_dups(mut ids: Vec<i64>, except: Option<i64>) -> Vec<i64> {
    ids.retain(|id| Some(*id) != except);
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The history of a change to one field.
pub(crate) fn one_change(
    field: &str,
    old: impl Into<serde_json::Value>,
    new: impl Into<serde_json::Value>,
) -> [FieldChange; 1] {
    [FieldChange {
        field: field.into(),
        old: old.into(),
        new: new.into(),
    }]
}

/// The audit detail of an update: the names of the fields it changed.
pub(crate) fn changed_fields(changes: &[FieldChange]) -> serde_json::Value {
    // The old and the new value of each field, as a user's or a team's
    // change has them: the audit log shows old → new.
    let side = |f: fn(&FieldChange) -> &serde_json::Value| {
        changes
            .iter()
            .map(|c| (c.field.clone(), f(c).clone()))
            .collect::<serde_json::Map<_, _>>()
    };
    serde_json::json!({
        "fields": changes.iter().map(|c| &c.field).collect::<Vec<_>>(),
        "old": side(|c| &c.old),
        "new": side(|c| &c.new),
    })
}

/// How a dialect binds the values of a customer list's conditions: each call
/// adds one value and answers its placeholder (`$n`, `?n`).
pub(crate) trait BindCustomer {
    fn int(&mut self, v: i64) -> String;
    fn text(&mut self, v: String) -> String;
    fn opt_int(&mut self, v: Option<i64>) -> String;
    fn opt_text(&mut self, v: Option<String>) -> String;
}

/// The conditions a customer list opens with, the same text in both
/// dialects: deleted or not, and what the caller may see.
pub(crate) fn scope_conditions(f: &CustomerFilter, w: &mut Vec<String>, b: &mut impl BindCustomer) {
    if f.deleted_only {
        w.push("deleted_at IS NOT NULL".into());
    } else if !f.include_deleted {
        w.push("deleted_at IS NULL".into());
    }
    match &f.visibility {
        Visibility::All => {}
        Visibility::OwnerOrPool(u) => {
            let a = b.int(*u);
            w.push(format!("(owner_id IS NULL OR owner_id = {a})"));
        }
        Visibility::TeamOrPool { user, team } => {
            let a = b.int(*user);
            let c = b.opt_int(*team);
            w.push(format!(
                "(owner_id IS NULL OR owner_id = {a} OR team_id = {c})"
            ));
        }
        Visibility::RegionOrPool { user, region } => {
            let a = b.int(*user);
            let c = b.opt_text(region.clone());
            w.push(format!(
                "(owner_id IS NULL OR owner_id = {a} OR province = {c})"
            ));
        }
    }
}

/// The conditions of a customer list on its owner and on where a page
/// starts, the same text in both dialects.
pub(crate) fn owner_conditions(f: &CustomerFilter, w: &mut Vec<String>, b: &mut impl BindCustomer) {
    if let Some(o) = f.owner_id {
        let a = b.int(o);
        w.push(format!("owner_id = {a}"));
    }
    if f.in_pool {
        w.push("owner_id IS NULL".into());
    }
    if f.owned_only {
        w.push("owner_id IS NOT NULL".into());
    }
    if let Some(after) = f.after_id {
        let a = b.int(after);
        w.push(format!("id > {a}"));
    }
}

/// The conditions of a customer list on its plain columns (province, class,
/// tier, stage), the same text in both dialects. Answers whether every one
/// it added (if any) is on the province.
pub(crate) fn column_conditions(
    f: &CustomerFilter,
    w: &mut Vec<String>,
    b: &mut impl BindCustomer,
) -> bool {
    let mut province_only = true;
    for (col, v) in [
        ("province", &f.province),
        ("class", &f.class),
        ("tier", &f.tier),
        ("stage", &f.stage),
    ] {
        if let Some(v) = v {
            let a = b.text(v.clone());
            w.push(format!("{col} = {a}"));
            province_only &= col == "province";
        }
    }
    province_only
}
