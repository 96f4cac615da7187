//! Customer archive endpoints (SPEC §1, §2).

use crate::auth::CurrentUser;
use crate::error::{ApiError, JsonObject};
use crate::extract::{Json, Paging, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use keqing_domain::access::{Action, Resource, RowOwner, Scope};
use keqing_domain::archive;
use keqing_domain::custom_field::{self, CustomFieldDef};
use keqing_domain::customer::{Customer, CustomerInput};
use keqing_domain::search::{classify, Query as Typed};
use keqing_domain::{ContactInput, NewActivity, User};
use keqing_store::{CustomerFilter, CustomerSort, NameQuery, Page, StoreError, Visibility};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use utoipa::ToSchema;

pub(crate) fn row(c: &Customer) -> RowOwner<'_> {
    RowOwner {
        owner_id: c.owner_id,
        team_id: c.team_id,
        region: c.fields.province.as_deref(),
    }
}

/// Loads a customer the caller may act on, or answers 404 / 403.
pub(crate) async fn authorized(
    st: &AppState,
    user: &User,
    id: i64,
    resource: Resource,
    action: Action,
) -> Result<Customer, ApiError> {
    let c = st
        .store
        .customer(id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    let deleted_ok = action == Action::Read
        && st
            .grants
            .scope(user.role, Resource::Customer, Action::Delete)
            == Some(Scope::All);
    if c.deleted_at.is_some() && !deleted_ok {
        return Err(ApiError::not_found("customer"));
    }
    if !st.grants.allows(user, resource, action, row(&c)) {
        return Err(ApiError::forbidden(&format!(
            "{} this {}",
            action.as_str(),
            resource.as_str()
        )));
    }
    Ok(c)
}

/// The answer to a duplicate customer: 409 naming the duplicates the caller
/// may read, and saying only that one exists in another team for the rest,
/// so that no id outside the caller's scope is shown.
pub(crate) async fn scoped_duplicate(st: &AppState, user: &User, e: StoreError) -> ApiError {
    let StoreError::Duplicate(ids) = e else {
        return e.into();
    };
    let mut visible = vec![];
    let mut elsewhere = false;
    for id in ids {
        match authorized(st, user, id, Resource::Customer, Action::Read).await {
            Ok(_) => visible.push(id),
            Err(_) => elsewhere = true,
        }
    }
    let message = if elsewhere {
        "客户已存在于其他团队 a customer with the same external code, or the same name and phone, exists already in another team; ask a supervisor to hand it over"
    } else {
        "客户已存在 a customer with the same external code, or the same name and phone, exists already; merge instead"
    };
    ApiError::new(StatusCode::CONFLICT, "duplicate", message)
        .with_details(json!({"duplicates": visible, "elsewhere": elsewhere}))
}

/// A store call that may refuse a duplicate customer, answered as
/// [`scoped_duplicate`] says.
async fn no_duplicate<T>(
    st: &AppState,
    user: &User,
    r: Result<T, StoreError>,
) -> Result<T, ApiError> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => Err(scoped_duplicate(st, user, e).await),
    }
}

/// The answer when a user named in a request is not one the caller may
/// give work to, whether or not the user exists: a caller who may only
/// reach a team must not learn which ids exist outside it.
pub(crate) fn out_of_reach(field: &str, id: i64, scope: Option<Scope>, what: &str) -> ApiError {
    if scope == Some(Scope::All) {
        ApiError::invalid(field, format!("用户不存在或已停用 no active user {id}"))
    } else {
        ApiError::forbidden(what)
    }
}

pub(crate) fn visibility(
    st: &AppState,
    user: &User,
    resource: Resource,
) -> Result<Visibility, ApiError> {
    Ok(keqing_app::access::visibility(&st.grants, user, resource)?)
}

/// Display names of the users `ids`, for answers that name the owner or the
/// author of rows the caller may read (a manager's `GET /users` lists only
/// themselves, finance none). Only names of users who own or wrote those
/// rows are given, nothing else about them.
pub(crate) async fn user_names(
    st: &AppState,
    ids: Vec<Option<i64>>,
) -> Result<HashMap<i64, String>, ApiError> {
    let mut names = HashMap::new();
    for id in ids.into_iter().flatten() {
        if names.contains_key(&id) {
            continue;
        }
        if let Some(u) = st.store.user(id).await? {
            names.insert(id, u.display_name);
        }
    }
    Ok(names)
}

/// A customer as the API answers it: the file, with its owner's name.
#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    #[serde(flatten)]
    pub customer: Customer,
    /// the owner's display name (null: in the public pool)
    pub owner_name: Option<String>,
}

/// Customers with their owners' names, in the same order.
async fn views(st: &AppState, items: Vec<Customer>) -> Result<Vec<CustomerView>, ApiError> {
    let names = user_names(st, items.iter().map(|c| c.owner_id).collect()).await?;
    Ok(items
        .into_iter()
        .map(|c| CustomerView {
            owner_name: c.owner_id.and_then(|o| names.get(&o).cloned()),
            customer: c,
        })
        .collect())
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// name part, pinyin, pinyin initials (in order) or the last digits of a
    /// phone; several words separated by spaces must each match (`江苏 钢业`)
    q: Option<String>,
    /// owner user id
    owner: Option<i64>,
    /// true: only the caller's own customers
    mine: Option<bool>,
    /// the RFM class the value analysis wrote (`important_retain`…)
    rfm: Option<String>,
    /// only customers whose P(alive) is below this (0–1); those without one are left out
    p_alive_below: Option<f64>,
    /// only customers who bought, but not in the last this many days
    no_purchase_days: Option<i64>,
    /// only customers without a follow-up in the last this many days (or ever)
    no_follow_up_days: Option<i64>,
    /// a whole tag
    tag: Option<String>,
    /// province: a region of GET /regions
    region: Option<String>,
    /// A, B, C or D
    class: Option<String>,
    /// tier name
    tier: Option<String>,
    /// lifecycle stage id
    stage: Option<String>,
    /// true: only the public pool
    pool: Option<bool>,
    /// true: only deleted customers (administrators)
    deleted: Option<bool>,
    /// a group customer's id: only its members (customers whose parent it is)
    parent: Option<i64>,
    /// id, name, updated, follow_up (longest without a follow-up first),
    /// purchase (longest without a purchase first, never bought last) or
    /// p_alive (lowest first, none last)
    sort: Option<String>,
    /// 1-based page
    page: Option<i64>,
    /// 1–200, default 20
    per_page: Option<i64>,
    /// A custom field's value: `KEY:VALUE` (a multi choice matches any of its options).
    custom: Option<String>,
    /// `1,2,3`: just these customers (at most 200), those the caller may read,
    /// in the order given; a page naming the customers of its tasks asks once.
    ids: Option<String>,
}

/// Most ids one `GET /customers?ids=` names.
const IDS_MAX: usize = 200;

#[utoipa::path(
    get,
    path = "/customers",
    tag = "customers",
    operation_id = "customers_list",
    description = "List and search customers (q: name, pinyin, initials or phone suffix; filters; paging): {items, total, total_capped, page, per_page}; total_capped: the list counted its first 10,000 rows only (a name search on SQLite: 1,000)",
    params(ListParams),
    responses((status = 200, description = "A page of customers (with ids=: {items} in that order)", body = CustomerPage))
)]
pub async fn list(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ListParams>,
) -> Result<Json<CustomerPage>, ApiError> {
    if let Some(raw) = &p.ids {
        return by_ids(&st, &u, raw).await.map(Json);
    }
    let mut f = CustomerFilter {
        visibility: visibility(&st, &u, Resource::Customer)?,
        ..Default::default()
    };
    let mut words = search_words(p.q.as_deref())?.into_iter();
    f.query = words.next();
    f.more_words = words.collect();
    f.owner_id = if p.mine.unwrap_or(false) {
        Some(u.id)
    } else {
        p.owner
    };
    f.rfm_class = p.rfm.filter(|r| !r.is_empty());
    if let Some(v) = p.p_alive_below {
        if !(0.0..=1.0).contains(&v) {
            return Err(ApiError::invalid(
                "p_alive_below",
                "P(alive) 应在0到1之间 p_alive_below must be between 0 and 1",
            ));
        }
        f.p_alive_below = Some(v);
    }
    let now = Utc::now();
    f.no_purchase_since = days_ago("no_purchase_days", p.no_purchase_days, now)?;
    f.no_follow_up_since = days_ago("no_follow_up_days", p.no_follow_up_days, now)?;
    f.tag = p.tag;
    f.province = p.region;
    f.class = p.class.map(|c| c.to_ascii_uppercase());
    f.tier = p.tier;
    f.stage = p.stage;
    f.in_pool = p.pool.unwrap_or(false);
    f.parent_id = p.parent;
    if let Some(c) = &p.custom {
        let defs = custom_fields(&st).await?;
        let (k, v) = c
            .split_once(':')
            .filter(|(k, _)| defs.iter().any(|d| d.key == *k))
            .ok_or_else(|| {
                ApiError::invalid(
                    "custom",
                    format!("自定义字段筛选格式不正确 {c:?}: give KEY:VALUE with the key of a defined custom field"),
                )
            })?;
        f.custom = Some((k.to_string(), v.trim().to_string()));
    }
    if p.deleted.unwrap_or(false) {
        // Only administrators see (and restore) deleted files.
        if st.grants.scope(u.role, Resource::Customer, Action::Delete) != Some(Scope::All) {
            return Err(ApiError::forbidden("list deleted customers"));
        }
        f.deleted_only = true;
    }
    f.sort = match p.sort.as_deref() {
        None | Some("id") => CustomerSort::IdAsc,
        Some("name") => CustomerSort::NameAsc,
        Some("updated") => CustomerSort::UpdatedDesc,
        Some("follow_up") => CustomerSort::LastFollowUpAsc,
        Some("purchase") => CustomerSort::LastPurchaseAsc,
        Some("p_alive") => CustomerSort::PAliveAsc,
        Some(other) => {
            return Err(ApiError::invalid(
                "sort",
                format!(
                    "排序方式不正确 unknown sort {other:?}; use id, name, updated, follow_up, purchase or p_alive"
                ),
            ))
        }
    };
    let per_page = p.per_page.unwrap_or(20);
    if !(1..=200).contains(&per_page) {
        return Err(ApiError::invalid(
            "per_page",
            "每页条数应为1到200 per_page must be between 1 and 200",
        ));
    }
    let Paging {
        page,
        per_page,
        offset,
    } = Paging::of(p.page, per_page)?;
    f.limit = per_page;
    f.offset = offset;
    let r = st.store.list_customers(&f).await?;
    Ok(Json(page_json(&st, r, page, per_page).await?))
}

/// Most words one search takes.
const SEARCH_WORDS_MAX: usize = 8;

/// The words of a search, each as typed (name part, pinyin or initials,
/// phone digits). Digits with spaces or dashes between them are one phone
/// number (`138 0013`); otherwise every word separated by spaces must match.
fn search_words(q: Option<&str>) -> Result<Vec<NameQuery>, ApiError> {
    let typed = |q: Typed| match q {
        Typed::PhoneDigits(d) => NameQuery::PhoneSuffix(d),
        Typed::Pinyin(s) => NameQuery::Pinyin(s),
        Typed::Text(s) => NameQuery::Text(s),
    };
    let Some(whole) = q.and_then(classify) else {
        return Ok(vec![]);
    };
    if matches!(whole, Typed::PhoneDigits(_)) {
        return Ok(vec![typed(whole)]);
    }
    let mut words: Vec<NameQuery> = vec![];
    for w in q
        .unwrap_or("")
        .split_whitespace()
        .filter_map(classify)
        .map(typed)
    {
        if !words.contains(&w) {
            words.push(w);
        }
    }
    if words.len() > SEARCH_WORDS_MAX {
        return Err(ApiError::invalid(
            "q",
            format!("搜索词最多{SEARCH_WORDS_MAX}个 at most {SEARCH_WORDS_MAX} words"),
        ));
    }
    Ok(words)
}

/// The moment `days` days before `now` (a list's "not in the last N days").
fn days_ago(
    field: &str,
    days: Option<i64>,
    now: chrono::DateTime<Utc>,
) -> Result<Option<chrono::DateTime<Utc>>, ApiError> {
    match days {
        None => Ok(None),
        Some(d) if (0..=36_500).contains(&d) => Ok(Some(now - chrono::Duration::days(d))),
        Some(_) => Err(ApiError::invalid(
            field,
            "天数应为0到36500 days must be between 0 and 36500",
        )),
    }
}

/// `GET /customers?ids=…`: each named customer the caller may read (checked
/// row by row, as reading one is), live ones only, in the order given.
async fn by_ids(st: &AppState, u: &User, raw: &str) -> Result<CustomerPage, ApiError> {
    let mut ids: Vec<i64> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let id = part.parse::<i64>().map_err(|_| {
            ApiError::invalid(
                "ids",
                format!("不是有效的客户ID not a customer id: {part:?}"),
            )
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > IDS_MAX {
        return Err(ApiError::invalid(
            "ids",
            format!("一次最多{IDS_MAX}个客户 at most {IDS_MAX} ids at a time"),
        ));
    }
    let mut found: std::collections::HashMap<i64, Customer> = st
        .store
        .customers_by_ids(&ids)
        .await?
        .into_iter()
        .filter(|c| c.deleted_at.is_none())
        .filter(|c| {
            st.grants
                .allows(u, Resource::Customer, Action::Read, row(c))
        })
        .map(|c| (c.id, c))
        .collect();
    let items: Vec<Customer> = ids.iter().filter_map(|id| found.remove(id)).collect();
    Ok(CustomerPage {
        total: items.len() as i64,
        items: views(st, items).await?,
        total_capped: false,
        page: 1,
        per_page: IDS_MAX as i64,
    })
}

/// A page of customers as `GET /customers` and `GET /pool` answer it.
#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerView>,
    /// how many match (see total_capped)
    pub total: i64,
    /// the list counted its first 10,000 rows only (a name search on SQLite: 1,000)
    pub total_capped: bool,
    pub page: i64,
    pub per_page: i64,
}

async fn page_json(
    st: &AppState,
    r: Page<Customer>,
    page: i64,
    per_page: i64,
) -> Result<CustomerPage, ApiError> {
    Ok(CustomerPage {
        items: views(st, r.items).await?,
        total: r.total,
        total_capped: r.capped,
        page,
        per_page,
    })
}

#[utoipa::path(
    get,
    path = "/pool",
    tag = "customers",
    operation_id = "customers_pool",
    description = "Customers in the public pool",
    params(ListParams),
    responses((status = 200, description = "A page of the public pool", body = CustomerPage))
)]
pub async fn pool(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ListParams>,
) -> Result<Json<CustomerPage>, ApiError> {
    visibility(&st, &u, Resource::Customer)?;
    let Paging {
        page,
        per_page,
        offset,
    } = Paging::new(p.page, p.per_page, 20, 200)?;
    let f = CustomerFilter {
        in_pool: true,
        limit: per_page,
        offset,
        ..Default::default()
    };
    Ok(Json(
        page_json(&st, st.store.list_customers(&f).await?, page, per_page).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/facets",
    tag = "customers",
    operation_id = "customers_facets",
    description = "What the caller's customers hold, for the list's filters: the provinces present in the caller's scope with how many live customers each, most first, and the tags in use (at most 500), by name",
    responses((status = 200, description = "The provinces and tags of the caller's customers", body = keqing_store::CustomerFacets))
)]
pub async fn facets(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<keqing_store::CustomerFacets>, ApiError> {
    let vis = visibility(&st, &u, Resource::Customer)?;
    Ok(Json(st.store.customer_facets(&vis).await?))
}

#[utoipa::path(
    get,
    path = "/customers/{id}",
    tag = "customers",
    operation_id = "customers_get_one",
    description = "One customer",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "The customer, with its owner's name", body = CustomerView))
)]
pub async fn get_one(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<CustomerView>, ApiError> {
    let c = authorized(&st, &u, id, Resource::Customer, Action::Read).await?;
    let mut v = views(&st, vec![c]).await?;
    Ok(Json(v.remove(0)))
}

/// Who a new customer belongs to: the caller, or a colleague in the caller's scope.
async fn new_owner(
    st: &AppState,
    u: &User,
    requested: Option<&Value>,
) -> Result<Option<i64>, ApiError> {
    let scope = st
        .grants
        .scope(u.role, Resource::Customer, Action::Create)
        .ok_or_else(|| ApiError::forbidden("create customers"))?;
    let owner = match requested {
        None => return Ok(Some(u.id)),
        Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::invalid(
                "owner_id",
                "负责人应为用户ID或null owner_id must be a user id or null",
            )
        })?),
    };
    let target = match owner {
        Some(o) if o == u.id => return Ok(Some(o)),
        Some(o) => Some(st.store.user(o).await?.ok_or_else(|| {
            out_of_reach("owner_id", o, Some(scope), "give customers to that owner")
        })?),
        None => None,
    };
    let allowed = match (scope, &target) {
        (Scope::All, _) => true,
        (Scope::Team, Some(t)) => t.team_id.is_some() && t.team_id == u.team_id,
        (Scope::Team, None) => true,
        (Scope::Region, Some(t)) => t.region.is_some() && t.region == u.region,
        (Scope::Region, None) => true,
        (Scope::Own, _) => false,
    };
    if !allowed {
        return Err(ApiError::forbidden("give customers to that owner"));
    }
    Ok(owner)
}

#[utoipa::path(
    post,
    path = "/customers",
    tag = "customers",
    operation_id = "customers_create",
    description = "Create a customer (refuses duplicates with 409 duplicate)",
    request_body = crate::openapi::CustomerBody,
    responses((status = 201, description = "The customer created, with its contacts", body = CreatedCustomer), (status = 409, description = "duplicate: a customer with the same name, phone or code exists (details name those you may read)", body = crate::openapi::ErrorBody))
)]
pub async fn create(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(mut body, _): JsonObject<crate::openapi::CustomerBody>,
) -> Result<(StatusCode, Json<CreatedCustomer>), ApiError> {
    let owner_req = body.remove("owner_id");
    let contacts = body.remove("contacts");
    let owner = new_owner(&st, &u, owner_req.as_ref()).await?;
    let mut input = CustomerInput::from_json(&body)?;
    input.custom = custom_field::check_values(&custom_fields(&st).await?, &input.custom)?;
    let contacts: Vec<ContactInput> = match contacts {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => {
            let mut out = vec![];
            for (i, it) in items.iter().enumerate() {
                let obj = it.as_object().ok_or_else(|| {
                    ApiError::invalid(
                        &format!("contacts[{i}]"),
                        "联系人应为对象 a contact must be an object",
                    )
                })?;
                out.push(ContactInput::from_json(obj).map_err(|mut e| {
                    for fe in &mut e.errors {
                        fe.field = format!("contacts[{i}].{}", fe.field);
                    }
                    e
                })?);
            }
            out
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "contacts",
                "联系人应为列表 contacts must be a list",
            ))
        }
    };
    let c = no_duplicate(&st, &u, st.store.create_customer(&input, owner, &u).await).await?;
    let mut made = vec![];
    for k in &contacts {
        made.push(st.store.create_contact(c.id, k, &u).await?);
    }
    Ok((
        StatusCode::CREATED,
        Json(CreatedCustomer {
            customer: c,
            contacts: made,
        }),
    ))
}

#[utoipa::path(
    patch,
    path = "/customers/{id}",
    tag = "customers",
    operation_id = "customers_update",
    description = "Change fields (JSON merge patch); must send the version read, stale gives 409",
    params(("id" = i64, Path, description = "customer id")),
    request_body = crate::openapi::CustomerBody,
    responses((status = 200, description = "The customer changed", body = keqing_domain::Customer), (status = 409, description = "version_conflict: someone else saved first (details: expected_version, current_version); duplicate", body = crate::openapi::ErrorBody))
)]
pub async fn update(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(mut body, _): JsonObject<crate::openapi::CustomerBody>,
) -> Result<Json<Customer>, ApiError> {
    let version = match body.remove("version") {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Some(_) => return Err(ApiError::invalid("version", "版本号应为整数 version must be the integer version you read")),
        None => {
            return Err(ApiError::new(StatusCode::PRECONDITION_REQUIRED, "version_required", "缺少版本号 send the customer's `version` you read, so a stale edit is refused instead of overwriting"))
        }
    };
    let c = authorized(&st, &u, id, Resource::Customer, Action::Update).await?;
    let mut new = c.fields.patched(&body)?;
    if body.contains_key("custom") {
        new.custom = custom_field::check_values(&custom_fields(&st).await?, &new.custom)?;
    }
    if c.version != version {
        return Err(keqing_store::StoreError::Conflict {
            expected: version,
            current: c.version,
        }
        .into());
    }
    let changes = keqing_domain::history::diff(&c.fields.to_json(), &new.to_json());
    if changes.is_empty() {
        return Ok(Json(c));
    }
    let updated = st
        .store
        .update_customer(id, version, &new, &changes, &u)
        .await;
    Ok(Json(no_duplicate(&st, &u, updated).await?))
}

#[utoipa::path(
    delete,
    path = "/customers/{id}",
    tag = "customers",
    operation_id = "customers_delete",
    description = "Soft-delete a customer",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 204, description = "Deleted (softly: an administrator may restore it)"))
)]
pub async fn delete(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    authorized(&st, &u, id, Resource::Customer, Action::Delete).await?;
    st.store.delete_customer(id, &u).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/customers/{id}/restore",
    tag = "customers",
    operation_id = "customers_restore",
    description = "Restore a deleted customer (administrators)",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "The customer restored", body = keqing_domain::Customer))
)]
pub async fn restore(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Customer>, ApiError> {
    // Restoring is an administrator's act (SPEC §1).
    if st.grants.scope(u.role, Resource::Customer, Action::Delete) != Some(Scope::All) {
        return Err(ApiError::forbidden("restore deleted customers"));
    }
    st.store
        .customer(id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    let restored = st.store.restore_customer(id, &u).await;
    Ok(Json(no_duplicate(&st, &u, restored).await?))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/history",
    tag = "customers",
    operation_id = "customers_history",
    description = "Field-level change history",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "Field-level changes, newest first", body = HistoryList))
)]
pub async fn history(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<HistoryList>, ApiError> {
    authorized(&st, &u, id, Resource::Customer, Action::Read).await?;
    let items = st.store.history(id).await?;
    let names = user_names(&st, items.iter().map(|h| h.user_id).collect()).await?;
    Ok(Json(HistoryList {
        items: items
            .into_iter()
            .map(|entry| HistoryView {
                user_name: entry.user_id.and_then(|u| names.get(&u).cloned()),
                entry,
            })
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/ownership",
    tag = "customers",
    operation_id = "customers_ownership",
    description = "Ownership log: create, transfer, release, claim",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "Who owned the customer when, oldest first", body = OwnershipList))
)]
pub async fn ownership(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<OwnershipList>, ApiError> {
    authorized(&st, &u, id, Resource::Customer, Action::Read).await?;
    Ok(Json(OwnershipList {
        items: st.store.ownership_log(id).await?,
    }))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/contacts",
    tag = "customers",
    operation_id = "customers_contacts",
    description = "Contacts of a customer",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "The customer's contacts", body = ContactList))
)]
pub async fn contacts(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<ContactList>, ApiError> {
    authorized(&st, &u, id, Resource::Contact, Action::Read).await?;
    Ok(Json(ContactList {
        items: st.store.contacts(id).await?,
    }))
}

#[utoipa::path(
    post,
    path = "/customers/{id}/contacts",
    tag = "customers",
    operation_id = "customers_create_contact",
    description = "Create a contact",
    params(("id" = i64, Path, description = "customer id")),
    request_body = crate::openapi::ContactBody,
    responses((status = 201, description = "The contact created", body = keqing_domain::Contact))
)]
pub async fn create_contact(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(body, _): JsonObject<crate::openapi::ContactBody>,
) -> Result<(StatusCode, Json<keqing_domain::Contact>), ApiError> {
    authorized(&st, &u, id, Resource::Contact, Action::Create).await?;
    let input = ContactInput::from_json(&body)?;
    let c = st.store.create_contact(id, &input, &u).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

async fn contact_customer(
    st: &AppState,
    u: &User,
    contact_id: i64,
    action: Action,
) -> Result<keqing_domain::Contact, ApiError> {
    let k = st
        .store
        .contact(contact_id)
        .await?
        .filter(|k| k.deleted_at.is_none())
        .ok_or_else(|| ApiError::not_found("contact"))?;
    authorized(st, u, k.customer_id, Resource::Contact, action).await?;
    Ok(k)
}

#[utoipa::path(
    patch,
    path = "/contacts/{id}",
    tag = "customers",
    operation_id = "customers_update_contact",
    description = "Change a contact; must send the version read",
    params(("id" = i64, Path, description = "contact id")),
    request_body = crate::openapi::ContactBody,
    responses((status = 200, description = "The contact changed", body = keqing_domain::Contact), (status = 409, description = "version_conflict: someone else saved first", body = crate::openapi::ErrorBody))
)]
pub async fn update_contact(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(mut body, _): JsonObject<crate::openapi::ContactBody>,
) -> Result<Json<keqing_domain::Contact>, ApiError> {
    let version = body
        .remove("version")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "version_required",
                "缺少版本号 send the contact's `version` you read",
            )
        })?;
    let k = contact_customer(&st, &u, id, Action::Update).await?;
    let mut m = k.fields.to_json();
    for (key, v) in body {
        m.insert(key, v);
    }
    let input = ContactInput::from_json(&m)?;
    Ok(Json(
        st.store.update_contact(id, version, &input, &u).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/contacts/{id}",
    tag = "customers",
    operation_id = "customers_delete_contact",
    description = "Delete a contact",
    params(("id" = i64, Path, description = "contact id")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete_contact(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    contact_customer(&st, &u, id, Action::Delete).await?;
    st.store.delete_contact(id, &u).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/customers/{id}/activities",
    tag = "customers",
    operation_id = "customers_activities",
    description = "Activity timeline",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "The timeline, newest first", body = ActivityList))
)]
pub async fn activities(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<ActivityList>, ApiError> {
    authorized(&st, &u, id, Resource::Activity, Action::Read).await?;
    let items = st.store.activities(id).await?;
    let names = user_names(&st, items.iter().map(|a| a.user_id).collect()).await?;
    Ok(Json(ActivityList {
        items: items
            .into_iter()
            .map(|activity| ActivityView {
                user_name: activity.user_id.and_then(|u| names.get(&u).cloned()),
                activity,
            })
            .collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/customers/{id}/activities",
    tag = "customers",
    operation_id = "customers_add_activity",
    description = "Log an activity (visit, call, SMS, gift, help, feedback…)",
    params(("id" = i64, Path, description = "customer id")),
    request_body = crate::openapi::ActivityBody,
    responses((status = 201, description = "The activity logged", body = keqing_domain::Activity))
)]
pub async fn add_activity(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(mut body, _): JsonObject<crate::openapi::ActivityBody>,
) -> Result<(StatusCode, Json<keqing_domain::Activity>), ApiError> {
    let c = authorized(&st, &u, id, Resource::Activity, Action::Create).await?;
    // What the request asks beyond the activity itself.
    if body.contains_key("card_breach") {
        return Err(ApiError::invalid(
            "card_breach",
            "未知字段 unknown field (the server sets it)",
        ));
    }
    let follow_up_on = body.remove("follow_up_on");
    let acknowledged = match body.remove("acknowledge_card") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "acknowledge_card",
                "应为 true 或 false expected true or false",
            ))
        }
    };
    let mut a = NewActivity::from_json(&body)?;
    let now = Utc::now();
    a.check_new(now)?;
    let today = keqing_app::care::local_date(now);
    let follow_up_on = match follow_up_on {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => crate::care::parse_date("follow_up_on", Some(&s))?,
        Some(v) => crate::care::parse_date("follow_up_on", Some(&v.to_string()))?,
    };
    if follow_up_on.is_some_and(|d| d < today) {
        return Err(ApiError::invalid(
            "follow_up_on",
            "下次跟进日期不能早于今天 the next follow-up cannot be before today",
        ));
    }
    if let Some(cid) = a.contact_id {
        let k = st.store.contact(cid).await?;
        if k.is_none_or(|k| k.customer_id != id || k.deleted_at.is_some()) {
            return Err(ApiError::invalid(
                "contact_id",
                format!("该联系人不属于此客户 contact {cid} is not a contact of customer {id}"),
            ));
        }
    }
    if let Some(breach) = a.gift_breach(&c.fields.card) {
        if !acknowledged {
            return Err(gift_against_card(breach, &c.fields.card));
        }
        a.card_breach = Some(breach.code().to_string());
    }
    let logged = match follow_up_on {
        Some(day) => {
            let tasks = follow_up_task(id, &a, day);
            st.store.add_activity_with_tasks(id, &a, tasks, &u).await?
        }
        None => st.store.add_activity(id, &a, &u).await?,
    };
    Ok((StatusCode::CREATED, Json(logged)))
}

/// 409 for a gift the customer's card does not allow, naming the rule: the
/// workbench shows it and sends the gift again with `acknowledge_card`.
fn gift_against_card(
    breach: keqing_domain::activity::GiftBreach,
    card: &keqing_domain::customer::RelationshipCard,
) -> ApiError {
    use keqing_domain::activity::GiftBreach;
    let (message, limit) = match breach {
        GiftBreach::Forbidden => (
            "该客户的关系卡写明禁止送礼；确认仍要记录吗？ the customer's card forbids gifts; log it anyway?".to_string(),
            None,
        ),
        GiftBreach::OverLimit { limit } => (
            format!(
                "礼品价值超过关系卡的礼品政策（{limit} 元）；确认仍要记录吗？ the gift is above the card's gift policy ({limit} yuan); log it anyway?"
            ),
            Some(limit.to_string()),
        ),
    };
    ApiError::new(StatusCode::CONFLICT, "gift_against_card", message).with_details(json!({
        "rule": breach.code(),
        "limit": limit,
        "policy": card.gift_policy,
    }))
}

/// The follow-up task an activity sets for `day`: the customer's owner's,
/// through the channel of the activity, saying what it followed.
fn follow_up_task(
    customer_id: i64,
    a: &NewActivity,
    day: NaiveDate,
) -> keqing_store::CareTaskBatch {
    let mut batch = keqing_store::CareTaskBatch::default();
    let what = a
        .summary
        .as_deref()
        .or(a.gift_item.as_deref())
        .unwrap_or_default();
    let what: String = what.chars().take(200).collect();
    let message = batch.text(&format!("跟进：{what}"));
    let detail = batch.text(&json!({"follows": a.kind.as_str()}).to_string());
    batch.tasks.push(keqing_store::NewCareTask {
        kind: "follow_up",
        planned_for: day,
        date: day,
        customer_id: Some(customer_id),
        contact_id: a.contact_id,
        salesperson_id: None,
        occasions: detail,
        template: None,
        message: Some(message),
        channel: Some(a.kind.as_str()),
    });
    batch
}

#[utoipa::path(
    get,
    path = "/customers/{id}/orders",
    tag = "customers",
    operation_id = "customers_orders",
    description = "Orders of a customer",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "The customer's orders", body = OrderList))
)]
pub async fn orders(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<OrderList>, ApiError> {
    authorized(&st, &u, id, Resource::Order, Action::Read).await?;
    Ok(Json(OrderList {
        items: st.store.orders(id).await?,
    }))
}

#[utoipa::path(
    post,
    path = "/orders",
    tag = "customers",
    operation_id = "customers_create_order",
    description = "Record an order entered by hand: {customer_id, date (YYYY-MM-DD), amount (yuan string), quantity?, unit? (yuan, case, piece; 元, 箱, 件), product?, channel?}; it counts in the analysis as an imported order does. 422 names each wrong field",
    request_body = crate::openapi::OrderBody,
    responses((status = 201, description = "The order stored, with its id", body = keqing_domain::Order), (status = 422, description = "invalid: the fields that are wrong", body = crate::openapi::ErrorBody))
)]
pub async fn create_order(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<crate::openapi::OrderBody>,
) -> Result<(StatusCode, Json<keqing_domain::Order>), ApiError> {
    let o = keqing_domain::NewOrder::from_json(&body)?;
    // An order is recorded after it was placed: its day is not after
    // today in China, where the users are (a day ahead of UTC for 8 hours).
    let today = keqing_domain::day::china_today();
    if o.ordered_at.date_naive() > today {
        return Err(ApiError::invalid(
            "date",
            format!("下单日期不能晚于今天 the order date cannot be after today ({today})"),
        ));
    }
    authorized(&st, &u, o.customer_id, Resource::Order, Action::Create).await?;
    let order = st.store.create_order(&o, &u).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("customer"),
        e => e.into(),
    })?;
    Ok((StatusCode::CREATED, Json(order)))
}

#[utoipa::path(
    post,
    path = "/customers/{id}/claim",
    tag = "customers",
    operation_id = "customers_claim",
    description = "Claim a customer from the public pool",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "The customer, now yours", body = keqing_domain::Customer), (status = 409, description = "refused: not in the pool, or your claim limit is reached", body = crate::openapi::ErrorBody))
)]
pub async fn claim(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Customer>, ApiError> {
    if st
        .grants
        .scope(u.role, Resource::Customer, Action::Update)
        .is_none()
    {
        return Err(ApiError::forbidden("claim customers"));
    }
    authorized(&st, &u, id, Resource::Customer, Action::Read).await?;
    Ok(Json(
        keqing_app::pool::claim(st.store.as_ref(), id, &u).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TransferBody {
    ids: Vec<i64>,
    to_user: i64,
    /// why (required, at most 200 characters): kept in each customer's
    /// ownership history and in the audit log
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/customers/transfer",
    tag = "customers",
    operation_id = "customers_transfer",
    description = "Hand customers over to another manager, with their history; a reason is required (422 without one) and kept in the ownership history and the audit log",
    request_body = TransferBody,
    responses((status = 200, description = "How many customers were handed over", body = Transferred))
)]
pub async fn transfer(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(b): Json<TransferBody>,
) -> Result<Json<Transferred>, ApiError> {
    let scope = st
        .grants
        .scope(u.role, Resource::Customer, Action::Update)
        .ok_or_else(|| ApiError::forbidden("hand customers over"))?;
    if scope == Scope::Own {
        return Err(ApiError::forbidden(
            "hand customers over (a supervisor does this)",
        ));
    }
    if b.ids.is_empty() {
        return Err(ApiError::invalid(
            "ids",
            "请至少选择一个客户 name at least one customer",
        ));
    }
    let target = st
        .store
        .user(b.to_user)
        .await?
        .filter(|t| t.active)
        .ok_or_else(|| {
            out_of_reach(
                "to_user",
                b.to_user,
                Some(scope),
                "hand customers to someone outside your scope",
            )
        })?;
    let target_row = RowOwner {
        owner_id: Some(target.id),
        team_id: target.team_id,
        region: target.region.as_deref(),
    };
    if !scope.covers(&u, target_row) {
        return Err(ApiError::forbidden(
            "hand customers to someone outside your scope",
        ));
    }
    for id in &b.ids {
        authorized(&st, &u, *id, Resource::Customer, Action::Update).await?;
    }
    // After the checks of who may do it: a refusal says no more than before.
    let reason = archive::hand_over_reason(b.reason.as_deref())?;
    let n = st
        .store
        .transfer_customers(&b.ids, target.id, &reason, &u)
        .await?;
    Ok(Json(Transferred { transferred: n }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MergeBody {
    other_id: i64,
}

#[utoipa::path(
    post,
    path = "/customers/{id}/merge",
    tag = "customers",
    operation_id = "customers_merge",
    description = "Merge another customer into this one; both histories are kept",
    params(("id" = i64, Path, description = "customer id")),
    request_body = MergeBody,
    responses((status = 200, description = "The customer kept, with the other's records", body = keqing_domain::Customer), (status = 409, description = "refused: the two cannot be merged", body = crate::openapi::ErrorBody))
)]
pub async fn merge(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<MergeBody>,
) -> Result<Json<Customer>, ApiError> {
    authorized(&st, &u, id, Resource::Customer, Action::Update).await?;
    authorized(&st, &u, b.other_id, Resource::Customer, Action::Delete).await?;
    let merged = st.store.merge_customers(id, b.other_id, &u).await;
    Ok(Json(no_duplicate(&st, &u, merged).await?))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/completeness",
    tag = "customers",
    operation_id = "customers_completeness",
    description = "What an A-class file lacks (000)",
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, description = "Whether the file must be complete, whether it is, and what it lacks", body = Completeness))
)]
pub async fn completeness(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Completeness>, ApiError> {
    let c = authorized(&st, &u, id, Resource::Customer, Action::Read).await?;
    let contacts = st.store.contacts(id).await?;
    let missing = archive::missing_fields(&c, &contacts);
    Ok(Json(Completeness {
        required: archive::needs_complete_file(&c),
        complete: missing.is_empty(),
        missing: missing
            .into_iter()
            .map(|m| MissingField {
                label_zh: m.label_zh(),
                field: m,
            })
            .collect(),
    }))
}

/// Key customers whose files lack what 000 requires: a work item for their owner.
#[utoipa::path(
    get,
    path = "/work/incomplete",
    tag = "customers",
    operation_id = "customers_incomplete",
    description = "Key customers whose files are incomplete",
    responses((status = 200, description = "The key customers whose files lack something, with what", body = IncompleteList))
)]
pub async fn incomplete(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<IncompleteList>, ApiError> {
    let vis = visibility(&st, &u, Resource::Customer)?;
    let mut items = vec![];
    let key_files = CustomerFilter {
        visibility: vis,
        class: Some("A".into()),
        owned_only: true,
        ..Default::default()
    };
    for c in keqing_store::all_customers(st.store.as_ref(), &key_files).await? {
        let contacts = st.store.contacts(c.id).await?;
        let missing = archive::missing_fields(&c, &contacts);
        if !missing.is_empty() {
            items.push(Incomplete {
                customer_id: c.id,
                name: c.fields.name,
                owner_id: c.owner_id,
                missing,
            });
        }
    }
    Ok(Json(IncompleteList {
        total: items.len(),
        items,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChangeBody {
    note: String,
    reported_on: Option<NaiveDate>,
}

#[utoipa::path(
    post,
    path = "/customers/{id}/changes",
    tag = "customers",
    operation_id = "customers_report_change",
    description = "Report a change of customer data (must be registered within 15 days)",
    params(("id" = i64, Path, description = "customer id")),
    request_body = ChangeBody,
    responses((status = 201, description = "The change report", body = keqing_store::ChangeReport))
)]
pub async fn report_change(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<ChangeBody>,
) -> Result<(StatusCode, Json<keqing_store::ChangeReport>), ApiError> {
    authorized(&st, &u, id, Resource::Customer, Action::Update).await?;
    if b.note.trim().is_empty() {
        return Err(ApiError::invalid("note", "请说明变更内容 say what changed"));
    }
    let on = b.reported_on.unwrap_or_else(|| Utc::now().date_naive());
    Ok((
        StatusCode::CREATED,
        Json(st.store.report_change(id, b.note.trim(), on, &u).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterBody {
    on: Option<NaiveDate>,
}

#[utoipa::path(
    post,
    path = "/changes/{id}/register",
    tag = "customers",
    operation_id = "customers_register_change",
    description = "Mark a reported change as registered in the file",
    params(("id" = i64, Path, description = "change report id")),
    request_body = Option<RegisterBody>,
    responses((status = 200, description = "The change report, registered", body = keqing_store::ChangeReport))
)]
pub async fn register_change(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: Option<Json<RegisterBody>>,
) -> Result<Json<keqing_store::ChangeReport>, ApiError> {
    let open = st.store.open_changes(None).await?;
    let report = open
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("open change report"))?;
    authorized(
        &st,
        &u,
        report.customer_id,
        Resource::Customer,
        Action::Update,
    )
    .await?;
    let on = body
        .and_then(|b| b.0.on)
        .unwrap_or_else(|| Utc::now().date_naive());
    Ok(Json(st.store.register_change(id, on, &u).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// true: only those past their 15 days
    overdue: Option<bool>,
}

/// Open change reports the caller may see; `overdue=true` keeps those past 15 days.
#[utoipa::path(
    get,
    path = "/changes",
    tag = "customers",
    operation_id = "customers_open_changes",
    description = "Open change reports (overdue=true for those past 15 days)",
    params(ChangesParams),
    responses((status = 200, description = "Open change reports", body = OpenChanges))
)]
pub async fn open_changes(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ChangesParams>,
) -> Result<Json<OpenChanges>, ApiError> {
    let vis = visibility(&st, &u, Resource::Customer)?;
    let owner = match vis {
        Visibility::OwnerOrPool(id) => Some(id),
        _ => None,
    };
    let today = Utc::now().date_naive();
    let mut items = vec![];
    for r in st.store.open_changes(owner).await? {
        let overdue = archive::change_overdue(r.reported_on, r.registered_on, today);
        if p.overdue.unwrap_or(false) && !overdue {
            continue;
        }
        if owner.is_none() {
            let Some(c) = st.store.customer(r.customer_id).await? else {
                continue;
            };
            if !st
                .grants
                .allows(&u, Resource::Customer, Action::Read, row(&c))
            {
                continue;
            }
        }
        items.push(OpenChange { report: r, overdue });
    }
    Ok(Json(OpenChanges {
        total: items.len(),
        items,
    }))
}

/// Releases stale customers to the pool now (the server also does it daily).
#[utoipa::path(
    post,
    path = "/pool/release",
    tag = "customers",
    operation_id = "customers_release",
    description = "Release customers without follow-up to the pool now",
    responses((status = 200, description = "The customers released", body = Released))
)]
pub async fn release(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<Released>, ApiError> {
    let ids =
        keqing_app::pool::release_stale(st.store.as_ref(), &st.grants, Utc::now(), &u).await?;
    Ok(Json(Released { released: ids }))
}

// --- custom profile fields (SPEC §1) ---

pub use keqing_app::custom_fields::{custom_fields_in, CUSTOM_FIELDS_SETTING};

pub async fn custom_fields(st: &AppState) -> Result<Vec<CustomFieldDef>, ApiError> {
    Ok(custom_fields_in(st.store.as_ref()).await?)
}

/// `GET /api/v1/custom-fields`: the definitions every customer form shows.
#[utoipa::path(
    get,
    path = "/custom-fields",
    tag = "customers",
    operation_id = "customers_get_custom_fields",
    description = "The deployment's custom profile fields: {fields: [{key, label, type, options, required}]}",
    responses((status = 200, description = "The definitions", body = crate::openapi::CustomFields))
)]
pub async fn get_custom_fields(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(custom_field::definitions_to_json(
        &custom_fields(&st).await?,
    )))
}

/// `PUT /api/v1/custom-fields` with `{"fields": [...]}`: an administrator
/// replaces the definitions. A label or key an import of customers already
/// reads as another column (`生日`, `等级`) is refused: a file could not
/// fill the field. Stored values of a removed field stay in the files but
/// are no longer checked, nor exported (an export has a column for each
/// defined field).
#[utoipa::path(
    put,
    path = "/custom-fields",
    tag = "customers",
    operation_id = "customers_put_custom_fields",
    description = "Replace the custom profile field definitions (administrators); types text, number, date, choice, multi_choice; 422 for a label or key a customers import reads as another column (生日, 等级)",
    request_body = crate::openapi::CustomFields,
    responses((status = 200, description = "The definitions stored", body = crate::openapi::CustomFields))
)]
pub async fn put_custom_fields(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<crate::openapi::CustomFields>,
) -> Result<Json<Value>, ApiError> {
    if u.role != keqing_domain::Role::Admin {
        return Err(ApiError::forbidden("define custom fields"));
    }
    let defs = custom_field::definitions_from_json(&Value::Object(body))?;
    keqing_io::check_custom_headers(&defs)?;
    let v = custom_field::definitions_to_json(&defs);
    st.store.put_care_setting(CUSTOM_FIELDS_SETTING, &v).await?;
    st.store
        .audit(Some(u.id), "update", "custom_fields", None, v.clone())
        .await?;
    Ok(Json(v))
}

/// `{items}`: a customer's field-level changes.
#[derive(Serialize, ToSchema)]
pub struct HistoryList {
    pub items: Vec<HistoryView>,
}

/// A field-level change, with the name of who made it.
#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    #[serde(flatten)]
    pub entry: keqing_store::HistoryEntry,
    /// the display name of `user_id` (null: none, or an import)
    pub user_name: Option<String>,
}

/// `{items}`: who owned a customer when.
#[derive(Serialize, ToSchema)]
pub struct OwnershipList {
    pub items: Vec<keqing_store::OwnershipEvent>,
}

/// `{items}`: a customer's contacts.
#[derive(Serialize, ToSchema)]
pub struct ContactList {
    pub items: Vec<keqing_domain::Contact>,
}

/// `{items}`: a customer's activities.
#[derive(Serialize, ToSchema)]
pub struct ActivityList {
    pub items: Vec<ActivityView>,
}

/// An activity, with the name of who logged it.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    #[serde(flatten)]
    pub activity: keqing_domain::Activity,
    /// the display name of `user_id` (null: none, or an import)
    pub user_name: Option<String>,
}

/// `{items}`: a customer's orders.
#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<keqing_domain::Order>,
}

/// The answer to a transfer.
#[derive(Serialize, ToSchema)]
pub struct Transferred {
    /// how many customers were handed over
    pub transferred: u64,
}

/// The answer to a release to the pool.
#[derive(Serialize, ToSchema)]
pub struct Released {
    /// the ids of the customers released
    pub released: Vec<i64>,
}

/// What an A-class file lacks (000).
#[derive(Serialize, ToSchema)]
pub struct Completeness {
    /// whether this customer's file must be complete (a key customer)
    pub required: bool,
    pub complete: bool,
    pub missing: Vec<MissingField>,
}

/// A field the file lacks.
#[derive(Serialize, ToSchema)]
pub struct MissingField {
    /// the field's key
    #[schema(value_type = String)]
    pub field: archive::Missing,
    /// its Chinese name
    pub label_zh: &'static str,
}

/// `{items, total}`: open change reports.
#[derive(Serialize, ToSchema)]
pub struct OpenChanges {
    pub items: Vec<OpenChange>,
    pub total: usize,
}

/// A change report not yet registered.
#[derive(Serialize, ToSchema)]
pub struct OpenChange {
    #[serde(flatten)]
    pub report: keqing_store::ChangeReport,
    /// past the 15 days it had to be registered in
    pub overdue: bool,
}

/// A customer just created, with the contacts created with it.
#[derive(Serialize, ToSchema)]
pub struct CreatedCustomer {
    #[serde(flatten)]
    pub customer: Customer,
    pub contacts: Vec<keqing_domain::Contact>,
}

/// `{items, total}`: key customers whose files are incomplete.
#[derive(Serialize, ToSchema)]
pub struct IncompleteList {
    pub items: Vec<Incomplete>,
    pub total: usize,
}

/// A key customer whose file lacks what 000 requires.
#[derive(Serialize, ToSchema)]
pub struct Incomplete {
    pub customer_id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    /// the fields it lacks, by key
    #[schema(value_type = Vec<String>)]
    pub missing: Vec<archive::Missing>,
}
