//! Targets with their revisions, and the daily totals KPIs read.

use super::*;
use crate::performance::{ActualRow, Grain};
use keqing_domain::performance::{Metric, RevisionInput, TargetInput};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub(super) async fn daily_totals(s: &dyn Store, f: &Fixture) {
    // A person of their own, and a year nobody else's orders fall in.
    let seller = s
        .create_user(&new_user("业绩员", Role::Manager, Some(f.team_a.id)))
        .await
        .unwrap();
    let mine = named_customer(s, "业绩客户", Some(seller.id), &f.admin).await;
    let pooled = named_customer(s, "公海业绩客户", None, &f.admin).await;
    let order = |ext: &str, customer: i64, at: &str, fen: i64, qty: i64| NewOrder {
        external_id: Some(ext.into()),
        customer_id: customer,
        ordered_at: at.parse().unwrap(),
        amount: Money(fen),
        quantity: qty,
        unit: None,
        product: None,
        channel: None,
        store: None,
        due_date: None,
        paid_date: None,
    };
    s.add_orders(&[
        order("perf-1", mine.id, "2019-03-01T04:00:00Z", 10_000, 2),
        // 17:00 UTC on 31 March is 1 April in China.
        order("perf-2", mine.id, "2019-03-31T17:00:00Z", 5_000, 1),
        order("perf-3", mine.id, "2019-04-15T04:00:00Z", 2_500, 3),
        order("perf-4", pooled.id, "2019-03-02T04:00:00Z", 700, 1),
    ])
    .await
    .unwrap();
    // Entered by hand: credited to the owner too.
    s.create_order(
        &NewOrder::from_json(
            json!({"customer_id": mine.id, "date": "2019-03-01", "amount": "10.00", "quantity": 4})
                .as_object()
                .unwrap(),
        )
        .unwrap(),
        &seller,
    )
    .await
    .unwrap();
    let mine_only = |rows: Vec<ActualRow>| -> Vec<(String, i64)> {
        rows.into_iter()
            .filter(|r| r.user_id == seller.id)
            .map(|r| (r.period.to_string(), r.value))
            .collect()
    };
    let (from, to) = (day("2019-01-01"), day("2019-12-31"));
    assert_eq!(
        mine_only(
            s.actuals(Metric::SalesAmount, from, to, Grain::Day, None)
                .await
                .unwrap()
        ),
        [
            ("2019-03-01".to_string(), 11_000),
            ("2019-04-01".to_string(), 5_000),
            ("2019-04-15".to_string(), 2_500)
        ],
        "by China's day, the order entered by hand added to the day's"
    );
    assert_eq!(
        mine_only(
            s.actuals(Metric::SalesAmount, from, to, Grain::Month, None)
                .await
                .unwrap()
        ),
        [
            ("2019-03-01".to_string(), 11_000),
            ("2019-04-01".to_string(), 7_500)
        ]
    );
    assert_eq!(
        mine_only(
            s.actuals(Metric::Quantity, from, to, Grain::Total, None)
                .await
                .unwrap()
        ),
        [("2019-01-01".to_string(), 10)]
    );
    let march = s
        .actuals(
            Metric::SalesAmount,
            day("2019-03-01"),
            day("2019-03-31"),
            Grain::Total,
            None,
        )
        .await
        .unwrap();
    assert!(
        march.contains(&ActualRow {
            user_id: 0,
            period: day("2019-03-01"),
            value: 700
        }),
        "a pool customer's order counts for nobody, and for the company: {march:?}"
    );
    // Whole months from the monthly totals, the days around them from the
    // daily ones; and one person's figures alone.
    let total = |rows: Vec<ActualRow>| -> i64 {
        rows.iter()
            .filter(|r| r.user_id == seller.id)
            .map(|r| r.value)
            .sum()
    };
    assert_eq!(
        total(
            s.actuals(
                Metric::SalesAmount,
                day("2019-03-01"),
                day("2019-04-10"),
                Grain::Total,
                None
            )
            .await
            .unwrap()
        ),
        16_000,
        "March whole, then 1–10 April"
    );
    assert_eq!(
        mine_only(
            s.actuals(
                Metric::SalesAmount,
                day("2019-03-02"),
                day("2019-04-30"),
                Grain::Month,
                None
            )
            .await
            .unwrap()
        ),
        [("2019-04-01".to_string(), 7_500)],
        "1 March left out, April whole"
    );
    let alone = s
        .actuals(
            Metric::SalesAmount,
            from,
            to,
            Grain::Total,
            Some(vec![seller.id]),
        )
        .await
        .unwrap();
    assert_eq!(
        alone,
        [ActualRow {
            user_id: seller.id,
            period: from,
            value: 18_500
        }]
    );
    assert!(s
        .actuals(Metric::SalesAmount, from, to, Grain::Month, Some(vec![]))
        .await
        .unwrap()
        .is_empty());
    // A product's part: 003's 省外烟 of all the cases.
    let part = |o: &str, at: &str, qty: i64, product: &str| NewOrder {
        product: Some(product.into()),
        ..order(o, mine.id, at, 1_000, qty)
    };
    s.add_orders(&[
        part("perf-p1", "2019-05-02T04:00:00Z", 807, "省外烟"),
        part("perf-p2", "2019-05-03T04:00:00Z", 2275, "省内烟"),
        // 16:30 UTC on 31 May is 1 June in China: outside May.
        part("perf-p3", "2019-05-31T16:30:00Z", 9, "省外烟"),
    ])
    .await
    .unwrap();
    let may = (day("2019-05-01"), day("2019-05-31"));
    let p = |names: &[&str], users: Option<Vec<i64>>| {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        s.product_actual(Metric::Quantity, names, may.0, may.1, users)
    };
    assert_eq!(p(&["省外烟"], None).await.unwrap(), 807);
    assert_eq!(
        p(&["省外烟", "省内烟"], Some(vec![seller.id]))
            .await
            .unwrap(),
        3082
    );
    assert_eq!(p(&["省外烟"], Some(vec![f.manager_b.id])).await.unwrap(), 0);
    assert!(matches!(
        s.product_actual(Metric::Visits, vec![], may.0, may.1, None)
            .await,
        Err(StoreError::Refused(_))
    ));
    // A visit counts for who made it; a call does not.
    for (kind, at) in [
        ("visit", "2019-03-05T02:00:00Z"),
        ("call", "2019-03-06T02:00:00Z"),
    ] {
        s.add_activity(
            mine.id,
            &NewActivity::from_json(json!({"kind": kind, "at": at}).as_object().unwrap()).unwrap(),
            &seller,
        )
        .await
        .unwrap();
    }
    assert_eq!(
        mine_only(
            s.actuals(Metric::Visits, from, to, Grain::Total, None)
                .await
                .unwrap()
        ),
        [("2019-01-01".to_string(), 1)]
    );
    // A new customer counts for its owner on the day it was created.
    let today = (Utc::now() + chrono::Duration::hours(8)).date_naive();
    let news = s
        .actuals(Metric::NewCustomers, today, today, Grain::Total, None)
        .await
        .unwrap();
    assert!(
        news.iter().any(|r| r.user_id == seller.id && r.value == 1),
        "{news:?}"
    );
}

pub(super) async fn targets_and_revisions(s: &dyn Store, f: &Fixture) {
    let input = |v: serde_json::Value| TargetInput::from_json(v.as_object().unwrap()).unwrap();
    // 003: 2.5万 cases, revised to 2.55万.
    let t = s
        .create_target(
            &input(
                json!({"level": "company", "metric": "quantity", "year": 2030, "amount": 25000}),
            ),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!((t.version, t.revisions.len()), (1, 1));
    assert_eq!(t.current().months.iter().sum::<i64>(), 25000);
    assert_eq!(t.current().effective_from, day("2030-01-01"));
    assert_eq!(t.current().by_name.as_deref(), Some("admin"));
    let again = s
        .create_target(
            &input(json!({"level": "company", "metric": "quantity", "year": 2030, "amount": 1})),
            &f.admin,
        )
        .await;
    assert!(
        matches!(&again, Err(StoreError::Duplicate(ids)) if ids == &vec![t.id]),
        "{again:?}"
    );
    let rev = RevisionInput::from_json(
        json!({"version": 1, "amount": 25500, "effective_from": "2030-01-10", "reason": "市局修正任务"})
            .as_object()
            .unwrap(),
        Metric::Quantity,
    )
    .unwrap();
    let months = rev.months_from(&t.current().months);
    let t2 = s.revise_target(t.id, &rev, months, &f.admin).await.unwrap();
    assert_eq!(t2.version, 2);
    assert_eq!(t2.current().amount, 25500);
    assert_eq!(t2.current().reason.as_deref(), Some("市局修正任务"));
    assert_eq!(
        t2.in_force(day("2030-01-09")).amount,
        25000,
        "the history stays"
    );
    assert_eq!(t2.in_force(day("2030-01-10")).amount, 25500);
    assert!(matches!(
        s.revise_target(t.id, &rev, months, &f.admin).await,
        Err(StoreError::Conflict {
            expected: 1,
            current: 2
        })
    ));
    assert_eq!(
        s.target(t.id).await.unwrap().unwrap().version,
        2,
        "nothing written"
    );
    assert!(matches!(
        s.revise_target(999_999, &rev, months, &f.admin).await,
        Err(StoreError::NotFound)
    ));
    let user_target = s
        .create_target(
            &input(json!({"level": "user", "subject_id": f.manager_a.id, "metric": "sales_amount",
                "year": 2030, "amount": "80000", "months": [10, 5, 8, 8, 8, 8, 8, 8, 8, 9, 10, 10]})),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(user_target.current().months[0], 800_000);
    let all = s.targets(2030, None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all.iter().find(|x| x.id == t.id).unwrap().revisions.len(),
        2
    );
    assert_eq!(
        s.targets(2030, Some(Metric::Visits)).await.unwrap().len(),
        0
    );
    let audit = s.audit_log(10).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "revise" && a.entity == "target" && a.entity_id == Some(t.id)));
}
