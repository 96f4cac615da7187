//! Backup and verified restore: every table as JSON lines, and the row counts that verify them.

use crate::*;

#[async_trait]
pub trait BackupStore: Send + Sync {
    // --- backup ---
    /// Row counts of every table, in a fixed order.
    async fn table_counts(&self) -> Result<TableCounts>;

    /// Every row of every table as JSON lines `{"table":…, "row":{…}}`, from
    /// one snapshot; answers how many rows of each table it wrote (in
    /// [`TABLES`] order), which the live tables may no longer hold.
    async fn export_all(&self, out: &mut (dyn std::io::Write + Send)) -> Result<TableCounts>;

    /// Loads an export into this store, which must be empty, and verifies
    /// it in the same transaction: every row, read back as a backup writes
    /// it, must hold the backup's values (compared by value: a float to the
    /// bit, a document whatever its key order). Answers the rows restored
    /// per table. Anything else (a refusal, a row that fails, a difference)
    /// rolls the whole restore back; a difference is
    /// [`StoreError::Refused`] naming the first [`DIFFERENCES_SHOWN`]
    /// (table, key, field, the backup's and the database's values) and
    /// their count.
    async fn import_all(&self, lines: &mut (dyn std::io::BufRead + Send)) -> Result<TableCounts>;
}

/// A line of a backup read: its table, refused unless one of [`TABLES`], and
/// its row (`None` for a line without one, which a restore passes over).
pub(crate) fn backup_line(
    v: &serde_json::Value,
) -> Result<(&str, Option<&serde_json::Map<String, serde_json::Value>>)> {
    let table = v["table"].as_str().unwrap_or_default();
    if !TABLES.contains(&table) {
        return Err(StoreError::Db(format!(
            "unknown table in backup: {table:?}"
        )));
    }
    Ok((table, v["row"].as_object()))
}
