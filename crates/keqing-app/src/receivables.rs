//! Receivables (回款 still to come, SPEC §2, §6): whose, as of when, in the
//! caller's Order read scope. Helper of the API and the dashboard.

use crate::access::visibility;
use crate::AppError;
use chrono::NaiveDate;
use keqing_domain::access::{Action, Grants, Resource, Scope};
use keqing_domain::{User, ValidationError};
use keqing_store::{Receivables, ReceivablesQuery, ReceivablesSubject, Store};

/// How many customers the answer names, those owing most first.
pub const TOP_CUSTOMERS: i64 = 50;

/// The receivables of `level` (user, team, region or company; user when
/// none) and `subject_id` (a user, team or region id; the caller's own when
/// none) on `as_of`. A subject outside the caller's Order read scope is
/// refused (403); rows outside it are never counted.
pub async fn receivables(
    store: &dyn Store,
    grants: &Grants,
    user: &User,
    level: Option<&str>,
    subject_id: Option<i64>,
    as_of: NaiveDate,
) -> Result<Receivables, AppError> {
    let vis = visibility(grants, user, Resource::Order)?;
    let scope = grants.scope(user.role, Resource::Order, Action::Read);
    let all = scope == Some(Scope::All);
    let refuse = || AppError::forbidden("read these receivables");
    let subject = match level.unwrap_or("user") {
        "user" => {
            let id = subject_id.unwrap_or(user.id);
            if id != user.id && !all {
                let Some(other) = store.user(id).await? else {
                    return Err(refuse());
                };
                let reach = match scope {
                    Some(Scope::Team) => user.team_id.is_some() && other.team_id == user.team_id,
                    Some(Scope::Region) => user.region.is_some() && other.region == user.region,
                    _ => false,
                };
                if !reach {
                    return Err(refuse());
                }
            } else if all && store.user(id).await?.is_none() {
                return Err(ValidationError::one("subject_id", format!("用户不存在 no user {id}")).into());
            }
            ReceivablesSubject::User(id)
        }
        "team" => {
            let Some(id) = subject_id.or(user.team_id) else {
                return Err(ValidationError::one("subject_id", "缺少团队 name the team (subject_id)").into());
            };
            let own_team = scope == Some(Scope::Team) && user.team_id == Some(id);
            if !(all || own_team) {
                return Err(refuse());
            }
            if !store.teams().await?.iter().any(|t| t.id == id) {
                return Err(ValidationError::one("subject_id", format!("团队不存在 no team {id}")).into());
            }
            ReceivablesSubject::Team(id)
        }
        "region" => {
            let regions = store.regions().await?;
            let name = match subject_id {
                Some(id) => match regions.iter().find(|r| r.id == id) {
                    Some(r) => r.name.clone(),
                    None => {
                        return Err(ValidationError::one("subject_id", format!("区域不存在 no region {id}")).into())
                    }
                },
                None => match &user.region {
                    Some(r) => r.clone(),
                    None => {
                        return Err(ValidationError::one("subject_id", "缺少区域 name the region (subject_id)").into())
                    }
                },
            };
            let own_region = scope == Some(Scope::Region) && user.region.as_deref() == Some(&name);
            if !(all || own_region) {
                return Err(refuse());
            }
            ReceivablesSubject::Region(name)
        }
        "company" => ReceivablesSubject::Company,
        other => {
            return Err(ValidationError::one(
                "level",
                format!("层级应为 user、team、region 或 company the level is one of user, team, region, company: {other:?}"),
            )
            .into())
        }
    };
    Ok(store
        .receivables(&ReceivablesQuery {
            visibility: vis,
            subject,
            as_of,
            limit: TOP_CUSTOMERS,
        })
        .await?)
}
