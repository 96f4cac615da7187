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
    check("CustomerView", &list["items"][0]);
    let (s, order) = app
        .call(
            &t,
            "POST",
            "/orders",
            Some(json!({"customer_id": id, "date": "2026-03-02", "amount": "10", "unit": "件"})),
        )
        .await;
    assert_eq!(s, 201, "{order}");
    check("Order", &order);
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
    let (_, audit) = app.call(&t, "GET", "/audit?entity=customer", None).await;
    check("AuditList", &audit);
    check("AuditLine", &audit["items"][0]);
    let me_id = me["id"].as_i64().unwrap();
    let (s, moved) = app
        .call(
            &t,
            "POST",
            "/customers/transfer",
            Some(json!({"ids": [id], "to_user": me_id, "reason": "图式"})),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    let (_, transfers) = app.call(&t, "GET", "/audit?action=transfer", None).await;
    check("RecordName", &transfers["items"][0]["mentions"][0]);
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

/// The schema a reference or a schema stands for.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        ),
        None => schema,
    }
}

/// The members a schema declares for the object `v`, with those of the
/// schemas it is made of (allOf), and of the alternative (oneOf) that `v`
/// is: the one whose required members it has and whose enums it matches.
fn members<'a>(
    doc: &'a Value,
    schema: &'a Value,
    v: &Value,
    out: &mut serde_json::Map<String, Value>,
) {
    let schema = resolve(doc, schema);
    if let Some(p) = schema["properties"].as_object() {
        out.extend(p.clone());
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        members(doc, part, v, out);
    }
    let chosen = schema["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|alt| {
            let alt = resolve(doc, alt);
            let has_required = alt["required"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| v.get(r.as_str().unwrap_or_default()).is_some());
            let enums_match = alt["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, p)| match (p["enum"].as_array(), v.get(k)) {
                    (Some(allowed), Some(x)) => allowed.contains(x),
                    _ => true,
                });
            has_required && enums_match
        });
    if let Some(alt) = chosen {
        members(doc, alt, v, out);
    }
}

fn required(doc: &Value, schema: &Value, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for r in schema["required"].as_array().into_iter().flatten() {
        out.push(r.as_str().unwrap_or_default().to_string());
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        required(doc, part, out);
    }
}

fn type_of(doc: &Value, schema: &Value) -> Option<String> {
    let schema = resolve(doc, schema);
    if let Some(t) = schema["type"].as_str() {
        return Some(t.to_string());
    }
    schema["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|s| type_of(doc, s))
}

fn nullable(doc: &Value, schema: &Value) -> bool {
    let schema = resolve(doc, schema);
    schema["nullable"] == true
        || schema.as_object().is_some_and(|m| m.is_empty())
        || schema["allOf"]
            .as_array()
            .is_some_and(|parts| parts.iter().all(|s| nullable(doc, s)))
}

/// Where `v` does not fit `schema` (the document as served, OpenAPI 3.0):
/// a member the schema does not declare, a required one missing, a value
/// of another type or outside an enum, a null where none may be.
fn misfits(doc: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let s = resolve(doc, schema);
    if v.is_null() {
        if !nullable(doc, s) {
            out.push(format!("{at}: null, which the schema does not allow"));
        }
        return;
    }
    if let Some(alternatives) = s["oneOf"]
        .as_array()
        .or(s["anyOf"].as_array())
        .filter(|_| !v.is_object() || s["allOf"].is_null())
    {
        let fits = alternatives.iter().any(|alt| {
            let mut none = vec![];
            misfits(doc, alt, v, at, &mut none);
            none.is_empty()
        });
        if !fits {
            out.push(format!("{at}: fits none of the alternatives: {v}"));
        }
        return;
    }
    if let Some(allowed) = s["enum"].as_array() {
        if !allowed.contains(v) {
            out.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    let fits_type = match type_of(doc, s).as_deref() {
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("string") => v.is_string(),
        Some("boolean") => v.is_boolean(),
        Some("array") => v.is_array(),
        Some("object") => v.is_object(),
        _ => true,
    };
    if !fits_type {
        out.push(format!("{at}: {v} is not of type {:?}", type_of(doc, s)));
        return;
    }
    if let Some(items) = v.as_array() {
        for (i, it) in items.iter().enumerate() {
            misfits(doc, &s["items"], it, &format!("{at}[{i}]"), out);
        }
    }
    if let Some(obj) = v.as_object() {
        let mut declared = serde_json::Map::new();
        members(doc, s, v, &mut declared);
        let extra = &resolve(doc, s)["additionalProperties"];
        for (key, value) in obj {
            let here = format!("{at}.{key}");
            match declared.get(key) {
                Some(p) => misfits(doc, p, value, &here, out),
                None if extra.is_object() => misfits(doc, extra, value, &here, out),
                // A free-form object (an Object member): anything goes.
                None if declared.is_empty() => {}
                None => out.push(format!("{here}: not in the schema")),
            }
        }
        let mut needed = vec![];
        required(doc, s, &mut needed);
        for r in needed {
            if !obj.contains_key(&r) {
                out.push(format!("{at}: required member {r} is missing"));
            }
        }
    }
}

/// The schema of an operation's answer with `status`.
fn answer_schema(doc: &Value, method: &str, path: &str, status: u16) -> Value {
    let op = &doc["paths"][format!("/api/v1{path}")][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path}: no schema for {status}"
    );
    schema.clone()
}

#[test]
fn the_checker_sees_what_does_not_fit() {
    let doc = json!({"components": {"schemas": {
        "T": {"type": "object", "required": ["a"], "properties": {
            "a": {"type": "integer"},
            "b": {"type": "string", "nullable": true},
            "c": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]}},
        }},
    }}});
    let r = json!({"$ref": "#/components/schemas/T"});
    let check = |v: Value| {
        let mut out = vec![];
        misfits(&doc, &r, &v, "$", &mut out);
        out
    };
    assert!(check(json!({"a": 1, "b": null, "c": ["x"]})).is_empty());
    assert_eq!(
        check(json!({"a": 1, "d": 2})).len(),
        1,
        "an undeclared member"
    );
    assert_eq!(
        check(json!({"b": "s"})).len(),
        1,
        "a required member missing"
    );
    assert_eq!(check(json!({"a": "1"})).len(), 1, "a string for an integer");
    assert_eq!(
        check(json!({"a": 1, "c": ["z"]})).len(),
        1,
        "outside the enum"
    );
    assert_eq!(
        check(json!({"a": null})).len(),
        1,
        "null where not nullable"
    );
}

/// Every answer the analysis, care and import operations give fits the
/// schema the document states for it, member by member, all the way down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answers_fit_their_schemas() {
    use keqing_domain::{CustomerInput, Money, Role};
    let app = App::start().await;
    let doc = doc();
    let admin = app.user("boss", Role::Admin, None).await;
    let manager = app.user("wangfang", Role::Manager, None).await;
    let t = app.login("boss").await;
    let mut orders = vec![];
    let mut first = 0;
    for i in 0..12i64 {
        let input = CustomerInput::from_json(
            json!({"name": format!("图式分析{i}"), "key_dates": [{"name": "成立日", "date": "2010-12-20"}]})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let c = app
            .store
            .create_customer(&input, Some(manager.id), &admin)
            .await
            .unwrap();
        if i == 0 {
            first = c.id;
        }
        for k in 0..(i % 4 + 1) {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1 + (k as u32 * 3) % 11, 1 + i as u32);
            orders.push(common::order(
                format!("SC-{i}-{k}"),
                c.id,
                day.unwrap(),
                Money(100_000 + i * 7_000 + k * 500),
            ));
        }
    }
    app.store.add_orders(&orders).await.unwrap();
    let (s, _c) = app
        .call(
            &t,
            "POST",
            &format!("/customers/{first}/contacts"),
            Some(json!({"name": "张三", "mobile": "13800001234", "birthday": "1980-12-24"})),
        )
        .await;
    assert_eq!(s, 201, "{}", _c);
    let cases: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "GET",
            "/analysis/rfm",
            "/analysis/rfm?as_of=2026-12-01".into(),
            None,
        ),
        (
            "GET",
            "/analysis/rfm",
            "/analysis/rfm?as_of=2026-12-01&class=important_value".into(),
            None,
        ),
        ("GET", "/analysis/abc", "/analysis/abc?class=A".into(), None),
        (
            "GET",
            "/analysis/clv",
            "/analysis/clv?decile=1".into(),
            None,
        ),
        (
            "GET",
            "/analysis/clv",
            "/analysis/clv?model=pareto&per_page=3".into(),
            None,
        ),
        (
            "GET",
            "/analysis/repeat",
            "/analysis/repeat?purchases=2".into(),
            None,
        ),
        (
            "GET",
            "/analysis/funnel",
            "/analysis/funnel?counts=750,200,150,80,75,70".into(),
            None,
        ),
        ("POST", "/analysis/apply", "/analysis/apply".into(), None),
        (
            "POST",
            "/analysis/snapshots",
            "/analysis/snapshots".into(),
            Some(json!({"kind": "clv", "name": "图式", "params": {"horizon_months": 6}})),
        ),
        ("GET", "/care/settings", "/care/settings".into(), None),
        (
            "PUT",
            "/care/settings",
            "/care/settings".into(),
            Some(
                json!({"occasions": {"occasions": [{"id": "teachers_day", "name_zh": "教师节", "name_en": "Teachers' Day", "rule": "solar", "month": 9, "day": 10}]}}),
            ),
        ),
        (
            "POST",
            "/care/run",
            "/care/run?from=2026-12-20&to=2026-12-31".into(),
            None,
        ),
        (
            "GET",
            "/care/tasks",
            "/care/tasks?from=2026-12-01&to=2026-12-31".into(),
            None,
        ),
        (
            "GET",
            "/care/compliance",
            "/care/compliance?from=2026-12-01&to=2026-12-31".into(),
            None,
        ),
        (
            "GET",
            "/customers/{id}/occasions",
            format!("/customers/{first}/occasions?from=2026-12-01&days=366"),
            None,
        ),
        ("GET", "/care/templates", "/care/templates".into(), None),
        (
            "GET",
            "/analysis/snapshots",
            "/analysis/snapshots".into(),
            None,
        ),
        ("GET", "/customers", "/customers?per_page=5".into(), None),
        (
            "GET",
            "/customers",
            "/customers?q=%E5%9B%BE%E5%BC%8F%20%E5%88%86%E6%9E%90&p_alive_below=0.9&no_purchase_days=1&sort=purchase".into(),
            None,
        ),
        ("GET", "/customers/facets", "/customers/facets".into(), None),
        ("GET", "/pool/rules", "/pool/rules".into(), None),
        (
            "PUT",
            "/pool/rules",
            "/pool/rules".into(),
            Some(json!({"default_days": 45, "days_by_class": {"A": 90}, "max_owned": 200})),
        ),
        (
            "POST",
            "/customers/release",
            "/customers/release".into(),
            Some(json!({"ids": [first + 11], "reason": "图式：客户停业"})),
        ),
        (
            "GET",
            "/customers/{id}",
            format!("/customers/{first}"),
            None,
        ),
        (
            "PATCH",
            "/customers/{id}",
            format!("/customers/{first}"),
            Some(
                json!({"version": 1, "city": "南京", "tags": ["图式"], "card": {"interests": "钓鱼"}, "custom": {}}),
            ),
        ),
        (
            "GET",
            "/customers/{id}/contacts",
            format!("/customers/{first}/contacts"),
            None,
        ),
        (
            "POST",
            "/customers/{id}/activities",
            format!("/customers/{first}/activities"),
            Some(
                json!({"kind": "gift", "gift_item": "茶叶", "gift_value": "200.00", "matter": "company", "summary": "送茶"}),
            ),
        ),
        (
            "GET",
            "/customers/{id}/activities",
            format!("/customers/{first}/activities"),
            None,
        ),
        (
            "POST",
            "/orders",
            "/orders".into(),
            Some(
                json!({"customer_id": first, "date": "2026-03-02", "amount": "1234.50", "quantity": 12, "unit": "箱", "product": "黄酒", "channel": "门店"}),
            ),
        ),
        (
            "GET",
            "/customers/{id}/orders",
            format!("/customers/{first}/orders"),
            None,
        ),
        (
            "GET",
            "/customers/{id}/history",
            format!("/customers/{first}/history"),
            None,
        ),
        (
            "GET",
            "/customers/{id}/ownership",
            format!("/customers/{first}/ownership"),
            None,
        ),
        (
            "GET",
            "/customers/{id}/completeness",
            format!("/customers/{first}/completeness"),
            None,
        ),
        (
            "POST",
            "/customers/{id}/changes",
            format!("/customers/{first}/changes"),
            Some(json!({"note": "电话变了"})),
        ),
        ("GET", "/changes", "/changes".into(), None),
        ("GET", "/pool", "/pool".into(), None),
        ("GET", "/audit", "/audit".into(), None),
        (
            "GET",
            "/audit",
            format!("/audit?user_id={}&action=create&entity=customer&from=2026-01-01&to=2099-12-31&page=1&per_page=5", admin.id),
            None,
        ),
        (
            "PATCH",
            "/users/{id}",
            format!("/users/{}", manager.id),
            Some(json!({"display_name": "王芳", "password": "reset-2026-x"})),
        ),
        ("GET", "/auth/me", "/auth/me".into(), None),
        ("GET", "/users", "/users".into(), None),
        ("GET", "/teams", "/teams".into(), None),
        ("GET", "/regions", "/regions".into(), None),
        ("GET", "/roles", "/roles".into(), None),
        ("GET", "/work/incomplete", "/work/incomplete".into(), None),
        (
            "PUT",
            "/custom-fields",
            "/custom-fields".into(),
            Some(
                json!({"fields": [{"key": "skin", "label": "肤质", "type": "choice", "options": ["干性", "油性"]}]}),
            ),
        ),
        ("GET", "/custom-fields", "/custom-fields".into(), None),
    ];
    let mut problems = vec![];
    let mut task = None;
    for (method, template, path, body) in cases {
        let (s, v) = app.call(&t, method, &path, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        misfits(
            &doc,
            &answer_schema(&doc, method, template, s),
            &v,
            &format!("{method} {path}"),
            &mut problems,
        );
        if template == "/care/tasks" {
            task = v["items"][0]["id"].as_i64();
        }
    }
    let task = task.expect("the care run planned a task");
    for (action, body) in [
        ("snooze", json!({"until": "2026-12-31"})),
        ("skip", json!({"reason": "客户出差"})),
    ] {
        let template = format!("/care/tasks/{{id}}/{action}");
        let path = format!("/care/tasks/{task}/{action}");
        let (s, v) = app.call(&t, "POST", &path, Some(body)).await;
        assert!((200..300).contains(&s), "{path}: {s} {v}");
        misfits(
            &doc,
            &answer_schema(&doc, "POST", &template, s),
            &v,
            &path,
            &mut problems,
        );
    }
    // A user changes their own password: 204, no body.
    let (s, v) = app
        .call(
            &t,
            "POST",
            "/auth/password",
            Some(json!({"current": common::PASSWORD, "new": "boss-new-2026"})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let csv = "客户名称,联系人,手机\n图式导入一,李四,13900001111\n,王五,坏行\n"
        .as_bytes()
        .to_vec();
    for path in [
        "/imports/customers?filename=a.csv&preview=true",
        "/imports/customers?filename=a.csv",
    ] {
        let (s, v) = app.post_file(&t, path, csv.clone()).await;
        assert_eq!(s, 200, "{path}: {v}");
        misfits(
            &doc,
            &answer_schema(&doc, "POST", "/imports/{kind}", s),
            &v,
            path,
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each success answer names its members: no operation but the document
/// itself answers an object whose members the description does not state.
#[test]
fn no_answer_is_an_open_object() {
    let doc = doc();
    let mut open = vec![];
    for (method, path, op) in operations(&doc) {
        if path == "/api/v1/openapi.json" {
            continue;
        }
        for (status, r) in op["responses"].as_object().into_iter().flatten() {
            if !status.starts_with('2') {
                continue;
            }
            for content in r["content"].as_object().into_iter().flatten().map(|c| c.1) {
                let s = resolve(&doc, &content["schema"]);
                let free = s["type"] == "object"
                    && s["properties"].is_null()
                    && s["allOf"].is_null()
                    && s["oneOf"].is_null()
                    && s["additionalProperties"].is_null();
                if free {
                    open.push(format!("{} {path} {status}", method.to_uppercase()));
                }
            }
        }
    }
    assert!(open.is_empty(), "open objects: {open:?}");
}

/// The routes of issue 25's accounts, audit log and exports are described
/// with what they take and answer.
#[test]
fn accounts_audit_and_exports_are_described() {
    let doc = doc();
    let op = |method: &str, path: &str| doc["paths"][format!("/api/v1{path}")][method].clone();
    let body_props = |o: &Value| -> Vec<String> {
        let schema = &o["requestBody"]["content"]["application/json"]["schema"];
        let mut props = serde_json::Map::new();
        members(&doc, schema, &Value::Null, &mut props);
        props.keys().cloned().collect()
    };
    let password = op("post", "/auth/password");
    assert_eq!(body_props(&password), ["current", "new"]);
    for status in ["204", "422", "429"] {
        assert!(
            password["responses"][status].is_object(),
            "POST /auth/password {status}"
        );
    }
    let patch = body_props(&op("patch", "/users/{id}"));
    for f in [
        "display_name",
        "password",
        "role",
        "team_id",
        "region",
        "active",
    ] {
        assert!(
            patch.contains(&f.to_string()),
            "PATCH /users/{{id}} takes {f}: {patch:?}"
        );
    }
    let audit = op("get", "/audit");
    let params: Vec<&str> = audit["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "user_id",
        "action",
        "entity",
        "entity_id",
        "from",
        "to",
        "page",
        "per_page",
    ] {
        assert!(params.contains(&p), "GET /audit takes {p}: {params:?}");
    }
    let page = properties(&doc, "AuditList");
    for m in ["items", "total", "capped", "page", "per_page"] {
        assert!(page.contains_key(m), "AuditList has {m}");
    }
    let line = properties(&doc, "AuditLine");
    for m in [
        "action",
        "entity",
        "entity_id",
        "detail",
        "user_name",
        "record",
        "mentions",
    ] {
        assert!(line.contains_key(m), "AuditLine has {m}");
    }
    for path in ["/exports/customers", "/exports/contacts"] {
        let o = op("get", path);
        let content = o["responses"]["200"]["content"].as_object().unwrap();
        assert!(content.contains_key("text/csv"), "{path}");
        assert!(
            content.keys().any(|k| k.contains("spreadsheetml")),
            "{path}"
        );
        assert!(o["responses"]["422"].is_object(), "{path}");
    }
}

/// The new routes answer through the running server as described.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_audit_and_exports_answer_as_described() {
    let app = App::start().await;
    let doc = doc();
    app.user("boss", keqing_domain::Role::Admin, None).await;
    let t = app.login("boss").await;
    let mut problems = vec![];
    let (s, v) = app
        .call(&t, "GET", "/audit?action=login&page=1&per_page=1", None)
        .await;
    assert_eq!(s, 200, "{v}");
    misfits(
        &doc,
        &answer_schema(&doc, "GET", "/audit", s),
        &v,
        "GET /audit",
        &mut problems,
    );
    let (s, v) = app.call(&t, "GET", "/audit?from=x", None).await;
    assert_eq!(s, 422);
    misfits(
        &doc,
        &answer_schema(&doc, "GET", "/audit", s),
        &v,
        "GET /audit 422",
        &mut problems,
    );
    let (s, v) = app
        .call(
            &t,
            "POST",
            "/auth/password",
            Some(json!({"current": "wrong-one", "new": "boss-new-2026"})),
        )
        .await;
    assert_eq!(s, 422);
    misfits(
        &doc,
        &answer_schema(&doc, "POST", "/auth/password", s),
        &v,
        "POST /auth/password 422",
        &mut problems,
    );
    let (s, v) = app.call(&t, "GET", "/exports/contacts?lang=fr", None).await;
    assert_eq!(s, 422);
    misfits(
        &doc,
        &answer_schema(&doc, "GET", "/exports/contacts", s),
        &v,
        "GET /exports/contacts 422",
        &mut problems,
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Targets, KPI figures, series and boards answer as their schemas say.
#[tokio::test]
async fn performance_answers_as_described() {
    let app = App::start().await;
    let doc = doc();
    let boss = app.user("boss", keqing_domain::Role::Admin, None).await;
    let t = app.login("boss").await;
    let mut problems = vec![];
    let body = json!({"level": "user", "subject_id": boss.id, "metric": "sales_amount", "year": 2026, "amount": "120000"});
    let (s, v) = app.call(&t, "POST", "/targets", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let cases: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "POST",
            "/targets",
            "/targets".into(),
            Some(json!({"level": "company", "metric": "visits", "year": 2026, "amount": -1})),
        ),
        (
            "PATCH",
            "/targets/{id}",
            format!("/targets/{id}"),
            Some(
                json!({"version": 1, "amount": "130000", "effective_from": "2026-06-01", "reason": "上调"}),
            ),
        ),
        ("GET", "/targets", "/targets?year=2026".into(), None),
        (
            "GET",
            "/performance",
            "/performance?from=2026-01-01&to=2026-12-31&as_of=2026-06-30".into(),
            None,
        ),
        (
            "GET",
            "/performance",
            "/performance?level=company&metric=visits".into(),
            None,
        ),
        (
            "GET",
            "/performance",
            "/performance?metric=quantity&average_price=true&share_of=省外烟,重点品牌".into(),
            None,
        ),
        (
            "GET",
            "/performance/series",
            "/performance/series?year=2026".into(),
            None,
        ),
        (
            "GET",
            "/performance/board",
            "/performance/board?level=team".into(),
            None,
        ),
        (
            "GET",
            "/performance/board",
            "/performance/board?level=company".into(),
            None,
        ),
    ];
    for (method, template, path, body) in cases {
        let (s, v) = app.call(&t, method, &path, body).await;
        misfits(
            &doc,
            &answer_schema(&doc, method, template, s),
            &v,
            &format!("{method} {path} {s}"),
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Issue 26's orders, payments and receivables answer as described,
/// successes and refusals alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_payments_and_receivables_answer_as_described() {
    let app = App::start().await;
    let doc = doc();
    app.user("boss", keqing_domain::Role::Admin, None).await;
    let t = app.login("boss").await;
    let (s, c) = app
        .call(&t, "POST", "/customers", Some(json!({"name": "图式回款"})))
        .await;
    assert_eq!(s, 201, "{c}");
    let (s, o) = app
        .call(
            &t,
            "POST",
            "/orders",
            Some(json!({"customer_id": c["id"], "date": "2026-03-02", "amount": "500", "unit": "箱"})),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let oid = o["id"].as_i64().unwrap();
    let (s, p) = app
        .call(
            &t,
            "POST",
            &format!("/orders/{oid}/payments"),
            Some(json!({"amount": "100", "due_date": "2026-04-01", "paid_date": "2026-03-30"})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_i64().unwrap();
    let cases: Vec<(&str, &str, String, Option<Value>, u16)> = vec![
        (
            "PATCH",
            "/orders/{id}",
            format!("/orders/{oid}"),
            Some(json!({"version": 1, "product": "黄酒", "quantity": 3})),
            200,
        ),
        (
            "PATCH",
            "/orders/{id}",
            format!("/orders/{oid}"),
            Some(json!({"version": 1, "product": "啤酒"})),
            409,
        ),
        (
            "GET",
            "/orders/{id}/history",
            format!("/orders/{oid}/history"),
            None,
            200,
        ),
        (
            "POST",
            "/orders/{id}/payments",
            format!("/orders/{oid}/payments"),
            Some(json!({"amount": "100", "due_date": "2026-05-01"})),
            201,
        ),
        (
            "POST",
            "/orders/{id}/payments",
            format!("/orders/{oid}/payments"),
            Some(json!({"amount": "9999"})),
            422,
        ),
        (
            "PATCH",
            "/payments/{id}",
            format!("/payments/{pid}"),
            Some(json!({"version": 1, "paid_date": "2026-03-31"})),
            200,
        ),
        (
            "GET",
            "/customers/{id}/orders",
            format!("/customers/{}/orders", c["id"]),
            None,
            200,
        ),
        (
            "GET",
            "/receivables",
            "/receivables?level=company&as_of=2026-06-01".into(),
            None,
            200,
        ),
        ("GET", "/receivables", "/receivables".into(), None, 200),
    ];
    let mut problems = vec![];
    for (method, template, path, body, status) in cases {
        let (s, v) = app.call(&t, method, &path, body).await;
        assert_eq!(s, status, "{method} {path}: {v}");
        misfits(
            &doc,
            &answer_schema(&doc, method, template, s),
            &v,
            &format!("{method} {path}"),
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every answer of the pay area (issue 26) fits the schema the document
/// states for it, member by member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_answers_fit_their_schemas() {
    use keqing_domain::Role;
    let app = App::start().await;
    let doc = doc();
    let team = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap();
    app.user("boss", Role::Admin, None).await;
    let m = app.user("wangfang", Role::Manager, Some(team.id)).await;
    let t = app.login("boss").await;
    let all: Vec<Value> = (1..=10).map(|no| json!({"no": no, "score": 60})).collect();
    let (_, settings) = app.call(&t, "GET", "/pay/settings", None).await;
    let card: Vec<Value> = settings["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"key": i["key"], "score": 75}))
        .collect();
    let mut problems = vec![];
    let mut run = 0;
    let mut bonus = 0;
    let steps: Vec<(&str, &str, &str, Option<Value>)> = vec![
        ("GET", "/pay/settings", "/pay/settings", None),
        (
            "PUT",
            "/pay/duties",
            "/pay/duties",
            Some(json!({"version": 0, "duties": settings["duties"]})),
        ),
        (
            "PUT",
            "/scorecard/items",
            "/scorecard/items",
            Some(json!({"version": 0, "items": settings["items"]})),
        ),
        (
            "POST",
            "/pay/bases",
            "/pay/bases",
            Some(json!({"user_id": m.id, "amount": "5000", "effective_from": "2026-01-01"})),
        ),
        (
            "PUT",
            "/pay/bases",
            "/pay/bases",
            Some(json!({"user_id": m.id, "amount": "5200"})),
        ),
        ("GET", "/pay/bases", "/pay/bases", None),
        (
            "POST",
            "/pay/rates",
            "/pay/rates",
            Some(json!({"role": "manager", "rate": "0.15", "effective_from": "2026-01-01"})),
        ),
        ("GET", "/pay/rates", "/pay/rates", None),
        (
            "PUT",
            "/pay/checklist",
            "/pay/checklist",
            Some(json!({"month": "2026-10", "user_id": m.id, "scores": all})),
        ),
        (
            "GET",
            "/pay/checklist",
            "/pay/checklist?month=2026-10",
            None,
        ),
        (
            "POST",
            "/pay/runs",
            "/pay/runs",
            Some(json!({"month": "2026-10"})),
        ),
        ("GET", "/pay/runs", "/pay/runs", None),
        ("GET", "/pay/runs/{id}", "/pay/runs/RUN", None),
        (
            "POST",
            "/pay/runs/{id}/recompute",
            "/pay/runs/RUN/recompute",
            Some(json!({"version": 1})),
        ),
        (
            "POST",
            "/pay/runs/{id}/review",
            "/pay/runs/RUN/review",
            Some(json!({"version": 2})),
        ),
        (
            "POST",
            "/pay/runs/{id}/approve",
            "/pay/runs/RUN/approve",
            Some(json!({"version": 3})),
        ),
        (
            "POST",
            "/pay/runs/{id}/lock",
            "/pay/runs/RUN/lock",
            Some(json!({"version": 4})),
        ),
        (
            "POST",
            "/pay/runs/{id}/adjustments",
            "/pay/runs/RUN/adjustments",
            Some(json!({"user_id": m.id, "amount": "-10.00", "reason": "扣款"})),
        ),
        (
            "GET",
            "/pay/slip",
            "/pay/slip?month=2026-10&user_id=USER",
            None,
        ),
        (
            "GET",
            "/pay/slip",
            "/pay/slip?month=2026-11&user_id=USER",
            None,
        ),
        (
            "POST",
            "/bonus/simulate",
            "/bonus/simulate",
            Some(json!({"year": 2026})),
        ),
        (
            "POST",
            "/bonus/runs",
            "/bonus/runs",
            Some(json!({"year": 2026, "rate": "0.05"})),
        ),
        ("GET", "/bonus/runs", "/bonus/runs", None),
        (
            "POST",
            "/bonus/runs/{id}/approve",
            "/bonus/runs/BONUS/approve",
            Some(json!({"version": 1})),
        ),
        (
            "POST",
            "/bonus/runs/{id}/lock",
            "/bonus/runs/BONUS/lock",
            Some(json!({"version": 2})),
        ),
        (
            "PUT",
            "/scorecard/scores",
            "/scorecard/scores",
            Some(json!({"month": "2026-10", "user_id": m.id, "scores": card})),
        ),
        (
            "GET",
            "/scorecard/rankings",
            "/scorecard/rankings?month=2026-10&level=region",
            None,
        ),
    ];
    for (method, template, path, body) in steps {
        let path = path
            .replace("RUN", &run.to_string())
            .replace("BONUS", &bonus.to_string())
            .replace("USER", &m.id.to_string());
        let (s, v) = app.call(&t, method, &path, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        if template == "/pay/runs" && method == "POST" {
            run = v["id"].as_i64().unwrap();
        }
        if template == "/bonus/runs" && method == "POST" {
            bonus = v["id"].as_i64().unwrap();
        }
        if s != 204 {
            misfits(
                &doc,
                &answer_schema(&doc, method, template, s),
                &v,
                &format!("{method} {path}"),
                &mut problems,
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
