//! The deployment's custom profile fields (SPEC §1), kept in the settings table.

use keqing_domain::custom_field::{self, CustomFieldDef};
use keqing_store::{Store, StoreError};

/// Where the deployment's custom field definitions are kept (the settings table).
pub const CUSTOM_FIELDS_SETTING: &str = "archive.custom_fields";

/// The deployment's custom field definitions, as every create, edit,
/// import and export of customers reads them (the command line too).
pub async fn custom_fields_in(store: &dyn Store) -> Result<Vec<CustomFieldDef>, StoreError> {
    match store.care_setting(CUSTOM_FIELDS_SETTING).await? {
        None => Ok(vec![]),
        Some(v) => custom_field::definitions_from_json(&v).map_err(|e| {
            StoreError::Db(format!(
                "the stored custom fields ({CUSTOM_FIELDS_SETTING}) are not valid: {e}"
            ))
        }),
    }
}
