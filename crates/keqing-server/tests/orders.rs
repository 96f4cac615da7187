//! `POST /orders`: an order entered by hand (issue 25), the names the
//! customer answers carry, and a group's members (`?parent=`).

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

async fn customer(app: &App, token: &str, body: Value) -> i64 {
    let (s, c) = app.call(token, "POST", "/customers", Some(body)).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_i64().unwrap()
}

fn fields(v: &Value) -> Vec<String> {
    let mut f: Vec<String> = v["details"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    f.sort();
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_records_an_order_on_their_customer() {
    let app = App::start().await;
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    app.user("wangfang", Role::Manager, Some(team.id)).await;
    app.user("lijun", Role::Manager, Some(team.id)).await;
    app.user("hejuan", Role::Finance, None).await;
    app.user("maxiaoyu", Role::Agent, None).await;
    let t = app.login("wangfang").await;
    let id = customer(&app, &t, json!({"name": "手录订单有限公司"})).await;

    let (s, o) = app
        .call(
            &t,
            "POST",
            "/orders",
            Some(json!({"customer_id": id, "date": "2026-03-02", "amount": "1234.50", "quantity": 12, "unit": "箱", "product": "黄酒", "channel": "门店"})),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert!(o["id"].as_i64().unwrap() > 0);
    assert_eq!(o["customer_id"], id);
    assert_eq!(o["amount"], "1234.50");
    assert_eq!(
        (o["quantity"].as_i64(), o["unit"].as_str()),
        (Some(12), Some("case"))
    );
    assert_eq!(o["product"], "黄酒");
    assert!(
        o["ordered_at"].as_str().unwrap().starts_with("2026-03-02T"),
        "{o}"
    );

    // It is one of the customer's orders, as an imported one is …
    let (s, list) = app
        .call(&t, "GET", &format!("/customers/{id}/orders"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["items"][0]["id"], o["id"]);
    assert_eq!(list["items"][0]["unit"], "case");
    // … and it is in the analysis.
    let (s, abc) = app.call(&t, "GET", "/analysis/abc", None).await;
    assert_eq!(s, 200, "{abc}");
    assert_eq!(abc["summary"]["total_sales"], "1234.50", "{abc}");

    // Finance keeps orders for every customer; the unit may be said in English.
    let f = app.login("hejuan").await;
    let (s, o2) = app
        .call(
            &f,
            "POST",
            "/orders",
            Some(json!({"customer_id": id, "date": "2026-03-03", "amount": "88", "unit": "piece"})),
        )
        .await;
    assert_eq!(s, 201, "{o2}");
    assert_eq!(
        (o2["quantity"].as_i64(), o2["unit"].as_str()),
        (Some(1), Some("piece"))
    );

    // The audit log has both, by who entered them.
    app.user("boss", Role::Admin, None).await;
    let b = app.login("boss").await;
    let (_, audit) = app.call(&b, "GET", "/audit", None).await;
    let created: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["entity"] == "order" && a["action"] == "create")
        .collect();
    assert_eq!(created.len(), 2, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_order_names_its_fields() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let id = customer(&app, &t, json!({"name": "坏订单客户"})).await;
    let cases = [
        (json!({}), vec!["amount", "customer_id", "date"]),
        (
            json!({"customer_id": id, "date": "2026/03/02", "amount": 12.5, "quantity": -1, "unit": "吨", "colour": 1}),
            vec!["amount", "colour", "date", "quantity", "unit"],
        ),
        (
            json!({"customer_id": id, "date": "2026-03-02", "amount": "0"}),
            vec!["amount"],
        ),
        (
            json!({"customer_id": id, "date": "2026-03-02", "amount": "1.005"}),
            vec!["amount"],
        ),
        (
            json!({"customer_id": id, "date": "2999-01-01", "amount": "10"}),
            vec!["date"],
        ),
        (
            json!({"customer_id": "x", "date": "2026-03-02", "amount": "10"}),
            vec!["customer_id"],
        ),
    ];
    for (body, want) in cases {
        let (s, e) = app.call(&t, "POST", "/orders", Some(body.clone())).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert_eq!(e["code"], "invalid", "{e}");
        assert_eq!(fields(&e), want, "{body}: {e}");
        assert!(
            e["message"].as_str().unwrap().chars().next().unwrap() > '\u{2e80}',
            "Chinese first: {e}"
        );
    }
    let (s, e) = app.call(&t, "POST", "/orders", Some(json!([1]))).await;
    assert_eq!(s, 400, "{e}");
    // Nothing was stored.
    let (_, list) = app
        .call(&t, "GET", &format!("/customers/{id}/orders"), None)
        .await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_order_for_a_customer_out_of_reach() {
    let app = App::start().await;
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    app.user("wangfang", Role::Manager, Some(team.id)).await;
    app.user("lijun", Role::Manager, Some(team.id)).await;
    app.user("maxiaoyu", Role::Agent, None).await;
    app.user("boss", Role::Admin, None).await;
    let w = app.login("wangfang").await;
    let l = app.login("lijun").await;
    let theirs = customer(&app, &w, json!({"name": "王芳的客户"})).await;
    let order = |cid: i64| json!({"customer_id": cid, "date": "2026-03-02", "amount": "10"});
    // Another manager's customer: refused as reading it is (403), nothing stored.
    let (s, e) = app.call(&l, "POST", "/orders", Some(order(theirs))).await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["code"], "forbidden");
    // A service agent reads orders but does not record them.
    let a = app.login("maxiaoyu").await;
    let (s, _) = app.call(&a, "POST", "/orders", Some(order(theirs))).await;
    assert_eq!(s, 403);
    // A customer that does not exist, or was deleted: 404.
    let (s, e) = app.call(&w, "POST", "/orders", Some(order(987_654))).await;
    assert_eq!(s, 404, "{e}");
    let b = app.login("boss").await;
    let gone = customer(&app, &b, json!({"name": "已删除客户", "owner_id": null})).await;
    let (s, _) = app
        .call(&b, "DELETE", &format!("/customers/{gone}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, e) = app.call(&b, "POST", "/orders", Some(order(gone))).await;
    assert_eq!(s, 404, "{e}");
    // A pool customer is claimed before a manager records on it.
    let pool = customer(&app, &b, json!({"name": "公海客户", "owner_id": null})).await;
    let (s, _) = app.call(&w, "POST", "/orders", Some(order(pool))).await;
    assert_eq!(s, 403);
    let (_, list) = app
        .call(&w, "GET", &format!("/customers/{theirs}/orders"), None)
        .await;
    assert_eq!(list["items"], json!([]));
}

/// Owners and authors come with their names, for callers who may not list
/// users (a manager sees only themselves in `GET /users`, finance nobody).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_and_authors_are_named() {
    let app = App::start().await;
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    let w = app.user("wangfang", Role::Manager, Some(team.id)).await;
    app.user("hejuan", Role::Finance, None).await;
    app.user("boss", Role::Admin, None).await;
    let b = app.login("boss").await;
    let id = customer(&app, &b, json!({"name": "有名字的客户", "owner_id": w.id})).await;
    let (s, _) = app
        .call(
            &b,
            "POST",
            &format!("/customers/{id}/activities"),
            Some(json!({"kind": "call", "summary": "问候"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .call(
            &b,
            "PATCH",
            &format!("/customers/{id}"),
            Some(json!({"version": 1, "city": "南京"})),
        )
        .await;
    assert_eq!(s, 200);
    let f = app.login("hejuan").await;
    let (s, c) = app.call(&f, "GET", &format!("/customers/{id}"), None).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["owner_name"], "wangfang");
    let (_, list) = app.call(&f, "GET", "/customers?q=有名字", None).await;
    assert_eq!(list["items"][0]["owner_name"], "wangfang", "{list}");
    let (_, acts) = app
        .call(&f, "GET", &format!("/customers/{id}/activities"), None)
        .await;
    assert_eq!(acts["items"][0]["user_name"], "boss", "{acts}");
    let (_, hist) = app
        .call(&f, "GET", &format!("/customers/{id}/history"), None)
        .await;
    assert_eq!(hist["items"][0]["user_name"], "boss", "{hist}");
    let pool = customer(&app, &b, json!({"name": "公海里的客户", "owner_id": null})).await;
    let (_, c) = app
        .call(&f, "GET", &format!("/customers/{pool}"), None)
        .await;
    assert_eq!(c["owner_name"], Value::Null);
}

/// `?parent=`: a group customer's members, those the caller may read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_members_are_listed() {
    let app = App::start().await;
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    let w = app.user("wangfang", Role::Manager, Some(team.id)).await;
    let l = app.user("lijun", Role::Manager, Some(team.id)).await;
    app.user("boss", Role::Admin, None).await;
    let b = app.login("boss").await;
    let group = customer(&app, &b, json!({"name": "恒远集团", "owner_id": w.id})).await;
    let one = customer(
        &app,
        &b,
        json!({"name": "恒远一厂", "parent_id": group, "owner_id": w.id}),
    )
    .await;
    let two = customer(
        &app,
        &b,
        json!({"name": "恒远二厂", "parent_id": group, "owner_id": l.id}),
    )
    .await;
    let (s, all) = app
        .call(
            &b,
            "GET",
            &format!("/customers?parent={group}&sort=name"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{all}");
    let ids: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![one, two]);
    let t = app.login("wangfang").await;
    let (_, mine) = app
        .call(&t, "GET", &format!("/customers?parent={group}"), None)
        .await;
    assert_eq!(mine["total"], 1, "{mine}");
    let (s, e) = app.call(&t, "GET", "/customers?parent=x", None).await;
    assert_eq!(s, 422, "{e}");
}
