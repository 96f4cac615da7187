//! Users, teams, regions and the audit log (SPEC §9).

use crate::auth::{check_password_strength, hash_password, session_token_hash, CurrentUser};
use crate::error::{ApiError, JsonObject};
use crate::extract::{Json, Paging, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use keqing_domain::access::{Action, Resource, RowOwner, Scope};
use keqing_domain::error::Collector;
use keqing_domain::user::valid_username;
use keqing_domain::Role;
use keqing_store::{AuditEntry, AuditFilter, NewUser, StoreError, TeamChange, UserChange};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use utoipa::ToSchema;

#[utoipa::path(
    get,
    path = "/users",
    tag = "people",
    operation_id = "people_users",
    description = "Users in the caller's scope",
    responses((status = 200, description = "{items: [User]}", body = UserList))
)]
pub async fn users(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<UserList>, ApiError> {
    let scope = st
        .grants
        .scope(u.role, Resource::User, Action::Read)
        .ok_or_else(|| ApiError::forbidden("list users"))?;
    let all = st.store.users().await?;
    let items: Vec<_> = all
        .into_iter()
        .filter(|x| {
            scope.covers(
                &u,
                RowOwner {
                    owner_id: Some(x.id),
                    team_id: x.team_id,
                    region: x.region.as_deref(),
                },
            )
        })
        .collect();
    Ok(Json(UserList {
        total: items.len(),
        items,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUserBody {
    username: String,
    display_name: Option<String>,
    role: String,
    team_id: Option<i64>,
    region: Option<String>,
    password: String,
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "people",
    operation_id = "people_create_user",
    description = "Create a user (administrators); without a region of their own the user is in their team's",
    request_body = NewUserBody,
    responses((status = 201, description = "The user created", body = keqing_domain::User), (status = 409, description = "duplicate: the user name is taken", body = crate::openapi::ErrorBody))
)]
pub async fn create_user(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<NewUserBody>,
) -> Result<(StatusCode, Json<keqing_domain::User>), ApiError> {
    if st.grants.scope(u.role, Resource::User, Action::Create) != Some(Scope::All) {
        return Err(ApiError::forbidden("create users"));
    }
    if !valid_username(&b.username) {
        return Err(ApiError::invalid(
            "username",
            "用户名格式不正确 2–32 letters, digits, '_', '.' or '-'",
        ));
    }
    let role = Role::parse(&b.role).map_err(|e| ApiError::invalid("role", e.to_string()))?;
    check_password_strength(&b.password).map_err(|e| ApiError::invalid("password", e))?;
    if let Some(t) = b.team_id {
        if !st.store.teams().await?.iter().any(|x| x.id == t) {
            return Err(ApiError::invalid(
                "team_id",
                format!("团队不存在 no team {t}"),
            ));
        }
    }
    let mut region = b
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if let Some(r) = &region {
        if let Some(why) = unknown_region(&st, r).await? {
            return Err(ApiError::invalid("region", why));
        }
    }
    // A new user without a region of their own is in their team's.
    if let (None, Some(t)) = (&region, b.team_id) {
        region = st
            .store
            .teams()
            .await?
            .into_iter()
            .find(|x| x.id == t)
            .and_then(|x| x.region);
    }
    let password = b.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .map_err(ApiError::bad_request)?;
    let user = st
        .store
        .create_user(&NewUser {
            display_name: b.display_name.unwrap_or_else(|| b.username.clone()),
            username: b.username,
            role,
            team_id: b.team_id,
            region,
            password_hash: hash,
        })
        .await?;
    st.store
        .audit(
            Some(u.id),
            "create",
            "user",
            Some(user.id),
            json!({"username": user.username, "role": user.role}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// `PATCH /api/v1/users/{id}`: an administrator changes a user's
/// `display_name`, `role`, `team_id` (null: no team), `region` (null or "":
/// none) or `active`, or resets their `password` (the password policy
/// applies; every session of the user ends, and the audit log says
/// `password_reset`). Every field is optional; each wrong one is named in
/// the 422. Deactivating ends the user's sessions; the last active
/// administrator cannot step down (409).
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "people",
    operation_id = "people_update_user",
    description = "Change a user's display_name, role, team_id (null: none), region (one of GET /regions; null: none) or active, or reset their password (administrators); 422 names each wrong field (a password of at least 8 characters), 409 when the last active administrator would step down; deactivating or a new password ends the user's sessions (an administrator resetting their own keeps this one)",
    params(("id" = i64, Path, description = "user id")),
    request_body = crate::openapi::UserPatch,
    responses((status = 200, description = "The user changed", body = keqing_domain::User), (status = 409, description = "refused: the last active administrator would step down", body = crate::openapi::ErrorBody))
)]
pub async fn update_user(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(body, _): JsonObject<crate::openapi::UserPatch>,
) -> Result<Json<keqing_domain::User>, ApiError> {
    if st.grants.scope(u.role, Resource::User, Action::Update) != Some(Scope::All) {
        return Err(ApiError::forbidden("change users"));
    }
    let mut errors = Collector::default();
    let mut change = UserChange::default();
    let mut password = None::<String>;
    for (key, v) in &body {
        match (key.as_str(), v) {
            ("role", Value::String(r)) => change.role = errors.take("role", Role::parse(r)),
            ("role", _) => errors.push("role", "角色格式不正确 a role name, e.g. \"supervisor\""),
            ("team_id", Value::Null) => change.team_id = Some(None),
            ("team_id", Value::Number(n)) if n.as_i64().is_some() => {
                change.team_id = Some(n.as_i64())
            }
            ("team_id", _) => errors.push(
                "team_id",
                "团队应为团队ID或null a team id, or null for no team",
            ),
            ("region", Value::Null) => change.region = Some(None),
            ("region", Value::String(r)) if r.trim().chars().count() <= 32 => {
                let r = r.trim();
                change.region = Some((!r.is_empty()).then(|| r.to_string()));
            }
            ("region", _) => errors.push(
                "region",
                "区域应为区域列表中的省份或null a region (province) of the region list, or null",
            ),
            ("active", Value::Bool(b)) => change.active = Some(*b),
            ("active", _) => errors.push("active", "应填true或false true or false"),
            ("display_name", Value::String(n)) => {
                change.display_name = errors.take("display_name", display_name(n))
            }
            ("display_name", _) => errors.push("display_name", DISPLAY_NAME_RULE),
            ("password", Value::String(p)) => {
                if let Err(e) = check_password_strength(p) {
                    errors.push("password", e);
                } else {
                    password = Some(p.clone());
                }
            }
            ("password", _) => errors.push(
                "password",
                "密码应为文本 a password is a text of at least 8 characters",
            ),
            (other, _) => errors.push(
                other,
                "此处不能修改该项 cannot be changed here; send display_name, role, team_id, region, active or password",
            ),
        }
    }
    if let Some(Some(t)) = change.team_id {
        if !st.store.teams().await?.iter().any(|x| x.id == t) {
            errors.push("team_id", format!("团队不存在 no team {t}"));
        }
    }
    if let Some(Some(r)) = &change.region {
        if let Some(why) = unknown_region(&st, r).await? {
            errors.push("region", why);
        }
    }
    errors.finish()?;
    let not_found = |e| match e {
        StoreError::NotFound => ApiError::not_found("user"),
        e => e.into(),
    };
    let user = st
        .store
        .update_user(id, &change, Some(u.id))
        .await
        .map_err(not_found)?;
    if let Some(p) = password {
        // A reset ends every session of the user (an administrator who
        // resets their own password keeps the one they are using).
        let hash = tokio::task::spawn_blocking(move || hash_password(&p))
            .await
            .map_err(|e| ApiError::bad_request(e.to_string()))?
            .map_err(ApiError::bad_request)?;
        let keep = (id == u.id).then(|| session_token_hash(&headers)).flatten();
        st.store
            .change_password(id, &hash, keep.as_deref(), "password_reset", Some(u.id))
            .await
            .map_err(not_found)?;
    }
    Ok(Json(user))
}

/// What a display name must be.
const DISPLAY_NAME_RULE: &str = "显示名称应为1到32个字 a display name of 1 to 32 characters";

/// A display name: 1 to 32 characters, trimmed.
fn display_name(name: &str) -> Result<String, &'static str> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 32 {
        return Err(DISPLAY_NAME_RULE);
    }
    Ok(n.to_string())
}

#[utoipa::path(
    get,
    path = "/teams",
    tag = "people",
    operation_id = "people_teams",
    description = "Teams",
    responses((status = 200, description = "The teams", body = TeamList))
)]
pub async fn teams(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<TeamList>, ApiError> {
    Ok(Json(TeamList {
        items: st.store.teams().await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTeamBody {
    name: String,
    region: Option<String>,
}

/// A team's name: 1 to 64 characters, trimmed.
fn team_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 {
        return Err("a team name of 1 to 64 characters".into());
    }
    Ok(n.to_string())
}

/// Why `region` cannot be given to a user or team: it is not on the list an
/// administrator keeps (a typo would make a scope that covers nobody).
async fn unknown_region(st: &AppState, region: &str) -> Result<Option<String>, ApiError> {
    if st.store.regions().await?.iter().any(|r| r.name == region) {
        return Ok(None);
    }
    Ok(Some(format!(
        "区域不存在 no region {region:?}: add it to the regions first (管理 › 用户、团队与区域)"
    )))
}

fn only_admin(u: &keqing_domain::User, what: &str) -> Result<(), ApiError> {
    if u.role != Role::Admin {
        return Err(ApiError::forbidden(what));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/teams",
    tag = "people",
    operation_id = "people_create_team",
    description = "Create a team {name, region} (administrators); the region must be on the region list (422), a taken name is refused (409)",
    request_body = NewTeamBody,
    responses((status = 201, description = "The team created", body = keqing_store::Team), (status = 409, description = "duplicate: the name is taken", body = crate::openapi::ErrorBody))
)]
pub async fn create_team(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<NewTeamBody>,
) -> Result<(StatusCode, Json<keqing_store::Team>), ApiError> {
    only_admin(&u, "create teams")?;
    let mut errors = Collector::default();
    let name = errors.take("name", team_name(&b.name));
    let region = b
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if let Some(r) = &region {
        if let Some(why) = unknown_region(&st, r).await? {
            errors.push("region", why);
        }
    }
    errors.finish()?;
    let name = name.unwrap_or_default();
    let t = st.store.create_team(&name, region.as_deref()).await?;
    st.store
        .audit(
            Some(u.id),
            "create",
            "team",
            Some(t.id),
            json!({"name": t.name, "region": t.region}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// `PATCH /api/v1/teams/{id}` `{name, region}` (either; `region` null: none):
/// an administrator renames a team or moves it to another region of the list.
#[utoipa::path(
    patch,
    path = "/teams/{id}",
    tag = "people",
    operation_id = "people_update_team",
    description = "Rename a team or move it to another region: {name, region} (either; region null: none) (administrators); 422 names each wrong field, 409 a taken name",
    params(("id" = i64, Path, description = "team id")),
    request_body = crate::openapi::TeamPatch,
    responses((status = 200, description = "The team changed", body = keqing_store::Team), (status = 409, description = "duplicate: the name is taken", body = crate::openapi::ErrorBody))
)]
pub async fn update_team(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(body, _): JsonObject<crate::openapi::TeamPatch>,
) -> Result<Json<keqing_store::Team>, ApiError> {
    only_admin(&u, "change teams")?;
    let mut errors = Collector::default();
    let mut change = TeamChange::default();
    for (key, v) in &body {
        match (key.as_str(), v) {
            ("name", Value::String(n)) => change.name = errors.take("name", team_name(n)),
            ("name", _) => errors.push("name", "a team name of 1 to 64 characters"),
            ("region", Value::Null) => change.region = Some(None),
            ("region", Value::String(r)) => {
                let r = r.trim();
                change.region = Some((!r.is_empty()).then(|| r.to_string()));
            }
            ("region", _) => errors.push("region", "a region of the region list, or null"),
            (other, _) => errors.push(other, "cannot be changed here; send name or region"),
        }
    }
    if let Some(Some(r)) = &change.region {
        if let Some(why) = unknown_region(&st, r).await? {
            errors.push("region", why);
        }
    }
    errors.finish()?;
    let team = st
        .store
        .update_team(id, &change, Some(u.id))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("team"),
            e => e.into(),
        })?;
    Ok(Json(team))
}

/// `GET /api/v1/regions`: the regions (区域) users and teams are in, each with
/// its users and teams counted; every logged-in user may read it (the
/// customer list filters by it).
#[utoipa::path(
    get,
    path = "/regions",
    tag = "people",
    operation_id = "people_regions",
    description = "The regions (区域) users and teams are in, named as customers' provinces",
    responses((status = 200, description = "{items, total}", body = RegionList))
)]
pub async fn regions(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<RegionList>, ApiError> {
    let items = st.store.regions().await?;
    Ok(Json(RegionList {
        total: items.len(),
        items,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewRegionBody {
    name: String,
}

/// `POST /api/v1/regions` `{name}`: an administrator adds a region, named as
/// customers' provinces are (a regional scope covers the customers whose
/// province it is).
#[utoipa::path(
    post,
    path = "/regions",
    tag = "people",
    operation_id = "people_create_region",
    description = "Add a region {name} (administrators); 409 duplicate when it exists",
    request_body = NewRegionBody,
    responses((status = 201, description = "The region added", body = keqing_store::Region), (status = 409, description = "duplicate: the region exists", body = crate::openapi::ErrorBody))
)]
pub async fn create_region(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<NewRegionBody>,
) -> Result<(StatusCode, Json<keqing_store::Region>), ApiError> {
    only_admin(&u, "add regions")?;
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(ApiError::invalid(
            "name",
            "区域名称应为1到32个字 a region (province) of 1 to 32 characters",
        ));
    }
    let r = st.store.create_region(name, Some(u.id)).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// `DELETE /api/v1/regions/{id}`: an administrator removes a region no user
/// or team is in (409 otherwise).
#[utoipa::path(
    delete,
    path = "/regions/{id}",
    tag = "people",
    operation_id = "people_delete_region",
    description = "Remove a region no user or team is in (administrators); 409 refused otherwise",
    params(("id" = i64, Path, description = "region id")),
    responses((status = 204, description = "Removed"), (status = 409, description = "refused: a user or team is in it", body = crate::openapi::ErrorBody))
)]
pub async fn delete_region(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    only_admin(&u, "remove regions")?;
    st.store
        .delete_region(id, Some(u.id))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("region"),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// who acted (a user id)
    user_id: Option<i64>,
    /// what was done: create, update, delete, restore, merge, transfer,
    /// release, claim, import, export, login, logout, login_failed,
    /// password_change, password_reset, …
    action: Option<String>,
    /// the kind of record: customer, contact, user, team, region, care_task, …
    entity: Option<String>,
    /// the record's id (with `entity`: one record)
    entity_id: Option<i64>,
    /// from this day on (YYYY-MM-DD, Beijing date)
    from: Option<NaiveDate>,
    /// up to and with this day (YYYY-MM-DD, Beijing date)
    to: Option<NaiveDate>,
    /// page number, from 1
    page: Option<i64>,
    /// lines a page (1–500, default 50)
    per_page: Option<i64>,
    /// the same as per_page (1–1000), for older clients
    limit: Option<i64>,
}

/// The start of a Beijing day, as an instant.
fn beijing_midnight(d: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(offset).single())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

/// An action or a kind of record as a filter: a short word of letters,
/// digits and `_`.
fn audit_word(field: &str, v: Option<String>, errors: &mut Collector) -> Option<String> {
    let v = v.map(|x| x.trim().to_string()).filter(|x| !x.is_empty())?;
    if v.len() > 40 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errors.push(
            field,
            "应为英文标识，如 update 或 customer a word of letters, digits and '_', such as update or customer",
        );
        return None;
    }
    Some(v)
}

/// `GET /api/v1/audit`: the audit log a page at a time, newest first,
/// filtered in the database by who acted (`user_id`), what was done
/// (`action`), which kind of record and which one (`entity`, `entity_id`)
/// and when (`from`, `to`: Beijing dates, both included). Each line names
/// its actor and its record (a customer's, contact's, user's, team's name)
/// and the records its detail mentions; an update's detail holds the old
/// and the new value of each field it changed. Administrators and
/// directors.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "people",
    operation_id = "people_audit",
    description = "The audit log a page at a time, newest first, filtered by user_id, action, entity and entity_id, and from/to (Beijing dates, both included); each line names its actor and record; {items, total, capped, page, per_page} (administrators and directors)",
    params(AuditParams),
    responses((status = 200, description = "A page of the audit log, newest first", body = AuditList), (status = 422, description = "invalid: a filter is not valid", body = crate::openapi::ErrorBody))
)]
pub async fn audit(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<AuditParams>,
) -> Result<Json<AuditList>, ApiError> {
    if st.grants.scope(u.role, Resource::Audit, Action::Read) != Some(Scope::All) {
        return Err(ApiError::forbidden("read the audit log"));
    }
    let mut errors = Collector::default();
    let action = audit_word("action", p.action, &mut errors);
    let entity = audit_word("entity", p.entity, &mut errors);
    if let (Some(from), Some(to)) = (p.from, p.to) {
        if from > to {
            errors.push(
                "to",
                "结束日期不能早于开始日期 `to` must not be before `from`",
            );
        }
    }
    errors.finish()?;
    let paging = match (p.per_page, p.limit) {
        (None, Some(limit)) => Paging::of(p.page, limit.clamp(1, 1000))?,
        (per_page, _) => Paging::new(p.page, per_page, 50, 500)?,
    };
    let filter = AuditFilter {
        user_id: p.user_id,
        action,
        entity,
        entity_id: p.entity_id,
        since: p.from.map(beijing_midnight),
        until: p.to.and_then(|d| d.succ_opt()).map(beijing_midnight),
        offset: paging.offset,
        limit: paging.per_page,
    };
    let page = st.store.audit_page(&filter).await?;
    let items = name_lines(&st, page.items).await?;
    Ok(Json(AuditList {
        items,
        total: page.total,
        capped: page.capped,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// The most records a line's detail has named for it (a release of
/// thousands of customers names the first ones).
const MENTIONS_NAMED: usize = 20;

/// Names the actor, the record and the records the detail mentions of each
/// line: every customer, contact, user and team once, for the whole page; a
/// care task by its customer.
async fn name_lines(st: &AppState, entries: Vec<AuditEntry>) -> Result<Vec<AuditLine>, ApiError> {
    let users: HashMap<i64, String> = st
        .store
        .users()
        .await?
        .into_iter()
        .map(|x| (x.id, x.display_name))
        .collect();
    let teams: HashMap<i64, String> = st
        .store
        .teams()
        .await?
        .into_iter()
        .map(|x| (x.id, x.name))
        .collect();
    let mentions: Vec<Vec<(&'static str, i64)>> = entries.iter().map(mentioned).collect();
    // A care task is named by its customer.
    let mut task_customer: HashMap<i64, i64> = HashMap::new();
    for id in entries
        .iter()
        .filter(|e| e.entity == "care_task")
        .filter_map(|e| e.entity_id)
    {
        if let std::collections::hash_map::Entry::Vacant(v) = task_customer.entry(id) {
            if let Some(c) = st.store.care_task(id).await?.and_then(|t| t.customer_id) {
                v.insert(c);
            }
        }
    }
    let mut customer_ids: Vec<i64> = entries
        .iter()
        .filter(|e| e.entity == "customer")
        .filter_map(|e| e.entity_id)
        .chain(task_customer.values().copied())
        .chain(
            mentions
                .iter()
                .flatten()
                .filter(|(k, _)| *k == "customer")
                .map(|(_, id)| *id),
        )
        .collect();
    customer_ids.sort_unstable();
    customer_ids.dedup();
    let customers: HashMap<i64, String> = st
        .store
        .customers_by_ids(&customer_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.fields.name))
        .collect();
    let mut contacts: HashMap<i64, String> = HashMap::new();
    for id in entries
        .iter()
        .filter(|e| e.entity == "contact")
        .filter_map(|e| e.entity_id)
    {
        if let std::collections::hash_map::Entry::Vacant(v) = contacts.entry(id) {
            if let Some(c) = st.store.contact(id).await? {
                v.insert(c.fields.name);
            }
        }
    }
    let name_of = |entity: &str, id: i64, detail: &Value| -> Option<String> {
        match entity {
            "customer" => customers.get(&id).cloned(),
            "contact" => contacts.get(&id).cloned(),
            "user" => users.get(&id).cloned(),
            "team" => teams.get(&id).cloned(),
            "care_task" => task_customer
                .get(&id)
                .and_then(|c| customers.get(c))
                .cloned(),
            _ => None,
        }
        // A record gone since (a region removed, a snapshot deleted) is
        // named by its line when it says the name.
        .or_else(|| {
            detail
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    };
    Ok(entries
        .into_iter()
        .zip(mentions)
        .map(|(e, m)| AuditLine {
            user_name: e.user_id.and_then(|id| users.get(&id).cloned()),
            record: e
                .entity_id
                .and_then(|id| name_of(&e.entity, id, &e.detail))
                .or_else(|| {
                    e.detail
                        .get("username")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }),
            mentions: m
                .into_iter()
                .map(|(entity, id)| RecordName {
                    entity: entity.to_string(),
                    id,
                    name: name_of(entity, id, &Value::Null),
                })
                .collect(),
            entry: e,
        })
        .collect())
}

/// The records a line's detail names by id: the customers of a transfer,
/// release or merge, a contact's customer, the user a transfer went to, a
/// user's old and new team.
fn mentioned(e: &AuditEntry) -> Vec<(&'static str, i64)> {
    let d = &e.detail;
    let mut out = vec![];
    let ids = d.get("ids").and_then(Value::as_array);
    for id in ids
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .take(MENTIONS_NAMED)
    {
        out.push(("customer", id));
    }
    if let Some(id) = d.get("merged").and_then(Value::as_i64) {
        out.push(("customer", id));
    }
    // A contact's customer.
    if let Some(id) = d.get("customer_id").and_then(Value::as_i64) {
        out.push(("customer", id));
    }
    if let Some(id) = d.get("to").and_then(Value::as_i64) {
        out.push(("user", id));
    }
    for side in ["old", "new"] {
        if let Some(id) = d
            .get(side)
            .and_then(|v| v.get("team_id"))
            .and_then(Value::as_i64)
        {
            out.push(("team", id));
        }
    }
    out.dedup();
    out
}

/// `GET /api/v1/roles`: the permission matrix the server checks every row
/// with (SPEC §9), read from the same [`keqing_domain::access::Grants`] the
/// handlers ask, so what is shown is what is enforced. Read-only; every
/// logged-in user may see it.
#[utoipa::path(
    get,
    path = "/roles",
    tag = "people",
    operation_id = "people_roles",
    description = "The permission matrix the server enforces (read-only); a combination not listed is refused",
    responses((status = 200, description = "The names, and every combination allowed", body = Matrix))
)]
pub async fn roles(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<Matrix>, ApiError> {
    let names = |id: &'static str, name_zh: &'static str| Named { id, name_zh };
    Ok(Json(Matrix {
        roles: Role::ALL
            .iter()
            .map(|r| names(r.as_str(), r.label_zh()))
            .collect(),
        resources: Resource::ALL
            .iter()
            .map(|r| names(r.as_str(), r.label_zh()))
            .collect(),
        actions: Action::ALL
            .iter()
            .map(|a| names(a.as_str(), a.label_zh()))
            .collect(),
        scopes: Scope::ALL
            .iter()
            .map(|s| names(s.as_str(), s.label_zh()))
            .collect(),
        grants: st
            .grants
            .entries()
            .map(|(role, resource, action, scope)| Grant {
                role,
                resource,
                action,
                scope,
            })
            .collect(),
    }))
}

/// The permission matrix: the names, and every combination allowed.
#[derive(Serialize, ToSchema)]
pub struct Matrix {
    pub roles: Vec<Named>,
    pub resources: Vec<Named>,
    pub actions: Vec<Named>,
    pub scopes: Vec<Named>,
    pub grants: Vec<Grant>,
}

/// A role, resource, action or scope: its id and its Chinese name.
#[derive(Serialize, ToSchema)]
pub struct Named {
    pub id: &'static str,
    pub name_zh: &'static str,
}

/// A combination the server allows; one not listed is refused.
#[derive(Serialize, ToSchema)]
pub struct Grant {
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(value_type = String)]
    pub resource: Resource,
    #[schema(value_type = String)]
    pub action: Action,
    /// all, region, team, own, …
    #[schema(value_type = String)]
    pub scope: Scope,
}

/// `{items, total}`: the users in the caller's scope.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<keqing_domain::User>,
    pub total: usize,
}

/// `{items}`: the teams.
#[derive(Serialize, ToSchema)]
pub struct TeamList {
    pub items: Vec<keqing_store::Team>,
}

/// `{items, total}`: the regions.
#[derive(Serialize, ToSchema)]
pub struct RegionList {
    pub items: Vec<keqing_store::Region>,
    pub total: usize,
}

/// A page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditLine>,
    /// lines that match the filters (counted up to 10,000: see `capped`)
    pub total: i64,
    /// more lines match than `total` says
    pub capped: bool,
    pub page: i64,
    pub per_page: i64,
}

/// A line of the audit log, with the names of who acted and of the record.
#[derive(Serialize, ToSchema)]
pub struct AuditLine {
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// the display name of who acted (`user_id`); null for the system
    pub user_name: Option<String>,
    /// the name of the record (`entity`, `entity_id`) when it has one
    pub record: Option<String>,
    /// the records the detail names by id (a transfer's customers and
    /// whom they went to, a merge's other customer, a user's old and new team)
    pub mentions: Vec<RecordName>,
}

/// A record named by id, with its name when it still has one.
#[derive(Serialize, ToSchema)]
pub struct RecordName {
    /// customer, user, team, …
    pub entity: String,
    pub id: i64,
    pub name: Option<String>,
}
