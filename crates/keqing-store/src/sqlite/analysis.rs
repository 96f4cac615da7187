//! Value analysis (SPEC §3): the values it writes back and its saved snapshots.

use super::*;

#[async_trait]
impl AnalysisStore for SqliteStore {
    async fn set_values(&self, updates: &[ValueUpdate]) -> Result<()> {
        let updates = updates.to_vec();
        self.tx(move |t| {
            for u in &updates {
                let Some(mut c) = get_customer(t, u.customer_id)? else { continue };
                c.fields.class = u.class.clone().or(c.fields.class);
                c.fields.tier = u.tier.clone().or(c.fields.tier);
                let idx = CustomerIndex::of(&c.fields);
                t.execute(
                    "UPDATE customers SET class = ?2, tier = ?3, doc = ?4, rfm_class = coalesce(?5, rfm_class), clv = coalesce(?6, clv), p_alive = coalesce(?7, p_alive) WHERE id = ?1",
                    params![u.customer_id, idx.class, idx.tier, idx.doc, u.rfm_class, u.clv, u.p_alive],
                )
                .map_err(sq)?;
            }
            Ok(())
        })
        .await
    }

    async fn create_analysis_snapshot(&self, n: &NewAnalysisSnapshot) -> Result<AnalysisSnapshot> {
        let n = n.clone();
        self.tx(move |t| {
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO analysis_snapshots (kind, name, params, as_of, summary, members, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    n.kind,
                    n.name,
                    n.params.to_string(),
                    n.as_of.map(|d| d.format("%Y-%m-%d").to_string()),
                    n.summary.to_string(),
                    n.members.len() as i64,
                    now,
                    n.created_by
                ],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            let mut st = t
                .prepare_cached(
                    "INSERT INTO analysis_snapshot_members (snapshot_id, customer_id, class, data) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sq)?;
            for m in &n.members {
                st.execute(params![id, m.customer_id, m.class, m.data.to_string()])
                    .map_err(sq)?;
            }
            get_snapshot(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn analysis_snapshots(&self, created_by: Option<i64>) -> Result<Vec<AnalysisSnapshot>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {SNAPSHOT_COLS} FROM analysis_snapshots
                     WHERE ?1 IS NULL OR created_by = ?1 ORDER BY id DESC"
                ))
                .map_err(sq)?;
            let rows = rows_of(&mut st, [created_by], snapshot_row)?;
            Ok(rows)
        })
        .await
    }

    async fn analysis_snapshot(&self, id: i64) -> Result<Option<AnalysisSnapshot>> {
        self.read(move |c| get_snapshot(c, id)).await
    }

    async fn analysis_snapshot_members(
        &self,
        id: i64,
        f: &SnapshotMemberFilter,
    ) -> Result<Page<SnapshotMemberRow>> {
        let f = f.clone();
        self.read(move |c| {
            // The caller's scope over live customers, as a customer list has it.
            let CustomerWhere {
                clause: w,
                params: mut p,
                ..
            } = customer_where(&CustomerFilter {
                visibility: f.visibility.clone(),
                ..Default::default()
            });
            let scope = w.strip_prefix("WHERE ").unwrap_or("1 = 1");
            p.push(id.into());
            let sid = p.len();
            p.push(
                f.class
                    .clone()
                    .map(SqlValue::from)
                    .unwrap_or(SqlValue::Null),
            );
            let class = p.len();
            let from = format!(
                "FROM analysis_snapshot_members m JOIN customers c ON c.id = m.customer_id
                 WHERE m.snapshot_id = ?{sid} AND (?{class} IS NULL OR m.class = ?{class})
                   AND m.customer_id IN (SELECT id FROM customers WHERE {scope})"
            );
            let total: i64 = c
                .query_row(
                    &format!("SELECT count(*) {from}"),
                    params_from_iter(p.iter()),
                    |r| r.get(0),
                )
                .map_err(sq)?;
            let limit = if f.limit > 0 { f.limit } else { -1 };
            let mut st = c
                .prepare(&format!(
                    "SELECT m.customer_id, c.name, c.owner_id, m.class, m.data {from}
                     ORDER BY m.id LIMIT {limit} OFFSET {}",
                    f.offset.max(0)
                ))
                .map_err(sq)?;
            let items = rows_of(&mut st, params_from_iter(p.iter()), |r| {
                let data: String = r.get(4)?;
                Ok(SnapshotMemberRow {
                    customer_id: r.get(0)?,
                    name: r.get(1)?,
                    owner_id: r.get(2)?,
                    class: r.get(3)?,
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                })
            })?;
            Ok(crate::analysis::members_page(items, total, &f))
        })
        .await
    }

    async fn delete_analysis_snapshot(&self, id: i64) -> Result<()> {
        self.tx(move |t| {
            t.execute(
                "DELETE FROM analysis_snapshot_members WHERE snapshot_id = ?1",
                [id],
            )
            .map_err(sq)?;
            if t.execute("DELETE FROM analysis_snapshots WHERE id = ?1", [id])
                .map_err(sq)?
                == 0
            {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}

const SNAPSHOT_COLS: &str =
    "id, kind, name, params, as_of, summary, created_at, created_by, members";

fn snapshot_row(r: &Row) -> rusqlite::Result<AnalysisSnapshot> {
    let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
        let s: String = r.get(i)?;
        Ok(serde_json::from_str(&s).unwrap_or(serde_json::Value::Null))
    };
    let as_of: Option<String> = r.get(4)?;
    Ok(AnalysisSnapshot {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        params: json(3)?,
        as_of: as_of.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        summary: json(5)?,
        created_at: parse_ts(&r.get::<_, String>(6)?)?,
        created_by: r.get(7)?,
        members: r.get(8)?,
    })
}

fn get_snapshot(c: &Connection, id: i64) -> Result<Option<AnalysisSnapshot>> {
    c.query_row(
        &format!("SELECT {SNAPSHOT_COLS} FROM analysis_snapshots WHERE id = ?1"),
        [id],
        snapshot_row,
    )
    .optional()
    .map_err(sq)
}
