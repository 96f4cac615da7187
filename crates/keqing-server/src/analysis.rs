//! Value analysis over the orders in the database (SPEC §3, §5): the same
//! engine as `keqing analyze`, fed from the store and scoped to the customers
//! the caller may read.

use crate::auth::CurrentUser;
use crate::customers::visibility;
use crate::error::ApiError;
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
use serde_json::{json, Value};
use utoipa::ToSchema;

fn engine(e: keqing_analysis::AnalysisError) -> ApiError {
    AppError::Analysis(e).into()
}

/// Runs an engine on the caller's orders on a blocking thread, not on one
/// of the runtime's, which answer every other request: an analysis of a
/// million orders, or a model fit that takes seconds, holds only its own.
/// Answers the orders back with the result (their customer keys map the
/// result's rows to customer ids).
async fn compute<R: Send + 'static>(
    tx: Transactions,
    f: impl FnOnce(&Transactions) -> Result<R, keqing_analysis::AnalysisError> + Send + 'static,
) -> Result<(Transactions, R), ApiError> {
    let (tx, r) = tokio::task::spawn_blocking(move || {
        let r = f(&tx);
        (tx, r)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok((tx, r.map_err(engine)?))
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
async fn members<T>(
    st: &AppState,
    rows: Vec<(i64, T)>,
    p: &Params,
) -> Result<Members<T>, ApiError> {
    let Paging {
        page,
        per_page,
        offset,
    } = Paging::new(p.page, p.per_page, 50, 500)?;
    let total = rows.len();
    let slice: Vec<(i64, T)> = rows
        .into_iter()
        .skip(offset as usize)
        .take(per_page as usize)
        .collect();
    let ids: Vec<i64> = slice.iter().map(|r| r.0).collect();
    let mut names: std::collections::HashMap<i64, String> = st
        .store
        .customers_by_ids(&ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.fields.name))
        .collect();
    let items = slice
        .into_iter()
        .map(|(customer_id, figures)| Member {
            customer_id,
            name: names.remove(&customer_id),
            figures,
        })
        .collect();
    Ok(Members {
        items,
        total,
        page,
        per_page,
    })
}

/// [`members`] of the rows asked for, if any were.
async fn members_of<T>(
    st: &AppState,
    rows: Option<Vec<(i64, T)>>,
    p: &Params,
) -> Result<Option<Members<T>>, ApiError> {
    match rows {
        Some(rows) => Ok(Some(members(st, rows, p).await?)),
        None => Ok(None),
    }
}

/// A customer in an analysis's drill-down: who, and the analysis's figures.
#[derive(Serialize, ToSchema)]
pub struct Member<T> {
    pub customer_id: i64,
    /// null when the customer is no longer in the archive
    pub name: Option<String>,
    #[serde(flatten)]
    pub figures: T,
}

/// One page of an analysis's members.
#[derive(Serialize, ToSchema)]
pub struct Members<T> {
    pub items: Vec<Member<T>>,
    pub total: usize,
    pub page: i64,
    pub per_page: i64,
}

/// An RFM member's figures.
#[derive(Serialize, ToSchema)]
pub struct RfmFigures {
    /// days since the last purchase
    pub r: i32,
    /// purchases
    pub f: u64,
    /// money spent, yuan
    #[schema(value_type = String)]
    pub m: Money,
    /// the three scores, e.g. 231
    pub score: String,
    /// the class key, e.g. important_value
    pub class: &'static str,
}

/// An ABC member's figures.
#[derive(Serialize, ToSchema)]
pub struct AbcFigures {
    /// 1: the largest buyer
    pub rank: usize,
    #[schema(value_type = String)]
    pub sales: Money,
    /// the share of sales of the customers ranked before this one, in percent
    pub share_before: f64,
    /// A, B, C or D
    pub class: &'static str,
}

/// A repeat-purchase member's figures.
#[derive(Serialize, ToSchema)]
pub struct RepeatFigures {
    pub purchases: u64,
    /// mean days between purchase days; null with one purchase day
    pub cycle_days: Option<f64>,
}

/// A CLV member's figures (`keqing_analysis::clv::ClvCustomer` without its
/// key, which is the member's customer_id).
#[derive(Clone, Serialize, ToSchema)]
pub struct ClvFigures {
    /// repeat purchase periods
    pub frequency: f64,
    /// the period of the last purchase, counted from the first
    pub recency: f64,
    /// the customer's age in periods
    #[serde(rename = "T")]
    #[schema(rename = "T")]
    pub t: f64,
    /// mean spend of the repeat purchases, yuan
    pub monetary_value: Option<f64>,
    /// the probability that the customer still buys
    pub p_alive: f64,
    /// purchases expected over the horizon
    pub expected_purchases: f64,
    /// mean spend per purchase expected, yuan (Gamma-Gamma)
    pub expected_spend: Option<f64>,
    /// the discounted value over the horizon, yuan
    pub clv: Option<f64>,
}

impl From<&clv::ClvCustomer> for ClvFigures {
    fn from(c: &clv::ClvCustomer) -> Self {
        ClvFigures {
            frequency: c.frequency,
            recency: c.recency,
            t: c.t,
            monetary_value: c.monetary_value,
            p_alive: c.p_alive,
            expected_purchases: c.expected_purchases,
            expected_spend: c.expected_spend,
            clv: c.clv,
        }
    }
}

/// One RFM class's share.
#[derive(Serialize, ToSchema)]
pub struct RfmClassShare {
    pub count: u64,
    pub label_zh: &'static str,
    /// percent of the customers
    pub customer_share: f64,
    /// percent of the sales
    pub sales_share: f64,
    #[schema(value_type = String)]
    pub sales: Money,
}

/// The three means the classes are split at.
#[derive(Serialize, ToSchema)]
pub struct RfmMeans {
    /// days
    pub r: f64,
    /// purchases
    pub f: f64,
    /// yuan
    pub m: f64,
}

/// The RFM eight classes (mean split) over the caller's orders.
#[derive(Serialize, ToSchema)]
pub struct RfmSummary {
    /// YYYY-MM-DD
    pub as_of: String,
    pub customers: usize,
    pub transactions: usize,
    pub means: RfmMeans,
    /// by class key (important_value, …), in the model's order
    #[serde(serialize_with = "in_order")]
    #[schema(value_type = BTreeMap<String, RfmClassShare>)]
    pub classes: Vec<(&'static str, RfmClassShare)>,
}

/// Pairs as a JSON object whose members keep the pairs' order.
fn in_order<S: serde::Serializer, V: Serialize>(
    pairs: &[(&'static str, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

/// `GET /analysis/rfm`.
#[derive(Serialize, ToSchema)]
pub struct RfmAnswer {
    pub summary: RfmSummary,
    /// with class=: that class's members
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Members<RfmFigures>>,
}

/// One ABC class's share.
#[derive(Serialize, ToSchema)]
pub struct AbcClassShare {
    pub customers: u64,
    pub customer_share: f64,
    pub sales_share: f64,
    #[schema(value_type = String)]
    pub sales: Money,
}

/// The ABC classes.
#[derive(Serialize, ToSchema)]
pub struct AbcSummary {
    /// by letter, A to D
    #[serde(serialize_with = "in_order")]
    #[schema(value_type = BTreeMap<String, AbcClassShare>)]
    pub classes: Vec<(&'static str, AbcClassShare)>,
    /// percent of the sales the top 20% of customers make
    pub top20_share: f64,
    #[schema(value_type = String)]
    pub total_sales: Money,
}

/// `GET /analysis/abc`.
#[derive(Serialize, ToSchema)]
pub struct AbcAnswer {
    pub summary: AbcSummary,
    /// the Pareto curve
    pub pareto: Vec<abc::ParetoPoint>,
    /// with class=: that class's members
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Members<AbcFigures>>,
}

/// `GET /analysis/clv`.
#[derive(Serialize, ToSchema)]
pub struct ClvAnswer {
    /// bgnbd or pareto
    pub model: String,
    /// with decile=: that decile's members; otherwise null
    pub members: Option<Members<ClvFigures>>,
    /// the purchase model's fitted parameters
    pub params: clv::PurchaseParams,
    /// Gamma-Gamma's fitted parameters, when the orders have amounts
    pub spend_params: Option<clv::GammaGammaParams>,
    pub log_likelihood: f64,
    pub customers: usize,
    /// CLV at P0, P10 … P100, lowest first
    pub deciles: Vec<f64>,
    /// the customers by CLV, highest first (page, per_page)
    pub top: Members<ClvFigures>,
}

/// `GET /analysis/repeat`.
#[derive(Serialize, ToSchema)]
pub struct RepeatAnswer {
    pub customers: u64,
    /// customers by number of purchases, ascending
    pub distribution: Vec<repeat::RepeatBucket>,
    /// share of customers with two or more purchases
    pub repeat_rate: f64,
    /// mean days between purchase days of the repeat customers
    pub mean_cycle_days: Option<f64>,
    /// with purchases=: the customers who bought that many times
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Members<RepeatFigures>>,
}

/// `GET /api/v1/analysis/rfm`: the eight classes (mean split) with counts and shares.
#[utoipa::path(
    get,
    path = "/analysis/rfm",
    tag = "analysis",
    operation_id = "analysis_rfm_analysis",
    description = "RFM eight classes over your customers' orders (as_of; class= lists the members)",
    params(Params),
    responses((status = 200, description = "The eight classes; with class=, its members", body = RfmAnswer))
)]
pub async fn rfm_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<RfmAnswer>, ApiError> {
    let as_of = p.as_of.map(day_of);
    let options = rfm::RfmOptions {
        as_of,
        ..Default::default()
    };
    let (tx, r) = compute(transactions(&st, &u).await?, move |tx| {
        rfm::rfm(tx, &options)
    })
    .await?;
    let rows: Option<Vec<(i64, RfmFigures)>> = p.class.as_ref().map(|class| {
        r.rows
            .iter()
            .filter(|x| x.class.key() == class)
            .map(|x| {
                let figures = RfmFigures {
                    r: x.recency_days,
                    f: x.frequency,
                    m: Money(x.monetary_fen),
                    score: x.score_code(),
                    class: x.class.key(),
                };
                (cid(&tx, x.customer), figures)
            })
            .collect()
    });
    let members = members_of(&st, rows, &p).await?;
    Ok(Json(RfmAnswer {
        summary: rfm_summary(&r),
        members,
    }))
}

fn rfm_summary(r: &rfm::RfmResult) -> RfmSummary {
    RfmSummary {
        as_of: format_day(r.as_of),
        customers: r.customers,
        transactions: r.transactions,
        means: RfmMeans {
            r: r.mean_r_days,
            f: r.mean_f,
            m: r.mean_m_fen / 100.0,
        },
        classes: r
            .classes
            .iter()
            .map(|c| {
                let share = RfmClassShare {
                    count: c.count,
                    label_zh: c.class.label_zh(),
                    customer_share: c.customer_share,
                    sales_share: c.sales_share,
                    sales: Money(c.sales_fen),
                };
                (c.class.key(), share)
            })
            .collect(),
    }
}

fn abc_summary(r: &abc::AbcResult) -> AbcSummary {
    AbcSummary {
        classes: r
            .classes
            .iter()
            .map(|c| {
                let share = AbcClassShare {
                    customers: c.customers,
                    customer_share: c.customer_share,
                    sales_share: c.sales_share,
                    sales: Money(c.sales_fen),
                };
                (c.class.key(), share)
            })
            .collect(),
        top20_share: r.top20_share,
        total_sales: Money(r.total_sales_fen),
    }
}

/// `GET /api/v1/analysis/abc`: ABC classes, the Pareto curve and the top-20% share.
#[utoipa::path(
    get,
    path = "/analysis/abc",
    tag = "analysis",
    operation_id = "analysis_abc_analysis",
    description = "ABC / Pareto classes, the Pareto curve and the top-20% share (cuts=70,20,5,5; class= lists members)",
    params(Params),
    responses((status = 200, description = "The classes and the Pareto curve; with class=, its members", body = AbcAnswer))
)]
pub async fn abc_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<AbcAnswer>, ApiError> {
    let cuts = match &p.cuts {
        Some(c) => abc::AbcCuts::parse(c).map_err(engine)?,
        None => abc::AbcCuts::default(),
    };
    let (tx, r) = compute(transactions(&st, &u).await?, move |tx| abc::abc(tx, &cuts)).await?;
    let rows: Option<Vec<(i64, AbcFigures)>> = p.class.as_ref().map(|class| {
        r.customers
            .iter()
            .filter(|x| x.class.key() == class.to_ascii_uppercase())
            .map(|x| {
                let figures = AbcFigures {
                    rank: x.rank,
                    sales: Money(x.sales_fen),
                    share_before: x.share_before,
                    class: x.class.key(),
                };
                (cid(&tx, x.customer), figures)
            })
            .collect()
    });
    let members = members_of(&st, rows, &p).await?;
    Ok(Json(AbcAnswer {
        summary: abc_summary(&r),
        pareto: r.pareto().to_vec(),
        members,
    }))
}

/// `GET /api/v1/analysis/clv`: BG/NBD or Pareto/NBD with Gamma-Gamma; the top customers by CLV.
#[utoipa::path(
    get,
    path = "/analysis/clv",
    tag = "analysis",
    operation_id = "analysis_clv_analysis",
    description = "Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma (model, freq, horizon_months, discount); deciles: CLV at P0, P10 … P100; top: the customers by CLV (page, per_page); decile=1..10 lists that decile's members (1: the top 10%) as members",
    params(Params),
    responses((status = 200, description = "The fitted model, the deciles and the top customers; with decile=, its members", body = ClvAnswer))
)]
pub async fn clv_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<ClvAnswer>, ApiError> {
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
    let as_of = p.as_of.map(day_of);
    let opts = clv::ClvOptions {
        model,
        period,
        horizon_months: p.horizon_months.unwrap_or(12),
        monthly_discount: p.discount.unwrap_or(0.01),
        per_customer: true,
    };
    let (_, r) = compute(transactions(&st, &u).await?, move |tx| {
        clv::clv(&clv::summarise(tx, as_of, period)?, &opts)
    })
    .await?;
    let mut ranked: Vec<&clv::ClvCustomer> = r.customers.iter().collect();
    ranked.sort_by(|a, b| b.clv.unwrap_or(0.0).total_cmp(&a.clv.unwrap_or(0.0)));
    let rows: Vec<(i64, ClvFigures)> = ranked
        .iter()
        .map(|c| {
            (
                c.customer_id.parse().unwrap_or_default(),
                ClvFigures::from(*c),
            )
        })
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
    let members_of_decile = members_of(&st, decile, &p).await?;
    Ok(Json(ClvAnswer {
        model: p.model.clone().unwrap_or_else(|| "bgnbd".into()),
        members: members_of_decile,
        params: r.params,
        spend_params: r.spend.as_ref().map(|s| s.params),
        log_likelihood: r.log_likelihood,
        customers: r.customers.len(),
        deciles,
        top: members(&st, rows, &p).await?,
    }))
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
    responses((status = 200, description = "The distribution and the purchase cycle; with purchases=, those customers", body = RepeatAnswer))
)]
pub async fn repeat_analysis(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<RepeatAnswer>, ApiError> {
    let (tx, r) = compute(transactions(&st, &u).await?, repeat::repeat_purchases).await?;
    let rows: Option<Vec<(i64, RepeatFigures)>> = p.purchases.map(|k| {
        r.purchases
            .iter()
            .enumerate()
            .filter(|(_, n)| **n == k)
            .map(|(i, n)| {
                let figures = RepeatFigures {
                    purchases: *n,
                    cycle_days: r.cycle_days[i],
                };
                (cid(&tx, i as u32), figures)
            })
            .collect()
    });
    let members = members_of(&st, rows, &p).await?;
    Ok(Json(RepeatAnswer {
        customers: r.customers,
        distribution: r.distribution,
        repeat_rate: r.repeat_rate,
        mean_cycle_days: r.mean_cycle_days,
        members,
    }))
}

/// `GET /api/v1/analysis/funnel?counts=750,200,150,80,75,70`: AISAS rates and the weakest stage.
#[utoipa::path(
    get,
    path = "/analysis/funnel",
    tag = "analysis",
    operation_id = "analysis_funnel_analysis",
    description = "AISAS funnel rates from six stage counts, and the weakest stage",
    params(Params),
    responses((status = 200, description = "The six counts, the rates in percent and the weakest stage", body = funnel::FunnelResult))
)]
pub async fn funnel_analysis(
    CurrentUser(_u): CurrentUser,
    Query(p): Query<Params>,
) -> Result<Json<funnel::FunnelResult>, ApiError> {
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
    Ok(Json(funnel::aisas(counts).map_err(engine)?))
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
    responses((status = 200, description = "How many customers were written", body = keqing_app::analysis::Applied))
)]
pub async fn apply(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ApplyParams>,
) -> Result<Json<keqing_app::analysis::Applied>, ApiError> {
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

/// An analysis to run and save.
#[derive(Deserialize, ToSchema)]
pub struct SnapshotBody {
    /// rfm, abc or clv
    #[serde(default)]
    pub kind: String,
    /// 1 to 200 characters
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub params: SnapshotParams,
}

/// How the analysis runs; each may be left out.
#[derive(Deserialize, Serialize, Default, ToSchema)]
#[serde(default)]
pub struct SnapshotParams {
    /// YYYY-MM-DD: the day the analysis looks back from
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// ABC: the four classes' shares of sales in percent, e.g. 70,20,5,5
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuts: Option<String>,
    /// CLV: bgnbd (default) or pareto
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// CLV: D, W (default) or M
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freq: Option<String>,
    /// CLV: months ahead, 0 to 120 (default 12)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizon_months: Option<u64>,
    /// CLV: the monthly discount rate (default 0.01)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<f64>,
}

fn param_date(params: &SnapshotParams) -> Result<Option<chrono::NaiveDate>, ApiError> {
    params
        .as_of
        .as_deref()
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
    request_body = SnapshotBody,
    responses((status = 201, description = "The snapshot saved", body = keqing_store::AnalysisSnapshot))
)]
pub async fn create_snapshot(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Json(body): Json<SnapshotBody>,
) -> Result<(StatusCode, Json<AnalysisSnapshot>), ApiError> {
    let SnapshotBody { kind, name, params } = body;
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "名称应为1到200个字 give a name of 1 to 200 characters",
        ));
    }
    let as_of = param_date(&params)?;
    let (summary, members) = match kind.as_str() {
        "rfm" => rfm_members(&st, &u, as_of).await?,
        "abc" => {
            let cuts = match &params.cuts {
                Some(c) => abc::AbcCuts::parse(c).map_err(engine)?,
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
            params: stored(&params),
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
    let options = rfm::RfmOptions {
        as_of: as_of.map(day_of),
        ..Default::default()
    };
    let (tx, r) = compute(transactions(st, u).await?, move |tx| rfm::rfm(tx, &options)).await?;
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
    Ok((stored(&rfm_summary(&r)), members))
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
    let cuts = *cuts;
    let (tx, r) = compute(tx, move |tx| abc::abc(tx, &cuts)).await?;
    let members = r
        .customers
        .iter()
        .map(|x| SnapshotMember {
            customer_id: cid(&tx, x.customer),
            class: Some(x.class.key().to_string()),
            data: json!({"rank": x.rank, "sales": Money(x.sales_fen), "share_before": x.share_before}),
        })
        .collect();
    let summary = AbcSnapshotSummary {
        summary: abc_summary(&r),
        as_of: as_of.map(|d| d.to_string()),
        customers: r.customers.len(),
    };
    Ok((stored(&summary), members))
}

/// An ABC snapshot's summary: the classes as of a day.
#[derive(Serialize)]
struct AbcSnapshotSummary {
    #[serde(flatten)]
    summary: AbcSummary,
    as_of: Option<String>,
    customers: usize,
}

/// A summary as the snapshot stores it. Its members have text keys and
/// serialize infallibly, so `to_value` cannot fail.
fn stored(summary: &impl Serialize) -> Value {
    serde_json::to_value(summary).unwrap_or_default()
}

/// CLV members are classed by value in quintiles: Q1 the top 20%, Q5 the bottom.
async fn clv_members(
    st: &AppState,
    u: &User,
    as_of: Option<chrono::NaiveDate>,
    params: &SnapshotParams,
) -> Result<(Value, Vec<SnapshotMember>), ApiError> {
    let freq = params.freq.clone().unwrap_or_else(|| "W".into());
    let period = clv::Period::parse(&freq).map_err(engine)?;
    let model = match params.model.as_deref() {
        None | Some("bgnbd") => clv::ClvModel::BgNbd,
        Some("pareto") => clv::ClvModel::Pareto,
        Some(o) => {
            return Err(ApiError::invalid(
                "model",
                format!("模型只能是bgnbd或pareto use bgnbd or pareto, not {o:?}"),
            ))
        }
    };
    let horizon_months = match params.horizon_months {
        None => 12,
        Some(n) if n <= 120 => n as u32,
        Some(_) => {
            return Err(ApiError::invalid(
                "horizon_months",
                "预测月数应为0到120的整数 a whole number of months, 0 to 120",
            ))
        }
    };
    let discount = params.discount.unwrap_or(0.01);
    let opts = clv::ClvOptions {
        model,
        period,
        horizon_months,
        monthly_discount: discount,
        per_customer: true,
    };
    let day = as_of.map(day_of);
    let (_, r) = compute(transactions(st, u).await?, move |tx| {
        clv::clv(&clv::summarise(tx, day, period)?, &opts)
    })
    .await?;
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
    responses((status = 200, description = "The snapshot", body = keqing_store::AnalysisSnapshot))
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
    pub items: Vec<AnalysisSnapshot>,
    pub total: usize,
}

/// A page of a snapshot's members.
#[derive(Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<keqing_store::SnapshotMemberRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}
