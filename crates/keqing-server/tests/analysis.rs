//! Value analysis over the database's orders, through the API.

mod common;

use common::App;
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
            let day = chrono::NaiveDate::from_ymd_opt(
                2026,
                1 + (k as u32 * 3 + i as u32) % 10,
                1 + i as u32,
            );
            let amount = Money(if i < 3 {
                5_000_000
            } else {
                100_000 + i * 1_000
            });
            orders.push(common::order(
                format!("SO-{i}-{k}"),
                c.id,
                day.unwrap(),
                amount,
            ));
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
    // The chart's bar for one purchase lists those four customers.
    let (_, once) = app
        .call(&boss, "GET", "/analysis/repeat?purchases=1", None)
        .await;
    assert_eq!(once["members"]["total"], 4, "{once}");
    let m = &once["members"]["items"][0];
    assert!(m["name"].is_string() && m["purchases"] == 1, "{m}");

    let (s, clv) = app.call(&boss, "GET", "/analysis/clv?freq=W", None).await;
    assert_eq!(s, 200, "{clv}");
    assert!(clv["params"].is_object() && clv["log_likelihood"].is_number());
    // A decile's bar lists its customers: the top 10% are the first of the ranking.
    let n = clv["customers"].as_u64().unwrap() as usize;
    let (_, top) = app
        .call(
            &boss,
            "GET",
            "/analysis/clv?freq=W&decile=1&per_page=500",
            None,
        )
        .await;
    assert_eq!(top["members"]["total"], n / 10, "{top}");
    assert_eq!(
        top["members"]["items"][0]["customer_id"],
        clv["top"]["items"][0]["customer_id"]
    );
    let mut all = 0;
    for d in 1..=10 {
        let (_, r) = app
            .call(
                &boss,
                "GET",
                &format!("/analysis/clv?freq=W&decile={d}"),
                None,
            )
            .await;
        all += r["members"]["total"].as_u64().unwrap();
    }
    assert_eq!(all as usize, n, "the ten deciles hold every customer once");
    assert_eq!(
        app.call(&boss, "GET", "/analysis/clv?decile=11", None)
            .await
            .0,
        422
    );

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
    let (s, r) = app
        .call(&admin, "POST", "/analysis/apply?tier_year=2026", None)
        .await;
    assert_eq!((s, r["updated"].as_i64()), (200, Some(15)));
    let (_, list) = app.call(&admin, "GET", "/customers?class=A", None).await;
    assert_eq!(list["total"], 2, "the ABC class is written onto the files");
    let c = &list["items"][0];
    assert!(c["rfm_class"].is_string());
    // P(alive) travels with the file too, a probability beside the CLV.
    let p = c["p_alive"].as_f64().expect("p_alive is a number");
    assert!((0.0..=1.0).contains(&p), "{p}");
    let (_, one) = app
        .call(&admin, "GET", &format!("/customers/{}", c["id"]), None)
        .await;
    assert_eq!(one["p_alive"], c["p_alive"]);
    assert!(one["clv"].is_string());
    // Tiers by 2026 spend a month (003 A13): 分析客户0 spends 50,000 yuan in the
    // year (4,166.67 a month) and 分析客户1 100,000 (8,333.33): both 水晶
    // (3,000–10,000); 分析客户2's 12,500 a month is above every band, the rest
    // below.
    assert_eq!(r["tiered"], 2);
    let (_, crystal) = app
        .call(&admin, "GET", "/customers?tier=水晶&sort=name", None)
        .await;
    let mut names: Vec<&str> = crystal["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["分析客户0", "分析客户1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_save_members_that_campaigns_target_within_each_scope() {
    let app = App::start().await;
    let (manager_a, _) = seed(&app).await;
    let boss = app.login("boss").await;

    // RFM over every order (the director reads all), saved with its members.
    let (s, snap) = app
        .call(
            &boss,
            "POST",
            "/analysis/snapshots",
            Some(json!({"kind": "rfm", "name": "秋季回访", "params": {"as_of": "2026-12-01"}})),
        )
        .await;
    assert_eq!(s, 201, "{snap}");
    assert_eq!(snap["kind"], "rfm");
    assert_eq!(snap["members"], 15);
    assert_eq!(snap["as_of"], "2026-12-01");
    let id = snap["id"].as_i64().unwrap();
    // The summary is the one GET /analysis/rfm gives for the same as-of date.
    let (_, live) = app
        .call(&boss, "GET", "/analysis/rfm?as_of=2026-12-01", None)
        .await;
    assert_eq!(snap["summary"], live["summary"]);
    let (_, one) = app
        .call(&boss, "GET", &format!("/analysis/snapshots/{id}"), None)
        .await;
    assert_eq!(one, snap);

    // Members of one class, paginated, with the customer's name.
    let class = live["summary"]["classes"]
        .as_object()
        .unwrap()
        .iter()
        .max_by_key(|(_, c)| c["count"].as_i64().unwrap())
        .map(|(k, c)| (k.clone(), c["count"].as_i64().unwrap()))
        .unwrap();
    let (s, page) = app
        .call(
            &boss,
            "GET",
            &format!(
                "/analysis/snapshots/{id}/members?class={}&per_page=2",
                class.0
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], class.1);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2.min(class.1 as usize));
    for m in items {
        assert_eq!(m["class"], class.0.as_str());
        assert!(m["name"].as_str().unwrap().starts_with("分析客户"));
        assert!(m["data"]["score"].is_string() && m["data"]["m"].is_string());
    }
    let (_, all) = app
        .call(
            &boss,
            "GET",
            &format!("/analysis/snapshots/{id}/members?per_page=500"),
            None,
        )
        .await;
    assert_eq!(all["total"], 15);

    // A manager lists only the snapshots they made and reads none of the
    // director's; members of their own snapshot are their own customers.
    let t = app.login("wangfang").await;
    let (_, mine) = app.call(&t, "GET", "/analysis/snapshots", None).await;
    assert_eq!(mine["total"], 0);
    assert_eq!(
        app.call(&t, "GET", &format!("/analysis/snapshots/{id}"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.call(
            &t,
            "GET",
            &format!("/analysis/snapshots/{id}/members"),
            None
        )
        .await
        .0,
        403
    );
    let (s, abc) = app
        .call(
            &t,
            "POST",
            "/analysis/snapshots",
            Some(json!({"kind": "abc", "name": "我的ABC", "params": {"cuts": "70,20,5,5"}})),
        )
        .await;
    assert_eq!(s, 201, "{abc}");
    assert_eq!(abc["members"], 10, "manager A's ten customers");
    let abc_id = abc["id"].as_i64().unwrap();
    let (_, members) = app
        .call(
            &t,
            "GET",
            &format!("/analysis/snapshots/{abc_id}/members?class=A"),
            None,
        )
        .await;
    assert!(members["total"].as_i64().unwrap() >= 1);
    for m in members["items"].as_array().unwrap() {
        assert_eq!(m["owner_id"], manager_a);
        assert_eq!(m["class"], "A");
    }
    let (_, mine) = app.call(&t, "GET", "/analysis/snapshots", None).await;
    assert_eq!(mine["total"], 1);
    // The director sees both, newest first.
    let (_, both) = app.call(&boss, "GET", "/analysis/snapshots", None).await;
    let ids: Vec<i64> = both["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![abc_id, id]);

    // Members are read within the reader's scope at read time: a customer
    // handed to someone else leaves manager A's target list.
    let first = members["items"][0]["customer_id"].as_i64().unwrap();
    let admin = app.store.user_by_name("admin").await.unwrap().unwrap().0;
    let lilei = app.store.user_by_name("lilei").await.unwrap().unwrap().0;
    app.store
        .transfer_customers(&[first], lilei.id, "test", &admin)
        .await
        .unwrap();
    let (_, after) = app
        .call(
            &t,
            "GET",
            &format!("/analysis/snapshots/{abc_id}/members?class=A"),
            None,
        )
        .await;
    assert_eq!(
        after["total"].as_i64().unwrap(),
        members["total"].as_i64().unwrap() - 1
    );

    // CLV snapshots class members by value quintile.
    let (s, clv) = app
        .call(
            &boss,
            "POST",
            "/analysis/snapshots",
            Some(json!({"kind": "clv", "name": "CLV", "params": {"freq": "W"}})),
        )
        .await;
    assert_eq!(s, 201, "{clv}");
    let q = clv["summary"]["classes"].as_object().unwrap();
    assert_eq!(q.values().map(|v| v.as_i64().unwrap()).sum::<i64>(), 15);
    assert_eq!(q["Q1"], 3);

    // Bad requests say which field is wrong.
    for (body, field) in [
        (json!({"kind": "xyz", "name": "x"}), "kind"),
        (json!({"kind": "rfm", "name": " "}), "name"),
        (
            json!({"kind": "rfm", "name": "x", "params": {"as_of": "tomorrow"}}),
            "as_of",
        ),
    ] {
        let (s, e) = app
            .call(&boss, "POST", "/analysis/snapshots", Some(body))
            .await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["details"]["fields"][0]["field"], field, "{e}");
    }

    // Only the maker (or an administrator) deletes a snapshot.
    assert_eq!(
        app.call(
            &boss,
            "DELETE",
            &format!("/analysis/snapshots/{abc_id}"),
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        app.call(&t, "DELETE", &format!("/analysis/snapshots/{abc_id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call(&boss, "GET", &format!("/analysis/snapshots/{abc_id}"), None)
            .await
            .0,
        404
    );
}
