//! keqing's use cases: what the HTTP server and the command line both do.
//!
//! Imports, the care generation job, writing the value analysis back onto
//! the customer files, releasing stale customers to the pool, backup and
//! restore, loading the demo company, passwords. Each takes the store as `&dyn Store` and the
//! caller as a [`User`] checked against [`Grants`](keqing_domain::access::Grants);
//! none knows HTTP: the server maps an [`AppError`] onto its answers, the
//! command line prints it.

pub mod access;
pub mod analysis;
pub mod backup;
pub mod care;
pub mod custom_fields;
pub mod demo;
mod error;
pub mod exports;
pub mod imports;
pub mod password;
pub mod pay;
pub mod performance;
pub mod pool;
pub mod receivables;

pub use error::AppError;

use keqing_domain::{Role, User};
use std::sync::Arc;

/// How far a long piece of work has come, told as it goes: `(done, total)`
/// in the work's own units (rows, bytes, customers); `total` is 0 when it
/// is not known. The command line draws a progress bar with it; keqing-app
/// knows no terminal.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// A [`Progress`] that tells nobody.
pub fn no_progress() -> Progress {
    Arc::new(|_, _| {})
}

/// The actor of changes keqing makes by itself (the daily pool release, a
/// command line import).
pub fn system_user() -> User {
    User {
        id: 0,
        username: "system".into(),
        display_name: "系统".into(),
        role: Role::Admin,
        team_id: None,
        region: None,
        active: true,
    }
}
