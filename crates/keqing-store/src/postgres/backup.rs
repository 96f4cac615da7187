//! Backup and verified restore: every table as JSON lines, and the row counts that verify them.

use super::*;

#[async_trait]
impl BackupStore for PgStore {
    async fn table_counts(&self) -> Result<TableCounts> {
        let c = self.client().await?;
        let mut out = vec![];
        for t in TABLES {
            let row = query_one(&c, &format!("SELECT count(*) FROM {t}"), &[]).await?;
            out.push((t.to_string(), get(&row, 0)?));
        }
        Ok(out)
    }

    async fn export_all(&self, out: &mut (dyn std::io::Write + Send)) -> Result<TableCounts> {
        let mut client = self.client().await?;
        // One snapshot for every table, so the export is consistent.
        let t = snapshot(&mut client).await?;
        let mut counts: Vec<(String, i64)> = TABLES.iter().map(|t| (t.to_string(), 0)).collect();
        export_rows(&t, &mut |table, row| {
            let line = serde_json::json!({"table": table, "row": row});
            writeln!(out, "{line}").map_err(db_err)?;
            if let Some(c) = counts.iter_mut().find(|(t, _)| t == table) {
                c.1 += 1;
            }
            Ok(())
        })
        .await?;
        t.commit().await.map_err(pg)?;
        Ok(counts)
    }

    async fn import_all(&self, input: &mut (dyn std::io::BufRead + Send)) -> Result<TableCounts> {
        let mut rows = read_backup(input)?;
        upgrade_backup(&mut rows);
        // One transaction: a row that fails or a difference found by the
        // verification leaves the database as empty as it was.
        in_tx!(self, |t| {
            // No other writer while the emptiness check and the load run.
            t.batch_execute(&format!(
                "LOCK TABLE {} IN EXCLUSIVE MODE",
                TABLES.join(", ")
            ))
            .await
            .map_err(pg)?;
            for table in TABLES {
                let row =
                    query_one(&t, &format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[]).await?;
                if get::<bool>(&row, 0)? {
                    return Err(refuse::restore_needs_empty());
                }
            }
            // Rows arrive in table order, but customers may point at later ones.
            t.batch_execute("SET CONSTRAINTS ALL DEFERRED")
                .await
                .map_err(pg)?;
            // Rows of a table with the same columns go in one statement of
            // up to 500 rows: one round trip per row made the demo's restore
            // take a minute.
            let mut batch = RestoreBatch::default();
            for v in &rows {
                let table = v["table"].as_str().unwrap_or_default();
                if !TABLES.contains(&table) {
                    return Err(StoreError::Db(format!(
                        "unknown table in backup: {table:?}"
                    )));
                }
                let Some(row) = v["row"].as_object() else {
                    continue;
                };
                let cols = columns_of(table)?;
                let mut names = vec![];
                let mut values = vec![];
                for (col, value) in row {
                    let Some((name, kind)) = cols.iter().find(|(c, _)| c == col) else {
                        return Err(StoreError::Db(format!(
                            "unknown column in backup: {table}.{col}"
                        )));
                    };
                    names.push(*name);
                    values.push(json_to_param(table, name, *kind, value)?);
                }
                if !batch.takes(table, &names) {
                    batch.flush(&t).await?;
                    batch.table = table.to_string();
                    batch.names = names;
                }
                batch.values.push(values);
            }
            batch.flush(&t).await?;
            // Restored ids were written explicitly: move each sequence past them.
            for table in TABLES
                .iter()
                .filter(|t| columns_of(t).is_ok_and(|c| c[0].0 == "id"))
            {
                t.batch_execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
                ))
                .await
                .map_err(pg)?;
            }
            // A backup of an older version spells pinyin without spaces.
            respell_names(&t).await?;
            // Verify before the commit: the rows read back as a backup
            // writes them must be the backup's.
            let mut check = crate::verify::RestoreCheck::new(&rows);
            export_rows(&t, &mut |table, row| {
                check.row(table, &row);
                Ok(())
            })
            .await?;
            check.finish()
        })
    }
}
