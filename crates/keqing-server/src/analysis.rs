//! Value analysis over the orders in the database (SPEC §3, §5): the same
//! engine as `keqing analyze`, fed from the store and scoped to the customers
//! the caller may read.

use crate::auth::CurrentUser;
use crate::customers::visibility;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use keqing_analysis::date::{days_from_civil, format_day};
use keqing_analysis::{abc, clv, funnel, repeat, rfm, Transactions, TransactionsBuilder};
use keqing_domain::access::{Action, Resource, Scope};
use keqing_domain::User;
use keqing_store::{CustomerFilter, ValueUpdate, Visibility};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

fn engine(e: keqing_analysis::AnalysisError) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "analysis", e.to_string())
}

fn day_of(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    days_from_civil(d.year(), d.month(), d.day())
}

/// The caller's orders as the engine's table; customer keys are customer ids.
async fn transactions(st: &AppState, u: &User) -> Result<Transactions, ApiError> {
    let vis = visibility(st, u, Resource::Order)?;
    let visible: Option<HashSet<i64>> = match vis {
        Visibility::All => None,
        v => {
            let scope = CustomerFilter {
                visibility: v,
                owned_only: true,
                ..Default::default()
            };
            let ids: HashSet<i64> = keqing_store::all_customers(st.store.as_ref(), &scope)
                .await?
                .iter()
                .map(|c| c.id)
                .collect();
            Some(ids)
        }
    };
    let facts = st.store.order_facts().await?;
    let mut b = TransactionsBuilder::with_capacity(facts.len());
    let mut key = String::new();
    for f in facts {
        if visible
            .as_ref()
            .is_some_and(|v| !v.contains(&f.customer_id))
        {
            continue;
        }
        key.clear();
        key.push_str(&f.customer_id.to_string());
        b.push(&key, day_of(f.date), f.amount_fen);
    }
    let tx = b.finish();
    if tx.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_orders",
            "there are no orders to analyse in your scope",
        ));
    }
    Ok(tx)
}

#[derive(Deserialize, Default)]
pub struct Params {
    as_of: Option<chrono::NaiveDate>,
    /// List the members of one class (RFM key or ABC letter).
    class: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
    cuts: Option<String>,
    model: Option<String>,
    freq: Option<String>,
    horizon_months: Option<u32>,
    discount: Option<f64>,
    counts: Option<String>,
}

/// One page of members with their names, for drilling down from a chart.
async fn members(st: &AppState, rows: Vec<(i64, Value)>, p: &Params) -> Result<Value, ApiError> {
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500);
    let page = p.page.unwrap_or(1).max(1);
    let total = rows.len();
    let slice: Vec<(i64, Value)> = rows
        .into_iter()
        .skip(((page - 1) * per_page) as usize)
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

fn cid(tx: &Transactions, idx: u32) -> i64 {
    tx.customer_ids[idx as usize].parse().unwrap_or_default()
}

/// `GET /api/v1/analysis/rfm`: the eight classes (mean split) with counts and shares.
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
    let mut classes = Map::new();
    for c in &r.classes {
        classes.insert(
            c.class.key().into(),
            json!({"count": c.count, "label_zh": c.class.label_zh(), "customer_share": c.customer_share, "sales_share": c.sales_share, "sales": keqing_domain::Money(c.sales_fen)}),
        );
    }
    let mut out = json!({"summary": {
        "as_of": format_day(r.as_of), "customers": r.customers, "transactions": r.transactions,
        "means": {"r": r.mean_r_days, "f": r.mean_f, "m": r.mean_m_fen / 100.0},
        "classes": classes,
    }});
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

/// `GET /api/v1/analysis/abc`: ABC classes, the Pareto curve and the top-20% share.
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
    let mut classes = Map::new();
    for c in &r.classes {
        classes.insert(c.class.key().into(), json!({"customers": c.customers, "customer_share": c.customer_share, "sales_share": c.sales_share, "sales": keqing_domain::Money(c.sales_fen)}));
    }
    let mut out = json!({"summary": {"classes": classes, "top20_share": r.top20_share, "total_sales": keqing_domain::Money(r.total_sales_fen)}, "pareto": r.pareto()});
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
                format!("use bgnbd or pareto, not {o:?}"),
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
    Ok(Json(json!({
        "model": p.model.as_deref().unwrap_or("bgnbd"),
        "params": r.params,
        "spend_params": r.spend.as_ref().map(|s| s.params),
        "log_likelihood": r.log_likelihood,
        "customers": r.customers.len(),
        "deciles": deciles,
        "top": members(&st, rows, &p).await?,
    })))
}

/// `GET /api/v1/analysis/repeat`: customers by number of purchases; purchase cycle.
pub async fn repeat_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let tx = transactions(&st, &u).await?;
    let r = repeat::repeat_purchases(&tx).map_err(engine)?;
    Ok(Json(
        json!({"customers": r.customers, "distribution": r.distribution, "repeat_rate": r.repeat_rate, "mean_cycle_days": r.mean_cycle_days}),
    ))
}

/// `GET /api/v1/analysis/funnel?counts=750,200,150,80,75,70`: AISAS rates and the weakest stage.
pub async fn funnel_analysis(
    CurrentUser(_u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let raw = p.counts.ok_or_else(|| {
        ApiError::invalid(
            "counts",
            "give six stage counts St0..St5, e.g. 750,200,150,80,75,70",
        )
    })?;
    let v: Vec<u64> = raw
        .split(',')
        .map(|x| x.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::invalid("counts", format!("not six whole numbers: {raw:?}")))?;
    let counts: [u64; 6] = v
        .try_into()
        .map_err(|_| ApiError::invalid("counts", "give exactly six stage counts"))?;
    Ok(Json(json!(funnel::aisas(counts).map_err(engine)?)))
}

/// `POST /api/v1/analysis/apply`: writes each customer's ABC class, RFM class
/// and CLV onto the customer file, so lists filter by them.
pub async fn apply(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    if st.grants.scope(u.role, Resource::Customer, Action::Update) != Some(Scope::All) {
        return Err(ApiError::forbidden("recompute every customer's class"));
    }
    let tx = transactions(&st, &u).await?;
    let a = abc::abc(&tx, &abc::AbcCuts::default()).map_err(engine)?;
    let r = rfm::rfm(
        &tx,
        &rfm::RfmOptions {
            skip_scores: true,
            ..Default::default()
        },
    )
    .map_err(engine)?;
    let data = clv::summarise(&tx, None, clv::Period::W).map_err(engine)?;
    let c = clv::clv(&data, &clv::ClvOptions::default()).ok();
    let mut updates: std::collections::BTreeMap<i64, ValueUpdate> =
        std::collections::BTreeMap::new();
    for x in &a.customers {
        slot(&mut updates, cid(&tx, x.customer)).class = Some(x.class.key().to_string());
    }
    for x in &r.rows {
        slot(&mut updates, cid(&tx, x.customer)).rfm_class = Some(x.class.key().to_string());
    }
    for x in c.iter().flat_map(|c| &c.customers) {
        if let (Ok(id), Some(value)) = (x.customer_id.parse::<i64>(), x.clv) {
            slot(&mut updates, id).clv = Some(format!("{value:.2}"));
        }
    }
    let list: Vec<ValueUpdate> = updates.into_values().collect();
    st.store.set_values(&list).await?;
    st.store
        .audit(
            Some(u.id),
            "apply_analysis",
            "customer",
            None,
            json!({"customers": list.len()}),
        )
        .await?;
    Ok(Json(json!({"updated": list.len()})))
}

fn slot(m: &mut std::collections::BTreeMap<i64, ValueUpdate>, id: i64) -> &mut ValueUpdate {
    m.entry(id).or_insert_with(|| ValueUpdate {
        customer_id: id,
        class: None,
        rfm_class: None,
        tier: None,
        clv: None,
    })
}
