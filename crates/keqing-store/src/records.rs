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

    async fn activities(&self, customer_id: i64) -> Result<Vec<Activity>>;

    async fn add_orders(&self, orders: &[NewOrder]) -> Result<OrderImportOutcome>;

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>>;

    async fn order_facts(&self) -> Result<Vec<OrderFact>>;
}
