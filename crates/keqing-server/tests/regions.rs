//! Regions (区域) as a list of their own, and teams changed by an
//! administrator, as a client sees them (SPEC §9).

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

fn field(body: &Value) -> &str {
    body["details"]["fields"][0]["field"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_teams_pick_their_region_from_the_list() {
    let app = App::start().await;
    app.user("admin", Role::Admin, None).await;
    let m = app.user("manager", Role::Manager, None).await;
    let admin = app.login("admin").await;
    let manager = app.login("manager").await;

    // Only administrators keep the list; everyone reads it.
    assert_eq!(
        app.call(&manager, "POST", "/regions", Some(json!({"name": "江苏"})))
            .await
            .0,
        403
    );
    let (s, js) = app
        .call(&admin, "POST", "/regions", Some(json!({"name": " 江苏 "})))
        .await;
    assert_eq!(s, 201, "{js}");
    assert_eq!(
        (js["name"].as_str(), js["users"].as_i64()),
        (Some("江苏"), Some(0))
    );
    let (s, dup) = app
        .call(&admin, "POST", "/regions", Some(json!({"name": "江苏"})))
        .await;
    assert_eq!((s, dup["code"].as_str()), (409, Some("duplicate")));
    let (s, bad) = app
        .call(&admin, "POST", "/regions", Some(json!({"name": "  "})))
        .await;
    assert_eq!((s, field(&bad)), (422, "name"));
    let (s, list) = app.call(&manager, "GET", "/regions", None).await;
    assert_eq!(s, 200);
    assert_eq!(list["items"][0]["name"], "江苏");

    // A region not on the list is a typo: refused on teams and users.
    let (s, res) = app
        .call(
            &admin,
            "POST",
            "/teams",
            Some(json!({"name": "南京一部", "region": "江苏省"})),
        )
        .await;
    assert_eq!((s, field(&res)), (422, "region"), "{res}");
    let (s, team) = app
        .call(
            &admin,
            "POST",
            "/teams",
            Some(json!({"name": "南京一部", "region": "江苏"})),
        )
        .await;
    assert_eq!(s, 201, "{team}");
    let (s, res) = app
        .call(&admin, "POST", "/teams", Some(json!({"name": "南京一部"})))
        .await;
    assert_eq!((s, res["code"].as_str()), (409, Some("refused")), "{res}");
    let (s, res) = app
        .call(
            &admin,
            "POST",
            "/users",
            Some(json!({"username": "zhou", "role": "supervisor", "region": "火星", "password": "correct-horse-42"})),
        )
        .await;
    assert_eq!((s, field(&res)), (422, "region"), "{res}");
    let (s, u) = app
        .call(
            &admin,
            "PATCH",
            &format!("/users/{}", m.id),
            Some(json!({"region": "江苏"})),
        )
        .await;
    assert_eq!((s, u["region"].as_str()), (200, Some("江苏")), "{u}");

    // In use: the region cannot go.
    let path = format!("/regions/{}", js["id"]);
    let (s, res) = app.call(&admin, "DELETE", &path, None).await;
    assert_eq!((s, res["code"].as_str()), (409, Some("refused")), "{res}");
    let (_, list) = app.call(&admin, "GET", "/regions", None).await;
    assert_eq!(
        (
            list["items"][0]["users"].as_i64(),
            list["items"][0]["teams"].as_i64()
        ),
        (Some(1), Some(1))
    );

    // The team is renamed and moved to a new region; the audit log says so.
    let (s, zj) = app
        .call(&admin, "POST", "/regions", Some(json!({"name": "浙江"})))
        .await;
    assert_eq!(s, 201);
    let team_path = format!("/teams/{}", team["id"]);
    assert_eq!(
        app.call(&manager, "PATCH", &team_path, Some(json!({"name": "x"})))
            .await
            .0,
        403
    );
    for (body, named) in [
        (json!({"region": "江苏省"}), "region"),
        (json!({"name": ""}), "name"),
        (json!({"name": 3}), "name"),
        (json!({"members": []}), "members"),
    ] {
        let (s, res) = app
            .call(&admin, "PATCH", &team_path, Some(body.clone()))
            .await;
        assert_eq!((s, field(&res)), (422, named), "{body}: {res}");
    }
    let (s, moved) = app
        .call(
            &admin,
            "PATCH",
            &team_path,
            Some(json!({"name": "杭州一部", "region": "浙江"})),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(
        (moved["name"].as_str(), moved["region"].as_str()),
        (Some("杭州一部"), Some("浙江"))
    );
    let (_, audit) = app.call(&admin, "GET", "/audit?limit=1", None).await;
    let entry = &audit["items"][0];
    assert_eq!(
        (entry["entity"].as_str(), entry["action"].as_str()),
        (Some("team"), Some("update"))
    );
    assert_eq!(entry["detail"]["old"]["region"], "江苏");
    assert_eq!(
        app.call(&admin, "PATCH", "/teams/9999", Some(json!({"name": "无"})))
            .await
            .0,
        404
    );

    // Nobody left in 江苏 once the manager moves too: now it goes.
    app.call(
        &admin,
        "PATCH",
        &format!("/users/{}", m.id),
        Some(json!({"region": zj["name"]})),
    )
    .await;
    assert_eq!(app.call(&admin, "DELETE", &path, None).await.0, 204);
    assert_eq!(app.call(&admin, "DELETE", &path, None).await.0, 404);
    let (_, list) = app.call(&admin, "GET", "/regions", None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["浙江"]);
}
