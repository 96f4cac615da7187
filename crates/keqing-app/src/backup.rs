//! Backup and restore (SPEC §11): every table to a file of JSON lines, and
//! back into an empty database, verified row for row by the store.

use keqing_store::{Store, StoreError, TableCounts};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be made, opened, written or named.
    #[error("{what} {}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The store could not load or verify the backup (rolled back).
    #[error("恢复 {} 失败 restoring {}", file.display(), file.display())]
    Restore {
        file: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes every table of `store` to `out`, consistently, while it is in use;
/// answers the rows the file holds per table (the live tables may have more
/// by now). The file gets its name only once complete: it is written as
/// `out` with the extension `partial` first.
pub async fn backup(store: &dyn Store, out: &Path) -> Result<TableCounts, BackupError> {
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(|source| BackupError::File {
        what: "creating",
        path: tmp.clone(),
        source,
    })?;
    let mut f = std::io::BufWriter::new(file);
    let counts = store.export_all(&mut f).await?;
    f.flush()?;
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    // Only a complete backup gets the name asked for.
    std::fs::rename(&tmp, out)?;
    Ok(counts)
}

/// Restores the backup `file` into `store`, which must be empty. The store
/// loads and verifies it in one transaction: a restore that does not verify
/// is rolled back, leaving the database empty, and its error names the
/// differences. Answers the rows restored per table.
pub async fn restore(store: &dyn Store, file: &Path) -> Result<TableCounts, BackupError> {
    let f = std::fs::File::open(file).map_err(|source| BackupError::File {
        what: "opening",
        path: file.to_path_buf(),
        source,
    })?;
    let mut r = std::io::BufReader::new(f);
    store
        .import_all(&mut r)
        .await
        .map_err(|source| BackupError::Restore {
            file: file.to_path_buf(),
            source,
        })
}

/// The total of per-table counts, and "table n, …".
pub fn summary(counts: &TableCounts) -> (i64, String) {
    let list = counts
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    (counts.iter().map(|(_, n)| n).sum(), list)
}
