//! Regions, teams, users, sessions and the audit log (SPEC §9).

use crate::*;

#[async_trait]
pub trait PeopleStore: Send + Sync {
    // --- regions, teams and users ---
    /// Every region in the order it was added, with its users and teams counted.
    async fn regions(&self) -> Result<Vec<Region>>;

    /// Adds a region (audited); [`StoreError::Duplicate`] with the id of the
    /// region of that name when there is one.
    async fn create_region(&self, name: &str, actor: Option<i64>) -> Result<Region>;

    /// Removes a region (audited); refused while a user or team is in it,
    /// [`StoreError::NotFound`] when there is none.
    async fn delete_region(&self, id: i64, actor: Option<i64>) -> Result<()>;

    /// Creates a team; its region joins the list when new. Refused when a
    /// team of that name exists.
    async fn create_team(&self, name: &str, region: Option<&str>) -> Result<Team>;

    async fn teams(&self) -> Result<Vec<Team>>;

    /// Renames a team or changes its region in one transaction, with an
    /// `audit_log` row of each field's old and new value. Refused when
    /// another team has the name; [`StoreError::NotFound`] for a missing
    /// team. A change that changes nothing writes nothing.
    async fn update_team(&self, id: i64, change: &TeamChange, actor: Option<i64>) -> Result<Team>;

    async fn create_user(&self, user: &NewUser) -> Result<User>;

    async fn user(&self, id: i64) -> Result<Option<User>>;

    /// The user and their password hash.
    async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>>;

    async fn users(&self) -> Result<Vec<User>>;

    /// When each user started: their account's creation, or the day set
    /// with [`PeopleStore::set_user_since`]. Quotas count from it.
    async fn user_starts(&self) -> Result<HashMap<i64, DateTime<Utc>>>;

    /// Backdates when a user started, for users whose history comes with
    /// them (the demo company, a team moved in from another system).
    async fn set_user_since(&self, user_id: i64, since: DateTime<Utc>) -> Result<()>;

    async fn set_password(&self, user_id: i64, hash: &str) -> Result<()>;

    /// Gives a user a new password hash and ends their sessions, all but
    /// the one whose token hash is `keep` (the session that changed its own
    /// password), with an `audit_log` row (`action` by `actor`, e.g.
    /// `password_change`, `password_reset`) in the same transaction;
    /// [`StoreError::NotFound`] for a missing user.
    async fn change_password(
        &self,
        user_id: i64,
        hash: &str,
        keep: Option<&str>,
        action: &str,
        actor: Option<i64>,
    ) -> Result<()>;

    async fn set_user_active(&self, user_id: i64, active: bool) -> Result<()>;

    /// Changes a user's display name, role, team, region or active flag in one
    /// transaction, with an `audit_log` row (by `actor`) of each field's old
    /// and new value. Deactivating ends the user's sessions; a new team
    /// becomes the team of the customers they own. Refused when the team
    /// does not exist or when no active administrator would be left;
    /// [`StoreError::NotFound`] for a missing user. A change that changes
    /// nothing writes nothing.
    async fn update_user(&self, id: i64, change: &UserChange, actor: Option<i64>) -> Result<User>;

    // --- sessions ---
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// The session's user when it exists and has not expired at `now`.
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;

    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    // --- audit ---
    async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<()>;

    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>>;

    /// A page of the audit log, newest first, filtered in SQL (who, what,
    /// which record, when); `total` counts the lines that match, up to
    /// [`LIST_COUNT_CAP`] (`capped` past it).
    async fn audit_page(&self, filter: &AuditFilter) -> Result<Page<AuditEntry>>;
}
