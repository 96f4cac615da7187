//! The public pool (SPEC §1): customers without follow-up go back to it.

use crate::AppError;
use chrono::{DateTime, Utc};
use keqing_domain::access::{Action, Grants, Resource, Scope};
use keqing_domain::archive::PoolRules;
use keqing_domain::User;
use keqing_store::Store;

/// Releases the customers without follow-up under `rules` to the pool as of
/// `now`, as `actor`; answers their ids. Only who may update every customer
/// may do it: an administrator, or keqing itself ([`crate::system_user`])
/// in its daily job.
pub async fn release_stale(
    store: &dyn Store,
    grants: &Grants,
    rules: &PoolRules,
    now: DateTime<Utc>,
    actor: &User,
) -> Result<Vec<i64>, AppError> {
    match grants.scope(actor.role, Resource::Customer, Action::Update) {
        Some(Scope::All) => {}
        _ => return Err(AppError::forbidden("release customers to the pool")),
    }
    Ok(store.release_stale(rules, now, actor).await?)
}
