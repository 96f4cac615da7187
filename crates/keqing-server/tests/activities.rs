//! Logging an activity (issue 25): it must say what happened, not be in the
//! future, respect the customer's card on gifts (or say it did not), and may
//! set the next follow-up as a task on that day.

mod common;

use common::App;
use keqing_domain::{CustomerInput, Role};
use serde_json::{json, Value};

async fn customer(app: &App, owner: i64, admin: &keqing_domain::User, doc: Value) -> i64 {
    let input = CustomerInput::from_json(doc.as_object().unwrap()).unwrap();
    app.store
        .create_customer(&input, Some(owner), admin)
        .await
        .unwrap()
        .id
}

fn field(e: &Value) -> &str {
    e["details"]["fields"][0]["field"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_says_what_happened_respects_the_card_and_sets_a_follow_up() {
    let app = App::start().await;
    let team = app.store.create_team("一组", None).await.unwrap();
    let me = app.user("wangfang", Role::Manager, Some(team.id)).await;
    let admin = app.user("admin", Role::Admin, None).await;
    let strict = customer(
        &app,
        me.id,
        &admin,
        json!({"name": "严格钢业", "card": {"gifts_forbidden": true}}),
    )
    .await;
    let capped = customer(
        &app,
        me.id,
        &admin,
        json!({"name": "有度商贸", "card": {"gift_policy": "单笔不超过200元"}}),
    )
    .await;
    let token = app.login("wangfang").await;
    let log = |id: i64, body: Value| {
        let token = token.clone();
        let app = &app;
        async move {
            app.call(
                &token,
                "POST",
                &format!("/customers/{id}/activities"),
                Some(body),
            )
            .await
        }
    };

    // Nothing said: refused, nothing stored.
    let (st, e) = log(capped, json!({"kind": "visit"})).await;
    assert_eq!((st, field(&e)), (422, "summary"), "{e}");
    let (st, e) = log(capped, json!({"kind": "visit", "summary": "   "})).await;
    assert_eq!((st, field(&e)), (422, "summary"), "{e}");
    // Yesterday's visit may be logged today; tomorrow's may not.
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let (st, a) = log(
        capped,
        json!({"kind": "visit", "summary": "谈二期", "at": yesterday}),
    )
    .await;
    assert_eq!(st, 201, "{a}");
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (st, e) = log(
        capped,
        json!({"kind": "visit", "summary": "谈二期", "at": tomorrow}),
    )
    .await;
    assert_eq!((st, field(&e)), (422, "at"), "{e}");

    // A gift against the card is named before it is stored.
    let (st, e) = log(
        strict,
        json!({"kind": "gift", "gift_item": "茶叶", "gift_value": "100"}),
    )
    .await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["code"], "gift_against_card");
    assert_eq!(e["details"]["rule"], "forbidden");
    let (st, e) = log(
        capped,
        json!({"kind": "gift", "gift_item": "茶叶", "gift_value": "388"}),
    )
    .await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["details"]["rule"], "over_limit");
    assert_eq!(e["details"]["limit"], "200.00");
    assert_eq!(app.store.activities(strict).await.unwrap().len(), 0);
    let (st, ok) = log(
        capped,
        json!({"kind": "gift", "gift_item": "台历", "gift_value": "150"}),
    )
    .await;
    assert_eq!(st, 201, "within the policy: {ok}");
    assert!(ok.get("card_breach").is_none(), "{ok}");
    // Logged anyway, it says so.
    let (st, kept) = log(
        strict,
        json!({"kind": "gift", "gift_item": "茶叶", "gift_value": "100", "acknowledge_card": true}),
    )
    .await;
    assert_eq!(st, 201, "{kept}");
    assert_eq!(kept["card_breach"], "forbidden");
    // …and the compliance report lists it.
    let today = keqing_app::care::local_date(chrono::Utc::now());
    let (st, report) = app
        .call(
            &token,
            "GET",
            &format!("/care/compliance?from={today}&to={today}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{report}");
    let breaches = &report["managers"][0]["gift_breaches"];
    assert_eq!(breaches.as_array().unwrap().len(), 1, "{report}");
    assert_eq!(breaches[0]["customer_id"], strict);
    assert_eq!(breaches[0]["rule"], "forbidden");
    let (st, e) = log(
        capped,
        json!({"kind": "gift", "gift_item": "茶叶", "card_breach": "none"}),
    )
    .await;
    assert_eq!(
        (st, field(&e)),
        (422, "card_breach"),
        "the server sets it: {e}"
    );

    // The next follow-up becomes the owner's task on that day.
    let later = today + chrono::Days::new(3);
    let (st, e) = log(
        capped,
        json!({"kind": "call", "summary": "约下周看样品", "follow_up_on": (today - chrono::Days::new(1)).to_string()}),
    )
    .await;
    assert_eq!((st, field(&e)), (422, "follow_up_on"), "{e}");
    let (st, a) = log(
        capped,
        json!({"kind": "call", "summary": "约下周看样品", "follow_up_on": later.to_string()}),
    )
    .await;
    assert_eq!(st, 201, "{a}");
    let (st, list) = app
        .call(
            &token,
            "GET",
            &format!("/care/tasks?from={later}&to={later}&kind=follow_up"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["customer_id"], capped);
    assert_eq!(items[0]["owner_id"], me.id);
    assert_eq!(items[0]["channel"], "call");
    assert_eq!(items[0]["message"], "跟进：约下周看样品");
    // Done through a visit, it logs a visit.
    let id = items[0]["id"].as_i64().unwrap();
    let (st, done) = app
        .call(
            &token,
            "POST",
            &format!("/care/tasks/{id}/complete"),
            Some(json!({"channel": "visit", "summary": "看了样品，下单意向强"})),
        )
        .await;
    assert_eq!(st, 200, "{done}");
    let acts = app.store.activities(capped).await.unwrap();
    assert_eq!(acts[0].fields.kind.as_str(), "visit");
}
