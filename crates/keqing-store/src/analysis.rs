//! Value analysis (SPEC §3): the values it writes back and its saved snapshots.

use crate::*;

#[async_trait]
pub trait AnalysisStore: Send + Sync {
    async fn set_values(&self, updates: &[ValueUpdate]) -> Result<()>;

    // --- analysis snapshots (SPEC §3): saved results whose members are target lists ---

    /// Stores a snapshot with its members in one transaction.
    async fn create_analysis_snapshot(&self, s: &NewAnalysisSnapshot) -> Result<AnalysisSnapshot>;

    /// Snapshots, newest first; only those `created_by` made when given.
    async fn analysis_snapshots(&self, created_by: Option<i64>) -> Result<Vec<AnalysisSnapshot>>;

    async fn analysis_snapshot(&self, id: i64) -> Result<Option<AnalysisSnapshot>>;

    /// Members of a snapshot whose customers are live and within
    /// `filter.visibility` (pushed into the query), in the snapshot's order.
    async fn analysis_snapshot_members(
        &self,
        id: i64,
        filter: &SnapshotMemberFilter,
    ) -> Result<Page<SnapshotMemberRow>>;

    /// Deletes a snapshot and its members.
    async fn delete_analysis_snapshot(&self, id: i64) -> Result<()>;
}

/// The page of a snapshot's members that `f` asked for: counted in full,
/// never capped.
pub(crate) fn members_page(
    items: Vec<SnapshotMemberRow>,
    total: i64,
    f: &SnapshotMemberFilter,
) -> Page<SnapshotMemberRow> {
    Page {
        capped: false,
        items,
        total,
        offset: f.offset.max(0),
        limit: f.limit,
    }
}
