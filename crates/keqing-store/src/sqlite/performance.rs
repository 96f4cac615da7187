//! Targets and the daily performance totals (SPEC §6).

use super::*;
use crate::performance::{never, ActualRow, Grain, PerformanceStore};
use keqing_domain::performance::{
    Level, Metric, RevisionInput, Target, TargetInput, TargetRevision,
};

const TARGET_ROWS: &str = "SELECT t.id, t.level, t.subject_id, t.metric, t.year, t.version,
        r.version, r.amount, r.months, r.effective_from, r.reason, r.user_id, u.display_name, r.at
     FROM targets t JOIN target_revisions r ON r.target_id = t.id
     LEFT JOIN users u ON u.id = r.user_id";

/// Targets from [`TARGET_ROWS`] rows ordered by target, then revision.
fn read_targets(st: &mut rusqlite::Statement, p: impl rusqlite::Params) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = vec![];
    let mut rows = st.query(p).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let id: i64 = r.get(0).map_err(sq)?;
        let months: String = r.get(8).map_err(sq)?;
        let from: String = r.get(9).map_err(sq)?;
        let at: String = r.get(13).map_err(sq)?;
        let rev = TargetRevision {
            version: r.get(6).map_err(sq)?,
            amount: r.get(7).map_err(sq)?,
            months: serde_json::from_str(&months).map_err(db_err)?,
            effective_from: from.parse().map_err(db_err)?,
            reason: r.get(10).map_err(sq)?,
            by: r.get(11).map_err(sq)?,
            by_name: r.get(12).map_err(sq)?,
            at: parse_ts(&at).map_err(sq)?,
        };
        if out.last().is_some_and(|t| t.id == id) {
            out.last_mut().expect("checked").revisions.push(rev);
            continue;
        }
        let level: String = r.get(1).map_err(sq)?;
        let metric: String = r.get(3).map_err(sq)?;
        let subject: i64 = r.get(2).map_err(sq)?;
        out.push(Target {
            id,
            level: Level::parse(&level).map_err(db_err)?,
            subject_id: (subject != 0).then_some(subject),
            metric: Metric::parse(&metric).map_err(db_err)?,
            year: r.get(4).map_err(sq)?,
            version: r.get(5).map_err(sq)?,
            revisions: vec![rev],
        });
    }
    Ok(out)
}

fn load_target(c: &Connection, id: i64) -> Result<Option<Target>> {
    let mut st = c
        .prepare_cached(&format!("{TARGET_ROWS} WHERE t.id = ?1 ORDER BY r.version"))
        .map_err(sq)?;
    Ok(read_targets(&mut st, [id])?.pop())
}

fn months_json(m: &[i64; 12]) -> String {
    serde_json::to_string(m).expect("integers serialise")
}

#[async_trait]
impl PerformanceStore for SqliteStore {
    async fn create_target(&self, t: &TargetInput, actor: &User) -> Result<Target> {
        let (t, actor) = (t.clone(), actor.id);
        self.tx(move |tx| {
            let subject = t.subject_id.unwrap_or(0);
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM targets WHERE level = ?1 AND subject_id = ?2 AND metric = ?3 AND year = ?4",
                    params![t.level.as_str(), subject, t.metric.as_str(), t.year],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sq)?;
            if let Some(id) = existing {
                return Err(StoreError::Duplicate(vec![id]));
            }
            let now = ts(Utc::now());
            tx.execute(
                "INSERT INTO targets (level, subject_id, metric, year, version, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
                params![t.level.as_str(), subject, t.metric.as_str(), t.year, now, actor],
            )
            .map_err(sq)?;
            let id = tx.last_insert_rowid();
            let first = NaiveDate::from_ymd_opt(t.year, 1, 1).expect("a year from 2000 to 2100");
            tx.execute(
                "INSERT INTO target_revisions (target_id, version, amount, months, effective_from, reason, user_id, at)
                 VALUES (?1, 1, ?2, ?3, ?4, NULL, ?5, ?6)",
                params![id, t.amount, months_json(&t.months), first.to_string(), actor, now],
            )
            .map_err(sq)?;
            audit_row(
                tx,
                Some(actor),
                "create",
                "target",
                Some(id),
                &serde_json::json!({"level": t.level, "subject_id": t.subject_id,
                    "metric": t.metric, "year": t.year, "amount": t.amount}),
                &now,
            )?;
            load_target(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn revise_target(
        &self,
        id: i64,
        r: &RevisionInput,
        months: [i64; 12],
        actor: &User,
    ) -> Result<Target> {
        let (r, actor) = (r.clone(), actor.id);
        self.tx(move |tx| {
            let current: Option<(i64, i64)> = tx
                .query_row(
                    "SELECT version, (SELECT amount FROM target_revisions WHERE target_id = ?1 ORDER BY version DESC LIMIT 1)
                     FROM targets WHERE id = ?1",
                    [id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(sq)?;
            let Some((version, old_amount)) = current else {
                return Err(StoreError::NotFound);
            };
            if version != r.version {
                return Err(StoreError::Conflict {
                    expected: r.version,
                    current: version,
                });
            }
            let now = ts(Utc::now());
            let next = version + 1;
            tx.execute("UPDATE targets SET version = ?2 WHERE id = ?1", [id, next])
                .map_err(sq)?;
            tx.execute(
                "INSERT INTO target_revisions (target_id, version, amount, months, effective_from, reason, user_id, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id, next, r.amount, months_json(&months), r.effective_from.to_string(), r.reason, actor, now],
            )
            .map_err(sq)?;
            audit_row(
                tx,
                Some(actor),
                "revise",
                "target",
                Some(id),
                &serde_json::json!({"version": next, "amount": {"old": old_amount, "new": r.amount},
                    "effective_from": r.effective_from, "reason": r.reason}),
                &now,
            )?;
            load_target(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn target(&self, id: i64) -> Result<Option<Target>> {
        self.read(move |c| load_target(c, id)).await
    }

    async fn targets(&self, year: i32, metric: Option<Metric>) -> Result<Vec<Target>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "{TARGET_ROWS} WHERE t.year = ?1 AND (?2 IS NULL OR t.metric = ?2)
                     ORDER BY t.level, t.subject_id, t.metric, t.id, r.version"
                ))
                .map_err(sq)?;
            read_targets(&mut st, params![year, metric.map(|m| m.as_str())])
        })
        .await
    }

    async fn actuals(
        &self,
        metric: Metric,
        from: NaiveDate,
        to: NaiveDate,
        grain: Grain,
        users: Option<Vec<i64>>,
    ) -> Result<Vec<ActualRow>> {
        self.read(move |c| {
            let cut = crate::performance::span(from, to);
            let (month_of_day, month_of_month) = match grain {
                Grain::Day => ("day", "month"),
                Grain::Month => ("substr(day, 1, 8) || '01'", "month"),
                Grain::Total => ("?2", "?2"),
            };
            // Days alone when days are asked for: no whole month is read.
            let (months, days) = match grain {
                Grain::Day => (never(), [(from, to), never()]),
                _ => (cut.months, cut.days),
            };
            let who = if users.is_some() {
                "AND user_id IN (SELECT value FROM json_each(?8))"
            } else {
                "AND ?8 IS NULL"
            };
            let sql = format!(
                "SELECT user_id, period, sum(value) FROM (
                    SELECT user_id, {month_of_month} AS period, value FROM perf_monthly
                    WHERE metric = ?1 AND month BETWEEN ?3 AND ?4 {who}
                    UNION ALL
                    SELECT user_id, {month_of_day} AS period, value FROM perf_daily
                    WHERE metric = ?1 AND (day BETWEEN ?5 AND ?6 OR day BETWEEN ?7 AND ?9) {who}
                 ) GROUP BY user_id, period HAVING sum(value) <> 0 ORDER BY period, user_id"
            );
            let text = |d: NaiveDate| d.to_string();
            let ids = users.map(|u| serde_json::to_string(&u).expect("ids serialise"));
            let mut st = c.prepare_cached(&sql).map_err(sq)?;
            let rows = st
                .query_map(
                    params![
                        metric.code(),
                        text(from),
                        text(months.0),
                        text(months.1),
                        text(days[0].0),
                        text(days[0].1),
                        text(days[1].0),
                        ids,
                        text(days[1].1)
                    ],
                    |r| {
                        let p: String = r.get(1)?;
                        Ok((r.get::<_, i64>(0)?, p, r.get::<_, i64>(2)?))
                    },
                )
                .map_err(sq)?;
            let mut out = vec![];
            for row in rows {
                let (user_id, p, value) = row.map_err(sq)?;
                out.push(ActualRow {
                    user_id,
                    period: p.parse().map_err(db_err)?,
                    value,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn product_actual(
        &self,
        metric: Metric,
        products: Vec<String>,
        from: NaiveDate,
        to: NaiveDate,
        users: Option<Vec<i64>>,
    ) -> Result<i64> {
        let column = match metric {
            Metric::SalesAmount => "amount_fen",
            Metric::Quantity => "quantity",
            m => {
                return Err(StoreError::Refused(format!(
                    "{} 不按产品统计 is not counted by product",
                    m.as_str()
                )))
            }
        };
        let (a, b) = crate::performance::china_span(from, to);
        self.read(move |c| {
            let who = if users.is_some() {
                "AND COALESCE(seller_id, 0) IN (SELECT value FROM json_each(?4))"
            } else {
                "AND ?4 IS NULL"
            };
            let sql = format!(
                "SELECT COALESCE(sum({column}), 0) FROM orders
                 WHERE product IN (SELECT value FROM json_each(?1)) AND ordered_at >= ?2 AND ordered_at < ?3 {who}"
            );
            let names = serde_json::to_string(&products).expect("names serialise");
            let ids = users.map(|u| serde_json::to_string(&u).expect("ids serialise"));
            c.prepare_cached(&sql)
                .map_err(sq)?
                .query_row(params![names, ts(a), ts(b), ids], |r| r.get(0))
                .map_err(sq)
        })
        .await
    }
}
