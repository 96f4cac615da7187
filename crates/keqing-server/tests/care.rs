//! Relationship care over HTTP (SPEC §4): generation, the task list and its
//! scope, completing / skipping / snoozing, templates, settings, compliance.

mod common;

use common::App;
use keqing_domain::{ContactInput, CustomerInput, NewActivity, Role, User};
use serde_json::{json, Value};

fn customer(v: Value) -> CustomerInput {
    CustomerInput::from_json(v.as_object().unwrap()).unwrap()
}

fn contact(v: Value) -> ContactInput {
    ContactInput::from_json(v.as_object().unwrap()).unwrap()
}

fn activity(v: Value) -> NewActivity {
    NewActivity::from_json(v.as_object().unwrap()).unwrap()
}

struct World {
    app: App,
    admin: User,
    a1: User,
    b: User,
    /// a1's customer, its contacts 张总 (lunar birthday 08-15) and 李工.
    cust_a1: i64,
    zhang: i64,
    li: i64,
    cust_a2: i64,
    cust_b: i64,
}

async fn world() -> World {
    let app = App::start().await;
    let team_a = app.store.create_team("南京一部", None).await.unwrap();
    let team_b = app.store.create_team("杭州二部", None).await.unwrap();
    let admin = app.user("admin", Role::Admin, None).await;
    app.user("sup_a", Role::Supervisor, Some(team_a.id)).await;
    let a1 = app.user("wangfang", Role::Manager, Some(team_a.id)).await;
    let a2 = app.user("zhaolei", Role::Manager, Some(team_a.id)).await;
    let b = app.user("lijun", Role::Manager, Some(team_b.id)).await;
    let s = &app.store;
    // The fixture's history is in 2026: everyone has worked since January.
    let january = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    for u in [&a1, &a2, &b] {
        s.set_user_since(u.id, january).await.unwrap();
    }
    let c1 = s
        .create_customer(
            &customer(json!({"name": "华东机电有限公司", "business_stage": "existing"})),
            Some(a1.id),
            &admin,
        )
        .await
        .unwrap();
    let zhang = s
        .create_contact(
            c1.id,
            &contact(json!({"name": "张伟", "title": "总经理", "level": "decision_maker", "birthday": "农历08-15"})),
            &admin,
        )
        .await
        .unwrap();
    let li = s
        .create_contact(
            c1.id,
            &contact(json!({"name": "李工", "level": "executor"})),
            &admin,
        )
        .await
        .unwrap();
    let c2 = s
        .create_customer(
            &customer(json!({"name": "金陵建材商行"})),
            Some(a2.id),
            &admin,
        )
        .await
        .unwrap();
    let c3 = s
        .create_customer(
            &customer(json!({"name": "西湖茶业有限公司"})),
            Some(b.id),
            &admin,
        )
        .await
        .unwrap();
    s.create_contact(c3.id, &contact(json!({"name": "陈经理"})), &admin)
        .await
        .unwrap();
    // A pool customer: no owner, no tasks.
    s.create_customer(&customer(json!({"name": "公海贸易公司"})), None, &admin)
        .await
        .unwrap();
    World {
        app,
        admin,
        a1,
        b,
        cust_a1: c1.id,
        zhang: zhang.id,
        li: li.id,
        cust_a2: c2.id,
        cust_b: c3.id,
    }
}

async fn tasks(app: &App, token: &str, query: &str) -> Vec<Value> {
    let (st, body) = app
        .call(token, "GET", &format!("/care/tasks?{query}"), None)
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["total"].as_u64().unwrap() as usize,
        body["items"].as_array().unwrap().len()
    );
    body["items"].as_array().unwrap().clone()
}

fn occasion_ids(t: &Value) -> Vec<String> {
    t["occasions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r["reason"].as_str().unwrap() {
            "occasion" => r["occasion"].as_str().unwrap().to_string(),
            other => other.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn lunar_birthday_on_mid_autumn_is_one_task_and_a_rerun_adds_nothing() {
    let w = world().await;
    let admin = w.app.login("admin").await;
    let (st, r) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    // Mid-Autumn 2026 is 2026-09-25: every contact of an owned customer, and
    // the contact-less customer of a2, gets a greeting; the pool gets none.
    assert_eq!(r["created"]["greeting"], 4, "{r}");
    let (_, again) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    assert_eq!(again["created"]["greeting"], 0, "{again}");
    assert_eq!(again["planned"]["greeting"], 4, "{again}");
    assert!(again["created"]
        .as_object()
        .unwrap()
        .values()
        .all(|v| v == 0));

    let all = tasks(
        &w.app,
        &admin,
        "from=2026-09-25&to=2026-09-25&kind=greeting",
    )
    .await;
    assert_eq!(all.len(), 4);
    let zhang: Vec<&Value> = all.iter().filter(|t| t["contact_id"] == w.zhang).collect();
    assert_eq!(zhang.len(), 1, "both occasions in ONE task");
    let t = zhang[0];
    assert_eq!(t["date"], "2026-09-25");
    let ids = occasion_ids(t);
    assert!(ids.contains(&"mid_autumn".to_string()), "{ids:?}");
    assert!(ids.contains(&"birthday".to_string()), "{ids:?}");
    assert_eq!(t["customer_id"], w.cust_a1);
    // A decision maker of an existing customer: a respectful visit.
    assert_eq!(t["channel"], "visit");
    let msg = t["message"].as_str().unwrap();
    assert!(msg.starts_with("张伟"), "{msg}");
    assert!(msg.contains("中秋节"), "{msg}");
    assert!(msg.ends_with("客情演示商贸有限公司 wangfang"), "{msg}");
    // The pool customer has none.
    assert!(all
        .iter()
        .all(|t| [w.cust_a1, w.cust_a2, w.cust_b].contains(&t["customer_id"].as_i64().unwrap())));

    // The CLI's and the daily job's function is the same one: nothing new.
    let r = keqing_app::care::generate(
        w.app.store.as_ref(),
        "2026-09-25".parse().unwrap(),
        "2026-09-25".parse().unwrap(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(r.total_created(), 0);
}

#[tokio::test]
async fn a_manager_sees_only_their_own_tasks() {
    let w = world().await;
    let admin = w.app.login("admin").await;
    let (st, _) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-10-01&to=2026-10-01",
            None,
        )
        .await;
    assert_eq!(st, 200);
    let a1 = w.app.login("wangfang").await;
    let b = w.app.login("lijun").await;
    let sup = w.app.login("sup_a").await;
    let mine = tasks(&w.app, &a1, "from=2026-10-01&to=2026-10-01").await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|t| t["owner_id"] == w.a1.id), "{mine:?}");
    // Asking for another manager's tasks gives nothing.
    let other = tasks(
        &w.app,
        &a1,
        &format!("from=2026-10-01&to=2026-10-01&owner={}", w.b.id),
    )
    .await;
    assert!(other.is_empty());
    let theirs = tasks(&w.app, &b, "from=2026-10-01&to=2026-10-01").await;
    assert!(theirs.iter().all(|t| t["owner_id"] == w.b.id));
    assert!(theirs.iter().all(|t| t["customer_id"] != w.cust_a1));
    // Nor can they act on one.
    let id = mine[0]["id"].as_i64().unwrap();
    let (st, _) = w
        .app
        .call(&b, "POST", &format!("/care/tasks/{id}/complete"), None)
        .await;
    assert_eq!(st, 404);
    // The supervisor sees the team (a1 and a2), not team B.
    let team = tasks(&w.app, &sup, "from=2026-10-01&to=2026-10-01").await;
    assert!(team.iter().any(|t| t["customer_id"] == w.cust_a2));
    assert!(team.iter().all(|t| t["owner_id"] != w.b.id));
    // The director and the administrator see all.
    let all = tasks(&w.app, &admin, "from=2026-10-01&to=2026-10-01").await;
    assert!(all.iter().any(|t| t["customer_id"] == w.cust_b));
    // Only supervisors and above run generation.
    let (st, _) = w
        .app
        .call(&a1, "POST", "/care/run?from=2026-10-01&to=2026-10-01", None)
        .await;
    assert_eq!(st, 403);
    let (st, _) = w
        .app
        .call(
            &sup,
            "POST",
            "/care/run?from=2026-10-01&to=2026-10-01",
            None,
        )
        .await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn completing_twice_logs_one_activity_and_skip_needs_a_reason() {
    let w = world().await;
    let admin = w.app.login("admin").await;
    w.app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    let a1 = w.app.login("wangfang").await;
    let mine = tasks(&w.app, &a1, "from=2026-09-25&to=2026-09-25&kind=greeting").await;
    let zhang = mine.iter().find(|t| t["contact_id"] == w.zhang).unwrap();
    let id = zhang["id"].as_i64().unwrap();
    let before = w.app.store.activities(w.cust_a1).await.unwrap().len();

    // Completing asks how it was done: no channel, nothing logged.
    let (st, refused) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{id}/complete"),
            Some(json!({"summary": "登门拜访，送上月饼"})),
        )
        .await;
    assert_eq!(st, 422, "{refused}");
    assert_eq!(
        refused["details"]["fields"][0]["field"], "channel",
        "{refused}"
    );
    let (st, refused) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{id}/complete"),
            Some(json!({"channel": "gift"})),
        )
        .await;
    assert_eq!(st, 422, "a gift is not a way to greet: {refused}");
    assert_eq!(
        w.app.store.activities(w.cust_a1).await.unwrap().len(),
        before,
        "a refused completion logs nothing"
    );
    let (st, first) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{id}/complete"),
            Some(json!({"channel": "visit", "summary": "登门拜访，送上月饼"})),
        )
        .await;
    assert_eq!(st, 200, "{first}");
    assert_eq!(first["status"], "done");
    let act = first["activity_id"].as_i64().unwrap();
    let (st, second) = w
        .app
        .call(&a1, "POST", &format!("/care/tasks/{id}/complete"), None)
        .await;
    assert_eq!(st, 200, "{second}");
    assert_eq!(second["status"], "done");
    assert_eq!(second["activity_id"], act);
    let acts = w.app.store.activities(w.cust_a1).await.unwrap();
    assert_eq!(acts.len(), before + 1, "one activity for two completions");
    let logged = acts.iter().find(|a| a.id == act).unwrap();
    assert_eq!(
        logged.fields.kind.as_str(),
        "visit",
        "the channel named → the activity's kind"
    );
    assert_eq!(logged.fields.summary.as_deref(), Some("登门拜访，送上月饼"));
    assert_eq!(logged.fields.contact_id, Some(w.zhang));
    assert_eq!(logged.user_id, Some(w.a1.id));
    let (_, timeline) = w
        .app
        .call(
            &a1,
            "GET",
            &format!("/customers/{}/activities", w.cust_a1),
            None,
        )
        .await;
    assert_eq!(timeline["items"].as_array().unwrap().len(), before + 1);
    // A done task is final.
    let (st, _) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{id}/skip"),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(st, 409);

    let li = mine.iter().find(|t| t["contact_id"] == w.li).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (st, e) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{li}/skip"),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    let (st, e) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{li}/snooze"),
            Some(json!({"until": "2026-09-27"})),
        )
        .await;
    // Snoozing must move the task to a later day than today (2026-11-23 or after).
    assert_eq!(st, 422, "{e}");
    let (st, snoozed) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{li}/snooze"),
            Some(json!({"until": "2099-01-02"})),
        )
        .await;
    assert_eq!(st, 200, "{snoozed}");
    assert_eq!(
        (
            snoozed["status"].as_str(),
            snoozed["snoozed_until"].as_str()
        ),
        (Some("snoozed"), Some("2099-01-02"))
    );
    let (st, skipped) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{li}/skip"),
            Some(json!({"reason": "客户出国"})),
        )
        .await;
    assert_eq!(st, 200, "{skipped}");
    assert_eq!(
        (skipped["status"].as_str(), skipped["reason"].as_str()),
        (Some("skipped"), Some("客户出国"))
    );
    let done = tasks(&w.app, &a1, "from=2026-09-25&to=2026-09-25&status=done").await;
    assert_eq!(done.len(), 1);
}

#[tokio::test]
async fn a_deleted_contact_leaves_no_broken_task() {
    let w = world().await;
    let admin = w.app.login("admin").await;
    w.app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    let a1 = w.app.login("wangfang").await;
    let before = tasks(&w.app, &a1, "from=2026-09-25&to=2026-09-25&kind=greeting").await;
    let li_task = before.iter().find(|t| t["contact_id"] == w.li).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (st, _) = w
        .app
        .call(&admin, "DELETE", &format!("/contacts/{}", w.li), None)
        .await;
    assert!(st == 200 || st == 204, "{st}");
    let after = tasks(&w.app, &a1, "from=2026-09-25&to=2026-09-25&kind=greeting").await;
    assert_eq!(after.len(), before.len() - 1);
    assert!(after.iter().all(|t| t["contact_id"] != w.li));
    let (st, _) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{li_task}/complete"),
            None,
        )
        .await;
    assert_eq!(st, 404);
    // A re-run plans nothing for the deleted contact.
    let (_, r) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    assert_eq!(r["planned"]["greeting"], 3, "{r}");
    assert_eq!(r["created"]["greeting"], 0, "{r}");
}

#[tokio::test]
async fn templates_need_the_signature_and_settings_are_for_administrators() {
    let w = world().await;
    let admin = w.app.login("admin").await;
    let a1 = w.app.login("wangfang").await;
    let (st, e) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/templates",
            Some(json!({"name": "国庆", "body": "{联系人}您好，国庆快乐！"})),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["code"], "invalid");
    assert!(e["message"].as_str().unwrap().contains("署名"), "{e}");
    assert_eq!(e["details"]["fields"][0]["field"], "body", "{e}");
    assert!(
        e["details"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("祝福语须以“公司名称 + 个人姓名”署名结尾"),
        "{e}"
    );
    let (st, t) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/templates",
            Some(json!({"name": "国庆", "occasion": "national_day", "body": "{联系人}{职务}您好！{节日}快乐，感谢{客户名称}的支持！——{公司名称} {经理姓名}"})),
        )
        .await;
    assert_eq!(st, 201, "{t}");
    let tid = t["id"].as_i64().unwrap();
    let (st, e) = w
        .app
        .call(
            &admin,
            "PATCH",
            &format!("/care/templates/{tid}"),
            Some(json!({"body": "没有署名"})),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    let (st, _) = w
        .app
        .call(
            &a1,
            "POST",
            "/care/templates",
            Some(json!({"name": "x", "body": "{公司名称} {经理姓名}"})),
        )
        .await;
    assert_eq!(st, 403);
    let (_, list) = w.app.call(&a1, "GET", "/care/templates", None).await;
    assert_eq!(list["total"], 1);

    // Settings: administrators only, checked.
    let (st, _) = w
        .app
        .call(
            &a1,
            "PUT",
            "/care/settings",
            Some(json!({"company_name": "x"})),
        )
        .await;
    assert_eq!(st, 403);
    let (st, e) = w
        .app
        .call(
            &admin,
            "PUT",
            "/care/settings",
            Some(json!({"frequency_cap": {"max_contacts": 0, "period_days": 7}})),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    let (st, e) = w
        .app
        .call(
            &admin,
            "PUT",
            "/care/settings",
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    let (st, s) = w
        .app
        .call(&admin, "PUT", "/care/settings", Some(json!({"company_name": "南京客情科技有限公司", "daily_quota": {"new_customer_visits": 1, "existing_customer_visits": 1, "calls": 2}})))
        .await;
    assert_eq!(st, 200, "{s}");
    let (_, s) = w.app.call(&a1, "GET", "/care/settings", None).await;
    assert_eq!(s["company_name"], "南京客情科技有限公司");
    assert_eq!(s["daily_quota"]["calls"], 2);
    assert_eq!(s["frequency_cap"]["max_contacts"], 3);
    assert!(s["cadence_standards"].as_array().unwrap().len() >= 4);

    // The template and the company name sign the National Day greetings.
    w.app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-10-01&to=2026-10-01",
            None,
        )
        .await;
    let mine = tasks(&w.app, &a1, "from=2026-10-01&to=2026-10-01&kind=greeting").await;
    let zhang = mine.iter().find(|t| t["contact_id"] == w.zhang).unwrap();
    assert_eq!(
        zhang["message"],
        "张伟总经理您好！国庆节快乐，感谢华东机电有限公司的支持！——南京客情科技有限公司 wangfang"
    );
    let quota = tasks(&w.app, &a1, "from=2026-10-01&to=2026-10-01&kind=quota").await;
    assert_eq!(quota.len(), 1, "2026-10-01 is a Thursday");
    assert!(quota[0]["message"].as_str().unwrap().contains("电话2次"));

    let (st, _) = w
        .app
        .call(&admin, "DELETE", &format!("/care/templates/{tid}"), None)
        .await;
    assert_eq!(st, 204);
    let (st, _) = w
        .app
        .call(&admin, "DELETE", &format!("/care/templates/{tid}"), None)
        .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn compliance_on_a_small_fixture() {
    let w = world().await;
    let s = &w.app.store;
    // Two A-class customers of a1: at least one help a week (000 item 4).
    let x = s
        .create_customer(
            &customer(json!({"name": "甲类客户一", "class": "A", "business_stage": "existing"})),
            Some(w.a1.id),
            &w.admin,
        )
        .await
        .unwrap();
    let y = s
        .create_customer(
            &customer(json!({"name": "甲类客户二", "class": "A"})),
            Some(w.a1.id),
            &w.admin,
        )
        .await
        .unwrap();
    // Wednesday 2026-11-25 (Beijing): a help for X, a visit and a call at the existing customer.
    s.add_activity(x.id, &activity(json!({"kind": "help", "help_kind": "advice", "matter": "company", "at": "2026-11-25T02:00:00Z"})), &w.a1)
        .await
        .unwrap();
    s.add_activity(
        w.cust_a1,
        &activity(json!({"kind": "visit", "at": "2026-11-25T03:00:00Z"})),
        &w.a1,
    )
    .await
    .unwrap();
    s.add_activity(
        w.cust_a1,
        &activity(json!({"kind": "call", "at": "2026-11-25T04:00:00Z"})),
        &w.a1,
    )
    .await
    .unwrap();
    let a1 = w.app.login("wangfang").await;
    let (st, r) = w
        .app
        .call(
            &a1,
            "GET",
            "/care/compliance?from=2026-11-25&to=2026-11-29",
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let managers = r["managers"].as_array().unwrap();
    assert_eq!(managers.len(), 1, "a manager sees only themself");
    let m = &managers[0];
    assert_eq!(m["manager_id"], w.a1.id);
    // Week of 11-23..11-29: one help due by Sunday for each of X and Y; X had it.
    assert_eq!(m["cadence"]["due"], 2, "{m}");
    assert_eq!(m["cadence"]["made"], 1, "{m}");
    assert_eq!(m["cadence"]["share"], 0.5);
    assert_eq!(m["cadence"]["customers_behind"], json!([y.id]));
    // Each line behind says what counts and in which period ("my day" shows it).
    let line = &m["cadence"]["lines_behind"][0];
    assert_eq!(
        (
            &line["customer_id"],
            &line["counted"],
            &line["per"],
            &line["made"]
        ),
        (&json!(y.id), &json!("help"), &json!("week"), &json!(0)),
        "{line}"
    );
    // Quota (2 + 3 + 4 a working day): Wed, Thu, Fri → 27 due; 1 visit + 1 call made.
    assert_eq!(m["quota"]["required"], 27, "{m}");
    assert_eq!(m["quota"]["made"], 2);
    let days = m["quota"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 5);
    assert_eq!(days[0]["date"], "2026-11-25");
    assert_eq!(days[0]["existing_customer_visits"], json!([3, 1]));
    assert_eq!(days[0]["calls"], json!([4, 1]));
    assert_eq!(days[3]["working_day"], false);

    // The supervisor sees the team: a1 and a2, one team row.
    let sup = w.app.login("sup_a").await;
    let (_, r) = w
        .app
        .call(
            &sup,
            "GET",
            "/care/compliance?from=2026-11-25&to=2026-11-29",
            None,
        )
        .await;
    assert_eq!(r["managers"].as_array().unwrap().len(), 2, "{r}");
    let teams = r["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 1);
    assert_eq!(teams[0]["name"], "南京一部");
    assert_eq!(teams[0]["cadence"]["customers_behind"], json!([y.id]));
    assert_eq!(teams[0]["quota"]["due"], 54);
    assert_eq!(teams[0]["quota"]["made"], 2);
}

#[tokio::test]
async fn a_day_without_a_festival_greets_birthdays_and_key_dates() {
    let w = world().await;
    let s = &w.app.store;
    let day: chrono::NaiveDate = "2026-11-23".parse().unwrap();
    // A company anniversary greets each of its contacts.
    let k = s
        .create_customer(
            &customer(json!({"name": "钟山纪念品公司", "key_dates": [{"name": "成立纪念日", "date": "2010-11-23"}]})),
            Some(w.a1.id),
            &w.admin,
        )
        .await
        .unwrap();
    for name in ["孙一", "孙二"] {
        s.create_contact(k.id, &contact(json!({"name": name})), &w.admin)
            .await
            .unwrap();
    }
    // A solar birthday, a lunar birthday on the day's lunar date, and one in the pool.
    let solar = s
        .create_contact(
            w.cust_b,
            &contact(json!({"name": "周阳", "birthday": "1990-11-23"})),
            &w.admin,
        )
        .await
        .unwrap();
    let l = keqing_care::lunar::LunarDate::from_solar(day).unwrap();
    let lunar_text = format!(
        "农历{}{:02}-{:02}",
        if l.is_leap() { "闰" } else { "" },
        l.month(),
        l.day()
    );
    let lunar = s
        .create_contact(
            w.cust_a2,
            &contact(json!({"name": "吴月", "birthday": lunar_text})),
            &w.admin,
        )
        .await
        .unwrap();
    let pool = s
        .create_customer(&customer(json!({"name": "公海礼品店"})), None, &w.admin)
        .await
        .unwrap();
    s.create_contact(
        pool.id,
        &contact(json!({"name": "郑海", "birthday": "11-23"})),
        &w.admin,
    )
    .await
    .unwrap();

    let admin = w.app.login("admin").await;
    let (st, r) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-11-23&to=2026-11-23",
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["created"]["greeting"], 4, "{r}");
    let all = tasks(
        &w.app,
        &admin,
        "from=2026-11-23&to=2026-11-23&kind=greeting",
    )
    .await;
    let of_k: Vec<&Value> = all.iter().filter(|t| t["customer_id"] == k.id).collect();
    assert_eq!(of_k.len(), 2);
    assert!(of_k.iter().all(|t| occasion_ids(t) == ["key_date"]));
    let b = all.iter().find(|t| t["contact_id"] == solar.id).unwrap();
    assert_eq!(occasion_ids(b), ["birthday"]);
    let m = all.iter().find(|t| t["contact_id"] == lunar.id).unwrap();
    assert_eq!(occasion_ids(m), ["birthday"]);
    assert!(all.iter().all(|t| t["customer_id"] != pool.id));
}

#[tokio::test]
async fn open_tasks_follow_their_customer_to_the_new_owner() {
    let w = world().await;
    let admin = w.app.login("admin").await;
    let (st, _) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    assert_eq!(st, 200);
    let a1 = w.app.login("wangfang").await;
    let b = w.app.login("lijun").await;
    let q = "from=2026-09-25&to=2026-09-25&kind=greeting";
    let mine = tasks(&w.app, &a1, q).await;
    let id_of = |list: &[Value], contact: i64| {
        list.iter().find(|t| t["contact_id"] == contact).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (zhang, li) = (id_of(&mine, w.zhang), id_of(&mine, w.li));
    // a1 greets 李工, then the customer is handed to b.
    let (st, _) = w
        .app
        .call(
            &a1,
            "POST",
            &format!("/care/tasks/{li}/complete"),
            Some(json!({"channel": "wechat"})),
        )
        .await;
    assert_eq!(st, 200);
    // Without a note, the timeline says what was sent: the greeting itself.
    let greeting = mine.iter().find(|t| t["id"] == li).unwrap()["message"].clone();
    let sent = w.app.store.activities(w.cust_a1).await.unwrap();
    let sent = sent
        .iter()
        .find(|a| a.fields.kind.as_str() == "wechat")
        .unwrap();
    assert_eq!(sent.fields.summary.as_deref(), greeting.as_str());
    let (st, r) = w
        .app
        .call(
            &admin,
            "POST",
            "/customers/transfer",
            Some(json!({"ids": [w.cust_a1], "to_user": w.b.id, "reason": "调岗"})),
        )
        .await;
    assert_eq!(st, 200, "{r}");

    // b has the open greeting, signed by b now; a1 keeps only what she did.
    let theirs = tasks(&w.app, &b, q).await;
    let z = theirs.iter().find(|t| t["id"] == zhang).unwrap();
    assert_eq!(z["owner_id"], w.b.id);
    assert_eq!(z["status"], "open");
    assert!(
        z["message"]
            .as_str()
            .unwrap()
            .ends_with("客情演示商贸有限公司 lijun"),
        "{z}"
    );
    assert!(theirs.iter().all(|t| t["id"] != li));
    let mine = tasks(&w.app, &a1, q).await;
    assert_eq!(
        mine.iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![li],
        "{mine:?}"
    );
    assert_eq!(mine[0]["owner_id"], w.a1.id);
    let (st, _) = w
        .app
        .call(&a1, "POST", &format!("/care/tasks/{zhang}/complete"), None)
        .await;
    assert_eq!(st, 404, "not a1's task any more");
    let (st, done) = w
        .app
        .call(
            &b,
            "POST",
            &format!("/care/tasks/{zhang}/complete"),
            Some(json!({"channel": "call", "summary": "电话问候"})),
        )
        .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["owner_id"], w.b.id);
    // Compliance credits each with their own greeting.
    let (_, r) = w
        .app
        .call(
            &admin,
            "GET",
            "/care/compliance?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    let done_ids = |m: i64| {
        r["managers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["manager_id"] == m)
            .unwrap()["tasks"]["done_task_ids"]
            .clone()
    };
    assert_eq!(done_ids(w.a1.id), json!([li]));
    assert_eq!(done_ids(w.b.id), json!([zhang]));
    // Planning the day again finds every task where it is.
    let (_, again) = w
        .app
        .call(
            &admin,
            "POST",
            "/care/run?from=2026-09-25&to=2026-09-25",
            None,
        )
        .await;
    assert_eq!(again["created"]["greeting"], 0, "{again}");
}

#[tokio::test]
async fn the_frequency_cap_counts_the_tasks_already_planned() {
    let w = world().await;
    let admin = w.app.login("admin").await;
    // At most one contact day a week.
    let (st, _) = w
        .app
        .call(
            &admin,
            "PUT",
            "/care/settings",
            Some(json!({"frequency_cap": {"max_contacts": 1, "period_days": 7}})),
        )
        .await;
    assert_eq!(st, 200);
    let run = |day: &'static str| {
        let (app, admin) = (&w.app, admin.clone());
        async move {
            let (st, r) = app
                .call(
                    &admin,
                    "POST",
                    &format!("/care/run?from={day}&to={day}"),
                    None,
                )
                .await;
            assert_eq!(st, 200, "{r}");
            r
        }
    };
    // Mid-Autumn greets 陈经理 of 西湖茶业 on 09-25 (an open task, nothing
    // logged yet).
    let r = run("2026-09-25").await;
    assert_eq!(r["created"]["greeting"], 4, "{r}");
    // A colleague of his has a birthday three days later: inside the week,
    // so the cap drops it: the planned greeting counts as a contact.
    let zhou = w
        .app
        .store
        .create_contact(
            w.cust_b,
            &contact(json!({"name": "周敏", "birthday": "09-28"})),
            &w.admin,
        )
        .await
        .unwrap();
    let r = run("2026-09-28").await;
    assert_eq!(r["created"]["greeting"], 0, "{r}");
    assert_eq!(r["dropped_by_cap"], 1, "{r}");
    // A birthday in another customer's week is not held back.
    let sun = w
        .app
        .store
        .create_customer(
            &customer(json!({"name": "紫金山茶社"})),
            Some(w.b.id),
            &w.admin,
        )
        .await
        .unwrap();
    w.app
        .store
        .create_contact(
            sun.id,
            &contact(json!({"name": "吴宁", "birthday": "09-28"})),
            &w.admin,
        )
        .await
        .unwrap();
    let r = run("2026-09-28").await;
    assert_eq!(r["created"]["greeting"], 1, "{r}");
    assert_eq!(r["dropped_by_cap"], 1, "{r}");
    // Skipped, the Mid-Autumn greeting contacts nobody: the birthday now fits.
    let b = w.app.login("lijun").await;
    let chen = tasks(&w.app, &b, "from=2026-09-25&to=2026-09-25&kind=greeting").await;
    let chen = chen.iter().find(|t| t["customer_id"] == w.cust_b).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (st, _) = w
        .app
        .call(
            &b,
            "POST",
            &format!("/care/tasks/{chen}/skip"),
            Some(json!({"reason": "客户出国"})),
        )
        .await;
    assert_eq!(st, 200);
    let r = run("2026-09-28").await;
    assert_eq!(r["created"]["greeting"], 1, "{r}");
    assert_eq!(r["dropped_by_cap"], 0, "{r}");
    let on_28 = tasks(&w.app, &b, "from=2026-09-28&to=2026-09-28&kind=greeting").await;
    assert!(on_28.iter().any(|t| t["contact_id"] == zhou.id));
    // And the run is idempotent: its own tasks do not count against it.
    let r = run("2026-09-28").await;
    assert_eq!(r["created"]["greeting"], 0, "{r}");
    assert_eq!(r["dropped_by_cap"], 0, "{r}");
    let r = run("2026-09-25").await;
    assert_eq!(r["created"]["greeting"], 0, "{r}");
}

/// Issue 25: a user created today is not measured for the days before; a
/// user whose history came with them (backdated) is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_is_measured_from_the_day_they_started() {
    let app = App::start().await;
    let team = app.store.create_team("新组", None).await.unwrap();
    let new = app.user("xinren", Role::Manager, Some(team.id)).await;
    let old = app.user("laoshou", Role::Manager, Some(team.id)).await;
    app.user("boss", Role::Director, None).await;
    let today = keqing_app::care::local_date(chrono::Utc::now());
    let since = today - chrono::Days::new(30);
    app.store
        .set_user_since(old.id, since.and_hms_opt(0, 0, 0).unwrap().and_utc())
        .await
        .unwrap();
    let boss = app.login("boss").await;
    let from = today - chrono::Days::new(13);
    let (st, r) = app
        .call(
            &boss,
            "GET",
            &format!("/care/compliance?from={from}&to={today}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let of = |id: i64| {
        r["managers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["manager_id"] == id)
            .unwrap()
            .clone()
    };
    let (new_m, old_m) = (of(new.id), of(old.id));
    let days = |m: &Value| m["quota"]["days"].as_array().unwrap().clone();
    for d in days(&new_m) {
        let day: chrono::NaiveDate = d["date"].as_str().unwrap().parse().unwrap();
        assert_eq!(d["started"], day >= today, "{d}");
        if day < today {
            assert_eq!(d["required"], 0, "nothing before they started: {d}");
        }
    }
    let worked: u64 = days(&old_m)
        .iter()
        .filter(|d| d["working_day"] == true)
        .map(|d| d["required"].as_u64().unwrap())
        .sum();
    assert!(worked > 0, "the backdated user is measured: {old_m}");
    assert!(days(&old_m).iter().all(|d| d["started"] == true));
    // The team's required total is the old hand's and the new one's today.
    let team_row = r["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team_id"] == team.id)
        .unwrap();
    let today_new = days(&new_m).last().unwrap()["required"].as_u64().unwrap();
    assert_eq!(
        team_row["quota"]["due"].as_u64().unwrap(),
        worked + today_new
    );
}
