//! `POST /imports/{kind}?preview=true`: the column mapping and the first rows
//! checked, and nothing stored.

mod common;

use common::App;
use keqing_domain::Role;
use serde_json::{json, Value};

/// Chinese headers, a column keqing does not know (微信群), and a phone that
/// is no phone on line 3.
const CSV: &str = "客户名称,电话,微信群,省份,城市\n\
江苏恒远钢业有限公司,025-86001234,钢材群,江苏,南京\n\
杭州华信电子有限公司,abc,,浙江,杭州\n\
\n\
苏州明德教育咨询有限公司,0512-65001234,,江苏,苏州\n";

async fn customer_count(app: &App, token: &str) -> i64 {
    let (s, page) = app.call(token, "GET", "/customers", None).await;
    assert_eq!(s, 200, "{page}");
    page["total"].as_i64().unwrap()
}

/// What the CSV's preview must say, whatever its encoding.
fn assert_csv_preview(p: &Value) {
    assert_eq!(p["kind"], "customers");
    assert_eq!(p["source"]["format"], "csv");
    assert_eq!(p["source"]["delimiter"], ",");
    let cols: Vec<(Value, Value, Value)> = p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["header"].clone(), c["field"].clone(), c["status"].clone()))
        .collect();
    assert_eq!(
        cols,
        vec![
            (json!("客户名称"), json!("name"), json!("mapped")),
            (json!("电话"), json!("phone"), json!("mapped")),
            (json!("微信群"), Value::Null, json!("unknown")),
            (json!("省份"), json!("province"), json!("mapped")),
            (json!("城市"), json!("city"), json!("mapped")),
        ]
    );
    assert_eq!(p["columns"][0]["field_label"], "客户名称");
    assert_eq!(p["columns"][2]["index"], 3);
    assert_eq!(p["missing_required"], json!([]));
    assert_eq!(p["importable"], true);
    assert_eq!(p["data_rows"], 4);
    assert_eq!(p["blank_rows"], 1);
    let sample = p["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 3);
    assert_eq!(sample[0]["line"], 2);
    assert_eq!(sample[0]["cells"]["name"], "江苏恒远钢业有限公司");
    assert_eq!(sample[0]["cells"]["city"], "南京");
    assert_eq!(sample[0]["errors"], json!([]));
    assert_eq!(sample[1]["line"], 3);
    let errors = sample[1]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["column"], "电话");
    assert_eq!(errors[0]["column_index"], 2);
    assert_eq!(errors[0]["field"], "phone");
    assert!(errors[0]["message"].as_str().unwrap().len() > 3);
    assert_eq!(
        sample[2]["line"], 5,
        "the blank line 4 is not in the sample"
    );
    assert_eq!(p["errors_in_sample"], 1);
    assert!(
        p["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["column"] == "微信群"),
        "{}",
        p["warnings"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_maps_the_columns_checks_the_rows_and_stores_nothing() {
    let app = App::start().await;
    app.user("admin", Role::Admin, None).await;
    app.user("wangfang", Role::Manager, None).await;
    let admin = app.login("admin").await;
    let token = app.login("wangfang").await;

    let (s, p) = app
        .post_file(
            &token,
            "/imports/customers?preview=true&filename=客户.csv",
            CSV.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_csv_preview(&p);
    assert_eq!(p["file"], "客户.csv");
    assert_eq!(p["source"]["encoding"], "utf-8");
    assert!(p["note"].is_null(), "customers need no lookup");
    assert_eq!(
        customer_count(&app, &admin).await,
        0,
        "a preview stores nothing"
    );

    // The same file as Excel on a Chinese Windows saves it: GBK.
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(CSV);
    assert!(!unmappable);
    let (s, g) = app
        .post_file(
            &token,
            "/imports/customers?preview=true&filename=gbk.csv",
            gbk.into_owned(),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    assert_csv_preview(&g);
    assert_eq!(g["source"]["encoding"], "gbk");
    assert_eq!(g["sample"], p["sample"]);
    assert_eq!(customer_count(&app, &admin).await, 0);

    // The import the preview announced: the good rows, line 3 refused.
    let (s, r) = app
        .post_file(
            &token,
            "/imports/customers?filename=客户.csv",
            CSV.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["imported"], 2);
    assert_eq!(r["errors"][0]["line"], 3);
    assert_eq!(customer_count(&app, &admin).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xlsx_previews_with_its_sheet() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let token = app.login("wangfang").await;
    let rows: Vec<keqing_io::CustomerRow> = [
        ("江苏恒远钢业有限公司", "025-86001234"),
        ("杭州华信电子有限公司", "0571-88001234"),
    ]
    .iter()
    .map(|(name, phone)| {
        let obj = json!({"name": name, "phone": phone, "province": "江苏"});
        keqing_io::CustomerRow {
            customer: keqing_domain::CustomerInput::from_json(obj.as_object().unwrap()).unwrap(),
            contact: None,
        }
    })
    .collect();
    let xlsx = keqing_io::write_customers_xlsx(&rows, &[], keqing_io::Lang::Zh).unwrap();
    let (s, p) = app
        .post_file(
            &token,
            "/imports/customers?preview=true&filename=客户.xlsx",
            xlsx,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["source"]["format"], "xlsx");
    assert_eq!(p["source"]["sheet"], "客户");
    assert!(p["source"]["encoding"].is_null());
    assert_eq!(p["importable"], true);
    assert!(p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "mapped"));
    assert_eq!(p["data_rows"], 2);
    assert_eq!(p["sample"][1]["line"], 3);
    assert_eq!(p["sample"][1]["cells"]["name"], "杭州华信电子有限公司");
    assert_eq!(p["sample"][1]["cells"]["phone"], "0571-88001234");
    assert_eq!(p["errors_in_sample"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_shows_missing_columns_and_needs_the_import_permission() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    app.user("kefu", Role::Agent, None).await;
    let token = app.login("wangfang").await;

    // Orders without a date column: shown, not refused; the customer is not looked up.
    let (s, p) = app
        .post_file(
            &token,
            "/imports/orders?preview=true&filename=o.csv",
            "客户编号,金额,金额（元）\nA1,12,13\n".as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["missing_required"], json!(["order_date"]));
    assert_eq!(p["missing_required_labels"], json!(["日期"]));
    assert_eq!(p["importable"], false);
    assert_eq!(p["columns"][2]["status"], "duplicate");
    assert_eq!(p["columns"][2]["field"], "amount");
    assert_eq!(p["file_errors"].as_array().unwrap().len(), 2);
    assert!(p["note"].as_str().unwrap().contains("imported"));

    // Multipart, as the workbench sends it.
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xe5\xae\xa2\xe6\x88\xb7.csv\"\r\nContent-Type: text/csv\r\n\r\n".to_vec();
    body.extend_from_slice(CSV.as_bytes());
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let r = app
        .http
        .post(format!(
            "{}/api/v1/imports/customers?preview=true",
            app.base
        ))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["file"], "客户.csv");
    assert_eq!(p["errors_in_sample"], 1);

    // Who may not import may not preview.
    let agent = app.login("kefu").await;
    let (s, e) = app
        .post_file(
            &agent,
            "/imports/customers?preview=true&filename=c.csv",
            CSV.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    // Not a file at all.
    let (s, e) = app
        .post_file(
            &token,
            "/imports/customers?preview=true&filename=c.xlsx",
            b"PK\x03\x04garbage".to_vec(),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["code"], "bad_file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_has_every_column_the_import_knows() {
    let app = App::start().await;
    app.user("wangfang", Role::Manager, None).await;
    let t = app.login("wangfang").await;
    for kind in ["customers", "contacts", "orders"] {
        let r = app
            .http
            .get(format!("{}/api/v1/imports/{kind}/template", app.base))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("keqing-{kind}-template.csv")));
        let bytes = r.bytes().await.unwrap().to_vec();
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "a BOM for Excel");
        // The template read back: every column maps to a field, none unknown.
        let (s, p) = app
            .post_file(
                &t,
                &format!("/imports/{kind}?preview=true&filename=t.csv"),
                bytes,
            )
            .await;
        assert_eq!(s, 200, "{p}");
        let columns = p["columns"].as_array().unwrap();
        assert!(columns.len() >= 10, "{kind}: {p}");
        assert!(
            columns.iter().all(|c| c["status"] == "mapped"),
            "{kind}: {columns:?}"
        );
    }
    let r = app
        .http
        .get(format!("{}/api/v1/imports/gifts/template", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
