//! A salon's custom profile fields through the API (SPEC §1): the preview
//! maps the 肤质 column to the field, the import checks every value as a
//! create does and keeps the good rows, and an export imports into an empty
//! database with the same custom values.

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn salon() -> Value {
    json!({"fields": [
        {"key": "skin", "label": "肤质", "type": "choice", "options": ["干性", "油性", "混合", "敏感"], "required": true},
        {"key": "concerns", "label": "护理需求", "type": "multi_choice", "options": ["补水", "美白", "抗衰", "祛痘"]},
        {"key": "visits", "label": "到店次数", "type": "number"},
        {"key": "first_visit", "label": "首次到店", "type": "date"}
    ]})
}

/// Lines 2, 3 and 6 good; 4 a skin that is no option; 5 a bad number and a
/// bad date, and no skin.
const SALON_CSV: &str = "客户名称,电话,肤质,护理需求,到店次数,首次到店\n\
丽人美容院张丽,13812345678,干性,补水、美白,12,2024年3月8日\n\
丽人美容院王芳,13912345678,混合,\"抗衰，祛痘/补水\",\"1,200\",2024/5/1\n\
丽人美容院李娜,13712345678,中性,补水,3,2024-06-01\n\
丽人美容院赵敏,13612345678,,,很多,2024-02-30\n\
丽人美容院孙悦,13512345678,敏感,,,\n";

async fn get_bytes(app: &App, token: &str, path: &str) -> Vec<u8> {
    let r = app
        .http
        .get(format!("{}/api/v1{}", app.base, path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

/// A fresh server with an administrator, a manager and the salon's fields.
async fn salon_app() -> (App, String, String) {
    let app = App::start().await;
    app.user("admin", Role::Admin, None).await;
    app.user("wangfang", Role::Manager, None).await;
    let admin = app.login("admin").await;
    let manager = app.login("wangfang").await;
    let (s, body) = app
        .call(&admin, "PUT", "/custom-fields", Some(salon()))
        .await;
    assert_eq!(s, 200, "{body}");
    (app, admin, manager)
}

/// Every customer's custom values, by name.
async fn custom_by_name(app: &App, token: &str) -> BTreeMap<String, Value> {
    let (s, page) = app
        .call(token, "GET", "/customers?per_page=100", None)
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["custom"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salon_file_previews_imports_and_exports_its_custom_fields() {
    let (app, admin, manager) = salon_app().await;

    // The preview: the custom columns mapped to their fields, with their labels.
    let (s, p) = app
        .post_file(
            &manager,
            "/imports/customers?preview=true&filename=客户.csv",
            SALON_CSV.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let cols: Vec<(Value, Value, Value)> = p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].clone(),
                c["field_label"].clone(),
                c["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        &cols[2..],
        [
            (json!("custom.skin"), json!("肤质"), json!("mapped")),
            (json!("custom.concerns"), json!("护理需求"), json!("mapped")),
            (json!("custom.visits"), json!("到店次数"), json!("mapped")),
            (
                json!("custom.first_visit"),
                json!("首次到店"),
                json!("mapped")
            ),
        ]
    );
    assert_eq!(p["importable"], true);
    assert_eq!(p["warnings"], json!([]), "no column is unknown");
    assert_eq!(p["sample"][0]["cells"]["custom.skin"], "干性");
    assert_eq!(p["sample"][2]["errors"][0]["field"], "custom.skin");
    assert_eq!(p["sample"][2]["errors"][0]["column"], "肤质");
    assert_eq!(p["errors_in_sample"], 2);
    assert_eq!(
        custom_by_name(&app, &admin).await.len(),
        0,
        "nothing stored"
    );

    // The import: the good rows kept, each bad value at its line and column.
    let (s, r) = app
        .post_file(
            &manager,
            "/imports/customers?filename=客户.csv",
            SALON_CSV.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["imported"].as_u64(), r["rejected"].as_u64()),
        (Some(3), Some(2))
    );
    let errors: Vec<(i64, &str, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["column"].as_str().unwrap_or(""),
                e["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (4, "肤质", "custom.skin"),
            (5, "首次到店", "custom.first_visit"),
            (5, "到店次数", "custom.visits"),
            (5, "肤质", "custom.skin"),
        ]
    );
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("中性"));
    let stored = custom_by_name(&app, &manager).await;
    assert_eq!(
        stored["丽人美容院王芳"],
        json!({"skin": "混合", "concerns": ["抗衰", "祛痘", "补水"], "visits": 1200, "first_visit": "2024-05-01"})
    );
    assert_eq!(stored["丽人美容院孙悦"], json!({"skin": "敏感"}));
    // Searchable as if entered by hand.
    let (_, found) = app
        .call(&manager, "GET", "/customers?custom=concerns:美白", None)
        .await;
    assert_eq!(found["items"][0]["name"], "丽人美容院张丽");
    assert_eq!(found["total"], 1);
    // A re-run creates nothing.
    let (_, again) = app
        .post_file(
            &manager,
            "/imports/customers?filename=客户.csv",
            SALON_CSV.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        (again["imported"].as_u64(), again["existing"].as_u64()),
        (Some(0), Some(3))
    );

    // The export has a column per field; each format imports into an empty
    // database with the same values.
    let zh = get_bytes(&app, &admin, "/exports/customers?format=csv").await;
    let header = String::from_utf8_lossy(&zh)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        header.ends_with(",肤质,护理需求,到店次数,首次到店"),
        "{header}"
    );
    let en = get_bytes(&app, &admin, "/exports/customers?format=xlsx&lang=en").await;
    for (bytes, name) in [(zh, "customers.csv"), (en, "customers.xlsx")] {
        let (fresh, fresh_admin, _) = salon_app().await;
        let (s, r) = fresh
            .post_file(
                &fresh_admin,
                &format!("/imports/customers?filename={name}"),
                bytes,
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["imported"], 3, "{name}: {r}");
        assert_eq!(r["warnings"], json!([]), "{name}");
        assert_eq!(custom_by_name(&fresh, &fresh_admin).await, stored, "{name}");
    }

    // The template names the fields too.
    let t = get_bytes(&app, &manager, "/imports/customers/template").await;
    assert!(String::from_utf8_lossy(&t)
        .trim_end()
        .ends_with(",肤质,护理需求,到店次数,首次到店"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_a_required_field_and_a_label_the_import_reads_otherwise() {
    let (app, admin, manager) = salon_app().await;
    // No 肤质 column: the preview says what is missing, by its label; the import refuses.
    let csv = "客户名称,护理需求\n丽人美容院张丽,补水\n"
        .as_bytes()
        .to_vec();
    let (s, p) = app
        .post_file(
            &manager,
            "/imports/customers?preview=true&filename=c.csv",
            csv.clone(),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["missing_required"], json!(["custom.skin"]));
    assert_eq!(p["missing_required_labels"], json!(["肤质"]));
    assert_eq!(p["importable"], false);
    let (s, e) = app
        .post_file(&manager, "/imports/customers?filename=c.csv", csv)
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["message"].as_str().unwrap().contains("肤质"), "{e}");

    // 生日 is how a customers file names the contact's birthday: a field so
    // labelled could never be filled by an import.
    let (s, e) = app
        .call(
            &admin,
            "PUT",
            "/custom-fields",
            Some(json!({"fields": [{"key": "birthday", "label": "生日", "type": "date"}]})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["details"]["fields"][0]["field"], "fields[0].label");
    let (_, defs) = app.call(&admin, "GET", "/custom-fields", None).await;
    let keys: Vec<&str> = defs["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["skin", "concerns", "visits", "first_visit"],
        "nothing changed"
    );
}
