//! Relationship care (SPEC §4): tasks, templates, settings and the reads a care run plans from.

use super::*;

#[async_trait]
impl CareStore for SqliteStore {
    async fn insert_care_tasks(&self, batch: CareTaskBatch) -> Result<u64> {
        if batch.tasks.is_empty() {
            return Ok(0);
        }
        let n = self
            .write(move |c| {
                // No checkpoint after this commit: a checkpoint copies the pages
                // into the database file and waits for the disk, and the next
                // batch need not wait with it (see `checkpoint_soon`).
                let every: i64 = c
                    .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                    .map_err(sq)?;
                c.execute_batch("PRAGMA wal_autocheckpoint = 0")
                    .map_err(sq)?;
                let stored = (|| {
                    let t = c
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .map_err(sq)?;
                    let n = insert_care_batch(&t, &batch)?;
                    t.commit().map_err(sq)?;
                    Ok(n)
                })();
                c.execute_batch(&format!("PRAGMA wal_autocheckpoint = {every}"))
                    .map_err(sq)?;
                stored
            })
            .await?;
        self.checkpoint_soon();
        Ok(n)
    }

    async fn care_tasks(&self, f: &CareTaskFilter) -> Result<Page<CareTaskRow>> {
        let f = f.clone();
        self.read(move |c| {
            let Some((q, p)) = care_task_query(&f) else {
                return Ok(Page::empty(f.offset, f.limit));
            };
            let total: i64 = c
                .query_row(
                    &format!("SELECT count(*) FROM ({q})"),
                    params_from_iter(p.iter()),
                    |r| r.get(0),
                )
                .map_err(sq)?;
            let limit = if f.limit > 0 { f.limit } else { -1 };
            let sql = format!(
                "SELECT * FROM ({q}) ORDER BY date, id LIMIT {limit} OFFSET {}",
                f.offset.max(0)
            );
            let mut rows = care_task_rows(c, &sql, &p)?;
            if f.details {
                care_task_details(c, &mut rows)?;
            }
            Ok(Page {
                capped: false,
                items: rows.into_iter().map(|r| r.row).collect(),
                total,
                offset: f.offset,
                limit: f.limit,
            })
        })
        .await
    }

    async fn care_task(&self, id: i64) -> Result<Option<CareTaskRow>> {
        self.read(move |c| get_care_task(c, id)).await
    }

    async fn set_care_task_status(
        &self,
        id: i64,
        change: &CareStatusChange,
        actor: &User,
    ) -> Result<CareTaskRow> {
        let (change, actor) = (change.clone(), actor.id);
        self.tx(move |t| {
            let task = get_care_task(t, id)?.ok_or(StoreError::NotFound)?;
            if task.status != change.expected {
                return Err(refuse::task_moved_on(&task.status, &change.expected));
            }
            let activity_id = match (change.activity.clone(), task.customer_id) {
                (Some(mut a), Some(customer)) => Some(insert_activity(t, customer, &mut a, actor)?.id),
                _ => task.activity_id,
            };
            let at = Utc::now();
            let now = ts(at);
            let status = care_status_code(&change.status).ok_or_else(|| {
                StoreError::Db(format!("unknown care task status {:?}", change.status))
            })?;
            // Closed (status >= 2), a customer's task keeps the customer's
            // owner of now; open again, it follows the customer's owner again.
            t.execute(
                "UPDATE care_tasks SET status = ?2, reason = ?3, snoozed_until = ?4, activity_id = ?5, updated_at = ?6,
                        owner_id = CASE WHEN subject <= 0 THEN owner_id
                                        WHEN ?2 >= 2 THEN (SELECT c.owner_id FROM customers c WHERE c.id = care_tasks.subject) END
                 WHERE id = ?1",
                params![id, status, change.reason, change.snoozed_until.map(day_number), activity_id, at.timestamp_micros()],
            )
            .map_err(sq)?;
            audit_row(t, Some(actor), &change.status, "care_task", Some(id), &serde_json::json!({"from": task.status}), &now)?;
            get_care_task(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn care_templates(&self) -> Result<Vec<CareTemplate>> {
        self.read(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id, name, body, occasion, active FROM care_templates ORDER BY id",
                )
                .map_err(sq)?;
            let rows = st
                .query_map([], care_template_row)
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(rows)
        })
        .await
    }

    async fn create_care_template(&self, n: &NewCareTemplate) -> Result<CareTemplate> {
        let n = n.clone();
        self.tx(move |t| {
            t.execute(
                "INSERT INTO care_templates (name, body, occasion, active) VALUES (?1, ?2, ?3, ?4)",
                params![n.name, n.body, n.occasion, n.active],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            t.query_row(
                "SELECT id, name, body, occasion, active FROM care_templates WHERE id = ?1",
                [id],
                care_template_row,
            )
            .map_err(sq)
        })
        .await
    }

    async fn update_care_template(&self, id: i64, n: &NewCareTemplate) -> Result<CareTemplate> {
        let n = n.clone();
        self.tx(move |t| {
            let k = t
                .execute(
                    "UPDATE care_templates SET name = ?2, body = ?3, occasion = ?4, active = ?5 WHERE id = ?1",
                    params![id, n.name, n.body, n.occasion, n.active],
                )
                .map_err(sq)?;
            if k == 0 {
                return Err(StoreError::NotFound);
            }
            t.query_row("SELECT id, name, body, occasion, active FROM care_templates WHERE id = ?1", [id], care_template_row)
                .map_err(sq)
        })
        .await
    }

    async fn delete_care_template(&self, id: i64) -> Result<()> {
        self.tx(move |t| {
            let k = t
                .execute("DELETE FROM care_templates WHERE id = ?1", [id])
                .map_err(sq)?;
            if k == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn care_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let key = key.to_string();
        self.read(move |c| {
            let v: Option<String> = c
                .query_row(
                    "SELECT value FROM care_settings WHERE key = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sq)?;
            v.map(|v| json_col(&v).map_err(sq)).transpose()
        })
        .await
    }

    async fn put_care_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.tx(move |t| {
            t.execute(
                "INSERT INTO care_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![key, value, ts(Utc::now())],
            )
            .map_err(sq)?;
            Ok(())
        })
        .await
    }

    async fn care_customers(&self, q: &CareCustomerQuery) -> Result<Vec<CareCustomerFacts>> {
        let q = q.clone();
        self.read(move |c| {
            let mut out = vec![];
            if q.all {
                let sql = format!("SELECT {CARE_CUSTOMER_COLS} FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL ORDER BY id");
                care_customer_rows(c, &sql, &[], &mut out)?;
                return Ok(out);
            }
            // The same condition as the partial index `customers_care`.
            let sql = format!(
                "SELECT {CARE_CUSTOMER_COLS} FROM customers INDEXED BY customers_care
                 WHERE deleted_at IS NULL AND owner_id IS NOT NULL
                   AND (class IS NOT NULL OR tier IS NOT NULL OR json_extract(doc, '$.key_customer') = 1
                        OR json_extract(doc, '$.key_dates') <> '[]'
                        OR json_extract(doc, '$.custom.order_weekdays') IS NOT NULL)"
            );
            care_customer_rows(c, &sql, &[], &mut out)?;
            let mut ids = q.ids.clone();
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let sql = format!("SELECT {CARE_CUSTOMER_COLS} FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL AND id IN ({marks})");
                let p: Vec<SqlValue> = chunk.iter().map(|i| SqlValue::Integer(*i)).collect();
                care_customer_rows(c, &sql, &p, &mut out)?;
            }
            out.sort_unstable_by_key(|f| f.id);
            out.dedup_by_key(|f| f.id);
            Ok(out)
        })
        .await
    }

    async fn care_contacts(
        &self,
        keys: Option<&[String]>,
        customer_ids: &[i64],
    ) -> Result<Vec<CareContactFacts>> {
        let keys = keys.map(<[String]>::to_vec);
        let mut ids = customer_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.read(move |c| {
            let base = "SELECT p.id, p.customer_id, p.name, json_extract(p.doc, '$.title'),
                               json_extract(p.doc, '$.level'), json_extract(p.doc, '$.birthday')
                        FROM contacts p JOIN customers c ON c.id = p.customer_id
                        WHERE p.deleted_at IS NULL AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL";
            let mut out = vec![];
            let Some(keys) = keys else {
                care_contact_rows(c, &format!("{base} ORDER BY p.customer_id, p.id"), &[], &mut out)?;
                return Ok(out);
            };
            if !keys.is_empty() {
                let sql = format!(
                    "{base} AND p.birthday_key IS NOT NULL AND p.birthday_key IN ({})",
                    vec!["?"; keys.len()].join(", ")
                );
                let p: Vec<SqlValue> = keys.iter().map(|s| SqlValue::Text(s.clone())).collect();
                care_contact_rows(c, &sql, &p, &mut out)?;
            }
            for chunk in ids.chunks(500) {
                let sql = format!("{base} AND p.customer_id IN ({})", vec!["?"; chunk.len()].join(", "));
                let p: Vec<SqlValue> = chunk.iter().map(|i| SqlValue::Integer(*i)).collect();
                care_contact_rows(c, &sql, &p, &mut out)?;
            }
            out.sort_unstable_by_key(|p| (p.customer_id, p.id));
            out.dedup_by_key(|p| p.id);
            Ok(out)
        })
        .await
    }

    async fn care_roster(&self, after: i64, limit: i64) -> Result<CareRoster> {
        self.read(move |c| {
            // One snapshot for the three reads.
            c.execute_batch("BEGIN").map_err(sq)?;
            let r = (|| {
                // In id order from the narrow customers_scope index (owner
                // ids are positive: written so), without reading the rows.
                let mut customers: Vec<(i64, i64)> = vec![];
                let mut st = c
                    .prepare_cached(
                        "SELECT id, owner_id FROM customers INDEXED BY customers_scope
                         WHERE id > ?1 AND deleted_at IS NULL AND owner_id > 0 ORDER BY id LIMIT ?2",
                    )
                    .map_err(sq)?;
                let mut rows = st.query(params![after, limit]).map_err(sq)?;
                while let Some(r) = rows.next().map_err(sq)? {
                    customers.push((r.get(0).map_err(sq)?, r.get(1).map_err(sq)?));
                }
                let (Some(&(lo, _)), Some(&(hi, _))) = (customers.first(), customers.last()) else {
                    return Ok(CareRoster::default());
                };
                let mut deleted: Vec<i64> = c
                    .prepare_cached(
                        "SELECT id FROM contacts
                         WHERE deleted_at IS NOT NULL AND customer_id >= ?1 AND customer_id <= ?2",
                    )
                    .map_err(sq)?
                    .query_map([lo, hi], |r| r.get(0))
                    .map_err(sq)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(sq)?;
                deleted.sort_unstable();
                // The page's contacts from the index by customer, less the
                // deleted ones and those of customers not listed (pool, deleted).
                let mut contacts = vec![];
                let mut st = c
                    .prepare_cached(
                        "SELECT id, customer_id FROM contacts
                         WHERE customer_id >= ?1 AND customer_id <= ?2 ORDER BY customer_id, id",
                    )
                    .map_err(sq)?;
                let mut rows = st.query([lo, hi]).map_err(sq)?;
                let mut k = 0;
                while let Some(r) = rows.next().map_err(sq)? {
                    let (id, customer): (i64, i64) = (r.get(0).map_err(sq)?, r.get(1).map_err(sq)?);
                    while k < customers.len() && customers[k].0 < customer {
                        k += 1;
                    }
                    if k < customers.len() && customers[k].0 == customer && deleted.binary_search(&id).is_err() {
                        contacts.push((id, customer));
                    }
                }
                Ok(CareRoster { customers, contacts })
            })();
            c.execute_batch("COMMIT").map_err(sq)?;
            r
        })
        .await
    }

    async fn care_task_contacts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        planned: (NaiveDate, NaiveDate),
    ) -> Result<CareTaskContacts> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT kind, subject, contact, planned_for, date FROM care_tasks
                     WHERE date >= ?1 AND date <= ?2 AND status = 0 AND subject > 0
                     UNION ALL
                     SELECT kind, subject, contact, planned_for, snoozed_until FROM care_tasks
                     WHERE status = 1 AND snoozed_until >= ?1 AND snoozed_until <= ?2 AND subject > 0",
                )
                .map_err(sq)?;
            let mut rows = st.query(params![day_number(from), day_number(to)]).map_err(sq)?;
            let mut out = CareTaskContacts::default();
            while let Some(r) = rows.next().map_err(sq)? {
                let contact: i64 = r.get(2).map_err(sq)?;
                let task = CareTaskContact {
                    kind: care_code_name(&CARE_KIND_CODES, r.get(0).map_err(sq)?)?,
                    customer_id: r.get(1).map_err(sq)?,
                    contact_id: (contact != 0).then_some(contact),
                    planned_for: day_of_number(r.get(3).map_err(sq)?)?,
                    date: day_of_number(r.get(4).map_err(sq)?)?,
                };
                out.push(task, planned);
            }
            Ok(out.finish())
        })
        .await
    }

    async fn activity_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        stages_from: DateTime<Utc>,
    ) -> Result<Vec<ActivityFact>> {
        self.read(move |c| {
            // The activities by time (a scan: they are in time order), less
            // those of deleted customers (a short list, by its own index),
            // a customer's file read only for the stage of a recent visit:
            // joining every activity to its customer reads the customers
            // at random.
            let mut st = c
                .prepare_cached(
                    "SELECT a.customer_id, a.user_id, a.kind, a.at,
                            CASE WHEN a.kind = 'visit' AND a.at >= ?3
                                 THEN (SELECT json_extract(c.doc, '$.business_stage') FROM customers c WHERE c.id = a.customer_id) END
                     FROM activities a NOT INDEXED
                     WHERE a.at >= ?1 AND a.at < ?2
                       AND a.customer_id NOT IN (SELECT id FROM customers WHERE deleted_at IS NOT NULL)
                     ORDER BY a.at, a.id",
                )
                .map_err(sq)?;
            let mut rows = st.query(params![ts(from), ts(to), ts(stages_from)]).map_err(sq)?;
            let mut out = vec![];
            while let Some(r) = rows.next().map_err(sq)? {
                let kind: String = r.get(2).map_err(sq)?;
                let Ok(kind) = keqing_domain::activity::ActivityKind::parse(&kind) else {
                    continue;
                };
                out.push(ActivityFact {
                    customer_id: r.get(0).map_err(sq)?,
                    user_id: r.get(1).map_err(sq)?,
                    kind,
                    at: parse_ts(&r.get::<_, String>(3).map_err(sq)?).map_err(sq)?,
                    customer_stage: r.get(4).map_err(sq)?,
                });
            }
            Ok(out)
        })
        .await
    }
}
