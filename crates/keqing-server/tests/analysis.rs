//! Value analysis over the database's orders, through the API.

mod common;

use common::App;
use keqing_domain::order::NewOrder;
use keqing_domain::{CustomerInput, Money, Role};
use serde_json::json;

/// Ten customers of manager A and five of manager B with a skewed history.
async fn seed(app: &App) -> (i64, i64) {
    let team = app.store.create_team("A", None).await.unwrap();
    let a = app.user("wangfang", Role::Manager, Some(team.id)).await;
    let b = app.user("lilei", Role::Manager, Some(team.id)).await;
    app.user("boss", Role::Director, None).await;
    let admin = app.user("admin", Role::Admin, None).await;
    let mut orders = vec![];
    for i in 0..15i64 {
        let owner = if i < 10 { a.id } else { b.id };
        let input =
            CustomerInput::from_json(json!({"name": format!("分析客户{i}")}).as_object().unwrap())
                .unwrap();
        let c = app
            .store
            .create_customer(&input, Some(owner), &admin)
            .await
            .unwrap();
        // Customer i buys (i % 4 + 1) times; the first three spend far more.
        for k in 0..(i % 4 + 1) {
            orders.push(NewOrder {
                external_id: Some(format!("SO-{i}-{k}")),
                customer_id: c.id,
                ordered_at: chrono::NaiveDate::from_ymd_opt(
                    2026,
                    1 + (k as u32 * 3 + i as u32) % 10,
                    1 + i as u32,
                )
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap()
                .and_utc(),
                amount: Money(if i < 3 {
                    5_000_000
                } else {
                    100_000 + i * 1_000
                }),
                quantity: 1,
                product: None,
                channel: None,
                store: None,
                due_date: None,
                paid_date: None,
            });
        }
    }
    app.store.add_orders(&orders).await.unwrap();
    (a.id, b.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfm_abc_clv_repeat_and_funnel_over_the_database() {
    let app = App::start().await;
    seed(&app).await;
    let boss = app.login("boss").await;

    let (s, rfm) = app
        .call(&boss, "GET", "/analysis/rfm?as_of=2026-12-01", None)
        .await;
    assert_eq!(s, 200, "{rfm}");
    assert_eq!(rfm["summary"]["customers"], 15);
    let classes = rfm["summary"]["classes"].as_object().unwrap();
    assert_eq!(classes.len(), 8);
    let total: i64 = classes.values().map(|c| c["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 15, "the eight classes hold every customer once");
    assert_eq!(classes["important_value"]["label_zh"], "重要价值客户");

    let (_, abc) = app.call(&boss, "GET", "/analysis/abc", None).await;
    let a = &abc["summary"]["classes"]["A"];
    // Sales: 分析客户2 15M fen, 分析客户1 10M, 分析客户0 5M, the rest about 3.3M in
    // all. 分析客户0 has 75% of sales ranked before it: class B.
    assert_eq!(a["customers"], 2);
    assert_eq!(abc["pareto"].as_array().unwrap().len(), 101);
    let (_, members) = app.call(&boss, "GET", "/analysis/abc?class=A", None).await;
    let names: Vec<&str> = members["members"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["分析客户2", "分析客户1"],
        "by sales, largest first"
    );

    let (s, rep) = app.call(&boss, "GET", "/analysis/repeat", None).await;
    assert_eq!(s, 200);
    assert_eq!(rep["customers"], 15);
    let bought_once = rep["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["purchases"] == 1)
        .unwrap();
    assert_eq!(bought_once["customers"], 4);

    let (s, clv) = app.call(&boss, "GET", "/analysis/clv?freq=W", None).await;
    assert_eq!(s, 200, "{clv}");
    assert!(clv["params"].is_object() && clv["log_likelihood"].is_number());

    // SPEC §5 fixture.
    let (_, f) = app
        .call(
            &boss,
            "GET",
            "/analysis/funnel?counts=750,200,150,80,75,70",
            None,
        )
        .await;
    assert_eq!(f["rates"]["attention"], 26.67);
    assert_eq!(f["rates"]["overall"], 10.0);
    assert_eq!(f["weakest"], "attention");
    assert_eq!(
        app.call(&boss, "GET", "/analysis/funnel?counts=1,2", None)
            .await
            .0,
        422
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_analyses_only_their_own_customers_and_classes_can_be_applied() {
    let app = App::start().await;
    seed(&app).await;
    let t = app.login("lilei").await;
    let (_, rfm) = app.call(&t, "GET", "/analysis/rfm", None).await;
    assert_eq!(rfm["summary"]["customers"], 5);
    assert_eq!(app.call(&t, "POST", "/analysis/apply", None).await.0, 403);

    let admin = app.login("admin").await;
    let (s, r) = app.call(&admin, "POST", "/analysis/apply", None).await;
    assert_eq!((s, r["updated"].as_i64()), (200, Some(15)));
    let (_, list) = app.call(&admin, "GET", "/customers?class=A", None).await;
    assert_eq!(list["total"], 2, "the ABC class is written onto the files");
    let c = &list["items"][0];
    assert!(c["rfm_class"].is_string());
}
