//! Imports of customers and contacts, and the lookups an import of contacts or orders makes.

use super::*;

#[async_trait]
impl ImportStore for SqliteStore {
    async fn resolve_codes(&self, codes: &[String]) -> Result<Vec<Option<i64>>> {
        let codes: Vec<String> = codes.iter().map(|c| c.to_ascii_uppercase()).collect();
        self.read(move |c| {
            // One read transaction for all of them: a lookup each in its own
            // would take and release the WAL read lock a million times.
            let t = c.unchecked_transaction().map_err(sq)?;
            let mut st = t
                .prepare_cached(
                    "SELECT id FROM customers WHERE external_code = ?1 AND deleted_at IS NULL",
                )
                .map_err(sq)?;
            let mut out = Vec::with_capacity(codes.len());
            for code in codes {
                out.push(st.query_row([&code], |r| r.get(0)).optional().map_err(sq)?);
            }
            drop(st);
            t.finish().map_err(sq)?;
            Ok(out)
        })
        .await
    }

    async fn resolve_customer(
        &self,
        external_code: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<i64>> {
        let (code, name) = (
            external_code.map(|s| s.to_ascii_uppercase()),
            name.map(str::to_string),
        );
        self.read(move |c| {
            if let Some(code) = code {
                return c
                    .query_row(
                        "SELECT id FROM customers WHERE external_code = ?1 AND deleted_at IS NULL",
                        [code],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sq);
            }
            if let Some(name) = name {
                let mut st = c
                    .prepare_cached(
                        "SELECT id FROM customers WHERE name = ?1 AND deleted_at IS NULL LIMIT 2",
                    )
                    .map_err(sq)?;
                let ids = st
                    .query_map([name], |r| r.get::<_, i64>(0))
                    .map_err(sq)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(sq)?;
                return Ok(if ids.len() == 1 { Some(ids[0]) } else { None });
            }
            Ok(None)
        })
        .await
    }

    async fn import_customers(
        &self,
        rows: ImportRows<ImportCustomer>,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let team = self.read(move |c| owner_team(c, owner_id)).await?;
        let actor = actor.clone();
        self.import_pipelined(
            rows,
            ImportPlan {
                tables: &["customers", "contacts", "ownership_log"],
                // The partial indexes of deleted rows take none of the new
                // ones, and that of customers under a care rule of their own
                // (an owner and a class, or key dates…) takes them in id order:
                // building them again would only read the whole table once more.
                // Those that take every row (the scope, the owner's) are built
                // again too: at a million customers, adding to them row by row,
                // in order, made storing the rows 2.5-3 s slower and the whole
                // import 1-4 s (three runs each, in turn); with the search
                // index built beside the writer, 2 s (one run each).
                keep: &["customers_care", "customers_deleted", "contacts_deleted"],
                // A file without birthdays leaves the index of birthdays
                // as it is.
                held: &["contacts_birthday_key"],
                late: &[
                    "customers_name",
                    "customers_phone_rev",
                    "contacts_mobile_rev",
                    "contacts_birthday_key",
                ],
                reads_meanwhile: false,
                searched: true,
                unique_later: true,
            },
            prepare_customer,
            move |t, batch, now, search, later| {
                let (mut n, mut existing) = (0u64, vec![]);
                let rows = batch.len();
                // Prepared once a batch: looked up in the statement cache a
                // row at a time, their SQL was hashed two million times.
                let mut customer = CustomerInsert::new(t, owner_id, team, now)?;
                let mut contact = ContactInsert::new(t, now)?;
                for row in prefetching(batch, PreparedCustomer::prefetch) {
                    later.admit(
                        t,
                        &[
                            row.index.external_code.as_deref(),
                            row.index.dedup_key.as_deref(),
                        ],
                    )?;
                    // The unique indexes on external code and name + phone
                    // refuse a customer stored already: it is counted as existing.
                    let Some(id) = customer.insert(&row.index)? else {
                        existing.push(row.line);
                        continue;
                    };
                    search.add(t, id, std::mem::take(&mut row.tokens))?;
                    log_owner(t, id, None, owner_id, "create", Some(actor.id), now)?;
                    if let Some(ct) = &row.contact {
                        later.contact(t, ct)?;
                        contact.insert(id, ct)?;
                    }
                    n += 1;
                }
                audit_row(
                    t,
                    Some(actor.id),
                    "import",
                    "customer",
                    None,
                    &serde_json::json!({"rows": rows, "imported": n}),
                    now,
                )?;
                Ok((n, existing))
            },
        )
        .await
    }

    async fn import_contacts(
        &self,
        rows: ImportRows<ImportContact>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let actor = actor.clone();
        // Whether a contact is stored already is looked up by customer; the
        // partial index of deleted contacts takes none of the new ones.
        let keep = &["contacts_customer", "contacts_deleted"];
        self.import_pipelined(
            rows,
            ImportPlan {
                tables: &["contacts"],
                keep,
                // A file without birthdays (second contacts, as often as
                // not) leaves the index of birthdays as it is: at a million
                // contacts, its build took 0.6-0.9 s of the import.
                held: &["contacts_birthday_key"],
                late: &["contacts_mobile_rev", "contacts_birthday_key"],
                // The server looks up each batch's customers while the
                // batch before is stored.
                reads_meanwhile: true,
                searched: false,
                unique_later: false,
            },
            prepare_contact,
            move |t, batch, now, _, later| {
                let (mut n, mut existing) = (0u64, vec![]);
                let mut same = t
                    .prepare_cached(
                        "SELECT 1 FROM contacts WHERE customer_id = ?1 AND name = ?2
                     AND mobile_rev IS ?3 AND deleted_at IS NULL",
                    )
                    .map_err(sq)?;
                let mut insert = ContactInsert::new(t, now)?;
                let rows = batch.len();
                for (customer_id, ct) in
                    prefetching(batch, |(_, ct): &(i64, ContactDoc)| ct.prefetch())
                {
                    let customer_id = *customer_id;
                    let found = same
                        .exists(params![customer_id, ct.name, ct.mobile_rev])
                        .map_err(sq)?;
                    if found {
                        existing.push(ct.line);
                        continue;
                    }
                    later.contact(t, ct)?;
                    insert.insert(customer_id, ct)?;
                    n += 1;
                }
                audit_row(
                    t,
                    Some(actor.id),
                    "import",
                    "contact",
                    None,
                    &serde_json::json!({"rows": rows, "imported": n}),
                    now,
                )?;
                Ok((n, existing))
            },
        )
        .await
    }
}
