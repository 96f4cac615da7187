//! Relationship care (客情维护, SPEC §4) over HTTP: the task list, message
//! templates, care settings, the compliance report, and `POST /care/run`.
//!
//! The generation job and the mappings of the store's facts onto
//! keqing-care's rules are `keqing_app::care`'s, shared with the command
//! line (`keqing care run`) and the daily job.

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{Json, Paging, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Days, NaiveDate, Utc};
use keqing_app::care::{
    birthday_of, cadence_customers, care_activities, channel_str, day_start, days, generate,
    key_date_of, level_of, local_date, sales_activities, stage_of, CareSettings, GenerateError,
    GenerateReport, SettingsError, SettingsPatch, DEFAULT_COMPANY_NAME, DEFAULT_TEMPLATE,
    MAX_RANGE_DAYS,
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
use utoipa::ToSchema;

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

/// A care task as the API answers it: its channel and message as shown
/// (a greeting's made now from the current facts).
#[derive(Serialize, ToSchema)]
pub struct TaskView {
    pub id: i64,
    /// what makes the task unique, e.g. greeting:c3:p5:2026-09-25
    pub key: String,
    /// greeting, cadence, quota, …
    pub kind: String,
    /// the day it is due
    pub date: NaiveDate,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// the manager who works it
    pub owner_id: Option<i64>,
    /// a greeting's reasons (occasions, birthdays, key dates) as a list; a
    /// rule task's figures as an object
    pub occasions: Value,
    /// call, sms, visit, meal, email, wechat, …
    pub channel: Option<String>,
    pub message: Option<String>,
    /// open, done, skipped or snoozed
    pub status: String,
    /// why it was skipped
    pub reason: Option<String>,
    pub snoozed_until: Option<NaiveDate>,
    /// the timeline entry its completion logged
    pub activity_id: Option<i64>,
}

fn task_view(t: &CareTaskRow, company_name: &str) -> TaskView {
    let (channel, message) = shown(t, company_name);
    TaskView {
        id: t.id,
        key: t.key.clone(),
        kind: t.kind.clone(),
        date: t.date,
        customer_id: t.customer_id,
        contact_id: t.contact_id,
        owner_id: t.owner_id,
        occasions: t.occasions.clone(),
        channel,
        message,
        status: t.status.clone(),
        reason: t.reason.clone(),
        snoozed_until: t.snoozed_until,
        activity_id: t.activity_id,
    }
}

/// A page of care tasks.
#[derive(Serialize, ToSchema)]
pub struct TaskList {
    pub items: Vec<TaskView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

pub(crate) fn parse_date(field: &str, s: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
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
    responses((status = 200, description = "A page of tasks, by day", body = TaskList))
)]
pub async fn list_tasks(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<TaskListParams>,
) -> Result<Json<TaskList>, ApiError> {
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
    Ok(Json(TaskList {
        items: r.items.iter().map(|t| task_view(t, &company)).collect(),
        total: r.total,
        page,
        per_page,
    }))
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

/// How a task was done, as the salesperson says when completing it.
#[derive(Debug, Default)]
struct Done {
    /// The channel actually used; required to complete a customer's task.
    channel: Option<DomainKind>,
    /// What was said or done.
    note: Option<String>,
}

/// The channels a care task can be done through.
const DONE_THROUGH: [DomainKind; 6] = [
    DomainKind::Visit,
    DomainKind::Call,
    DomainKind::Sms,
    DomainKind::Wechat,
    DomainKind::Email,
    DomainKind::Meal,
];

/// The timeline's text for a task completed without a note: what was sent
/// for a message to the customer, otherwise which task it was.
fn done_summary(t: &CareTaskRow, message: Option<&str>) -> String {
    match (t.kind.as_str(), message) {
        ("greeting" | "order_day", Some(m)) if !m.trim().is_empty() => m.to_string(),
        (kind, _) => {
            let what = match kind {
                "greeting" => "问候",
                "cadence" => "拜访标准",
                "deadline" => "档案登记",
                "order_day" => "订货日提醒",
                "follow_up" => "跟进",
                _ => "客情",
            };
            format!("完成客情任务（{what}）")
        }
    }
}

async fn act(
    st: &AppState,
    u: &User,
    id: i64,
    action: TaskAction,
    done: Done,
) -> Result<Json<TaskView>, ApiError> {
    let today = local_date(Utc::now());
    let company = company_name(st.store.as_ref()).await?;
    for _ in 0..3 {
        let t = own_task(st, u, id).await?;
        let (_, message) = shown(&t, &company);
        let next = match status_of(&t).apply(&action, today) {
            Ok(Transition::NoOp) => return Ok(Json(task_view(&t, &company))),
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
        // same transaction as the status: once, however often it is sent;
        // through the channel actually used, which the salesperson names.
        let activity = match (&next, t.customer_id) {
            (TaskStatus::Done, Some(_)) => {
                let Some(kind) = done.channel else {
                    return Err(ApiError::invalid(
                        "channel",
                        "请选择实际使用的联系方式 name the channel you used (visit, call, sms, wechat, email, meal)",
                    ));
                };
                Some(NewActivity {
                    kind,
                    contact_id: t.contact_id,
                    at: None,
                    summary: Some(
                        done.note
                            .clone()
                            .filter(|n| !n.trim().is_empty())
                            .unwrap_or_else(|| done_summary(&t, message.as_deref())),
                    ),
                    gift_item: None,
                    gift_value: None,
                    help_kind: None,
                    matter: None,
                    feedback_kind: None,
                    card_breach: None,
                })
            }
            _ => None,
        };
        let change = CareStatusChange {
            expected: t.status.clone(),
            status: status.into(),
            reason,
            snoozed_until: until,
            activity,
        };
        match st.store.set_care_task_status(id, &change, u).await {
            Ok(row) => return Ok(Json(task_view(&row, &company))),
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

/// The body of a care task's complete, skip or snooze.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TaskActionBody {
    /// complete: what was said or done (logged on the timeline)
    pub summary: Option<String>,
    /// complete: the channel actually used (visit, call, sms, wechat, email,
    /// meal); required for a customer's task
    #[schema(value_type = Option<keqing_domain::ActivityKind>)]
    pub channel: Option<String>,
    /// skip: why (required)
    pub reason: Option<String>,
    /// snooze: YYYY-MM-DD (required)
    #[schema(value_type = Option<NaiveDate>)]
    pub until: Option<String>,
}

/// The action's body: optional (the workbench completes a task with none),
/// and read as JSON whatever content type it names, as it always was.
fn action_body(bytes: &[u8]) -> Result<TaskActionBody, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(TaskActionBody::default());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => crate::extract::typed(v),
        Ok(_) => Err(ApiError::bad_request(
            "请求内容应为JSON对象 the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "请求内容不是有效的JSON the body is not valid JSON: {e}"
        ))),
    }
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/complete",
    tag = "care",
    operation_id = "care_complete_task",
    description = "Complete a care task with {channel, summary?}: logs the contact through the channel actually used on the customer's timeline once (a second complete logs nothing)",
    params(("id" = i64, Path, description = "care task id")),
    request_body = TaskActionBody,
    responses((status = 200, description = "The task", body = TaskView), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn complete_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<TaskView>, ApiError> {
    let body = action_body(&body)?;
    let channel = match body.channel.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => match DomainKind::parse(c) {
            Ok(k) if DONE_THROUGH.contains(&k) => Some(k),
            _ => {
                return Err(ApiError::invalid(
                    "channel",
                    format!("联系方式应为拜访、电话、短信、微信、邮件或宴请 the channel must be one of visit, call, sms, wechat, email, meal; got {c:?}"),
                ))
            }
        },
    };
    let done = Done {
        channel,
        note: body.summary,
    };
    act(&st, &u, id, TaskAction::Complete, done).await
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/skip",
    tag = "care",
    operation_id = "care_skip_task",
    description = "Skip a care task with {reason} (required)",
    params(("id" = i64, Path, description = "care task id")),
    request_body = TaskActionBody,
    responses((status = 200, description = "The task", body = TaskView), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn skip_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<TaskView>, ApiError> {
    let reason = action_body(&body)?.reason.unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(ApiError::invalid(
            "reason",
            "跳过任务需填写原因 a skipped task needs a reason",
        ));
    }
    act(&st, &u, id, TaskAction::Skip { reason }, Done::default()).await
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/snooze",
    tag = "care",
    operation_id = "care_snooze_task",
    description = "Snooze a care task {until: YYYY-MM-DD}",
    params(("id" = i64, Path, description = "care task id")),
    request_body = TaskActionBody,
    responses((status = 200, description = "The task", body = TaskView), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn snooze_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<TaskView>, ApiError> {
    let until = action_body(&body)?.until;
    let until = parse_date("until", until.as_deref())?.ok_or_else(|| {
        ApiError::invalid(
            "until",
            "请填写延后到哪一天 snooze until which day (YYYY-MM-DD)?",
        )
    })?;
    act(&st, &u, id, TaskAction::Snooze { until }, Done::default()).await
}

// --- templates ---

fn may_edit_templates(u: &User) -> Result<(), ApiError> {
    match u.role {
        Role::Admin | Role::Director | Role::Supervisor => Ok(()),
        _ => Err(ApiError::forbidden("change message templates")),
    }
}

/// A template to create, or the changes to one (`PATCH`: any of the
/// members; those left out keep their value).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TemplateBody {
    pub name: Option<String>,
    /// the message; it must end with the signature {公司名称} {经理姓名}
    pub body: Option<String>,
    /// the occasion id it greets; null or empty: any
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    pub occasion: Option<Option<String>>,
    pub active: Option<bool>,
}

fn template_input(
    body: TemplateBody,
    base: Option<&keqing_store::CareTemplate>,
) -> Result<NewCareTemplate, ApiError> {
    let name = body.name.or_else(|| base.map(|b| b.name.clone()));
    let text = body.body.or_else(|| base.map(|b| b.body.clone()));
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name", "缺少模板名称 a template needs a name"))?;
    let text =
        text.ok_or_else(|| ApiError::invalid("body", "缺少模板内容 a template needs a body"))?;
    // 000: every greeting is signed "company name + personal name".
    Template::parse(&text).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let occasion = match body.occasion {
        Some(o) => o.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        None => base.and_then(|b| b.occasion.clone()),
    };
    let active = body.active.unwrap_or_else(|| base.is_none_or(|b| b.active));
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
    request_body = TemplateBody,
    responses((status = 201, description = "The template created", body = keqing_store::CareTemplate))
)]
pub async fn create_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(body): Json<TemplateBody>,
) -> Result<(StatusCode, Json<keqing_store::CareTemplate>), ApiError> {
    may_edit_templates(&u)?;
    let input = template_input(body, None)?;
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
    request_body = TemplateBody,
    responses((status = 200, description = "The template changed", body = keqing_store::CareTemplate))
)]
pub async fn update_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<TemplateBody>,
) -> Result<Json<keqing_store::CareTemplate>, ApiError> {
    may_edit_templates(&u)?;
    let base = st
        .store
        .care_templates()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("template"))?;
    let input = template_input(body, Some(&base))?;
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
    responses((status = 200, description = "The settings with builtin_occasions and solar_terms", body = SettingsView))
)]
pub async fn get_settings(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<SettingsView>, ApiError> {
    let settings = CareSettings::load(st.store.as_ref()).await?;
    Ok(Json(SettingsView {
        settings,
        builtin_occasions: keqing_care::calendar::BuiltinOccasion::ALL
            .iter()
            .map(|o| BuiltinOccasionView {
                id: o.id(),
                name_zh: o.name_zh(),
                name_en: o.name_en(),
                rule: o.rule(),
            })
            .collect(),
        solar_terms: keqing_care::lunar::SOLAR_TERMS.to_vec(),
    }))
}

/// The care settings, and what the forms offer beside them.
#[derive(Serialize, ToSchema)]
pub struct SettingsView {
    #[serde(flatten)]
    pub settings: CareSettings,
    /// the built-in occasions, which `occasions.disabled` may switch off
    pub builtin_occasions: Vec<BuiltinOccasionView>,
    /// the 24 solar terms an added occasion may fall on
    pub solar_terms: Vec<&'static str>,
}

/// A built-in occasion and its rule.
#[derive(Serialize, ToSchema)]
pub struct BuiltinOccasionView {
    pub id: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub rule: keqing_care::calendar::OccasionRule,
}

#[utoipa::path(
    put,
    path = "/care/settings",
    tag = "care",
    operation_id = "care_put_settings",
    description = "Change care settings (administrators; any subset of the keys)",
    request_body = SettingsPatch,
    responses((status = 200, description = "The settings stored", body = CareSettings))
)]
pub async fn put_settings(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(body): Json<SettingsPatch>,
) -> Result<Json<CareSettings>, ApiError> {
    if u.role != Role::Admin {
        return Err(ApiError::forbidden("change care settings"));
    }
    let current = CareSettings::load(st.store.as_ref()).await?;
    let new = current.patched(&body).map_err(|e| match &e {
        SettingsError::Invalid { key, .. } => ApiError::invalid(key, e.to_string()),
    })?;
    let entries = body.entries();
    for (k, v) in &entries {
        st.store.put_care_setting(k, v).await?;
    }
    st.store
        .audit(
            Some(u.id),
            "update",
            "care_settings",
            None,
            Value::Object(entries.into_iter().collect()),
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
    responses((status = 200, description = "What was planned and stored, per task kind", body = GenerateReport))
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

/// How much of what was due was made.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Share {
    pub due: u64,
    pub made: u64,
    /// made / due; null when nothing was due
    pub share: Option<f64>,
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

/// A manager's daily quota on one day.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct QuotaDay {
    pub date: Option<NaiveDate>,
    pub working_day: bool,
    /// false before the user started (their account's first day): nothing
    /// is required of them that day
    pub started: bool,
    pub required: u64,
    /// made, each kind counted up to what it requires
    pub made: u64,
    pub met: bool,
    /// [required, made]
    pub new_customer_visits: [u32; 2],
    /// [required, made]
    pub existing_customer_visits: [u32; 2],
    /// [required, made]
    pub calls: [u32; 2],
}

/// The compliance report over from..=to.
#[derive(Serialize, ToSchema)]
pub struct Compliance {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub managers: Vec<ManagerCompliance>,
    pub teams: Vec<TeamCompliance>,
}

/// One manager's fulfilment.
#[derive(Serialize, ToSchema)]
pub struct ManagerCompliance {
    pub manager_id: i64,
    pub name: String,
    pub team_id: Option<i64>,
    /// the care tasks due in the range
    pub tasks: TaskShare,
    /// the cadence standards as of `to`
    pub cadence: ManagerCadence,
    /// the daily quota over the range
    pub quota: QuotaShare,
    /// gifts the manager logged in the range against the customer's card
    /// (禁止送礼, or above its gift policy)
    pub gift_breaches: Vec<GiftBreachRow>,
}

/// A gift logged although the customer's card did not allow it.
#[derive(Serialize, ToSchema)]
pub struct GiftBreachRow {
    pub customer_id: i64,
    pub at: chrono::DateTime<Utc>,
    /// forbidden (the card forbids gifts) or over_limit (above its policy)
    pub rule: String,
}

/// Care tasks due and done, with the ids behind each number.
#[derive(Serialize, ToSchema)]
pub struct TaskShare {
    pub due: u64,
    pub made: u64,
    pub share: Option<f64>,
    pub done_task_ids: Vec<i64>,
    pub not_done_task_ids: Vec<i64>,
}

/// Contacts due and made under the cadence standards, and who is behind.
#[derive(Serialize, ToSchema)]
pub struct ManagerCadence {
    pub due: u64,
    pub made: u64,
    pub share: Option<f64>,
    pub customers_behind: Vec<i64>,
    pub lines_behind: Vec<BehindLine>,
}

/// One requirement a customer is behind on.
#[derive(Serialize, ToSchema)]
pub struct BehindLine {
    pub customer_id: i64,
    /// the cadence class, e.g. crystal
    pub class: String,
    pub counted: keqing_care::cadence::Counted,
    pub per: keqing_care::cadence::Period,
    pub required: u32,
    pub due_so_far: u32,
    pub made: u32,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

/// The daily quota over the range, by day.
#[derive(Serialize, ToSchema)]
pub struct QuotaShare {
    pub required: u64,
    pub made: u64,
    pub share: Option<f64>,
    pub days: Vec<QuotaDay>,
}

/// A team's sums.
#[derive(Serialize, ToSchema)]
pub struct TeamCompliance {
    /// null: managers in no team
    pub team_id: Option<i64>,
    pub name: Option<String>,
    pub managers: Vec<i64>,
    pub tasks: Share,
    pub cadence: TeamCadence,
    /// the daily quota: due is what was required
    pub quota: Share,
}

/// A team's cadence sums.
#[derive(Serialize, ToSchema)]
pub struct TeamCadence {
    pub due: u64,
    pub made: u64,
    pub share: Option<f64>,
    pub customers_behind: Vec<i64>,
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
    responses((status = 200, description = "Per manager and team", body = Compliance))
)]
pub async fn compliance(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<RangeParams>,
) -> Result<Json<Compliance>, ApiError> {
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
    let starts = st.store.user_starts().await?;
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
        let behind_lines: Vec<BehindLine> = report
            .lines
            .iter()
            .filter(|l| l.manager_id == m.id && l.behind)
            .map(|l| BehindLine {
                customer_id: l.customer_id,
                class: l.class.clone(),
                counted: l.requirement.counted,
                per: l.requirement.per,
                required: l.required,
                due_so_far: l.due_so_far,
                made: l.made,
                period_start: l.period_start,
                period_end: l.period_end,
            })
            .collect();
        let mut quota_days = vec![];
        let mut quota_share = Share::default();
        let started_on = starts.get(&m.id).map(|at| local_date(*at));
        for day in days(from, to) {
            // Nobody is measured before they started.
            let started = started_on.is_none_or(|s| day >= s);
            let q = quota::quota_progress(
                &settings.daily_quota,
                m.id,
                day,
                quota::is_weekday(day) && started,
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
                working_day: quota::is_weekday(day),
                started,
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
        rows.push(ManagerCompliance {
            manager_id: m.id,
            name: m.display_name.clone(),
            team_id: m.team_id,
            tasks: TaskShare {
                due: task_share.due,
                made: task_share.made,
                share: task_share.share,
                done_task_ids: done_ids,
                not_done_task_ids: open_ids,
            },
            cadence: ManagerCadence {
                due: cad.due,
                made: cad.made,
                share: cad.share,
                customers_behind: behind,
                lines_behind: behind_lines,
            },
            quota: QuotaShare {
                required: quota_share.due,
                made: quota_share.made,
                share: quota_share.share,
                days: quota_days,
            },
            gift_breaches: acts
                .iter()
                .filter(|a| a.user_id == Some(m.id) && a.at >= day_start(from))
                .filter_map(|a| {
                    a.card_breach.as_ref().map(|rule| GiftBreachRow {
                        customer_id: a.customer_id,
                        at: a.at,
                        rule: rule.clone(),
                    })
                })
                .collect(),
        });
    }
    let team_names: HashMap<i64, String> = st
        .store
        .teams()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let team_rows: Vec<TeamCompliance> = teams
        .into_iter()
        .map(|(id, mut t)| {
            t.behind.sort_unstable();
            TeamCompliance {
                team_id: id,
                name: id.and_then(|i| team_names.get(&i).cloned()),
                managers: t.managers,
                tasks: t.tasks,
                cadence: TeamCadence {
                    due: t.cadence.due,
                    made: t.cadence.made,
                    share: t.cadence.share,
                    customers_behind: t.behind,
                },
                quota: t.quota,
            }
        })
        .collect();
    Ok(Json(Compliance {
        from,
        to,
        managers: rows,
        teams: team_rows,
    }))
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
    responses((status = 200, description = "The occasions by date; on one day festivals, then key dates, then birthdays", body = ComingOccasions))
)]
pub async fn customer_occasions(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Query(p): Query<OccasionParams>,
) -> Result<Json<ComingOccasions>, ApiError> {
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
    let mut items: Vec<Coming> = vec![];
    for o in calendar.occasions(from, to).map_err(GenerateError::from)? {
        items.push(Coming::Occasion {
            date: o.date,
            occasion: o.id.to_string(),
            name_zh: o.name_zh.to_string(),
            name_en: o.name_en.to_string(),
        });
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
            items.push(Coming::Birthday {
                date: d.date,
                contact_id: k.id,
                contact_name: k.fields.name.clone(),
                lunar,
                years: d.years.filter(|y| *y > 0),
            });
        }
    }
    for kd in &c.fields.key_dates {
        let Some(k) = key_date_of(kd) else { continue };
        for d in k.date.dates(from, to).map_err(GenerateError::from)? {
            if d.years.is_some_and(|y| y > 1000) {
                continue;
            }
            items.push(Coming::KeyDate {
                date: d.date,
                name: k.name.clone(),
                lunar: kd.lunar,
                years: d.years.filter(|y| *y > 0),
            });
        }
    }
    // By date; on one day festivals first, then key dates, then birthdays
    // (as greetings list them). The sort is stable: each kind keeps its order.
    items.sort_by_key(|c| c.order());
    Ok(Json(ComingOccasions { from, to, items }))
}

/// A customer's coming occasions over from..=to.
#[derive(Serialize, ToSchema)]
pub struct ComingOccasions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub items: Vec<Coming>,
}

/// One coming occasion of a customer, by its kind.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Coming {
    /// A festival of the deployment's calendar, which greets every customer.
    Occasion {
        date: NaiveDate,
        /// the occasion's id, e.g. mid_autumn
        occasion: String,
        name_zh: String,
        name_en: String,
    },
    /// The company's key date (founding day, …).
    KeyDate {
        date: NaiveDate,
        name: String,
        lunar: bool,
        /// how many years it has been; null when unknown
        years: Option<u32>,
    },
    /// A contact's birthday.
    Birthday {
        date: NaiveDate,
        contact_id: i64,
        contact_name: String,
        lunar: bool,
        /// the age reached; null when the year of birth is unknown
        years: Option<u32>,
    },
}

impl Coming {
    fn order(&self) -> (NaiveDate, u8) {
        match self {
            Coming::Occasion { date, .. } => (*date, 0),
            Coming::KeyDate { date, .. } => (*date, 1),
            Coming::Birthday { date, .. } => (*date, 2),
        }
    }
}
/// `GET /care/templates`: the templates and what a template may use.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
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
