//! Exports (SPEC §1): what an export of customers holds.

use crate::access::visibility;
use crate::AppError;
use keqing_domain::access::{Grants, Resource};
use keqing_domain::User;
use keqing_store::{CustomerFilter, Store};

/// Customers with their primary contact, in the caller's scope.
pub async fn customer_rows(
    store: &dyn Store,
    grants: &Grants,
    u: &User,
) -> Result<Vec<keqing_io::CustomerRow>, AppError> {
    let scope = CustomerFilter {
        visibility: visibility(grants, u, Resource::Customer)?,
        ..Default::default()
    };
    let mut rows = vec![];
    for c in keqing_store::all_customers(store, &scope).await? {
        let contact = store
            .contacts(c.id)
            .await?
            .into_iter()
            .next()
            .map(|k| k.fields);
        rows.push(keqing_io::CustomerRow {
            customer: c.fields,
            contact,
        });
    }
    Ok(rows)
}
