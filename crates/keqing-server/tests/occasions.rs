//! What the customer 360 page shows beside the file: the coming occasions of
//! one customer (festivals, contacts' solar and lunar birthdays, the
//! company's key dates) and the permission matrix of the administration page.

mod common;

use common::App;
use keqing_domain::{ContactInput, CustomerInput, Role};
use serde_json::{json, Value};

fn customer(v: Value) -> CustomerInput {
    CustomerInput::from_json(v.as_object().unwrap()).unwrap()
}

fn contact(v: Value) -> ContactInput {
    ContactInput::from_json(v.as_object().unwrap()).unwrap()
}

/// `(date, kind, who)` of every item: who is the occasion id, the contact's
/// name or the key date's name.
fn rows(r: &Value) -> Vec<(String, String, String)> {
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let who = x["occasion"]
                .as_str()
                .or(x["contact_name"].as_str())
                .or(x["name"].as_str())
                .unwrap_or_default();
            (
                x["date"].as_str().unwrap().to_string(),
                x["kind"].as_str().unwrap().to_string(),
                who.to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_next_occasions_with_lunar_birthdays_and_the_permission_check() {
    let app = App::start().await;
    let team = app.store.create_team("南京一部", None).await.unwrap();
    let admin = app.user("admin", Role::Admin, None).await;
    let a = app.user("wangfang", Role::Manager, Some(team.id)).await;
    app.user("zhaolei", Role::Manager, Some(team.id)).await;
    let s = &app.store;
    let c = s
        .create_customer(
            &customer(json!({"name": "华东机电有限公司",
                "key_dates": [{"name": "成立纪念日", "date": "2010-09-10"}]})),
            Some(a.id),
            &admin,
        )
        .await
        .unwrap();
    for (name, birthday) in [
        // 中秋: lunar 8-15 is 25 September in 2026.
        ("张伟", "农历08-15"),
        // 重阳 of a 1985 birth: lunar 9-9 is 18 October in 2026, the 41st.
        ("李娜", "农历1985-09-09"),
        ("周阳", "1990-10-05"),
        // Outside the 60 days.
        ("吴月", "12-01"),
    ] {
        s.create_contact(
            c.id,
            &contact(json!({"name": name, "birthday": birthday})),
            &admin,
        )
        .await
        .unwrap();
    }

    let t = app.login("wangfang").await;
    let path = format!("/customers/{}/occasions?from=2026-09-01&days=60", c.id);
    let (st, r) = app.call(&t, "GET", &path, None).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["from"], "2026-09-01");
    assert_eq!(r["to"], "2026-10-30");
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        rows(&r),
        vec![
            s("2026-09-10", "key_date", "成立纪念日"),
            s("2026-09-25", "occasion", "mid_autumn"),
            s("2026-09-25", "birthday", "张伟"),
            s("2026-10-01", "occasion", "national_day"),
            s("2026-10-05", "birthday", "周阳"),
            s("2026-10-18", "birthday", "李娜"),
        ]
    );
    let items = r["items"].as_array().unwrap();
    assert_eq!(items[0]["years"], 16);
    assert_eq!(items[1]["name_zh"], "中秋节");
    assert_eq!(items[2]["lunar"], true);
    assert_eq!(items[4]["years"], 36);
    assert_eq!(items[4]["lunar"], false);
    assert_eq!(items[5]["years"], 41);

    // A built-in switched off is not listed.
    let (st, _) = app
        .call(
            &app.login("admin").await,
            "PUT",
            "/care/settings",
            Some(json!({"occasions": {"disabled": ["national_day"]}})),
        )
        .await;
    assert_eq!(st, 200);
    let (_, r) = app.call(&t, "GET", &path, None).await;
    assert!(!rows(&r).iter().any(|x| x.2 == "national_day"), "{r}");

    // Another manager is refused, exactly as for the customer itself.
    let other = app.login("zhaolei").await;
    let (own, _) = app
        .call(&other, "GET", &format!("/customers/{}", c.id), None)
        .await;
    let (st, body) = app.call(&other, "GET", &path, None).await;
    assert_eq!((st, own), (403, 403), "{body}");
    assert_eq!(body["code"], "forbidden");
    let (st, _) = app
        .call(&t, "GET", "/customers/999999/occasions", None)
        .await;
    assert_eq!(st, 404);
    let (st, body) = app
        .call(
            &t,
            "GET",
            &format!("/customers/{}/occasions?days=0", c.id),
            None,
        )
        .await;
    assert_eq!(st, 422, "{body}");
    let (st, _) = app
        .call("", "GET", &format!("/customers/{}/occasions", c.id), None)
        .await;
    assert_eq!(st, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_matrix_is_the_one_enforced() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    let (st, r) = app.call(&t, "GET", "/roles", None).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["roles"].as_array().unwrap().len(), 6);
    assert_eq!(r["actions"].as_array().unwrap().len(), 4);
    let grants = r["grants"].as_array().unwrap();
    let scope = |role: &str, res: &str, act: &str| {
        grants
            .iter()
            .find(|g| g["role"] == role && g["resource"] == res && g["action"] == act)
            .map(|g| g["scope"].as_str().unwrap().to_string())
    };
    assert_eq!(scope("manager", "customer", "read").as_deref(), Some("own"));
    assert_eq!(scope("manager", "customer", "delete"), None);
    assert_eq!(
        scope("supervisor", "customer", "delete").as_deref(),
        Some("team")
    );
    assert_eq!(scope("admin", "audit", "read").as_deref(), Some("all"));
    // Every entry is what the server's own matrix answers.
    let g = keqing_domain::access::Grants::default();
    assert_eq!(grants.len(), g.entries().count());
    let (st, _) = app.call("", "GET", "/roles", None).await;
    assert_eq!(st, 401);
}
