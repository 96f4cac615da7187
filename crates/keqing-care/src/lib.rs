//! keqing-care: relationship care (客情维护, SPEC §4) as a library with no
//! web or database dependency.
//!
//! - [`calendar`]: the greeting calendar — ten built-in occasions (元旦 …
//!   圣诞节, lunar festivals and 清明 included) and per-deployment ones, for
//!   any day 1901–2099: [`occasions`], [`Calendar`], [`CalendarConfig`];
//! - [`lunar`]: lunar dates and solar terms (from the `tyme4rs` crate);
//! - [`anniversary`]: birthdays and company dates kept as solar or lunar
//!   month-days, with the rules for a Feb 29, a lunar 30th or a leap month
//!   that a year lacks;
//! - the care rules, pure functions over small input types (ids are `i64`):
//!   [`greeting::plan_greetings`], [`channel::suggest`],
//!   [`template::Template`], [`cadence::cadence_report`],
//!   [`quota::quota_progress`], [`cap::apply_frequency_cap`],
//!   [`order_day::order_day_reminders`], [`deadline::overdue_change_tasks`];
//! - [`workday`]: working days on the statutory calendar (holidays and
//!   make-up days 调休 from `tyme4rs`), for time progress (SPEC §6);
//! - [`task`]: task kinds, idempotency keys ([`task::TaskKey`]) and the
//!   status life cycle ([`task::TaskStatus::apply`]);
//! - `cli` (feature `cli`): `keqing calendar`.
//!
//! Every fallible function returns [`CareError`]; nothing panics on input.

pub mod activity;
pub mod anniversary;
pub mod cadence;
pub mod calendar;
pub mod cap;
pub mod channel;
pub mod deadline;
pub mod error;
pub mod greeting;
pub mod lunar;
pub mod order_day;
pub mod quota;
pub mod task;
pub mod template;
pub mod workday;

#[cfg(feature = "cli")]
pub mod cli;

pub use calendar::{occasions, Calendar, CalendarConfig, Occasion};
pub use error::{CareError, Result};
pub use workday::{holidays_known, is_working_day, working_days};
