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
            let rows = rows_of(&mut st, [], care_template_row)?;
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
                                 THEN (SELECT json_extract(c.doc, '$.business_stage') FROM customers c WHERE c.id = a.customer_id) END,
                            CASE WHEN a.kind = 'gift' THEN json_extract(a.doc, '$.card_breach') END
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
                    card_breach: r.get(5).map_err(sq)?,
                });
            }
            Ok(out)
        })
        .await
    }
}

impl SqliteStore {
    /// Checkpoints the write-ahead log beside the writer, on a reader
    /// connection: a passive checkpoint never blocks the writer, so a bulk
    /// of care tasks goes on being stored while its pages reach the
    /// database file. One at a time; more calls meanwhile do nothing.
    fn checkpoint_soon(&self) {
        use std::sync::atomic::{AtomicBool, Ordering};
        static RUNNING: AtomicBool = AtomicBool::new(false);
        if self.memory || RUNNING.swap(true, Ordering::AcqRel) {
            return;
        }
        let (readers, slots) = (self.readers.clone(), self.reader_slots.clone());
        tokio::spawn(async move {
            if let Ok(slot) = slots.acquire_owned().await {
                let _ = tokio::task::spawn_blocking(move || {
                    let lent = Lent::take(&readers, slot)?;
                    let _ = lent
                        .conn()
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    Ok::<_, StoreError>(())
                })
                .await;
            }
            RUNNING.store(false, Ordering::Release);
        });
    }
}

/// Stores a batch of care tasks in the transaction `t`; returns how many
/// were new.
pub(super) fn insert_care_batch(t: &Transaction, batch: &CareTaskBatch) -> Result<u64> {
    if let Some(k) = batch
        .tasks
        .iter()
        .find(|k| care_kind_code(k.kind).is_none())
    {
        return Err(StoreError::Db(format!(
            "unknown care task kind {:?}",
            k.kind
        )));
    }
    // The statements of care_insert_sql stay prepared.
    t.set_prepared_statement_cache_capacity(64);
    let texts = care_text_ids(t, &batch.texts)?;
    let text = |i: u32| {
        texts
            .get(i as usize)
            .copied()
            .ok_or_else(|| StoreError::Db(format!("care task text {i} is not in the batch")))
    };
    let now = Utc::now().timestamp_micros();
    let mut n = 0u64;
    // Runs of tasks that differ only in customer and contact (a
    // festival's greetings), many rows per statement, the shared
    // values bound once per statement.
    let shared = |k: &NewCareTask| {
        (
            k.kind,
            k.planned_for,
            k.date,
            k.salesperson_id,
            k.occasions,
            k.template,
            k.message,
            k.channel,
        )
    };
    // One statement per number of rows, prepared once for the batch.
    let mut statements: Vec<Option<rusqlite::CachedStatement>> =
        (0..=CARE_INSERT_ROWS.ilog2()).map(|_| None).collect();
    let mut rest = batch.tasks.as_slice();
    while let Some(first) = rest.first() {
        let key = shared(first);
        let len = rest
            .iter()
            .position(|k| shared(k) != key)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        rest = tail;
        let kind = care_kind_code(first.kind).unwrap_or_default();
        let (planned_for, date) = (day_number(first.planned_for), day_number(first.date));
        let mut run = run;
        while !run.is_empty() {
            let rows = care_insert_rows(run.len());
            let (part, after) = run.split_at(rows);
            run = after;
            let st = match &mut statements[rows.ilog2() as usize] {
                Some(st) => st,
                slot => slot.insert(t.prepare_cached(care_insert_sql(rows)).map_err(sq)?),
            };
            st.raw_bind_parameter(1, now).map_err(sq)?;
            st.raw_bind_parameter(2, kind).map_err(sq)?;
            st.raw_bind_parameter(3, planned_for).map_err(sq)?;
            st.raw_bind_parameter(4, date).map_err(sq)?;
            st.raw_bind_parameter(5, first.salesperson_id).map_err(sq)?;
            st.raw_bind_parameter(6, text(first.occasions)?)
                .map_err(sq)?;
            st.raw_bind_parameter(7, first.template.map(text).transpose()?)
                .map_err(sq)?;
            st.raw_bind_parameter(8, first.message.map(text).transpose()?)
                .map_err(sq)?;
            st.raw_bind_parameter(9, first.channel).map_err(sq)?;
            for (i, k) in part.iter().enumerate() {
                st.raw_bind_parameter(10 + 2 * i, care_subject(k.customer_id, k.salesperson_id))
                    .map_err(sq)?;
                st.raw_bind_parameter(11 + 2 * i, k.contact_id.unwrap_or(0))
                    .map_err(sq)?;
            }
            n += st.raw_execute().map_err(sq)? as u64;
        }
    }
    Ok(n)
}

/// The most rows one statement stores.
const CARE_INSERT_ROWS: usize = 256;

/// How many of `left` rows the next statement stores: all it can, then
/// powers of two, so a handful of statements (kept prepared) do any run.
fn care_insert_rows(left: usize) -> usize {
    if left >= CARE_INSERT_ROWS {
        CARE_INSERT_ROWS
    } else {
        1 << left.ilog2()
    }
}

/// `INSERT OR IGNORE … VALUES (…), (…)` for `rows` tasks (a power of two
/// up to [`CARE_INSERT_ROWS`]) that share ?1 the time, ?2 the kind, ?3 the
/// planned day, ?4 the due day, ?5 the salesperson, ?6..?8 the texts, ?9
/// the channel; each row its subject and contact. OR IGNORE rather than ON
/// CONFLICT DO NOTHING: a statement that cannot fail half-way needs no
/// journal to undo itself (15% of the time); the rows are checked before
/// (kind), so a conflicting key is the only row it skips.
fn care_insert_sql(rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        (0..=CARE_INSERT_ROWS.ilog2())
            .map(|p| {
                let values: Vec<String> = (0..1usize << p)
                    .map(|i| format!("(?2, ?{}, ?3, ?{}, ?4, ?5, ?6, ?7, ?8, ?9, ?1)", 10 + 2 * i, 11 + 2 * i))
                    .collect();
                format!(
                    "INSERT OR IGNORE INTO care_tasks (kind, subject, planned_for, contact, date, owner_id, occasions_id, template_id, message_id, channel, created_at) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    &all[rows.ilog2() as usize]
}

/// The ids of `texts` in care_texts, storing the new ones.
fn care_text_ids(t: &Connection, texts: &[String]) -> Result<Vec<i64>> {
    let mut put = t
        .prepare_cached("INSERT INTO care_texts (body) VALUES (?1) ON CONFLICT (body) DO NOTHING")
        .map_err(sq)?;
    let mut get = t
        .prepare_cached("SELECT id FROM care_texts WHERE body = ?1")
        .map_err(sq)?;
    let mut ids = Vec::with_capacity(texts.len());
    for body in texts {
        put.execute([body]).map_err(sq)?;
        ids.push(get.query_row([body], |r| r.get(0)).map_err(sq)?);
    }
    Ok(ids)
}

/// Whose a task is (see [`CareTaskRow::owner_id`]), with customers as `c`:
/// an open or snoozed (status < 2) customer task is its customer's owner's.
const CARE_TASK_OWNER: &str =
    "CASE WHEN t.subject > 0 AND t.status < 2 THEN c.owner_id ELSE t.owner_id END";

fn care_task_cols(owner: &str) -> String {
    format!(
        "t.id AS id, t.kind, t.planned_for, t.date AS date, t.subject, t.contact, {owner} AS owner_id, t.channel, t.status, t.reason, t.snoozed_until, t.activity_id, t.created_at, coalesce(t.updated_at, t.created_at), t.occasions_id, t.template_id, t.message_id"
    )
}

/// The query (and parameters) of the tasks a filter selects, columns as
/// [`care_task_cols`]; `None` when it selects nothing. With owners, three
/// parts: the open tasks of the customers the owners have now — those due
/// on the day they were planned for through the key (customer, planned
/// day), the others (deferred, late) through their own small index — and
/// the tasks that keep their owner (closed ones, quota tasks).
fn care_task_query(f: &CareTaskFilter) -> Option<(String, Vec<SqlValue>)> {
    let mut p: Vec<SqlValue> = vec![];
    let mut w = vec![
        "(t.contact = 0 OR EXISTS (SELECT 1 FROM contacts p WHERE p.id = t.contact AND p.deleted_at IS NULL))".to_string(),
    ];
    // The same bounds on the planned day, for tasks due on it.
    let mut planned = vec![];
    if let Some(d) = f.from {
        p.push(SqlValue::Integer(day_number(d)));
        w.push(format!("t.date >= ?{}", p.len()));
        planned.push(format!("t.planned_for >= ?{}", p.len()));
    }
    if let Some(d) = f.to {
        p.push(SqlValue::Integer(day_number(d)));
        w.push(format!("t.date <= ?{}", p.len()));
        planned.push(format!("t.planned_for <= ?{}", p.len()));
    }
    // A status or kind that is not stored matches nothing.
    if let Some(s) = &f.status {
        p.push(SqlValue::Integer(care_status_code(s)?));
        w.push(format!("t.status = ?{}", p.len()));
    }
    if let Some(k) = &f.kind {
        p.push(SqlValue::Integer(care_kind_code(k)?));
        w.push(format!("t.kind = ?{}", p.len()));
    }
    let wh = w.join(" AND ");
    planned.push("t.date = t.planned_for".into());
    let planned = planned.join(" AND ");
    let sql = match &f.owners {
        None => format!(
            "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.subject
             WHERE (t.subject <= 0 OR c.deleted_at IS NULL) AND {wh}",
            care_task_cols(CARE_TASK_OWNER)
        ),
        Some(owners) if owners.is_empty() => return None,
        Some(owners) => {
            let list = owners
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let mine = format!(
                "SELECT {} FROM customers c CROSS JOIN care_tasks t
                 WHERE c.owner_id IN ({list}) AND c.deleted_at IS NULL AND t.status < 2",
                care_task_cols("c.owner_id")
            );
            format!(
                "{mine} AND t.subject = c.id AND {planned} AND {wh}
                 UNION ALL
                 {mine} AND t.subject = c.id AND t.date <> t.planned_for AND {wh}
                 UNION ALL
                 SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.subject
                 WHERE (t.subject <= 0 OR t.status >= 2) AND t.owner_id IN ({list})
                   AND (t.subject <= 0 OR c.deleted_at IS NULL) AND {wh}",
                care_task_cols("t.owner_id")
            )
        }
    };
    Some((sql, p))
}

fn care_task_rows(c: &Connection, sql: &str, p: &[SqlValue]) -> Result<Vec<CareTaskBase>> {
    let mut st = c.prepare_cached(sql).map_err(sq)?;
    let mut rows = st.query(params_from_iter(p.iter())).map_err(sq)?;
    let mut out = vec![];
    while let Some(r) = rows.next().map_err(sq)? {
        let kind = care_code_name(&CARE_KIND_CODES, r.get(1).map_err(sq)?)?;
        let planned_for = day_of_number(r.get(2).map_err(sq)?)?;
        let (subject, contact, owner_id): (i64, i64, Option<i64>) = (
            r.get(4).map_err(sq)?,
            r.get(5).map_err(sq)?,
            r.get(6).map_err(sq)?,
        );
        let customer_id = (subject > 0).then_some(subject);
        let contact_id = (contact != 0).then_some(contact);
        out.push(CareTaskBase {
            row: CareTaskRow {
                id: r.get(0).map_err(sq)?,
                key: care_task_key(kind, customer_id, contact_id, owner_id, planned_for),
                kind: kind.to_string(),
                planned_for,
                date: day_of_number(r.get(3).map_err(sq)?)?,
                customer_id,
                contact_id,
                owner_id,
                occasions: serde_json::Value::Null,
                channel: r.get(7).map_err(sq)?,
                message: None,
                template: None,
                status: care_code_name(&CARE_STATUS_CODES, r.get(8).map_err(sq)?)?.to_string(),
                reason: r.get(9).map_err(sq)?,
                snoozed_until: r
                    .get::<_, Option<i64>>(10)
                    .map_err(sq)?
                    .map(day_of_number)
                    .transpose()?,
                activity_id: r.get(11).map_err(sq)?,
                created_at: time_of_micros(r.get(12).map_err(sq)?)?,
                updated_at: time_of_micros(r.get(13).map_err(sq)?)?,
                facts: None,
            },
            occasions_id: r.get(14).map_err(sq)?,
            template_id: r.get(15).map_err(sq)?,
            message_id: r.get(16).map_err(sq)?,
        });
    }
    Ok(out)
}

/// Reads the texts of `rows` and the facts their channel and message are
/// made from: the customer, the contact and the owner as they are now.
fn care_task_details(c: &Connection, rows: &mut [CareTaskBase]) -> Result<()> {
    fn by_ids<T>(
        c: &Connection,
        sql: &str,
        ids: &mut Vec<i64>,
        mut f: impl FnMut(&Row) -> rusqlite::Result<(i64, T)>,
    ) -> Result<HashMap<i64, T>> {
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let mut st = c.prepare(&sql.replace("{ids}", &list)).map_err(sq)?;
            let mut rows = st.query([]).map_err(sq)?;
            while let Some(r) = rows.next().map_err(sq)? {
                let (id, v) = f(r).map_err(sq)?;
                out.insert(id, v);
            }
        }
        Ok(out)
    }
    let mut ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [Some(r.occasions_id), r.template_id, r.message_id])
        .flatten()
        .collect();
    let texts = by_ids(
        c,
        "SELECT id, body FROM care_texts WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.row.customer_id).collect();
    let customers = by_ids(
        c,
        "SELECT id, name, json_extract(doc, '$.business_stage'), json_extract(doc, '$.card.gifts_forbidden') FROM customers WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, (r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, Option<bool>>(3)?.unwrap_or(false)))),
    )?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.row.contact_id).collect();
    let contacts = by_ids(
        c,
        "SELECT id, name, json_extract(doc, '$.title'), json_extract(doc, '$.level') FROM contacts WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, (r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, Option<String>>(3)?))),
    )?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.row.owner_id).collect();
    let owners = by_ids(
        c,
        "SELECT id, display_name FROM users WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, r.get::<_, String>(1)?)),
    )?;
    fill_care_task_details(rows, &texts, &customers, &contacts, &owners)
}

/// One task (whatever the state of its customer and contact), with details.
fn get_care_task(c: &Connection, id: i64) -> Result<Option<CareTaskRow>> {
    let sql = format!(
        "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.subject WHERE t.id = ?1",
        care_task_cols(CARE_TASK_OWNER)
    );
    let mut rows = care_task_rows(c, &sql, &[SqlValue::Integer(id)])?;
    care_task_details(c, &mut rows)?;
    Ok(rows.pop().map(|b| b.row))
}

fn care_template_row(r: &Row) -> rusqlite::Result<CareTemplate> {
    Ok(CareTemplate {
        id: r.get(0)?,
        name: r.get(1)?,
        body: r.get(2)?,
        occasion: r.get(3)?,
        active: r.get(4)?,
    })
}

const CARE_CUSTOMER_COLS: &str = "id, name, owner_id, team_id, class, tier, doc";

/// The parts of a customer's document care planning reads, parsed here:
/// quicker than asking SQLite for each (it parses the document per field).
#[derive(serde::Deserialize)]
struct CareCustomerDoc {
    #[serde(default)]
    business_stage: Option<String>,
    #[serde(default)]
    key_customer: Option<bool>,
    #[serde(default)]
    card: Option<CareCardDoc>,
    #[serde(default)]
    key_dates: Option<Vec<keqing_domain::customer::KeyDate>>,
    #[serde(default)]
    custom: Option<CareCustomDoc>,
}

#[derive(serde::Deserialize)]
struct CareCardDoc {
    #[serde(default)]
    gifts_forbidden: Option<bool>,
}

#[derive(serde::Deserialize)]
struct CareCustomDoc {
    #[serde(default)]
    order_weekdays: Option<serde_json::Value>,
}

fn care_customer_rows(
    c: &Connection,
    sql: &str,
    p: &[SqlValue],
    out: &mut Vec<CareCustomerFacts>,
) -> Result<()> {
    let mut st = c.prepare(sql).map_err(sq)?;
    let mut rows = st.query(params_from_iter(p.iter())).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let doc: CareCustomerDoc = serde_json::from_str(
            r.get_ref(6)
                .map_err(sq)?
                .as_str()
                .map_err(|e| sq(e.into()))?,
        )
        .map_err(db_err)?;
        out.push(CareCustomerFacts {
            id: r.get(0).map_err(sq)?,
            name: r.get(1).map_err(sq)?,
            owner_id: r.get(2).map_err(sq)?,
            team_id: r.get(3).map_err(sq)?,
            class: r.get(4).map_err(sq)?,
            tier: r.get(5).map_err(sq)?,
            business_stage: doc.business_stage,
            key_customer: doc.key_customer.unwrap_or(false),
            gifts_forbidden: doc.card.and_then(|c| c.gifts_forbidden).unwrap_or(false),
            key_dates: doc.key_dates.unwrap_or_default(),
            order_weekdays: doc
                .custom
                .and_then(|c| c.order_weekdays)
                .filter(|v| !v.is_null()),
        });
    }
    Ok(())
}

fn care_contact_rows(
    c: &Connection,
    sql: &str,
    p: &[SqlValue],
    out: &mut Vec<CareContactFacts>,
) -> Result<()> {
    let mut st = c.prepare(sql).map_err(sq)?;
    let mut rows = st.query(params_from_iter(p.iter())).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let level: Option<String> = r.get(4).map_err(sq)?;
        let birthday: Option<String> = r.get(5).map_err(sq)?;
        out.push(CareContactFacts {
            id: r.get(0).map_err(sq)?,
            customer_id: r.get(1).map_err(sq)?,
            name: r.get(2).map_err(sq)?,
            title: r.get(3).map_err(sq)?,
            level: level
                .as_deref()
                .and_then(|l| keqing_domain::contact::ContactLevel::parse(l).ok()),
            birthday: birthday
                .as_deref()
                .and_then(|b| keqing_domain::contact::Birthday::parse(b).ok()),
        });
    }
    Ok(())
}
