//! Backup and verified restore: every table as JSON lines, and the row counts that verify them.

use super::*;

#[async_trait]
impl BackupStore for SqliteStore {
    async fn table_counts(&self) -> Result<TableCounts> {
        self.read(|c| {
            TABLES
                .iter()
                .map(|t| {
                    c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                        .map(|n| (t.to_string(), n))
                        .map_err(sq)
                })
                .collect()
        })
        .await
    }

    async fn export_all(&self, out: &mut (dyn std::io::Write + Send)) -> Result<TableCounts> {
        // One read transaction, so the export is a consistent snapshot.
        let lines = self
            .read(|c| {
                c.execute_batch("BEGIN").map_err(sq)?;
                let mut lines = vec![];
                let r = export_rows(c, &mut |table, row| {
                    lines.push((
                        table,
                        serde_json::json!({"table": table, "row": row}).to_string(),
                    ));
                    Ok(())
                });
                c.execute_batch("COMMIT").map_err(sq)?;
                r.map(|()| lines)
            })
            .await?;
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for (table, l) in &lines {
            writeln!(out, "{l}").map_err(db_err)?;
            *counts.entry(table).or_default() += 1;
        }
        Ok(TABLES
            .iter()
            .map(|t| (t.to_string(), counts.get(t).copied().unwrap_or(0)))
            .collect())
    }

    async fn import_all(&self, input: &mut (dyn std::io::BufRead + Send)) -> Result<TableCounts> {
        let mut rows = vec![];
        rows.extend(read_backup(input)?);
        upgrade_backup(&mut rows);
        // One transaction: a row that fails or a difference found by the
        // verification leaves the database as empty as it was.
        self.tx(move |t| {
            let existing: i64 = t
                .query_row(
                    "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM customers)",
                    [],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            if existing > 0 {
                return Err(refuse::restore_needs_empty());
            }
            t.execute_batch("PRAGMA defer_foreign_keys = ON")
                .map_err(sq)?;
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
                let (cols, vals): (Vec<&str>, Vec<SqlValue>) = if table == "care_tasks" {
                    care_task_from_backup(row)?.into_iter().unzip()
                } else {
                    row.iter()
                        .map(|(c, v)| (c.as_str(), json_to_sql(c, v)))
                        .unzip()
                };
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    cols.iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    (1..=cols.len())
                        .map(|i| format!("?{i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                t.prepare_cached(&sql)
                    .map_err(sq)?
                    .execute(params_from_iter(vals.iter()))
                    .map_err(sq)?;
            }
            rebuild_search(t)?;
            derive_columns(t)?;
            // Verify before the commit: the rows read back as a backup
            // writes them must be the backup's.
            let mut check = crate::verify::RestoreCheck::new(&rows);
            export_rows(t, &mut |table, row| {
                check.row(table, &row);
                Ok(())
            })?;
            check.finish()
        })
        .await
    }
}
