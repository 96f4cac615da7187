//! The whole matrix of endpoint × role × scope (SPEC §9), as a client sees it.
//!
//! Customers are owned by manager A1 and manager A2 (team A), manager B1
//! (team B), or nobody (the pool). Each row of the table says, for one role
//! and one endpoint, whether the call is allowed for the customers of
//! A1, A2, B1 and the pool, in that order: Y allowed, N refused (403).

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::json;

const ENDPOINTS: &[&str] = &[
    "get",
    "patch",
    "delete",
    "history",
    "contacts",
    "add_contact",
    "activities",
    "add_activity",
    "orders",
];

/// role → one string per endpoint above, one letter per owner (A1, A2, B1, pool).
const MATRIX: &[(&str, [&str; 9])] = &[
    (
        "admin",
        [
            "YYYY", "YYYY", "YYYY", "YYYY", "YYYY", "YYYY", "YYYY", "YYYY", "YYYY",
        ],
    ),
    (
        "director",
        [
            "YYYY", "YYYY", "NNNN", "YYYY", "YYYY", "YYYY", "YYYY", "YYYY", "YYYY",
        ],
    ),
    (
        "supervisor_a",
        [
            "YYNY", "YYNY", "YYNY", "YYNY", "YYNY", "YYNY", "YYNY", "YYNY", "YYNY",
        ],
    ),
    (
        "manager_a1",
        [
            "YNNY", "YNNN", "NNNN", "YNNY", "YNNY", "YNNN", "YNNY", "YNNN", "YNNY",
        ],
    ),
    (
        "manager_b1",
        [
            "NNYY", "NNYN", "NNNN", "NNYY", "NNYY", "NNYN", "NNYY", "NNYN", "NNYY",
        ],
    ),
    (
        "finance",
        [
            "YYYY", "NNNN", "NNNN", "YYYY", "YYYY", "NNNN", "YYYY", "NNNN", "YYYY",
        ],
    ),
    (
        "agent",
        [
            "YYYY", "NNNN", "NNNN", "YYYY", "YYYY", "NNNN", "YYYY", "YYYY", "YYYY",
        ],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_role_scope_matrix() {
    let app = App::start().await;
    let ta = app.store.create_team("A", None).await.unwrap();
    let tb = app.store.create_team("B", None).await.unwrap();
    app.user("admin", Role::Admin, None).await;
    app.user("director", Role::Director, None).await;
    app.user("supervisor_a", Role::Supervisor, Some(ta.id))
        .await;
    let a1 = app.user("manager_a1", Role::Manager, Some(ta.id)).await;
    let a2 = app.user("manager_a2", Role::Manager, Some(ta.id)).await;
    let b1 = app.user("manager_b1", Role::Manager, Some(tb.id)).await;
    app.user("finance", Role::Finance, None).await;
    app.user("agent", Role::Agent, None).await;
    let admin = app.store.user_by_name("admin").await.unwrap().unwrap().0;
    let owners = [Some(a1.id), Some(a2.id), Some(b1.id), None];

    let mut checked = 0;
    let mut n = 0;
    for (role, rows) in MATRIX {
        let token = app.login(role).await;
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            for (o, owner) in owners.iter().enumerate() {
                // A fresh customer per cell, so a delete or edit cannot spoil the next one.
                n += 1;
                let input = keqing_domain::CustomerInput::from_json(
                    json!({"name": format!("客户{n}")}).as_object().unwrap(),
                )
                .unwrap();
                let c = app
                    .store
                    .create_customer(&input, *owner, &admin)
                    .await
                    .unwrap();
                let p = format!("/customers/{}", c.id);
                let (status, body) = match *endpoint {
                    "get" => app.call(&token, "GET", &p, None).await,
                    "patch" => {
                        app.call(
                            &token,
                            "PATCH",
                            &p,
                            Some(json!({"version": 1, "city": "南京"})),
                        )
                        .await
                    }
                    "delete" => app.call(&token, "DELETE", &p, None).await,
                    "history" => app.call(&token, "GET", &format!("{p}/history"), None).await,
                    "contacts" => {
                        app.call(&token, "GET", &format!("{p}/contacts"), None)
                            .await
                    }
                    "add_contact" => {
                        app.call(
                            &token,
                            "POST",
                            &format!("{p}/contacts"),
                            Some(json!({"name": "联系人"})),
                        )
                        .await
                    }
                    "activities" => {
                        app.call(&token, "GET", &format!("{p}/activities"), None)
                            .await
                    }
                    "add_activity" => {
                        app.call(
                            &token,
                            "POST",
                            &format!("{p}/activities"),
                            Some(json!({"kind": "call", "summary": "电话沟通"})),
                        )
                        .await
                    }
                    "orders" => app.call(&token, "GET", &format!("{p}/orders"), None).await,
                    _ => unreachable!(),
                };
                let expect_ok = rows[e].as_bytes()[o] == b'Y';
                let who = ["A1", "A2", "B1", "pool"][o];
                if expect_ok {
                    assert!((200..300).contains(&status), "{role} {endpoint} on {who}'s customer: expected success, got {status} {body}");
                } else {
                    assert_eq!(
                        status, 403,
                        "{role} {endpoint} on {who}'s customer: expected 403, got {status} {body}"
                    );
                    assert_eq!(body["code"], "forbidden");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, MATRIX.len() * ENDPOINTS.len() * 4);

    // Lists are scoped the same way, in the query.
    let _ = a2;
    for (role, sees) in [
        ("manager_a1", "A1+pool"),
        ("supervisor_a", "A+pool"),
        ("manager_b1", "B1+pool"),
    ] {
        let token = app.login(role).await;
        let (s, list) = app
            .call(&token, "GET", "/customers?per_page=200", None)
            .await;
        assert_eq!(s, 200);
        for c in list["items"].as_array().unwrap() {
            let owner = c["owner_id"].as_i64();
            let ok = match sees {
                "A1+pool" => owner.is_none() || owner == Some(a1.id),
                "A+pool" => owner.is_none() || c["team_id"].as_i64() == Some(ta.id),
                _ => owner.is_none() || owner == Some(b1.id),
            };
            assert!(ok, "{role} must not list customer {c}");
        }
    }
    let adm = app.login("admin").await;
    // `?ids=` answers the named customers each role may read, as "get" does,
    // in the order asked, and leaves the others out.
    let mut named = vec![];
    for owner in owners {
        let input = keqing_domain::CustomerInput::from_json(
            json!({"name": format!("按编号{}", named.len())})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        named.push(
            app.store
                .create_customer(&input, owner, &admin)
                .await
                .unwrap()
                .id,
        );
    }
    let asked = format!(
        "/customers?ids={},{},{},{},999999",
        named[3], named[2], named[1], named[0]
    );
    for (role, rows) in MATRIX {
        let token = app.login(role).await;
        let (s, r) = app.call(&token, "GET", &asked, None).await;
        assert_eq!(s, 200, "{role}: {r}");
        let got: Vec<i64> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        let want: Vec<i64> = [3, 2, 1, 0]
            .into_iter()
            .filter(|&o| rows[0].as_bytes()[o] == b'Y')
            .map(|o| named[o])
            .collect();
        assert_eq!(got, want, "{role} by ids");
    }
    let (s, r) = app.call(&adm, "GET", "/customers?ids=1,x", None).await;
    assert_eq!(
        (s, r["details"]["fields"][0]["field"].as_str()),
        (422, Some("ids"))
    );

    // Only administrators list deleted files and restore them.
    let dir = app.login("director").await;
    assert_eq!(
        app.call(&dir, "GET", "/customers?deleted=true", None)
            .await
            .0,
        403
    );
    let (_, deleted) = app
        .call(&adm, "GET", "/customers?deleted=true&per_page=200", None)
        .await;
    let first = deleted["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.call(&dir, "POST", &format!("/customers/{first}/restore"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.call(&adm, "POST", &format!("/customers/{first}/restore"), None)
            .await
            .0,
        200
    );
}
