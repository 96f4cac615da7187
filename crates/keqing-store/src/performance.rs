//! Sales performance (SPEC §6): targets with their revisions, and the daily
//! totals KPI figures are read from.

use crate::*;
use chrono::Datelike;
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
    ///
    /// `users` narrows it to those people (a team's, a person's figures);
    /// `None` reads everyone's, nobody (user 0) included. Whole months come
    /// from the monthly totals, the days around them from the daily ones.
    async fn actuals(
        &self,
        metric: Metric,
        from: NaiveDate,
        to: NaiveDate,
        grain: Grain,
        users: Option<Vec<i64>>,
    ) -> Result<Vec<ActualRow>>;

    /// The sales (fen) or quantity of the orders of `products` from `from`
    /// to `to` (days in China), of `users`' orders when given: the part of
    /// a sub-metric (003: 省外烟 807 of 3082 cases). Read from the orders
    /// through their product index; other metrics have no products
    /// ([`StoreError::Refused`]).
    async fn product_actual(
        &self,
        metric: Metric,
        products: Vec<String>,
        from: NaiveDate,
        to: NaiveDate,
        users: Option<Vec<i64>>,
    ) -> Result<i64>;
}

/// The instants (UTC) a range of China's days spans: from its first day's
/// midnight in China to the midnight after its last.
pub(crate) fn china_span(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    use keqing_domain::day::china_midnight;
    (
        china_midnight(from),
        china_midnight(to.succ_opt().unwrap_or(to)),
    )
}

/// A range cut where the monthly totals can answer: the whole months in it
/// (their first days, `from..=to`; empty when `from > to`) and the days
/// before and after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub months: (NaiveDate, NaiveDate),
    pub days: [(NaiveDate, NaiveDate); 2],
}

/// The bounds of an empty range, which both databases store as dates.
pub(crate) fn never() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date"),
        NaiveDate::from_ymd_opt(1, 1, 1).expect("a date"),
    )
}

fn first_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn last_of(d: NaiveDate) -> NaiveDate {
    keqing_domain::performance::month_end(d)
}

pub(crate) fn span(from: NaiveDate, to: NaiveDate) -> Span {
    let start = if from.day() == 1 {
        from
    } else {
        last_of(from).succ_opt().unwrap_or(never().0)
    };
    let end = if to == last_of(to) {
        to
    } else {
        first_of(to).pred_opt().unwrap_or(never().1)
    };
    if start > end || to < from {
        // No whole month: the days alone.
        return Span {
            months: never(),
            days: [(from, to), never()],
        };
    }
    Span {
        months: (start, first_of(end)),
        days: [
            (from, start.pred_opt().unwrap_or(never().1)),
            (end.succ_opt().unwrap_or(never().0), to),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_range_is_cut_at_whole_months() {
        let s = span(d("2026-01-15"), d("2026-04-10"));
        assert_eq!(s.months, (d("2026-02-01"), d("2026-03-01")));
        assert_eq!(s.days[0], (d("2026-01-15"), d("2026-01-31")));
        assert_eq!(s.days[1], (d("2026-04-01"), d("2026-04-10")));
        let year = span(d("2026-01-01"), d("2026-12-31"));
        assert_eq!(year.months, (d("2026-01-01"), d("2026-12-01")));
        assert!(year.days.iter().all(|(a, b)| a > b), "no days: {year:?}");
        let inside = span(d("2026-02-03"), d("2026-02-20"));
        assert!(inside.months.0 > inside.months.1);
        assert_eq!(inside.days[0], (d("2026-02-03"), d("2026-02-20")));
        let one = span(d("2026-02-01"), d("2026-02-28"));
        assert_eq!(one.months, (d("2026-02-01"), d("2026-02-01")));
    }
}
