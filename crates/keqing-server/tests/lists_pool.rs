//! The customer list's filters and sorts, its search of several words and
//! its facets; the pool's rules as a setting; release to the pool by hand
//! and the transfer's reason (issue 25). On PostgreSQL too with
//! `KEQING_TEST_PG_URL`.

mod common;

use common::App;
use keqing_domain::{CustomerInput, Money, Role};
use keqing_store::ValueUpdate;
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<i64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// A manager's customers in three provinces, with orders, a follow-up and
/// the values the analysis writes.
struct World {
    app: App,
    manager: i64,
    hefei: i64,
    changzhou: i64,
    jinan: i64,
}

async fn world() -> World {
    let app = App::start().await;
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    let admin = app.user("boss", Role::Admin, None).await;
    let manager = app.user("wangfang", Role::Manager, Some(team.id)).await;
    app.user("chenjing", Role::Supervisor, Some(team.id)).await;
    app.user("lilei", Role::Manager, Some(team.id)).await;
    let mut made = vec![];
    for (name, province) in [
        ("安徽合肥钢业有限公司", "安徽"),
        ("江苏常州钢业有限公司", "江苏"),
        ("山东济南食品有限公司", "山东"),
    ] {
        let input = CustomerInput::from_json(
            json!({"name": name, "province": province, "tags": ["老客户"]})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        made.push(
            app.store
                .create_customer(&input, Some(manager.id), &admin)
                .await
                .unwrap()
                .id,
        );
    }
    let (hefei, changzhou, jinan) = (made[0], made[1], made[2]);
    let today = chrono::Utc::now().date_naive();
    let ago = |d: i64| today - chrono::Duration::days(d);
    app.store
        .add_orders(&[
            common::order("LP-1".into(), hefei, ago(200), Money(10_000)),
            common::order("LP-2".into(), changzhou, ago(100), Money(10_000)),
            common::order("LP-3".into(), jinan, ago(5), Money(10_000)),
        ])
        .await
        .unwrap();
    let v = |customer_id: i64, rfm: &str, p: f64| ValueUpdate {
        customer_id,
        class: None,
        rfm_class: Some(rfm.into()),
        tier: None,
        clv: None,
        p_alive: Some(p),
    };
    app.store
        .set_values(&[
            v(hefei, "important_retain", 0.1),
            v(changzhou, "important_keep", 0.4),
            v(jinan, "general_value", 0.95),
        ])
        .await
        .unwrap();
    World {
        app,
        manager: manager.id,
        hefei,
        changzhou,
        jinan,
    }
}

#[tokio::test]
async fn the_list_filters_and_sorts_by_what_slips_away() {
    let w = world().await;
    let t = w.app.login("wangfang").await;
    let get = |q: &'static str| {
        let (app, t) = (&w.app, t.clone());
        async move {
            let (s, v) = app.call(&t, "GET", &format!("/customers?{q}"), None).await;
            assert_eq!(s, 200, "{q}: {v}");
            v
        }
    };
    assert_eq!(
        ids(&get("p_alive_below=0.5&sort=purchase").await),
        [w.hefei, w.changzhou]
    );
    assert_eq!(
        ids(&get("sort=p_alive").await),
        [w.hefei, w.changzhou, w.jinan]
    );
    assert_eq!(ids(&get("rfm=important_keep").await), [w.changzhou]);
    assert_eq!(
        ids(&get("no_purchase_days=90&sort=purchase").await),
        [w.hefei, w.changzhou]
    );
    assert_eq!(
        ids(&get("no_follow_up_days=30").await).len(),
        3,
        "never followed up"
    );
    assert_eq!(ids(&get("mine=true&region=山东").await), [w.jinan]);
    let v = get("sort=purchase").await;
    assert!(v["items"][0]["last_order_at"].is_string(), "{v}");
    // Two words: each must match.
    assert_eq!(
        ids(&get("q=%E6%B1%9F%E8%8B%8F%20%E9%92%A2%E4%B8%9A").await),
        [w.changzhou],
        "江苏 钢业"
    );
    assert_eq!(ids(&get("q=gangye%20ah").await), [w.hefei], "gangye ah");
    assert!(ids(&get("q=%E6%B1%9F%E8%8B%8F%20%E9%A3%9F%E5%93%81").await).is_empty());
    // Refusals name the field.
    for (q, field) in [
        ("p_alive_below=2", "p_alive_below"),
        ("no_purchase_days=-1", "no_purchase_days"),
        ("sort=bogus", "sort"),
        ("q=a%20b%20c%20d%20e%20f%20g%20h%20i", "q"),
    ] {
        let (s, e) = w
            .app
            .call(&t, "GET", &format!("/customers?{q}"), None)
            .await;
        assert_eq!(s, 422, "{q}: {e}");
        assert_eq!(e["details"]["fields"][0]["field"], field, "{e}");
    }
    // The facets: the provinces of the caller's customers.
    let (s, f) = w.app.call(&t, "GET", "/customers/facets", None).await;
    assert_eq!(s, 200);
    let provinces: Vec<&str> = f["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for p in ["安徽", "江苏", "山东"] {
        assert!(provinces.contains(&p), "{f}");
    }
    assert_eq!(f["tags"], json!(["老客户"]));
    let other = w.app.login("lilei").await;
    let (_, f) = w.app.call(&other, "GET", "/customers/facets", None).await;
    assert_eq!(
        f["provinces"],
        json!([]),
        "another manager's customers are not theirs"
    );
    let _ = w.manager;
}

#[tokio::test]
async fn the_pool_rules_are_a_setting_the_claim_limit_and_the_release_use() {
    let w = world().await;
    let (admin, manager) = (w.app.login("boss").await, w.app.login("wangfang").await);
    let (s, r) = w.app.call(&manager, "GET", "/pool/rules", None).await;
    assert_eq!(
        (s, &r["default_days"], &r["max_owned"]),
        (200, &json!(30), &json!(300))
    );
    let rules = json!({"default_days": 10, "days_by_class": {"A": 60}, "max_owned": 3});
    assert_eq!(
        w.app
            .call(&manager, "PUT", "/pool/rules", Some(rules.clone()))
            .await
            .0,
        403
    );
    let (s, e) = w
        .app
        .call(
            &admin,
            "PUT",
            "/pool/rules",
            Some(json!({"default_days": 0, "days_by_class": {"E": 5}, "max_owned": 3})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let fields: Vec<&str> = e["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["default_days", "days_by_class.E"]);
    let (s, r) = w
        .app
        .call(&admin, "PUT", "/pool/rules", Some(rules.clone()))
        .await;
    assert_eq!((s, &r), (200, &rules));
    assert_eq!(
        w.app.call(&manager, "GET", "/pool/rules", None).await.1,
        rules
    );
    let (_, audit) = w.app.call(&admin, "GET", "/audit", None).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["entity"] == "pool_rules" && a["detail"]["new"] == rules),
        "{audit}"
    );

    // The manager owns 3: the new limit refuses a claim.
    let (_, c) = w
        .app
        .call(
            &admin,
            "POST",
            "/customers",
            Some(json!({"name": "公海客户", "owner_id": null})),
        )
        .await;
    let pooled = c["id"].as_i64().unwrap();
    let (s, e) = w
        .app
        .call(
            &manager,
            "POST",
            &format!("/customers/{pooled}/claim"),
            None,
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["message"].as_str().unwrap().contains("上限 3"), "{e}");

    // The release job reads the stored days: 10 days on, the manager's
    // customers (no follow-up) go back to the pool; not 5 days on.
    let system = keqing_app::system_user();
    let grants = keqing_domain::access::Grants::default();
    let now = chrono::Utc::now();
    let early = keqing_app::pool::release_stale(
        w.app.store.as_ref(),
        &grants,
        now + chrono::Duration::days(5),
        &system,
    )
    .await
    .unwrap();
    assert!(early.is_empty(), "{early:?}");
    let later = keqing_app::pool::release_stale(
        w.app.store.as_ref(),
        &grants,
        now + chrono::Duration::days(11),
        &system,
    )
    .await
    .unwrap();
    assert!(
        later.contains(&w.hefei) && later.contains(&w.jinan),
        "{later:?}"
    );
}

#[tokio::test]
async fn release_by_hand_and_transfer_need_a_reason_and_keep_it() {
    let w = world().await;
    let (manager, other, sup) = (
        w.app.login("wangfang").await,
        w.app.login("lilei").await,
        w.app.login("chenjing").await,
    );
    let lilei = w.app.store.user_by_name("lilei").await.unwrap().unwrap().0;
    // No reason, or not theirs: refused, nothing released.
    let (s, e) = w
        .app
        .call(
            &manager,
            "POST",
            "/customers/release",
            Some(json!({"ids": [w.hefei], "reason": " "})),
        )
        .await;
    assert_eq!(
        (s, &e["details"]["fields"][0]["field"]),
        (422, &json!("reason")),
        "{e}"
    );
    assert_eq!(
        w.app
            .call(
                &other,
                "POST",
                "/customers/release",
                Some(json!({"ids": [w.hefei], "reason": "不是我的"}))
            )
            .await
            .0,
        403
    );
    let (s, r) = w
        .app
        .call(
            &manager,
            "POST",
            "/customers/release",
            Some(json!({"ids": [w.hefei], "reason": "客户已停业"})),
        )
        .await;
    assert_eq!((s, &r), (200, &json!({"released": [w.hefei]})));
    let (_, log) = w
        .app
        .call(
            &sup,
            "GET",
            &format!("/customers/{}/ownership", w.hefei),
            None,
        )
        .await;
    let last = log["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["reason"], &last["note"], &last["to_user"]),
        (&json!("release"), &json!("客户已停业"), &Value::Null)
    );

    // A transfer needs a reason (after the checks of who may).
    let body = |reason: Value| json!({"ids": [w.changzhou, w.jinan], "to_user": lilei.id, "reason": reason});
    let (s, e) = w
        .app
        .call(&sup, "POST", "/customers/transfer", Some(body(Value::Null)))
        .await;
    assert_eq!(
        (s, &e["details"]["fields"][0]["field"]),
        (422, &json!("reason")),
        "{e}"
    );
    let (s, r) = w
        .app
        .call(
            &sup,
            "POST",
            "/customers/transfer",
            Some(body(json!("区域调整"))),
        )
        .await;
    assert_eq!((s, &r["transferred"]), (200, &json!(2)), "{r}");
    let (_, log) = w
        .app
        .call(
            &sup,
            "GET",
            &format!("/customers/{}/ownership", w.jinan),
            None,
        )
        .await;
    let last = log["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["reason"], &last["note"]),
        (&json!("transfer"), &json!("区域调整"))
    );
    let (_, audit) = w
        .app
        .call(&w.app.login("boss").await, "GET", "/audit", None)
        .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "release" && a["detail"]["reason"] == "客户已停业"),
        "{audit}"
    );
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "transfer" && a["detail"]["reason"] == "区域调整"),
        "{audit}"
    );
}
