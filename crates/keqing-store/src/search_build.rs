//! The search index of a bulk import into an empty index, built beside the
//! writer: a thread of its own, at the lowest priority, fills an FTS5 table
//! like `customer_search` in an in-memory database of this process while
//! the writer stores the customer rows, and the writer attaches that
//! database and copies the finished index's shadow tables into its own
//! inside the import's transaction.
//!
//! Storing a customer's search tokens was half of the writer's time at a
//! million customers, on one core of two while the other parsed the file
//! for part of the time only; beside the writer it takes the second core's
//! idle time instead (BENCHMARKS.md). The copy is the index as FTS5 wrote
//! it, row for row: the same table definition, read from the database, and
//! the same SQLite, so the database holds what the writer would have
//! written itself. It holds no documents before (the copy replaces the
//! empty index), which [`SideIndex::applies`] checks.
//!
//! FTS5 keeps an index's structure in memory per connection; the writer's
//! cached one would not know the copy, so the caller opens the writer
//! connection again after the import (`SqliteStore::import_pipelined`).

use crate::{Result, StoreError};
use rusqlite::{params, Connection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::thread::{Scope, ScopedJoinHandle};

/// The FTS5 table the side index is built for.
const TABLE: &str = "customer_search";

/// The shadow tables FTS5 keeps an index of a contentless table in
/// (`_config` holds settings, not the index).
const SHADOWS: [&str; 3] = ["data", "idx", "docsize"];

fn sq(e: rusqlite::Error) -> StoreError {
    StoreError::Db(format!("search index built beside the import: {e}"))
}

/// The side index's in-memory segment size, in bytes (FTS5's `hashsize`).
const SIDE_HASH: usize = 128 << 20;

/// A batch of `(rowid, tokens)` for the index.
pub(crate) type Keys = Vec<(i64, String)>;

/// The thread that builds the index, and the channel that feeds it.
pub(crate) struct SideIndex<'scope> {
    /// `None` once the import has sent its last batch.
    tx: Option<Sender<Keys>>,
    /// Where the index is built: a named in-memory database.
    uri: String,
    thread: ScopedJoinHandle<'scope, Result<Connection>>,
}

impl<'scope> SideIndex<'scope> {
    /// Whether the database's index holds no document, so that an index of
    /// the import's rows alone is the whole index.
    pub(crate) fn applies(c: &Connection) -> Result<bool> {
        c.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {TABLE}_docsize)"),
            [],
            |r| r.get(0),
        )
        .map_err(sq)
    }

    /// Starts the thread, with a table made as the database's `c` is.
    pub(crate) fn start<'env>(
        s: &'scope Scope<'scope, 'env>,
        c: &Connection,
    ) -> Result<SideIndex<'scope>> {
        let create: String = c
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [TABLE],
                |r| r.get(0),
            )
            .map_err(sq)?;
        // Named, in shared-cache mode, so that the writer can attach it
        // for the copy (`finish`); private to this process all the same.
        static SIDES: AtomicU64 = AtomicU64::new(0);
        let uri = format!(
            "file:keqing-search-{}-{}?mode=memory&cache=shared",
            std::process::id(),
            SIDES.fetch_add(1, Ordering::Relaxed)
        );
        let side = Connection::open(&uri).map_err(sq)?;
        side.execute_batch(&create).map_err(sq)?;
        // Segments of 128 MiB in memory, merged into one at the end. The
        // writer's own bulk path keeps 8 MiB (`SEARCH_BIG_HASH`), where a
        // bigger hash's cache misses slowed the writer; on this thread a
        // small one cost more in merges. At a million customers, with 8 MiB
        // the index was ready 9-11 s after the rows were stored, 1.2-1.6 s
        // after the writer had built the other indexes; with 64 MiB 4.3-6.5 s
        // after the rows, 0.7-3.3 s before the builds' end; with 128 MiB
        // 3.8-5.3 s after the rows, 2.3-3.8 s before the builds' end (two to
        // four runs each, in turn), and the import took 7-13 processor-seconds
        // less. Its peak memory did not change.
        side.execute_batch(&format!(
            "INSERT INTO {TABLE} ({TABLE}, rank) VALUES ('hashsize', {SIDE_HASH})"
        ))
        .map_err(sq)?;
        // Unbounded: the writer never waits for this thread, which runs
        // at the lowest priority (`yield_to_others`) and so takes what the
        // writer and the threads feeding it leave of the processors. While
        // the rows are stored they take both cores; this thread's batches
        // wait in the channel, and it catches up on the core left idle
        // while the writer builds the other indexes alone.
        let (tx, rx) = channel::<Keys>();
        let thread = s.spawn(move || {
            yield_to_others();
            side.execute_batch("BEGIN").map_err(sq)?;
            {
                let mut insert = side
                    .prepare(&format!("INSERT INTO {TABLE} (rowid, k) VALUES (?1, ?2)"))
                    .map_err(sq)?;
                for batch in rx {
                    for (id, tokens) in batch {
                        insert.execute(params![id, tokens]).map_err(sq)?;
                    }
                }
            }
            side.execute_batch(&format!(
                "INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize'); COMMIT"
            ))
            .map_err(sq)?;
            Ok(side)
        });
        Ok(SideIndex {
            tx: Some(tx),
            uri,
            thread,
        })
    }

    /// Hands a batch to the thread; false when it has stopped (its error is
    /// then the answer of [`SideIndex::finish`]).
    pub(crate) fn send(&self, keys: Keys) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(keys).is_ok())
    }

    /// Whether the thread has ended: the index is ready to copy, or it
    /// failed (which `finish` answers).
    pub(crate) fn done(&self) -> bool {
        self.thread.is_finished()
    }

    /// Tells the thread that the last batch is sent, so that it merges its
    /// segments while the writer goes on.
    pub(crate) fn close(&mut self) {
        self.tx = None;
    }

    /// Waits for the index and copies it into `c`'s database, in place of
    /// the empty one there.
    pub(crate) fn finish(mut self, c: &Connection) -> Result<()> {
        self.close();
        let side = self
            .thread
            .join()
            .map_err(|_| StoreError::Db("the search index thread panicked".into()))??;
        // Attached, the index's tables are copied by SQLite itself, record
        // by record, instead of read into values and bound again: at a
        // million customers, 0.7 s of the writer's alone.
        c.execute("ATTACH ?1 AS keqing_side", [&self.uri])
            .map_err(sq)?;
        let copied = SHADOWS.iter().try_for_each(|shadow| {
            let table = format!("{TABLE}_{shadow}");
            c.execute_batch(&format!(
                "DELETE FROM main.\"{table}\";
                 INSERT INTO main.\"{table}\" SELECT * FROM keqing_side.\"{table}\""
            ))
            .map_err(sq)
        });
        // The side database goes with the last connection to it, `side`;
        // it stays attached to `c` (no DETACH inside a transaction), which
        // the caller opens again after the import.
        drop(side);
        copied
    }
}

/// Puts the calling thread at the lowest scheduling priority (nice 19):
/// it gets a processor only where no thread of normal priority wants it.
/// On Linux a thread has a nice value of its own; elsewhere, nothing.
fn yield_to_others() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `who` 0 is the calling
    // thread. A failure leaves the priority as it was, which is harmless.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}
