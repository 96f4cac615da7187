//! Value analysis over the orders in the database (SPEC §3, §5): the same
//! engine as `keqing analyze`, fed from the store and scoped to the customers
//! the caller may read.

use crate::auth::CurrentUser;
use crate::customers::visibility;
use crate::error::{ApiError, JsonObject};
use crate::extract::{Json, Paging, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use keqing_analysis::date::format_day;
use keqing_analysis::{abc, clv, funnel, repeat, rfm, Transactions};
use keqing_app::analysis::{apply_values, cid, day_of};
use keqing_app::AppError;
use keqing_domain::access::{Action, Resource, Scope};
use keqing_domain::{Money, User};
use keqing_store::{AnalysisSnapshot, NewAnalysisSnapshot, SnapshotMember, SnapshotMemberFilter};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

fn engine(e: keqing_analysis::AnalysisError) -> ApiError {
    AppError::Analysis(e).into()
}

/// The caller's orders as the engine's table; customer keys are customer ids.
async fn transactions(st: &AppState, u: &User) -> Result<Transactions, ApiError> {
    Ok(keqing_app::analysis::transactions(st.store.as_ref(), &st.grants, u).await?)
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// the day the analysis looks back from (YYYY-MM-DD)
    as_of: Option<chrono::NaiveDate>,
    /// List the members of one class (RFM key or ABC letter).
    class: Option<String>,
    /// members: 1-based page
    page: Option<i64>,
    /// members: rows a page
    per_page: Option<i64>,
    /// ABC: the four classes' shares of sales in percent, e.g. 70,20,5,5
    cuts: Option<String>,
    /// CLV: bgnbd (default) or pareto (Pareto/NBD)
    model: Option<String>,
    /// CLV: the period orders are counted in: D, W (default) or M
    freq: Option<String>,
    /// CLV: how many months ahead
    horizon_months: Option<u32>,
    /// CLV: the yearly discount rate
    discount: Option<f64>,
    /// funnel: six stage counts St0..St5, e.g. 750,200,150,80,75,70
    counts: Option<String>,
    /// CLV: list the members of one decile, 1 the top 10% by CLV … 10 the lowest.
    decile: Option<usize>,
    /// Repeat purchases: list the customers with this many purchases.
    purchases: Option<u64>,
}

/// One page of members with their names, for drilling down from a chart.
async fn members(st: &AppState, rows: Vec<(i64, Value)>, p: &Params) -> Result<Value, ApiError> {
    let Paging {
        page,
        per_page,
        offset,
    } = Paging::new(p.page, p.per_page, 50, 500)?;
    let total = rows.len();
    let slice: Vec<(i64, Value)> = rows
        .into_iter()
        .skip(offset as usize)
        .take(per_page as usize)
        .collect();
    let ids: Vec<i64> = slice.iter().map(|r| r.0).collect();
    let names: std::collections::HashMap<i64, String> = st
        .store
        .customers_by_ids(&ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.fields.name))
        .collect();
    let items: Vec<Value> = slice
        .into_iter()
        .map(|(id, mut v)| {
            v["customer_id"] = json!(id);
            v["name"] = json!(names.get(&id));
            v
        })
        .collect();
    Ok(json!({"items": items, "total": total, "page": page, "per_page": per_page}))
}

/// `GET /api/v1/analysis/rfm`: the eight classes (mean split) with counts and shares.
#[utoipa::path(
    get,
    path = "/analysis/rfm",
    tag = "analysis",
    operation_id = "analysis_rfm_analysis",
    description = "RFM eight classes over your customers' orders (as_of; class= lists the members)",
    params(Params),
    responses((status = 200, description = "{as_of, customers, classes: [...], members?}", body = crate::openapi::AnyObject))
)]
pub async fn rfm_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let tx = transactions(&st, &u).await?;
    let r = rfm::rfm(
        &tx,
        &rfm::RfmOptions {
            as_of: p.as_of.map(day_of),
            ..Default::default()
        },
    )
    .map_err(engine)?;
    let mut out = json!({ "summary": rfm_summary(&r) });
    if let Some(class) = &p.class {
        let rows: Vec<(i64, Value)> = r
            .rows
            .iter()
            .filter(|x| x.class.key() == class)
            .map(|x| (cid(&tx, x.customer), json!({"r": x.recency_days, "f": x.frequency, "m": keqing_domain::Money(x.monetary_fen), "score": x.score_code(), "class": x.class.key()})))
            .collect();
        out["members"] = members(&st, rows, &p).await?;
    }
    Ok(Json(out))
}

fn rfm_summary(r: &rfm::RfmResult) -> Value {
    let mut classes = Map::new();
    for c in &r.classes {
        classes.insert(
            c.class.key().into(),
            json!({"count": c.count, "label_zh": c.class.label_zh(), "customer_share": c.customer_share, "sales_share": c.sales_share, "sales": Money(c.sales_fen)}),
        );
    }
    json!({
        "as_of": format_day(r.as_of), "customers": r.customers, "transactions": r.transactions,
        "means": {"r": r.mean_r_days, "f": r.mean_f, "m": r.mean_m_fen / 100.0},
        "classes": classes,
    })
}

fn abc_summary(r: &abc::AbcResult) -> Value {
    let mut classes = Map::new();
    for c in &r.classes {
        classes.insert(c.class.key().into(), json!({"customers": c.customers, "customer_share": c.customer_share, "sales_share": c.sales_share, "sales": Money(c.sales_fen)}));
    }
    json!({"classes": classes, "top20_share": r.top20_share, "total_sales": Money(r.total_sales_fen)})
}

/// `GET /api/v1/analysis/abc`: ABC classes, the Pareto curve and the top-20% share.
#[utoipa::path(
    get,
    path = "/analysis/abc",
    tag = "analysis",
    operation_id = "analysis_abc_analysis",
    description = "ABC / Pareto classes, the Pareto curve and the top-20% share (cuts=70,20,5,5; class= lists members)",
    params(Params),
    responses((status = 200, description = "{classes, curve, top20_share, members?}", body = crate::openapi::AnyObject))
)]
pub async fn abc_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let tx = transactions(&st, &u).await?;
    let cuts = match &p.cuts {
        Some(c) => abc::AbcCuts::parse(c).map_err(engine)?,
        None => abc::AbcCuts::default(),
    };
    let r = abc::abc(&tx, &cuts).map_err(engine)?;
    let mut out = json!({"summary": abc_summary(&r), "pareto": r.pareto()});
    if let Some(class) = &p.class {
        let rows: Vec<(i64, Value)> = r
            .customers
            .iter()
            .filter(|x| x.class.key() == class.to_ascii_uppercase())
            .map(|x| (cid(&tx, x.customer), json!({"rank": x.rank, "sales": keqing_domain::Money(x.sales_fen), "share_before": x.share_before, "class": x.class.key()})))
            .collect();
        out["members"] = members(&st, rows, &p).await?;
    }
    Ok(Json(out))
}

/// `GET /api/v1/analysis/clv`: BG/NBD or Pareto/NBD with Gamma-Gamma; the top customers by CLV.
#[utoipa::path(
    get,
    path = "/analysis/clv",
    tag = "analysis",
    operation_id = "analysis_clv_analysis",
    description = "Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma (model, freq, horizon_months, discount); deciles: CLV at P0, P10 … P100; top: the customers by CLV (page, per_page); decile=1..10 lists that decile's members (1: the top 10%) as members",
    params(Params),
    responses((status = 200, description = "{model, deciles, top, members?}", body = crate::openapi::AnyObject))
)]
pub async fn clv_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let tx = transactions(&st, &u).await?;
    let period = clv::Period::parse(p.freq.as_deref().unwrap_or("W")).map_err(engine)?;
    let model = match p.model.as_deref() {
        None | Some("bgnbd") => clv::ClvModel::BgNbd,
        Some("pareto") => clv::ClvModel::Pareto,
        Some(o) => {
            return Err(ApiError::invalid(
                "model",
                format!("模型只能是bgnbd或pareto use bgnbd or pareto, not {o:?}"),
            ))
        }
    };
    let data = clv::summarise(&tx, p.as_of.map(day_of), period).map_err(engine)?;
    let opts = clv::ClvOptions {
        model,
        period,
        horizon_months: p.horizon_months.unwrap_or(12),
        monthly_discount: p.discount.unwrap_or(0.01),
        per_customer: true,
    };
    let r = clv::clv(&data, &opts).map_err(engine)?;
    let mut ranked: Vec<&clv::ClvCustomer> = r.customers.iter().collect();
    ranked.sort_by(|a, b| b.clv.unwrap_or(0.0).total_cmp(&a.clv.unwrap_or(0.0)));
    let rows: Vec<(i64, Value)> = ranked
        .iter()
        .map(|c| (c.customer_id.parse().unwrap_or_default(), json!(c)))
        .collect();
    // The distribution for a histogram: CLV at P0, P10, …, P100 (lowest first).
    let values: Vec<f64> = ranked.iter().filter_map(|c| c.clv).collect();
    let deciles: Vec<f64> = (0..=10)
        .map(|i| {
            values
                .get(((values.len().saturating_sub(1)) * (10 - i)) / 10)
                .copied()
                .unwrap_or(0.0)
        })
        .collect();
    let decile = match p.decile {
        None => None,
        Some(d @ 1..=10) => {
            // Decile d of the ranking: ranks [(d-1)·n/10, d·n/10).
            let n = rows.len();
            Some(rows[(d - 1) * n / 10..d * n / 10].to_vec())
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "decile",
                "十分位应为1到10 a decile from 1 (top 10%) to 10",
            ))
        }
    };
    let members_of_decile = match decile {
        Some(rows) => Some(members(&st, rows, &p).await?),
        None => None,
    };
    Ok(Json(json!({
        "model": p.model.as_deref().unwrap_or("bgnbd"),
        "members": members_of_decile,
        "params": r.params,
        "spend_params": r.spend.as_ref().map(|s| s.params),
        "log_likelihood": r.log_likelihood,
        "customers": r.customers.len(),
        "deciles": deciles,
        "top": members(&st, rows, &p).await?,
    })))
}

/// `GET /api/v1/analysis/repeat`: customers by number of purchases; purchase
/// cycle; `purchases=k` lists the customers who bought k times.
#[utoipa::path(
    get,
    path = "/analysis/repeat",
    tag = "analysis",
    operation_id = "analysis_repeat_analysis",
    description = "Repeat-purchase distribution and purchase cycle; purchases=k lists the customers who bought k times as members (page, per_page)",
    params(Params),
    responses((status = 200, description = "{customers, distribution, repeat_rate, mean_cycle_days, members?}", body = crate::openapi::AnyObject))
)]
pub async fn repeat_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let tx = transactions(&st, &u).await?;
    let r = repeat::repeat_purchases(&tx).map_err(engine)?;
    let mut out = json!({"customers": r.customers, "distribution": r.distribution, "repeat_rate": r.repeat_rate, "mean_cycle_days": r.mean_cycle_days});
    if let Some(k) = p.purchases {
        let rows: Vec<(i64, Value)> = r
            .purchases
            .iter()
            .enumerate()
            .filter(|(_, n)| **n == k)
            .map(|(i, n)| {
                (
                    cid(&tx, i as u32),
                    json!({"purchases": n, "cycle_days": r.cycle_days[i]}),
                )
            })
            .collect();
        out["members"] = members(&st, rows, &p).await?;
    }
    Ok(Json(out))
}

/// `GET /api/v1/analysis/funnel?counts=750,200,150,80,75,70`: AISAS rates and the weakest stage.
#[utoipa::path(
    get,
    path = "/analysis/funnel",
    tag = "analysis",
    operation_id = "analysis_funnel_analysis",
    description = "AISAS funnel rates from six stage counts, and the weakest stage",
    params(Params),
    responses((status = 200, description = "{stages, rates, weakest}", body = crate::openapi::AnyObject))
)]
pub async fn funnel_analysis(
    CurrentUser(_u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let raw = p.counts.ok_or_else(|| {
        ApiError::invalid(
            "counts",
            "请填写六个阶段的人数 give six stage counts St0..St5, e.g. 750,200,150,80,75,70",
        )
    })?;
    let v: Vec<u64> = raw
        .split(',')
        .map(|x| x.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::invalid(
                "counts",
                format!("阶段人数应为整数 not six whole numbers: {raw:?}"),
            )
        })?;
    let counts: [u64; 6] = v.try_into().map_err(|_| {
        ApiError::invalid(
            "counts",
            "需要正好六个阶段的人数 give exactly six stage counts",
        )
    })?;
    Ok(Json(json!(funnel::aisas(counts).map_err(engine)?)))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplyParams {
    /// The calendar year whose spend sets the tiers (default: last year, as
    /// tiers are fixed at the start of a year from the year before: 003 A13).
    tier_year: Option<i32>,
}

/// `POST /api/v1/analysis/apply`: writes each customer's ABC class, RFM class,
/// CLV, P(alive) and spend-band tier onto the customer file, so lists filter
/// by them and the customer page shows them.
#[utoipa::path(
    post,
    path = "/analysis/apply",
    tag = "analysis",
    operation_id = "analysis_apply",
    description = "Write each customer's ABC class, RFM class, CLV, P(alive) and spend-band tier (tier_year, default last year) onto the file",
    params(ApplyParams),
    responses((status = 200, description = "How many customers were written", body = crate::openapi::AnyObject))
)]
pub async fn apply(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ApplyParams>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        apply_values(st.store.as_ref(), &st.grants, &u, p.tier_year).await?,
    ))
}

// --- snapshots: saved results whose members are target lists (SPEC §3, §5) ---

/// May the caller see this snapshot? Those who read every order see every
/// snapshot; others see the ones they made.
fn may_see(st: &AppState, u: &User, s: &AnalysisSnapshot) -> bool {
    st.grants.scope(u.role, Resource::Order, Action::Read) == Some(Scope::All)
        || s.created_by == Some(u.id)
}

async fn snapshot_for(st: &AppState, u: &User, id: i64) -> Result<AnalysisSnapshot, ApiError> {
    let s = st
        .store
        .analysis_snapshot(id)
        .await?
        .ok_or_else(|| ApiError::not_found("snapshot"))?;
    if !may_see(st, u, &s) {
        return Err(ApiError::forbidden("read this snapshot"));
    }
    Ok(s)
}

fn param_str(params: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ApiError::invalid(
            key,
            format!("应为文本 expected a string, got {v}"),
        )),
    }
}

fn param_date(params: &Map<String, Value>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    param_str(params, "as_of")?
        .map(|s| {
            s.parse::<chrono::NaiveDate>().map_err(|_| {
                ApiError::invalid(
                    "as_of",
                    format!("日期格式不正确 not a date (YYYY-MM-DD): {s:?}"),
                )
            })
        })
        .transpose()
}

/// `POST /api/v1/analysis/snapshots` `{kind: rfm|abc|clv, name, params}`: runs
/// the analysis on the caller's orders and saves it with its members.
#[utoipa::path(
    post,
    path = "/analysis/snapshots",
    tag = "analysis",
    operation_id = "analysis_create_snapshot",
    description = "Run an analysis on your orders and save it with its members: {kind: rfm|abc|clv, name, params: {as_of, cuts, model, freq, horizon_months, discount}}",
    request_body = crate::openapi::SnapshotBody,
    responses((status = 201, description = "The snapshot saved", body = crate::openapi::AnalysisSnapshot))
)]
pub async fn create_snapshot(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<crate::openapi::SnapshotBody>,
) -> Result<(StatusCode, Json<AnalysisSnapshot>), ApiError> {
    let kind = param_str(&body, "kind")?.unwrap_or_default();
    let name = param_str(&body, "name")?.unwrap_or_default();
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "名称应为1到200个字 give a name of 1 to 200 characters",
        ));
    }
    let params = match body.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                "params",
                "参数应为对象 must be an object",
            ))
        }
    };
    let as_of = param_date(&params)?;
    let (summary, members) = match kind.as_str() {
        "rfm" => rfm_members(&st, &u, as_of).await?,
        "abc" => {
            let cuts = match param_str(&params, "cuts")? {
                Some(c) => abc::AbcCuts::parse(&c).map_err(engine)?,
                None => abc::AbcCuts::default(),
            };
            abc_members(&st, &u, as_of, &cuts).await?
        }
        "clv" => clv_members(&st, &u, as_of, &params).await?,
        other => {
            return Err(ApiError::invalid(
                "kind",
                format!("分析类型只能是rfm、abc或clv use rfm, abc or clv, not {other:?}"),
            ))
        }
    };
    let snap = st
        .store
        .create_analysis_snapshot(&NewAnalysisSnapshot {
            kind: kind.clone(),
            name,
            params: Value::Object(params),
            as_of,
            summary,
            created_by: Some(u.id),
            members,
        })
        .await?;
    st.store
        .audit(
            Some(u.id),
            "create",
            "analysis_snapshot",
            Some(snap.id),
            json!({"kind": kind, "name": snap.name, "members": snap.members}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(snap)))
}

async fn rfm_members(
    st: &AppState,
    u: &User,
    as_of: Option<chrono::NaiveDate>,
) -> Result<(Value, Vec<SnapshotMember>), ApiError> {
    let tx = transactions(st, u).await?;
    let r = rfm::rfm(
        &tx,
        &rfm::RfmOptions {
            as_of: as_of.map(day_of),
            ..Default::default()
        },
    )
    .map_err(engine)?;
    // By class (in the model's order), then by money, largest first.
    let mut rows: Vec<&rfm::CustomerRfm> = r.rows.iter().collect();
    rows.sort_by(|a, b| {
        (a.class.index(), b.monetary_fen, a.customer).cmp(&(
            b.class.index(),
            a.monetary_fen,
            b.customer,
        ))
    });
    let members = rows
        .iter()
        .map(|x| SnapshotMember {
            customer_id: cid(&tx, x.customer),
            class: Some(x.class.key().to_string()),
            data: json!({
                "r": x.recency_days, "f": x.frequency, "m": Money(x.monetary_fen),
                "score": x.score_code(), "r_score": x.r_score, "f_score": x.f_score, "m_score": x.m_score,
            }),
        })
        .collect();
    Ok((rfm_summary(&r), members))
}

async fn abc_members(
    st: &AppState,
    u: &User,
    as_of: Option<chrono::NaiveDate>,
    cuts: &abc::AbcCuts,
) -> Result<(Value, Vec<SnapshotMember>), ApiError> {
    let mut tx = transactions(st, u).await?;
    if let Some(d) = as_of {
        tx = tx.filter_days(i32::MIN, day_of(d));
    }
    let r = abc::abc(&tx, cuts).map_err(engine)?;
    let members = r
        .customers
        .iter()
        .map(|x| SnapshotMember {
            customer_id: cid(&tx, x.customer),
            class: Some(x.class.key().to_string()),
            data: json!({"rank": x.rank, "sales": Money(x.sales_fen), "share_before": x.share_before}),
        })
        .collect();
    let mut summary = abc_summary(&r);
    summary["as_of"] = json!(as_of.map(|d| d.to_string()));
    summary["customers"] = json!(r.customers.len());
    Ok((summary, members))
}

/// CLV members are classed by value in quintiles: Q1 the top 20%, Q5 the bottom.
async fn clv_members(
    st: &AppState,
    u: &User,
    as_of: Option<chrono::NaiveDate>,
    params: &Map<String, Value>,
) -> Result<(Value, Vec<SnapshotMember>), ApiError> {
    let tx = transactions(st, u).await?;
    let freq = param_str(params, "freq")?.unwrap_or_else(|| "W".into());
    let period = clv::Period::parse(&freq).map_err(engine)?;
    let model = match param_str(params, "model")?.as_deref() {
        None | Some("bgnbd") => clv::ClvModel::BgNbd,
        Some("pareto") => clv::ClvModel::Pareto,
        Some(o) => {
            return Err(ApiError::invalid(
                "model",
                format!("模型只能是bgnbd或pareto use bgnbd or pareto, not {o:?}"),
            ))
        }
    };
    let horizon_months = match params.get("horizon_months") {
        None | Some(Value::Null) => 12,
        Some(v) => v.as_u64().filter(|n| *n <= 120).ok_or_else(|| {
            ApiError::invalid(
                "horizon_months",
                "预测月数应为0到120的整数 a whole number of months, 0 to 120",
            )
        })? as u32,
    };
    let discount = match params.get("discount") {
        None | Some(Value::Null) => 0.01,
        Some(v) => v.as_f64().ok_or_else(|| {
            ApiError::invalid("discount", "月折现率格式不正确 a monthly rate such as 0.01")
        })?,
    };
    let data = clv::summarise(&tx, as_of.map(day_of), period).map_err(engine)?;
    let r = clv::clv(
        &data,
        &clv::ClvOptions {
            model,
            period,
            horizon_months,
            monthly_discount: discount,
            per_customer: true,
        },
    )
    .map_err(engine)?;
    let value = |c: &clv::ClvCustomer| c.clv.unwrap_or(c.expected_purchases);
    let mut ranked: Vec<&clv::ClvCustomer> = r.customers.iter().collect();
    ranked.sort_by(|a, b| value(b).total_cmp(&value(a)));
    let n = ranked.len().max(1);
    let mut counts = [0usize; 5];
    let members = ranked
        .iter()
        .enumerate()
        .map(|(rank, c)| {
            let q = rank * 5 / n;
            counts[q] += 1;
            SnapshotMember {
                customer_id: c.customer_id.parse().unwrap_or_default(),
                class: Some(format!("Q{}", q + 1)),
                data: json!({
                    "clv": c.clv, "p_alive": c.p_alive, "expected_purchases": c.expected_purchases,
                    "expected_spend": c.expected_spend, "frequency": c.frequency, "recency": c.recency,
                    "T": c.t, "monetary_value": c.monetary_value,
                }),
            }
        })
        .collect();
    let summary = json!({
        "model": match model { clv::ClvModel::BgNbd => "bgnbd", clv::ClvModel::Pareto => "pareto" },
        "period": freq, "as_of": as_of.map(|d| d.to_string()),
        "customers": r.total_customers, "params": r.params,
        "spend_params": r.spend.as_ref().map(|s| s.params),
        "log_likelihood": r.log_likelihood, "total_clv": r.total_clv,
        "horizon_months": horizon_months, "monthly_discount": discount,
        "classes": {"Q1": counts[0], "Q2": counts[1], "Q3": counts[2], "Q4": counts[3], "Q5": counts[4]},
    });
    Ok((summary, members))
}

/// `GET /api/v1/analysis/snapshots`: the snapshots the caller may see, newest first.
#[utoipa::path(
    get,
    path = "/analysis/snapshots",
    tag = "analysis",
    operation_id = "analysis_list_snapshots",
    description = "Saved analysis snapshots you may see, newest first",
    responses((status = 200, description = "Snapshots, newest first", body = SnapshotList))
)]
pub async fn list_snapshots(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<SnapshotList>, ApiError> {
    let all = st.grants.scope(u.role, Resource::Order, Action::Read) == Some(Scope::All);
    let items = st
        .store
        .analysis_snapshots(if all { None } else { Some(u.id) })
        .await?;
    Ok(Json(SnapshotList {
        total: items.len(),
        items,
    }))
}

/// `GET /api/v1/analysis/snapshots/{id}`: one snapshot's parameters and summary.
#[utoipa::path(
    get,
    path = "/analysis/snapshots/{id}",
    tag = "analysis",
    operation_id = "analysis_get_snapshot",
    description = "One snapshot: parameters, as-of date and summary",
    params(("id" = i64, Path, description = "snapshot id")),
    responses((status = 200, description = "The snapshot", body = crate::openapi::AnalysisSnapshot))
)]
pub async fn get_snapshot(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<AnalysisSnapshot>, ApiError> {
    Ok(Json(snapshot_for(&st, &u, id).await?))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberParams {
    /// only the members of this class
    class: Option<String>,
    /// 1-based page
    page: Option<i64>,
    /// rows a page
    per_page: Option<i64>,
}

/// `GET /api/v1/analysis/snapshots/{id}/members?class=…`: the target list, a
/// page at a time, of the members the caller may read now.
#[utoipa::path(
    get,
    path = "/analysis/snapshots/{id}/members",
    tag = "analysis",
    operation_id = "analysis_snapshot_members",
    description = "A snapshot's members as a target list, within your scope (class, page, per_page)",
    params(("id" = i64, Path, description = "snapshot id"), MemberParams),
    responses((status = 200, description = "A page of the snapshot's members within your scope", body = MemberPage))
)]
pub async fn snapshot_members(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Query(p): Query<MemberParams>,
) -> Result<Json<MemberPage>, ApiError> {
    snapshot_for(&st, &u, id).await?;
    let vis = visibility(&st, &u, Resource::Customer)?;
    let Paging {
        page,
        per_page,
        offset,
    } = Paging::new(p.page, p.per_page, 50, 500)?;
    let r = st
        .store
        .analysis_snapshot_members(
            id,
            &SnapshotMemberFilter {
                visibility: vis,
                class: p.class.filter(|c| !c.is_empty()),
                offset,
                limit: per_page,
            },
        )
        .await?;
    Ok(Json(MemberPage {
        items: r.items,
        total: r.total,
        page,
        per_page,
    }))
}

/// `DELETE /api/v1/analysis/snapshots/{id}`: by its maker or an administrator.
#[utoipa::path(
    delete,
    path = "/analysis/snapshots/{id}",
    tag = "analysis",
    operation_id = "analysis_delete_snapshot",
    description = "Delete a snapshot (its maker or an administrator)",
    params(("id" = i64, Path, description = "snapshot id")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete_snapshot(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let s = snapshot_for(&st, &u, id).await?;
    let admin = st.grants.scope(u.role, Resource::Customer, Action::Delete) == Some(Scope::All);
    if s.created_by != Some(u.id) && !admin {
        return Err(ApiError::forbidden("delete a snapshot someone else made"));
    }
    st.store.delete_analysis_snapshot(id).await?;
    st.store
        .audit(
            Some(u.id),
            "delete",
            "analysis_snapshot",
            Some(id),
            json!({"name": s.name}),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{items, total}`: the snapshots the caller may see.
#[derive(Serialize, ToSchema)]
pub struct SnapshotList {
    #[schema(value_type = Vec<crate::openapi::AnalysisSnapshot>)]
    pub items: Vec<AnalysisSnapshot>,
    pub total: usize,
}

/// A page of a snapshot's members.
#[derive(Serialize, ToSchema)]
pub struct MemberPage {
    #[schema(value_type = Vec<crate::openapi::SnapshotMember>)]
    pub items: Vec<keqing_store::SnapshotMemberRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}
