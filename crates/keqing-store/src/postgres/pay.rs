//! Pay (issue 26): bases, rates, settings, scores, runs and their lines.

use super::*;
use crate::pay::*;
use keqing_domain::day::china_midnight;
use keqing_domain::Money;

const RUN_COLS: &str = "id, kind, period, status, version, doc, created_by, created_at, reviewed_by, reviewed_at, approved_by, approved_at, locked_by, locked_at";
const LINE_COLS: &str = "id, run_id, user_id, team_id, adjustment, total_fen, doc, reviewed_by, reviewed_at, created_by, created_at";

fn run_row(r: &Row) -> Result<PayRun> {
    Ok(PayRun {
        id: get(r, 0)?,
        kind: get(r, 1)?,
        period: get(r, 2)?,
        status: get(r, 3)?,
        version: get(r, 4)?,
        doc: get(r, 5)?,
        created_by: get(r, 6)?,
        created_at: get(r, 7)?,
        reviewed_by: get(r, 8)?,
        reviewed_at: get(r, 9)?,
        approved_by: get(r, 10)?,
        approved_at: get(r, 11)?,
        locked_by: get(r, 12)?,
        locked_at: get(r, 13)?,
        lines: vec![],
    })
}

fn line_row(r: &Row) -> Result<PayLine> {
    Ok(PayLine {
        id: get(r, 0)?,
        run_id: get(r, 1)?,
        user_id: get(r, 2)?,
        team_id: get(r, 3)?,
        adjustment: get(r, 4)?,
        total: Money(get(r, 5)?),
        doc: get(r, 6)?,
        reviewed_by: get(r, 7)?,
        reviewed_at: get(r, 8)?,
        created_by: get(r, 9)?,
        created_at: get(r, 10)?,
    })
}

async fn load_run<C: GenericClient>(c: &C, id: i64) -> Result<PayRun> {
    let mut run = run_row(
        &query_one(
            c,
            &format!("SELECT {RUN_COLS} FROM pay_runs WHERE id = $1"),
            &[&id],
        )
        .await?,
    )?;
    run.lines = query(
        c,
        &format!("SELECT {LINE_COLS} FROM pay_lines WHERE run_id = $1 ORDER BY id"),
        &[&id],
    )
    .await?
    .iter()
    .map(line_row)
    .collect::<Result<_>>()?;
    Ok(run)
}

/// The run, locked for the change: its state and version checked.
async fn checked_run<C: GenericClient>(c: &C, id: i64, version: Option<i64>) -> Result<String> {
    let r = query_one(
        c,
        "SELECT status, version FROM pay_runs WHERE id = $1 FOR UPDATE",
        &[&id],
    )
    .await?;
    let (status, current): (String, i64) = (get(&r, 0)?, get(&r, 1)?);
    if let Some(v) = version {
        if status != "locked" && v != current {
            return Err(StoreError::Conflict {
                expected: v,
                current,
            });
        }
    }
    Ok(status)
}

async fn insert_lines<C: GenericClient>(
    t: &C,
    run: i64,
    lines: &[NewPayLine],
    adjustment: bool,
    actor: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    for l in lines {
        execute(
            t,
            "INSERT INTO pay_lines (run_id, user_id, team_id, adjustment, total_fen, doc, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&run, &l.user_id, &l.team_id, &adjustment, &l.total.fen(), &l.doc, &actor, &now],
        )
        .await?;
    }
    Ok(())
}

async fn user_exists<C: GenericClient>(c: &C, id: i64) -> Result<bool> {
    Ok(query_opt(c, "SELECT 1 FROM users WHERE id = $1", &[&id])
        .await?
        .is_some())
}

#[async_trait]
impl PayStore for PgStore {
    async fn add_pay_base(
        &self,
        user_id: i64,
        from: NaiveDate,
        amount: Money,
        actor: &User,
    ) -> Result<PayBase> {
        in_tx!(self, |t| {
            if !user_exists(&t, user_id).await? {
                return Err(refuse::no_user(user_id));
            }
            let now = Utc::now();
            let r = query_one(
                &t,
                "INSERT INTO pay_bases (user_id, effective_from, amount_fen, set_by, set_at) VALUES ($1, $2, $3, $4, $5) RETURNING id, set_at",
                &[&user_id, &from, &amount.fen(), &actor.id, &now],
            )
            .await?;
            let id: i64 = get(&r, 0)?;
            audit_row(
                &t,
                Some(actor.id),
                "set",
                "pay_base",
                Some(id),
                &serde_json::json!({"user_id": user_id, "effective_from": from, "amount": amount}),
                now,
            )
            .await?;
            Ok(PayBase {
                id,
                user_id,
                effective_from: from,
                amount,
                set_by: Some(actor.id),
                set_at: get(&r, 1)?,
            })
        })
    }

    async fn pay_bases(&self) -> Result<Vec<PayBase>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, user_id, effective_from, amount_fen, set_by, set_at FROM pay_bases ORDER BY user_id, effective_from, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(PayBase {
                id: get(r, 0)?,
                user_id: get(r, 1)?,
                effective_from: get(r, 2)?,
                amount: Money(get(r, 3)?),
                set_by: get(r, 4)?,
                set_at: get(r, 5)?,
            })
        })
        .collect()
    }

    async fn add_pay_rate(
        &self,
        subject: &str,
        from: NaiveDate,
        rate_bp: i64,
        actor: &User,
    ) -> Result<PayRate> {
        in_tx!(self, |t| {
            if let Some(id) = subject.strip_prefix("user:") {
                let id: i64 = id.parse().map_err(|_| refuse::no_user(id))?;
                if !user_exists(&t, id).await? {
                    return Err(refuse::no_user(id));
                }
            }
            let now = Utc::now();
            let r = query_one(
                &t,
                "INSERT INTO pay_rates (subject, effective_from, rate_bp, set_by, set_at) VALUES ($1, $2, $3, $4, $5) RETURNING id, set_at",
                &[&subject, &from, &rate_bp, &actor.id, &now],
            )
            .await?;
            let id: i64 = get(&r, 0)?;
            audit_row(
                &t,
                Some(actor.id),
                "set",
                "pay_rate",
                Some(id),
                &serde_json::json!({"subject": subject, "effective_from": from, "rate_bp": rate_bp}),
                now,
            )
            .await?;
            Ok(PayRate {
                id,
                subject: subject.to_string(),
                effective_from: from,
                rate_bp,
                set_by: Some(actor.id),
                set_at: get(&r, 1)?,
            })
        })
    }

    async fn pay_rates(&self) -> Result<Vec<PayRate>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, subject, effective_from, rate_bp, set_by, set_at FROM pay_rates ORDER BY subject, effective_from, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(PayRate {
                id: get(r, 0)?,
                subject: get(r, 1)?,
                effective_from: get(r, 2)?,
                rate_bp: get(r, 3)?,
                set_by: get(r, 4)?,
                set_at: get(r, 5)?,
            })
        })
        .collect()
    }

    async fn pay_setting(&self, name: &str) -> Result<Option<PaySetting>> {
        let c = self.client().await?;
        query_opt(
            &c,
            "SELECT doc, version FROM pay_settings WHERE name = $1",
            &[&name],
        )
        .await?
        .map(|r| {
            Ok(PaySetting {
                name: name.to_string(),
                doc: get(&r, 0)?,
                version: get(&r, 1)?,
            })
        })
        .transpose()
    }

    async fn put_pay_setting(
        &self,
        name: &str,
        doc: &serde_json::Value,
        version: i64,
        actor: &User,
    ) -> Result<PaySetting> {
        in_tx!(self, |t| {
            // Serialise writers of one name, the first one included.
            execute(
                &t,
                "SELECT pg_advisory_xact_lock(hashtext('pay_settings:' || $1))",
                &[&name],
            )
            .await?;
            let current: i64 = match query_opt(
                &t,
                "SELECT version FROM pay_settings WHERE name = $1",
                &[&name],
            )
            .await?
            {
                Some(r) => get(&r, 0)?,
                None => 0,
            };
            if current != version {
                return Err(StoreError::Conflict {
                    expected: version,
                    current,
                });
            }
            let now = Utc::now();
            let next = version + 1;
            execute(
                &t,
                "INSERT INTO pay_settings (name, doc, version, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, version = excluded.version,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                &[&name, doc, &next, &actor.id, &now],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "update",
                "pay_setting",
                None,
                &serde_json::json!({"name": name, "version": next}),
                now,
            )
            .await?;
            Ok(PaySetting {
                name: name.to_string(),
                doc: doc.clone(),
                version: next,
            })
        })
    }

    async fn put_scores(
        &self,
        kind: &str,
        month: &str,
        user_id: i64,
        scores: &[NewScore],
        actor: &User,
    ) -> Result<()> {
        in_tx!(self, |t| {
            if !user_exists(&t, user_id).await? {
                return Err(refuse::no_user(user_id));
            }
            let now = Utc::now();
            for s in scores {
                execute(
                    &t,
                    "INSERT INTO pay_scores (kind, month, user_id, item, score, note, scored_by, scored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (kind, month, user_id, item) DO UPDATE SET score = excluded.score, note = excluded.note,
                         scored_by = excluded.scored_by, scored_at = excluded.scored_at",
                    &[&kind, &month, &user_id, &s.item, &s.score, &s.note, &actor.id, &now],
                )
                .await?;
            }
            let detail: Vec<_> = scores
                .iter()
                .map(|s| serde_json::json!({"item": s.item, "score": s.score}))
                .collect();
            audit_row(
                &t,
                Some(actor.id),
                "score",
                "pay_score",
                Some(user_id),
                &serde_json::json!({"kind": kind, "month": month, "scores": detail}),
                now,
            )
            .await?;
            Ok(())
        })
    }

    async fn scores(&self, kind: &str, month: &str) -> Result<Vec<ScoreRow>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT kind, month, user_id, item, score, note, scored_by, scored_at FROM pay_scores WHERE kind = $1 AND month = $2 ORDER BY user_id, item",
            &[&kind, &month],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(ScoreRow {
                kind: get(r, 0)?,
                month: get(r, 1)?,
                user_id: get(r, 2)?,
                item: get(r, 3)?,
                score: get(r, 4)?,
                note: get(r, 5)?,
                scored_by: get(r, 6)?,
                scored_at: get(r, 7)?,
            })
        })
        .collect()
    }

    async fn pay_evidence(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<PayEvidence>> {
        let c = self.client().await?;
        let changes = query(
            &c,
            "SELECT c.owner_id, count(*) FILTER (WHERE r.registered_on <= r.due_on), count(*) FILTER (WHERE r.registered_on > r.due_on)
             FROM change_reports r JOIN customers c ON c.id = r.customer_id
             WHERE r.registered_on >= $1 AND r.registered_on <= $2 AND c.owner_id IS NOT NULL
             GROUP BY c.owner_id",
            &[&from, &to],
        )
        .await?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
        .collect::<Result<Vec<_>>>()?;
        let greetings = query(
            &c,
            "SELECT owner_id, count(*) FROM care_tasks
             WHERE kind = 'greeting' AND status = 'done' AND date >= $1 AND date <= $2 AND owner_id IS NOT NULL
             GROUP BY owner_id",
            &[&from, &to],
        )
        .await?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect::<Result<Vec<_>>>()?;
        let (a, b) = (
            china_midnight(from),
            china_midnight(to.succ_opt().expect("a day")),
        );
        let help = query(
            &c,
            "SELECT a.user_id, a.at FROM activities a JOIN customers c ON c.id = a.customer_id
             WHERE a.kind = 'help' AND c.class = 'A' AND a.at >= $1 AND a.at < $2 AND a.user_id IS NOT NULL",
            &[&a, &b],
        )
        .await?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect::<Result<Vec<(i64, DateTime<Utc>)>>>()?;
        Ok(evidence_rows(changes, greetings, help_weeks(help)))
    }

    async fn create_pay_run(
        &self,
        kind: &str,
        period: &str,
        doc: &serde_json::Value,
        lines: &[NewPayLine],
        actor: &User,
    ) -> Result<PayRun> {
        in_tx!(self, |t| {
            let now = Utc::now();
            let r = query_opt(
                &t,
                "INSERT INTO pay_runs (kind, period, status, version, doc, created_by, created_at) VALUES ($1, $2, 'draft', 1, $3, $4, $5)
                 ON CONFLICT (kind, period) DO NOTHING RETURNING id",
                &[&kind, &period, doc, &actor.id, &now],
            )
            .await?;
            let Some(r) = r else {
                let existing = query_one(
                    &t,
                    "SELECT id FROM pay_runs WHERE kind = $1 AND period = $2",
                    &[&kind, &period],
                )
                .await?;
                return Err(StoreError::Duplicate(vec![get(&existing, 0)?]));
            };
            let id: i64 = get(&r, 0)?;
            insert_lines(&t, id, lines, false, actor.id, now).await?;
            audit_row(
                &t,
                Some(actor.id),
                "create",
                "pay_run",
                Some(id),
                &serde_json::json!({"kind": kind, "period": period, "lines": lines.len()}),
                now,
            )
            .await?;
            load_run(&t, id).await
        })
    }

    async fn pay_runs(&self, kind: &str) -> Result<Vec<PayRun>> {
        let c = self.client().await?;
        query(
            &c,
            &format!(
                "SELECT {RUN_COLS} FROM pay_runs WHERE kind = $1 ORDER BY period DESC, id DESC"
            ),
            &[&kind],
        )
        .await?
        .iter()
        .map(run_row)
        .collect()
    }

    async fn pay_run(&self, id: i64) -> Result<PayRun> {
        let mut c = self.client().await?;
        let t = snapshot(&mut c).await?;
        load_run(&t, id).await
    }

    async fn pay_run_of(&self, kind: &str, period: &str) -> Result<Option<PayRun>> {
        let mut c = self.client().await?;
        let t = snapshot(&mut c).await?;
        match query_opt(
            &t,
            "SELECT id FROM pay_runs WHERE kind = $1 AND period = $2",
            &[&kind, &period],
        )
        .await?
        {
            Some(r) => Ok(Some(load_run(&t, get(&r, 0)?).await?)),
            None => Ok(None),
        }
    }

    async fn recompute_pay_run(
        &self,
        id: i64,
        version: i64,
        doc: &serde_json::Value,
        lines: &[NewPayLine],
        actor: &User,
    ) -> Result<PayRun> {
        in_tx!(self, |t| {
            let status = checked_run(&t, id, Some(version)).await?;
            if status != "draft" {
                return Err(refuse_state(&status, "recomputed"));
            }
            let now = Utc::now();
            execute(
                &t,
                "DELETE FROM pay_lines WHERE run_id = $1 AND NOT adjustment",
                &[&id],
            )
            .await?;
            insert_lines(&t, id, lines, false, actor.id, now).await?;
            execute(
                &t,
                "UPDATE pay_runs SET doc = $2, version = version + 1 WHERE id = $1",
                &[&id, doc],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "recompute",
                "pay_run",
                Some(id),
                &serde_json::json!({"lines": lines.len()}),
                now,
            )
            .await?;
            load_run(&t, id).await
        })
    }

    async fn review_pay_run(
        &self,
        id: i64,
        version: i64,
        user_ids: &[i64],
        all: bool,
        actor: &User,
    ) -> Result<PayRun> {
        in_tx!(self, |t| {
            let status = checked_run(&t, id, Some(version)).await?;
            if status != "draft" {
                return Err(refuse_state(&status, "reviewed"));
            }
            let now = Utc::now();
            execute(
                &t,
                "UPDATE pay_lines SET reviewed_by = $2, reviewed_at = $3
                 WHERE run_id = $1 AND reviewed_at IS NULL AND ($5 OR user_id = ANY($4))",
                &[&id, &actor.id, &now, &user_ids, &all],
            )
            .await?;
            let open: i64 = get(
                &query_one(
                    &t,
                    "SELECT count(*) FROM pay_lines WHERE run_id = $1 AND NOT adjustment AND reviewed_at IS NULL",
                    &[&id],
                )
                .await?,
                0,
            )?;
            if open == 0 {
                execute(
                    &t,
                    "UPDATE pay_runs SET status = 'reviewed', reviewed_by = $2, reviewed_at = $3, version = version + 1 WHERE id = $1",
                    &[&id, &actor.id, &now],
                )
                .await?;
            } else {
                execute(
                    &t,
                    "UPDATE pay_runs SET version = version + 1 WHERE id = $1",
                    &[&id],
                )
                .await?;
            }
            audit_row(
                &t,
                Some(actor.id),
                "review",
                "pay_run",
                Some(id),
                &serde_json::json!({"users": user_ids, "all": all, "complete": open == 0}),
                now,
            )
            .await?;
            load_run(&t, id).await
        })
    }

    async fn advance_pay_run(
        &self,
        id: i64,
        version: i64,
        from: &str,
        to: &str,
        actor: &User,
    ) -> Result<PayRun> {
        in_tx!(self, |t| {
            let status = checked_run(&t, id, Some(version)).await?;
            if status != from {
                return Err(refuse_state(&status, to));
            }
            let col = match to {
                "reviewed" => "reviewed",
                "approved" => "approved",
                "locked" => "locked",
                other => return Err(StoreError::Db(format!("no run state {other}"))),
            };
            let now = Utc::now();
            execute(
                &t,
                &format!("UPDATE pay_runs SET status = $2, {col}_by = $3, {col}_at = $4, version = version + 1 WHERE id = $1"),
                &[&id, &to, &actor.id, &now],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                col,
                "pay_run",
                Some(id),
                &serde_json::json!({"from": from}),
                now,
            )
            .await?;
            load_run(&t, id).await
        })
    }

    async fn add_pay_adjustment(
        &self,
        id: i64,
        line: &NewPayLine,
        reason: &str,
        actor: &User,
    ) -> Result<PayRun> {
        in_tx!(self, |t| {
            checked_run(&t, id, None).await?;
            if !user_exists(&t, line.user_id).await? {
                return Err(refuse::no_user(line.user_id));
            }
            let now = Utc::now();
            insert_lines(&t, id, std::slice::from_ref(line), true, actor.id, now).await?;
            execute(
                &t,
                "UPDATE pay_runs SET version = version + 1 WHERE id = $1",
                &[&id],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "adjust",
                "pay_run",
                Some(id),
                &serde_json::json!({"user_id": line.user_id, "amount": line.total, "reason": reason}),
                now,
            )
            .await?;
            load_run(&t, id).await
        })
    }
}
