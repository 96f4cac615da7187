//! keqing's domain: the types a customer manager's world is made of.
//!
//! Everything here is plain data and rules: no web, no database. Values that
//! can be invalid (a phone number, an e-mail address, an amount of money) are
//! types that can only be built by parsing ("parse, don't validate").

#[macro_use]
pub mod labels;
pub mod access;
pub mod activity;
pub mod archive;
pub mod contact;
pub mod custom_field;
pub mod customer;
pub mod day;
pub mod error;
pub mod fields;
pub mod history;
pub mod money;
pub mod order;
pub mod pay;
pub mod performance;
pub mod phone;
#[cfg(feature = "openapi")]
mod schema;
pub mod search;
pub mod text;
pub mod user;

pub use access::{Action, Resource, Role, Scope};
pub use activity::{Activity, ActivityKind, HelpKind, NewActivity};
pub use contact::{Birthday, Contact, ContactInput, ContactLevel};
pub use customer::{Customer, CustomerInput, CustomerKind, LifecycleStage};
pub use error::{FieldError, ValidationError};
pub use fields::{FieldList, Fields};
pub use history::FieldChange;
pub use money::Money;
pub use order::{NewOrder, NewPayment, Order, OrderUnit, Payment};
pub use performance::{Kpi, Level, Metric, Target, TargetRevision};
pub use phone::{Email, Phone};
pub use user::{Actor, User};
