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
                audit_row(
                    &t,
                    Some(actor),
                    "import",
                    "contact",
                    None,
                    &serde_json::json!({"rows": chunk.len(), "imported": n}),
                    now,
                )
                .await?;
                Ok::<_, StoreError>((n, existing))
            })?;
            out.imported += n;
            out.existing.extend(existing);
        }
        self.analyze_after(out.imported, "contacts").await?;
        Ok(out)
    }
}
