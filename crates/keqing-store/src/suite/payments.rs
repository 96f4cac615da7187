//! Orders edited with a version, and their payments (回款): the owed check
//! made where the payment is written, the history, receivables.

use super::*;
use chrono::NaiveDate;
use keqing_domain::order::NewPayment;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn pay(fen: i64, due: Option<&str>, paid: Option<&str>) -> NewPayment {
    NewPayment {
        amount: Money(fen),
        due_date: due.map(day),
        paid_date: paid.map(day),
    }
}

fn entry(v: serde_json::Value) -> NewOrder {
    NewOrder::from_json(v.as_object().unwrap()).unwrap()
}

/// Versions and history of an order; payments up to what is owed and not a
/// fen more, nothing written when refused; a paid import is paid in full.
pub(super) async fn orders_and_payments(s: &dyn Store, f: &Fixture) {
    let c = named_customer(s, "回款客户", Some(f.manager_a.id), &f.admin).await;
    let o = s
        .create_order(
            &entry(json!({"customer_id": c.id, "date": "2026-09-01", "amount": "1000", "quantity": 10, "unit": "箱"})),
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!(
        (o.version, o.paid, o.outstanding),
        (1, Money(0), Money(100_000))
    );
    assert!(o.payments.is_empty());

    // An edit: version 2, the changes in the audit log and the history.
    let edited = o
        .fields
        .patched(
            json!({"amount": "800", "product": "黄酒"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let changes = keqing_domain::history::diff(&o.fields.to_json(), &edited.to_json());
    let o2 = s
        .update_order(o.id, 1, &edited, &changes, &f.manager_a)
        .await
        .unwrap();
    assert_eq!((o2.version, o2.fields.amount), (2, Money(80_000)));
    assert_eq!(o2.fields.product.as_deref(), Some("黄酒"));
    assert!(matches!(
        s.update_order(o.id, 1, &o.fields, &changes, &f.manager_a)
            .await,
        Err(StoreError::Conflict {
            expected: 1,
            current: 2
        })
    ));
    assert!(matches!(
        s.update_order(999_999, 1, &o.fields, &changes, &f.manager_a)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.order(o.id).await.unwrap().unwrap(), o2);

    // Payments: a part paid, a part due; what is left may be recorded, no more.
    let p1 = s
        .add_payment(
            o.id,
            &pay(30_000, Some("2026-09-10"), Some("2026-09-08")),
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!((p1.version, p1.created_by), (1, Some(f.manager_a.id)));
    let p2 = s
        .add_payment(o.id, &pay(20_000, Some("2026-10-10"), None), &f.manager_a)
        .await
        .unwrap();
    let over = s
        .add_payment(o.id, &pay(30_001, None, None), &f.manager_a)
        .await;
    match over {
        Err(StoreError::Invalid { field, message }) => {
            assert_eq!(field, "amount");
            assert!(message.starts_with("回款金额超过"), "{message}");
            assert!(message.contains("300.00"), "{message}");
        }
        other => panic!("over-payment: {other:?}"),
    }
    let listed = s.orders(c.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    let l = &listed[0];
    assert_eq!(
        l.payments,
        vec![p1.clone(), p2.clone()],
        "nothing written when refused"
    );
    assert_eq!(
        (l.paid, l.outstanding, l.unscheduled),
        (Money(30_000), Money(50_000), Money(30_000))
    );
    assert!(matches!(
        s.add_payment(999_999, &pay(1, None, None), &f.manager_a)
            .await,
        Err(StoreError::NotFound)
    ));

    // The order's amount may not go below what its payments add up to.
    let low = o2
        .fields
        .patched(json!({"amount": "499.99"}).as_object().unwrap())
        .unwrap();
    assert!(matches!(
        s.update_order(o.id, 2, &low, &[], &f.manager_a).await,
        Err(StoreError::Invalid { ref field, .. }) if field == "amount"
    ));

    // Marking the second instalment paid; stale versions refused; growing
    // it past what is owed refused.
    let p2b = s
        .update_payment(
            p2.id,
            1,
            &pay(20_000, Some("2026-10-10"), Some("2026-10-09")),
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!((p2b.version, p2b.paid_date), (2, Some(day("2026-10-09"))));
    assert!(matches!(
        s.update_payment(p2.id, 1, &pay(20_000, None, None), &f.manager_a)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        s.update_payment(p2.id, 2, &pay(50_001, None, None), &f.manager_a)
            .await,
        Err(StoreError::Invalid { .. })
    ));
    let p2c = s
        .update_payment(
            p2.id,
            2,
            &pay(50_000, Some("2026-10-10"), Some("2026-10-09")),
            &f.manager_a,
        )
        .await
        .unwrap();
    assert_eq!(p2c.version, 3);
    assert_eq!(s.payment(p2.id).await.unwrap().unwrap(), p2c);
    let o3 = s.order(o.id).await.unwrap().unwrap();
    assert_eq!((o3.paid, o3.outstanding), (Money(80_000), Money(0)));
    assert_eq!(
        o3.fields.paid_date,
        Some(day("2026-10-09")),
        "paid in full on the last payment's day"
    );
    assert_eq!(l.fields.paid_date, None, "not while anything is owed");

    // The history: the order's edit and its payments, oldest first.
    let h = s.order_history(o.id).await.unwrap();
    let acts: Vec<_> = h
        .iter()
        .map(|a| (a.action.as_str(), a.entity.as_str()))
        .collect();
    assert_eq!(
        acts,
        [
            ("create", "order"),
            ("update", "order"),
            ("create", "payment"),
            ("create", "payment"),
            ("update", "payment"),
            ("update", "payment")
        ]
    );
    let d = &h[1].detail;
    assert_eq!(
        (&d["old"]["amount"], &d["new"]["amount"]),
        (&json!("1000.00"), &json!("800.00")),
        "{d}"
    );
    assert_eq!(d["customer_id"], c.id);

    // An import with a paid date: the order and its one full payment.
    let paid_import = NewOrder {
        external_id: Some("PAY-1".into()),
        due_date: Some(day("2026-08-15")),
        paid_date: Some(day("2026-08-20")),
        ..entry(json!({"customer_id": c.id, "date": "2026-08-01", "amount": "66.60"}))
    };
    let open_import = NewOrder {
        external_id: Some("PAY-2".into()),
        due_date: Some(day("2026-08-31")),
        ..entry(json!({"customer_id": c.id, "date": "2026-08-02", "amount": "10"}))
    };
    let r = s
        .add_orders(&[paid_import.clone(), open_import])
        .await
        .unwrap();
    assert_eq!(r.imported, 2);
    let r = s.add_orders(&[paid_import]).await.unwrap();
    assert_eq!(r.existing, 1, "a re-import pays nothing twice");
    let orders = s.orders(c.id).await.unwrap();
    let imp = orders
        .iter()
        .find(|o| o.fields.external_id.as_deref() == Some("PAY-1"))
        .unwrap();
    assert_eq!(imp.payments.len(), 1);
    assert_eq!(
        (
            imp.payments[0].amount,
            imp.payments[0].due_date,
            imp.payments[0].paid_date,
            imp.outstanding
        ),
        (
            Money(6_660),
            Some(day("2026-08-15")),
            Some(day("2026-08-20")),
            Money(0)
        )
    );
    let open = orders
        .iter()
        .find(|o| o.fields.external_id.as_deref() == Some("PAY-2"))
        .unwrap();
    assert!(open.payments.is_empty());
}

/// What customers owe: only the caller's reach, the subject's customers,
/// aged by due day, as of a day.
pub(super) async fn receivables(s: &dyn Store, f: &Fixture) {
    let mine = named_customer(s, "应收甲", Some(f.manager_a.id), &f.admin).await;
    let theirs = named_customer(s, "应收乙", Some(f.manager_b.id), &f.admin).await;
    let order = |cid: i64, date: &str, amount: &str| {
        entry(json!({"customer_id": cid, "date": date, "amount": amount}))
    };
    // 甲: 1000 ordered 2026-06-01 (due on that day: nothing scheduled), 300
    // paid, 200 due 2026-07-20 not paid; 500 not scheduled, due 06-01.
    let a = s
        .create_order(&order(mine.id, "2026-06-01", "1000"), &f.manager_a)
        .await
        .unwrap();
    s.add_payment(
        a.id,
        &pay(30_000, Some("2026-06-10"), Some("2026-06-12")),
        &f.manager_a,
    )
    .await
    .unwrap();
    s.add_payment(a.id, &pay(20_000, Some("2026-07-20"), None), &f.manager_a)
        .await
        .unwrap();
    // 乙: 400 ordered 2026-07-25, a later payment of all of it, due 08-10.
    let b = s
        .create_order(&order(theirs.id, "2026-07-25", "400"), &f.manager_b)
        .await
        .unwrap();
    s.add_payment(
        b.id,
        &pay(40_000, Some("2026-08-10"), Some("2026-08-15")),
        &f.manager_b,
    )
    .await
    .unwrap();

    let q = |visibility: Visibility, subject: ReceivablesSubject, as_of: &str| ReceivablesQuery {
        visibility,
        subject,
        as_of: day(as_of),
        limit: 50,
    };
    let amounts = |r: &Receivables| r.buckets.iter().map(|b| b.amount.fen()).collect::<Vec<_>>();
    // On 2026-08-01: 甲 owes 700 (500 since 06-01: 61 days; 200 since 07-20:
    // 12 days), 乙 400, due 08-10 (not yet).
    let r = s
        .receivables(&q(
            Visibility::All,
            ReceivablesSubject::Company,
            "2026-08-01",
        ))
        .await
        .unwrap();
    let ours: Vec<_> = r
        .customers
        .iter()
        .filter(|c| c.customer_id == mine.id || c.customer_id == theirs.id)
        .collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].customer_id, mine.id, "the largest first");
    assert_eq!(
        (ours[0].outstanding, ours[0].overdue),
        (Money(70_000), Money(70_000))
    );
    assert_eq!(ours[0].oldest_due, Some(day("2026-06-01")));
    assert_eq!(ours[0].owner_name.as_deref(), Some("wangfang"));
    assert_eq!(
        (ours[1].outstanding, ours[1].overdue),
        (Money(40_000), Money(0))
    );

    let only_a = s
        .receivables(&q(
            Visibility::OwnerOrPool(f.manager_a.id),
            ReceivablesSubject::User(f.manager_a.id),
            "2026-08-01",
        ))
        .await
        .unwrap();
    assert!(only_a
        .customers
        .iter()
        .all(|c| c.owner_id == Some(f.manager_a.id)));
    let mine_only = s
        .receivables(&q(
            Visibility::All,
            ReceivablesSubject::User(f.manager_a.id),
            "2026-08-01",
        ))
        .await
        .unwrap();
    assert!(mine_only
        .customers
        .iter()
        .all(|c| c.customer_id != theirs.id));
    let a_line = mine_only
        .customers
        .iter()
        .find(|c| c.customer_id == mine.id)
        .unwrap();
    assert_eq!(a_line.outstanding, Money(70_000));
    // Another manager's reach: 甲 is not in it.
    let b_reach = s
        .receivables(&q(
            Visibility::OwnerOrPool(f.manager_b.id),
            ReceivablesSubject::Company,
            "2026-08-01",
        ))
        .await
        .unwrap();
    assert!(b_reach.customers.iter().all(|c| c.customer_id != mine.id));
    assert!(b_reach.customers.iter().any(|c| c.customer_id == theirs.id));
    // Team: 乙's owner is in another team.
    let team = s
        .receivables(&q(
            Visibility::All,
            ReceivablesSubject::Team(f.team_a.id),
            "2026-08-01",
        ))
        .await
        .unwrap();
    assert!(team.customers.iter().all(|c| c.customer_id != theirs.id));

    // Only these two customers' figures, by bucket: a fresh query scoped
    // to manager b (乙 alone) then to 甲 by itself.
    assert!(amounts(&b_reach)[0] >= 40_000);
    let a_only = s
        .receivables(&q(
            Visibility::OwnerOrPool(f.manager_a.id),
            ReceivablesSubject::User(f.manager_a.id),
            "2026-08-01",
        ))
        .await
        .unwrap();
    let line = a_only
        .customers
        .iter()
        .find(|c| c.customer_id == mine.id)
        .unwrap();
    assert_eq!(line.overdue, Money(70_000));

    // As of 2026-06-05 the payment of 06-12 was not made: 1000 owed, all of
    // it due 06-01 or later: 500 + 300 (its due 06-10 not come) + 200.
    let early = s
        .receivables(&q(
            Visibility::All,
            ReceivablesSubject::User(f.manager_a.id),
            "2026-06-05",
        ))
        .await
        .unwrap();
    let line = early
        .customers
        .iter()
        .find(|c| c.customer_id == mine.id)
        .unwrap();
    assert_eq!(
        (line.outstanding, line.overdue),
        (Money(100_000), Money(50_000))
    );
    // 乙's order is after that day: not owed yet.
    let early_all = s
        .receivables(&q(
            Visibility::All,
            ReceivablesSubject::Company,
            "2026-06-05",
        ))
        .await
        .unwrap();
    assert!(early_all
        .customers
        .iter()
        .all(|c| c.customer_id != theirs.id));
    assert_eq!(
        RECEIVABLE_BUCKETS.to_vec(),
        early_all
            .buckets
            .iter()
            .map(|b| b.label.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        early_all.outstanding.fen(),
        early_all
            .customers
            .iter()
            .map(|c| c.outstanding.fen())
            .sum::<i64>(),
        "the totals are the customers' (fewer than 50 here)"
    );
}

/// A store whose only customers are two: ageing by bucket, exactly.
pub async fn receivable_buckets(s: &dyn Store) {
    let f = fixture(s).await;
    let c = named_customer(s, "账龄客户", Some(f.manager_a.id), &f.admin).await;
    let order = |date: &str, amount: &str| {
        entry(json!({"customer_id": c.id, "date": date, "amount": amount}))
    };
    let o = s
        .create_order(&order("2026-01-05", "1000"), &f.admin)
        .await
        .unwrap();
    // due 2026-06-30: 1-30 days late on 07-15; 2026-05-01: 61-90 (75);
    // 2026-03-01: over 90; 2026-07-31: not yet due; the rest (100) is due
    // on the order's day (2026-01-05), over 90 days.
    for (fen, due) in [
        (10_000, "2026-06-30"),
        (20_000, "2026-05-01"),
        (30_000, "2026-03-01"),
        (30_000, "2026-07-31"),
    ] {
        s.add_payment(o.id, &pay(fen, Some(due), None), &f.admin)
            .await
            .unwrap();
    }
    let r = s
        .receivables(&ReceivablesQuery {
            visibility: Visibility::All,
            subject: ReceivablesSubject::Company,
            as_of: day("2026-07-15"),
            limit: 50,
        })
        .await
        .unwrap();
    let amounts: Vec<_> = r.buckets.iter().map(|b| b.amount.fen()).collect();
    assert_eq!(amounts, [30_000, 10_000, 0, 20_000, 40_000]);
    assert_eq!((r.outstanding, r.overdue), (Money(100_000), Money(70_000)));
    assert_eq!(r.customers[0].oldest_due, Some(day("2026-01-05")));
}

/// Receivables (metric 3) kept right by the payments' triggers: a paid
/// payment counts for the order's seller on its paid day, an unpaid one
/// nowhere; moving the paid day, changing the amount and unpaying move the
/// figure; an import with a paid date counts its full amount; a pool
/// customer's payments count for nobody (user 0).
pub async fn receivables_metric(s: &dyn Store) {
    use crate::performance::Grain;
    use keqing_domain::performance::Metric;
    let f = fixture(s).await;
    let got = |user: i64| async move {
        s.actuals(
            Metric::Receivables,
            day("2025-01-01"),
            day("2025-12-31"),
            Grain::Day,
            None,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.user_id == user && r.value != 0)
        .map(|r| (r.period.to_string(), r.value))
        .collect::<Vec<_>>()
    };
    let mine = named_customer(s, "回款指标", Some(f.manager_a.id), &f.admin).await;
    let o = s
        .create_order(
            &entry(json!({"customer_id": mine.id, "date": "2025-03-01", "amount": "1000"})),
            &f.manager_a,
        )
        .await
        .unwrap();
    let a = f.manager_a.id;
    assert!(got(a).await.is_empty(), "an order is no payment");
    let p = s
        .add_payment(o.id, &pay(30_000, None, Some("2025-03-05")), &f.manager_a)
        .await
        .unwrap();
    let due = s
        .add_payment(o.id, &pay(20_000, Some("2025-04-01"), None), &f.manager_a)
        .await
        .unwrap();
    assert_eq!(got(a).await, [("2025-03-05".to_string(), 30_000)]);
    // The unpaid one paid; the first moved a day and grown.
    s.update_payment(
        due.id,
        1,
        &pay(20_000, Some("2025-04-01"), Some("2025-04-02")),
        &f.manager_a,
    )
    .await
    .unwrap();
    s.update_payment(
        p.id,
        1,
        &pay(35_000, None, Some("2025-03-06")),
        &f.manager_a,
    )
    .await
    .unwrap();
    assert_eq!(
        got(a).await,
        [
            ("2025-03-06".to_string(), 35_000),
            ("2025-04-02".to_string(), 20_000)
        ]
    );
    // Unpaid again: it leaves the metric.
    s.update_payment(
        due.id,
        2,
        &pay(20_000, Some("2025-04-01"), None),
        &f.manager_a,
    )
    .await
    .unwrap();
    assert_eq!(got(a).await, [("2025-03-06".to_string(), 35_000)]);
    // A refused over-payment writes nothing.
    assert!(s
        .add_payment(o.id, &pay(45_001, None, Some("2025-03-06")), &f.manager_a)
        .await
        .is_err());
    assert_eq!(got(a).await, [("2025-03-06".to_string(), 35_000)]);
    // An import paid already: its full amount on its paid day.
    let imported = NewOrder {
        external_id: Some("RCV-1".into()),
        due_date: Some(day("2025-05-10")),
        paid_date: Some(day("2025-05-20")),
        ..entry(json!({"customer_id": mine.id, "date": "2025-05-01", "amount": "12.34"}))
    };
    s.add_orders(std::slice::from_ref(&imported)).await.unwrap();
    s.add_orders(&[imported]).await.unwrap();
    assert_eq!(
        got(a).await,
        [
            ("2025-03-06".to_string(), 35_000),
            ("2025-05-20".to_string(), 1_234)
        ]
    );
    // A customer in the pool: its payments count for nobody.
    let pool = named_customer(s, "公海回款", None, &f.admin).await;
    let po = s
        .create_order(
            &entry(json!({"customer_id": pool.id, "date": "2025-06-01", "amount": "5"})),
            &f.admin,
        )
        .await
        .unwrap();
    s.add_payment(po.id, &pay(500, None, Some("2025-06-02")), &f.admin)
        .await
        .unwrap();
    assert_eq!(got(0).await, [("2025-06-02".to_string(), 500)]);
}

/// Payments of one order recorded at once: together they never pass its
/// amount (the check holds the order while it writes).
pub async fn concurrent_payments(s: &dyn Store) {
    let f = fixture(s).await;
    let c = named_customer(s, "并发回款", Some(f.manager_a.id), &f.admin).await;
    let o = s
        .create_order(
            &entry(json!({"customer_id": c.id, "date": "2025-03-01", "amount": "1000"})),
            &f.manager_a,
        )
        .await
        .unwrap();
    for _ in 0..4 {
        let p = pay(60_000, None, None);
        let (a, b, c2) = tokio::join!(
            s.add_payment(o.id, &p, &f.manager_a),
            s.add_payment(o.id, &p, &f.manager_a),
            s.add_payment(o.id, &p, &f.admin),
        );
        let ok = [a.is_ok(), b.is_ok(), c2.is_ok()]
            .iter()
            .filter(|x| **x)
            .count();
        assert!(ok <= 1, "{ok} payments of 600 on an order of 1000");
    }
    let after = s.order(o.id).await.unwrap().unwrap();
    assert_eq!(after.payments.len(), 1);
    assert_eq!(after.unscheduled, Money(40_000));
}
