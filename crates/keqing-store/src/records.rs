//! Activities and orders (SPEC §2).

use crate::*;

#[async_trait]
pub trait RecordStore: Send + Sync {
    // --- activities, orders ---
    /// Logs an activity; a follow-up also stamps the customer's last follow-up.
    async fn add_activity(
        &self,
        customer_id: i64,
        activity: &NewActivity,
        actor: &User,
    ) -> Result<Activity>;

    /// Logs an activity and stores the care tasks it sets (the follow-up a
    /// salesperson plans while logging it) in one transaction: both or
    /// neither. A task already stored under the same key stays as it is.
    async fn add_activity_with_tasks(
        &self,
        customer_id: i64,
        activity: &NewActivity,
        tasks: CareTaskBatch,
        actor: &User,
    ) -> Result<Activity>;

    async fn activities(&self, customer_id: i64) -> Result<Vec<Activity>>;

    async fn add_orders(&self, orders: &[NewOrder]) -> Result<OrderImportOutcome>;

    /// Records one order entered by hand, audited (`create order`) in the
    /// same transaction; [`StoreError::NotFound`] when the customer does not
    /// exist or is deleted. The order counts in the analysis as an imported
    /// one does ([`RecordStore::order_facts`]).
    async fn create_order(&self, order: &NewOrder, actor: &User) -> Result<Order>;

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>>;

    async fn order_facts(&self) -> Result<Vec<OrderFact>>;
}
