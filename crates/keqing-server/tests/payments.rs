//! Orders edited with a version, payments (回款) and receivables (issue 26
//! point 1): each role's scope, stale versions, the fields a 422 names.

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

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

fn message(v: &Value, field: &str) -> String {
    v["details"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["field"] == field)
        .map(|f| f["message"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_edited_and_paid_within_scope() {
    let app = App::start().await;
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    let other_team = app
        .store
        .create_team("杭州二部", Some("浙江"))
        .await
        .unwrap();
    let wang = app.user("wangfang", Role::Manager, Some(team.id)).await;
    app.user("lilei", Role::Manager, Some(other_team.id)).await;
    app.user("hejuan", Role::Finance, None).await;
    app.user("maxiaoyu", Role::Agent, None).await;
    let t = app.login("wangfang").await;
    let (s, c) = app
        .call(
            &t,
            "POST",
            "/customers",
            Some(json!({"name": "回款测试有限公司"})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_i64().unwrap();
    let (s, o) = app
        .call(
            &t,
            "POST",
            "/orders",
            Some(json!({"customer_id": cid, "date": "2026-03-02", "amount": "1000", "quantity": 10, "unit": "箱"})),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let oid = o["id"].as_i64().unwrap();
    assert_eq!(
        (o["version"].as_i64(), o["outstanding"].as_str()),
        (Some(1), Some("1000.00"))
    );

    // The owner edits it; a stale version is 409; wrong fields are named.
    let (s, e) = app
        .call(
            &t,
            "PATCH",
            &format!("/orders/{oid}"),
            Some(json!({"version": 1, "amount": "900", "product": "黄酒"})),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(
        (e["version"].as_i64(), e["amount"].as_str()),
        (Some(2), Some("900.00"))
    );
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/orders/{oid}"),
            Some(json!({"version": 1, "amount": "800"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("version_conflict")),
        "{v}"
    );
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/orders/{oid}"),
            Some(json!({"version": 2, "amount": "-1", "unit": "吨", "colour": "red"})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(fields(&v), ["amount", "colour", "unit"]);
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/orders/{oid}"),
            Some(json!({"amount": "800"})),
        )
        .await;
    assert_eq!(s, 428, "{v}");
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/orders/{oid}"),
            Some(json!({"version": 2, "date": "2099-01-01"})),
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["date".to_string()]), "{v}");

    // A part-payment, then one larger than what is still owed: 422 on amount, Chinese first.
    let (s, p) = app
        .call(
            &t,
            "POST",
            &format!("/orders/{oid}/payments"),
            Some(json!({"amount": "300", "due_date": "2026-04-01", "paid_date": "2026-03-20"})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_i64().unwrap();
    assert_eq!(
        (p["order_id"].as_i64(), p["version"].as_i64()),
        (Some(oid), Some(1))
    );
    let (s, v) = app
        .call(
            &t,
            "POST",
            &format!("/orders/{oid}/payments"),
            Some(json!({"amount": "600.01"})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(fields(&v), ["amount"]);
    let m = message(&v, "amount");
    assert!(
        m.starts_with("回款金额超过订单未收金额") && m.contains("600.00"),
        "{m}"
    );
    let (s, v) = app
        .call(
            &t,
            "POST",
            &format!("/orders/{oid}/payments"),
            Some(json!({"amount": "1", "paid_date": "2099-01-01", "due_date": "soon"})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(fields(&v), ["due_date", "paid_date"]);
    let (s, due) = app
        .call(
            &t,
            "POST",
            &format!("/orders/{oid}/payments"),
            Some(json!({"amount": "200", "due_date": "2026-05-01"})),
        )
        .await;
    assert_eq!(s, 201, "{due}");
    // The list carries payments, paid and outstanding.
    let (_, list) = app
        .call(&t, "GET", &format!("/customers/{cid}/orders"), None)
        .await;
    let item = &list["items"][0];
    assert_eq!(item["payments"].as_array().unwrap().len(), 2, "{item}");
    assert_eq!(
        (
            item["paid"].as_str(),
            item["outstanding"].as_str(),
            item["unscheduled"].as_str()
        ),
        (Some("300.00"), Some("600.00"), Some("400.00"))
    );
    assert_eq!(item["unit"], "case");
    // An amount below what the payments add up to: 422 on amount.
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/orders/{oid}"),
            Some(json!({"version": 2, "amount": "499"})),
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["amount".to_string()]), "{v}");

    // Marking the second paid; stale 409.
    let did = due["id"].as_i64().unwrap();
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/payments/{did}"),
            Some(json!({"version": 1, "paid_date": "2026-04-28"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["version"].as_i64(), v["paid_date"].as_str()),
        (Some(2), Some("2026-04-28"))
    );
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/payments/{did}"),
            Some(json!({"version": 1, "paid_date": null})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = app
        .call(
            &t,
            "PATCH",
            &format!("/payments/{did}"),
            Some(json!({"version": 2, "amount": "700"})),
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["amount".to_string()]), "{v}");

    // The history: the order's create and edit, the payments'.
    let (s, h) = app
        .call(&t, "GET", &format!("/orders/{oid}/history"), None)
        .await;
    assert_eq!(s, 200, "{h}");
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{h}");
    assert_eq!(
        (items[1]["action"].as_str(), items[1]["entity"].as_str()),
        (Some("update"), Some("order"))
    );
    assert_eq!(items[1]["user_name"], "wangfang");
    let d = &items[1]["detail"];
    assert_eq!(
        (d["old"]["amount"].as_str(), d["new"]["amount"].as_str()),
        (Some("1000.00"), Some("900.00")),
        "{d}"
    );

    // Another team's manager: 403 on the order and its payments; an unknown order 404.
    let l = app.login("lilei").await;
    for (method, path, body) in [
        (
            "PATCH",
            format!("/orders/{oid}"),
            Some(json!({"version": 2, "amount": "950"})),
        ),
        ("GET", format!("/orders/{oid}/history"), None),
        (
            "POST",
            format!("/orders/{oid}/payments"),
            Some(json!({"amount": "1"})),
        ),
        (
            "PATCH",
            format!("/payments/{pid}"),
            Some(json!({"version": 1, "amount": "1"})),
        ),
    ] {
        let (s, v) = app.call(&l, method, &path, body).await;
        assert_eq!(s, 403, "{method} {path}: {v}");
    }
    let (s, _) = app.call(&l, "GET", "/orders/999999/history", None).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .call(&t, "PATCH", "/payments/999999", Some(json!({"version": 1})))
        .await;
    assert_eq!(s, 404);
    // An agent reads but does not record payments.
    let a = app.login("maxiaoyu").await;
    let (s, _) = app
        .call(&a, "GET", &format!("/orders/{oid}/history"), None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call(
            &a,
            "POST",
            &format!("/orders/{oid}/payments"),
            Some(json!({"amount": "1"})),
        )
        .await;
    assert_eq!(s, 403);
    // Finance keeps every order's payments.
    let f = app.login("hejuan").await;
    let (s, v) = app
        .call(
            &f,
            "POST",
            &format!("/orders/{oid}/payments"),
            Some(json!({"amount": "400", "paid_date": "2026-05-02"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (_, o) = app
        .call(&f, "GET", &format!("/customers/{cid}/orders"), None)
        .await;
    assert_eq!(
        (
            o["items"][0]["outstanding"].as_str(),
            o["items"][0]["paid"].as_str()
        ),
        (Some("0.00"), Some("900.00"))
    );

    // Receivables: the owner's own; another manager cannot ask for them.
    let (s, _) = app
        .call(
            &t,
            "POST",
            "/orders",
            Some(json!({"customer_id": cid, "date": "2026-06-01", "amount": "250"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, r) = app
        .call(&t, "GET", "/receivables?as_of=2026-07-15", None)
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["outstanding"].as_str(), r["overdue"].as_str()),
        (Some("250.00"), Some("250.00"))
    );
    assert_eq!(r["buckets"][2]["label"], "31-60天");
    assert_eq!(r["buckets"][2]["amount"], "250.00");
    assert_eq!(r["customers"][0]["customer_id"], cid);
    assert_eq!(r["customers"][0]["owner_name"], "wangfang");
    assert_eq!(r["customers"][0]["oldest_due"], "2026-06-01");
    let (s, v) = app
        .call(
            &l,
            "GET",
            &format!("/receivables?level=user&subject_id={}", wang.id),
            None,
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, mine) = app
        .call(
            &l,
            "GET",
            "/receivables?level=company&as_of=2026-07-15",
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        mine["outstanding"], "0.00",
        "another manager's reach holds none of it"
    );
    let (s, v) = app
        .call(
            &l,
            "GET",
            &format!("/receivables?level=team&subject_id={}", team.id),
            None,
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = app.call(&t, "GET", "/receivables?level=galaxy", None).await;
    assert_eq!((s, fields(&v)), (422, vec!["level".to_string()]));
    // Finance reads every team's.
    let (s, r) = app
        .call(
            &f,
            "GET",
            &format!(
                "/receivables?level=team&subject_id={}&as_of=2026-07-15",
                team.id
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["outstanding"], "250.00");
    let (s, r) = app
        .call(
            &f,
            "GET",
            &format!(
                "/receivables?level=user&subject_id={}&as_of=2026-07-15",
                wang.id
            ),
            None,
        )
        .await;
    assert_eq!((s, r["outstanding"].as_str()), (200, Some("250.00")));
}
