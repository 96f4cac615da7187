//! Relationship care (SPEC §4): tasks, templates, settings and the reads a care run plans from.

use crate::*;

#[async_trait]
pub trait CareStore: Send + Sync {
    // --- relationship care (SPEC §4): tasks, templates, settings, planning reads ---

    /// Stores the tasks whose key is new (in one transaction); returns how
    /// many were new. A task's key is its kind, customer (or salesperson),
    /// contact and the day it was planned for.
    async fn insert_care_tasks(&self, batch: CareTaskBatch) -> Result<u64>;

    /// Tasks by filter, ordered by due day then id, with the total.
    async fn care_tasks(&self, filter: &CareTaskFilter) -> Result<Page<CareTaskRow>>;

    /// One task, with the facts its channel and message are made from.
    async fn care_task(&self, id: i64) -> Result<Option<CareTaskRow>>;

    /// Applies `change` when the task is still in `change.expected`, logging
    /// the activity (if any) in the same transaction. A customer's task
    /// closed (done, skipped) keeps the customer's owner of that moment; one
    /// opened again follows the customer's owner again.
    async fn set_care_task_status(
        &self,
        id: i64,
        change: &CareStatusChange,
        actor: &User,
    ) -> Result<CareTaskRow>;

    async fn care_templates(&self) -> Result<Vec<CareTemplate>>;

    async fn create_care_template(&self, t: &NewCareTemplate) -> Result<CareTemplate>;

    async fn update_care_template(&self, id: i64, t: &NewCareTemplate) -> Result<CareTemplate>;

    async fn delete_care_template(&self, id: i64) -> Result<()>;

    async fn care_setting(&self, key: &str) -> Result<Option<serde_json::Value>>;

    async fn put_care_setting(&self, key: &str, value: &serde_json::Value) -> Result<()>;

    /// Live customers that have an owner (the pool gets no tasks), by id:
    /// all of them, or those under a rule of their own plus some (see
    /// [`CareCustomerQuery`]).
    async fn care_customers(&self, query: &CareCustomerQuery) -> Result<Vec<CareCustomerFacts>>;

    /// Live contacts of those customers, by customer then id: all (`None`),
    /// or those whose [`birthday_key`] is one of `birthday_keys` and all
    /// contacts of `customer_ids` (customers with a key date in the range).
    async fn care_contacts(
        &self,
        birthday_keys: Option<&[String]>,
        customer_ids: &[i64],
    ) -> Result<Vec<CareContactFacts>>;

    /// Whom a calendar occasion greets, a page at a time: the first `limit`
    /// live customers with an owner whose id is above `after`, and every
    /// live contact of those, as ids only (read from indexes, not from the
    /// documents), in one snapshot. A care run reads the next page while it
    /// stores the tasks of this one.
    async fn care_roster(&self, after: i64, limit: i64) -> Result<CareRoster>;

    /// The open and snoozed tasks that contact a customer (greeting,
    /// cadence, order day) due on `from..=to` — a snoozed one on the day it
    /// wakes: what the frequency cap counts besides logged activities.
    /// A run that plans the greetings of `planned` (first and last day)
    /// needs the keys of the tasks it may plan again; of the greetings
    /// planned on other days, only the days they contact their customer
    /// (see [`CareTaskContacts`]).
    async fn care_task_contacts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        planned: (NaiveDate, NaiveDate),
    ) -> Result<CareTaskContacts>;

    /// Activities at or after `from` and before `to` (UTC), of live
    /// customers, by time; the customer's stage of the visits at or after
    /// `stages_from` (what the daily quota counts).
    async fn activity_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        stages_from: DateTime<Utc>,
    ) -> Result<Vec<ActivityFact>>;
}
