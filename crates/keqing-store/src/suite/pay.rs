//! Pay: bases and rates kept with their history, settings and runs with
//! versions, a locked run refusing every change but an adjustment, the
//! checklist's evidence.

use super::*;
use crate::pay::{NewPayLine, NewScore};
use chrono::NaiveDate;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn line(user: &User, fen: i64) -> NewPayLine {
    NewPayLine {
        user_id: user.id,
        team_id: user.team_id,
        total: Money(fen),
        doc: json!({"formula": {"text": format!("P = {fen}")}}),
    }
}

pub(super) async fn pay_bases_rates_settings_scores(s: &dyn Store, f: &Fixture) {
    let a = &f.manager_a;
    s.add_pay_base(a.id, day("2026-01-01"), Money::from_yuan(5000), &f.admin)
        .await
        .unwrap();
    s.add_pay_base(a.id, day("2026-07-01"), Money::from_yuan(5500), &f.admin)
        .await
        .unwrap();
    let bases = s.pay_bases().await.unwrap();
    let mine: Vec<_> = bases.iter().filter(|b| b.user_id == a.id).collect();
    assert_eq!(mine.len(), 2, "the history stays");
    assert_eq!(mine[1].amount, Money::from_yuan(5500));
    assert_eq!(mine[1].effective_from, day("2026-07-01"));
    assert!(matches!(
        s.add_pay_base(999_999, day("2026-01-01"), Money(1), &f.admin)
            .await,
        Err(StoreError::Refused(_))
    ));

    let r = s
        .add_pay_rate(&format!("user:{}", a.id), day("2026-03-01"), 1200, &f.admin)
        .await
        .unwrap();
    assert_eq!(r.rate_bp, 1200);
    s.add_pay_rate("role:manager", day("2026-01-01"), 1500, &f.admin)
        .await
        .unwrap();
    assert_eq!(s.pay_rates().await.unwrap().len(), 2);

    assert!(s.pay_setting("duties").await.unwrap().is_none());
    let v1 = s
        .put_pay_setting("duties", &json!([{"no": 1}]), 0, &f.admin)
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert!(matches!(
        s.put_pay_setting("duties", &json!([]), 0, &f.admin).await,
        Err(StoreError::Conflict {
            expected: 0,
            current: 1
        })
    ));
    s.put_pay_setting("duties", &json!([{"no": 2}]), 1, &f.admin)
        .await
        .unwrap();
    let got = s.pay_setting("duties").await.unwrap().unwrap();
    assert_eq!((got.version, got.doc), (2, json!([{"no": 2}])));

    let sc = |item: &str, score| NewScore {
        item: item.into(),
        score,
        note: None,
    };
    s.put_scores(
        "duty",
        "2026-11",
        a.id,
        &[sc("1", 80), sc("2", 90)],
        &f.admin,
    )
    .await
    .unwrap();
    s.put_scores("duty", "2026-11", a.id, &[sc("2", 60)], &f.admin)
        .await
        .unwrap();
    let rows = s.scores("duty", "2026-11").await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.item.as_str(), r.score))
            .collect::<Vec<_>>(),
        vec![("1", 80), ("2", 60)],
        "a score replaces the earlier one of its item"
    );
    assert!(s.scores("card", "2026-11").await.unwrap().is_empty());
}

pub(super) async fn pay_runs_lock_and_adjust(s: &dyn Store, f: &Fixture) {
    let (a, b) = (&f.manager_a, &f.manager_b);
    let run = s
        .create_pay_run(
            "pay",
            "2026-10",
            &json!({"month": "2026-10"}),
            &[line(a, 100), line(b, 200)],
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(
        (run.status.as_str(), run.version, run.lines.len()),
        ("draft", 1, 2)
    );
    assert!(matches!(
        s.create_pay_run("pay", "2026-10", &json!({}), &[], &f.admin).await,
        Err(StoreError::Duplicate(ids)) if ids == vec![run.id]
    ));
    assert_eq!(
        s.pay_run_of("pay", "2026-10").await.unwrap().unwrap().id,
        run.id
    );
    assert!(s.pay_run_of("bonus", "2026").await.unwrap().is_none());

    // Recompute while draft; a stale version is refused.
    let run = s
        .recompute_pay_run(
            run.id,
            1,
            &json!({"month": "2026-10", "n": 2}),
            &[line(a, 150), line(b, 200)],
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(run.version, 2);
    assert_eq!(run.lines.iter().map(|l| l.total.fen()).sum::<i64>(), 350);
    assert!(matches!(
        s.recompute_pay_run(run.id, 1, &json!({}), &[], &f.admin)
            .await,
        Err(StoreError::Conflict {
            expected: 1,
            current: 2
        })
    ));
    // Approving before the review is refused.
    assert!(matches!(
        s.advance_pay_run(run.id, 2, "reviewed", "approved", &f.admin)
            .await,
        Err(StoreError::Refused(_))
    ));

    // One team's review leaves it draft; the other's completes it.
    let run = s
        .review_pay_run(run.id, 2, &[a.id], false, &f.admin)
        .await
        .unwrap();
    assert_eq!(run.status, "draft");
    assert!(run
        .lines
        .iter()
        .any(|l| l.user_id == a.id && l.reviewed_at.is_some()));
    let run = s
        .review_pay_run(run.id, 3, &[b.id], false, &f.admin)
        .await
        .unwrap();
    assert_eq!(
        (run.status.as_str(), run.reviewed_by),
        ("reviewed", Some(f.admin.id))
    );
    let run = s
        .advance_pay_run(run.id, run.version, "reviewed", "approved", &f.admin)
        .await
        .unwrap();
    assert_eq!(run.status, "approved");
    assert!(run.approved_at.is_some());
    let run = s
        .advance_pay_run(run.id, run.version, "approved", "locked", &f.admin)
        .await
        .unwrap();
    assert_eq!(run.status, "locked");
    assert!(run.locked_at.is_some() && run.locked_by == Some(f.admin.id));

    // A locked run never changes...
    let v = run.version;
    for r in [
        s.recompute_pay_run(run.id, v, &json!({}), &[], &f.admin)
            .await,
        s.review_pay_run(run.id, v, &[], true, &f.admin).await,
        s.advance_pay_run(run.id, v, "approved", "locked", &f.admin)
            .await,
        s.advance_pay_run(run.id, v - 1, "approved", "locked", &f.admin)
            .await,
    ] {
        match r {
            Err(StoreError::Refused(m)) => assert!(m.contains("已锁定"), "{m}"),
            other => panic!("a locked run changed: {other:?}"),
        }
    }
    // ...but takes an adjustment line.
    let adj = NewPayLine {
        doc: json!({"reason": "补发"}),
        ..line(a, -50)
    };
    let run = s
        .add_pay_adjustment(run.id, &adj, "补发", &f.admin)
        .await
        .unwrap();
    assert_eq!(run.status, "locked");
    assert_eq!(run.lines.len(), 3);
    assert!(run.lines[2].adjustment);
    assert_eq!(run.lines.iter().map(|l| l.total.fen()).sum::<i64>(), 300);
    assert!(matches!(
        s.add_pay_adjustment(999_999, &adj, "x", &f.admin).await,
        Err(StoreError::NotFound)
    ));
    let listed = s.pay_runs("pay").await.unwrap();
    assert!(listed
        .iter()
        .any(|r| r.id == run.id && r.status == "locked" && r.lines.is_empty()));

    // A bonus run is approved straight from draft.
    let bonus = s
        .create_pay_run(
            "bonus",
            "2026",
            &json!({"rate": "0.05"}),
            &[line(a, 1000)],
            &f.admin,
        )
        .await
        .unwrap();
    let bonus = s
        .advance_pay_run(bonus.id, bonus.version, "draft", "approved", &f.admin)
        .await
        .unwrap();
    assert_eq!(bonus.status, "approved");
    assert_eq!(s.pay_runs("bonus").await.unwrap().len(), 1);
}

pub(super) async fn pay_evidence_of_a_month(s: &dyn Store, f: &Fixture) {
    let a = &f.manager_a;
    let c = s
        .create_customer(
            &customer(json!({"name": "证据烟酒店", "class": "A"})),
            Some(a.id),
            &f.admin,
        )
        .await
        .unwrap();
    let help = |at: &str| {
        NewActivity::from_json(
            json!({"kind": "help", "help_kind": "favour", "at": at})
                .as_object()
                .unwrap(),
        )
        .unwrap()
    };
    // Two helps in ISO week 45, one in week 46, one the month before.
    for at in [
        "2026-11-02T02:00:00Z",
        "2026-11-05T02:00:00Z",
        "2026-11-10T02:00:00Z",
        "2026-10-20T02:00:00Z",
    ] {
        s.add_activity(c.id, &help(at), a).await.unwrap();
    }
    let ev = s
        .pay_evidence(day("2026-11-01"), day("2026-11-30"))
        .await
        .unwrap();
    let mine = ev
        .iter()
        .find(|e| e.user_id == a.id)
        .expect("evidence of the manager");
    assert_eq!(mine.help_weeks, 2);
    assert_eq!(mine.greetings_done, 0);
}
