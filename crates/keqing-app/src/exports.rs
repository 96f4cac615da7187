//! Exports (SPEC §1): what an export of customers holds.

use crate::access::visibility;
use crate::AppError;
use keqing_domain::access::{Grants, Resource};
use keqing_domain::User;
use keqing_io::{ContactRow, CustomerRef, CustomerRow};
use keqing_store::{CustomerFilter, Store};

/// An export of customers: the customers in the caller's scope, and every
/// contact of theirs, each naming its customer as an import of contacts
/// finds it (by its code, else by its name).
pub struct CustomerExport {
    /// Without a primary contact: the contacts are all in `contacts`.
    pub customers: Vec<CustomerRow>,
    /// The id of each customer of `customers`.
    pub ids: Vec<i64>,
    /// Each contact with the id of its customer, customer by customer.
    pub contacts: Vec<(i64, ContactRow)>,
}

impl CustomerExport {
    pub fn contact_rows(&self) -> Vec<ContactRow> {
        self.contacts.iter().map(|(_, c)| c.clone()).collect()
    }
}

/// The customers in the caller's scope and all their contacts: what a file
/// (a workbook of two sheets, or two CSV files) holds that imports back
/// through the customers and then the contacts import.
pub async fn customer_export(
    store: &dyn Store,
    grants: &Grants,
    u: &User,
) -> Result<CustomerExport, AppError> {
    let scope = CustomerFilter {
        visibility: visibility(grants, u, Resource::Customer)?,
        ..Default::default()
    };
    let mut out = CustomerExport {
        customers: vec![],
        ids: vec![],
        contacts: vec![],
    };
    for c in keqing_store::all_customers(store, &scope).await? {
        let customer_ref = match &c.fields.external_code {
            Some(code) => CustomerRef::ExternalCode(code.to_ascii_uppercase()),
            None => CustomerRef::Name(c.fields.name.clone()),
        };
        let customer_name = match customer_ref {
            CustomerRef::Name(_) => None,
            _ => Some(c.fields.name.clone()),
        };
        for k in store.contacts(c.id).await? {
            out.contacts.push((
                c.id,
                ContactRow {
                    customer_ref: customer_ref.clone(),
                    customer_name: customer_name.clone(),
                    contact: k.fields,
                },
            ));
        }
        out.ids.push(c.id);
        out.customers.push(CustomerRow {
            customer: c.fields,
            contact: None,
        });
    }
    Ok(out)
}
