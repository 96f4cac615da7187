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
fn read_targets(rows: &[Row]) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = vec![];
    for r in rows {
        let id: i64 = get(r, 0)?;
        let months: serde_json::Value = get(r, 8)?;
        let rev = TargetRevision {
            version: get(r, 6)?,
            amount: get(r, 7)?,
            months: serde_json::from_value(months).map_err(db_err)?,
            effective_from: get(r, 9)?,
            reason: get(r, 10)?,
            by: get(r, 11)?,
            by_name: get(r, 12)?,
            at: get(r, 13)?,
        };
        if out.last().is_some_and(|t| t.id == id) {
            out.last_mut().expect("checked").revisions.push(rev);
            continue;
        }
        let level: String = get(r, 1)?;
        let metric: String = get(r, 3)?;
        let subject: i64 = get(r, 2)?;
        let year: i64 = get(r, 4)?;
        out.push(Target {
            id,
            level: Level::parse(&level).map_err(db_err)?,
            subject_id: (subject != 0).then_some(subject),
            metric: Metric::parse(&metric).map_err(db_err)?,
            year: year as i32,
            version: get(r, 5)?,
            revisions: vec![rev],
        });
    }
    Ok(out)
}

async fn load_target<C: GenericClient>(c: &C, id: i64) -> Result<Option<Target>> {
    let rows = query(
        c,
        &format!("{TARGET_ROWS} WHERE t.id = $1 ORDER BY r.version"),
        &[&id],
    )
    .await?;
    Ok(read_targets(&rows)?.pop())
}

fn months_json(m: &[i64; 12]) -> serde_json::Value {
    serde_json::json!(m)
}

#[async_trait]
impl PerformanceStore for PgStore {
    async fn create_target(&self, t: &TargetInput, actor: &User) -> Result<Target> {
        let subject = t.subject_id.unwrap_or(0);
        let year = t.year as i64;
        in_tx!(self, |tx| {
            let existing = query_opt(
                &tx,
                "SELECT id FROM targets WHERE level = $1 AND subject_id = $2 AND metric = $3 AND year = $4",
                &[&t.level.as_str(), &subject, &t.metric.as_str(), &year],
            )
            .await?;
            if let Some(r) = existing {
                return Err(StoreError::Duplicate(vec![get(&r, 0)?]));
            }
            let now = Utc::now();
            let row = query_one(
                &tx,
                "INSERT INTO targets (level, subject_id, metric, year, version, created_at, created_by)
                 VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
                &[&t.level.as_str(), &subject, &t.metric.as_str(), &year, &now, &actor.id],
            )
            .await
            .map_err(|e| {
                // Another request created it between the check and the insert.
                if is_unique_violation(&e) {
                    StoreError::Duplicate(vec![])
                } else {
                    e
                }
            })?;
            let id: i64 = get(&row, 0)?;
            let first = NaiveDate::from_ymd_opt(t.year, 1, 1).expect("a year from 2000 to 2100");
            execute(
                &tx,
                "INSERT INTO target_revisions (target_id, version, amount, months, effective_from, reason, user_id, at)
                 VALUES ($1, 1, $2, $3, $4, NULL, $5, $6)",
                &[&id, &t.amount, &months_json(&t.months), &first, &actor.id, &now],
            )
            .await?;
            audit_row(
                &tx,
                Some(actor.id),
                "create",
                "target",
                Some(id),
                &serde_json::json!({"level": t.level, "subject_id": t.subject_id,
                    "metric": t.metric, "year": t.year, "amount": t.amount}),
                now,
            )
            .await?;
            load_target(&tx, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn revise_target(
        &self,
        id: i64,
        r: &RevisionInput,
        months: [i64; 12],
        actor: &User,
    ) -> Result<Target> {
        in_tx!(self, |tx| {
            let current = query_opt(
                &tx,
                "SELECT version, (SELECT amount FROM target_revisions WHERE target_id = $1 ORDER BY version DESC LIMIT 1)
                 FROM targets WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
            let Some(current) = current else {
                return Err(StoreError::NotFound);
            };
            let (version, old_amount): (i64, i64) = (get(&current, 0)?, get(&current, 1)?);
            if version != r.version {
                return Err(StoreError::Conflict {
                    expected: r.version,
                    current: version,
                });
            }
            let now = Utc::now();
            let next = version + 1;
            execute(
                &tx,
                "UPDATE targets SET version = $2 WHERE id = $1",
                &[&id, &next],
            )
            .await?;
            execute(
                &tx,
                "INSERT INTO target_revisions (target_id, version, amount, months, effective_from, reason, user_id, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&id, &next, &r.amount, &months_json(&months), &r.effective_from, &r.reason, &actor.id, &now],
            )
            .await?;
            audit_row(
                &tx,
                Some(actor.id),
                "revise",
                "target",
                Some(id),
                &serde_json::json!({"version": next, "amount": {"old": old_amount, "new": r.amount},
                    "effective_from": r.effective_from, "reason": r.reason}),
                now,
            )
            .await?;
            load_target(&tx, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn target(&self, id: i64) -> Result<Option<Target>> {
        let c = self.client().await?;
        load_target(&c, id).await
    }

    async fn targets(&self, year: i32, metric: Option<Metric>) -> Result<Vec<Target>> {
        let c = self.client().await?;
        let rows = query(
            &c,
            &format!(
                "{TARGET_ROWS} WHERE t.year = $1 AND ($2::text IS NULL OR t.metric = $2)
                 ORDER BY t.level, t.subject_id, t.metric, t.id, r.version"
            ),
            &[&(year as i64), &metric.map(|m| m.as_str())],
        )
        .await?;
        read_targets(&rows)
    }

    async fn actuals(
        &self,
        metric: Metric,
        from: NaiveDate,
        to: NaiveDate,
        grain: Grain,
        users: Option<Vec<i64>>,
    ) -> Result<Vec<ActualRow>> {
        let c = self.client().await?;
        let cut = crate::performance::span(from, to);
        let (months, days) = match grain {
            Grain::Day => (never(), [(from, to), never()]),
            _ => (cut.months, cut.days),
        };
        let (month_of_day, month_of_month) = match grain {
            Grain::Day => ("day", "month"),
            Grain::Month => ("date_trunc('month', day)::date", "month"),
            Grain::Total => ("$2::date", "$2::date"),
        };
        let rows = query(
            &c,
            &format!(
                "SELECT user_id, period, sum(value)::bigint FROM (
                    SELECT user_id, {month_of_month} AS period, value FROM perf_monthly
                    WHERE metric = $1 AND month BETWEEN $3 AND $4
                      AND ($8::bigint[] IS NULL OR user_id = ANY($8))
                    UNION ALL
                    SELECT user_id, {month_of_day} AS period, value FROM perf_daily
                    WHERE metric = $1 AND (day BETWEEN $5 AND $6 OR day BETWEEN $7 AND $9)
                      AND ($8::bigint[] IS NULL OR user_id = ANY($8))
                 ) x GROUP BY 1, 2 HAVING sum(value) <> 0 AND $2::date IS NOT NULL ORDER BY 2, 1"
            ),
            &[
                &(metric.code() as i16),
                &from,
                &months.0,
                &months.1,
                &days[0].0,
                &days[0].1,
                &days[1].0,
                &users,
                &days[1].1,
            ],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ActualRow {
                    user_id: get(r, 0)?,
                    period: get(r, 1)?,
                    value: get(r, 2)?,
                })
            })
            .collect()
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
        let c = self.client().await?;
        let row = query_one(
            &c,
            &format!(
                "SELECT COALESCE(sum({column}), 0)::bigint FROM orders
                 WHERE product = ANY($1) AND ordered_at >= $2 AND ordered_at < $3
                   AND ($4::bigint[] IS NULL OR COALESCE(seller_id, 0) = ANY($4))"
            ),
            &[&products, &a, &b, &users],
        )
        .await?;
        get(&row, 0)
    }
}
