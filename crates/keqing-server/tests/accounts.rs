//! Accounts and the audit log as a client sees them: a user changes their
//! own password (`POST /api/v1/auth/password`), an administrator resets one
//! and edits a display name (`PATCH /api/v1/users/{id}`), a new user takes
//! their team's region, and the audit log is read a filtered page at a time
//! (`GET /api/v1/audit`). Run on SQLite, and on PostgreSQL with
//! `KEQING_TEST_PG_URL`.

mod common;

use common::{App, PASSWORD};
use keqing_domain::Role;
use serde_json::{json, Value};

fn fields(body: &Value) -> Vec<&str> {
    body["details"]["fields"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default()
}

async fn login_with(app: &App, name: &str, password: &str) -> (u16, Value) {
    app.call(
        "",
        "POST",
        "/auth/login",
        Some(json!({"username": name, "password": password})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_changes_their_own_password_and_their_other_sessions_end() {
    let app = App::start().await;
    let me = app.user("wangfang", Role::Manager, None).await;
    let here = app.login("wangfang").await;
    let phone = app.login("wangfang").await;
    let change = |current: &str, new: &str| json!({"current": current, "new": new});

    // A wrong current password: 422 naming `current`, nothing changed.
    let (s, b) = app
        .call(
            &here,
            "POST",
            "/auth/password",
            Some(change("guess-1234", "new-pass-2026")),
        )
        .await;
    assert_eq!((s, fields(&b)), (422, vec!["current"]), "{b}");
    assert!(b["details"]["fields"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("当前密码不正确"));
    // The policy the app has for new passwords: 422 naming `new`.
    let (s, b) = app
        .call(
            &here,
            "POST",
            "/auth/password",
            Some(change(PASSWORD, "short")),
        )
        .await;
    assert_eq!((s, fields(&b)), (422, vec!["new"]), "{b}");
    let (s, b) = app
        .call(
            &here,
            "POST",
            "/auth/password",
            Some(change(PASSWORD, PASSWORD)),
        )
        .await;
    assert_eq!(
        (s, fields(&b)),
        (422, vec!["new"]),
        "the same password again: {b}"
    );
    // Both wrong: both named.
    let (s, b) = app
        .call(
            &here,
            "POST",
            "/auth/password",
            Some(change("nope-nope", "x")),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(fields(&b).len(), 2, "{b}");
    let (s, b) = app
        .call(
            &here,
            "POST",
            "/auth/password",
            Some(json!({"current": PASSWORD})),
        )
        .await;
    assert_eq!((s, fields(&b)), (422, vec!["new"]), "a missing member: {b}");
    assert_eq!(login_with(&app, "wangfang", PASSWORD).await.0, 200);

    let (s, b) = app
        .call(
            &here,
            "POST",
            "/auth/password",
            Some(change(PASSWORD, "new-pass-2026")),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    // This session goes on; the other one ended.
    assert_eq!(app.call(&here, "GET", "/auth/me", None).await.0, 200);
    let (s, b) = app.call(&phone, "GET", "/auth/me", None).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("session_expired")));
    assert_eq!(login_with(&app, "wangfang", PASSWORD).await.0, 401);
    assert_eq!(login_with(&app, "wangfang", "new-pass-2026").await.0, 200);
    // Without a session: 401.
    assert_eq!(
        app.call(
            "",
            "POST",
            "/auth/password",
            Some(change("new-pass-2026", "another-one-1"))
        )
        .await
        .0,
        401
    );
    // In the audit log as the user's own change.
    app.user("boss", Role::Admin, None).await;
    let admin = app.login("boss").await;
    let (_, a) = app
        .call(&admin, "GET", "/audit?action=password_change", None)
        .await;
    assert_eq!(a["total"], 1, "{a}");
    let line = &a["items"][0];
    assert_eq!(
        (line["user_id"].as_i64(), line["entity_id"].as_i64()),
        (Some(me.id), Some(me.id))
    );
    assert_eq!(line["record"], "wangfang");
    // The phone's session and the one of the login that checked the old password.
    assert_eq!(line["detail"]["sessions_ended"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_the_current_password_slows_down() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let mut statuses = vec![];
    for i in 0..5 {
        let (s, _) = app
            .call(
                &t,
                "POST",
                "/auth/password",
                Some(json!({"current": format!("guess-{i}-xx"), "new": "new-pass-2026"})),
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(&statuses[..3], [422, 422, 422]);
    assert_eq!(statuses[4], 429, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_resets_a_password_and_edits_a_display_name() {
    let app = App::start().await;
    let admin = app.user("boss", Role::Admin, None).await;
    let m = app.user("wangfang", Role::Manager, None).await;
    app.user("chenjing", Role::Supervisor, None).await;
    let t = app.login("boss").await;
    let theirs = app.login("wangfang").await;
    let path = format!("/users/{}", m.id);

    for (body, named) in [
        (json!({"password": "short"}), "password"),
        (json!({"password": 12345678}), "password"),
        (json!({"display_name": "  "}), "display_name"),
        (json!({"display_name": "名".repeat(33)}), "display_name"),
        (json!({"display_name": null}), "display_name"),
    ] {
        let (s, b) = app.call(&t, "PATCH", &path, Some(body.clone())).await;
        assert_eq!((s, fields(&b)), (422, vec![named]), "{body}: {b}");
    }
    // Only an administrator.
    let sup = app.login("chenjing").await;
    let (s, _) = app
        .call(
            &sup,
            "PATCH",
            &path,
            Some(json!({"password": "reset-by-sup-1"})),
        )
        .await;
    assert_eq!(s, 403);

    let (s, b) = app
        .call(
            &t,
            "PATCH",
            &path,
            Some(json!({"display_name": " 王芳（南京） ", "password": "reset-2026-x"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["display_name"], "王芳（南京）");
    // The user's sessions end; the new password works, the old does not.
    assert_eq!(app.call(&theirs, "GET", "/auth/me", None).await.0, 401);
    assert_eq!(login_with(&app, "wangfang", PASSWORD).await.0, 401);
    let (s, b) = login_with(&app, "wangfang", "reset-2026-x").await;
    assert_eq!(s, 200);
    assert_eq!(b["user"]["display_name"], "王芳（南京）");
    // The administrator's session is not touched.
    assert_eq!(app.call(&t, "GET", "/auth/me", None).await.0, 200);

    // Audited: the reset by the administrator, the name old → new.
    let (_, a) = app
        .call(
            &t,
            "GET",
            &format!("/audit?entity=user&entity_id={}", m.id),
            None,
        )
        .await;
    let actions: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["login", "password_reset", "update", "login"],
        "{a}"
    );
    let reset = &a["items"][1];
    assert_eq!(reset["user_id"].as_i64(), Some(admin.id));
    assert_eq!(reset["user_name"], "boss");
    assert_eq!(reset["record"], "王芳（南京）");
    let update = &a["items"][2];
    assert_eq!(update["detail"]["old"]["display_name"], "wangfang");
    assert_eq!(update["detail"]["new"]["display_name"], "王芳（南京）");

    // An administrator resetting their own password keeps this session.
    let (s, _) = app
        .call(
            &t,
            "PATCH",
            &format!("/users/{}", admin.id),
            Some(json!({"password": "boss-new-2026"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(app.call(&t, "GET", "/auth/me", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_is_in_their_teams_region() {
    let app = App::start().await;
    app.user("boss", Role::Admin, None).await;
    let t = app.login("boss").await;
    app.store.create_region("江苏", None).await.unwrap();
    app.store.create_region("浙江", None).await.unwrap();
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    let new = |name: &str, region: Value| json!({"username": name, "role": "manager", "team_id": team.id, "region": region, "password": "welcome-2026"});
    let (s, b) = app
        .call(&t, "POST", "/users", Some(new("xiaoli", Value::Null)))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["region"], "江苏", "the team's region");
    let (s, b) = app
        .call(&t, "POST", "/users", Some(new("xiaozhao", json!("浙江"))))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["region"], "浙江", "a region given is kept");
    let (s, b) = app
        .call(
            &t,
            "POST",
            "/users",
            Some(json!({"username": "xiaoqian", "role": "manager", "password": "welcome-2026"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["region"], Value::Null, "no team, no region");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_filtered_by_who_what_record_and_when() {
    let app = App::start().await;
    let admin = app.user("boss", Role::Admin, None).await;
    let m = app.user("wangfang", Role::Manager, None).await;
    app.user("zhaomin", Role::Director, None).await;
    app.user("chenjing", Role::Supervisor, None).await;
    let t = app.login("boss").await;
    let tm = app.login("wangfang").await;
    // The manager creates two customers and edits one; the admin edits it too.
    let mut ids = vec![];
    for name in ["审计甲公司", "审计乙公司"] {
        let (s, c) = app
            .call(
                &tm,
                "POST",
                "/customers",
                Some(json!({"name": name, "city": "南京"})),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        ids.push(c["id"].as_i64().unwrap());
    }
    let (s, c) = app
        .call(
            &tm,
            "PATCH",
            &format!("/customers/{}", ids[0]),
            Some(json!({"version": 1, "city": "苏州"})),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let (s, c) = app
        .call(
            &t,
            "PATCH",
            &format!("/customers/{}", ids[0]),
            Some(json!({"version": 2, "industry": "纺织"})),
        )
        .await;
    assert_eq!(s, 200, "{c}");

    // Who: the manager's lines only.
    let (s, a) = app
        .call(&t, "GET", &format!("/audit?user_id={}", m.id), None)
        .await;
    assert_eq!(s, 200, "{a}");
    let actions: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "create", "create", "login"], "{a}");
    assert_eq!(a["total"], 4);
    assert!(a["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["user_name"] == "wangfang"));
    // What, and which record: named, with the old and the new values.
    let (_, a) = app
        .call(
            &t,
            "GET",
            &format!("/audit?action=update&entity=customer&entity_id={}", ids[0]),
            None,
        )
        .await;
    assert_eq!(a["total"], 2, "{a}");
    let newest = &a["items"][0];
    assert_eq!(newest["user_id"].as_i64(), Some(admin.id));
    assert_eq!(newest["record"], "审计甲公司");
    assert_eq!(newest["detail"]["old"]["industry"], Value::Null);
    assert_eq!(newest["detail"]["new"]["industry"], "纺织");
    let older = &a["items"][1];
    assert_eq!(older["detail"]["old"]["city"], "南京");
    assert_eq!(older["detail"]["new"]["city"], "苏州");
    // Who and what together.
    let (_, a) = app
        .call(
            &t,
            "GET",
            &format!("/audit?user_id={}&action=create", m.id),
            None,
        )
        .await;
    let names: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["record"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["审计乙公司", "审计甲公司"]);
    // When: Beijing dates, both ends included.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let (_, a) = app
        .call(
            &t,
            "GET",
            &format!("/audit?from={today}&to={today}&action=create"),
            None,
        )
        .await;
    assert_eq!(a["total"], 2, "{a}");
    let (_, a) = app
        .call(
            &t,
            "GET",
            &format!("/audit?to={}&action=create", today.pred_opt().unwrap()),
            None,
        )
        .await;
    assert_eq!(a["total"], 0, "{a}");
    // Pages.
    let (_, a) = app.call(&t, "GET", "/audit?per_page=2&page=2", None).await;
    assert_eq!(
        (a["page"].as_i64(), a["per_page"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(a["items"].as_array().unwrap().len(), 2);
    assert_eq!(a["total"], 6, "two logins, two creations, two updates: {a}");
    // Bad filters are named.
    for (q, named) in [
        ("action=up%20date", "action"),
        ("entity=客户", "entity"),
        ("from=2026-13-01", "from"),
        ("from=2026-05-02&to=2026-05-01", "to"),
        ("user_id=abc", "user_id"),
    ] {
        let (s, b) = app.call(&t, "GET", &format!("/audit?{q}"), None).await;
        assert_eq!((s, fields(&b)), (422, vec![named]), "{q}: {b}");
    }
    // Administrators and directors only.
    let d = app.login("zhaomin").await;
    assert_eq!(app.call(&d, "GET", "/audit", None).await.0, 200);
    for who in [&tm, &app.login("chenjing").await] {
        assert_eq!(app.call(who, "GET", "/audit", None).await.0, 403);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_care_tasks_line_is_named_by_its_customer() {
    let app = App::start().await;
    let admin = app.user("boss", Role::Admin, None).await;
    let m = app.user("wangfang", Role::Manager, None).await;
    let input = keqing_domain::CustomerInput::from_json(
        json!({"name": "关怀审计公司", "key_dates": [{"name": "成立日", "date": "2010-12-20"}]})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    app.store
        .create_customer(&input, Some(m.id), &admin)
        .await
        .unwrap();
    let t = app.login("boss").await;
    let (s, run) = app
        .call(&t, "POST", "/care/run?from=2026-12-20&to=2026-12-20", None)
        .await;
    assert_eq!(s, 200, "{run}");
    let (_, tasks) = app
        .call(&t, "GET", "/care/tasks?from=2026-12-20&to=2026-12-20", None)
        .await;
    let task = tasks["items"][0]["id"].as_i64().expect("a task");
    let (s, b) = app
        .call(
            &t,
            "POST",
            &format!("/care/tasks/{task}/skip"),
            Some(json!({"reason": "客户出差"})),
        )
        .await;
    assert!((200..300).contains(&s), "{b}");
    let (_, a) = app
        .call(
            &t,
            "GET",
            &format!("/audit?entity=care_task&entity_id={task}"),
            None,
        )
        .await;
    assert_eq!(a["total"], 1, "{a}");
    assert_eq!(a["items"][0]["record"], "关怀审计公司");
}
