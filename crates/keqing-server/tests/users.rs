//! An administrator changes users: role, team, region, active
//! (`PATCH /api/v1/users/{id}`), as a client sees it.

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

fn field(body: &Value) -> &str {
    body["details"]["fields"][0]["field"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_made_supervisor_sees_the_team_on_the_next_request() {
    let app = App::start().await;
    let ta = app.store.create_team("A", Some("江苏")).await.unwrap();
    let admin = app.user("admin", Role::Admin, None).await;
    let m1 = app.user("manager_a1", Role::Manager, Some(ta.id)).await;
    let m2 = app.user("manager_a2", Role::Manager, Some(ta.id)).await;
    let input = keqing_domain::CustomerInput::from_json(
        json!({"name": "南京明达纺织有限公司"}).as_object().unwrap(),
    )
    .unwrap();
    let c = app
        .store
        .create_customer(&input, Some(m2.id), &admin)
        .await
        .unwrap();
    let path = format!("/customers/{}", c.id);
    let t_admin = app.login("admin").await;
    let t_m1 = app.login("manager_a1").await;
    assert_eq!(app.call(&t_m1, "GET", &path, None).await.0, 403);

    let (status, body) = app
        .call(
            &t_admin,
            "PATCH",
            &format!("/users/{}", m1.id),
            Some(json!({"role": "supervisor", "region": " 江苏 "})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "supervisor");
    assert_eq!(body["region"], "江苏");
    assert_eq!(body["team_id"], ta.id);

    // The same token, the next request: the supervisor's team scope applies.
    let (status, body) = app.call(&t_m1, "GET", &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.call(&t_m1, "GET", "/auth/me", None).await.1["role"],
        "supervisor"
    );

    let (_, audit) = app.call(&t_admin, "GET", "/audit?limit=1", None).await;
    let entry = &audit["items"][0];
    assert_eq!(
        (
            &entry["action"],
            &entry["entity"],
            &entry["entity_id"],
            &entry["user_id"]
        ),
        (
            &json!("update"),
            &json!("user"),
            &json!(m1.id),
            &json!(admin.id)
        )
    );
    assert_eq!(entry["detail"]["old"]["role"], "manager");
    assert_eq!(entry["detail"]["new"]["role"], "supervisor");

    // Out of the team: the teammate's customer is out of reach again.
    let (status, body) = app
        .call(
            &t_admin,
            "PATCH",
            &format!("/users/{}", m1.id),
            Some(json!({"team_id": null})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["team_id"], Value::Null);
    assert_eq!(app.call(&t_m1, "GET", &path, None).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_administrator_changes_users() {
    let app = App::start().await;
    let ta = app.store.create_team("A", None).await.unwrap();
    app.user("admin", Role::Admin, None).await;
    let m = app.user("manager", Role::Manager, Some(ta.id)).await;
    app.user("supervisor", Role::Supervisor, Some(ta.id)).await;
    app.user("director", Role::Director, None).await;
    let path = format!("/users/{}", m.id);
    for who in ["manager", "supervisor", "director"] {
        let t = app.login(who).await;
        let (status, body) = app
            .call(&t, "PATCH", &path, Some(json!({"role": "admin"})))
            .await;
        assert_eq!(status, 403, "{who}: {body}");
        assert_eq!(body["code"], "forbidden");
    }
    let (status, _) = app
        .call("", "PATCH", &path, Some(json!({"role": "admin"})))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.store.user(m.id).await.unwrap().unwrap().role,
        Role::Manager
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_field_is_named() {
    let app = App::start().await;
    app.user("admin", Role::Admin, None).await;
    let m = app.user("manager", Role::Manager, None).await;
    let t = app.login("admin").await;
    let path = format!("/users/{}", m.id);
    for (body, named) in [
        (json!({"role": "boss"}), "role"),
        (json!({"role": 3}), "role"),
        (json!({"team_id": 999}), "team_id"),
        (json!({"team_id": "A"}), "team_id"),
        (json!({"active": "no"}), "active"),
        (json!({"region": "x".repeat(40)}), "region"),
        (json!({"region": "火星"}), "region"),
        (json!({"username": "someone"}), "username"),
    ] {
        let (status, res) = app.call(&t, "PATCH", &path, Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {res}");
        assert_eq!(field(&res), named, "{body}: {res}");
    }
    assert_eq!(app.store.user(m.id).await.unwrap().unwrap(), m);
    let (status, _) = app
        .call(&t, "PATCH", "/users/9999", Some(json!({"active": false})))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_active_administrator_cannot_step_down() {
    let app = App::start().await;
    let admin = app.user("admin", Role::Admin, None).await;
    let t = app.login("admin").await;
    let me = format!("/users/{}", admin.id);
    for body in [json!({"role": "director"}), json!({"active": false})] {
        let (status, res) = app.call(&t, "PATCH", &me, Some(body.clone())).await;
        assert_eq!(status, 409, "{body}: {res}");
        assert!(
            res["message"]
                .as_str()
                .unwrap()
                .contains("last active administrator"),
            "{res}"
        );
    }
    assert_eq!(app.call(&t, "GET", "/auth/me", None).await.0, 200);
    // With a second administrator, stepping down is allowed.
    app.user("admin2", Role::Admin, None).await;
    let (status, res) = app
        .call(&t, "PATCH", &me, Some(json!({"role": "director"})))
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["role"], "director");
    // A director may no longer change users.
    let (status, _) = app
        .call(&t, "PATCH", &me, Some(json!({"role": "admin"})))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_a_user_ends_their_sessions() {
    let app = App::start().await;
    app.user("admin", Role::Admin, None).await;
    let m = app.user("manager", Role::Manager, None).await;
    let t_admin = app.login("admin").await;
    let t_m = app.login("manager").await;
    assert_eq!(app.call(&t_m, "GET", "/auth/me", None).await.0, 200);
    let path = format!("/users/{}", m.id);
    let (status, res) = app
        .call(&t_admin, "PATCH", &path, Some(json!({"active": false})))
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["active"], false);
    let (status, res) = app.call(&t_m, "GET", "/auth/me", None).await;
    assert_eq!(status, 401, "{res}");
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": "manager", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200, "an inactive user cannot log in");
    // Active again: the old token stays ended; a new login works.
    let (status, _) = app
        .call(&t_admin, "PATCH", &path, Some(json!({"active": true})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.call(&t_m, "GET", "/auth/me", None).await.0, 401);
    let t_new = app.login("manager").await;
    assert_eq!(app.call(&t_new, "GET", "/auth/me", None).await.0, 200);
}
