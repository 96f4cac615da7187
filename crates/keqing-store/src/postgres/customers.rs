//! Customers, their contacts, history, the pool and the 15-day change deadline (SPEC §1).

use super::*;
use crate::customers::{
    changed_fields, check_version, distinct_dups, one_change, refuse_duplicates, MERGE_MOVES,
};

#[async_trait]
impl CustomerStore for PgStore {
    async fn find_duplicates(&self, input: &CustomerInput) -> Result<Vec<i64>> {
        let c = self.client().await?;
        dup_ids(&c, input, None).await
    }

    async fn create_customer(
        &self,
        input: &CustomerInput,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<Customer> {
        let r = in_tx!(self, |t| {
            let now = Utc::now();
            let id = insert_customer(&t, input, owner_id, Some(actor.id), now).await?;
            audit_row(
                &t,
                Some(actor.id),
                "create",
                "customer",
                Some(id),
                &serde_json::json!({"name": input.name}),
                now,
            )
            .await?;
            must_customer(&t, id).await
        });
        match r {
            Err(e) => Err(self.duplicate_or(e, input, None).await),
            ok => ok,
        }
    }

    async fn customer(&self, id: i64) -> Result<Option<Customer>> {
        let c = self.client().await?;
        get_customer(&c, id).await
    }

    async fn customers_by_ids(&self, ids: &[i64]) -> Result<Vec<Customer>> {
        let c = self.client().await?;
        let ids = ids.to_vec();
        let rows = query(
            &c,
            &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = ANY($1)"),
            &[&ids],
        )
        .await?;
        let mut found = std::collections::HashMap::new();
        for r in &rows {
            let c = customer_row(r)?;
            found.insert(c.id, c);
        }
        // In the order asked for, as SQLite answers.
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    async fn update_customer(
        &self,
        id: i64,
        expected_version: i64,
        input: &CustomerInput,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Customer> {
        let r = in_tx!(self, |t| {
            // The row lock makes the version check and the write one step:
            // a concurrent editor waits here, then sees the new version.
            let row = query_one(
                &t,
                "SELECT version FROM customers WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
                &[&id],
            )
            .await?;
            check_version(expected_version, get(&row, 0)?)?;
            refuse_duplicates(dup_ids(&t, input, Some(id)).await?)?;
            let now = Utc::now();
            write_customer_doc(&t, id, input, now).await?;
            history_insert(&t, id, Some(actor.id), changes, now).await?;
            audit_row(
                &t,
                Some(actor.id),
                "update",
                "customer",
                Some(id),
                &changed_fields(changes),
                now,
            )
            .await?;
            must_customer(&t, id).await
        });
        match r {
            Err(e) => Err(self.duplicate_or(e, input, Some(id)).await),
            ok => ok,
        }
    }

    async fn delete_customer(&self, id: i64, actor: &User) -> Result<()> {
        in_tx!(self, |t| {
            let now = Utc::now();
            let n = execute(
                &t,
                "UPDATE customers SET deleted_at = $2, version = version + 1, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                &[&id, &now],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            history_insert(
                &t,
                id,
                Some(actor.id),
                &one_change("deleted", false, true),
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "delete",
                "customer",
                Some(id),
                &serde_json::Value::Null,
                now,
            )
            .await
        })
    }

    async fn restore_customer(&self, id: i64, actor: &User) -> Result<Customer> {
        let mut fields = None;
        let r = in_tx!(self, |t| {
            lock_customers(&t, &[id]).await?;
            let c = must_customer(&t, id).await?;
            if c.deleted_at.is_none() {
                return Ok(c);
            }
            let dups = dup_ids(&t, &c.fields, Some(id)).await?;
            fields = Some(c.fields);
            refuse_duplicates(dups)?;
            let now = Utc::now();
            execute(
                &t,
                "UPDATE customers SET deleted_at = NULL, merged_into = NULL, version = version + 1, updated_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
            history_insert(
                &t,
                id,
                Some(actor.id),
                &one_change("deleted", true, false),
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "restore",
                "customer",
                Some(id),
                &serde_json::Value::Null,
                now,
            )
            .await?;
            must_customer(&t, id).await
        });
        match (r, fields) {
            (Err(e), Some(f)) => Err(self.duplicate_or(e, &f, Some(id)).await),
            (r, _) => r,
        }
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Page<Customer>> {
        let mut client = self.client().await?;
        // The count and the page from one snapshot, so they agree.
        let c = snapshot(&mut client).await?;
        let (w, mut p) = customer_where(f);
        let limit = f.limit.clamp(1, 1000);
        let (total, capped) = if f.skip_total {
            (-1, false)
        } else {
            let n = list_count_limit(f.offset, limit);
            let row = c
                .query_one(
                    format!("SELECT count(*) FROM (SELECT 1 FROM customers {w} LIMIT {n}) AS x")
                        .as_str(),
                    &p.refs(),
                )
                .await
                .map_err(pg)?;
            capped_total(get(&row, 0)?, n)
        };
        let order = match (&f.query, f.sort) {
            (Some(NameQuery::Pinyin(_)), CustomerSort::IdAsc) => "length(initials), id",
            (Some(NameQuery::Text(_)), CustomerSort::IdAsc) => "length(name), id",
            (_, CustomerSort::IdAsc) => "id",
            (_, CustomerSort::NameAsc) => "name, id",
            (_, CustomerSort::UpdatedDesc) => "updated_at DESC, id",
            (_, CustomerSort::LastFollowUpAsc) => {
                "last_follow_up_at IS NOT NULL, last_follow_up_at, id"
            }
            (_, CustomerSort::LastPurchaseAsc) => {
                "(SELECT max(ordered_at) FROM orders WHERE orders.customer_id = customers.id) NULLS LAST, id"
            }
            (_, CustomerSort::PAliveAsc) => "p_alive IS NULL, p_alive, id",
        };
        let offset = f.offset.max(0);
        let l = p.push(limit);
        let o = p.push(offset);
        let rows = c
            .query(
                format!(
                    "SELECT {CUSTOMER_COLS} FROM customers {w} ORDER BY {order} LIMIT {l} OFFSET {o}"
                )
                .as_str(),
                &p.refs(),
            )
            .await
            .map_err(pg)?;
        let items = rows.iter().map(customer_row).collect::<Result<Vec<_>>>()?;
        c.commit().await.map_err(pg)?;
        Ok(Page {
            capped,
            items,
            total,
            offset,
            limit,
        })
    }

    async fn history(&self, customer_id: i64) -> Result<Vec<HistoryEntry>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, at, user_id, field, old, new FROM customer_history WHERE customer_id = $1 ORDER BY id",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                id: get(r, 0)?,
                customer_id: get(r, 1)?,
                at: get(r, 2)?,
                user_id: get(r, 3)?,
                field: get(r, 4)?,
                old: get(r, 5)?,
                new: get(r, 6)?,
            })
        })
        .collect()
    }

    async fn merge_customers(&self, keep: i64, other: i64, actor: &User) -> Result<Customer> {
        if keep == other {
            return Err(refuse::merge_into_itself());
        }
        in_tx!(self, |t| {
            lock_customers(&t, &[keep, other]).await?;
            let k = must_customer(&t, keep).await?;
            let o = must_customer(&t, other).await?;
            if k.deleted_at.is_some() || o.deleted_at.is_some() {
                return Err(refuse::merge_live_only());
            }
            let now = Utc::now();
            for table in MERGE_MOVES {
                execute(
                    &t,
                    &format!("UPDATE {table} SET customer_id = $1 WHERE customer_id = $2"),
                    &[&keep, &other],
                )
                .await?;
            }
            execute(
                &t,
                "UPDATE customers SET deleted_at = $3, merged_into = $1, version = version + 1, updated_at = $3 WHERE id = $2",
                &[&keep, &other, &now],
            )
            .await?;
            execute(
                &t,
                "UPDATE customers SET version = version + 1, updated_at = $2 WHERE id = $1",
                &[&keep, &now],
            )
            .await?;
            history_insert(
                &t,
                keep,
                Some(actor.id),
                &one_change(
                    "merged",
                    serde_json::Value::Null,
                    serde_json::json!({"id": other, "name": o.fields.name}),
                ),
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "merge",
                "customer",
                Some(keep),
                &serde_json::json!({"merged": other}),
                now,
            )
            .await?;
            must_customer(&t, keep).await
        })
    }

    async fn transfer_customers(
        &self,
        ids: &[i64],
        to_user: i64,
        reason: &str,
        actor: &User,
    ) -> Result<u64> {
        in_tx!(self, |t| {
            let team = owner_team(&t, Some(to_user)).await?;
            lock_customers(&t, ids).await?;
            let now = Utc::now();
            let mut n = 0;
            for id in ids {
                let row = query_one(
                    &t,
                    "SELECT owner_id FROM customers WHERE id = $1 AND deleted_at IS NULL",
                    &[id],
                )
                .await?;
                let from: Option<i64> = get(&row, 0)?;
                if from == Some(to_user) {
                    continue;
                }
                hand_to(
                    &t,
                    *id,
                    (from, to_user),
                    team,
                    ("transfer", Some(reason)),
                    actor.id,
                    now,
                )
                .await?;
                n += 1;
            }
            audit_row(
                &t,
                Some(actor.id),
                "transfer",
                "customer",
                None,
                &serde_json::json!({"ids": ids, "to": to_user, "reason": reason}),
                now,
            )
            .await?;
            Ok(n)
        })
    }

    async fn release_customers(&self, ids: &[i64], reason: &str, actor: &User) -> Result<Vec<i64>> {
        in_tx!(self, |t| {
            lock_customers(&t, ids).await?;
            let now = Utc::now();
            let mut released = vec![];
            for &id in ids {
                let row = query_opt(
                    &t,
                    "SELECT owner_id FROM customers WHERE id = $1 AND deleted_at IS NULL",
                    &[&id],
                )
                .await?;
                let owner: Option<i64> = match row {
                    Some(r) => get(&r, 0)?,
                    None => None,
                };
                let Some(owner) = owner else { continue };
                if released.contains(&id) {
                    continue;
                }
                release_one(&t, id, owner, Some(reason), actor.id, now).await?;
                released.push(id);
            }
            if !released.is_empty() {
                audit_row(
                    &t,
                    Some(actor.id),
                    "release",
                    "customer",
                    None,
                    &serde_json::json!({"ids": released, "reason": reason}),
                    now,
                )
                .await?;
            }
            Ok(released)
        })
    }

    async fn customer_facets(&self, visibility: &Visibility) -> Result<CustomerFacets> {
        let f = CustomerFilter {
            visibility: visibility.clone(),
            ..Default::default()
        };
        let mut w = vec![];
        let mut p = Params::default();
        crate::customers::scope_conditions(&f, &mut w, &mut p);
        let scope = w.join(" AND ");
        let mut client = self.client().await?;
        let c = snapshot(&mut client).await?;
        let provinces = c
            .query(crate::customers::provinces_sql(&scope).as_str(), &p.refs())
            .await
            .map_err(pg)?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<Vec<String>>>()?;
        let tags = c
            .query(
                format!("SELECT DISTINCT tags FROM customers WHERE {scope} AND tags <> ''")
                    .as_str(),
                &p.refs(),
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<Vec<String>>>()?;
        c.commit().await.map_err(pg)?;
        Ok(crate::customers::facets(provinces, tags))
    }

    async fn release_stale(
        &self,
        rules: &PoolRules,
        now: DateTime<Utc>,
        actor: &User,
    ) -> Result<Vec<i64>> {
        in_tx!(self, |t| {
            // SQLite's max(a, b) is NULL when either is; GREATEST would skip it.
            let rows = query(
                &t,
                "SELECT id, owner_id, class,
                    coalesce(CASE WHEN last_follow_up_at IS NULL OR owned_since IS NULL THEN NULL
                                  ELSE GREATEST(last_follow_up_at, owned_since) END,
                             owned_since, created_at)
                 FROM customers WHERE owner_id IS NOT NULL AND deleted_at IS NULL
                 ORDER BY id FOR UPDATE",
                &[],
            )
            .await?;
            let mut released = vec![];
            for r in &rows {
                let (id, owner, class, last): (i64, i64, Option<String>, DateTime<Utc>) =
                    (get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?);
                if last < rules.cutoff(class.as_deref(), now) {
                    release_one(&t, id, owner, None, actor.id, now).await?;
                    released.push(id);
                }
            }
            if !released.is_empty() {
                audit_row(
                    &t,
                    Some(actor.id),
                    "release",
                    "customer",
                    None,
                    &serde_json::json!({"ids": released}),
                    now,
                )
                .await?;
            }
            Ok(released)
        })
    }

    async fn claim(&self, customer_id: i64, user: &User, max_owned: i64) -> Result<Customer> {
        let (uid, team) = (user.id, user.team_id);
        in_tx!(self, |t| {
            let row = query_one(
                &t,
                "SELECT owner_id FROM customers WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
                &[&customer_id],
            )
            .await?;
            let owner: Option<i64> = get(&row, 0)?;
            if owner.is_some() {
                return Err(refuse::not_in_pool());
            }
            // One claim per user at a time, so two claims cannot both pass
            // the limit (the count below runs after the other committed).
            query_one(
                &t,
                "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
                &[&uid],
            )
            .await?;
            let row = query_one(
                &t,
                "SELECT count(*) FROM customers WHERE owner_id = $1 AND deleted_at IS NULL",
                &[&uid],
            )
            .await?;
            let owned: i64 = get(&row, 0)?;
            if owned >= max_owned {
                return Err(refuse::pool_limit(owned, max_owned));
            }
            let now = Utc::now();
            hand_to(
                &t,
                customer_id,
                (None, uid),
                team,
                ("claim", None),
                uid,
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(uid),
                "claim",
                "customer",
                Some(customer_id),
                &serde_json::Value::Null,
                now,
            )
            .await?;
            must_customer(&t, customer_id).await
        })
    }

    async fn ownership_log(&self, customer_id: i64) -> Result<Vec<OwnershipEvent>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, at, from_user, to_user, reason, actor_id, note FROM ownership_log WHERE customer_id = $1 ORDER BY id",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(OwnershipEvent {
                id: get(r, 0)?,
                customer_id: get(r, 1)?,
                at: get(r, 2)?,
                from_user: get(r, 3)?,
                to_user: get(r, 4)?,
                reason: get(r, 5)?,
                actor_id: get(r, 6)?,
                note: get(r, 7)?,
            })
        })
        .collect()
    }

    async fn create_contact(
        &self,
        customer_id: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        in_tx!(self, |t| {
            // FOR SHARE: a concurrent delete of the customer waits for this contact.
            let live = query_opt(
                &t,
                "SELECT deleted_at IS NULL FROM customers WHERE id = $1 FOR SHARE",
                &[&customer_id],
            )
            .await?;
            match live {
                Some(r) if get::<bool>(&r, 0)? => {}
                _ => return Err(StoreError::NotFound),
            }
            let now = Utc::now();
            let id = insert_contact(&t, customer_id, input, now).await?;
            audit_row(
                &t,
                Some(actor.id),
                "create",
                "contact",
                Some(id),
                &serde_json::json!({"customer_id": customer_id}),
                now,
            )
            .await?;
            get_contact(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        let c = self.client().await?;
        get_contact(&c, id).await
    }

    async fn contacts(&self, customer_id: i64) -> Result<Vec<Contact>> {
        let c = self.client().await?;
        query(
            &c,
            &format!("SELECT {CONTACT_COLS} FROM contacts WHERE customer_id = $1 AND deleted_at IS NULL ORDER BY id"),
            &[&customer_id],
        )
        .await?
        .iter()
        .map(contact_row)
        .collect()
    }

    async fn update_contact(
        &self,
        id: i64,
        expected_version: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        in_tx!(self, |t| {
            let row = query_one(
                &t,
                "SELECT version FROM contacts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
                &[&id],
            )
            .await?;
            check_version(expected_version, get(&row, 0)?)?;
            let old = get_contact(&t, id).await?.ok_or(StoreError::NotFound)?;
            let changes = keqing_domain::history::diff(&old.fields.to_json(), &input.to_json());
            let now = Utc::now();
            let mobile_rev = input.mobile.as_ref().map(|m| rev(&m.digits()));
            let doc = crate::stored_contact_doc(input);
            execute(
                &t,
                "UPDATE contacts SET version = version + 1, name = $2, mobile_rev = $3, doc = $4::text::jsonb WHERE id = $1",
                &[&id, &input.name, &mobile_rev, &doc],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "update",
                "contact",
                Some(id),
                &changed_fields(&changes),
                now,
            )
            .await?;
            get_contact(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn delete_contact(&self, id: i64, actor: &User) -> Result<()> {
        in_tx!(self, |t| {
            let now = Utc::now();
            let n = execute(
                &t,
                "UPDATE contacts SET deleted_at = $2, version = version + 1 WHERE id = $1 AND deleted_at IS NULL",
                &[&id, &now],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            audit_row(
                &t,
                Some(actor.id),
                "delete",
                "contact",
                Some(id),
                &serde_json::Value::Null,
                now,
            )
            .await
        })
    }

    async fn report_change(
        &self,
        customer_id: i64,
        note: &str,
        reported_on: NaiveDate,
        actor: &User,
    ) -> Result<ChangeReport> {
        in_tx!(self, |t| {
            must_customer(&t, customer_id).await?;
            let due = keqing_domain::archive::change_due(reported_on);
            let row = query_one(
                &t,
                "INSERT INTO change_reports (customer_id, note, reported_on, due_on, reported_by) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&customer_id, &note, &reported_on, &due, &actor.id],
            )
            .await?;
            Ok(ChangeReport {
                id: get(&row, 0)?,
                customer_id,
                note: note.to_string(),
                reported_on,
                due_on: due,
                registered_on: None,
                reported_by: Some(actor.id),
            })
        })
    }

    async fn register_change(&self, id: i64, on: NaiveDate, actor: &User) -> Result<ChangeReport> {
        in_tx!(self, |t| {
            let n = execute(
                &t,
                "UPDATE change_reports SET registered_on = $2 WHERE id = $1 AND registered_on IS NULL",
                &[&id, &on],
            )
            .await?;
            if n == 1 {
                audit_row(
                    &t,
                    Some(actor.id),
                    "register_change",
                    "change_report",
                    Some(id),
                    &serde_json::Value::Null,
                    Utc::now(),
                )
                .await?;
            }
            change_report(&t, id).await
        })
    }

    async fn open_changes(&self, owner_id: Option<i64>) -> Result<Vec<ChangeReport>> {
        let c = self.client().await?;
        query(
            &c,
            &format!(
                "SELECT {CHANGE_COLS} FROM change_reports r JOIN customers c ON c.id = r.customer_id
                 WHERE r.registered_on IS NULL AND c.deleted_at IS NULL AND ($1::bigint IS NULL OR c.owner_id = $1)
                 ORDER BY r.due_on, r.id"
            ),
            &[&owner_id],
        )
        .await?
        .iter()
        .map(change_row)
        .collect()
    }
}

impl PgStore {
    /// After a unique violation on customers (a concurrent writer got there
    /// first): the ids it collided with, as SQLite's `map_unique` reports them.
    async fn duplicate_or(
        &self,
        e: StoreError,
        input: &CustomerInput,
        except: Option<i64>,
    ) -> StoreError {
        if !is_unique_violation(&e) {
            return e;
        }
        let ids = match self.client().await {
            Ok(c) => dup_ids(&c, input, except).await,
            Err(e) => Err(e),
        };
        match ids {
            Ok(ids) if !ids.is_empty() => StoreError::Duplicate(ids),
            _ => e,
        }
    }
}

async fn dup_ids<C: GenericClient>(
    c: &C,
    input: &CustomerInput,
    except: Option<i64>,
) -> Result<Vec<i64>> {
    let idx = CustomerIndex::of(input);
    // Two lookups, each on its own partial unique index (an OR would not use them).
    let mut ids: Vec<i64> = vec![];
    for (sql, key) in [
        (
            "SELECT id FROM customers WHERE external_code = $1 AND deleted_at IS NULL",
            &idx.external_code,
        ),
        (
            "SELECT id FROM customers WHERE dedup_key = $1 AND deleted_at IS NULL",
            &idx.dedup_key,
        ),
    ] {
        if let Some(k) = key {
            for r in query(c, sql, &[k]).await? {
                ids.push(get(&r, 0)?);
            }
        }
    }
    Ok(distinct_dups(ids, except))
}

async fn insert_customer<C: GenericClient>(
    t: &C,
    input: &CustomerInput,
    owner: Option<i64>,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    refuse_duplicates(dup_ids(t, input, None).await?)?;
    let team = owner_team(t, owner).await?;
    insert_customer_row(t, input, owner, team, actor, now).await
}

/// Inserts a customer checked for duplicates already, and logs its first owner.
async fn insert_customer_row<C: GenericClient>(
    t: &C,
    input: &CustomerInput,
    owner: Option<i64>,
    team: Option<i64>,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let idx = CustomerIndex::of(input);
    let row = query_one(
        t,
        &format!("INSERT INTO customers (version, name, pinyin, initials, phone_rev, province, class, tier, stage, tags,
            external_code, dedup_key, doc, owner_id, team_id, owned_since, created_at, updated_at, search)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, $13, $14, $15, $15, $15,
                 {search})
         RETURNING id",
            search = search_of("$16")
        ),
        &[
            &idx.name,
            &idx.pinyin,
            &idx.initials,
            &idx.phone_rev,
            &idx.province,
            &idx.class,
            &idx.tier,
            &idx.stage,
            &idx.tags,
            &idx.external_code,
            &idx.dedup_key,
            &idx.doc,
            &owner,
            &team,
            &now,
            &idx.search_tokens(),
        ],
    )
    .await?;
    let id: i64 = get(&row, 0)?;
    log_owner(t, id, None, owner, "create", actor, now).await?;
    Ok(id)
}

/// Hands a customer from `from` to `to` (of `team`) on `actor`'s word: the
/// row, the ownership log (why: the kind of change, and the actor's words)
/// and the history.
async fn hand_to<C: GenericClient>(
    t: &C,
    id: i64,
    (from, to): (Option<i64>, i64),
    team: Option<i64>,
    (reason, note): (&str, Option<&str>),
    actor: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    execute(
        t,
        "UPDATE customers SET owner_id = $2, team_id = $3, owned_since = $4, version = version + 1, updated_at = $4 WHERE id = $1",
        &[&id, &to, &team, &now],
    )
    .await?;
    log_owner_note(t, id, (from, Some(to)), (reason, note), Some(actor), now).await?;
    history_insert(t, id, Some(actor), &one_change("owner_id", from, to), now).await
}

async fn log_owner<C: GenericClient>(
    t: &C,
    customer: i64,
    from: Option<i64>,
    to: Option<i64>,
    reason: &str,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    log_owner_note(t, customer, (from, to), (reason, None), actor, now).await
}

/// [`log_owner`] with why, in the actor's words (a transfer or a release
/// by hand).
async fn log_owner_note<C: GenericClient>(
    t: &C,
    customer: i64,
    (from, to): (Option<i64>, Option<i64>),
    (reason, note): (&str, Option<&str>),
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    // A customer created in the pool changed no hands: nothing to log (an
    // import of a million such customers wrote a million empty events).
    if from.is_none() && to.is_none() {
        return Ok(());
    }
    execute(
        t,
        "INSERT INTO ownership_log (customer_id, at, from_user, to_user, reason, actor_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&customer, &now, &from, &to, &reason, &actor, &note],
    )
    .await?;
    Ok(())
}

/// Puts customer `id`, owned by `owner`, back in the pool: the row, the
/// ownership log (with why, when said by hand) and the history.
async fn release_one<C: GenericClient>(
    t: &C,
    id: i64,
    owner: i64,
    note: Option<&str>,
    actor: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    execute(
        t,
        "UPDATE customers SET owner_id = NULL, team_id = NULL, owned_since = $2, version = version + 1, updated_at = $2 WHERE id = $1",
        &[&id, &now],
    )
    .await?;
    log_owner_note(
        t,
        id,
        (Some(owner), None),
        ("release", note),
        Some(actor),
        now,
    )
    .await?;
    history_insert(
        t,
        id,
        Some(actor),
        &one_change("owner_id", owner, serde_json::Value::Null),
        now,
    )
    .await
}

async fn history_insert<C: GenericClient>(
    t: &C,
    customer: i64,
    user: Option<i64>,
    changes: &[FieldChange],
    now: DateTime<Utc>,
) -> Result<()> {
    for ch in changes {
        execute(
            t,
            "INSERT INTO customer_history (customer_id, at, user_id, field, old, new) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&customer, &now, &user, &ch.field, &ch.old, &ch.new],
        )
        .await?;
    }
    Ok(())
}

async fn write_customer_doc<C: GenericClient>(
    t: &C,
    id: i64,
    input: &CustomerInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let idx = CustomerIndex::of(input);
    execute(
        t,
        &format!("UPDATE customers SET version = version + 1, name = $2, pinyin = $3, initials = $4, phone_rev = $5,
            province = $6, class = $7, tier = $8, stage = $9, tags = $10, external_code = $11, dedup_key = $12,
            doc = $13::text::jsonb, updated_at = $14, search = {search} WHERE id = $1",
            search = search_of("$15")
        ),
        &[
            &id,
            &idx.name,
            &idx.pinyin,
            &idx.initials,
            &idx.phone_rev,
            &idx.province,
            &idx.class,
            &idx.tier,
            &idx.stage,
            &idx.tags,
            &idx.external_code,
            &idx.dedup_key,
            &idx.doc,
            &now,
            &idx.search_tokens(),
        ],
    )
    .await?;
    Ok(())
}

async fn insert_contact<C: GenericClient>(
    t: &C,
    customer_id: i64,
    input: &ContactInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let doc = crate::stored_contact_doc(input);
    let mobile_rev = input.mobile.as_ref().map(|m| rev(&m.digits()));
    let row = query_one(
        t,
        "INSERT INTO contacts (customer_id, version, name, mobile_rev, doc, created_at) VALUES ($1, 1, $2, $3, $4::text::jsonb, $5) RETURNING id",
        &[&customer_id, &input.name, &mobile_rev, &doc, &now],
    )
    .await?;
    get(&row, 0)
}

const CONTACT_COLS: &str = "id, customer_id, version, doc, created_at, deleted_at";

fn contact_row(r: &Row) -> Result<Contact> {
    let doc: serde_json::Value = get(r, 3)?;
    Ok(Contact {
        id: get(r, 0)?,
        customer_id: get(r, 1)?,
        version: get(r, 2)?,
        fields: contact_input(&doc)?,
        created_at: get(r, 4)?,
        deleted_at: get(r, 5)?,
    })
}

async fn get_contact<C: GenericClient>(c: &C, id: i64) -> Result<Option<Contact>> {
    query_opt(
        c,
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1"),
        &[&id],
    )
    .await?
    .map(|r| contact_row(&r))
    .transpose()
}

const CHANGE_COLS: &str =
    "r.id, r.customer_id, r.note, r.reported_on, r.due_on, r.registered_on, r.reported_by";

fn change_row(r: &Row) -> Result<ChangeReport> {
    Ok(ChangeReport {
        id: get(r, 0)?,
        customer_id: get(r, 1)?,
        note: get(r, 2)?,
        reported_on: get(r, 3)?,
        due_on: get(r, 4)?,
        registered_on: get(r, 5)?,
        reported_by: get(r, 6)?,
    })
}

async fn change_report<C: GenericClient>(c: &C, id: i64) -> Result<ChangeReport> {
    let row = query_one(
        c,
        &format!("SELECT {CHANGE_COLS} FROM change_reports r WHERE r.id = $1"),
        &[&id],
    )
    .await?;
    change_row(&row)
}
