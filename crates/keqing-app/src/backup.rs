//! Backup and restore (SPEC §11): every table to a file of JSON lines, and
//! back into an empty database, verified row for row by the store.

use keqing_store::{Store, StoreError, TableCounts};
use std::io::{BufRead, Read, Write};
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
    backup_with_progress(store, out, &|_, _| {}).await
}

/// A writer that tells `progress` the lines (rows) written of `total`.
struct CountLines<'a, W> {
    inner: W,
    lines: u64,
    total: u64,
    progress: &'a (dyn Fn(u64, u64) + Sync),
}

impl<W: Write> Write for CountLines<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let before = self.lines;
        self.lines += memchr_count(&buf[..n]);
        // Told every thousand rows: a million-row backup, a thousand times.
        if self.lines / 1000 != before / 1000 {
            (self.progress)(self.lines.min(self.total), self.total);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn memchr_count(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// [`backup`] telling `progress` the rows written of the rows the tables
/// held when it began (they may grow meanwhile).
pub async fn backup_with_progress(
    store: &dyn Store,
    out: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<TableCounts, BackupError> {
    let total = store
        .table_counts()
        .await?
        .iter()
        .map(|(_, n)| (*n).max(0) as u64)
        .sum::<u64>();
    progress(0, total);
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(|source| BackupError::File {
        what: "creating",
        path: tmp.clone(),
        source,
    })?;
    let mut f = CountLines {
        inner: std::io::BufWriter::new(file),
        lines: 0,
        total,
        progress,
    };
    let counts = store.export_all(&mut f).await?;
    f.flush()?;
    f.inner
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    progress(total.max(f.lines), total.max(f.lines));
    // Only a complete backup gets the name asked for.
    std::fs::rename(&tmp, out)?;
    Ok(counts)
}

/// Restores the backup `file` into `store`, which must be empty. The store
/// loads and verifies it in one transaction: a restore that does not verify
/// is rolled back, leaving the database empty, and its error names the
/// differences. Answers the rows restored per table.
pub async fn restore(store: &dyn Store, file: &Path) -> Result<TableCounts, BackupError> {
    restore_with_progress(store, file, &|_, _| {}).await
}

/// A reader that tells `progress` the bytes read of `total`.
struct CountBytes<'a, R> {
    inner: R,
    read: u64,
    told: u64,
    total: u64,
    progress: &'a (dyn Fn(u64, u64) + Sync),
}

impl<R: BufRead> CountBytes<'_, R> {
    fn add(&mut self, n: usize) {
        self.read += n as u64;
        // Told every megabyte.
        if self.read - self.told >= 1 << 20 {
            self.told = self.read;
            (self.progress)(self.read.min(self.total), self.total);
        }
    }
}

impl<R: BufRead> Read for CountBytes<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.add(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountBytes<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.add(n);
    }
}

/// [`restore`] telling `progress` the bytes of the file loaded (then the
/// store verifies what it loaded, which is not told).
pub async fn restore_with_progress(
    store: &dyn Store,
    file: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<TableCounts, BackupError> {
    let f = std::fs::File::open(file).map_err(|source| BackupError::File {
        what: "opening",
        path: file.to_path_buf(),
        source,
    })?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    progress(0, total);
    let mut r = CountBytes {
        inner: std::io::BufReader::new(f),
        read: 0,
        told: 0,
        total,
        progress,
    };
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
