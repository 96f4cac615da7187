//! Sales performance (SPEC §6): targets with their revisions, and the daily
//! totals KPI figures are read from.

use crate::*;
use keqing_domain::performance::{Metric, RevisionInput, Target, TargetInput};

/// How [`PerformanceStore::actuals`] sums the daily totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// One row per person and day.
    Day,
    /// One row per person and month (the period is the month's first day).
    Month,
    /// One row per person for the whole range (the period is `from`).
    Total,
}

/// A person's total of one metric over one period (user 0: nobody, such as
/// orders of customers in the pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActualRow {
    pub user_id: i64,
    pub period: NaiveDate,
    pub value: i64,
}

#[async_trait]
pub trait PerformanceStore: Send + Sync {
    /// Stores a target and its first revision (effective from its year's
    /// first day), audited (`create target`). [`StoreError::Duplicate`] with
    /// the existing target's id when its level, subject, metric and year
    /// already have one.
    async fn create_target(&self, t: &TargetInput, actor: &User) -> Result<Target>;

    /// Adds a revision with the months it stores, audited (`revise
    /// target`): [`StoreError::Conflict`] when `r.version` is not the
    /// target's, [`StoreError::NotFound`] when there is no such target.
    async fn revise_target(
        &self,
        id: i64,
        r: &RevisionInput,
        months: [i64; 12],
        actor: &User,
    ) -> Result<Target>;

    async fn target(&self, id: i64) -> Result<Option<Target>>;

    /// Every target of `year` (of one metric, if given), each with its
    /// history, by level, subject and metric.
    async fn targets(&self, year: i32, metric: Option<Metric>) -> Result<Vec<Target>>;

    /// The daily totals of `metric` from `from` to `to` (both included, days
    /// in China), summed by person and `grain`, read from the totals the
    /// database keeps (never from the orders themselves).
    async fn actuals(
        &self,
        metric: Metric,
        from: NaiveDate,
        to: NaiveDate,
        grain: Grain,
    ) -> Result<Vec<ActualRow>>;
}
