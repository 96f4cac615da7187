//! Imports of customers and contacts, and the lookups an import of contacts or orders makes.

use crate::*;

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Finds a live customer by external code, or by exact name when unique.
    async fn resolve_customer(
        &self,
        external_code: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<i64>>;

    /// Live customers by external code (case-insensitive), for many codes at
    /// once: the customer column of a contacts or orders import. The answer
    /// is in the order of `codes`, one for each: `None` where no live
    /// customer has the code.
    async fn resolve_codes(&self, codes: &[String]) -> Result<Vec<Option<i64>>>;

    // --- import ---
    /// Stores the good rows of an import in batches of committed transactions;
    /// rows whose customer exists already are skipped, so an interrupted
    /// import completes on a re-run without duplicates. The rows are taken
    /// as they come; an import whose rows stop before their end fails.
    async fn import_customers(
        &self,
        rows: ImportRows<ImportCustomer>,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<ImportOutcome>;

    /// Stores contacts of stored customers (`(line, customer_id, contact)`) in
    /// batches of committed transactions. A contact whose customer already has
    /// a live contact with the same name and mobile is skipped (its line is in
    /// `existing`), so a re-run adds nothing.
    async fn import_contacts(
        &self,
        rows: ImportRows<ImportContact>,
        actor: &User,
    ) -> Result<ImportOutcome>;
}

/// The audit detail of an import's batch: its rows, and how many of them it stored.
pub(crate) fn import_detail(rows: usize, imported: u64) -> serde_json::Value {
    serde_json::json!({"rows": rows, "imported": imported})
}
