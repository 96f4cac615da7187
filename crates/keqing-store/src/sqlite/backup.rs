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
                let (table, Some(row)) = crate::backup::backup_line(v)? else {
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

/// Every row of every table in a backup's shape, tables in [`TABLES`]
/// order, rows in key order, to `row`.
fn export_rows(
    c: &Connection,
    row: &mut dyn FnMut(&'static str, serde_json::Map<String, serde_json::Value>) -> Result<()>,
) -> Result<()> {
    for &table in TABLES {
        if table == "care_tasks" {
            // Stored in integers, backed up as version 6 wrote them.
            let mut st = c.prepare(CARE_TASK_STORED).map_err(sq)?;
            let mut rows = st.query([]).map_err(sq)?;
            while let Some(r) = rows.next().map_err(sq)? {
                row(table, care_task_to_backup(r)?)?;
            }
            continue;
        }
        let mut st = c
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .map_err(sq)?;
        let cols: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = st.query([]).map_err(sq)?;
        while let Some(r) = rows.next().map_err(sq)? {
            let mut m = serde_json::Map::new();
            for (i, col) in cols.iter().enumerate() {
                if DERIVED_COLUMNS.contains(&(table, col.as_str())) {
                    continue;
                }
                let v: SqlValue = r.get(i).map_err(sq)?;
                m.insert(col.clone(), sql_to_json(col, v));
            }
            row(table, m)?;
        }
    }
    Ok(())
}

/// Backups carry SQLite's own values: integers, text, reals, nulls.
fn sql_to_json(col: &str, v: SqlValue) -> serde_json::Value {
    match v {
        // JSON columns travel as JSON, so a backup restores into either backend.
        SqlValue::Text(s) if JSON_COLUMNS.contains(&col) => {
            serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
        }
        SqlValue::Null => serde_json::Value::Null,
        SqlValue::Integer(i) => i.into(),
        SqlValue::Real(f) => f.into(),
        SqlValue::Text(s) => s.into(),
        SqlValue::Blob(b) => b
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
            .into(),
    }
}

fn json_to_sql(col: &str, v: &serde_json::Value) -> SqlValue {
    if JSON_COLUMNS.contains(&col) {
        return SqlValue::Text(v.to_string());
    }
    match v {
        serde_json::Value::Null => SqlValue::Null,
        serde_json::Value::Bool(b) => SqlValue::Integer(*b as i64),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(SqlValue::Integer)
            .unwrap_or_else(|| SqlValue::Real(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

/// The columns of a care task in a backup, in order: version 6's shape,
/// which both backends write and read.
const CARE_TASK_BACKUP_COLS: [&str; 17] = [
    "id",
    "kind",
    "planned_for",
    "date",
    "customer_id",
    "contact_id",
    "owner_id",
    "occasions_id",
    "template_id",
    "message_id",
    "channel",
    "status",
    "reason",
    "snoozed_until",
    "activity_id",
    "created_at",
    "updated_at",
];

/// The stored columns read for [`care_task_to_backup`].
const CARE_TASK_STORED: &str = "SELECT id, kind, planned_for, date, subject, contact, owner_id, occasions_id, template_id, message_id, channel, status, reason, snoozed_until, activity_id, created_at, updated_at FROM care_tasks ORDER BY id";

/// A stored care task (as [`CARE_TASK_STORED`] reads it) in a backup's shape.
fn care_task_to_backup(r: &Row) -> Result<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let int = |i: usize| -> Result<Option<i64>> { r.get(i).map_err(sq) };
    let text = |i: usize| -> Result<Value> {
        Ok(r.get::<_, Option<String>>(i)
            .map_err(sq)?
            .map_or(Value::Null, Value::from))
    };
    let day = |i: usize| -> Result<Value> {
        Ok(match int(i)? {
            Some(n) => Value::from(day_of_number(n)?.format("%Y-%m-%d").to_string()),
            None => Value::Null,
        })
    };
    let time = |i: usize| -> Result<Value> {
        Ok(match int(i)? {
            Some(us) => Value::from(ts(time_of_micros(us)?)),
            None => Value::Null,
        })
    };
    let subject = int(4)?.unwrap_or_default();
    let contact = int(5)?.unwrap_or_default();
    let values = [
        Value::from(int(0)?),
        Value::from(care_code_name(&CARE_KIND_CODES, int(1)?.unwrap_or(-1))?),
        day(2)?,
        day(3)?,
        Value::from((subject > 0).then_some(subject)),
        Value::from((contact != 0).then_some(contact)),
        Value::from(int(6)?),
        Value::from(int(7)?),
        Value::from(int(8)?),
        Value::from(int(9)?),
        text(10)?,
        Value::from(care_code_name(&CARE_STATUS_CODES, int(11)?.unwrap_or(-1))?),
        text(12)?,
        day(13)?,
        Value::from(int(14)?),
        time(15)?,
        time(16)?,
    ];
    Ok(CARE_TASK_BACKUP_COLS
        .iter()
        .map(|c| c.to_string())
        .zip(values)
        .collect())
}

/// A care task of a backup (version 6's shape) as the columns to store.
fn care_task_from_backup(
    row: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(&'static str, SqlValue)>> {
    use serde_json::Value;
    let bad = |col: &str| {
        StoreError::Db(format!(
            "backup care_tasks.{col}: unexpected value {}",
            row.get(col).unwrap_or(&Value::Null)
        ))
    };
    let int = |col: &str| -> Result<Option<i64>> {
        match row.get(col) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| bad(col)),
        }
    };
    let text = |col: &str| -> Result<Option<&str>> {
        match row.get(col) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or_else(|| bad(col)),
        }
    };
    let day = |col: &str| -> Result<SqlValue> {
        Ok(match text(col)? {
            Some(s) => SqlValue::Integer(day_number(parse_date(s).map_err(|_| bad(col))?)),
            None => SqlValue::Null,
        })
    };
    let time = |col: &str| -> Result<SqlValue> {
        Ok(match text(col)? {
            Some(s) => SqlValue::Integer(parse_ts(s).map_err(|_| bad(col))?.timestamp_micros()),
            None => SqlValue::Null,
        })
    };
    let opt = |v: Option<i64>| v.map_or(SqlValue::Null, SqlValue::Integer);
    let owner = int("owner_id")?;
    let customer = int("customer_id")?;
    Ok(vec![
        ("id", opt(int("id")?)),
        ("subject", SqlValue::Integer(care_subject(customer, owner))),
        ("planned_for", day("planned_for")?),
        (
            "contact",
            SqlValue::Integer(int("contact_id")?.unwrap_or(0)),
        ),
        (
            "kind",
            SqlValue::Integer(
                text("kind")?
                    .and_then(care_kind_code)
                    .ok_or_else(|| bad("kind"))?,
            ),
        ),
        ("date", day("date")?),
        ("owner_id", opt(owner)),
        ("occasions_id", opt(int("occasions_id")?)),
        ("template_id", opt(int("template_id")?)),
        ("message_id", opt(int("message_id")?)),
        (
            "channel",
            text("channel")?.map_or(SqlValue::Null, |s| SqlValue::Text(s.into())),
        ),
        (
            "status",
            SqlValue::Integer(
                text("status")?
                    .map_or(Some(0), care_status_code)
                    .ok_or_else(|| bad("status"))?,
            ),
        ),
        (
            "reason",
            text("reason")?.map_or(SqlValue::Null, |s| SqlValue::Text(s.into())),
        ),
        ("snoozed_until", day("snoozed_until")?),
        ("activity_id", opt(int("activity_id")?)),
        ("created_at", time("created_at")?),
        ("updated_at", time("updated_at")?),
    ])
}

/// Columns derived from others: left out of a backup (another backend has
/// no such column) and computed again on restore.
const DERIVED_COLUMNS: &[(&str, &str)] = &[("contacts", "birthday_key")];

/// Fills the derived columns of restored rows.
fn derive_columns(t: &Connection) -> Result<()> {
    let mut st = t
        .prepare("SELECT id, doc FROM contacts WHERE json_extract(doc, '$.birthday') IS NOT NULL")
        .map_err(sq)?;
    let rows: Vec<(i64, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sq)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sq)?;
    let mut set = t
        .prepare("UPDATE contacts SET birthday_key = ?2 WHERE id = ?1")
        .map_err(sq)?;
    for (id, doc) in rows {
        let input = contact_input(&json_col(&doc).map_err(sq)?)?;
        set.execute(params![
            id,
            input.birthday.as_ref().map(crate::birthday_key)
        ])
        .map_err(sq)?;
    }
    Ok(())
}
