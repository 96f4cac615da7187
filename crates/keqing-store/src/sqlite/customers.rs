//! Customers, their contacts, history, the pool and the 15-day change deadline (SPEC §1).

use super::*;
use crate::customers::{
    changed_fields, check_version, distinct_dups, one_change, refuse_duplicates, MERGE_MOVES,
};

/// The longest without a purchase first, those who never bought last.
/// ([`LAST_ORDER_AT`] written out: a `const` cannot join texts.)
const LAST_PURCHASE_ORDER: &str =
    "(SELECT max(ordered_at) FROM orders WHERE orders.customer_id = customers.id) NULLS LAST, id";

#[async_trait]
impl CustomerStore for SqliteStore {
    async fn find_duplicates(&self, input: &CustomerInput) -> Result<Vec<i64>> {
        let input = input.clone();
        self.read(move |c| dup_ids(c, &input, None)).await
    }

    async fn create_customer(
        &self,
        input: &CustomerInput,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<Customer> {
        let (input, actor) = (input.clone(), actor.id);
        self.tx(move |t| {
            let now = ts(Utc::now());
            let id = insert_customer(t, &input, owner_id, Some(actor), &now)
                .map_err(|e| map_unique(e, t, &input, None))?;
            audit_row(
                t,
                Some(actor),
                "create",
                "customer",
                Some(id),
                &serde_json::json!({"name": input.name}),
                &now,
            )?;
            must_customer(t, id)
        })
        .await
    }

    async fn customer(&self, id: i64) -> Result<Option<Customer>> {
        self.read(move |c| get_customer(c, id)).await
    }

    async fn customers_by_ids(&self, ids: &[i64]) -> Result<Vec<Customer>> {
        let ids = ids.to_vec();
        self.read(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(x) = get_customer(c, id)? {
                    out.push(x);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_customer(
        &self,
        id: i64,
        expected_version: i64,
        input: &CustomerInput,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Customer> {
        let (input, changes, actor) = (input.clone(), changes.to_vec(), actor.id);
        self.tx(move |t| {
            let current: i64 = t
                .query_row(
                    "SELECT version FROM customers WHERE id = ?1 AND deleted_at IS NULL",
                    [id],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            check_version(expected_version, current)?;
            refuse_duplicates(dup_ids(t, &input, Some(id))?)?;
            let now = ts(Utc::now());
            write_customer_doc(t, id, &input, &now)?;
            history_insert(t, id, Some(actor), &changes, &now)?;
            audit_row(
                t,
                Some(actor),
                "update",
                "customer",
                Some(id),
                &changed_fields(&changes),
                &now,
            )?;
            must_customer(t, id)
        })
        .await
    }

    async fn delete_customer(&self, id: i64, actor: &User) -> Result<()> {
        let actor = actor.id;
        self.tx(move |t| {
            let now = ts(Utc::now());
            let n = t
                .execute("UPDATE customers SET deleted_at = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL", params![id, now])
                .map_err(sq)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            history_insert(t, id, Some(actor), &one_change("deleted", false, true), &now)?;
            audit_row(t, Some(actor), "delete", "customer", Some(id), &serde_json::Value::Null, &now)
        })
        .await
    }

    async fn restore_customer(&self, id: i64, actor: &User) -> Result<Customer> {
        let actor = actor.id;
        self.tx(move |t| {
            let c = must_customer(t, id)?;
            if c.deleted_at.is_none() {
                return Ok(c);
            }
            refuse_duplicates(dup_ids(t, &c.fields, Some(id))?)?;
            let now = ts(Utc::now());
            t.execute("UPDATE customers SET deleted_at = NULL, merged_into = NULL, version = version + 1, updated_at = ?2 WHERE id = ?1", params![id, now])
                .map_err(sq)?;
            history_insert(t, id, Some(actor), &one_change("deleted", true, false), &now)?;
            audit_row(t, Some(actor), "restore", "customer", Some(id), &serde_json::Value::Null, &now)?;
            must_customer(t, id)
        })
        .await
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Page<Customer>> {
        let f = f.clone();
        self.read(move |c| {
            let cw = customer_where(&f);
            // A name search counts, scopes and orders its candidates on the
            // narrow customers_scope index, then reads only the page's rows.
            let searched = !cw.search.is_empty();
            let from = if searched {
                "customers INDEXED BY customers_scope"
            } else {
                "customers"
            };
            let limit = f.limit.clamp(1, 1000);
            if searched && matches!(f.sort, CustomerSort::IdAsc | CustomerSort::NameAsc) {
                return search_page(c, &f, &cw, limit);
            }
            let (w, mut p) = (cw.clause, cw.params);
            let (total, capped) = if f.skip_total {
                (-1, false)
            } else {
                let n = list_count_limit(f.offset, limit);
                let counted: i64 = c
                    .prepare_cached(&format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {from} {w} LIMIT {n})"
                    ))
                    .map_err(sq)?
                    .query_row(params_from_iter(p.iter()), |r| r.get(0))
                    .map_err(sq)?;
                capped_total(counted, n)
            };
            let order = match (&f.query, f.sort) {
                // Shorter names first: the closest matches.
                (Some(NameQuery::Pinyin(_) | NameQuery::Text(_)), CustomerSort::IdAsc) => {
                    "length(name), id"
                }
                (_, CustomerSort::IdAsc) => "id",
                (_, CustomerSort::NameAsc) => "name, id",
                (_, CustomerSort::UpdatedDesc) => "updated_at DESC, id",
                (_, CustomerSort::LastFollowUpAsc) => {
                    "last_follow_up_at IS NOT NULL, last_follow_up_at, id"
                }
                (_, CustomerSort::LastPurchaseAsc) => LAST_PURCHASE_ORDER,
                (_, CustomerSort::PAliveAsc) => "p_alive IS NULL, p_alive, id",
            };
            p.push(limit.into());
            p.push(f.offset.max(0).into());
            let sql = if searched {
                format!(
                    "SELECT {CUSTOMER_COLS} FROM customers WHERE id IN
                       (SELECT id FROM {from} {w} ORDER BY {order} LIMIT ?{} OFFSET ?{})
                     ORDER BY {order}",
                    p.len() - 1,
                    p.len()
                )
            } else {
                format!(
                    "SELECT {CUSTOMER_COLS} FROM customers {w} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
                    p.len() - 1,
                    p.len()
                )
            };
            let mut st = c.prepare_cached(&sql).map_err(sq)?;
            let items = rows_of(&mut st, params_from_iter(p.iter()), customer_row)?;
            Ok(Page {
                capped,
                items,
                total,
                offset: f.offset.max(0),
                limit,
            })
        })
        .await
    }

    async fn history(&self, customer_id: i64) -> Result<Vec<HistoryEntry>> {
        self.read(move |c| {
            let mut st = c
                .prepare("SELECT id, customer_id, at, user_id, field, old, new FROM customer_history WHERE customer_id = ?1 ORDER BY id")
                .map_err(sq)?;
            let v = rows_of(&mut st, [customer_id], |r| {
                    Ok(HistoryEntry {
                        id: r.get(0)?,
                        customer_id: r.get(1)?,
                        at: parse_ts(&r.get::<_, String>(2)?)?,
                        user_id: r.get(3)?,
                        field: r.get(4)?,
                        old: json_col(&r.get::<_, String>(5)?)?,
                        new: json_col(&r.get::<_, String>(6)?)?,
                    })
                })?;
            Ok(v)
        })
        .await
    }

    async fn merge_customers(&self, keep: i64, other: i64, actor: &User) -> Result<Customer> {
        let actor = actor.id;
        if keep == other {
            return Err(refuse::merge_into_itself());
        }
        self.tx(move |t| {
            let k = must_customer(t, keep)?;
            let o = must_customer(t, other)?;
            if k.deleted_at.is_some() || o.deleted_at.is_some() {
                return Err(refuse::merge_live_only());
            }
            let now = ts(Utc::now());
            for table in MERGE_MOVES {
                t.execute(&format!("UPDATE {table} SET customer_id = ?1 WHERE customer_id = ?2"), params![keep, other])
                    .map_err(sq)?;
            }
            t.execute(
                "UPDATE customers SET deleted_at = ?3, merged_into = ?1, version = version + 1, updated_at = ?3 WHERE id = ?2",
                params![keep, other, now],
            )
            .map_err(sq)?;
            t.execute("UPDATE customers SET version = version + 1, updated_at = ?2 WHERE id = ?1", params![keep, now])
                .map_err(sq)?;
            history_insert(t, keep, Some(actor), &one_change("merged", serde_json::Value::Null, serde_json::json!({"id": other, "name": o.fields.name})), &now)?;
            audit_row(t, Some(actor), "merge", "customer", Some(keep), &serde_json::json!({"merged": other}), &now)?;
            must_customer(t, keep)
        })
        .await
    }

    async fn transfer_customers(
        &self,
        ids: &[i64],
        to_user: i64,
        reason: &str,
        actor: &User,
    ) -> Result<u64> {
        let (ids, reason, actor) = (ids.to_vec(), reason.to_string(), actor.id);
        self.tx(move |t| {
            let team = owner_team(t, Some(to_user))?;
            let now = ts(Utc::now());
            let mut n = 0;
            for id in &ids {
                let from: Option<i64> = t
                    .query_row(
                        "SELECT owner_id FROM customers WHERE id = ?1 AND deleted_at IS NULL",
                        [id],
                        |r| r.get(0),
                    )
                    .map_err(sq)?;
                if from == Some(to_user) {
                    continue;
                }
                hand_to(
                    t,
                    *id,
                    (from, to_user),
                    team,
                    ("transfer", Some(&reason)),
                    actor,
                    &now,
                )?;
                n += 1;
            }
            audit_row(
                t,
                Some(actor),
                "transfer",
                "customer",
                None,
                &serde_json::json!({"ids": ids, "to": to_user, "reason": reason}),
                &now,
            )?;
            Ok(n)
        })
        .await
    }

    async fn release_customers(&self, ids: &[i64], reason: &str, actor: &User) -> Result<Vec<i64>> {
        let (ids, reason, actor) = (ids.to_vec(), reason.to_string(), actor.id);
        self.tx(move |t| {
            let now = ts(Utc::now());
            let mut released = vec![];
            for id in ids {
                let owner: Option<Option<i64>> = t
                    .query_row(
                        "SELECT owner_id FROM customers WHERE id = ?1 AND deleted_at IS NULL",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sq)?;
                let Some(Some(owner)) = owner else { continue };
                if released.contains(&id) {
                    continue;
                }
                release_one(t, id, owner, Some(&reason), actor, &now)?;
                released.push(id);
            }
            if !released.is_empty() {
                audit_row(
                    t,
                    Some(actor),
                    "release",
                    "customer",
                    None,
                    &serde_json::json!({"ids": released, "reason": reason}),
                    &now,
                )?;
            }
            Ok(released)
        })
        .await
    }

    async fn customer_facets(&self, visibility: &Visibility) -> Result<CustomerFacets> {
        let f = CustomerFilter {
            visibility: visibility.clone(),
            ..Default::default()
        };
        self.read(move |c| {
            let mut w = vec![];
            let mut p: Vec<SqlValue> = vec![];
            crate::customers::scope_conditions(&f, &mut w, &mut p);
            let scope = w.join(" AND ");
            let mut st = c
                .prepare_cached(&crate::customers::provinces_sql(&scope))
                .map_err(sq)?;
            let provinces = rows_of(&mut st, params_from_iter(p.iter()), |r| r.get(0))?;
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT DISTINCT tags FROM customers INDEXED BY customers_tagged WHERE {scope} AND tags <> ''"
                ))
                .map_err(sq)?;
            let tags = rows_of(&mut st, params_from_iter(p.iter()), |r| {
                r.get::<_, String>(0)
            })?;
            Ok(crate::customers::facets(provinces, tags))
        })
        .await
    }

    async fn release_stale(
        &self,
        rules: &PoolRules,
        now: DateTime<Utc>,
        actor: &User,
    ) -> Result<Vec<i64>> {
        let (rules, actor) = (rules.clone(), actor.id);
        self.tx(move |t| {
            let mut st = t
                .prepare("SELECT id, owner_id, class, coalesce(max(last_follow_up_at, owned_since), owned_since, created_at) FROM customers WHERE owner_id IS NOT NULL AND deleted_at IS NULL")
                .map_err(sq)?;
            let rows = rows_of(&mut st, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?)))?;
            let stamp = ts(now);
            let mut released = vec![];
            for (id, owner, class, last) in rows {
                let last = parse_ts(&last).map_err(sq)?;
                if last < rules.cutoff(class.as_deref(), now) {
                    release_one(t, id, owner, None, actor, &stamp)?;
                    released.push(id);
                }
            }
            if !released.is_empty() {
                audit_row(t, Some(actor), "release", "customer", None, &serde_json::json!({"ids": released}), &stamp)?;
            }
            Ok(released)
        })
        .await
    }

    async fn claim(&self, customer_id: i64, user: &User, max_owned: i64) -> Result<Customer> {
        let (uid, team) = (user.id, user.team_id);
        self.tx(move |t| {
            let owner: Option<i64> = t
                .query_row(
                    "SELECT owner_id FROM customers WHERE id = ?1 AND deleted_at IS NULL",
                    [customer_id],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            if owner.is_some() {
                return Err(refuse::not_in_pool());
            }
            let owned: i64 = t
                .query_row(
                    "SELECT count(*) FROM customers WHERE owner_id = ?1 AND deleted_at IS NULL",
                    [uid],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            if owned >= max_owned {
                return Err(refuse::pool_limit(owned, max_owned));
            }
            let now = ts(Utc::now());
            hand_to(
                t,
                customer_id,
                (None, uid),
                team,
                ("claim", None),
                uid,
                &now,
            )?;
            audit_row(
                t,
                Some(uid),
                "claim",
                "customer",
                Some(customer_id),
                &serde_json::Value::Null,
                &now,
            )?;
            must_customer(t, customer_id)
        })
        .await
    }

    async fn ownership_log(&self, customer_id: i64) -> Result<Vec<OwnershipEvent>> {
        self.read(move |c| {
            let mut st = c
                .prepare("SELECT id, customer_id, at, from_user, to_user, reason, actor_id, note FROM ownership_log WHERE customer_id = ?1 ORDER BY id")
                .map_err(sq)?;
            let v = rows_of(&mut st, [customer_id], |r| {
                    Ok(OwnershipEvent {
                        id: r.get(0)?,
                        customer_id: r.get(1)?,
                        at: parse_ts(&r.get::<_, String>(2)?)?,
                        from_user: r.get(3)?,
                        to_user: r.get(4)?,
                        reason: r.get(5)?,
                        actor_id: r.get(6)?,
                        note: r.get(7)?,
                    })
                })?;
            Ok(v)
        })
        .await
    }

    async fn create_contact(
        &self,
        customer_id: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        let (input, actor) = (input.clone(), actor.id);
        self.tx(move |t| {
            let live: Option<Option<String>> = t
                .query_row(
                    "SELECT deleted_at FROM customers WHERE id = ?1",
                    [customer_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sq)?;
            if !matches!(live, Some(None)) {
                return Err(StoreError::NotFound);
            }
            let now = ts(Utc::now());
            let id = insert_contact(t, customer_id, &input, &now)?;
            audit_row(
                t,
                Some(actor),
                "create",
                "contact",
                Some(id),
                &serde_json::json!({"customer_id": customer_id}),
                &now,
            )?;
            get_contact(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        self.read(move |c| get_contact(c, id)).await
    }

    async fn contacts(&self, customer_id: i64) -> Result<Vec<Contact>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!("SELECT {CONTACT_COLS} FROM contacts WHERE customer_id = ?1 AND deleted_at IS NULL ORDER BY id"))
                .map_err(sq)?;
            let rows = rows_of(&mut st, [customer_id], contact_row)?;
            rows.into_iter().map(finish_contact).collect()
        })
        .await
    }

    async fn update_contact(
        &self,
        id: i64,
        expected_version: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        let (input, actor) = (input.clone(), actor.id);
        self.tx(move |t| {
            let current: i64 = t
                .query_row("SELECT version FROM contacts WHERE id = ?1 AND deleted_at IS NULL", [id], |r| r.get(0))
                .map_err(sq)?;
            check_version(expected_version, current)?;
            let old = get_contact(t, id)?.ok_or(StoreError::NotFound)?;
            let now = ts(Utc::now());
            let c = contact_doc(0, &input);
            t.execute(
                "UPDATE contacts SET version = version + 1, name = ?2, mobile_rev = ?3, birthday_key = ?4, doc = ?5 WHERE id = ?1",
                params![id, c.name, c.mobile_rev, c.birthday_key, c.doc],
            )
            .map_err(sq)?;
            let changes = keqing_domain::history::diff(&old.fields.to_json(), &input.to_json());
            audit_row(t, Some(actor), "update", "contact", Some(id), &changed_fields(&changes), &now)?;
            get_contact(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn delete_contact(&self, id: i64, actor: &User) -> Result<()> {
        let actor = actor.id;
        self.tx(move |t| {
            let now = ts(Utc::now());
            let n = t
                .execute("UPDATE contacts SET deleted_at = ?2, version = version + 1 WHERE id = ?1 AND deleted_at IS NULL", params![id, now])
                .map_err(sq)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            audit_row(t, Some(actor), "delete", "contact", Some(id), &serde_json::Value::Null, &now)
        })
        .await
    }

    async fn report_change(
        &self,
        customer_id: i64,
        note: &str,
        reported_on: NaiveDate,
        actor: &User,
    ) -> Result<ChangeReport> {
        let (note, actor) = (note.to_string(), actor.id);
        self.tx(move |t| {
            must_customer(t, customer_id)?;
            let due = keqing_domain::archive::change_due(reported_on);
            t.execute(
                "INSERT INTO change_reports (customer_id, note, reported_on, due_on, reported_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![customer_id, note, reported_on.to_string(), due.to_string(), actor],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            Ok(ChangeReport { id, customer_id, note, reported_on, due_on: due, registered_on: None, reported_by: Some(actor) })
        })
        .await
    }

    async fn register_change(&self, id: i64, on: NaiveDate, actor: &User) -> Result<ChangeReport> {
        let actor = actor.id;
        self.tx(move |t| {
            let n = t
                .execute("UPDATE change_reports SET registered_on = ?2 WHERE id = ?1 AND registered_on IS NULL", params![id, on.to_string()])
                .map_err(sq)?;
            if n == 1 {
                audit_row(t, Some(actor), "register_change", "change_report", Some(id), &serde_json::Value::Null, &ts(Utc::now()))?;
            }
            change_report(t, id)
        })
        .await
    }

    async fn open_changes(&self, owner_id: Option<i64>) -> Result<Vec<ChangeReport>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT r.id FROM change_reports r JOIN customers c ON c.id = r.customer_id
                     WHERE r.registered_on IS NULL AND c.deleted_at IS NULL AND (?1 IS NULL OR c.owner_id = ?1) ORDER BY r.due_on, r.id",
                )
                .map_err(sq)?;
            let ids = rows_of(&mut st, [owner_id], |r| r.get::<_, i64>(0))?;
            ids.into_iter().map(|id| change_report(c, id)).collect()
        })
        .await
    }
}

fn dup_ids(c: &Connection, input: &CustomerInput, except: Option<i64>) -> Result<Vec<i64>> {
    let idx = CustomerIndex::of(input);
    // Two lookups, each on its own (partial, unique) index: one query with OR
    // would scan the table for every imported row.
    let mut ids = vec![];
    for (sql, key) in [
        (
            "SELECT id FROM customers WHERE external_code = ?1 AND deleted_at IS NULL",
            &idx.external_code,
        ),
        (
            "SELECT id FROM customers WHERE dedup_key = ?1 AND deleted_at IS NULL",
            &idx.dedup_key,
        ),
    ] {
        if let Some(k) = key {
            let mut st = c.prepare_cached(sql).map_err(sq)?;
            for id in st.query_map([k], |r| r.get::<_, i64>(0)).map_err(sq)? {
                ids.push(id.map_err(sq)?);
            }
        }
    }
    Ok(distinct_dups(ids, except))
}

fn insert_customer(
    t: &Connection,
    input: &CustomerInput,
    owner: Option<i64>,
    actor: Option<i64>,
    now: &str,
) -> Result<i64> {
    refuse_duplicates(dup_ids(t, input, None)?)?;
    let team = owner_team(t, owner)?;
    let idx = CustomerIndex::of(input);
    let inserted = CustomerInsert::new(t, owner, team, now)?.insert(&idx)?;
    let Some(id) = inserted else {
        return Err(StoreError::Duplicate(dup_ids(t, input, None)?));
    };
    insert_search_keys(t, id, &idx.search_tokens())?;
    log_owner(t, id, None, owner, "create", actor, now)?;
    Ok(id)
}

fn insert_contact(
    t: &Connection,
    customer_id: i64,
    input: &ContactInput,
    now: &str,
) -> Result<i64> {
    insert_contact_doc(t, customer_id, &contact_doc(0, input), now)
}

fn insert_contact_doc(t: &Connection, customer_id: i64, c: &ContactDoc, now: &str) -> Result<i64> {
    ContactInsert::new(t, now)?.insert(customer_id, c)
}

const CONTACT_COLS: &str = "id, customer_id, version, doc, created_at, deleted_at";

fn contact_row(r: &Row) -> rusqlite::Result<(i64, i64, i64, String, String, Option<String>)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn finish_contact(t: (i64, i64, i64, String, String, Option<String>)) -> Result<Contact> {
    let doc = json_col(&t.3).map_err(sq)?;
    Ok(Contact {
        id: t.0,
        customer_id: t.1,
        version: t.2,
        fields: contact_input(&doc)?,
        created_at: parse_ts(&t.4).map_err(sq)?,
        deleted_at: opt_ts(t.5).map_err(sq)?,
    })
}

fn get_contact(c: &Connection, id: i64) -> Result<Option<Contact>> {
    c.query_row(
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = ?1"),
        [id],
        contact_row,
    )
    .optional()
    .map_err(sq)?
    .map(finish_contact)
    .transpose()
}

/// How many customers in scope a [`SearchPart::scan`] reads at most before
/// it leaves the part to the FTS index.
const SCAN_ROWS: i64 = 20_000;

/// The matches of one part of a search, in id order: found by a short scan,
/// or as the FTS index gives them.
enum Stream<'a> {
    Found(std::vec::IntoIter<(i64, SqlValue)>),
    Rows(rusqlite::Rows<'a>),
}

impl Stream<'_> {
    /// The next match: its id and sort key.
    fn next(&mut self) -> Result<Option<(i64, SqlValue)>> {
        match self {
            Stream::Found(rows) => Ok(rows.next()),
            Stream::Rows(rows) => match rows.next().map_err(sq)? {
                Some(r) => Ok(Some((r.get(0).map_err(sq)?, r.get(1).map_err(sq)?))),
                None => Ok(None),
            },
        }
    }
}

/// One page of a name search. The FTS index drives: the matches of each of
/// the search's parts come in id order, each is scoped (and, where the
/// part's tokens are not exact, checked) on a covering index —
/// `customers_rank` where that holds every column read, `customers_scope`
/// otherwise — and the parts are merged in id order, each customer once.
/// The scan stops after [`SEARCH_COUNT_CAP`] matches (or the end of the page asked
/// for, if further): a query of one or two letters matching half the
/// customers costs no more than one matching a thousand. Up to the cap the
/// count is exact and the order is over all matches (shorter names first,
/// or by name); past it the page says `capped`, and the matches of every
/// page of such a search are in id order, the order the index gives them
/// in, so that paging on (an export) neither repeats nor skips one. Only the page's rows are read from the
/// table.
fn search_page(
    c: &Connection,
    f: &CustomerFilter,
    w: &CustomerWhere,
    limit: i64,
) -> Result<Page<Customer>> {
    let by_name = f.sort == CustomerSort::NameAsc;
    let key = if by_name {
        "customers.name"
    } else {
        "length(customers.name)"
    };
    let offset = f.offset.max(0);
    let cap = SEARCH_COUNT_CAP.max(offset + limit);
    // The other conditions, after the search's (`AND …`) or alone (`WHERE …`).
    let (rest, scope) = match w.rest.as_str() {
        "" => (String::new(), String::new()),
        r => (format!("AND {r}"), format!("WHERE {r}")),
    };
    // The parts a short scan answers, then a statement for each of the others.
    let mut found: Vec<Option<Vec<(i64, SqlValue)>>> = vec![];
    for part in &w.search {
        // Not where a condition reads the table: 20,000 rows read for it.
        let Some(test) = part.scan.as_ref().filter(|_| w.rest_narrow) else {
            found.push(None);
            continue;
        };
        let first = c
            .prepare_cached(&format!(
                "SELECT id, k FROM (
                   SELECT customers.id AS id, {key} AS k, customers.pinyin AS pinyin,
                     customers.initials AS initials, customers.name AS name
                   FROM customers INDEXED BY customers_scope {scope}
                   ORDER BY customers.id LIMIT {SCAN_ROWS})
                 WHERE {}
                 ORDER BY id LIMIT {}",
                test.sql(&format!("?{}", w.rest_params + 1)),
                cap + 1
            ))
            .map_err(sq)?
            .query_map(
                params_from_iter(w.params[..w.rest_params].iter().chain([&test.value])),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sq)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sq)?;
        // Fewer: the rest of them are further on, which the index finds.
        found.push((first.len() as i64 > cap).then_some(first));
    }
    let mut statements = vec![];
    let mut values = vec![];
    for (part, _) in w.search.iter().zip(&found).filter(|(_, f)| f.is_none()) {
        // The narrow index holds the length of the name, not the name.
        let index = if part.check.is_none() && w.rest_narrow && !by_name {
            "customers_rank"
        } else {
            "customers_scope"
        };
        let (fts, check, own) = part.sql(w.rest_params + 1);
        let check = check.map(|c| format!("AND {c}")).unwrap_or_default();
        statements.push(
            c.prepare_cached(&format!(
                "SELECT customers.id, {key}
                 FROM customer_search CROSS JOIN customers INDEXED BY {index}
                   ON customers.id = customer_search.rowid
                 WHERE {fts} {check} {rest}
                 ORDER BY customer_search.rowid
                 LIMIT {}",
                cap + 1
            ))
            .map_err(sq)?,
        );
        values.push(own);
    }
    let mut queried = statements
        .iter_mut()
        .zip(&values)
        .map(|(st, own)| {
            st.query(params_from_iter(
                w.params[..w.rest_params].iter().chain(own),
            ))
            .map_err(sq)
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    let mut streams: Vec<Stream> = found
        .into_iter()
        .map(|f| match f {
            Some(rows) => Some(Stream::Found(rows.into_iter())),
            None => queried.next().map(Stream::Rows),
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| StoreError::Db("a search part without its statement".into()))?;
    let mut heads = streams
        .iter_mut()
        .map(Stream::next)
        .collect::<Result<Vec<_>>>()?;
    let mut hits: Vec<(SqlValue, i64)> = vec![];
    while (hits.len() as i64) <= cap {
        let Some(id) = heads.iter().flatten().map(|h| h.0).min() else {
            break;
        };
        let mut key = None;
        for (head, rows) in heads.iter_mut().zip(streams.iter_mut()) {
            if head.as_ref().is_some_and(|h| h.0 == id) {
                key = head.take().map(|h| h.1);
                *head = rows.next()?;
            }
        }
        hits.push((key.unwrap_or(SqlValue::Null), id));
    }
    drop(streams);
    let capped = hits.len() as i64 > cap;
    hits.truncate(cap as usize);
    // SQLite orders text by its bytes and integers as numbers: so do these.
    // Past the cap (here or on an earlier page), they stay in the index's id order.
    let broad = hits.len() as i64 > SEARCH_COUNT_CAP;
    hits.sort_by(|a, b| {
        if broad {
            return a.1.cmp(&b.1);
        }
        let k = match (&a.0, &b.0) {
            (SqlValue::Integer(x), SqlValue::Integer(y)) => x.cmp(y),
            (SqlValue::Text(x), SqlValue::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            _ => std::cmp::Ordering::Equal,
        };
        k.then(a.1.cmp(&b.1))
    });
    let ids: Vec<i64> = hits
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|h| h.1)
        .collect();
    let mut items = Vec::with_capacity(ids.len());
    let mut one = c
        .prepare_cached(&format!(
            "SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1"
        ))
        .map_err(sq)?;
    for id in ids {
        items.push(one.query_row([id], customer_row).map_err(sq)?);
    }
    Ok(Page {
        capped: capped && !f.skip_total,
        items,
        total: if f.skip_total { -1 } else { hits.len() as i64 },
        offset,
        limit,
    })
}

/// Hands a customer from `from` to `to` (of `team`) on `actor`'s word: the
/// row, the ownership log (why: the kind of change, and the actor's words)
/// and the history.
fn hand_to(
    t: &Connection,
    id: i64,
    (from, to): (Option<i64>, i64),
    team: Option<i64>,
    (reason, note): (&str, Option<&str>),
    actor: i64,
    now: &str,
) -> Result<()> {
    t.execute(
        "UPDATE customers SET owner_id = ?2, team_id = ?3, owned_since = ?4, version = version + 1, updated_at = ?4 WHERE id = ?1",
        params![id, to, team, now],
    )
    .map_err(sq)?;
    log_owner_note(t, id, (from, Some(to)), reason, note, Some(actor), now)?;
    history_insert(t, id, Some(actor), &one_change("owner_id", from, to), now)
}

fn history_insert(
    t: &Connection,
    customer: i64,
    user: Option<i64>,
    changes: &[FieldChange],
    now: &str,
) -> Result<()> {
    let mut st = t
        .prepare_cached(
            "INSERT INTO customer_history (customer_id, at, user_id, field, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(sq)?;
    for ch in changes {
        st.execute(params![
            customer,
            now,
            user,
            ch.field,
            ch.old.to_string(),
            ch.new.to_string()
        ])
        .map_err(sq)?;
    }
    Ok(())
}

fn write_customer_doc(t: &Connection, id: i64, input: &CustomerInput, now: &str) -> Result<()> {
    let idx = CustomerIndex::of(input);
    t.prepare_cached(
        "UPDATE customers SET version = version + 1, name = ?2, pinyin = ?3, initials = ?4, phone_rev = ?5,
            province = ?6, class = ?7, tier = ?8, stage = ?9, tags = ?10, external_code = ?11, dedup_key = ?12,
            doc = ?13, updated_at = ?14 WHERE id = ?1",
    )
    .map_err(sq)?
    .execute(params![
        id,
        idx.name,
        idx.pinyin,
        idx.initials,
        idx.phone_rev,
        idx.province,
        idx.class,
        idx.tier,
        idx.stage,
        idx.tags,
        idx.external_code,
        idx.dedup_key,
        idx.doc,
        now
    ])
    .map_err(sq)?;
    t.prepare_cached("DELETE FROM customer_search WHERE rowid = ?1")
        .map_err(sq)?
        .execute([id])
        .map_err(sq)?;
    insert_search_keys(t, id, &idx.search_tokens())?;
    Ok(())
}

fn map_unique(
    e: StoreError,
    t: &Connection,
    input: &CustomerInput,
    except: Option<i64>,
) -> StoreError {
    match &e {
        StoreError::Db(m) if m.contains("UNIQUE") => match dup_ids(t, input, except) {
            Ok(ids) if !ids.is_empty() => StoreError::Duplicate(ids),
            _ => e,
        },
        _ => e,
    }
}

fn change_report(c: &Connection, id: i64) -> Result<ChangeReport> {
    c.query_row(
        "SELECT id, customer_id, note, reported_on, due_on, registered_on, reported_by FROM change_reports WHERE id = ?1",
        [id],
        |r| {
            Ok(ChangeReport {
                id: r.get(0)?,
                customer_id: r.get(1)?,
                note: r.get(2)?,
                reported_on: parse_date(&r.get::<_, String>(3)?)?,
                due_on: parse_date(&r.get::<_, String>(4)?)?,
                registered_on: r.get::<_, Option<String>>(5)?.map(|s| parse_date(&s)).transpose()?,
                reported_by: r.get(6)?,
            })
        },
    )
    .map_err(sq)
}

/// Puts customer `id`, owned by `owner`, back in the pool: the row, the
/// ownership log (with why, when said by hand) and the history.
fn release_one(
    t: &Connection,
    id: i64,
    owner: i64,
    note: Option<&str>,
    actor: i64,
    now: &str,
) -> Result<()> {
    t.execute(
        "UPDATE customers SET owner_id = NULL, team_id = NULL, owned_since = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )
    .map_err(sq)?;
    log_owner_note(
        t,
        id,
        (Some(owner), None),
        "release",
        note,
        Some(actor),
        now,
    )?;
    history_insert(
        t,
        id,
        Some(actor),
        &one_change("owner_id", owner, serde_json::Value::Null),
        now,
    )
}
