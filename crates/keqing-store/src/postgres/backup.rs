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
                let (table, Some(row)) = crate::backup::backup_line(v)? else {
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

/// How a column travels in a backup, which is SQLite's view of the row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    /// DOUBLE PRECISION here and REAL in SQLite (a probability, never money).
    Float,
    Text,
    /// BOOLEAN here, 0/1 in SQLite and in backups.
    Bool,
    /// TIMESTAMPTZ here, `sqlite::ts` text in backups.
    Ts,
    /// DATE here, `YYYY-MM-DD` in backups.
    Date,
    /// JSONB here, a JSON value in backups.
    Json,
}

use Kind::*;

/// Every backed-up table's columns, in SQLite's column order.
const COLUMNS: &[(&str, &[(&str, Kind)])] = &[
    (
        "regions",
        &[("id", Int), ("name", Text), ("created_at", Ts)],
    ),
    ("teams", &[("id", Int), ("name", Text), ("region", Text)]),
    (
        "users",
        &[
            ("id", Int),
            ("username", Text),
            ("display_name", Text),
            ("role", Text),
            ("team_id", Int),
            ("region", Text),
            ("password_hash", Text),
            ("active", Bool),
            ("created_at", Ts),
        ],
    ),
    (
        "customers",
        &[
            ("id", Int),
            ("version", Int),
            ("name", Text),
            ("pinyin", Text),
            ("initials", Text),
            ("phone_rev", Text),
            ("province", Text),
            ("class", Text),
            ("tier", Text),
            ("stage", Text),
            ("tags", Text),
            ("external_code", Text),
            ("dedup_key", Text),
            ("doc", Json),
            ("owner_id", Int),
            ("team_id", Int),
            ("rfm_class", Text),
            ("clv", Text),
            ("last_follow_up_at", Ts),
            ("owned_since", Ts),
            ("created_at", Ts),
            ("updated_at", Ts),
            ("deleted_at", Ts),
            ("merged_into", Int),
            ("p_alive", Float),
        ],
    ),
    (
        "contacts",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("version", Int),
            ("name", Text),
            ("mobile_rev", Text),
            ("doc", Json),
            ("created_at", Ts),
            ("deleted_at", Ts),
        ],
    ),
    (
        "activities",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("contact_id", Int),
            ("user_id", Int),
            ("kind", Text),
            ("at", Ts),
            ("doc", Json),
        ],
    ),
    (
        "orders",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("external_id", Text),
            ("ordered_at", Ts),
            ("amount_fen", Int),
            ("quantity", Int),
            ("product", Text),
            ("channel", Text),
            ("store", Text),
            ("due_date", Date),
            ("paid_date", Date),
            ("unit", Text),
            ("seller_id", Int),
            ("version", Int),
        ],
    ),
    (
        "payments",
        &[
            ("id", Int),
            ("order_id", Int),
            ("amount_fen", Int),
            ("due_date", Date),
            ("paid_date", Date),
            ("version", Int),
            ("created_at", Ts),
            ("created_by", Int),
        ],
    ),
    (
        "customer_history",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("at", Ts),
            ("user_id", Int),
            ("field", Text),
            ("old", Json),
            ("new", Json),
        ],
    ),
    (
        "ownership_log",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("at", Ts),
            ("from_user", Int),
            ("to_user", Int),
            ("reason", Text),
            ("actor_id", Int),
            ("note", Text),
        ],
    ),
    (
        "change_reports",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("note", Text),
            ("reported_on", Date),
            ("due_on", Date),
            ("registered_on", Date),
            ("reported_by", Int),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", Int),
            ("at", Ts),
            ("user_id", Int),
            ("action", Text),
            ("entity", Text),
            ("entity_id", Int),
            ("detail", Json),
        ],
    ),
    (
        "care_templates",
        &[
            ("id", Int),
            ("name", Text),
            ("body", Text),
            ("occasion", Text),
            ("active", Bool),
        ],
    ),
    ("care_texts", &[("id", Int), ("body", Text)]),
    (
        "care_tasks",
        &[
            ("id", Int),
            ("kind", Text),
            ("planned_for", Date),
            ("date", Date),
            ("customer_id", Int),
            ("contact_id", Int),
            ("owner_id", Int),
            ("occasions_id", Int),
            ("template_id", Int),
            ("message_id", Int),
            ("channel", Text),
            ("status", Text),
            ("reason", Text),
            ("snoozed_until", Date),
            ("activity_id", Int),
            ("created_at", Ts),
            ("updated_at", Ts),
        ],
    ),
    (
        "care_settings",
        &[("key", Text), ("value", Json), ("updated_at", Ts)],
    ),
    (
        "analysis_snapshots",
        &[
            ("id", Int),
            ("kind", Text),
            ("name", Text),
            ("params", Json),
            ("as_of", Date),
            ("summary", Json),
            ("members", Int),
            ("created_at", Ts),
            ("created_by", Int),
        ],
    ),
    (
        "analysis_snapshot_members",
        &[
            ("id", Int),
            ("snapshot_id", Int),
            ("customer_id", Int),
            ("class", Text),
            ("data", Json),
        ],
    ),
    (
        "targets",
        &[
            ("id", Int),
            ("level", Text),
            ("subject_id", Int),
            ("metric", Text),
            ("year", Int),
            ("version", Int),
            ("created_at", Ts),
            ("created_by", Int),
        ],
    ),
    (
        "target_revisions",
        &[
            ("id", Int),
            ("target_id", Int),
            ("version", Int),
            ("amount", Int),
            ("months", Json),
            ("effective_from", Date),
            ("reason", Text),
            ("user_id", Int),
            ("at", Ts),
        ],
    ),
    (
        "pay_settings",
        &[
            ("name", Text),
            ("doc", Json),
            ("version", Int),
            ("updated_by", Int),
            ("updated_at", Ts),
        ],
    ),
    (
        "pay_bases",
        &[
            ("id", Int),
            ("user_id", Int),
            ("effective_from", Date),
            ("amount_fen", Int),
            ("set_by", Int),
            ("set_at", Ts),
        ],
    ),
    (
        "pay_rates",
        &[
            ("id", Int),
            ("subject", Text),
            ("effective_from", Date),
            ("rate_bp", Int),
            ("set_by", Int),
            ("set_at", Ts),
        ],
    ),
    (
        "pay_scores",
        &[
            ("id", Int),
            ("kind", Text),
            ("month", Text),
            ("user_id", Int),
            ("item", Text),
            ("score", Int),
            ("note", Text),
            ("scored_by", Int),
            ("scored_at", Ts),
        ],
    ),
    (
        "pay_runs",
        &[
            ("id", Int),
            ("kind", Text),
            ("period", Text),
            ("status", Text),
            ("version", Int),
            ("doc", Json),
            ("created_by", Int),
            ("created_at", Ts),
            ("reviewed_by", Int),
            ("reviewed_at", Ts),
            ("approved_by", Int),
            ("approved_at", Ts),
            ("locked_by", Int),
            ("locked_at", Ts),
        ],
    ),
    (
        "pay_lines",
        &[
            ("id", Int),
            ("run_id", Int),
            ("user_id", Int),
            ("team_id", Int),
            ("adjustment", Bool),
            ("total_fen", Int),
            ("doc", Json),
            ("reviewed_by", Int),
            ("reviewed_at", Ts),
            ("created_by", Int),
            ("created_at", Ts),
        ],
    ),
];

fn columns_of(table: &str) -> Result<&'static [(&'static str, Kind)]> {
    COLUMNS
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, c)| *c)
        .ok_or_else(|| StoreError::Db(format!("unknown table in backup: {table:?}")))
}

/// Every row of every table in a backup's shape, tables in [`TABLES`]
/// order, rows in key order, to `row`.
async fn export_rows<C: GenericClient>(
    t: &C,
    row: &mut (dyn FnMut(&'static str, serde_json::Map<String, serde_json::Value>) -> Result<()>
              + Send),
) -> Result<()> {
    for &table in TABLES {
        let cols = columns_of(table)?;
        let names = cols.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
        // Rows in key order, text keys in byte order as SQLite sorts them.
        let order = match cols[0] {
            ("id", _) => "id".to_string(),
            (key, _) => format!("{key} COLLATE \"C\""),
        };
        let rows = t
            .query(
                format!("SELECT {names} FROM {table} ORDER BY {order}").as_str(),
                &[],
            )
            .await
            .map_err(pg)?;
        for r in &rows {
            let mut m = serde_json::Map::new();
            for (i, (col, kind)) in cols.iter().enumerate() {
                m.insert(col.to_string(), column_to_json(r, i, *kind)?);
            }
            row(table, m)?;
        }
    }
    Ok(())
}

/// Restored rows of one table with the same columns, for one INSERT.
#[derive(Default)]
struct RestoreBatch {
    table: String,
    names: Vec<&'static str>,
    values: Vec<Vec<Param>>,
}

impl RestoreBatch {
    /// Whether a row of `table` with the columns `names` joins the batch.
    fn takes(&self, table: &str, names: &[&'static str]) -> bool {
        self.table == table
            && self.names == names
            && self.values.len() < 500
            && (self.values.len() + 1) * names.len() < 60_000
    }

    async fn flush<C: GenericClient>(&mut self, t: &C) -> Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        let width = self.names.len();
        let rows: Vec<String> = (0..self.values.len())
            .map(|r| {
                let places: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", places.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.names.join(", "),
            rows.join(", ")
        );
        let params: Vec<&(dyn ToSql + Sync)> = self
            .values
            .iter()
            .flatten()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        t.execute(sql.as_str(), &params).await.map_err(pg)?;
        self.values.clear();
        Ok(())
    }
}

/// One column of a row as a backup writes it.
fn column_to_json(r: &Row, i: usize, kind: Kind) -> Result<serde_json::Value> {
    use serde_json::Value;
    Ok(match kind {
        Int => get::<Option<i64>>(r, i)?.map_or(Value::Null, Value::from),
        Float => get::<Option<f64>>(r, i)?.map_or(Value::Null, Value::from),
        Text => get::<Option<String>>(r, i)?.map_or(Value::Null, Value::from),
        Bool => get::<Option<bool>>(r, i)?.map_or(Value::Null, |b| Value::from(b as i64)),
        Ts => get::<Option<DateTime<Utc>>>(r, i)?.map_or(Value::Null, |t| Value::from(ts(t))),
        Date => get::<Option<NaiveDate>>(r, i)?.map_or(Value::Null, |d| {
            Value::from(d.format("%Y-%m-%d").to_string())
        }),
        Json => get::<Option<Value>>(r, i)?.unwrap_or(Value::Null),
    })
}

/// One value of a backup as the parameter for its column.
fn json_to_param(table: &str, col: &str, kind: Kind, v: &serde_json::Value) -> Result<Param> {
    use serde_json::Value;
    let bad = || StoreError::Db(format!("backup {table}.{col}: unexpected value {v}"));
    if v.is_null() && kind != Json {
        return Ok(match kind {
            Int => Box::new(None::<i64>),
            Float => Box::new(None::<f64>),
            Bool => Box::new(None::<bool>),
            Ts => Box::new(None::<DateTime<Utc>>),
            Date => Box::new(None::<NaiveDate>),
            Text | Json => Box::new(None::<String>),
        });
    }
    Ok(match kind {
        Int => Box::new(v.as_i64().ok_or_else(bad)?),
        Float => Box::new(v.as_f64().ok_or_else(bad)?),
        Text => Box::new(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        Bool => Box::new(match v {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_i64().ok_or_else(bad)? != 0,
            _ => return Err(bad()),
        }),
        Ts => Box::new(
            DateTime::parse_from_rfc3339(v.as_str().ok_or_else(bad)?)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
        ),
        Date => Box::new(
            NaiveDate::parse_from_str(v.as_str().ok_or_else(bad)?, "%Y-%m-%d")
                .map_err(|_| bad())?,
        ),
        // A JSON null is the document `null`, as SQLite stores the text "null".
        Json => Box::new(v.clone()),
    })
}
