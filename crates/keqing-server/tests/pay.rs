//! Pay (issue 26) through the API, role by role: finance sets bases and
//! runs the month, a supervisor scores their team's checklist and reviews
//! its lines, a locked run refuses every change but an adjustment, each
//! role reads what its scope covers.

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

fn fields(v: &Value) -> Vec<String> {
    v["details"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

fn line(run: &Value, user: i64) -> &Value {
    run["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["user_id"] == user && l["adjustment"] == false)
        .unwrap_or_else(|| panic!("no line of {user} in {run}"))
}

fn users_of(run: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = run["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["user_id"].as_i64().unwrap())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_pay_role_by_role() {
    let app = App::start().await;
    let a = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    let b = app
        .store
        .create_team("杭州二部", Some("浙江"))
        .await
        .unwrap();
    app.user("admin", Role::Admin, None).await;
    let chen = app.user("chenjing", Role::Supervisor, Some(a.id)).await;
    let wang = app.user("wangfang", Role::Manager, Some(a.id)).await;
    let li = app.user("lilei", Role::Manager, Some(b.id)).await;
    app.user("hejuan", Role::Finance, None).await;
    app.user("zhaomin", Role::Director, None).await;
    app.user("maxiaoyu", Role::Agent, None).await;
    let admin = app.login("admin").await;
    let sup = app.login("chenjing").await;
    let mgr = app.login("wangfang").await;
    let fin = app.login("hejuan").await;
    let dir = app.login("zhaomin").await;
    let agent = app.login("maxiaoyu").await;

    // Finance sets base pay; a manager may not; bad input names the field.
    for (who, amount) in [(wang.id, "5000.00"), (li.id, "6000"), (chen.id, "7000")] {
        let (s, v) = app
            .call(
                &fin,
                "POST",
                "/pay/bases",
                Some(json!({"user_id": who, "amount": amount, "effective_from": "2026-01-01"})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = app
        .call(
            &mgr,
            "POST",
            "/pay/bases",
            Some(json!({"user_id": wang.id, "amount": "99999"})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            "/pay/bases",
            Some(json!({"user_id": 99_999, "amount": "1"})),
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["user_id".to_string()]), "{v}");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            "/pay/rates",
            Some(json!({"role": "manager", "rate": "150%"})),
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["rate".to_string()]), "{v}");
    let (s, v) = app.call(&mgr, "GET", "/pay/bases", None).await;
    assert_eq!(s, 200);
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["user_id"] == wang.id),
        "a manager sees only their own base: {v}"
    );

    // The supervisor scores their team's checklist, not another team's.
    let (s, v) = app
        .call(&sup, "GET", "/pay/checklist?month=2026-10", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["duties"].as_array().unwrap().len(), 10);
    let members: Vec<i64> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_i64().unwrap())
        .collect();
    assert!(
        members.contains(&wang.id) && !members.contains(&li.id),
        "{members:?}"
    );
    assert!(
        v["members"][0]["evidence"]["weeks_in_month"]
            .as_i64()
            .unwrap()
            >= 4
    );
    let all80: Vec<Value> = (1..=10).map(|no| json!({"no": no, "score": 80})).collect();
    let (s, v) = app
        .call(
            &sup,
            "PUT",
            "/pay/checklist",
            Some(json!({"month": "2026-10", "user_id": wang.id, "scores": all80})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["soft"], "800.00");
    let (s, _) = app
        .call(
            &sup,
            "PUT",
            "/pay/checklist",
            Some(json!({"month": "2026-10", "user_id": li.id, "scores": [{"no": 1, "score": 50}]})),
        )
        .await;
    assert_eq!(s, 403, "another team's member");
    let (s, _) = app
        .call(&mgr, "PUT", "/pay/checklist", Some(json!({"month": "2026-10", "user_id": wang.id, "scores": [{"no": 1, "score": 100}]})))
        .await;
    assert_eq!(s, 403, "a manager does not score themself");
    let (s, _) = app
        .call(&sup, "PUT", "/pay/checklist", Some(json!({"month": "2026-10", "user_id": chen.id, "scores": [{"no": 1, "score": 100}]})))
        .await;
    assert_eq!(s, 403, "nor does a supervisor");
    let (s, v) = app
        .call(&sup, "PUT", "/pay/checklist", Some(json!({"month": "2026-10", "user_id": wang.id, "scores": [{"no": 1, "score": 101}, {"no": 11, "score": 1}]})))
        .await;
    assert_eq!(s, 422);
    assert_eq!(fields(&v), vec!["scores[0].score", "scores[1].no"]);

    // The 000 fixture: a plan of 80,000 for October (960,000 a year, even
    // months) and an actual of 100,000 give B = 18,750.
    let (s, v) = app
        .call(&admin, "POST", "/targets", Some(json!({"level": "user", "subject_id": wang.id, "metric": "sales_amount", "year": 2026, "amount": "960000"})))
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, c) = app
        .call(
            &mgr,
            "POST",
            "/customers",
            Some(json!({"name": "薪酬测试烟酒店"})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (s, v) = app
        .call(
            &mgr,
            "POST",
            "/orders",
            Some(json!({"customer_id": c["id"], "date": "2026-10-15", "amount": "100000.00"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // Finance creates the run: every line with its formula.
    let (s, _) = app
        .call(&sup, "POST", "/pay/runs", Some(json!({"month": "2026-10"})))
        .await;
    assert_eq!(s, 403);
    let (s, v) = app
        .call(&fin, "POST", "/pay/runs", Some(json!({"month": "2026-13"})))
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["month".to_string()]));
    let (s, run) = app
        .call(&fin, "POST", "/pay/runs", Some(json!({"month": "2026-10"})))
        .await;
    assert_eq!(s, 201, "{run}");
    assert_eq!(run["status"], "draft");
    let id = run["id"].as_i64().unwrap();
    let w = line(&run, wang.id);
    assert_eq!(
        w["formula"]["text"],
        "P = A + B + C = 5000.00 + 18750.00 + 800.00 = 24550.00"
    );
    assert_eq!(w["total"], "24550.00");
    assert_eq!(w["formula"]["inputs"]["rate"], "0.15");
    assert_eq!(w["formula"]["inputs"]["plan"], "80000.00");
    assert_eq!(w["formula"]["inputs"]["actual"], "100000.00");
    let l = line(&run, li.id);
    assert!(
        l["formula"]["inputs"]["hard"]
            .as_str()
            .unwrap()
            .contains("没有计划"),
        "{l}"
    );
    assert_eq!(l["hard"], "0.00");
    assert_eq!(w["formula"]["inputs"]["duties"][0]["earned"], "80.00");
    assert_eq!(users_of(&run), {
        let mut v = vec![chen.id, wang.id, li.id];
        v.sort();
        v
    });
    let (s, v) = app
        .call(&fin, "POST", "/pay/runs", Some(json!({"month": "2026-10"})))
        .await;
    assert_eq!(s, 409, "{v}");

    // Each role reads its scope.
    let (_, v) = app
        .call(&mgr, "GET", &format!("/pay/runs/{id}"), None)
        .await;
    assert_eq!(users_of(&v), vec![wang.id]);
    let (_, v) = app
        .call(&sup, "GET", &format!("/pay/runs/{id}"), None)
        .await;
    let mut team = vec![chen.id, wang.id];
    team.sort();
    assert_eq!(users_of(&v), team);
    let (_, v) = app
        .call(&dir, "GET", &format!("/pay/runs/{id}"), None)
        .await;
    assert_eq!(v["lines"].as_array().unwrap().len(), 3);
    let (s, _) = app
        .call(&agent, "GET", &format!("/pay/runs/{id}"), None)
        .await;
    assert_eq!(s, 403);
    let (s, _) = app.call(&agent, "GET", "/pay/runs", None).await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            &dir,
            "POST",
            &format!("/pay/runs/{id}/approve"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(s, 403, "directors read pay, they do not approve it");

    // Approval waits for the review; the supervisor reviews their team.
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/pay/runs/{id}/approve"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = app
        .call(
            &sup,
            "POST",
            &format!("/pay/runs/{id}/review"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "draft", "the other team has not reviewed");
    assert!(v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["reviewed"] == true));
    let (s, v) = app
        .call(
            &sup,
            "POST",
            &format!("/pay/runs/{id}/review"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("version_conflict")),
        "{v}"
    );
    let (s, v) = app
        .call(
            &admin,
            "POST",
            &format!("/pay/runs/{id}/review"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("reviewed")), "{v}");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/pay/runs/{id}/approve"),
            Some(json!({"version": 3})),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("approved")), "{v}");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/pay/runs/{id}/lock"),
            Some(json!({"version": 4})),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("locked")), "{v}");
    assert!(v["locked_at"].is_string() && v["approved_by"].is_i64());

    // A locked run never changes: 409, and a correction is an adjustment.
    for (path, body) in [
        ("recompute", json!({"version": 5})),
        ("review", json!({"version": 5})),
        ("approve", json!({"version": 5})),
        ("lock", json!({"version": 5})),
    ] {
        let (s, v) = app
            .call(&fin, "POST", &format!("/pay/runs/{id}/{path}"), Some(body))
            .await;
        assert_eq!(s, 409, "{path}: {v}");
        assert!(v["message"].as_str().unwrap().contains("已锁定"), "{v}");
    }
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/pay/runs/{id}/adjustments"),
            Some(json!({"user_id": wang.id, "amount": "200.00", "reason": "补发九月交通补贴"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "locked");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/pay/runs/{id}/adjustments"),
            Some(json!({"user_id": wang.id, "amount": "1", "reason": ""})),
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["reason".to_string()]));
    let (s, _) = app
        .call(
            &sup,
            "POST",
            &format!("/pay/runs/{id}/adjustments"),
            Some(json!({"user_id": wang.id, "amount": "1", "reason": "x"})),
        )
        .await;
    assert_eq!(s, 403);

    // Slips: the run's line plus adjustments; outside the scope: 404.
    let (s, v) = app.call(&mgr, "GET", "/pay/slip?month=2026-10", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["total"].as_str()),
        (Some("locked"), Some("24750.00"))
    );
    let (s, _) = app
        .call(
            &mgr,
            "GET",
            &format!("/pay/slip?month=2026-10&user_id={}", li.id),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, v) = app
        .call(
            &sup,
            "GET",
            &format!("/pay/slip?month=2026-11&user_id={}", wang.id),
            None,
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("estimate")), "{v}");
    assert_eq!(v["base"], "5000.00");

    // The export.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/pay/runs/{id}/export.xlsx", app.base))
        .bearer_auth(&fin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));

    // The bonus: a simulation for finance, not for a manager; pay counts the locked run.
    let (s, _) = app
        .call(&mgr, "POST", "/bonus/simulate", Some(json!({"year": 2026})))
        .await;
    assert_eq!(s, 403);
    let (s, v) = app
        .call(
            &fin,
            "POST",
            "/bonus/simulate",
            Some(json!({"year": 2026, "rate": "5%"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rate"], "0.05");
    let share = v["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["user_id"] == wang.id)
        .unwrap()
        .clone();
    assert_eq!(share["pay"], "24750.00");
    assert_eq!(v["sales"], "100000.00");
    assert_eq!(v["pool"], "5000.00");
    assert!(share["factor"].as_f64().unwrap() <= 1.0);
    let (s, bonus) = app
        .call(&fin, "POST", "/bonus/runs", Some(json!({"year": 2026})))
        .await;
    assert_eq!(s, 201, "{bonus}");
    let bid = bonus["id"].as_i64().unwrap();
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/bonus/runs/{bid}/lock"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(s, 409, "a draft is approved before it is locked: {v}");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/bonus/runs/{bid}/approve"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("approved")), "{v}");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/bonus/runs/{bid}/lock"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("locked")), "{v}");
    let (s, v) = app
        .call(
            &fin,
            "POST",
            &format!("/bonus/runs/{bid}/approve"),
            Some(json!({"version": 3})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = app
        .call(&fin, "POST", "/bonus/runs", Some(json!({"year": 2026})))
        .await;
    assert_eq!(s, 409, "{v}");

    // The scorecard: weights must add up to 100; rankings by team.
    let (_, settings) = app.call(&fin, "GET", "/pay/settings", None).await;
    let mut items = settings["items"].clone();
    items[0]["weight"] = json!(26);
    let (s, v) = app
        .call(
            &fin,
            "PUT",
            "/scorecard/items",
            Some(json!({"version": 0, "items": items})),
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["items".to_string()]), "{v}");
    let card = |score: u32| -> Value {
        settings["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| json!({"key": i["key"], "score": score}))
            .collect()
    };
    let (s, v) = app
        .call(
            &sup,
            "PUT",
            "/scorecard/scores",
            Some(json!({"month": "2026-10", "user_id": wang.id, "scores": card(90)})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, _) = app
        .call(
            &admin,
            "PUT",
            "/scorecard/scores",
            Some(json!({"month": "2026-10", "user_id": chen.id, "scores": card(70)})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .call(
            &sup,
            "PUT",
            "/scorecard/scores",
            Some(json!({"month": "2026-10", "user_id": li.id, "scores": card(70)})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, v) = app
        .call(
            &sup,
            "GET",
            "/scorecard/rankings?month=2026-10&level=team",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let ranked = v["ranked"].as_array().unwrap();
    assert_eq!(ranked.len(), 2);
    assert_eq!(
        (ranked[0]["user_id"].as_i64(), ranked[0]["rank"].as_i64()),
        (Some(wang.id), Some(1))
    );
    assert_eq!(ranked[0]["total"], 90.0);
    assert_eq!(ranked[0]["quantitative"], 63.0);
    assert_eq!(ranked[0]["qualitative"], 27.0);
    let (s, v) = app
        .call(
            &fin,
            "GET",
            "/scorecard/rankings?month=2026-10&level=galaxy",
            None,
        )
        .await;
    assert_eq!((s, fields(&v)), (422, vec!["level".to_string()]));
}
