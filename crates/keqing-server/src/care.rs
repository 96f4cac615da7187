//! Relationship care (客情维护, SPEC §4) over HTTP: the task list, message
//! templates, care settings, the compliance report, and `POST /care/run`.
//!
//! The generation job and the mappings of the store's facts onto
//! keqing-care's rules are `keqing_app::care`'s, shared with the command
//! line (`keqing care run`) and the daily job.

use crate::auth::CurrentUser;
use crate::error::{ApiError, JsonObject};
use crate::extract::{Json, Paging, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Days, NaiveDate, Utc};
use keqing_app::care::{
    birthday_of, cadence_customers, care_activities, channel_str, day_start, days, generate,
    key_date_of, level_of, local_date, sales_activities, stage_of, CareSettings, GenerateError,
    GenerateReport, SettingsError, DEFAULT_COMPANY_NAME, DEFAULT_TEMPLATE, MAX_RANGE_DAYS,
};
use keqing_care::cadence::{self};
use keqing_care::greeting::{self, GreetingReason};
use keqing_care::quota::{self};
use keqing_care::task::{TaskAction, TaskKind, TaskStatus, Transition};
use keqing_care::template::Template;
use keqing_care::{Calendar, CareError};
use keqing_domain::access::{Action, Resource, Scope};
use keqing_domain::activity::ActivityKind as DomainKind;
use keqing_domain::{NewActivity, Role, User};
use keqing_store::{
    CareCustomerQuery, CareStatusChange, CareTaskFilter, CareTaskRow, NewCareTemplate, Store,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

// ---------------------------------------------------------------------------
// HTTP

impl From<GenerateError> for ApiError {
    fn from(e: GenerateError) -> ApiError {
        match e {
            GenerateError::Store(e) => e.into(),
            GenerateError::Range { .. } => ApiError::invalid("to", e.to_string()),
            GenerateError::Care(e) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            GenerateError::Settings(m) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m)
            }
        }
    }
}

/// The owners whose tasks the caller may see (`None`: everyone's), from
/// the caller's customer scope (SPEC §9): a manager their own, a
/// supervisor their team's, a director or administrator all.
async fn task_owners(st: &AppState, u: &User) -> Result<Option<Vec<i64>>, ApiError> {
    let scope = st
        .grants
        .scope(u.role, Resource::Customer, Action::Read)
        .ok_or_else(|| ApiError::forbidden("read care tasks"))?;
    if u.role == Role::Agent || u.role == Role::Finance {
        // Read-only roles do not work care tasks.
        return Err(ApiError::forbidden("read care tasks"));
    }
    Ok(match scope {
        Scope::All => None,
        Scope::Own => Some(vec![u.id]),
        Scope::Team | Scope::Region => {
            let mut ids: Vec<i64> = st
                .store
                .users()
                .await?
                .into_iter()
                .filter(|o| {
                    o.id == u.id
                        || match scope {
                            Scope::Team => u.team_id.is_some() && o.team_id == u.team_id,
                            _ => u.region.is_some() && o.region == u.region,
                        }
                })
                .map(|o| o.id)
                .collect();
            ids.sort_unstable();
            Some(ids)
        }
    })
}

/// The company name signing greetings (the `company_name` setting).
async fn company_name(store: &dyn Store) -> Result<String, ApiError> {
    Ok(store
        .care_setting("company_name")
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| DEFAULT_COMPANY_NAME.to_string()))
}

/// A task's channel and message as shown. A rule task's are stored. A
/// greeting's are made now from the current facts: the channel suggested
/// by the customer's stage and gift policy and the contact's level (000
/// article 3), the message rendered from the template chosen when it was
/// planned, addressed to the contact and signed by the company and the
/// task's owner (000: "署名的格式为公司名称 + 个人姓名").
fn shown(t: &CareTaskRow, company_name: &str) -> (Option<String>, Option<String>) {
    let Some(f) = t
        .facts
        .as_ref()
        .filter(|_| t.kind == TaskKind::Greeting.as_str())
    else {
        return (t.channel.clone(), t.message.clone());
    };
    let channel = t.channel.clone().or_else(|| {
        let s = keqing_care::channel::suggest(
            stage_of(f.business_stage.as_deref()),
            t.contact_id.map(|_| level_of(f.contact_level)),
            f.gifts_forbidden,
        );
        Some(channel_str(s.channels.0).to_string())
    });
    let message = t.message.clone().or_else(|| {
        let template = Template::parse(t.template.as_deref()?).ok()?;
        let reasons: Vec<GreetingReason> = serde_json::from_value(t.occasions.clone()).ok()?;
        let values = greeting::template_values(
            &reasons,
            f.customer_name.as_deref().unwrap_or_default(),
            t.contact_id.map(|_| {
                (
                    f.contact_name.as_deref().unwrap_or_default(),
                    f.contact_title.as_deref(),
                )
            }),
            f.owner_name.as_deref().unwrap_or_default(),
            company_name,
        );
        template.render(&values).ok()
    });
    (channel, message)
}

fn task_json(t: &CareTaskRow, company_name: &str) -> Value {
    let (channel, message) = shown(t, company_name);
    json!({
        "id": t.id,
        "key": t.key,
        "kind": t.kind,
        "date": t.date,
        "customer_id": t.customer_id,
        "contact_id": t.contact_id,
        "owner_id": t.owner_id,
        "occasions": t.occasions,
        "channel": channel,
        "message": message,
        "status": t.status,
        "reason": t.reason,
        "snoozed_until": t.snoozed_until,
        "activity_id": t.activity_id,
    })
}

fn parse_date(field: &str, s: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    s.map(|s| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::invalid(
                field,
                format!("日期格式不正确 {s:?} is not a date (YYYY-MM-DD)"),
            )
        })
    })
    .transpose()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListParams {
    /// first due day (YYYY-MM-DD)
    from: Option<String>,
    /// last due day (YYYY-MM-DD)
    to: Option<String>,
    /// open, done, skipped or snoozed
    status: Option<String>,
    /// the task's kind (occasion, birthday, cadence, quota, …)
    kind: Option<String>,
    /// the manager's user id
    owner: Option<i64>,
    /// 1-based page
    page: Option<i64>,
    /// rows a page
    per_page: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/care/tasks",
    tag = "care",
    operation_id = "care_list_tasks",
    description = "Care tasks in your scope (from, to, status, kind, owner, page, per_page): {items, total}",
    params(TaskListParams),
    responses((status = 200, description = "{items: [task], total}", body = crate::openapi::AnyObject))
)]
pub async fn list_tasks(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<TaskListParams>,
) -> Result<Json<Value>, ApiError> {
    let mut owners = task_owners(&st, &u).await?;
    if let Some(o) = p.owner {
        owners = Some(match owners {
            None => vec![o],
            Some(v) => v.into_iter().filter(|x| *x == o).collect(),
        });
    }
    if let Some(s) = &p.status {
        if !["open", "done", "skipped", "snoozed"].contains(&s.as_str()) {
            return Err(ApiError::invalid(
                "status",
                "任务状态不正确 one of open, done, skipped, snoozed",
            ));
        }
    }
    let Paging {
        page,
        per_page,
        offset,
    } = Paging::new(p.page, p.per_page, 100, 1000)?;
    let f = CareTaskFilter {
        from: parse_date("from", p.from.as_deref())?,
        to: parse_date("to", p.to.as_deref())?,
        status: p.status,
        kind: p.kind,
        owners,
        details: true,
        offset,
        limit: per_page,
    };
    let r = st.store.care_tasks(&f).await?;
    let company = company_name(st.store.as_ref()).await?;
    Ok(Json(json!({
        "items": r.items.iter().map(|t| task_json(t, &company)).collect::<Vec<_>>(),
        "total": r.total,
        "page": page,
        "per_page": per_page,
    })))
}

/// A task the caller may work on, or 404 (another manager's task is not
/// revealed).
async fn own_task(st: &AppState, u: &User, id: i64) -> Result<CareTaskRow, ApiError> {
    let t = st
        .store
        .care_task(id)
        .await?
        .ok_or_else(|| ApiError::not_found("care task"))?;
    let visible = match task_owners(st, u).await? {
        None => true,
        Some(owners) => t.owner_id.is_some_and(|o| owners.contains(&o)),
    };
    if !visible {
        return Err(ApiError::not_found("care task"));
    }
    // A task of a deleted contact or customer is closed with it.
    if let Some(c) = t.contact_id {
        if st
            .store
            .contact(c)
            .await?
            .is_none_or(|p| p.deleted_at.is_some())
        {
            return Err(ApiError::not_found("care task"));
        }
    }
    if let Some(c) = t.customer_id {
        if st
            .store
            .customer(c)
            .await?
            .is_none_or(|c| c.deleted_at.is_some())
        {
            return Err(ApiError::not_found("care task"));
        }
    }
    Ok(t)
}

fn status_of(t: &CareTaskRow) -> TaskStatus {
    match t.status.as_str() {
        "done" => TaskStatus::Done,
        "skipped" => TaskStatus::Skipped {
            reason: t.reason.clone().unwrap_or_default(),
        },
        "snoozed" => TaskStatus::Snoozed {
            until: t.snoozed_until.unwrap_or(t.date),
        },
        _ => TaskStatus::Open,
    }
}

fn activity_kind(channel: Option<&str>) -> DomainKind {
    match channel {
        Some("sms") => DomainKind::Sms,
        Some("visit") => DomainKind::Visit,
        Some("meal") => DomainKind::Meal,
        Some("email") => DomainKind::Email,
        Some("wechat") => DomainKind::Wechat,
        _ => DomainKind::Call,
    }
}

async fn act(
    st: &AppState,
    u: &User,
    id: i64,
    action: TaskAction,
    summary: Option<String>,
) -> Result<Json<Value>, ApiError> {
    let today = local_date(Utc::now());
    let company = company_name(st.store.as_ref()).await?;
    for _ in 0..3 {
        let t = own_task(st, u, id).await?;
        let (channel, message) = shown(&t, &company);
        let next = match status_of(&t).apply(&action, today) {
            Ok(Transition::NoOp) => return Ok(Json(task_json(&t, &company))),
            Ok(Transition::Changed(s)) => s,
            Err(CareError::InvalidTransition { from, to }) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "invalid_transition",
                    format!("任务状态不能这样变更 a {from} task cannot become {to}"),
                ))
            }
            Err(CareError::InvalidParameter { name, detail }) => {
                return Err(ApiError::invalid(name, format!("参数有误 {detail}")))
            }
            Err(e) => return Err(ApiError::bad_request(e.to_string())),
        };
        let (status, reason, until) = match &next {
            TaskStatus::Open => ("open", None, None),
            TaskStatus::Done => ("done", None, None),
            TaskStatus::Skipped { reason } => ("skipped", Some(reason.clone()), None),
            TaskStatus::Snoozed { until } => ("snoozed", None, Some(*until)),
        };
        // Completing logs the contact on the customer's timeline, in the
        // same transaction as the status: once, however often it is sent.
        let activity = (next == TaskStatus::Done && t.customer_id.is_some()).then(|| NewActivity {
            kind: activity_kind(channel.as_deref()),
            contact_id: t.contact_id,
            at: None,
            summary: Some(summary.clone().unwrap_or_else(|| {
                message
                    .clone()
                    .unwrap_or_else(|| format!("客情任务 {}", t.key))
            })),
            gift_item: None,
            gift_value: None,
            help_kind: None,
            matter: None,
            feedback_kind: None,
        });
        let change = CareStatusChange {
            expected: t.status.clone(),
            status: status.into(),
            reason,
            snoozed_until: until,
            activity,
        };
        match st.store.set_care_task_status(id, &change, u).await {
            Ok(row) => return Ok(Json(task_json(&row, &company))),
            // Someone changed it meanwhile: decide again from what is stored.
            Err(StoreError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        "任务正在被他人修改，请重试 the task keeps changing; try again",
    ))
}

/// An optional JSON object body: empty is `{}`.
fn body_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "请求内容应为JSON对象 the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "请求内容不是有效的JSON the body is not valid JSON: {e}"
        ))),
    }
}

fn body_str(body: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_string)
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/complete",
    tag = "care",
    operation_id = "care_complete_task",
    description = "Complete a care task; logs the contact on the customer's timeline once (a second complete logs nothing)",
    params(("id" = i64, Path, description = "care task id")),
    request_body = crate::openapi::TaskActionBody,
    responses((status = 200, description = "The task", body = crate::openapi::AnyObject), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn complete_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let summary = body_str(&body_object(&body)?, "summary");
    act(&st, &u, id, TaskAction::Complete, summary).await
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/skip",
    tag = "care",
    operation_id = "care_skip_task",
    description = "Skip a care task with {reason} (required)",
    params(("id" = i64, Path, description = "care task id")),
    request_body = crate::openapi::TaskActionBody,
    responses((status = 200, description = "The task", body = crate::openapi::AnyObject), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn skip_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let reason = body_str(&body_object(&body)?, "reason").unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(ApiError::invalid(
            "reason",
            "跳过任务需填写原因 a skipped task needs a reason",
        ));
    }
    act(&st, &u, id, TaskAction::Skip { reason }, None).await
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/snooze",
    tag = "care",
    operation_id = "care_snooze_task",
    description = "Snooze a care task {until: YYYY-MM-DD}",
    params(("id" = i64, Path, description = "care task id")),
    request_body = crate::openapi::TaskActionBody,
    responses((status = 200, description = "The task", body = crate::openapi::AnyObject), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn snooze_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let until = body_str(&body_object(&body)?, "until");
    let until = parse_date("until", until.as_deref())?.ok_or_else(|| {
        ApiError::invalid(
            "until",
            "请填写延后到哪一天 snooze until which day (YYYY-MM-DD)?",
        )
    })?;
    act(&st, &u, id, TaskAction::Snooze { until }, None).await
}

// --- templates ---

fn may_edit_templates(u: &User) -> Result<(), ApiError> {
    match u.role {
        Role::Admin | Role::Director | Role::Supervisor => Ok(()),
        _ => Err(ApiError::forbidden("change message templates")),
    }
}

fn template_input(
    body: &serde_json::Map<String, Value>,
    base: Option<&keqing_store::CareTemplate>,
) -> Result<NewCareTemplate, ApiError> {
    let name = body_str(body, "name").or_else(|| base.map(|b| b.name.clone()));
    let text = body_str(body, "body").or_else(|| base.map(|b| b.body.clone()));
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name", "缺少模板名称 a template needs a name"))?;
    let text =
        text.ok_or_else(|| ApiError::invalid("body", "缺少模板内容 a template needs a body"))?;
    // 000: every greeting is signed "company name + personal name".
    Template::parse(&text).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let occasion = match body.get("occasion") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => {
            return Err(ApiError::invalid(
                "occasion",
                "节日格式不正确 an occasion id or null",
            ))
        }
        None => base.and_then(|b| b.occasion.clone()),
    };
    let active = match body.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("active", "应填true或false true or false")),
        None => base.is_none_or(|b| b.active),
    };
    Ok(NewCareTemplate {
        name: name.trim().to_string(),
        body: text,
        occasion,
        active,
    })
}

#[utoipa::path(
    get,
    path = "/care/templates",
    tag = "care",
    operation_id = "care_list_templates",
    description = "Greeting message templates",
    responses((status = 200, description = "The templates, the default text and the placeholders a template may use", body = TemplateList))
)]
pub async fn list_templates(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<TemplateList>, ApiError> {
    let items = st.store.care_templates().await?;
    // What a template may insert, spelled in English or Chinese.
    let placeholders = keqing_care::template::Placeholder::ALL
        .iter()
        .map(|p| PlaceholderName {
            name: p.name(),
            alias_zh: p.alias_zh(),
        })
        .collect();
    Ok(Json(TemplateList {
        total: items.len(),
        items,
        default: DEFAULT_TEMPLATE,
        placeholders,
    }))
}

#[utoipa::path(
    post,
    path = "/care/templates",
    tag = "care",
    operation_id = "care_create_template",
    description = "Create a template; it must end with the signature {公司名称} {经理姓名} (422 otherwise)",
    request_body = crate::openapi::CareTemplateBody,
    responses((status = 201, description = "The template created", body = crate::openapi::CareTemplate))
)]
pub async fn create_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<crate::openapi::CareTemplateBody>,
) -> Result<(StatusCode, Json<keqing_store::CareTemplate>), ApiError> {
    may_edit_templates(&u)?;
    let input = template_input(&body, None)?;
    let t = st.store.create_care_template(&input).await?;
    st.store
        .audit(
            Some(u.id),
            "create",
            "care_template",
            Some(t.id),
            json!({"name": t.name}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(
    patch,
    path = "/care/templates/{id}",
    tag = "care",
    operation_id = "care_update_template",
    description = "Change a template (signature rule as on create)",
    params(("id" = i64, Path, description = "template id")),
    request_body = crate::openapi::CareTemplateBody,
    responses((status = 200, description = "The template changed", body = crate::openapi::CareTemplate))
)]
pub async fn update_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(body, _): JsonObject<crate::openapi::CareTemplateBody>,
) -> Result<Json<keqing_store::CareTemplate>, ApiError> {
    may_edit_templates(&u)?;
    let base = st
        .store
        .care_templates()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("template"))?;
    let input = template_input(&body, Some(&base))?;
    let t = st.store.update_care_template(id, &input).await?;
    st.store
        .audit(Some(u.id), "update", "care_template", Some(id), Value::Null)
        .await?;
    Ok(Json(t))
}

#[utoipa::path(
    delete,
    path = "/care/templates/{id}",
    tag = "care",
    operation_id = "care_delete_template",
    description = "Delete a template",
    params(("id" = i64, Path, description = "template id")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    may_edit_templates(&u)?;
    st.store
        .delete_care_template(id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("template"),
            e => e.into(),
        })?;
    st.store
        .audit(Some(u.id), "delete", "care_template", Some(id), Value::Null)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- settings ---

/// `GET /api/v1/care/settings`: the settings, and beside them (read-only, for
/// the forms) the built-in occasions one may switch off and the solar terms
/// an added occasion may fall on.
#[utoipa::path(
    get,
    path = "/care/settings",
    tag = "care",
    operation_id = "care_get_settings",
    description = "Care settings: company name, cadence standards, daily quota, frequency cap, occasions; and, read-only, builtin_occasions [{id, name_zh, name_en, rule}] and solar_terms",
    responses((status = 200, description = "The settings with builtin_occasions and solar_terms", body = crate::openapi::AnyObject))
)]
pub async fn get_settings(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let settings = CareSettings::load(st.store.as_ref()).await?;
    let mut v =
        serde_json::to_value(&settings).map_err(|e| ApiError::bad_request(e.to_string()))?;
    v["builtin_occasions"] = keqing_care::calendar::BuiltinOccasion::ALL
        .iter()
        .map(|o| json!({"id": o.id(), "name_zh": o.name_zh(), "name_en": o.name_en(), "rule": o.rule()}))
        .collect();
    v["solar_terms"] = json!(keqing_care::lunar::SOLAR_TERMS);
    Ok(Json(v))
}

#[utoipa::path(
    put,
    path = "/care/settings",
    tag = "care",
    operation_id = "care_put_settings",
    description = "Change care settings (administrators; any subset of the keys)",
    request_body = crate::openapi::AnyObject,
    responses((status = 200, description = "The settings stored", body = crate::openapi::AnyObject))
)]
pub async fn put_settings(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<crate::openapi::AnyObject>,
) -> Result<Json<CareSettings>, ApiError> {
    if u.role != Role::Admin {
        return Err(ApiError::forbidden("change care settings"));
    }
    let current = CareSettings::load(st.store.as_ref()).await?;
    let new = current.patched(&body).map_err(|e| match &e {
        SettingsError::Unknown(k) => ApiError::invalid(k, e.to_string()),
        SettingsError::Invalid { key, .. } => ApiError::invalid(key, e.to_string()),
    })?;
    let all = serde_json::to_value(&new).map_err(|e| ApiError::bad_request(e.to_string()))?;
    for k in body.keys() {
        st.store.put_care_setting(k, &all[k.as_str()]).await?;
    }
    st.store
        .audit(
            Some(u.id),
            "update",
            "care_settings",
            None,
            Value::Object(body),
        )
        .await?;
    Ok(Json(new))
}

// --- run ---

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// first day (YYYY-MM-DD)
    from: Option<String>,
    /// last day (YYYY-MM-DD)
    to: Option<String>,
}

fn range(p: &RangeParams) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let today = local_date(Utc::now());
    let from = parse_date("from", p.from.as_deref())?.unwrap_or(today);
    let to = parse_date("to", p.to.as_deref())?.unwrap_or(from);
    if from > to {
        return Err(ApiError::invalid(
            "to",
            "结束日期早于开始日期 to is before from",
        ));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(ApiError::invalid(
            "to",
            "一次最多查询366天 at most 366 days at a time",
        ));
    }
    Ok((from, to))
}

#[utoipa::path(
    post,
    path = "/care/run",
    tag = "care",
    operation_id = "care_run",
    description = "Generate the care tasks of from..=to (supervisors and above); idempotent",
    params(RangeParams),
    responses((status = 200, description = "What was planned and stored, per task kind", body = crate::openapi::GenerateReport))
)]
pub async fn run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<RangeParams>,
) -> Result<Json<GenerateReport>, ApiError> {
    if !matches!(u.role, Role::Admin | Role::Director | Role::Supervisor) {
        return Err(ApiError::forbidden("run care task generation"));
    }
    let (from, to) = range(&p)?;
    let r = generate(st.store.as_ref(), from, to, Utc::now()).await?;
    st.store
        .audit(Some(u.id), "run", "care_tasks", None, json!(r))
        .await?;
    Ok(Json(r))
}

// --- compliance ---

#[derive(Debug, Default, Serialize)]
struct Share {
    due: u64,
    made: u64,
    /// made / due; `null` when nothing was due.
    share: Option<f64>,
}

impl Share {
    fn add(&mut self, due: u64, made: u64) {
        self.due += due;
        self.made += made;
        self.share = (self.due > 0).then(|| self.made as f64 / self.due as f64);
    }
}

/// A team's sums in the compliance report.
#[derive(Debug, Default)]
struct TeamTotals {
    tasks: Share,
    cadence: Share,
    behind: Vec<i64>,
    managers: Vec<i64>,
    quota: Share,
}

#[derive(Debug, Default, Serialize)]
struct QuotaDay {
    date: Option<NaiveDate>,
    working_day: bool,
    required: u64,
    made: u64,
    met: bool,
    new_customer_visits: [u32; 2],
    existing_customer_visits: [u32; 2],
    calls: [u32; 2],
}

/// Fulfilment per manager and team over `from..=to` (SPEC §4): the share of
/// due care contacts made (the care tasks due in the range, with the ids
/// behind each number), the customers behind their cadence standard as of
/// `to` (with the list), and the daily quota by day.
#[utoipa::path(
    get,
    path = "/care/compliance",
    tag = "care",
    operation_id = "care_compliance",
    description = "Care compliance per manager and team (from, to): tasks made, customers behind their cadence standard, daily quota by day",
    params(RangeParams),
    responses((status = 200, description = "{managers, teams, quota}", body = crate::openapi::AnyObject))
)]
pub async fn compliance(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<RangeParams>,
) -> Result<Json<Value>, ApiError> {
    let owners = task_owners(&st, &u).await?;
    let (from, to) = range(&p)?;
    if (to - from).num_days() > 92 {
        return Err(ApiError::invalid(
            "to",
            "合规报告最多覆盖93天 a compliance report covers at most 93 days",
        ));
    }
    let settings = CareSettings::load(st.store.as_ref()).await?;
    let users = st.store.users().await?;
    let in_scope = |id: i64| owners.as_ref().is_none_or(|o| o.contains(&id));
    let managers: Vec<&User> = users
        .iter()
        .filter(|x| x.role == Role::Manager && in_scope(x.id))
        .collect();

    // Care tasks due in the range: done / due, with the task ids.
    let tasks = st
        .store
        .care_tasks(&CareTaskFilter {
            from: Some(from),
            to: Some(to),
            owners: owners.clone(),
            ..Default::default()
        })
        .await?;
    // Cadence as of `to`, from the activities of the standards' periods.
    // The customers under a cadence standard are among those with a rule of their own.
    let customers = st
        .store
        .care_customers(&CareCustomerQuery::default())
        .await?;
    let mut since = from;
    for s in &settings.cadence_standards {
        for r in &s.requirements {
            since = since.min(r.per.bounds(to).0);
        }
    }
    let acts = st
        .store
        .activity_facts(
            day_start(since),
            day_start(to + Days::new(1)),
            day_start(from),
        )
        .await?;
    let cadence_customers = cadence_customers(
        customers.iter().filter(|c| in_scope(c.owner_id)),
        &settings.cadence_standards,
    );
    let care_acts = care_activities(&acts);
    let report = cadence::cadence_report(
        &settings.cadence_standards,
        &cadence_customers,
        &care_acts,
        to,
    )
    .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))?;

    let sales = sales_activities(&acts, from);

    let mut teams: BTreeMap<Option<i64>, TeamTotals> = BTreeMap::new();
    let mut rows = vec![];
    for m in &managers {
        let mine: Vec<&CareTaskRow> = tasks
            .items
            .iter()
            .filter(|t| t.owner_id == Some(m.id))
            .collect();
        let mut task_share = Share::default();
        task_share.add(
            mine.len() as u64,
            mine.iter().filter(|t| t.status == "done").count() as u64,
        );
        let open_ids: Vec<i64> = mine
            .iter()
            .filter(|t| t.status != "done")
            .map(|t| t.id)
            .collect();
        let done_ids: Vec<i64> = mine
            .iter()
            .filter(|t| t.status == "done")
            .map(|t| t.id)
            .collect();
        let mc = report.managers.iter().find(|x| x.manager_id == m.id);
        let mut cad = Share::default();
        cad.add(
            mc.map_or(0, |x| u64::from(x.due)),
            mc.map_or(0, |x| u64::from(x.made)),
        );
        let behind: Vec<i64> = mc.map(|x| x.customers_behind.clone()).unwrap_or_default();
        let behind_lines: Vec<Value> = report
            .lines
            .iter()
            .filter(|l| l.manager_id == m.id && l.behind)
            .map(|l| json!({"customer_id": l.customer_id, "class": l.class, "counted": l.requirement.counted, "per": l.requirement.per, "required": l.required, "due_so_far": l.due_so_far, "made": l.made, "period_start": l.period_start, "period_end": l.period_end}))
            .collect();
        let mut quota_days = vec![];
        let mut quota_share = Share::default();
        for day in days(from, to) {
            let q = quota::quota_progress(
                &settings.daily_quota,
                m.id,
                day,
                quota::is_weekday(day),
                &sales,
            );
            let counts = [q.new_customer_visits, q.existing_customer_visits, q.calls];
            let required: u64 = counts.iter().map(|c| u64::from(c.required)).sum();
            // Extra contacts beyond the quota do not make up for another kind.
            let made: u64 = counts
                .iter()
                .map(|c| u64::from(c.made.min(c.required)))
                .sum();
            quota_share.add(required, made);
            quota_days.push(QuotaDay {
                date: Some(day),
                working_day: q.working_day,
                required,
                made,
                met: q.met(),
                new_customer_visits: [q.new_customer_visits.required, q.new_customer_visits.made],
                existing_customer_visits: [
                    q.existing_customer_visits.required,
                    q.existing_customer_visits.made,
                ],
                calls: [q.calls.required, q.calls.made],
            });
        }
        let team = teams.entry(m.team_id).or_default();
        team.tasks.add(task_share.due, task_share.made);
        team.cadence.add(cad.due, cad.made);
        team.behind.extend(&behind);
        team.managers.push(m.id);
        team.quota.add(quota_share.due, quota_share.made);
        rows.push(json!({
            "manager_id": m.id,
            "name": m.display_name,
            "team_id": m.team_id,
            "tasks": {"due": task_share.due, "made": task_share.made, "share": task_share.share, "done_task_ids": done_ids, "not_done_task_ids": open_ids},
            "cadence": {"due": cad.due, "made": cad.made, "share": cad.share, "customers_behind": behind, "lines_behind": behind_lines},
            "quota": {"required": quota_share.due, "made": quota_share.made, "share": quota_share.share, "days": quota_days},
        }));
    }
    let team_names: HashMap<i64, String> = st
        .store
        .teams()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let team_rows: Vec<Value> = teams
        .into_iter()
        .map(|(id, mut t)| {
            t.behind.sort_unstable();
            let (tasks, cad, behind, managers, quota) =
                (t.tasks, t.cadence, t.behind, t.managers, t.quota);
            json!({
                "team_id": id,
                "name": id.and_then(|i| team_names.get(&i).cloned()),
                "managers": managers,
                "tasks": tasks,
                "cadence": {"due": cad.due, "made": cad.made, "share": cad.share, "customers_behind": behind},
                "quota": quota,
            })
        })
        .collect();
    Ok(Json(json!({
        "from": from,
        "to": to,
        "managers": rows,
        "teams": team_rows,
    })))
}

// --- a customer's coming occasions ---

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OccasionParams {
    /// First day (YYYY-MM-DD, Beijing); today when absent.
    from: Option<String>,
    /// How many days from `from` (1–366, default 60).
    days: Option<i64>,
}

/// `GET /api/v1/customers/{id}/occasions?days=60`: the occasions coming for
/// one customer, by date — the deployment's calendar (festivals greet every
/// customer), each contact's birthday (solar or lunar, keqing-care's rules
/// for a missing 30th or leap month) and the company's key dates. Checked
/// like reading the customer and its contacts.
#[utoipa::path(
    get,
    path = "/customers/{id}/occasions",
    tag = "care",
    operation_id = "care_customer_occasions",
    description = "The customer's coming occasions (from=YYYY-MM-DD, default today; days=1..366, default 60): festivals of the deployment's calendar, each contact's birthday (solar or lunar), the company's key dates",
    params(("id" = i64, Path, description = "customer id"), OccasionParams),
    responses((status = 200, description = "{from, to, items: [{date, kind: occasion|birthday|key_date, occasion, name_zh, name_en, contact_id, contact_name, name, lunar, years}]}", body = crate::openapi::AnyObject))
)]
pub async fn customer_occasions(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Query(p): Query<OccasionParams>,
) -> Result<Json<Value>, ApiError> {
    let c = crate::customers::authorized(&st, &u, id, Resource::Customer, Action::Read).await?;
    let days = p.days.unwrap_or(60);
    if !(1..=MAX_RANGE_DAYS).contains(&days) {
        return Err(ApiError::invalid("days", "天数应为1到366 1 to 366 days"));
    }
    let from = parse_date("from", p.from.as_deref())?.unwrap_or_else(|| local_date(Utc::now()));
    let to = from + Days::new(days as u64 - 1);
    let contacts = if st.grants.allows(
        &u,
        Resource::Contact,
        Action::Read,
        crate::customers::row(&c),
    ) {
        st.store.contacts(id).await?
    } else {
        vec![]
    };
    let settings = CareSettings::load(st.store.as_ref()).await?;
    let calendar = Calendar::new(&settings.occasions).map_err(GenerateError::from)?;
    let mut items: Vec<Value> = vec![];
    for o in calendar.occasions(from, to).map_err(GenerateError::from)? {
        items.push(json!({
            "date": o.date, "kind": "occasion", "occasion": o.id,
            "name_zh": o.name_zh, "name_en": o.name_en,
        }));
    }
    for k in contacts.iter().filter(|k| k.deleted_at.is_none()) {
        let Some((b, a)) = k.fields.birthday.and_then(|b| Some((b, birthday_of(b)?))) else {
            continue;
        };
        let lunar = matches!(b, keqing_domain::Birthday::Lunar { .. });
        for d in a.dates(from, to).map_err(GenerateError::from)? {
            // Before the year of birth (a wrapped negative age): no birthday yet.
            if d.years.is_some_and(|y| y > 1000) {
                continue;
            }
            items.push(json!({
                "date": d.date, "kind": "birthday", "contact_id": k.id,
                "contact_name": k.fields.name, "lunar": lunar,
                "years": d.years.filter(|y| *y > 0),
            }));
        }
    }
    for kd in &c.fields.key_dates {
        let Some(k) = key_date_of(kd) else { continue };
        for d in k.date.dates(from, to).map_err(GenerateError::from)? {
            if d.years.is_some_and(|y| y > 1000) {
                continue;
            }
            items.push(json!({
                "date": d.date, "kind": "key_date", "name": k.name, "lunar": kd.lunar,
                "years": d.years.filter(|y| *y > 0),
            }));
        }
    }
    // By date; on one day festivals first, then key dates, then birthdays (as greetings list them).
    let rank = |v: &Value| match v["kind"].as_str() {
        Some("occasion") => 0,
        Some("key_date") => 1,
        _ => 2,
    };
    items.sort_by(|a, b| (a["date"].as_str(), rank(a)).cmp(&(b["date"].as_str(), rank(b))));
    Ok(Json(json!({"from": from, "to": to, "items": items})))
}
/// `GET /care/templates`: the templates and what a template may use.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    #[schema(value_type = Vec<crate::openapi::CareTemplate>)]
    pub items: Vec<keqing_store::CareTemplate>,
    pub total: usize,
    /// the text a new template starts from
    pub default: &'static str,
    pub placeholders: Vec<PlaceholderName>,
}

/// A placeholder a template may insert, spelled in English or Chinese.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PlaceholderName {
    pub name: &'static str,
    pub alias_zh: &'static str,
}
