//! An export of customers imports back through the API: customers with
//! several contacts each (lunar and solar birthdays, consent per channel)
//! leave one server as a workbook of two sheets, or as two CSV files, and
//! come into another through `/imports/customers` then `/imports/contacts`
//! as they were.

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

async fn download(app: &App, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let r = app
        .http
        .get(format!("{}/api/v1{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, r.bytes().await.unwrap().to_vec())
}

/// What a customer's contacts hold, as the API answers them, without ids
/// and times: comparable across servers.
async fn contacts_of(app: &App, token: &str, customer: i64) -> Vec<Value> {
    let (s, v) = app
        .call(
            token,
            "GET",
            &format!("/customers/{customer}/contacts"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            for k in ["id", "customer_id", "version", "created_at", "deleted_at"] {
                c.as_object_mut().unwrap().remove(k);
            }
            c
        })
        .collect()
}

/// The customers (by name) and their contacts a server holds.
async fn holdings(app: &App, token: &str) -> Vec<(String, Value, Vec<Value>)> {
    let (_, list) = app
        .call(token, "GET", "/customers?per_page=100", None)
        .await;
    let mut out = vec![];
    for c in list["items"].as_array().unwrap() {
        let id = c["id"].as_i64().unwrap();
        let (_, full) = app
            .call(token, "GET", &format!("/customers/{id}"), None)
            .await;
        let kept: Value = ["kind", "city", "external_code", "tags", "card"]
            .iter()
            .map(|k| (k.to_string(), full[k].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into();
        out.push((
            c["name"].as_str().unwrap().to_string(),
            kept,
            contacts_of(app, token, id).await,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn filled_server() -> (App, String) {
    let app = App::start().await;
    app.user("boss", Role::Admin, None).await;
    let t = app.login("boss").await;
    let customers = [
        json!({"name": "江苏恒远钢业有限公司", "kind": "公司", "city": "南京", "external_code": "91320100MA1XYZ1234",
        "tags": ["钢材", "重点"], "card": {"gifts_forbidden": true, "interests": "高尔夫"},
        "contacts": [
            {"name": "王伟", "mobile": "13812345678", "title": "总经理", "birthday": "农历闰04-30",
             "level": "decision_maker", "consent": {"phone": true, "sms": false, "email": true, "wechat": true}},
            {"name": "陈静", "mobile": "13912345678", "birthday": "1982-11-03", "level": "person_in_charge",
             "wechat": "chenjing82", "consent": {"phone": false, "sms": false, "email": false, "wechat": false}},
            {"name": "刘洋", "phone": "025-86001234", "birthday": "农历1975-08-15", "notes": "周末勿扰"}
        ]}),
        json!({"name": "杭州华信电子有限公司", "city": "杭州",
        "contacts": [
            {"name": "李娜", "mobile": "13700001111", "birthday": "02-29", "consent": {"email": true}},
            {"name": "赵敏", "email": "zhao@huaxin.cn"}
        ]}),
        json!({"name": "个人客户张三", "kind": "individual"}),
    ];
    for c in customers {
        let (s, b) = app.call(&t, "POST", "/customers", Some(c)).await;
        assert_eq!(s, 201, "{b}");
    }
    (app, t)
}

async fn empty_server() -> (App, String) {
    let app = App::start().await;
    app.user("boss", Role::Admin, None).await;
    let t = app.login("boss").await;
    (app, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbook_export_imports_back_with_every_contact() {
    let (from, tf) = filled_server().await;
    let before = holdings(&from, &tf).await;
    assert_eq!(before[2].2.len(), 3, "{before:?}");
    let (s, ctype, book) = download(&from, &tf, "/exports/customers?format=xlsx").await;
    assert_eq!(s, 200);
    assert!(ctype.contains("spreadsheetml"), "{ctype}");

    let (to, tt) = empty_server().await;
    let (s, r) = to
        .post_file(&tt, "/imports/customers?filename=export.xlsx", book.clone())
        .await;
    assert_eq!(
        (s, &r["imported"], &r["rejected"]),
        (200, &json!(3), &json!(0)),
        "{r}"
    );
    // The same workbook as contacts: the import reads its 联系人 sheet.
    let (s, r) = to
        .post_file(
            &tt,
            "/imports/contacts?filename=export.xlsx&preview=true",
            book.clone(),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["source"]["sheet"], "联系人", "{r}");
    let (s, r) = to
        .post_file(&tt, "/imports/contacts?filename=export.xlsx", book.clone())
        .await;
    assert_eq!(
        (s, &r["imported"], &r["rejected"]),
        (200, &json!(5), &json!(0)),
        "{r}"
    );
    assert_eq!(holdings(&to, &tt).await, before);
    // Again: nothing new.
    let (_, r) = to
        .post_file(&tt, "/imports/contacts?filename=export.xlsx", book)
        .await;
    assert_eq!(
        (&r["imported"], &r["existing"]),
        (&json!(0), &json!(5)),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_of_customers_and_contacts_import_back() {
    let (from, tf) = filled_server().await;
    let before = holdings(&from, &tf).await;
    for lang in ["zh", "en"] {
        let (s, ctype, customers) = download(
            &from,
            &tf,
            &format!("/exports/customers?format=csv&lang={lang}"),
        )
        .await;
        assert_eq!(s, 200);
        assert!(ctype.starts_with("text/csv"), "{ctype}");
        let (s, _, contacts) = download(
            &from,
            &tf,
            &format!("/exports/contacts?format=csv&lang={lang}"),
        )
        .await;
        assert_eq!(s, 200);
        let text = String::from_utf8_lossy(&contacts).to_string();
        assert_eq!(
            text.lines().count(),
            6,
            "a header and five contacts: {text}"
        );
        if lang == "zh" {
            assert!(
                text.contains("农历闰04-30") && text.contains("允许短信"),
                "{text}"
            );
        }
        let (to, tt) = empty_server().await;
        let (_, r) = to
            .post_file(&tt, "/imports/customers?filename=c.csv", customers)
            .await;
        assert_eq!(
            (&r["imported"], &r["rejected"]),
            (&json!(3), &json!(0)),
            "{lang}: {r}"
        );
        let (_, r) = to
            .post_file(&tt, "/imports/contacts?filename=p.csv", contacts)
            .await;
        assert_eq!(
            (&r["imported"], &r["rejected"]),
            (&json!(5), &json!(0)),
            "{lang}: {r}"
        );
        assert_eq!(holdings(&to, &tt).await, before, "{lang}");
    }
    // The contacts alone as XLSX, and a bad format named.
    let (s, _, _) = download(&from, &tf, "/exports/contacts?format=xlsx").await;
    assert_eq!(s, 200);
    let (s, b) = from
        .call(&tf, "GET", "/exports/contacts?format=pdf", None)
        .await;
    assert_eq!(
        (s, b["details"]["fields"][0]["field"].as_str()),
        (422, Some("format"))
    );
    // Audited as exports of customers and of contacts.
    let (_, a) = from.call(&tf, "GET", "/audit?action=export", None).await;
    let what: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["entity"].as_str().unwrap())
        .collect();
    assert!(
        what.contains(&"contact") && what.contains(&"customer"),
        "{what:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_only_the_callers_customers_and_their_contacts() {
    let app = App::start().await;
    app.user("boss", Role::Admin, None).await;
    app.user("wangfang", Role::Manager, None).await;
    app.user("lijun", Role::Manager, None).await;
    let (wf, lj) = (app.login("wangfang").await, app.login("lijun").await);
    for (t, name, contact) in [(&wf, "王芳的客户", "甲"), (&lj, "李军的客户", "乙")] {
        let (s, b) = app
            .call(
                t,
                "POST",
                "/customers",
                Some(json!({"name": name, "contacts": [{"name": contact}]})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let (_, _, file) = download(&app, &wf, "/exports/contacts?format=csv").await;
    let text = String::from_utf8_lossy(&file).to_string();
    assert!(text.contains("王芳的客户,甲"), "{text}");
    assert!(
        !text.contains("李军的客户") && !text.contains(",乙"),
        "{text}"
    );
}
