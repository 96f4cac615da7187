//! Users of keqing and the actor behind every change.

use crate::access::Role;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub team_id: Option<i64>,
    /// The region (province) a regional scope covers.
    pub region: Option<String>,
    pub active: bool,
}

/// Who is acting: every change is attributed to one (SPEC §9 audit log).
pub type Actor = User;

/// A username: 2–32 letters, digits, `_`, `.` or `-`, or Chinese characters.
pub fn valid_username(name: &str) -> bool {
    let n = name.chars().count();
    (2..=32).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
}
