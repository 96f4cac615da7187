//! Value analysis (SPEC §3): the values it writes back and its saved snapshots.

use super::*;

#[async_trait]
impl AnalysisStore for PgStore {
    async fn set_values(&self, updates: &[ValueUpdate]) -> Result<()> {
        in_tx!(self, |t| {
            let mut ids: Vec<i64> = updates.iter().map(|u| u.customer_id).collect();
            ids.sort_unstable();
            lock_customers(&t, &ids).await?;
            for u in updates {
                let Some(mut c) = get_customer(&t, u.customer_id).await? else {
                    continue;
                };
                c.fields.class = u.class.clone().or(c.fields.class);
                c.fields.tier = u.tier.clone().or(c.fields.tier);
                let idx = CustomerIndex::of(&c.fields);
                execute(
                    &t,
                    "UPDATE customers SET class = $2, tier = $3, doc = $4::text::jsonb, rfm_class = coalesce($5, rfm_class), clv = coalesce($6, clv), p_alive = coalesce($7, p_alive) WHERE id = $1",
                    &[&u.customer_id, &idx.class, &idx.tier, &idx.doc, &u.rfm_class, &u.clv, &u.p_alive],
                )
                .await?;
            }
            Ok(())
        })
    }

    async fn create_analysis_snapshot(&self, n: &NewAnalysisSnapshot) -> Result<AnalysisSnapshot> {
        in_tx!(self, |t| {
            let row = query_one(
                &t,
                &format!(
                    "INSERT INTO analysis_snapshots (kind, name, params, as_of, summary, members, created_at, created_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {SNAPSHOT_COLS}"
                ),
                &[
                    &n.kind,
                    &n.name,
                    &n.params,
                    &n.as_of,
                    &n.summary,
                    &(n.members.len() as i64),
                    &Utc::now(),
                    &n.created_by,
                ],
            )
            .await?;
            let snap = snapshot_row(&row)?;
            // Members in batches of arrays: one statement per batch, not per row.
            for chunk in n.members.chunks(IMPORT_BATCH * 5) {
                let ids: Vec<i64> = chunk.iter().map(|m| m.customer_id).collect();
                let classes: Vec<Option<String>> = chunk.iter().map(|m| m.class.clone()).collect();
                let data: Vec<serde_json::Value> = chunk.iter().map(|m| m.data.clone()).collect();
                execute(
                    &t,
                    "INSERT INTO analysis_snapshot_members (snapshot_id, customer_id, class, data)
                     SELECT $1, m.customer_id, m.class, m.data
                     FROM unnest($2::bigint[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS m(customer_id, class, data, n)
                     ORDER BY m.n",
                    &[&snap.id, &ids, &classes, &data],
                )
                .await?;
            }
            Ok(snap)
        })
    }

    async fn analysis_snapshots(&self, created_by: Option<i64>) -> Result<Vec<AnalysisSnapshot>> {
        let c = self.client().await?;
        query(
            &c,
            &format!(
                "SELECT {SNAPSHOT_COLS} FROM analysis_snapshots
                 WHERE $1::bigint IS NULL OR created_by = $1 ORDER BY id DESC"
            ),
            &[&created_by],
        )
        .await?
        .iter()
        .map(snapshot_row)
        .collect()
    }

    async fn analysis_snapshot(&self, id: i64) -> Result<Option<AnalysisSnapshot>> {
        let c = self.client().await?;
        query_opt(
            &c,
            &format!("SELECT {SNAPSHOT_COLS} FROM analysis_snapshots WHERE id = $1"),
            &[&id],
        )
        .await?
        .map(|r| snapshot_row(&r))
        .transpose()
    }

    async fn analysis_snapshot_members(
        &self,
        id: i64,
        f: &SnapshotMemberFilter,
    ) -> Result<Page<SnapshotMemberRow>> {
        let c = self.client().await?;
        // The caller's scope over live customers, as a customer list has it.
        let (w, mut p) = customer_where(&CustomerFilter {
            visibility: f.visibility.clone(),
            ..Default::default()
        });
        let scope = w.strip_prefix("WHERE ").unwrap_or("TRUE").to_string();
        let sid = p.push(id);
        let class = p.push(f.class.clone());
        let from = format!(
            "FROM analysis_snapshot_members m JOIN customers c ON c.id = m.customer_id
             WHERE m.snapshot_id = {sid} AND ({class}::text IS NULL OR m.class = {class})
               AND m.customer_id IN (SELECT id FROM customers WHERE {scope})"
        );
        let total: i64 = get(
            &query_one(&c, &format!("SELECT count(*) {from}"), &p.refs()).await?,
            0,
        )?;
        let limit = if f.limit > 0 { Some(f.limit) } else { None };
        let lim = p.push(limit);
        let off = p.push(f.offset.max(0));
        let rows = query(
            &c,
            &format!(
                "SELECT m.customer_id, c.name, c.owner_id, m.class, m.data {from}
                 ORDER BY m.id LIMIT {lim} OFFSET {off}"
            ),
            &p.refs(),
        )
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(SnapshotMemberRow {
                    customer_id: get(r, 0)?,
                    name: get(r, 1)?,
                    owner_id: get(r, 2)?,
                    class: get(r, 3)?,
                    data: get(r, 4)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(crate::analysis::members_page(items, total, f))
    }

    async fn delete_analysis_snapshot(&self, id: i64) -> Result<()> {
        in_tx!(self, |t| {
            execute(
                &t,
                "DELETE FROM analysis_snapshot_members WHERE snapshot_id = $1",
                &[&id],
            )
            .await?;
            if execute(&t, "DELETE FROM analysis_snapshots WHERE id = $1", &[&id]).await? == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }
}

const SNAPSHOT_COLS: &str =
    "id, kind, name, params, as_of, summary, created_at, created_by, members";

fn snapshot_row(r: &Row) -> Result<AnalysisSnapshot> {
    Ok(AnalysisSnapshot {
        id: get(r, 0)?,
        kind: get(r, 1)?,
        name: get(r, 2)?,
        params: get(r, 3)?,
        as_of: get(r, 4)?,
        summary: get(r, 5)?,
        created_at: get(r, 6)?,
        created_by: get(r, 7)?,
        members: get(r, 8)?,
    })
}
