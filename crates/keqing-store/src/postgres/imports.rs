//! Imports of customers and contacts, and the lookups an import of contacts or orders makes.

use super::*;

#[async_trait]
impl ImportStore for PgStore {
    async fn resolve_codes(&self, codes: &[String]) -> Result<Vec<Option<i64>>> {
        let c = self.client().await?;
        let mut out = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(10_000) {
            let mut found = HashMap::with_capacity(chunk.len());
            let upper: Vec<String> = chunk.iter().map(|c| c.to_ascii_uppercase()).collect();
            for r in query(
                &c,
                "SELECT external_code, id FROM customers WHERE external_code = ANY($1) AND deleted_at IS NULL",
                &[&upper],
            )
            .await?
            {
                found.insert(r.get::<_, String>(0), r.get::<_, i64>(1));
            }
            out.extend(upper.iter().map(|code| found.get(code).copied()));
        }
        Ok(out)
    }

    async fn resolve_customer(
        &self,
        external_code: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<i64>> {
        let c = self.client().await?;
        if let Some(code) = external_code {
            let code = code.to_ascii_uppercase();
            return query_opt(
                &c,
                "SELECT id FROM customers WHERE external_code = $1 AND deleted_at IS NULL",
                &[&code],
            )
            .await?
            .map(|r| get(&r, 0))
            .transpose();
        }
        if let Some(name) = name {
            let rows = query(
                &c,
                "SELECT id FROM customers WHERE name = $1 AND deleted_at IS NULL LIMIT 2",
                &[&name],
            )
            .await?;
            return if rows.len() == 1 {
                Ok(Some(get(&rows[0], 0)?))
            } else {
                Ok(None)
            };
        }
        Ok(None)
    }

    async fn import_customers(
        &self,
        mut rows: ImportRows<ImportCustomer>,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let mut out = ImportOutcome::default();
        while let Some(batch) = rows.next().await? {
            for chunk in batch.chunks(IMPORT_BATCH) {
                let mut attempt = 1;
                let (n, existing) = loop {
                    match self.import_batch(chunk, owner_id, actor.id).await {
                        // Another writer stored one of these customers meanwhile:
                        // the batch rolled back, and a rerun counts it as existing.
                        Err(e) if is_unique_violation(&e) && attempt < IMPORT_ATTEMPTS => {
                            attempt += 1
                        }
                        r => break r?,
                    }
                };
                out.imported += n;
                out.existing.extend(existing);
            }
        }
        self.analyze_after(out.imported, "customers, contacts, ownership_log")
            .await?;
        Ok(out)
    }

    async fn import_contacts(
        &self,
        mut rows: ImportRows<ImportContact>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let actor = actor.id;
        let mut out = ImportOutcome::default();
        while let Some(chunk) = rows.next().await? {
            let chunk = &chunk;
            let (n, existing) = in_tx!(self, |t| {
                let now = Utc::now();
                let (mut n, mut existing) = (0u64, vec![]);
                // The live contacts of the chunk's customers, looked up at
                // once (row by row, a plan prepared on an empty table could
                // stay), kept up to date as the chunk's rows are stored.
                let mut customers: Vec<i64> = chunk.iter().map(|r| r.customer_id).collect();
                customers.sort_unstable();
                customers.dedup();
                let mut held: std::collections::HashSet<(i64, String, Option<String>)> = query(
                    &t,
                    "SELECT customer_id, name, mobile_rev FROM contacts
                     WHERE customer_id = ANY($1) AND deleted_at IS NULL",
                    &[&customers],
                )
                .await?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
                .collect::<Result<_>>()?;
                let mut fresh: Vec<(i64, &ContactInput)> = vec![];
                for row in chunk {
                    let mobile = row.contact.mobile.as_ref().map(|m| rev(&m.digits()));
                    let key = (row.customer_id, row.contact.name.clone(), mobile);
                    if held.contains(&key) {
                        existing.push(row.line);
                        continue;
                    }
                    held.insert(key);
                    fresh.push((row.customer_id, &row.contact));
                    n += 1;
                }
                insert_contacts_bulk(&t, &fresh, now).await?;
                let detail = crate::imports::import_detail(chunk.len(), n);
                audit_row(&t, Some(actor), "import", "contact", None, &detail, now).await?;
                Ok::<_, StoreError>((n, existing))
            })?;
            out.imported += n;
            out.existing.extend(existing);
        }
        self.analyze_after(out.imported, "contacts").await?;
        Ok(out)
    }
}

/// Attempts of one import batch that lost a race for a unique key.
const IMPORT_ATTEMPTS: usize = 3;

impl PgStore {
    /// Statistics taken again after an import of many rows, as PostgreSQL
    /// advises after a bulk load: plans made while a table was empty (or
    /// small) would otherwise stay until autovacuum, which a cluster may run
    /// late or not at all, analyses it; ANALYZE makes every connection plan
    /// its statements again.
    async fn analyze_after(&self, imported: u64, tables: &str) -> Result<()> {
        if imported >= ANALYZE_AFTER {
            let c = self.client().await?;
            c.batch_execute(&format!("ANALYZE {tables}"))
                .await
                .map_err(pg)?;
        }
        Ok(())
    }

    async fn import_batch(
        &self,
        chunk: &[ImportCustomer],
        owner_id: Option<i64>,
        actor: i64,
    ) -> Result<(u64, Vec<u64>)> {
        in_tx!(self, |t| {
            let now = Utc::now();
            let team = owner_team(&t, owner_id).await?;
            let mut existing = vec![];
            let index: Vec<CustomerIndex> = chunk
                .iter()
                .map(|r| CustomerIndex::of(&r.customer))
                .collect();
            // The chunk's keys looked up at once, two queries for all its
            // rows, then kept up to date as its rows are stored: looked up
            // row by row, a statement prepared while the table was empty
            // kept a plan that read every live customer (a 200,000-row file
            // stored 40,000 rows in ten minutes).
            let mut codes = taken_keys(
                &t,
                "SELECT external_code FROM customers WHERE external_code = ANY($1) AND deleted_at IS NULL",
                index.iter().filter_map(|i| i.external_code.as_deref()),
            )
            .await?;
            let mut keys = taken_keys(
                &t,
                "SELECT dedup_key FROM customers WHERE dedup_key = ANY($1) AND deleted_at IS NULL",
                index.iter().filter_map(|i| i.dedup_key.as_deref()),
            )
            .await?;
            let mut fresh: Vec<(&ImportCustomer, &CustomerIndex)> = vec![];
            for (row, idx) in chunk.iter().zip(&index) {
                let taken = |set: &std::collections::HashSet<String>, k: &Option<String>| {
                    k.as_ref().is_some_and(|k| set.contains(k))
                };
                if taken(&codes, &idx.external_code) || taken(&keys, &idx.dedup_key) {
                    existing.push(row.line);
                    continue;
                }
                codes.extend(idx.external_code.clone());
                keys.extend(idx.dedup_key.clone());
                fresh.push((row, idx));
            }
            let ids = insert_customers_bulk(&t, &fresh, owner_id, team, actor, now).await?;
            let contacts: Vec<(i64, &ContactInput)> = fresh
                .iter()
                .zip(&ids)
                .filter_map(|((row, _), id)| row.contact.as_ref().map(|c| (*id, c)))
                .collect();
            insert_contacts_bulk(&t, &contacts, now).await?;
            let n = ids.len() as u64;
            let detail = crate::imports::import_detail(chunk.len(), n);
            audit_row(&t, Some(actor), "import", "customer", None, &detail, now).await?;
            Ok((n, existing))
        })
    }
}

/// Rows an import stores from which it analyses the tables it wrote.
const ANALYZE_AFTER: u64 = 1_000;

/// Which of `keys` a live customer holds, by `sql` (`… = ANY($1)`).
async fn taken_keys<C: GenericClient>(
    c: &C,
    sql: &str,
    keys: impl Iterator<Item = &str>,
) -> Result<std::collections::HashSet<String>> {
    let keys: Vec<&str> = keys.collect();
    if keys.is_empty() {
        return Ok(Default::default());
    }
    query(c, sql, &[&keys])
        .await?
        .iter()
        .map(|r| get(r, 0))
        .collect()
}

/// Stores the rows of an import chunk with three statements whatever their
/// number (ids drawn from the sequence first, in file order; the rows; their
/// ownership events), as [`insert_customer_row`] stores one: one
/// statement a row was one round trip to the server each. Returns the ids.
async fn insert_customers_bulk<C: GenericClient>(
    t: &C,
    rows: &[(&ImportCustomer, &CustomerIndex)],
    owner: Option<i64>,
    team: Option<i64>,
    actor: i64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let count = rows.len() as i64;
    let mut ids: Vec<i64> = query(
        t,
        "SELECT nextval(pg_get_serial_sequence('customers', 'id')) FROM generate_series(1, $1::bigint)",
        &[&count],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect::<Result<_>>()?;
    ids.sort_unstable();
    let col = |f: fn(&CustomerIndex) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(|(_, i)| f(i)).collect()
    };
    let tokens: Vec<String> = rows.iter().map(|(_, i)| i.search_tokens()).collect();
    execute(
        t,
        &format!("INSERT INTO customers (id, version, name, pinyin, initials, phone_rev, province, class, tier, stage, tags,
            external_code, dedup_key, doc, owner_id, team_id, owned_since, created_at, updated_at, search)
         SELECT id, 1, name, pinyin, initials, phone_rev, province, class, tier, stage, tags,
            external_code, dedup_key, doc::jsonb, $14, $15, $16, $16, $16, {search}
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $17::text[])
           AS u(id, name, pinyin, initials, phone_rev, province, class, tier, stage, tags, external_code,
                dedup_key, doc, tokens)",
            search = search_of("tokens")
        ),
        &[
            &ids,
            &col(|i| Some(&i.name)),
            &col(|i| Some(&i.pinyin)),
            &col(|i| Some(&i.initials)),
            &col(|i| i.phone_rev.as_deref()),
            &col(|i| i.province.as_deref()),
            &col(|i| i.class.as_deref()),
            &col(|i| i.tier.as_deref()),
            &col(|i| Some(&i.stage)),
            &col(|i| Some(&i.tags)),
            &col(|i| i.external_code.as_deref()),
            &col(|i| i.dedup_key.as_deref()),
            &col(|i| Some(&i.doc)),
            &owner,
            &team,
            &now,
            &tokens,
        ],
    )
    .await?;
    if owner.is_some() {
        execute(
            t,
            "INSERT INTO ownership_log (customer_id, at, from_user, to_user, reason, actor_id)
             SELECT id, $2, NULL, $3, 'create', $4 FROM unnest($1::bigint[]) AS u(id)",
            &[&ids, &now, &owner, &actor],
        )
        .await?;
    }
    Ok(ids)
}

/// Stores contacts `(customer id, contact)` with one statement, as
/// [`insert_contact`] stores one.
async fn insert_contacts_bulk<C: GenericClient>(
    t: &C,
    rows: &[(i64, &ContactInput)],
    now: DateTime<Utc>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let customers: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.1.name.as_str()).collect();
    let mobiles: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.1.mobile.as_ref().map(|m| rev(&m.digits())))
        .collect();
    let docs: Vec<String> = rows
        .iter()
        .map(|r| crate::stored_contact_doc(r.1))
        .collect();
    execute(
        t,
        "INSERT INTO contacts (customer_id, version, name, mobile_rev, doc, created_at)
         SELECT c, 1, n, m, d::jsonb, $5
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(c, n, m, d, o)
         ORDER BY o",
        &[&customers, &names, &mobiles, &docs, &now],
    )
    .await?;
    Ok(())
}
