//! What a caller may see, from the permission matrix (SPEC §9).

use crate::AppError;
use keqing_domain::access::{Action, Grants, Resource, Scope};
use keqing_domain::User;
use keqing_store::Visibility;

/// The rows of `resource` the caller may read, as the store filters them.
pub fn visibility(
    grants: &Grants,
    user: &User,
    resource: Resource,
) -> Result<Visibility, AppError> {
    match grants.scope(user.role, resource, Action::Read) {
        None => Err(AppError::forbidden(&format!("read {}s", resource.as_str()))),
        Some(Scope::All) => Ok(Visibility::All),
        Some(Scope::Own) => Ok(Visibility::OwnerOrPool(user.id)),
        Some(Scope::Team) => Ok(Visibility::TeamOrPool {
            user: user.id,
            team: user.team_id,
        }),
        Some(Scope::Region) => Ok(Visibility::RegionOrPool {
            user: user.id,
            region: user.region.clone(),
        }),
    }
}
