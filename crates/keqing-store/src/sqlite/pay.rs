//! Pay (issue 26): bases, rates, settings, scores, runs and their lines.

use super::*;
use crate::pay::*;
use keqing_domain::day::china_midnight;
use keqing_domain::Money;

const RUN_COLS: &str = "id, kind, period, status, version, doc, created_by, created_at, reviewed_by, reviewed_at, approved_by, approved_at, locked_by, locked_at";
const LINE_COLS: &str = "id, run_id, user_id, team_id, adjustment, total_fen, doc, reviewed_by, reviewed_at, created_by, created_at";

fn run_row(r: &Row) -> rusqlite::Result<PayRun> {
    Ok(PayRun {
        id: r.get(0)?,
        kind: r.get(1)?,
        period: r.get(2)?,
        status: r.get(3)?,
        version: r.get(4)?,
        doc: json_col(&r.get::<_, String>(5)?)?,
        created_by: r.get(6)?,
        created_at: parse_ts(&r.get::<_, String>(7)?)?,
        reviewed_by: r.get(8)?,
        reviewed_at: opt_ts(r.get(9)?)?,
        approved_by: r.get(10)?,
        approved_at: opt_ts(r.get(11)?)?,
        locked_by: r.get(12)?,
        locked_at: opt_ts(r.get(13)?)?,
        lines: vec![],
    })
}

fn line_row(r: &Row) -> rusqlite::Result<PayLine> {
    Ok(PayLine {
        id: r.get(0)?,
        run_id: r.get(1)?,
        user_id: r.get(2)?,
        team_id: r.get(3)?,
        adjustment: r.get::<_, i64>(4)? != 0,
        total: Money(r.get(5)?),
        doc: json_col(&r.get::<_, String>(6)?)?,
        reviewed_by: r.get(7)?,
        reviewed_at: opt_ts(r.get(8)?)?,
        created_by: r.get(9)?,
        created_at: parse_ts(&r.get::<_, String>(10)?)?,
    })
}

fn load_run(c: &Connection, id: i64) -> Result<PayRun> {
    let mut run = c
        .query_row(
            &format!("SELECT {RUN_COLS} FROM pay_runs WHERE id = ?1"),
            [id],
            run_row,
        )
        .map_err(sq)?;
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {LINE_COLS} FROM pay_lines WHERE run_id = ?1 ORDER BY id"
        ))
        .map_err(sq)?;
    run.lines = rows_of(&mut st, [id], line_row)?;
    Ok(run)
}

/// The run locked for a change: its state and version checked.
fn checked_run(t: &Connection, id: i64, version: Option<i64>) -> Result<(String, i64)> {
    let (status, current): (String, i64) = t
        .query_row(
            "SELECT status, version FROM pay_runs WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sq)?;
    if let Some(v) = version {
        if status != "locked" && v != current {
            return Err(StoreError::Conflict {
                expected: v,
                current,
            });
        }
    }
    Ok((status, current))
}

fn insert_lines(
    t: &Connection,
    run: i64,
    lines: &[NewPayLine],
    adjustment: bool,
    actor: i64,
    now: &str,
) -> Result<()> {
    let mut st = t
        .prepare_cached(
            "INSERT INTO pay_lines (run_id, user_id, team_id, adjustment, total_fen, doc, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(sq)?;
    for l in lines {
        st.execute(params![
            run,
            l.user_id,
            l.team_id,
            adjustment as i64,
            l.total.fen(),
            l.doc.to_string(),
            actor,
            now
        ])
        .map_err(sq)?;
    }
    Ok(())
}

fn user_exists(t: &Connection, id: i64) -> Result<bool> {
    t.query_row("SELECT 1 FROM users WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
        .map_err(sq)
}

#[async_trait]
impl PayStore for SqliteStore {
    async fn add_pay_base(
        &self,
        user_id: i64,
        from: NaiveDate,
        amount: Money,
        actor: &User,
    ) -> Result<PayBase> {
        let actor = actor.id;
        self.tx(move |t| {
            if !user_exists(t, user_id)? {
                return Err(refuse::no_user(user_id));
            }
            let now = Utc::now();
            t.execute(
                "INSERT INTO pay_bases (user_id, effective_from, amount_fen, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user_id, from.to_string(), amount.fen(), actor, ts(now)],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            audit_row(
                t,
                Some(actor),
                "set",
                "pay_base",
                Some(id),
                &serde_json::json!({"user_id": user_id, "effective_from": from, "amount": amount}),
                &ts(now),
            )?;
            Ok(PayBase {
                id,
                user_id,
                effective_from: from,
                amount,
                set_by: Some(actor),
                set_at: parse_ts(&ts(now)).map_err(sq)?,
            })
        })
        .await
    }

    async fn pay_bases(&self) -> Result<Vec<PayBase>> {
        self.read(|c| {
            let mut st = c
                .prepare_cached("SELECT id, user_id, effective_from, amount_fen, set_by, set_at FROM pay_bases ORDER BY user_id, effective_from, id")
                .map_err(sq)?;
            rows_of(&mut st, [], |r| {
                Ok(PayBase {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    effective_from: parse_date(&r.get::<_, String>(2)?)?,
                    amount: Money(r.get(3)?),
                    set_by: r.get(4)?,
                    set_at: parse_ts(&r.get::<_, String>(5)?)?,
                })
            })
        })
        .await
    }

    async fn add_pay_rate(
        &self,
        subject: &str,
        from: NaiveDate,
        rate_bp: i64,
        actor: &User,
    ) -> Result<PayRate> {
        let (subject, actor) = (subject.to_string(), actor.id);
        self.tx(move |t| {
            if let Some(id) = subject.strip_prefix("user:") {
                let id: i64 = id.parse().map_err(|_| refuse::no_user(id))?;
                if !user_exists(t, id)? {
                    return Err(refuse::no_user(id));
                }
            }
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO pay_rates (subject, effective_from, rate_bp, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![subject, from.to_string(), rate_bp, actor, now],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            audit_row(
                t,
                Some(actor),
                "set",
                "pay_rate",
                Some(id),
                &serde_json::json!({"subject": subject, "effective_from": from, "rate_bp": rate_bp}),
                &now,
            )?;
            Ok(PayRate {
                id,
                subject,
                effective_from: from,
                rate_bp,
                set_by: Some(actor),
                set_at: parse_ts(&now).map_err(sq)?,
            })
        })
        .await
    }

    async fn pay_rates(&self) -> Result<Vec<PayRate>> {
        self.read(|c| {
            let mut st = c
                .prepare_cached("SELECT id, subject, effective_from, rate_bp, set_by, set_at FROM pay_rates ORDER BY subject, effective_from, id")
                .map_err(sq)?;
            rows_of(&mut st, [], |r| {
                Ok(PayRate {
                    id: r.get(0)?,
                    subject: r.get(1)?,
                    effective_from: parse_date(&r.get::<_, String>(2)?)?,
                    rate_bp: r.get(3)?,
                    set_by: r.get(4)?,
                    set_at: parse_ts(&r.get::<_, String>(5)?)?,
                })
            })
        })
        .await
    }

    async fn pay_setting(&self, name: &str) -> Result<Option<PaySetting>> {
        let name = name.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT doc, version FROM pay_settings WHERE name = ?1",
                [&name],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
            .map_err(sq)?
            .map(|(doc, version)| {
                Ok(PaySetting {
                    name: name.clone(),
                    doc: json_col(&doc).map_err(sq)?,
                    version,
                })
            })
            .transpose()
        })
        .await
    }

    async fn put_pay_setting(
        &self,
        name: &str,
        doc: &serde_json::Value,
        version: i64,
        actor: &User,
    ) -> Result<PaySetting> {
        let (name, doc, actor) = (name.to_string(), doc.clone(), actor.id);
        self.tx(move |t| {
            let current: i64 = t
                .query_row("SELECT version FROM pay_settings WHERE name = ?1", [&name], |r| r.get(0))
                .optional()
                .map_err(sq)?
                .unwrap_or(0);
            if current != version {
                return Err(StoreError::Conflict {
                    expected: version,
                    current,
                });
            }
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO pay_settings (name, doc, version, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, version = excluded.version,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                params![name, doc.to_string(), version + 1, actor, now],
            )
            .map_err(sq)?;
            audit_row(t, Some(actor), "update", "pay_setting", None, &serde_json::json!({"name": name, "version": version + 1}), &now)?;
            Ok(PaySetting {
                name,
                doc,
                version: version + 1,
            })
        })
        .await
    }

    async fn put_scores(
        &self,
        kind: &str,
        month: &str,
        user_id: i64,
        scores: &[NewScore],
        actor: &User,
    ) -> Result<()> {
        let (kind, month, scores, actor) = (
            kind.to_string(),
            month.to_string(),
            scores.to_vec(),
            actor.id,
        );
        self.tx(move |t| {
            if !user_exists(t, user_id)? {
                return Err(refuse::no_user(user_id));
            }
            let now = ts(Utc::now());
            let mut st = t
                .prepare_cached(
                    "INSERT INTO pay_scores (kind, month, user_id, item, score, note, scored_by, scored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (kind, month, user_id, item) DO UPDATE SET score = excluded.score, note = excluded.note,
                         scored_by = excluded.scored_by, scored_at = excluded.scored_at",
                )
                .map_err(sq)?;
            for s in &scores {
                st.execute(params![kind, month, user_id, s.item, s.score, s.note, actor, now])
                    .map_err(sq)?;
            }
            let detail: Vec<_> = scores.iter().map(|s| serde_json::json!({"item": s.item, "score": s.score})).collect();
            audit_row(t, Some(actor), "score", "pay_score", Some(user_id), &serde_json::json!({"kind": kind, "month": month, "scores": detail}), &now)?;
            Ok(())
        })
        .await
    }

    async fn scores(&self, kind: &str, month: &str) -> Result<Vec<ScoreRow>> {
        let (kind, month) = (kind.to_string(), month.to_string());
        self.read(move |c| {
            let mut st = c
                .prepare_cached("SELECT kind, month, user_id, item, score, note, scored_by, scored_at FROM pay_scores WHERE kind = ?1 AND month = ?2 ORDER BY user_id, item")
                .map_err(sq)?;
            rows_of(&mut st, params![kind, month], |r| {
                Ok(ScoreRow {
                    kind: r.get(0)?,
                    month: r.get(1)?,
                    user_id: r.get(2)?,
                    item: r.get(3)?,
                    score: r.get(4)?,
                    note: r.get(5)?,
                    scored_by: r.get(6)?,
                    scored_at: parse_ts(&r.get::<_, String>(7)?)?,
                })
            })
        })
        .await
    }

    async fn pay_evidence(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<PayEvidence>> {
        self.read(move |c| {
            let (f, t) = (from.to_string(), to.to_string());
            let mut st = c
                .prepare_cached(
                    "SELECT c.owner_id, sum(r.registered_on <= r.due_on), sum(r.registered_on > r.due_on)
                     FROM change_reports r JOIN customers c ON c.id = r.customer_id
                     WHERE r.registered_on >= ?1 AND r.registered_on <= ?2 AND c.owner_id IS NOT NULL
                     GROUP BY c.owner_id",
                )
                .map_err(sq)?;
            let changes = rows_of(&mut st, params![f, t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let mut st = c
                .prepare_cached(
                    "SELECT owner_id, count(*) FROM care_tasks
                     WHERE kind = 0 AND status = 2 AND date >= ?1 AND date <= ?2 AND owner_id IS NOT NULL
                     GROUP BY owner_id",
                )
                .map_err(sq)?;
            let greetings = rows_of(&mut st, params![day_number(from), day_number(to)], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let (a, b) = (ts(china_midnight(from)), ts(china_midnight(to.succ_opt().expect("a day"))));
            let mut st = c
                .prepare_cached(
                    "SELECT a.user_id, a.at FROM activities a JOIN customers c ON c.id = a.customer_id
                     WHERE a.kind = 'help' AND c.class = 'A' AND a.at >= ?1 AND a.at < ?2 AND a.user_id IS NOT NULL",
                )
                .map_err(sq)?;
            let help = rows_of(&mut st, params![a, b], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            let help = help
                .into_iter()
                .map(|(u, at)| Ok((u, parse_ts(&at).map_err(sq)?)))
                .collect::<Result<Vec<_>>>()?;
            Ok(evidence_rows(changes, greetings, help_weeks(help)))
        })
        .await
    }

    async fn create_pay_run(
        &self,
        kind: &str,
        period: &str,
        doc: &serde_json::Value,
        lines: &[NewPayLine],
        actor: &User,
    ) -> Result<PayRun> {
        let (kind, period, doc, lines, actor) = (
            kind.to_string(),
            period.to_string(),
            doc.clone(),
            lines.to_vec(),
            actor.id,
        );
        self.tx(move |t| {
            let existing: Option<i64> = t
                .query_row("SELECT id FROM pay_runs WHERE kind = ?1 AND period = ?2", params![kind, period], |r| r.get(0))
                .optional()
                .map_err(sq)?;
            if let Some(id) = existing {
                return Err(StoreError::Duplicate(vec![id]));
            }
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO pay_runs (kind, period, status, version, doc, created_by, created_at) VALUES (?1, ?2, 'draft', 1, ?3, ?4, ?5)",
                params![kind, period, doc.to_string(), actor, now],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            insert_lines(t, id, &lines, false, actor, &now)?;
            audit_row(t, Some(actor), "create", "pay_run", Some(id), &serde_json::json!({"kind": kind, "period": period, "lines": lines.len()}), &now)?;
            load_run(t, id)
        })
        .await
    }

    async fn pay_runs(&self, kind: &str) -> Result<Vec<PayRun>> {
        let kind = kind.to_string();
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {RUN_COLS} FROM pay_runs WHERE kind = ?1 ORDER BY period DESC, id DESC"
                ))
                .map_err(sq)?;
            rows_of(&mut st, [kind], run_row)
        })
        .await
    }

    async fn pay_run(&self, id: i64) -> Result<PayRun> {
        self.read(move |c| load_run(c, id)).await
    }

    async fn pay_run_of(&self, kind: &str, period: &str) -> Result<Option<PayRun>> {
        let (kind, period) = (kind.to_string(), period.to_string());
        self.read(move |c| {
            let id: Option<i64> = c
                .query_row(
                    "SELECT id FROM pay_runs WHERE kind = ?1 AND period = ?2",
                    params![kind, period],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sq)?;
            id.map(|id| load_run(c, id)).transpose()
        })
        .await
    }

    async fn recompute_pay_run(
        &self,
        id: i64,
        version: i64,
        doc: &serde_json::Value,
        lines: &[NewPayLine],
        actor: &User,
    ) -> Result<PayRun> {
        let (doc, lines, actor) = (doc.clone(), lines.to_vec(), actor.id);
        self.tx(move |t| {
            let (status, _) = checked_run(t, id, Some(version))?;
            if status != "draft" {
                return Err(refuse_state(&status, "recomputed"));
            }
            let now = ts(Utc::now());
            t.execute(
                "DELETE FROM pay_lines WHERE run_id = ?1 AND adjustment = 0",
                [id],
            )
            .map_err(sq)?;
            insert_lines(t, id, &lines, false, actor, &now)?;
            t.execute(
                "UPDATE pay_runs SET doc = ?2, version = version + 1 WHERE id = ?1",
                params![id, doc.to_string()],
            )
            .map_err(sq)?;
            audit_row(
                t,
                Some(actor),
                "recompute",
                "pay_run",
                Some(id),
                &serde_json::json!({"lines": lines.len()}),
                &now,
            )?;
            load_run(t, id)
        })
        .await
    }

    async fn review_pay_run(
        &self,
        id: i64,
        version: i64,
        user_ids: &[i64],
        all: bool,
        actor: &User,
    ) -> Result<PayRun> {
        let (users, actor) = (user_ids.to_vec(), actor.id);
        self.tx(move |t| {
            let (status, _) = checked_run(t, id, Some(version))?;
            if status != "draft" {
                return Err(refuse_state(&status, "reviewed"));
            }
            let now = ts(Utc::now());
            if all {
                t.execute(
                    "UPDATE pay_lines SET reviewed_by = ?2, reviewed_at = ?3 WHERE run_id = ?1 AND reviewed_at IS NULL",
                    params![id, actor, now],
                )
                .map_err(sq)?;
            } else {
                let mut st = t
                    .prepare_cached("UPDATE pay_lines SET reviewed_by = ?3, reviewed_at = ?4 WHERE run_id = ?1 AND user_id = ?2 AND reviewed_at IS NULL")
                    .map_err(sq)?;
                for u in &users {
                    st.execute(params![id, u, actor, now]).map_err(sq)?;
                }
            }
            let open: i64 = t
                .query_row("SELECT count(*) FROM pay_lines WHERE run_id = ?1 AND adjustment = 0 AND reviewed_at IS NULL", [id], |r| r.get(0))
                .map_err(sq)?;
            if open == 0 {
                t.execute(
                    "UPDATE pay_runs SET status = 'reviewed', reviewed_by = ?2, reviewed_at = ?3, version = version + 1 WHERE id = ?1",
                    params![id, actor, now],
                )
                .map_err(sq)?;
            } else {
                t.execute("UPDATE pay_runs SET version = version + 1 WHERE id = ?1", [id]).map_err(sq)?;
            }
            audit_row(t, Some(actor), "review", "pay_run", Some(id), &serde_json::json!({"users": users, "all": all, "complete": open == 0}), &now)?;
            load_run(t, id)
        })
        .await
    }

    async fn advance_pay_run(
        &self,
        id: i64,
        version: i64,
        from: &str,
        to: &str,
        actor: &User,
    ) -> Result<PayRun> {
        let (from, to, actor) = (from.to_string(), to.to_string(), actor.id);
        self.tx(move |t| {
            let (status, _) = checked_run(t, id, Some(version))?;
            if status != from {
                return Err(refuse_state(&status, &to));
            }
            let col = match to.as_str() {
                "reviewed" => "reviewed",
                "approved" => "approved",
                "locked" => "locked",
                other => return Err(StoreError::Db(format!("no run state {other}"))),
            };
            let now = ts(Utc::now());
            t.execute(
                &format!("UPDATE pay_runs SET status = ?2, {col}_by = ?3, {col}_at = ?4, version = version + 1 WHERE id = ?1"),
                params![id, to, actor, now],
            )
            .map_err(sq)?;
            audit_row(t, Some(actor), col, "pay_run", Some(id), &serde_json::json!({"from": from}), &now)?;
            load_run(t, id)
        })
        .await
    }

    async fn add_pay_adjustment(
        &self,
        id: i64,
        line: &NewPayLine,
        reason: &str,
        actor: &User,
    ) -> Result<PayRun> {
        let (line, reason, actor) = (line.clone(), reason.to_string(), actor.id);
        self.tx(move |t| {
            checked_run(t, id, None)?;
            if !user_exists(t, line.user_id)? {
                return Err(refuse::no_user(line.user_id));
            }
            let now = ts(Utc::now());
            insert_lines(t, id, std::slice::from_ref(&line), true, actor, &now)?;
            t.execute("UPDATE pay_runs SET version = version + 1 WHERE id = ?1", [id]).map_err(sq)?;
            audit_row(t, Some(actor), "adjust", "pay_run", Some(id), &serde_json::json!({"user_id": line.user_id, "amount": line.total, "reason": reason}), &now)?;
            load_run(t, id)
        })
        .await
    }
}
