//! Relationship care (SPEC §4): tasks, templates, settings and the reads a care run plans from.

use super::*;

#[async_trait]
impl CareStore for PgStore {
    async fn insert_care_tasks(&self, batch: CareTaskBatch) -> Result<u64> {
        if batch.tasks.is_empty() {
            return Ok(0);
        }
        in_tx!(self, |t| insert_care_batch(&t, &batch).await)
    }

    async fn care_tasks(&self, f: &CareTaskFilter) -> Result<Page<CareTaskRow>> {
        let c = self.client().await?;
        let q = match &f.owners {
            Some(o) if o.is_empty() => return Ok(Page::empty(f.offset, f.limit)),
            // The open tasks of the customers the owners have now (due on
            // their planned day through the key, the others through their
            // own index), then the tasks that keep their owner.
            Some(_) => {
                let mine = format!(
                    "SELECT {} FROM customers c JOIN care_tasks t ON coalesce(t.customer_id, -t.owner_id) = c.id
                     WHERE c.owner_id = ANY($5) AND c.deleted_at IS NULL AND t.status IN ('open', 'snoozed')",
                    care_task_cols("c.owner_id")
                );
                format!(
                    "{mine} AND t.date = t.planned_for AND ($1::date IS NULL OR t.planned_for >= $1)
                       AND ($2::date IS NULL OR t.planned_for <= $2) AND {CARE_TASK_WHERE}
                     UNION ALL
                     {mine} AND t.customer_id = c.id AND t.date <> t.planned_for AND {CARE_TASK_WHERE}
                     UNION ALL
                     SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.customer_id
                     WHERE (t.customer_id IS NULL OR t.status IN ('done', 'skipped')) AND t.owner_id = ANY($5)
                       AND (t.customer_id IS NULL OR c.deleted_at IS NULL) AND {CARE_TASK_WHERE}",
                    care_task_cols("t.owner_id")
                )
            }
            None => format!(
                "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.customer_id
                 WHERE (t.customer_id IS NULL OR c.deleted_at IS NULL) AND {CARE_TASK_WHERE} AND $5::bigint[] IS NULL",
                care_task_cols(CARE_TASK_OWNER)
            ),
        };
        let p: [&(dyn ToSql + Sync); 5] = [&f.from, &f.to, &f.status, &f.kind, &f.owners];
        let total: i64 = get(
            &query_one(&c, &format!("SELECT count(*) FROM ({q}) x"), &p).await?,
            0,
        )?;
        let limit = if f.limit > 0 { Some(f.limit) } else { None };
        let offset = f.offset.max(0);
        let mut p7: Vec<&(dyn ToSql + Sync)> = p.to_vec();
        p7.push(&limit);
        p7.push(&offset);
        let rows = query(
            &c,
            &format!("SELECT * FROM ({q}) x ORDER BY date, id LIMIT $6 OFFSET $7"),
            &p7,
        )
        .await?;
        let mut rows = rows.iter().map(care_task_row).collect::<Result<Vec<_>>>()?;
        if f.details {
            care_task_details(&c, &mut rows).await?;
        }
        Ok(Page {
            capped: false,
            items: rows.into_iter().map(|b| b.row).collect(),
            total,
            offset: f.offset,
            limit: f.limit,
        })
    }

    async fn care_task(&self, id: i64) -> Result<Option<CareTaskRow>> {
        let c = self.client().await?;
        get_care_task(&c, id).await
    }

    async fn set_care_task_status(
        &self,
        id: i64,
        change: &CareStatusChange,
        actor: &User,
    ) -> Result<CareTaskRow> {
        in_tx!(self, |t| {
            query_one(
                &t,
                "SELECT id FROM care_tasks WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
            let task = get_care_task(&t, id).await?.ok_or(StoreError::NotFound)?;
            if task.status != change.expected {
                return Err(refuse::task_moved_on(&task.status, &change.expected));
            }
            let activity_id = match (change.activity.clone(), task.customer_id) {
                (Some(mut a), Some(customer)) => {
                    Some(insert_activity(&t, customer, &mut a, actor.id).await?.id)
                }
                _ => task.activity_id,
            };
            let now = Utc::now();
            // Closed, a customer's task keeps the customer's owner of now;
            // open again, it follows the customer's owner again.
            execute(
                &t,
                "UPDATE care_tasks SET status = $2, reason = $3, snoozed_until = $4, activity_id = $5, updated_at = $6,
                        owner_id = CASE WHEN customer_id IS NULL THEN owner_id
                                        WHEN $2 IN ('done', 'skipped') THEN (SELECT c.owner_id FROM customers c WHERE c.id = care_tasks.customer_id) END
                 WHERE id = $1",
                &[&id, &change.status, &change.reason, &change.snoozed_until, &activity_id, &now],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                &change.status,
                "care_task",
                Some(id),
                &serde_json::json!({"from": task.status}),
                now,
            )
            .await?;
            get_care_task(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn care_templates(&self) -> Result<Vec<CareTemplate>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, name, body, occasion, active FROM care_templates ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(care_template_row)
        .collect()
    }

    async fn create_care_template(&self, n: &NewCareTemplate) -> Result<CareTemplate> {
        let c = self.client().await?;
        let row = query_one(
            &c,
            "INSERT INTO care_templates (name, body, occasion, active) VALUES ($1, $2, $3, $4) RETURNING id, name, body, occasion, active",
            &[&n.name, &n.body, &n.occasion, &n.active],
        )
        .await?;
        care_template_row(&row)
    }

    async fn update_care_template(&self, id: i64, n: &NewCareTemplate) -> Result<CareTemplate> {
        let c = self.client().await?;
        let row = query_one(
            &c,
            "UPDATE care_templates SET name = $2, body = $3, occasion = $4, active = $5 WHERE id = $1 RETURNING id, name, body, occasion, active",
            &[&id, &n.name, &n.body, &n.occasion, &n.active],
        )
        .await?;
        care_template_row(&row)
    }

    async fn delete_care_template(&self, id: i64) -> Result<()> {
        let c = self.client().await?;
        if execute(&c, "DELETE FROM care_templates WHERE id = $1", &[&id]).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn care_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        query_opt(
            &c,
            "SELECT value FROM care_settings WHERE key = $1",
            &[&key],
        )
        .await?
        .map(|r| get(&r, 0))
        .transpose()
    }

    async fn put_care_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let c = self.client().await?;
        execute(
            &c,
            "INSERT INTO care_settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            &[&key, value, &Utc::now()],
        )
        .await?;
        Ok(())
    }

    async fn care_customers(&self, q: &CareCustomerQuery) -> Result<Vec<CareCustomerFacts>> {
        let c = self.client().await?;
        let mut ids = q.ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let rows = query(
            &c,
            "SELECT id, name, owner_id, team_id, class, tier, doc->>'business_stage', (doc->>'key_customer')::boolean,
                    (doc->'card'->>'gifts_forbidden')::boolean, doc->'key_dates', doc->'custom'->'order_weekdays'
             FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL
               AND ($1 OR id = ANY($2) OR class IS NOT NULL OR tier IS NOT NULL
                    OR coalesce((doc->>'key_customer')::boolean, false)
                    OR jsonb_array_length(coalesce(doc->'key_dates', '[]')) > 0
                    OR doc->'custom'->'order_weekdays' IS NOT NULL)
             ORDER BY id",
            &[&q.all, &ids],
        )
        .await?;
        rows.iter()
            .map(|r| {
                let key_dates: Option<serde_json::Value> = get(r, 9)?;
                Ok(CareCustomerFacts {
                    id: get(r, 0)?,
                    name: get(r, 1)?,
                    owner_id: get(r, 2)?,
                    team_id: get(r, 3)?,
                    class: get(r, 4)?,
                    tier: get(r, 5)?,
                    business_stage: get(r, 6)?,
                    key_customer: get::<Option<bool>>(r, 7)?.unwrap_or(false),
                    gifts_forbidden: get::<Option<bool>>(r, 8)?.unwrap_or(false),
                    key_dates: match key_dates {
                        None | Some(serde_json::Value::Null) => vec![],
                        Some(v) => serde_json::from_value(v).map_err(db_err)?,
                    },
                    order_weekdays: get::<Option<serde_json::Value>>(r, 10)?
                        .filter(|v| !v.is_null()),
                })
            })
            .collect()
    }

    async fn care_contacts(
        &self,
        keys: Option<&[String]>,
        customer_ids: &[i64],
    ) -> Result<Vec<CareContactFacts>> {
        let c = self.client().await?;
        let keys: Option<Vec<String>> = keys.map(<[String]>::to_vec);
        let ids = customer_ids.to_vec();
        let rows = query(
            &c,
            "SELECT p.id, p.customer_id, p.name, p.doc->>'title', p.doc->>'level', p.doc->>'birthday'
             FROM contacts p JOIN customers c ON c.id = p.customer_id
             WHERE p.deleted_at IS NULL AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL
               AND ($1::text[] IS NULL OR (p.doc->>'birthday' IS NOT NULL AND
                    (CASE WHEN p.doc->>'birthday' LIKE '农历闰%' THEN 'LL'
                          WHEN p.doc->>'birthday' LIKE '农历%' THEN 'L'
                          ELSE 'S' END || right(p.doc->>'birthday', 5)) = ANY($1))
                    OR p.customer_id = ANY($2))
             ORDER BY p.customer_id, p.id",
            &[&keys, &ids],
        )
        .await?;
        rows.iter()
            .map(|r| {
                let level: Option<String> = get(r, 4)?;
                let birthday: Option<String> = get(r, 5)?;
                Ok(CareContactFacts {
                    id: get(r, 0)?,
                    customer_id: get(r, 1)?,
                    name: get(r, 2)?,
                    title: get(r, 3)?,
                    level: level
                        .as_deref()
                        .and_then(|l| keqing_domain::contact::ContactLevel::parse(l).ok()),
                    birthday: birthday
                        .as_deref()
                        .and_then(|b| keqing_domain::contact::Birthday::parse(b).ok()),
                })
            })
            .collect()
    }

    async fn care_roster(&self, after: i64, limit: i64) -> Result<CareRoster> {
        let mut client = self.client().await?;
        let t = snapshot(&mut client).await?;
        let customers = query(
            &t,
            "SELECT id, owner_id FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL
               AND id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )
        .await?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect::<Result<Vec<(i64, i64)>>>()?;
        let contacts = match (customers.first(), customers.last()) {
            (Some(&(lo, _)), Some(&(hi, _))) => query(
                &t,
                "SELECT p.id, p.customer_id FROM contacts p JOIN customers c ON c.id = p.customer_id
                 WHERE p.deleted_at IS NULL AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL
                   AND p.customer_id >= $1 AND p.customer_id <= $2
                 ORDER BY p.customer_id, p.id",
                &[&lo, &hi],
            )
            .await?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect::<Result<Vec<_>>>()?,
            _ => vec![],
        };
        t.commit().await.map_err(pg)?;
        Ok(CareRoster {
            customers,
            contacts,
        })
    }

    async fn care_task_contacts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        planned: (NaiveDate, NaiveDate),
    ) -> Result<CareTaskContacts> {
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT kind, customer_id, contact_id, planned_for, date FROM care_tasks
             WHERE date >= $1 AND date <= $2 AND status = 'open' AND customer_id IS NOT NULL
             UNION ALL
             SELECT kind, customer_id, contact_id, planned_for, snoozed_until FROM care_tasks
             WHERE status = 'snoozed' AND snoozed_until >= $1 AND snoozed_until <= $2 AND customer_id IS NOT NULL",
            &[&from, &to],
        )
        .await?;
        let mut out = CareTaskContacts::default();
        for r in &rows {
            let Some(kind) = care_kind(get::<&str>(r, 0)?) else {
                continue;
            };
            let task = CareTaskContact {
                kind,
                customer_id: get(r, 1)?,
                contact_id: get(r, 2)?,
                planned_for: get(r, 3)?,
                date: get(r, 4)?,
            };
            out.push(task, planned);
        }
        Ok(out.finish())
    }

    async fn activity_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        stages_from: DateTime<Utc>,
    ) -> Result<Vec<ActivityFact>> {
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT a.customer_id, a.user_id, a.kind, a.at, CASE WHEN a.kind = 'visit' AND a.at >= $3 THEN c.doc->>'business_stage' END,
                    CASE WHEN a.kind = 'gift' THEN a.doc->>'card_breach' END
             FROM activities a JOIN customers c ON c.id = a.customer_id
             WHERE a.at >= $1 AND a.at < $2 AND c.deleted_at IS NULL ORDER BY a.at, a.id",
            &[&from, &to, &stages_from],
        )
        .await?;
        let mut out = vec![];
        for r in &rows {
            let kind: String = get(r, 2)?;
            let Ok(kind) = keqing_domain::activity::ActivityKind::parse(&kind) else {
                continue;
            };
            out.push(ActivityFact {
                customer_id: get(r, 0)?,
                user_id: get(r, 1)?,
                kind,
                at: get(r, 3)?,
                customer_stage: get(r, 4)?,
                card_breach: get(r, 5)?,
            });
        }
        Ok(out)
    }
}

/// Whose a task is (see [`CareTaskRow::owner_id`]), with customers as `c`.
const CARE_TASK_OWNER: &str = "CASE WHEN t.customer_id IS NOT NULL AND t.status IN ('open', 'snoozed') THEN c.owner_id ELSE t.owner_id END";

/// The filter of a task list: $1 from, $2 to, $3 status, $4 kind.
const CARE_TASK_WHERE: &str = "(t.contact_id IS NULL OR EXISTS (SELECT 1 FROM contacts p WHERE p.id = t.contact_id AND p.deleted_at IS NULL))
      AND ($1::date IS NULL OR t.date >= $1) AND ($2::date IS NULL OR t.date <= $2)
      AND ($3::text IS NULL OR t.status = $3) AND ($4::text IS NULL OR t.kind = $4)";

fn care_task_cols(owner: &str) -> String {
    format!(
        "t.id AS id, t.kind, t.planned_for, t.date AS date, t.customer_id, t.contact_id, {owner} AS owner_id, t.channel, t.status, t.reason, t.snoozed_until, t.activity_id, t.created_at, coalesce(t.updated_at, t.created_at) AS updated_at, t.occasions_id, t.template_id, t.message_id"
    )
}

fn care_task_row(r: &Row) -> Result<CareTaskBase> {
    let kind: String = get(r, 1)?;
    let planned_for: NaiveDate = get(r, 2)?;
    let (customer_id, contact_id, owner_id): (Option<i64>, Option<i64>, Option<i64>) =
        (get(r, 4)?, get(r, 5)?, get(r, 6)?);
    Ok(CareTaskBase {
        row: CareTaskRow {
            id: get(r, 0)?,
            key: care_task_key(&kind, customer_id, contact_id, owner_id, planned_for),
            kind,
            planned_for,
            date: get(r, 3)?,
            customer_id,
            contact_id,
            owner_id,
            occasions: serde_json::Value::Null,
            channel: get(r, 7)?,
            message: None,
            template: None,
            status: get(r, 8)?,
            reason: get(r, 9)?,
            snoozed_until: get(r, 10)?,
            activity_id: get(r, 11)?,
            created_at: get(r, 12)?,
            updated_at: get(r, 13)?,
            facts: None,
        },
        occasions_id: get(r, 14)?,
        template_id: get(r, 15)?,
        message_id: get(r, 16)?,
    })
}

/// Reads the texts of `rows` and the facts their channel and message are
/// made from: the customer, the contact and the owner as they are now.
async fn care_task_details<C: GenericClient>(c: &C, rows: &mut [CareTaskBase]) -> Result<()> {
    let ids = |f: &dyn Fn(&CareTaskBase) -> Vec<Option<i64>>| -> Vec<i64> {
        let mut v: Vec<i64> = rows.iter().flat_map(f).flatten().collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let text_ids = ids(&|r| vec![Some(r.occasions_id), r.template_id, r.message_id]);
    let customer_ids = ids(&|r| vec![r.row.customer_id]);
    let contact_ids = ids(&|r| vec![r.row.contact_id]);
    let owner_ids = ids(&|r| vec![r.row.owner_id]);
    let mut texts: HashMap<i64, String> = HashMap::new();
    for r in query(
        c,
        "SELECT id, body FROM care_texts WHERE id = ANY($1)",
        &[&text_ids],
    )
    .await?
    {
        texts.insert(get(&r, 0)?, get(&r, 1)?);
    }
    let mut customers: HashMap<i64, (String, Option<String>, bool)> = HashMap::new();
    for r in query(
        c,
        "SELECT id, name, doc->>'business_stage', (doc->'card'->>'gifts_forbidden')::boolean FROM customers WHERE id = ANY($1)",
        &[&customer_ids],
    )
    .await?
    {
        customers.insert(
            get(&r, 0)?,
            (get(&r, 1)?, get(&r, 2)?, get::<Option<bool>>(&r, 3)?.unwrap_or(false)),
        );
    }
    let mut contacts: HashMap<i64, (String, Option<String>, Option<String>)> = HashMap::new();
    for r in query(
        c,
        "SELECT id, name, doc->>'title', doc->>'level' FROM contacts WHERE id = ANY($1)",
        &[&contact_ids],
    )
    .await?
    {
        contacts.insert(get(&r, 0)?, (get(&r, 1)?, get(&r, 2)?, get(&r, 3)?));
    }
    let mut owners: HashMap<i64, String> = HashMap::new();
    for r in query(
        c,
        "SELECT id, display_name FROM users WHERE id = ANY($1)",
        &[&owner_ids],
    )
    .await?
    {
        owners.insert(get(&r, 0)?, get(&r, 1)?);
    }
    fill_care_task_details(rows, &texts, &customers, &contacts, &owners)
}

/// One task (whatever the state of its customer and contact), with details.
async fn get_care_task<C: GenericClient>(c: &C, id: i64) -> Result<Option<CareTaskRow>> {
    let Some(r) = query_opt(
        c,
        &format!(
            "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.customer_id WHERE t.id = $1",
            care_task_cols(CARE_TASK_OWNER)
        ),
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    let mut rows = vec![care_task_row(&r)?];
    care_task_details(c, &mut rows).await?;
    Ok(rows.pop().map(|b| b.row))
}

/// Stores a batch of care tasks in the transaction `t` (one already stored
/// under the same key is left as it is); returns how many were new.
pub(super) async fn insert_care_batch<C: GenericClient>(
    t: &C,
    batch: &CareTaskBatch,
) -> Result<u64> {
    let texts = care_text_ids(t, &batch.texts).await?;
    let text = |i: u32| {
        texts
            .get(i as usize)
            .copied()
            .ok_or_else(|| StoreError::Db(format!("care task text {i} is not in the batch")))
    };
    let now = Utc::now();
    let mut n = 0u64;
    // One statement per chunk: the rows travel as arrays.
    for chunk in batch.tasks.chunks(10_000) {
        let kinds: Vec<&str> = chunk.iter().map(|k| k.kind).collect();
        let planned: Vec<NaiveDate> = chunk.iter().map(|k| k.planned_for).collect();
        let dates: Vec<NaiveDate> = chunk.iter().map(|k| k.date).collect();
        let customers: Vec<Option<i64>> = chunk.iter().map(|k| k.customer_id).collect();
        let contacts: Vec<Option<i64>> = chunk.iter().map(|k| k.contact_id).collect();
        let owners: Vec<Option<i64>> = chunk.iter().map(|k| k.salesperson_id).collect();
        let occasions: Vec<i64> = chunk
            .iter()
            .map(|k| text(k.occasions))
            .collect::<Result<_>>()?;
        let templates: Vec<Option<i64>> = chunk
            .iter()
            .map(|k| k.template.map(text).transpose())
            .collect::<Result<_>>()?;
        let messages: Vec<Option<i64>> = chunk
            .iter()
            .map(|k| k.message.map(text).transpose())
            .collect::<Result<_>>()?;
        let channels: Vec<Option<&str>> = chunk.iter().map(|k| k.channel).collect();
        n += execute(
                t,
                "INSERT INTO care_tasks (kind, planned_for, date, customer_id, contact_id, owner_id, occasions_id, template_id, message_id, channel, status, created_at)
                 SELECT k, pf, d, cu, co, ow, oc, tp, ms, ch, 'open', $11
                 FROM unnest($1::text[], $2::date[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])
                      AS x(k, pf, d, cu, co, ow, oc, tp, ms, ch)
                 ON CONFLICT DO NOTHING",
                &[&kinds, &planned, &dates, &customers, &contacts, &owners, &occasions, &templates, &messages, &channels, &now],
            )
            .await?;
    }
    Ok(n)
}

/// The ids of `texts` in care_texts, storing the new ones.
async fn care_text_ids<C: GenericClient>(c: &C, texts: &[String]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(texts.len());
    for body in texts {
        execute(
            c,
            "INSERT INTO care_texts (body) VALUES ($1) ON CONFLICT DO NOTHING",
            &[body],
        )
        .await?;
        let row = query_one(
            c,
            "SELECT id FROM care_texts WHERE md5(body) = md5($1) AND body = $1",
            &[body],
        )
        .await?;
        ids.push(get(&row, 0)?);
    }
    Ok(ids)
}

fn care_template_row(r: &Row) -> Result<CareTemplate> {
    Ok(CareTemplate {
        id: get(r, 0)?,
        name: get(r, 1)?,
        body: get(r, 2)?,
        occasion: get(r, 3)?,
        active: get(r, 4)?,
    })
}
