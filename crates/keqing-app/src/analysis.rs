//! The value analysis over the store's orders (SPEC §3): the caller's
//! orders as the engine's table, and [`apply_values`], which writes each
//! customer's classes and values onto the customer files.

use crate::access::visibility;
use crate::AppError;
use keqing_analysis::date::days_from_civil;
use keqing_analysis::{abc, clv, rfm, tier, Transactions, TransactionsBuilder};
use keqing_domain::access::{Action, Grants, Resource, Scope};
use keqing_domain::User;
use keqing_store::{CustomerFilter, Store, ValueUpdate, Visibility};
use serde_json::json;
use std::collections::HashSet;

/// A date as the engine's day number.
pub fn day_of(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    days_from_civil(d.year(), d.month(), d.day())
}

/// The caller's orders as the engine's table; customer keys are customer ids.
pub async fn transactions(
    store: &dyn Store,
    grants: &Grants,
    u: &User,
) -> Result<Transactions, AppError> {
    let vis = visibility(grants, u, Resource::Order)?;
    let visible: Option<HashSet<i64>> = match vis {
        Visibility::All => None,
        v => {
            let scope = CustomerFilter {
                visibility: v,
                owned_only: true,
                ..Default::default()
            };
            let ids: HashSet<i64> = keqing_store::all_customers(store, &scope)
                .await?
                .iter()
                .map(|c| c.id)
                .collect();
            Some(ids)
        }
    };
    let facts = store.order_facts().await?;
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
        return Err(AppError::NoOrders);
    }
    Ok(tx)
}

/// The customer id of the engine's customer `idx`.
pub fn cid(tx: &Transactions, idx: u32) -> i64 {
    tx.customer_ids[idx as usize].parse().unwrap_or_default()
}

/// Writes each customer's ABC class, RFM class, CLV, P(alive) and
/// spend-band tier onto the customer file, so lists filter by them and the
/// customer page shows them: the API's `POST /analysis/apply`, also run by
/// `serve --demo` once the demo company is loaded. Only who may update every customer may run it (the analysis is
/// over every order).
pub async fn apply_values(
    store: &dyn Store,
    grants: &Grants,
    u: &User,
    tier_year: Option<i32>,
) -> Result<Applied, AppError> {
    if grants.scope(u.role, Resource::Customer, Action::Update) != Some(Scope::All) {
        return Err(AppError::forbidden("recompute every customer's class"));
    }
    let tx = transactions(store, grants, u).await?;
    let a = abc::abc(&tx, &abc::AbcCuts::default())?;
    let r = rfm::rfm(
        &tx,
        &rfm::RfmOptions {
            skip_scores: true,
            ..Default::default()
        },
    )?;
    let data = clv::summarise(&tx, None, clv::Period::W)?;
    let c = clv::clv(&data, &clv::ClvOptions::default()).ok();
    let tier_year = tier_year.unwrap_or_else(|| {
        use chrono::Datelike;
        chrono::Utc::now().year() - 1
    });
    let bands = tier::default_bands();
    let tiers = tier::tiers_for_year(&tx, tier_year, &bands);
    let mut updates: std::collections::BTreeMap<i64, ValueUpdate> =
        std::collections::BTreeMap::new();
    for x in &a.customers {
        slot(&mut updates, cid(&tx, x.customer)).class = Some(x.class.key().to_string());
    }
    for x in &r.rows {
        slot(&mut updates, cid(&tx, x.customer)).rfm_class = Some(x.class.key().to_string());
    }
    for x in c.iter().flat_map(|c| &c.customers) {
        let Ok(id) = x.customer_id.parse::<i64>() else {
            continue;
        };
        let u = slot(&mut updates, id);
        if let Some(value) = x.clv {
            u.clv = Some(format!("{value:.2}"));
        }
        if x.p_alive.is_finite() {
            u.p_alive = Some(x.p_alive.clamp(0.0, 1.0));
        }
    }
    // Customers in a spend band get its name; a customer in none keeps what
    // the file says (the store has no "clear" for a tier yet).
    let mut tiered = 0;
    for t in &tiers {
        if let Some(b) = t.band {
            slot(&mut updates, cid(&tx, t.customer)).tier = Some(bands[b].name.clone());
            tiered += 1;
        }
    }
    let list: Vec<ValueUpdate> = updates.into_values().collect();
    store.set_values(&list).await?;
    store
        .audit(
            Some(u.id),
            "apply_analysis",
            "customer",
            None,
            json!({"customers": list.len(), "tier_year": tier_year, "tiered": tiered}),
        )
        .await?;
    Ok(Applied {
        updated: list.len(),
        tier_year,
        tiered,
    })
}

/// What [`apply_values`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Applied {
    /// customers whose values were written
    pub updated: usize,
    /// the calendar year whose spend set the tiers
    pub tier_year: i32,
    /// customers given a tier
    pub tiered: usize,
}

fn slot(m: &mut std::collections::BTreeMap<i64, ValueUpdate>, id: i64) -> &mut ValueUpdate {
    m.entry(id).or_insert_with(|| ValueUpdate {
        customer_id: id,
        class: None,
        rfm_class: None,
        tier: None,
        clv: None,
        p_alive: None,
    })
}
