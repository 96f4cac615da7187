//! The public pool (SPEC §1): customers without follow-up go back to it,
//! under rules an administrator sets (kept in the settings table).

use crate::AppError;
use chrono::{DateTime, Utc};
use keqing_domain::access::{Action, Grants, Resource, Scope};
use keqing_domain::archive::PoolRules;
use keqing_domain::{Role, User};
use keqing_store::{Store, StoreError};

/// Where the deployment's pool rules are kept (the settings table).
pub const POOL_RULES_SETTING: &str = "pool.rules";

/// The deployment's pool rules: those an administrator stored, or the
/// defaults (30 days, a limit of 300 customers).
pub async fn rules(store: &dyn Store) -> Result<PoolRules, AppError> {
    match store.care_setting(POOL_RULES_SETTING).await? {
        None => Ok(PoolRules::default()),
        Some(v) => serde_json::from_value(v).map_err(|e| {
            AppError::Store(StoreError::Db(format!(
                "the stored pool rules ({POOL_RULES_SETTING}) are not valid: {e}"
            )))
        }),
    }
}

/// Stores new pool rules (administrators only), checked, with an audit
/// entry of the old and new rules; the next release and claim use them.
pub async fn set_rules(
    store: &dyn Store,
    actor: &User,
    new: &PoolRules,
) -> Result<PoolRules, AppError> {
    if actor.role != Role::Admin {
        return Err(AppError::forbidden("change the pool rules"));
    }
    new.check()?;
    let old = rules(store).await?;
    let v =
        serde_json::to_value(new).map_err(|e| AppError::Store(StoreError::Db(e.to_string())))?;
    store.put_care_setting(POOL_RULES_SETTING, &v).await?;
    store
        .audit(
            Some(actor.id),
            "update",
            "pool_rules",
            None,
            serde_json::json!({"old": old, "new": new}),
        )
        .await?;
    Ok(new.clone())
}

/// Releases the customers without follow-up under the deployment's rules
/// to the pool as of `now`, as `actor`; answers their ids. Only who may
/// update every customer may do it: an administrator, or keqing itself
/// ([`crate::system_user`]) in its daily job.
pub async fn release_stale(
    store: &dyn Store,
    grants: &Grants,
    now: DateTime<Utc>,
    actor: &User,
) -> Result<Vec<i64>, AppError> {
    match grants.scope(actor.role, Resource::Customer, Action::Update) {
        Some(Scope::All) => {}
        _ => return Err(AppError::forbidden("release customers to the pool")),
    }
    let rules = rules(store).await?;
    Ok(store.release_stale(&rules, now, actor).await?)
}

/// Claims a pool customer for `user` under the deployment's claim limit.
pub async fn claim(
    store: &dyn Store,
    customer_id: i64,
    user: &User,
) -> Result<keqing_domain::Customer, AppError> {
    let rules = rules(store).await?;
    Ok(store.claim(customer_id, user, rules.max_owned).await?)
}
