//! The OpenAPI description the server serves at `/api/v1/openapi.json`.

use axum::Json;
use serde_json::{json, Value};

/// Every documented operation: method, path, summary, and whether it needs a login.
/// The test `every_route_is_documented` keeps this list and the router in step.
pub const OPERATIONS: &[(&str, &str, &str)] = &[
    (
        "post",
        "/auth/login",
        "Log in with {username, password}; returns a bearer token (and sets the session cookie)",
    ),
    ("post", "/auth/logout", "End this session"),
    ("get", "/auth/me", "The logged-in user"),
    (
        "get",
        "/customers",
        "List and search customers (q: name, pinyin, initials or phone suffix; filters; paging): {items, total, total_capped, page, per_page}; total_capped: the list counted its first 10,000 rows only (a name search on SQLite: 1,000)",
    ),
    (
        "post",
        "/customers",
        "Create a customer (refuses duplicates with 409 duplicate)",
    ),
    (
        "post",
        "/customers/transfer",
        "Hand customers over to another manager, with their history",
    ),
    ("get", "/customers/{id}", "One customer"),
    (
        "patch",
        "/customers/{id}",
        "Change fields (JSON merge patch); must send the version read, stale gives 409",
    ),
    ("delete", "/customers/{id}", "Soft-delete a customer"),
    (
        "post",
        "/customers/{id}/restore",
        "Restore a deleted customer (administrators)",
    ),
    (
        "get",
        "/customers/{id}/history",
        "Field-level change history",
    ),
    (
        "get",
        "/customers/{id}/ownership",
        "Ownership log: create, transfer, release, claim",
    ),
    ("get", "/customers/{id}/contacts", "Contacts of a customer"),
    ("post", "/customers/{id}/contacts", "Create a contact"),
    ("get", "/customers/{id}/activities", "Activity timeline"),
    (
        "post",
        "/customers/{id}/activities",
        "Log an activity (visit, call, SMS, gift, help, feedback…)",
    ),
    ("get", "/customers/{id}/orders", "Orders of a customer"),
    (
        "post",
        "/customers/{id}/claim",
        "Claim a customer from the public pool",
    ),
    (
        "post",
        "/customers/{id}/merge",
        "Merge another customer into this one; both histories are kept",
    ),
    (
        "get",
        "/customers/{id}/completeness",
        "What an A-class file lacks (000)",
    ),
    (
        "get",
        "/customers/{id}/occasions",
        "The customer's coming occasions (from=YYYY-MM-DD, default today; days=1..366, default 60): festivals of the deployment's calendar, each contact's birthday (solar or lunar), the company's key dates: {from, to, items: [{date, kind: occasion|birthday|key_date, occasion, name_zh, name_en, contact_id, contact_name, name, lunar, years}]}",
    ),
    (
        "post",
        "/customers/{id}/changes",
        "Report a change of customer data (must be registered within 15 days)",
    ),
    (
        "patch",
        "/contacts/{id}",
        "Change a contact; must send the version read",
    ),
    ("delete", "/contacts/{id}", "Delete a contact"),
    (
        "get",
        "/changes",
        "Open change reports (overdue=true for those past 15 days)",
    ),
    (
        "post",
        "/changes/{id}/register",
        "Mark a reported change as registered in the file",
    ),
    ("get", "/pool", "Customers in the public pool"),
    (
        "post",
        "/pool/release",
        "Release customers without follow-up to the pool now",
    ),
    (
        "get",
        "/work/incomplete",
        "Key customers whose files are incomplete",
    ),
    (
        "get",
        "/custom-fields",
        "The deployment's custom profile fields: {fields: [{key, label, type, options, required}]}",
    ),
    (
        "put",
        "/custom-fields",
        "Replace the custom profile field definitions (administrators); types text, number, date, choice, multi_choice; 422 for a label or key a customers import reads as another column (生日, 等级)",
    ),
    ("get", "/analysis/rfm", "RFM eight classes over your customers' orders (as_of; class= lists the members)"),
    ("get", "/analysis/abc", "ABC / Pareto classes, the Pareto curve and the top-20% share (cuts=70,20,5,5; class= lists members)"),
    ("get", "/analysis/clv", "Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma (model, freq, horizon_months, discount); deciles: CLV at P0, P10 … P100; top: the customers by CLV (page, per_page); decile=1..10 lists that decile's members (1: the top 10%) as members"),
    ("get", "/analysis/repeat", "Repeat-purchase distribution and purchase cycle; purchases=k lists the customers who bought k times as members (page, per_page)"),
    ("get", "/analysis/funnel", "AISAS funnel rates from six stage counts, and the weakest stage"),
    ("post", "/analysis/apply", "Write each customer's ABC class, RFM class, CLV, P(alive) and spend-band tier (tier_year, default last year) onto the file"),
    ("get", "/analysis/snapshots", "Saved analysis snapshots you may see, newest first: {items: [{id, kind, name, params, as_of, summary, created_at, created_by, members}]}"),
    ("post", "/analysis/snapshots", "Run an analysis on your orders and save it with its members: {kind: rfm|abc|clv, name, params: {as_of, cuts, model, freq, horizon_months, discount}}"),
    ("get", "/analysis/snapshots/{id}", "One snapshot: parameters, as-of date and summary"),
    ("delete", "/analysis/snapshots/{id}", "Delete a snapshot (its maker or an administrator)"),
    ("get", "/analysis/snapshots/{id}/members", "A snapshot's members as a target list, within your scope (class, page, per_page): {items: [{customer_id, name, owner_id, class, data}], total}"),
    ("get", "/users", "Users in the caller's scope"),
    ("post", "/users", "Create a user (administrators)"),
    ("patch", "/users/{id}", "Change a user's role, team_id (null: none), region (one of GET /regions; null: none) or active (administrators); 422 names each wrong field, 409 when the last active administrator would step down; deactivating ends the user's sessions"),
    ("get", "/teams", "Teams"),
    ("get", "/roles", "The permission matrix the server enforces (read-only): {roles, resources, actions, scopes, grants: [{role, resource, action, scope}]}; a combination not listed is refused"),
    ("post", "/teams", "Create a team {name, region} (administrators); the region must be on the region list (422), a taken name is refused (409)"),
    ("patch", "/teams/{id}", "Rename a team or move it to another region: {name, region} (either; region null: none) (administrators); 422 names each wrong field, 409 a taken name"),
    ("get", "/regions", "The regions (区域) users and teams are in, named as customers' provinces: {items: [{id, name, users, teams}], total}"),
    ("post", "/regions", "Add a region {name} (administrators); 409 duplicate when it exists"),
    ("delete", "/regions/{id}", "Remove a region no user or team is in (administrators); 409 refused otherwise"),
    ("get", "/audit", "Audit log"),
    ("post", "/imports/{kind}", "Import customers, contacts or orders from CSV/XLSX (raw body with ?filename=, or multipart field `file`); returns {imported, existing, rejected, errors: [{line, column, message}]}. With ?preview=true nothing is stored: returns {kind, file, source: {format, encoding, delimiter | sheet, header_line}, columns: [{index, header, field (custom.KEY for a custom field), field_label, status: mapped|unknown|duplicate|ignored}], missing_required: [field], missing_required_labels, file_errors, importable, data_rows, sample: [{line, cells: {field: value}, errors: [{line, column, column_index, field, message}]}] (the first 20 rows), errors_in_sample, warnings, note} (a contact's or order's customer is looked up only by the import)"),
    ("get", "/imports/{kind}/template", "An empty CSV to fill in (UTF-8 with BOM): a header row of every column the import of customers, contacts or orders knows, by its Chinese name, and for customers each custom field by its label"),
    ("get", "/exports/customers", "Export the customers in your scope as CSV or XLSX (format=csv|xlsx, lang=zh|en), with a column per custom field headed with its label (zh) or key (en)"),
    ("get", "/openapi.json", "This document"),
    (
        "get",
        "/care/tasks",
        "Care tasks in your scope (from, to, status, kind, owner, page, per_page): {items, total}",
    ),
    (
        "post",
        "/care/tasks/{id}/complete",
        "Complete a care task; logs the contact on the customer's timeline once (a second complete logs nothing)",
    ),
    (
        "post",
        "/care/tasks/{id}/skip",
        "Skip a care task with {reason} (required)",
    ),
    (
        "post",
        "/care/tasks/{id}/snooze",
        "Snooze a care task {until: YYYY-MM-DD}",
    ),
    ("get", "/care/templates", "Greeting message templates: {items, default, placeholders: [{name, alias_zh}]}"),
    (
        "post",
        "/care/templates",
        "Create a template; it must end with the signature {公司名称} {经理姓名} (422 otherwise)",
    ),
    (
        "patch",
        "/care/templates/{id}",
        "Change a template (signature rule as on create)",
    ),
    ("delete", "/care/templates/{id}", "Delete a template"),
    (
        "get",
        "/care/settings",
        "Care settings: company name, cadence standards, daily quota, frequency cap, occasions; and, read-only, builtin_occasions [{id, name_zh, name_en, rule}] and solar_terms",
    ),
    (
        "put",
        "/care/settings",
        "Change care settings (administrators; any subset of the keys)",
    ),
    (
        "get",
        "/care/compliance",
        "Care compliance per manager and team (from, to): tasks made, customers behind their cadence standard, daily quota by day",
    ),
    (
        "post",
        "/care/run",
        "Generate the care tasks of from..=to (supervisors and above); idempotent",
    ),
];

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "description": "machine-readable: unauthorized, forbidden, not_found, invalid, version_conflict, duplicate, rate_limited, …"},
            "message": {"type": "string"},
            "details": {"description": "fields in error, duplicate ids, current version…"}
        }
    })
}

/// A customer as every customer endpoint answers it: the file's fields (SPEC
/// §1) and what the store and the analysis keep beside them. The test
/// `the_customer_schema_names_every_field` keeps it and the JSON in step.
fn customer_schema() -> Value {
    let text = |d: &str| json!({"type": "string", "nullable": true, "description": d});
    let id = |d: &str| json!({"type": "integer", "nullable": true, "description": d});
    let time = |d: &str| json!({"type": "string", "format": "date-time", "nullable": true, "description": d});
    json!({
        "type": "object",
        "required": ["id", "version", "name", "kind", "stage", "business_stage"],
        "properties": {
            "id": {"type": "integer"},
            "version": {"type": "integer", "description": "optimistic concurrency: a PATCH must send the version it read (409 when stale)"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["company", "individual"]},
            "company_type": {"type": "string", "nullable": true, "enum": ["state_owned", "private", "foreign", "institution", "government", "other"]},
            "industry": text("industry"),
            "province": text("province; the region a regional scope compares with"),
            "city": text("city"),
            "district": text("district"),
            "address": text("address"),
            "phone": text("phone"),
            "website": text("website"),
            "email": text("email"),
            "external_code": text("unified social credit code or another external code"),
            "source": {"type": "string", "nullable": true, "enum": ["referral", "advertising", "media", "walk_in", "other"]},
            "referrer_id": id("the customer who referred this one"),
            "stage": {"type": "string", "enum": ["to_identify", "potential", "opportunity", "order_customer", "user"]},
            "business_stage": {"type": "string", "enum": ["new", "intent", "existing"]},
            "class": text("ABC class A, B, C or D (written by POST /analysis/apply, or set by hand)"),
            "tier": text("spend-band tier, e.g. 水晶"),
            "tags": {"type": "array", "items": {"type": "string"}},
            "key_customer": {"type": "boolean"},
            "card": {"type": "object", "description": "relationship card 客情关系卡: interests, recent_events, business_progress, taboos, gifts_forbidden, gift_policy, preferred_contact_time"},
            "key_dates": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "date": {"type": "string", "format": "date"}, "lunar": {"type": "boolean"}}}},
            "custom": {"type": "object", "description": "the deployment's custom profile fields, by key"},
            "parent_id": id("the group this member company belongs to"),
            "owner_id": id("the responsible customer manager; null: the public pool"),
            "team_id": id("the owner's team"),
            "rfm_class": text("RFM eight-class key, e.g. important_value (POST /analysis/apply)"),
            "clv": text("customer lifetime value in yuan, a decimal string (POST /analysis/apply)"),
            "p_alive": {"type": "number", "format": "double", "minimum": 0, "maximum": 1, "nullable": true, "description": "P(alive): the probability that the customer is still buying, BG/NBD (POST /analysis/apply)"},
            "last_follow_up_at": time("the owner's last logged follow-up"),
            "created_at": time("created"),
            "updated_at": time("last changed"),
            "deleted_at": time("soft-deleted at; null while live"),
            "merged_into": id("the customer this one was merged into"),
        }
    })
}

pub fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary) in OPERATIONS {
        let mut op = json!({
            "summary": summary,
            "responses": {
                "200": {"description": "OK"},
                "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        let customer = json!({"$ref": "#/components/schemas/Customer"});
        let answer = match (*method, *path) {
            ("get" | "patch", "/customers/{id}") | ("post", "/customers/{id}/restore") => {
                Some(customer)
            }
            ("get", "/customers") | ("get", "/pool") => Some(json!({
                "type": "object",
                "properties": {"items": {"type": "array", "items": customer}, "total": {"type": "integer"},
                               "total_capped": {"type": "boolean"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}}
            })),
            _ => None,
        };
        if let Some(schema) = answer {
            op["responses"]["200"]["content"] = json!({"application/json": {"schema": schema}});
        }
        let mut params = vec![];
        if path.contains("{kind}") {
            params.push(json!({"name": "kind", "in": "path", "required": true, "schema": {"type": "string", "enum": ["customers", "contacts", "orders"]}}));
        }
        if path.contains("{id}") {
            params.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}));
        }
        if *path == "/customers" && *method == "get" {
            for (n, d) in [
                (
                    "q",
                    "name part, pinyin, pinyin initials (in order) or the last digits of a phone",
                ),
                ("owner", "owner user id"),
                ("tag", "a whole tag"),
                ("region", "province: a region of GET /regions"),
                ("class", "A, B, C or D"),
                ("tier", "tier name"),
                ("stage", "lifecycle stage id"),
                ("pool", "true: only the public pool"),
                ("deleted", "true: only deleted customers (administrators)"),
                ("sort", "id, name, updated or follow_up"),
                ("page", "1-based page"),
                ("per_page", "1–200, default 20"),
                (
                    "ids",
                    "1,2,3: only these customers (at most 200) that you may read, in that order; the other filters are not applied",
                ),
            ] {
                params.push(json!({"name": n, "in": "query", "required": false, "description": d, "schema": {"type": "string"}}));
            }
        }
        if *path == "/imports/{kind}" {
            for (n, d) in [
                (
                    "filename",
                    "the file's name when the body is the raw file (tells CSV from XLSX)",
                ),
                (
                    "owner",
                    "customers: the user who owns the imported customers (default: you)",
                ),
                (
                    "preview",
                    "true: answer the column mapping and the first rows checked, store nothing",
                ),
            ] {
                params.push(json!({"name": n, "in": "query", "required": false, "description": d, "schema": {"type": "string"}}));
            }
        }
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        if *path != "/auth/login" && *path != "/openapi.json" {
            op["security"] = json!([{"bearer": []}, {"cookie": []}]);
        }
        let entry = paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "keqing (客情) API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Customer archive, value analysis and relationship care. Errors are {code, message, details}. Money is a decimal string in yuan."},
        "paths": paths,
        "components": {
            "schemas": {"Error": error_schema(), "Customer": customer_schema()},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "keqing_session"}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
