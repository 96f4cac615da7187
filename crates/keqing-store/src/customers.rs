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

    /// The provinces of the live customers `visibility` lets a caller see,
    /// with how many there are, and the tags they carry.
    async fn customer_facets(&self, visibility: &Visibility) -> Result<CustomerFacets>;

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

    /// Releases these customers to the pool by hand, `reason` recorded in
    /// the ownership log, history and audit; answers those released (the
    /// live ones that had an owner).
    async fn release_customers(&self, ids: &[i64], reason: &str, actor: &User) -> Result<Vec<i64>>;

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
    fn real(&mut self, v: f64) -> String;
    fn time(&mut self, v: DateTime<Utc>) -> String;
}

/// The latest order of the customer row at hand, the same text in both
/// dialects (one seek on the index `orders_customer`).
pub(crate) const LAST_ORDER_AT: &str =
    "(SELECT max(ordered_at) FROM orders WHERE orders.customer_id = customers.id)";

/// The conditions of a customer list on what the value analysis wrote and
/// on the last follow-up and purchase, the same text in both dialects.
/// Answers whether it added any (they read the table's rows).
pub(crate) fn value_conditions(
    f: &CustomerFilter,
    w: &mut Vec<String>,
    b: &mut impl BindCustomer,
) -> bool {
    let before = w.len();
    if let Some(c) = &f.rfm_class {
        let a = b.text(c.clone());
        w.push(format!("rfm_class = {a}"));
    }
    if let Some(p) = f.p_alive_below {
        let a = b.real(p);
        w.push(format!("p_alive < {a}"));
    }
    if let Some(t) = f.no_follow_up_since {
        let a = b.time(t);
        w.push(format!(
            "(last_follow_up_at IS NULL OR last_follow_up_at < {a})"
        ));
    }
    if let Some(t) = f.no_purchase_since {
        let a = b.time(t);
        w.push(format!("{LAST_ORDER_AT} < {a}"));
    }
    w.len() > before
}

/// The words of a search, the one whose index drives it first: of those
/// the index finds (a name part with a character to look up, pinyin), the
/// longest in bytes (a Chinese character counts three: one narrows more
/// than a letter), the first of equals; otherwise the first word. The
/// others are tested on each of its candidates.
pub(crate) fn search_words(f: &CustomerFilter) -> Vec<&NameQuery> {
    let mut words: Vec<&NameQuery> = f.query.iter().chain(&f.more_words).collect();
    let weight = |q: &NameQuery| match q {
        NameQuery::Text(t) if crate::fts::text_match(t).is_some() => t.len(),
        NameQuery::Pinyin(p) if crate::fts::pinyin_match(p).is_some() => p.len(),
        _ => 0,
    };
    if let Some(best) = (0..words.len()).max_by_key(|&i| (weight(words[i]), usize::MAX - i)) {
        let w = words.remove(best);
        words.insert(0, w);
    }
    words
}

/// Whether a further word of a search also narrows the driving word's index
/// query (FTS5 intersects their entries), or is only tested on its
/// candidates. Measured at a million customers (debug build, BENCHMARKS.md):
/// a name part of any length and pinyin of two letters or more narrow
/// (`南京 龙`, which has no match, went from about 100 ms to 1–8 ms); a
/// single letter of pinyin does not: its prefix query merges the entries
/// of thousands of tokens, where testing the candidates mostly fills the
/// page first (`南京 h`).
pub(crate) fn narrows(q: &NameQuery) -> bool {
    match q {
        NameQuery::Text(_) => true,
        NameQuery::Pinyin(p) => p.len() >= 2,
        NameQuery::PhoneSuffix(_) => false,
    }
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

/// The provinces of the live customers a scope's conditions (`scope`, on
/// `customers`) let through, the same text in both dialects: each distinct
/// province found by a seek on the index `customers_province` (the next
/// one after the last), then one seek or a short scan in its range for a
/// customer in scope. A million customers in some thirty provinces cost
/// some sixty seeks, where a count of them read every one.
pub(crate) fn provinces_sql(scope: &str) -> String {
    format!(
        "WITH RECURSIVE p(v) AS (
           SELECT min(province) FROM customers WHERE deleted_at IS NULL AND province > ''
           UNION ALL
           SELECT (SELECT min(province) FROM customers WHERE deleted_at IS NULL AND province > p.v)
           FROM p WHERE p.v IS NOT NULL)
         SELECT v FROM p WHERE v IS NOT NULL
           AND EXISTS (SELECT 1 FROM customers WHERE province = p.v AND {scope})"
    )
}

/// The facets as both backends answer them: provinces by name; the tags
/// of the distinct `tags` columns read (`|a|b|`), each once, by name (the
/// bytes of their text).
pub(crate) fn facets(mut provinces: Vec<String>, columns: Vec<String>) -> CustomerFacets {
    provinces.sort();
    let mut tags: Vec<String> = columns
        .iter()
        .flat_map(|c| c.split('|'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    tags.sort();
    tags.dedup();
    tags.truncate(FACET_TAGS_MAX);
    CustomerFacets { provinces, tags }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_word_the_index_finds_drives_a_search() {
        let f = CustomerFilter {
            query: Some(NameQuery::Text("江".into())),
            more_words: vec![
                NameQuery::PhoneSuffix("1234".into()),
                NameQuery::Pinyin("gangye".into()),
                NameQuery::Text("钢业".into()),
            ],
            ..Default::default()
        };
        let words = search_words(&f);
        assert_eq!(words[0], &NameQuery::Pinyin("gangye".into()));
        assert_eq!(words.len(), 4);
        let phone_only = CustomerFilter {
            query: Some(NameQuery::PhoneSuffix("1234".into())),
            ..Default::default()
        };
        assert_eq!(search_words(&phone_only).len(), 1);
        assert!(search_words(&CustomerFilter::default()).is_empty());
        assert!(narrows(&NameQuery::Text("江".into())));
        assert!(narrows(&NameQuery::Pinyin("js".into())));
        assert!(!narrows(&NameQuery::Pinyin("j".into())));
        assert!(!narrows(&NameQuery::PhoneSuffix("1234".into())));
    }
}
