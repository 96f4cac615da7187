//! The JSON API driven over HTTP, as a client would.

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sessions_and_rate_limit() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let (s, body) = app
        .call(
            "",
            "POST",
            "/auth/login",
            Some(json!({"username": "wangfang", "password": "nope"})),
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(body["code"], "bad_credentials");
    assert!(
        body["message"].is_string() && body.get("details").is_some(),
        "errors are {{code, message, details}}"
    );
    let (s, _) = app
        .call(
            "",
            "POST",
            "/auth/login",
            Some(json!({"username": "nobody", "password": "nope"})),
        )
        .await;
    assert_eq!(s, 401, "an unknown user answers like a wrong password");

    let token = app.login("wangfang").await;
    let (s, me) = app.call(&token, "GET", "/auth/me", None).await;
    assert_eq!(s, 200);
    assert_eq!(me["username"], "wangfang");
    assert_eq!(app.call("", "GET", "/customers", None).await.0, 401);
    assert_eq!(
        app.call("not-a-token", "GET", "/customers", None).await.0,
        401
    );

    // Five wrong passwords lock the account for the window, even for the right one.
    for _ in 0..5 {
        app.call(
            "",
            "POST",
            "/auth/login",
            Some(json!({"username": "wangfang", "password": "wrong"})),
        )
        .await;
    }
    let (s, body) = app
        .call(
            "",
            "POST",
            "/auth/login",
            Some(json!({"username": "wangfang", "password": common::PASSWORD})),
        )
        .await;
    assert_eq!(s, 429);
    assert_eq!(body["code"], "rate_limited");

    // Logout ends the session.
    assert_eq!(app.call(&token, "POST", "/auth/logout", None).await.0, 204);
    assert_eq!(app.call(&token, "GET", "/auth/me", None).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_refused() {
    let app = App::start().await;
    let u = app.user("lilei", Role::Manager, None).await;
    app.store
        .create_session(
            &keqing_server::auth::token_hash("old-token"),
            u.id,
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    let (s, body) = app.call("old-token", "GET", "/auth/me", None).await;
    assert_eq!(s, 401);
    assert_eq!(body["code"], "session_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_need_the_csrf_header_to_change_data() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": "wangfang", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let body: Value = r.json().await.unwrap();
    let cookie = cookies.join("; ");
    let get = app
        .http
        .get(format!("{}/api/v1/customers", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200, "reading with the cookie works");
    let post = |csrf: Option<&str>| {
        let mut r = app
            .http
            .post(format!("{}/api/v1/customers", app.base))
            .header("cookie", &cookie)
            .json(&json!({"name": "甲公司"}));
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 403);
    assert_eq!(post(Some("forged")).await.unwrap().status(), 403);
    assert_eq!(
        post(Some(body["csrf_token"].as_str().unwrap()))
            .await
            .unwrap()
            .status(),
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_versions_history_duplicates_and_search() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let (s, c) = app
        .call(&t, "POST", "/customers", Some(json!({"name": "江苏恒远钢业有限公司", "phone": "025-86001234", "city": "南京",
            "contacts": [{"name": "刘总", "mobile": "13912345678", "level": "负责人", "birthday": "农历1970-08-15"}]})))
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["version"], 1);
    assert_eq!(c["contacts"][0]["birthday"], "农历1970-08-15");

    // Validation: every bad field at once, 422.
    let (s, e) = app
        .call(
            &t,
            "POST",
            "/customers",
            Some(json!({"name": "", "phone": "12345", "email": "x@"})),
        )
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = e["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["name", "phone", "email"]);
    // Chinese first, then the English words: 缺少客户名称 a customer needs a name…
    let cjk = |m: &str| m.starts_with(|c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c));
    assert!(cjk(e["message"].as_str().unwrap()), "{e}");
    for f in e["details"]["fields"].as_array().unwrap() {
        assert!(cjk(f["message"].as_str().unwrap()), "{f}");
    }
    assert!(e["details"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("缺少客户名称 a customer needs a name"));

    // Duplicates are refused and named.
    let (s, e) = app
        .call(
            &t,
            "POST",
            "/customers",
            Some(json!({"name": "江苏恒远钢业 有限公司", "phone": "02586001234"})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(e["code"], "duplicate");
    assert_eq!(e["details"]["duplicates"], json!([id]));

    // PATCH needs the version; a stale one is 409 and changes nothing.
    let (s, _) = app
        .call(
            &t,
            "PATCH",
            &format!("/customers/{id}"),
            Some(json!({"city": "苏州"})),
        )
        .await;
    assert_eq!(s, 428);
    let (s, c2) = app
        .call(
            &t,
            "PATCH",
            &format!("/customers/{id}"),
            Some(json!({"version": 1, "city": "苏州", "industry": "钢铁"})),
        )
        .await;
    assert_eq!(s, 200, "{c2}");
    assert_eq!(c2["version"], 2);
    let (s, e) = app
        .call(
            &t,
            "PATCH",
            &format!("/customers/{id}"),
            Some(json!({"version": 1, "city": "无锡"})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(e["details"]["current_version"], 2);
    let (_, now) = app.call(&t, "GET", &format!("/customers/{id}"), None).await;
    assert_eq!(now["city"], "苏州");

    let (_, h) = app
        .call(&t, "GET", &format!("/customers/{id}/history"), None)
        .await;
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["field"], "city");
    assert_eq!(items[0]["old"], "南京");
    assert_eq!(items[0]["new"], "苏州");

    for q in ["jsgy", "jiangsu", "JSHY", "恒远", "1234", "5678"] {
        let (s, r) = app
            .call(&t, "GET", &format!("/customers?q={q}"), None)
            .await;
        assert_eq!(s, 200);
        assert_eq!(r["total"], 1, "search {q}");
        assert_eq!(r["items"][0]["id"], id);
    }
    let (_, r) = app.call(&t, "GET", "/customers?q=zhejiang", None).await;
    assert_eq!(r["total"], 0);
    let (s, _) = app.call(&t, "GET", "/customers?per_page=500", None).await;
    assert_eq!(s, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_edits_give_one_success_and_one_conflict() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let (_, c) = app
        .call(&t, "POST", "/customers", Some(json!({"name": "并发客户"})))
        .await;
    let id = c["id"].as_i64().unwrap();
    for round in 0..10 {
        let (_, cur) = app.call(&t, "GET", &format!("/customers/{id}"), None).await;
        let v = cur["version"].as_i64().unwrap();
        let p = format!("/customers/{id}");
        let (a, b) = tokio::join!(
            app.call(
                &t,
                "PATCH",
                &p,
                Some(json!({"version": v, "city": format!("甲{round}")}))
            ),
            app.call(
                &t,
                "PATCH",
                &p,
                Some(json!({"version": v, "city": format!("乙{round}")}))
            )
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}");
        let winner = if a.0 == 200 { a.1 } else { b.1 };
        let (_, after) = app.call(&t, "GET", &p, None).await;
        assert_eq!(after["city"], winner["city"], "the loser changed nothing");
        assert_eq!(after["version"], v + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let app = App::start().await;
    let (s, doc) = app.call("", "GET", "/openapi.json", None).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25);
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let p = path
                .trim_start_matches("/api/v1")
                .replace("{id}", "1")
                .replace("{kind}", "customers");
            let (s, body) = app.call("", &method.to_uppercase(), &p, None).await;
            assert!(
                !(s == 404 && body["message"] == "未找到 endpoint not found"),
                "{method} {path} is documented but not routed"
            );
        }
    }
    let (s, body) = app.call("", "GET", "/no/such/thing", None).await;
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_transfer_and_change_deadline() {
    let app = App::start().await;
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    app.user("boss", Role::Supervisor, Some(team.id)).await;
    let a = app.user("wangfang", Role::Manager, Some(team.id)).await;
    let b = app.user("lilei", Role::Manager, Some(team.id)).await;
    let (boss, ta, tb) = (
        app.login("boss").await,
        app.login("wangfang").await,
        app.login("lilei").await,
    );
    let (_, c) = app
        .call(&ta, "POST", "/customers", Some(json!({"name": "交接客户"})))
        .await;
    let id = c["id"].as_i64().unwrap();

    // Managers cannot hand over; the supervisor can.
    assert_eq!(
        app.call(
            &ta,
            "POST",
            "/customers/transfer",
            Some(json!({"ids": [id], "to_user": b.id}))
        )
        .await
        .0,
        403
    );
    let (s, r) = app
        .call(
            &boss,
            "POST",
            "/customers/transfer",
            Some(json!({"ids": [id], "to_user": b.id, "reason": "离职"})),
        )
        .await;
    assert_eq!((s, r["transferred"].as_i64()), (200, Some(1)));
    assert_eq!(
        app.call(&ta, "GET", &format!("/customers/{id}"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.call(&tb, "GET", &format!("/customers/{id}"), None)
            .await
            .0,
        200
    );
    let (_, log) = app
        .call(&tb, "GET", &format!("/customers/{id}/ownership"), None)
        .await;
    assert_eq!(log["items"][1]["reason"], "transfer");
    assert_eq!(log["items"][1]["from_user"], a.id);

    // Into the pool (as the daily job would), then claimed.
    let rules = keqing_domain::archive::PoolRules {
        default_days: 0,
        ..Default::default()
    };
    let released = app
        .store
        .release_stale(
            &rules,
            chrono::Utc::now() + chrono::Duration::seconds(5),
            &keqing_domain::User {
                id: 0,
                username: "system".into(),
                display_name: String::new(),
                role: Role::Admin,
                team_id: None,
                region: None,
                active: true,
            },
        )
        .await
        .unwrap();
    assert!(released.contains(&id));
    let (_, pool) = app.call(&ta, "GET", "/pool", None).await;
    assert!(pool["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id));
    assert_eq!(
        app.call(
            &ta,
            "PATCH",
            &format!("/customers/{id}"),
            Some(json!({"version": 3, "city": "x"}))
        )
        .await
        .0,
        403,
        "claim before you edit"
    );
    let (s, got) = app
        .call(&ta, "POST", &format!("/customers/{id}/claim"), None)
        .await;
    assert_eq!((s, got["owner_id"].as_i64()), (200, Some(a.id)));
    // Owned again: another manager can neither see it nor claim it.
    assert_eq!(
        app.call(&tb, "POST", &format!("/customers/{id}/claim"), None)
            .await
            .0,
        403
    );

    // The 15-day deadline.
    let (s, r) = app
        .call(
            &ta,
            "POST",
            &format!("/customers/{id}/changes"),
            Some(json!({"note": "换了负责人", "reported_on": "2026-01-01"})),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(r["due_on"], "2026-01-16");
    let (_, open) = app.call(&ta, "GET", "/changes?overdue=true", None).await;
    assert_eq!(open["total"], 1);
    assert_eq!(open["items"][0]["overdue"], true);
    let (_, other) = app.call(&tb, "GET", "/changes", None).await;
    assert_eq!(other["total"], 0, "another manager does not see it");
    assert_eq!(
        app.call(&ta, "POST", &format!("/changes/{}/register", r["id"]), None)
            .await
            .0,
        200
    );
    assert_eq!(app.call(&ta, "GET", "/changes", None).await.1["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_a_class_files_are_work_items() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let (_, c) = app
        .call(
            &t,
            "POST",
            "/customers",
            Some(json!({"name": "重点客户", "class": "A"})),
        )
        .await;
    let id = c["id"].as_i64().unwrap();
    let (_, w) = app.call(&t, "GET", "/work/incomplete", None).await;
    assert_eq!(w["items"][0]["customer_id"], id);
    assert_eq!(
        w["items"][0]["missing"],
        json!([
            "person_in_charge",
            "detailed_address",
            "company_phone",
            "person_in_charge_mobile"
        ])
    );
    app.call(
        &t,
        "PATCH",
        &format!("/customers/{id}"),
        Some(
            json!({"version": 1, "address": "南京市江宁区天元东路388号", "phone": "025-86001234"}),
        ),
    )
    .await;
    app.call(
        &t,
        "POST",
        &format!("/customers/{id}/contacts"),
        Some(json!({"name": "刘总", "level": "负责人", "mobile": "13912345678"})),
    )
    .await;
    let (_, w) = app.call(&t, "GET", "/work/incomplete", None).await;
    assert_eq!(w["total"], 0);
    let (_, done) = app
        .call(&t, "GET", &format!("/customers/{id}/completeness"), None)
        .await;
    assert_eq!(done["complete"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_profile_fields_are_typed_validated_and_searchable() {
    let app = App::start().await;
    app.user("admin", Role::Admin, None).await;
    app.user("wangfang", Role::Manager, None).await;
    let admin = app.login("admin").await;
    let manager = app.login("wangfang").await;
    let defs = json!({"fields": [
        {"key": "skin", "label": "肤质", "type": "choice", "options": ["干性", "油性", "混合"], "required": true},
        {"key": "concerns", "label": "护理需求", "type": "multi_choice", "options": ["补水", "美白", "抗衰"], "required": false},
        {"key": "visits", "label": "到店次数", "type": "number", "required": false},
        {"key": "first_visit", "label": "首次到店", "type": "date", "required": false}
    ]});
    let (s, _) = app
        .call(&manager, "PUT", "/custom-fields", Some(defs.clone()))
        .await;
    assert_eq!(s, 403, "only an administrator defines fields");
    let (s, body) = app
        .call(
            &admin,
            "PUT",
            "/custom-fields",
            Some(
                json!({"fields": [{"key": "Skin", "label": "", "type": "choice", "options": []}]}),
            ),
        )
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = body["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["fields[0].key", "fields[0].label", "fields[0].options"]
    );
    let (s, _) = app
        .call(&admin, "PUT", "/custom-fields", Some(defs.clone()))
        .await;
    assert_eq!(s, 200);
    let (s, got) = app.call(&manager, "GET", "/custom-fields", None).await;
    assert_eq!((s, got), (200, defs));

    // Every bad value is named; nothing is stored.
    let (s, body) = app
        .call(
            &manager,
            "POST",
            "/customers",
            Some(json!({"name": "丽人美容院", "custom": {"concerns": ["瘦身"], "visits": "很多"}})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let fields: Vec<&str> = body["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["custom.concerns", "custom.visits", "custom.skin"]);
    assert_eq!(
        app.call(&manager, "GET", "/customers?q=丽人", None).await.1["total"],
        0
    );

    // Good values are stored normalised.
    let (s, c) = app
        .call(
            &manager,
            "POST",
            "/customers",
            Some(json!({"name": "丽人美容院", "custom": {"skin": "干性", "concerns": "补水、美白", "visits": "12", "first_visit": "2025/3/1"}})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(
        c["custom"],
        json!({"skin": "干性", "concerns": ["补水", "美白"], "visits": 12, "first_visit": "2025-03-01"})
    );
    app.call(
        &manager,
        "POST",
        "/customers",
        Some(json!({"name": "水润护肤馆", "custom": {"skin": "油性", "concerns": ["补水"], "visits": 3}})),
    )
    .await;
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, r) = app
        .call(&manager, "GET", "/customers?custom=concerns:美白", None)
        .await;
    assert_eq!(names(&r), ["丽人美容院"], "one option of a multi choice");
    let (_, r) = app
        .call(&manager, "GET", "/customers?custom=concerns:补水", None)
        .await;
    assert_eq!(names(&r), ["丽人美容院", "水润护肤馆"]);
    let (_, r) = app
        .call(&manager, "GET", "/customers?custom=visits:3", None)
        .await;
    assert_eq!(names(&r), ["水润护肤馆"], "a number");
    let (_, r) = app
        .call(&manager, "GET", "/customers?custom=skin:干性", None)
        .await;
    assert_eq!(names(&r), ["丽人美容院"]);
    let (s, _) = app
        .call(&manager, "GET", "/customers?custom=colour:red", None)
        .await;
    assert_eq!(s, 422, "an undefined field");

    // A patch is checked too, and the old value stays when it fails.
    let id = c["id"].as_i64().unwrap();
    let (s, _) = app
        .call(
            &manager,
            "PATCH",
            &format!("/customers/{id}"),
            Some(json!({"version": 1, "custom": {"skin": "中性"}})),
        )
        .await;
    assert_eq!(s, 422);
    let (s, c2) = app
        .call(
            &manager,
            "PATCH",
            &format!("/customers/{id}"),
            Some(json!({"version": 1, "custom": {"skin": "混合", "visits": 13}})),
        )
        .await;
    assert_eq!(s, 200, "{c2}");
    assert_eq!(c2["custom"]["visits"], 13);
    assert_eq!(c2["custom"]["skin"], "混合");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_schema_names_every_field() {
    let app = App::start().await;
    app.user("admin", Role::Admin, None).await;
    let t = app.login("admin").await;
    let (s, c) = app
        .call(
            &t,
            "POST",
            "/customers",
            Some(json!({"name": "模式客户", "phone": "13800001111", "tags": ["甲"]})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (_, c) = app
        .call(&t, "GET", &format!("/customers/{}", c["id"]), None)
        .await;
    let (_, doc) = app.call("", "GET", "/openapi.json", None).await;
    // A customer is answered with its owner's name (CustomerView: Customer and owner_name).
    let props = doc["components"]["schemas"]["CustomerView"]["properties"]
        .as_object()
        .unwrap();
    for key in c.as_object().unwrap().keys() {
        assert!(
            props.contains_key(key),
            "{key} is not in the CustomerView schema"
        );
    }
    assert_eq!(c["owner_name"], "admin");
    assert_eq!(props["p_alive"]["type"], "number");
    let one = &doc["paths"]["/api/v1/customers/{id}"]["get"]["responses"]["200"];
    assert_eq!(
        one["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CustomerView"
    );
}
