//! The OpenAPI description covers every route, with its schemas.
//!
//! The routes come from the same place the router is built from:
//! `keqing_server::api_routes`, an utoipa-axum `OpenApiRouter` whose every
//! route is added with `routes!`, which takes the path and the method from
//! the handler's `#[utoipa::path]` (a handler without one does not
//! compile). So the document's operations are the routed operations; these
//! tests check that each is described fully, that the running server
//! answers each and no other method on those paths, and that nothing is
//! routed around `routes!`.

mod common;

use common::App;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// Operations that take no request body (an action on the path's record,
/// or one whose parameters are in the query).
const BODILESS: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/customers/{id}/restore"),
    ("post", "/api/v1/customers/{id}/claim"),
    ("post", "/api/v1/pool/release"),
    ("post", "/api/v1/analysis/apply"),
    ("post", "/api/v1/care/run"),
];

/// Operations anyone may call.
const PUBLIC: &[&str] = &["/api/v1/auth/login", "/api/v1/openapi.json"];

fn doc() -> Value {
    keqing_server::openapi_document()
}

/// Every (method, path) the router serves, from the router's own description.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// Each `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|it| refs(it, out));
        }
        Value::Array(items) => items.iter().for_each(|it| refs(it, out)),
        _ => {}
    }
}

fn has_schema(content: &Value) -> bool {
    content
        .as_object()
        .is_some_and(|c| !c.is_empty() && c.values().all(|m| m["schema"].is_object()))
}

#[test]
fn every_routed_operation_is_documented_with_its_schemas() {
    let doc = doc();
    let ops = operations(&doc);
    assert!(ops.len() >= 68, "only {} operations documented", ops.len());
    let mut problems = vec![];
    let mut ids = BTreeSet::new();
    for (method, path, op) in &ops {
        let at = format!("{} {path}", method.to_uppercase());
        match op["operationId"].as_str() {
            Some(id) if ids.insert(id.to_string()) => {}
            other => problems.push(format!("{at}: operationId {other:?} missing or taken")),
        }
        if op["description"].as_str().unwrap_or("").is_empty() {
            problems.push(format!("{at}: no description"));
        }
        if op["tags"].as_array().is_none_or(|t| t.is_empty()) {
            problems.push(format!("{at}: no tag"));
        }
        // Each path parameter is described.
        for name in path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(n, _)| n))
        {
            let described = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["schema"].is_object())
            });
            if !described {
                problems.push(format!("{at}: path parameter {name} not described"));
            }
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["description"].as_str().unwrap_or("").is_empty() {
                problems.push(format!("{at}: parameter {} has no description", p["name"]));
            }
        }
        // A request body where the method takes one.
        let takes_body = matches!(method.as_str(), "post" | "put" | "patch")
            && !BODILESS.contains(&(method.as_str(), path.as_str()));
        if takes_body && !has_schema(&op["requestBody"]["content"]) {
            problems.push(format!("{at}: no request body schema"));
        }
        // A success with a schema, or 204.
        let responses = op["responses"].as_object().cloned().unwrap_or_default();
        let success = responses.iter().any(|(status, r)| {
            status == "204" || (status.starts_with('2') && has_schema(&r["content"]))
        });
        if !success {
            problems.push(format!("{at}: no 2xx response with a schema, nor 204"));
        }
        // Errors: each in the Error shape; 401 unless public; 422 when a body or query is read.
        let errors: BTreeSet<&str> = responses
            .keys()
            .filter(|s| s.starts_with('4') || s.starts_with('5'))
            .map(String::as_str)
            .collect();
        for status in &errors {
            let schema = &responses[*status]["content"]["application/json"]["schema"];
            if schema["$ref"] != "#/components/schemas/Error" {
                problems.push(format!("{at}: the {status} answer is not an Error"));
            }
        }
        let public = PUBLIC.contains(&path.as_str());
        if errors.is_empty() && !public {
            problems.push(format!("{at}: no error responses"));
        }
        if !public && !errors.contains("401") {
            problems.push(format!("{at}: no 401"));
        }
        if !public && op["security"].as_array().is_none_or(|s| s.is_empty()) {
            problems.push(format!("{at}: no security"));
        }
        if takes_body && !errors.contains("422") {
            problems.push(format!("{at}: reads a body but documents no 422"));
        }
    }
    // Every reference resolves.
    let mut all = vec![];
    refs(&doc, &mut all);
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        if doc["components"]["schemas"][name].is_null() {
            problems.push(format!("{r} does not resolve"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn nothing_is_routed_around_the_description() {
    // A plain `.route(…)` would serve an operation the description does
    // not have; every route of the API (`api_routes`) goes through
    // `routes!`. (`/healthz`, beside the API, is not part of it.)
    let lib = include_str!("../src/lib.rs");
    let start = lib.find("fn api_routes").expect("api_routes in lib.rs");
    let end = lib
        .find("/// The whole application")
        .expect("app_routes in lib.rs");
    let code: String = lib[start..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for plain in [".route(", ".route_service(", ".nest_service(", ".merge("] {
        assert!(
            !code.contains(plain),
            "src/lib.rs calls {plain}: route it with routes! and #[utoipa::path] instead"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_exactly_the_documented_methods() {
    let app = App::start().await;
    let doc = doc();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let p = path.replace("{id}", "1").replace("{kind}", "customers");
        let url = format!("{}{p}", app.base);
        for method in METHODS {
            let r = app
                .http
                .request(method.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap();
            let documented = item.get(*method).is_some();
            let status = r.status().as_u16();
            if documented {
                assert!(
                    status != 405,
                    "{method} {path} is documented but not routed"
                );
            } else {
                assert_eq!(status, 405, "{method} {path} is routed but not documented");
            }
        }
    }
}

/// The document as a file for CI's OpenAPI validator (`.ci/run`):
/// `target/openapi.json`.
#[test]
fn the_document_is_written_for_validation() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.0.3");
    // Nothing only OpenAPI 3.1 has (CI's validator checks the rest).
    let text = doc.to_string();
    for only_3_1 in [
        "\"propertyNames\"",
        "\"prefixItems\"",
        "\"const\"",
        "\"type\":[",
        "\"type\":\"null\"",
    ] {
        assert!(!text.contains(only_3_1), "{only_3_1} is OpenAPI 3.1");
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").to_string());
    std::fs::create_dir_all(&target).unwrap();
    let file = std::path::Path::new(&target).join("openapi.json");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// The properties of a schema, with those of the schemas it is made of (allOf).
fn properties(doc: &Value, schema: &str) -> serde_json::Map<String, Value> {
    let s = &doc["components"]["schemas"][schema];
    assert!(s.is_object(), "no schema {schema}");
    let mut out = s["properties"].as_object().cloned().unwrap_or_default();
    for part in s["allOf"].as_array().into_iter().flatten() {
        match part["$ref"].as_str() {
            Some(r) => out.extend(properties(
                doc,
                r.trim_start_matches("#/components/schemas/"),
            )),
            None => out.extend(part["properties"].as_object().cloned().unwrap_or_default()),
        }
    }
    out
}

/// The schemas written beside the domain's types name every member the API answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schemas_name_every_member_of_the_answers() {
    let app = App::start().await;
    let doc = doc();
    app.user("boss", keqing_domain::Role::Admin, None).await;
    let t = app.login("boss").await;
    let check = |schema: &str, v: &Value| {
        let props = properties(&doc, schema);
        let obj = v.as_object().unwrap_or_else(|| panic!("{schema}: {v}"));
        for key in obj.keys() {
            assert!(
                props.contains_key(key),
                "{key} is not in the {schema} schema ({v})"
            );
        }
    };
    let (s, c) = app
        .call(
            &t,
            "POST",
            "/customers",
            Some(json!({"name": "图式客户", "contacts": [{"name": "张三", "mobile": "13800001234"}]})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    check("CreatedCustomer", &c);
    let id = c["id"].as_i64().unwrap();
    let (_, list) = app.call(&t, "GET", "/customers", None).await;
    check("CustomerPage", &list);
    let (_, contacts) = app
        .call(&t, "GET", &format!("/customers/{id}/contacts"), None)
        .await;
    check("Contact", &contacts["items"][0]);
    let (s, a) = app
        .call(
            &t,
            "POST",
            &format!("/customers/{id}/activities"),
            Some(json!({"kind": "visit", "summary": "拜访"})),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    check("Activity", &a);
    let (_, me) = app.call(&t, "GET", "/auth/me", None).await;
    check("User", &me);
    let (s, team) = app
        .call(&t, "POST", "/teams", Some(json!({"name": "图式一部"})))
        .await;
    assert_eq!(s, 201, "{team}");
    check("Team", &team);
    let (s, region) = app
        .call(&t, "POST", "/regions", Some(json!({"name": "江苏"})))
        .await;
    assert_eq!(s, 201, "{region}");
    let (_, regions) = app.call(&t, "GET", "/regions", None).await;
    check("RegionList", &regions);
    check("Region", &regions["items"][0]);
    let (s, change) = app
        .call(
            &t,
            "POST",
            &format!("/customers/{id}/changes"),
            Some(json!({"note": "地址变了"})),
        )
        .await;
    assert_eq!(s, 201, "{change}");
    check("ChangeReport", &change);
    let (_, open) = app.call(&t, "GET", "/changes", None).await;
    check("OpenChanges", &open);
    check("OpenChange", &open["items"][0]);
    let (_, history) = app
        .call(&t, "GET", &format!("/customers/{id}/history"), None)
        .await;
    if let Some(h) = history["items"].get(0) {
        check("HistoryEntry", h);
    }
    let (_, audit) = app.call(&t, "GET", "/audit", None).await;
    check("AuditEntry", &audit["items"][0]);
    let (_, fields) = app.call(&t, "GET", "/custom-fields", None).await;
    check("CustomFields", &fields);
    let (_, matrix) = app.call(&t, "GET", "/roles", None).await;
    check("Matrix", &matrix);
    check("Named", &matrix["roles"][0]);
    check("Grant", &matrix["grants"][0]);
    let (_, templates) = app.call(&t, "GET", "/care/templates", None).await;
    check("TemplateList", &templates);
    check("PlaceholderName", &templates["placeholders"][0]);
    let (_, incomplete) = app.call(&t, "GET", "/work/incomplete", None).await;
    check("IncompleteList", &incomplete);
    let (s, run) = app
        .call(&t, "POST", "/care/run?from=2026-01-01&to=2026-01-02", None)
        .await;
    assert_eq!(s, 200, "{run}");
    check("GenerateReport", &run);
    let (_, users) = app.call(&t, "GET", "/users", None).await;
    check("UserList", &users);
    check("User", &users["items"][0]);
    let (_, teams) = app.call(&t, "GET", "/teams", None).await;
    check("TeamList", &teams);
    let (_, owners) = app
        .call(&t, "GET", &format!("/customers/{id}/ownership"), None)
        .await;
    check("OwnershipList", &owners);
    check("OwnershipEvent", &owners["items"][0]);
    let (_, complete) = app
        .call(&t, "GET", &format!("/customers/{id}/completeness"), None)
        .await;
    check("Completeness", &complete);
    let (_, me_login) = app
        .call(
            "",
            "POST",
            "/auth/login",
            Some(json!({"username": "boss", "password": common::PASSWORD})),
        )
        .await;
    check("LoginAnswer", &me_login);
}
