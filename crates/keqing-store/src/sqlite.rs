//! The embedded backend: SQLite through rusqlite.
//!
//! One writer connection behind a mutex (SQLite has one writer at a time, so
//! queuing here avoids busy errors) and a few reader connections in WAL mode.
//! Blocking calls run on tokio's blocking pool.

use crate::search_build::{self, SideIndex};
use crate::*;
use keqing_domain::access::Role;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Transaction};
use std::collections::HashMap;
use std::sync::Mutex;

const SCHEMA_VERSION: i64 = 13;
const READERS: usize = 4;

pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_slots: Arc<tokio::sync::Semaphore>,
    memory: bool,
    /// Imports of at least this many rows take the bulk path (see
    /// [`SqliteStore::import_pipelined`]).
    bulk_rows: usize,
    /// The database file, for opening reader connections again.
    path: String,
    /// Whether a bulk import may take the database for itself and write
    /// through the rollback journal ([`SqliteStore::with_exclusive_bulk`]).
    exclusive_bulk: bool,
}

/// Rows from which an import is stored in bulk: one transaction, secondary
/// indexes built once at the end.
const BULK_ROWS: usize = 50_000;

fn sq(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        e => StoreError::Db(e.to_string()),
    }
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

fn opt_ts(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.map(|s| parse_ts(&s)).transpose()
}

fn parse_date(s: &str) -> rusqlite::Result<NaiveDate> {
    // The stored form `YYYY-MM-DD` read directly: a care run reads millions.
    if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *s.as_bytes() {
        let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
        if digits.iter().all(u8::is_ascii_digit) {
            let n = |ds: &[u8]| ds.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
            if let Some(d) =
                NaiveDate::from_ymd_opt(n(&digits[..4]) as i32, n(&digits[4..6]), n(&digits[6..]))
            {
                return Ok(d);
            }
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn json_col(s: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Page cache of each connection, in KiB (negative: SQLite's unit convention).
const WRITER_CACHE: i64 = -32_000;

/// The SQL functions the backend's queries use: `keqing_pinyin_matches(pinyin,
/// q)` is [`keqing_domain::search::pinyin_matches`], what PostgreSQL's regular
/// expression from `pinyin_regex` answers.
fn register_functions(c: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    c.create_scalar_function(
        "keqing_pinyin_matches",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let pinyin = ctx.get_raw(0).as_str_or_null()?.unwrap_or("");
            let q = ctx.get_raw(1).as_str_or_null()?.unwrap_or("");
            Ok(keqing_domain::search::pinyin_matches(pinyin, q))
        },
    )
    .map_err(sq)
}

fn open_conn(path: &str) -> Result<Connection> {
    let c = open_conn_as_is(path)?;
    c.execute_batch("PRAGMA journal_mode = WAL").map_err(sq)?;
    Ok(c)
}

/// A connection that leaves the journal mode as the database has it: a
/// reader opened while a bulk import writes through the rollback journal
/// must not try to switch the file back to WAL under the writer.
fn open_conn_as_is(path: &str) -> Result<Connection> {
    let c = Connection::open(path).map_err(sq)?;
    register_functions(&c)?;
    c.busy_timeout(BUSY_TIMEOUT).map_err(sq)?;
    // Requests reuse a few dozen statements: keep them all prepared.
    c.set_prepared_statement_cache_capacity(64);
    // A new database gets 16 KiB pages (an existing one keeps its own):
    // shallower B-trees and a quarter of the pages to balance, log and
    // check point, which at a million customers made an import a fifth
    // faster (BENCHMARKS.md).
    c.execute_batch(&format!(
        "PRAGMA page_size = 16384;
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = {WRITER_CACHE};"
    ))
    .map_err(sq)?;
    Ok(c)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    /// `:memory:` gives a private in-memory database on one connection.
    pub async fn open(path: &str) -> Result<SqliteStore> {
        let path = path.to_string();
        tokio::task::spawn_blocking(move || {
            let memory = path == ":memory:" || path.is_empty();
            let mut writer = if memory {
                let c = Connection::open_in_memory().map_err(sq)?;
                register_functions(&c)?;
                c
            } else {
                open_conn(&path)?
            };
            migrate(&mut writer)?;
            let mut readers = vec![];
            if !memory {
                for _ in 0..READERS {
                    readers.push(open_conn(&path)?);
                }
            }
            Ok(SqliteStore {
                writer: Arc::new(Mutex::new(writer)),
                readers: Arc::new(Mutex::new(readers)),
                reader_slots: Arc::new(tokio::sync::Semaphore::new(READERS)),
                memory,
                bulk_rows: BULK_ROWS,
                path,
                exclusive_bulk: false,
            })
        })
        .await
        .map_err(db_err)?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if self.memory {
            return self.write(move |c| f(c)).await;
        }
        let _slot = self.reader_slots.acquire().await.map_err(db_err)?;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers
                .lock()
                .map_err(db_err)?
                .pop()
                .ok_or_else(|| StoreError::Db("no reader".into()))?;
            let r = f(&conn);
            readers.lock().map_err(db_err)?.push(conn);
            r
        })
        .await
        .map_err(db_err)?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().map_err(db_err)?;
            f(&mut conn)
        })
        .await
        .map_err(db_err)?
    }

    /// Sets the number of rows from which an import takes the bulk path
    /// (tests use a small one to run it on small files).
    pub fn with_bulk_rows(mut self, rows: usize) -> SqliteStore {
        self.bulk_rows = rows;
        self
    }

    /// Lets a bulk import write through the rollback journal instead of the
    /// write-ahead log when no other process has the database open: for
    /// `keqing import`, a process of its own. Through the log, every page
    /// of a bulk import is written twice, into the log at the commit and
    /// from it into the database at the checkpoint; through the rollback
    /// journal the new pages are written once, into the database, and only
    /// the few pages the database held before go to the journal. At a
    /// million customers that was the commit's 6.5 s and the closing
    /// checkpoint's 3 s against 1.4 s (BENCHMARKS.md).
    ///
    /// While such an import runs, a process that opens the database waits
    /// for it (and gives up after the busy timeout); a server that has it
    /// open already keeps the import on the log. The database is back on
    /// the log when the import ends, however it ends; a crash in the
    /// middle leaves a hot journal, which the next connection rolls back.
    pub fn with_exclusive_bulk(mut self) -> SqliteStore {
        self.exclusive_bulk = true;
        self
    }

    /// Stores an import (see [`ImportPlan`]): one thread prepares batch k + 1 of `IMPORT_BATCH`
    /// rows (`prepare`: pinyin, documents) while the writer stores batch k
    /// (`store`).
    ///
    /// A small import commits each batch (a crash loses at most the batch in
    /// flight, which a re-run stores) and lets go of the writer between
    /// batches. A big one (at least `bulk_rows` rows, and at least half as
    /// many as the first of the plan's `tables` holds) is one transaction: the
    /// secondary indexes of `tables`, those the import writes, are dropped
    /// at its start and built again,
    /// sorted, at its end, which at a million rows costs a fraction of
    /// updating them row by row. Only the unique indexes (they decide what
    /// is stored already) and those named in `keep` stay: the import's own
    /// lookups, and partial indexes that take few or none of its rows,
    /// which building again would cost a read of the whole table each.
    /// Readers see the old state with every index until the
    /// commit; a failure rolls all of it back.
    ///
    /// `searched`: the rows have search keys, which `store` hands to its
    /// [`SearchSink`]. Into an empty search index a big import's keys go to
    /// an index built beside the writer ([`SideIndex`]), copied in before
    /// the commit; otherwise into the index, row by row.
    async fn import_pipelined<R, P>(
        &self,
        mut rows: ImportRows<R>,
        plan: ImportPlan,
        prepare: fn(&R) -> P,
        store: impl StoreBatch<P> + Send + 'static,
    ) -> Result<ImportOutcome>
    where
        R: Send + 'static,
        P: Send + 'static,
    {
        let writer = self.writer.clone();
        let bulk_rows = self.bulk_rows;
        let pool = ReaderPool {
            readers: self.readers.clone(),
            slots: self.reader_slots.clone(),
            path: self.path.clone(),
        };
        let exclusive = self.exclusive_bulk && !self.memory;
        let memory = self.memory;
        let ImportPlan {
            tables,
            keep,
            held: held_indexes,
            late,
            reads_meanwhile,
            searched,
            unique_later,
        } = plan;
        tokio::task::spawn_blocking(move || {
            std::thread::scope(|s| {
                let expected = rows.expected();
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<P>>>(2);
                // The batches stored come back to be dropped where their
                // rows were made (`Stored`).
                let (stored, done) = std::sync::mpsc::channel::<Vec<P>>();
                s.spawn(move || loop {
                    done.try_iter().for_each(drop);
                    let batch = match rows.blocking_next() {
                        Ok(Some(b)) => Ok(b.iter().map(prepare).collect()),
                        Ok(None) => break,
                        Err(e) => Err(e),
                    };
                    let failed = batch.is_err();
                    // The writer hung up when it failed: its error is the answer.
                    if tx.send(batch).is_err() || failed {
                        break;
                    }
                });
                let mut c = writer.lock().map_err(db_err)?;
                let held: i64 = c
                    .query_row(&format!("SELECT count(*) FROM {}", tables[0]), [], |r| {
                        r.get(0)
                    })
                    .map_err(sq)?;
                let bulk = expected >= bulk_rows && expected as i64 * 2 >= held;
                let stored = Stored(stored);
                if !bulk {
                    drop(c);
                    return import_batches(&writer, expected, rx, store, stored);
                }
                let rollback = exclusive && pool.enter_rollback(&c)?;
                // Two sorter threads, where the sorter may use them
                // (`sort_beside`), build the indexes at the end.
                c.execute_batch(&format!("PRAGMA cache_size = {IMPORT_CACHE}; PRAGMA threads = 2"))
                    .map_err(sq)?;
                // An import that keeps its cache whole (below) spills nothing
                // when the cache is made small for the index builds: the
                // sorter then sorts lists of 16 MiB on its worker threads
                // and merges them. Its workers write their lists to
                // temporary files; with `temp_store = MEMORY` it keeps one
                // list and sorts it on the writer's thread. At a million
                // second contacts, the mobile and birthday indexes were
                // built in 1.4 s instead of 2.0.
                let sort_beside = rollback && reads_meanwhile;
                if sort_beside {
                    // A page spilled to the database in the middle takes
                    // the exclusive lock until the commit, which would
                    // shut out the readers the import waits for.
                    c.execute_batch("PRAGMA cache_spill = OFF; PRAGMA temp_store = FILE")
                        .map_err(sq)?;
                }
                // The search index of an import into an empty one is built
                // beside the writer (`search_build`); the writer connection
                // is opened again after it, as the module says.
                let mut side_built = false;
                // No foreign key check on the rows stored: each was a look-up
                // of a parent row per row stored (the contact's customer,
                // the customer's owner and team), 7-10% of the writer's time
                // at a million rows. Every key a bulk import writes names a
                // row that exists: customer ids are those its own inserts
                // returned or those the caller resolved from stored
                // customers (`Store::import_contacts`), owner and team were
                // read before it started, and no customer, user or team row
                // is ever deleted (customers are deleted softly, users are
                // deactivated). Switched on again below, whatever happens.
                c.execute_batch("PRAGMA foreign_keys = OFF").map_err(sq)?;
                if !sort_beside {
                    // SQLite lets a transaction switch its temporary storage
                    // (for the late builds, below) only while the
                    // connection's temporary database is closed; switching
                    // it closes it.
                    c.execute_batch("PRAGMA temp_store = FILE; PRAGMA temp_store = MEMORY")
                        .map_err(sq)?;
                }
                let r = (|| {
                    let t = c
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .map_err(sq)?;
                    let mut side = match searched && !memory && SideIndex::applies(&t)? {
                        true => Some(SideIndex::start(s, &t)?),
                        false => None,
                    };
                    side_built = side.is_some();
                    let dropped =
                        drop_secondary_indexes(&t, tables, &[keep, held_indexes].concat())?;
                    let mut later = Later {
                        unique: match unique_later {
                            true => UniqueLater::drop_if_empty(&t, tables[0], expected)?,
                            false => UniqueLater::default(),
                        },
                        held: held_indexes.to_vec(),
                        dropped: vec![],
                    };
                    if side.is_none() {
                        // In-memory segments of 8 MiB instead of 1: fewer
                        // merges of the search index. Not bigger: every token
                        // of every name goes through this hash, and the
                        // bigger it is the more of its look-ups miss the
                        // processor's caches. At a million customers storing
                        // the rows took 3-6 s longer with 64 MiB (two runs
                        // each, in turn), and longer with 16, 4 or 2 MiB too
                        // (one run each).
                        t.execute_batch(SEARCH_BIG_HASH).map_err(sq)?;
                    }
                    let mut out = ImportOutcome::default();
                    let now = ts(Utc::now());
                    let mut side_stopped = false;
                    // Into an empty table every page the rows go to is
                    // appended, and never read again until the index builds:
                    // a cache of 128 MiB (written to the file as it fills)
                    // holds what storing them reads. At a million customers
                    // the import's peak memory went from 1,859-1,890 MiB to
                    // 1,406-1,416 MiB, and it took 0.1-0.3 s less (two runs
                    // each, in turn).
                    let appending = later.unique.active();
                    if appending {
                        t.execute_batch(APPEND_CACHE).map_err(sq)?;
                    }
                    for batch in rx {
                        let mut batch = batch?;
                        let mut sink = match side {
                            Some(_) => SearchSink::Side(Vec::with_capacity(batch.len())),
                            None => SearchSink::Index,
                        };
                        let (n, existing) = store(&t, &mut batch, &now, &mut sink, &mut later)?;
                        stored.back(batch);
                        out.imported += n;
                        out.existing.extend(existing);
                        if let (Some(side), SearchSink::Side(keys)) = (&side, sink) {
                            if !side.send(keys) {
                                side_stopped = true;
                                break;
                            }
                        }
                    }
                    if let Some(stopped) = side.take_if(|_| side_stopped) {
                        // It stopped on an error, which is the answer.
                        return Err(stopped.finish(&t).err().unwrap_or_else(|| {
                            StoreError::Db("the search index thread stopped early".into())
                        }));
                    }
                    match &mut side {
                        // It merges its segments while the writer builds
                        // the indexes.
                        Some(side) => side.close(),
                        // The smaller hash left several segments: searching
                        // reads each, so they are merged into one.
                        None => t
                            .execute_batch(SEARCH_SETTLE)
                            .map_err(sq)?,
                    }
                    if sort_beside {
                        t.execute_batch(SORT_BESIDE_CACHE).map_err(sq)?;
                    }
                    // Back to the whole import cache for the builds, also
                    // when a possible repeat built the unique indexes early.
                    if appending {
                        t.execute_batch(&format!("PRAGMA cache_size = {IMPORT_CACHE}"))
                            .map_err(sq)?;
                    }
                    // From here to the commit the file's changed pages go
                    // to disk as they are written.
                    let flusher = (!memory).then(|| Flusher::start(s, &pool.path));
                    // The builds read the whole of each table, through
                    // memory mapped from the file: a table bigger than the
                    // cache was read page by page again for each index,
                    // copied out of the kernel's cache each time. At a
                    // million customers the builds took 0.3-0.5 s less (two
                    // runs each, in turn). Unmapped again after the import.
                    t.execute_batch(BUILD_MMAP).map_err(sq)?;
                    later.unique.build(&t)?;
                    let (last, first): (Vec<_>, Vec<_>) = dropped
                        .into_iter()
                        .chain(std::mem::take(&mut later.dropped))
                        .partition(|(name, _)| late.contains(&name.as_str()));
                    for (_, sql) in &first {
                        t.execute_batch(sql).map_err(sq)?;
                    }
                    // The late ones sort on the sorter's threads (as
                    // `sort_beside` has it) once the search index thread,
                    // which needs the other core until then, is done. At a
                    // million customers the builds took 0.5-1.6 s less
                    // (three runs each, in turn). Should SQLite refuse the
                    // switch, they sort on this thread, as before.
                    let mut beside = sort_beside || memory;
                    for (_, sql) in &last {
                        if !beside && side.as_ref().is_none_or(SideIndex::done) {
                            beside = true;
                            if t.execute_batch(LATE_TEMP_FILES).is_ok() {
                                t.execute_batch(SORT_BESIDE_CACHE).map_err(sq)?;
                            }
                        }
                        t.execute_batch(sql).map_err(sq)?;
                    }
                    if let Some(side) = side {
                        side.finish(&t)?;
                    }
                    drop(flusher);
                    t.commit().map_err(sq)?;
                    Ok(out)
                })();
                let back = rollback.then(|| pool.leave_rollback(&c));
                // (A fresh connection maps nothing.)
                let settled = if side_built {
                    // Whether the import was stored or not, the writer's
                    // FTS5 may hold a structure of the index that is not
                    // the database's.
                    open_conn(&pool.path).map(|fresh| *c = fresh)
                } else {
                    c.execute_batch(&format!(
                        "PRAGMA cache_size = {WRITER_CACHE}; PRAGMA threads = 0; PRAGMA cache_spill = ON; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 0;
                         PRAGMA temp_store = MEMORY; PRAGMA shrink_memory"
                    ))
                    .map_err(sq)
                };
                // The import's own failure first: it is why the journal
                // mode was switched back.
                let out = r?;
                back.transpose()?;
                settled?;
                Ok(out)
            })
        })
        .await
        .map_err(db_err)?
    }

    /// Runs `f` in one IMMEDIATE transaction: all of it is stored, or none.
    async fn tx<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write(move |c| {
            let t = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sq)?;
            let v = f(&t)?;
            t.commit().map_err(sq)?;
            Ok(v)
        })
        .await
    }
}

/// How an import stores one batch of prepared rows in the transaction `t`:
/// `store(t, batch, now, search, later)` answers how many rows it stored
/// and the lines of those stored already. It may take what it needs out of
/// the rows; the batch is dropped after it, elsewhere ([`Stored`]).
trait StoreBatch<P>:
    Fn(&Transaction, &mut [P], &str, &mut SearchSink, &mut Later) -> Result<(u64, Vec<u64>)>
{
}

impl<P, F> StoreBatch<P> for F where
    F: Fn(&Transaction, &mut [P], &str, &mut SearchSink, &mut Later) -> Result<(u64, Vec<u64>)>
{
}

/// What [`SqliteStore::import_pipelined`] needs to know of an import.
struct ImportPlan {
    /// The tables it writes, the one it adds rows to first.
    tables: &'static [&'static str],
    /// Secondary indexes of `tables` that a bulk import keeps.
    keep: &'static [&'static str],
    /// Partial indexes of `tables` that a bulk import keeps until the first
    /// row they take comes ([`Later::enters`], which drops them then, to
    /// be built at the end): an import whose rows they do not take leaves
    /// them as they are.
    held: &'static [&'static str],
    /// Indexes of `tables` that a bulk import builds last, their keys long
    /// texts in no order: the sorter sorts them fastest on its threads,
    /// which it may use once the search index thread is done.
    late: &'static [&'static str],
    /// Whether other connections read while it writes (they must not be
    /// shut out by a page spilled under the rollback journal).
    reads_meanwhile: bool,
    /// Whether its rows have search keys.
    searched: bool,
    /// Whether its store function passes every row's unique keys to
    /// [`UniqueLater::admit`] before it stores the row: then a bulk import
    /// into an empty first table drops that table's unique indexes too.
    unique_later: bool,
}

/// The reader connections, as a bulk import that switches the journal mode
/// closes and opens them: a connection on the write-ahead log holds a shared
/// lock on it as long as it is open, and the log can be left only when no
/// other connection holds one.
struct ReaderPool {
    readers: Arc<Mutex<Vec<Connection>>>,
    slots: Arc<tokio::sync::Semaphore>,
    path: String,
}

impl ReaderPool {
    /// Closes the readers (once each is back), switches `writer` to the
    /// rollback journal and opens the readers again; `false`, with the log
    /// kept, when another process has the database open.
    fn enter_rollback(&self, writer: &Connection) -> Result<bool> {
        let _all = self.all_back()?;
        self.readers.lock().map_err(db_err)?.clear();
        // Another process's connection answers busy at once: no waiting.
        writer.busy_timeout(std::time::Duration::ZERO).map_err(sq)?;
        let mode = writer.query_row("PRAGMA journal_mode = DELETE", [], |r| {
            r.get::<_, String>(0)
        });
        writer.busy_timeout(BUSY_TIMEOUT).map_err(sq)?;
        let rollback = matches!(mode.as_deref(), Ok("delete"));
        self.reopen(rollback)?;
        Ok(rollback)
    }

    /// Puts `writer` back on the write-ahead log, once every reader is back.
    fn leave_rollback(&self, writer: &Connection) -> Result<()> {
        let _all = self.all_back()?;
        self.readers.lock().map_err(db_err)?.clear();
        let mode = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
        // The readers come back whatever the switch answered: without them
        // every later read would fail.
        self.reopen(false)?;
        let mode = mode.map_err(sq)?;
        if mode != "wal" {
            return Err(StoreError::Db(format!(
                "the database stayed in journal mode {mode} after a bulk import"
            )));
        }
        Ok(())
    }

    /// Waits (on a blocking thread) until no reader is in use, and keeps
    /// them all until the permit is dropped: reads wait meanwhile.
    fn all_back(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        tokio::runtime::Handle::current()
            .block_on(self.slots.clone().acquire_many_owned(READERS as u32))
            .map_err(db_err)
    }

    /// Opens the readers: as the database is (`as_is`, in the middle of a
    /// bulk import on the rollback journal) or on the log.
    fn reopen(&self, as_is: bool) -> Result<()> {
        let mut readers = self.readers.lock().map_err(db_err)?;
        for _ in 0..READERS {
            readers.push(if as_is {
                open_conn_as_is(&self.path)?
            } else {
                open_conn(&self.path)?
            });
        }
        Ok(())
    }
}

/// How long a connection waits for another's lock before it answers busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Writer cache while an import runs (512 MiB, allocated as needed): the
/// pages a big import touches all over the file (the unique indexes, the
/// search index) stay in memory; the rest SQLite writes to the WAL as the
/// cache fills. 2 GiB held the whole new database until the commit, and was
/// slower: memory touched for the first time costs the kernel (and the
/// virtual machine under it) a page fault and a cleared page each.
const IMPORT_CACHE: i64 = -524_288;

/// The writer's cache while a bulk import stores its rows into an empty
/// table (`import_pipelined`): 128 MiB.
const APPEND_CACHE: &str = "PRAGMA cache_size = -131072";

/// The memory map of a bulk import's index builds: the whole file, up to
/// the limit SQLite is built with (`SQLITE_MAX_MMAP_SIZE`).
const BUILD_MMAP: &str = "PRAGMA mmap_size = 1099511627776";

/// The late builds of a bulk import (`ImportPlan::late`): temporary files,
/// so that the sorter sorts on its threads (it keeps one list, sorted on the
/// writer's thread, while temporary storage is memory), then
/// [`SORT_BESIDE_CACHE`] for lists of 16 MiB that they share. When SQLite
/// refuses the switch, the cache stays as it was.
const LATE_TEMP_FILES: &str = "PRAGMA temp_store = FILE";

/// The cache of a bulk import's index builds when it does not spill
/// (`import_pipelined`): the sorter's lists are as big as the cache.
const SORT_BESIDE_CACHE: &str = "PRAGMA cache_size = -16384";

/// Where the writer sends the batches it has stored: back to the thread
/// that prepared them, which drops them. Dropped on the writer, a million
/// customers' texts took 3-4% of its time, and more in freeing memory made
/// on another thread (the allocator's slower path).
struct Stored<P>(std::sync::mpsc::Sender<Vec<P>>);

impl<P> Stored<P> {
    /// Sends `batch` back; once that thread has ended, drops it here.
    fn back(&self, batch: Vec<P>) {
        let _ = self.0.send(batch);
    }
}

/// Stores prepared batches one committed transaction each, letting go of
/// the writer between them so other writers get their turn.
fn import_batches<P>(
    writer: &Mutex<Connection>,
    rows: usize,
    rx: std::sync::mpsc::Receiver<Result<Vec<P>>>,
    store: impl StoreBatch<P>,
    stored: Stored<P>,
) -> Result<ImportOutcome> {
    let cache = |size: i64| -> Result<()> {
        writer
            .lock()
            .map_err(db_err)?
            .execute_batch(&format!("PRAGMA cache_size = {size}"))
            .map_err(sq)
    };
    if rows > IMPORT_BATCH {
        cache(IMPORT_CACHE)?;
    }
    let r = (|| {
        let mut out = ImportOutcome::default();
        for batch in rx {
            let mut batch = batch?;
            let mut c = writer.lock().map_err(db_err)?;
            let t = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sq)?;
            let (n, existing) = store(
                &t,
                &mut batch,
                &ts(Utc::now()),
                &mut SearchSink::Index,
                &mut Later::default(),
            )?;
            t.commit().map_err(sq)?;
            stored.back(batch);
            out.imported += n;
            out.existing.extend(existing);
        }
        Ok(out)
    })();
    if rows > IMPORT_BATCH {
        cache(WRITER_CACHE)?;
        writer
            .lock()
            .map_err(db_err)?
            .execute_batch("PRAGMA shrink_memory")
            .map_err(sq)?;
    }
    r
}

/// Drops the indexes an import would update row by row on the tables it
/// writes, but for unique ones and those in `keep`; returns their names and
/// the statements that create them again.
fn drop_secondary_indexes(
    t: &Transaction,
    tables: &[&str],
    keep: &[&str],
) -> Result<Vec<(String, String)>> {
    let mut st = t
        .prepare(
            "SELECT name, sql FROM sqlite_master
             WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ?1
               AND sql NOT LIKE 'CREATE UNIQUE%'",
        )
        .map_err(sq)?;
    let mut found: Vec<(String, String)> = vec![];
    for table in tables {
        for r in st
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sq)?
        {
            found.push(r.map_err(sq)?);
        }
    }
    let mut create = vec![];
    for (name, sql) in found {
        if keep.contains(&name.as_str()) {
            continue;
        }
        drop_index(t, &name)?;
        create.push((name, sql));
    }
    Ok(create)
}

fn drop_index(t: &Transaction, name: &str) -> Result<()> {
    t.execute_batch(&format!("DROP INDEX \"{name}\""))
        .map_err(sq)
}

/// A thread that asks the kernel to write a file's changed pages to disk
/// (`fdatasync` through a descriptor of its own) every [`FLUSH_EVERY`], until
/// dropped. A bulk import runs one while it builds its indexes: the kernel
/// otherwise keeps every page the import writes (a million customers' file
/// is 1.1 GB) in memory until the commit's own sync, which then wrote all
/// of it while the import waited (0.6-0.8 s of the commit); written during
/// the builds, where one core is mostly idle, the commit took 0.4 s (three
/// runs each, in turn). It only makes durable earlier what SQLite has
/// written already: the commit's sync is what the import relies on, so a
/// failure here just stops the thread (the commit's sync reports it).
struct Flusher<'scope> {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::ScopedJoinHandle<'scope, ()>>,
}

const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(300);

impl<'scope> Flusher<'scope> {
    fn start<'env>(s: &'scope std::thread::Scope<'scope, 'env>, path: &str) -> Flusher<'scope> {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (stopped, path) = (stop.clone(), path.to_string());
        let thread = s.spawn(move || {
            let Ok(file) = std::fs::File::open(&path) else {
                return;
            };
            loop {
                std::thread::park_timeout(FLUSH_EVERY);
                if stopped.load(std::sync::atomic::Ordering::Relaxed) || file.sync_data().is_err() {
                    return;
                }
            }
        });
        Flusher {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Flusher<'_> {
    /// Stops the thread (at once, not after its pause) and waits for it.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // It cannot panic; a sync in flight is waited for.
            let _ = thread.join();
        }
    }
}

/// What a bulk import's store function builds later instead of row by row:
/// the unique indexes of an empty table, and the partial indexes held
/// (`ImportPlan::held`) once a row they take comes. Nothing, for an import
/// that stores batch by batch.
#[derive(Default)]
struct Later {
    unique: UniqueLater,
    /// Held indexes still standing.
    held: Vec<&'static str>,
    /// The held indexes dropped since, and the statements that create them.
    dropped: Vec<(String, String)>,
}

impl Later {
    /// See [`UniqueLater::admit`].
    fn admit(&mut self, t: &Transaction, keys: &[Option<&str>]) -> Result<()> {
        self.unique.admit(t, keys)
    }

    /// Before a row that the partial index `index` takes is stored: a held
    /// index is dropped (once), to be built at the end with the others.
    fn enters(&mut self, t: &Transaction, index: &str) -> Result<()> {
        let Some(i) = self.held.iter().position(|h| *h == index) else {
            return Ok(());
        };
        let name = self.held.swap_remove(i);
        let sql: String = t
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .map_err(sq)?;
        drop_index(t, name)?;
        self.dropped.push((name.to_string(), sql));
        Ok(())
    }

    /// Before a contact is stored: one with a birthday enters the index of
    /// birthdays (`contacts_birthday_key`, of live contacts with one).
    fn contact(&mut self, t: &Transaction, c: &ContactDoc) -> Result<()> {
        match c.birthday_key {
            Some(_) => self.enters(t, "contacts_birthday_key"),
            None => Ok(()),
        }
    }
}

/// The unique indexes of a bulk import's first table, when that table is
/// empty at its start: dropped then, and built again, sorted, at its end
/// ([`SqliteStore::import_pipelined`]). Storing a million customers, keeping
/// the indexes on external code and on name + phone up to date row by row
/// took the writer a sixth of its time; building them took 1.7-1.9 s.
///
/// Until they are built, they refuse no row: whether a row repeats the
/// unique keys of one stored before it is told by [`UniqueLater::admit`].
/// It remembers a hash of each key (a million customers' keys take some
/// 40 MB, allocated at once for the rows expected); at the first key whose
/// hash was seen, which a file's reader lets through only by a hash
/// collision (it refuses repeated keys itself), the
/// indexes are built then over the rows stored so far, which repeat no key,
/// and the row is stored through them: a repeat is refused as before.
#[derive(Default)]
struct UniqueLater {
    /// The statements that create the dropped indexes; none once built.
    create: Vec<String>,
    seen: std::collections::HashSet<u64, std::hash::BuildHasherDefault<AsIs>>,
    hasher: std::hash::RandomState,
}

/// The hasher of [`UniqueLater`]'s set, whose keys are hashes already: a
/// key is its own hash (hashed again, two million of them took 2-3% of the
/// writer's time).
#[derive(Default)]
struct AsIs(u64);

impl std::hash::Hasher for AsIs {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    /// Not called for the set's keys (`u64`); folds bytes all the same.
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
}

impl UniqueLater {
    /// Drops the unique indexes of `table` when it holds no row, as the
    /// transaction `t` sees it (another process may have written since the
    /// import counted the rows). `rows`: how many the import expects.
    fn drop_if_empty(t: &Transaction, table: &str, rows: usize) -> Result<UniqueLater> {
        let empty: bool = t
            .query_row(
                &format!("SELECT NOT EXISTS (SELECT 1 FROM \"{table}\")"),
                [],
                |r| r.get(0),
            )
            .map_err(sq)?;
        if !empty {
            return Ok(UniqueLater::default());
        }
        let found: Vec<(String, String)> = t
            .prepare(
                "SELECT name, sql FROM sqlite_master
                 WHERE type = 'index' AND tbl_name = ?1 AND sql LIKE 'CREATE UNIQUE%'",
            )
            .map_err(sq)?
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sq)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sq)?;
        let mut create = vec![];
        for (name, sql) in found {
            drop_index(t, &name)?;
            create.push(sql);
        }
        Ok(UniqueLater {
            seen: std::collections::HashSet::with_capacity_and_hasher(
                rows * create.len(),
                Default::default(),
            ),
            create,
            ..Default::default()
        })
    }

    /// Takes the unique keys of the row about to be stored (one for each
    /// unique index, in any fixed order): builds the indexes now if one of
    /// them may have been stored already.
    fn admit(&mut self, t: &Transaction, keys: &[Option<&str>]) -> Result<()> {
        if !self.active() {
            return Ok(());
        }
        let mut seen = false;
        for (i, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                let hash = std::hash::BuildHasher::hash_one(&self.hasher, (i, key));
                seen |= !self.seen.insert(hash);
            }
        }
        match seen {
            true => self.build(t),
            false => Ok(()),
        }
    }

    /// Whether unique indexes wait to be built.
    fn active(&self) -> bool {
        !self.create.is_empty()
    }

    /// Builds the dropped indexes (once).
    fn build(&mut self, t: &Transaction) -> Result<()> {
        for sql in std::mem::take(&mut self.create) {
            t.execute_batch(&sql).map_err(sq)?;
        }
        self.seen = Default::default();
        Ok(())
    }
}

fn migrate(c: &mut Connection) -> Result<()> {
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sq)?;
    if v > SCHEMA_VERSION {
        return Err(StoreError::Db(format!(
            "database schema version {v} is newer than this keqing ({SCHEMA_VERSION})"
        )));
    }
    // Each version: its number, its script, then what SQL alone cannot do,
    // in the same transaction as the version number. Numbers ascend.
    type Step = fn(&Transaction) -> Result<()>;
    let none: Step = |_| Ok(());
    let steps: [(i64, &str, Step); 13] = [
        (1, include_str!("sqlite_schema.sql"), none),
        (2, include_str!("sqlite_schema_v2.sql"), none),
        (3, include_str!("sqlite_schema_v3.sql"), none),
        (4, include_str!("sqlite_schema_v4.sql"), |t| {
            rebuild_search(t)
        }),
        (5, include_str!("sqlite_schema_v5.sql"), none),
        (6, include_str!("sqlite_schema_v6.sql"), none),
        (7, include_str!("sqlite_schema_v7.sql"), none),
        (8, include_str!("sqlite_schema_v8.sql"), none),
        (9, include_str!("sqlite_schema_v9.sql"), none),
        (10, include_str!("sqlite_schema_v10.sql"), none),
        (11, include_str!("sqlite_schema_v11.sql"), |t| {
            rebuild_search(t)
        }),
        (12, include_str!("sqlite_schema_v12.sql"), none),
        (13, include_str!("sqlite_schema_v13.sql"), |t| {
            rebuild_search(t)
        }),
    ];
    debug_assert!(steps.windows(2).all(|w| w[0].0 < w[1].0));
    debug_assert_eq!(steps.last().map(|s| s.0), Some(SCHEMA_VERSION));
    for (n, script, then) in steps {
        if v >= n {
            continue;
        }
        let t = c.transaction().map_err(sq)?;
        t.execute_batch(script).map_err(sq)?;
        then(&t)?;
        t.execute_batch(&format!("PRAGMA user_version = {n}"))
            .map_err(sq)?;
        t.commit().map_err(sq)?;
    }
    Ok(())
}

/// Where an import puts a customer's search tokens: into the index row by
/// row, or into the batch for the index built beside the writer
/// ([`SideIndex`]).
enum SearchSink {
    Index,
    Side(search_build::Keys),
}

impl SearchSink {
    fn add(&mut self, t: &Connection, id: i64, tokens: String) -> Result<()> {
        match self {
            SearchSink::Index => insert_search_keys(t, id, &tokens),
            SearchSink::Side(keys) => {
                keys.push((id, tokens));
                Ok(())
            }
        }
    }
}

/// Adds a customer's name to the search index (`fts.rs`): its `tokens`.
fn insert_search_keys(t: &Connection, id: i64, tokens: &str) -> Result<()> {
    t.prepare_cached("INSERT INTO customer_search (rowid, k) VALUES (?1, ?2)")
        .map_err(sq)?
        .execute(params![id, tokens])
        .map_err(sq)?;
    Ok(())
}

/// In-memory segments of 8 MiB instead of 1 while many names are added at
/// once (see `import_pipelined`).
const SEARCH_BIG_HASH: &str =
    "INSERT INTO customer_search (customer_search, rank) VALUES ('hashsize', 8388608)";

/// Back to the default segments, and the several that the bigger ones left
/// merged into one: searching reads each.
const SEARCH_SETTLE: &str =
    "INSERT INTO customer_search (customer_search, rank) VALUES ('hashsize', 1048576);
     INSERT INTO customer_search (customer_search) VALUES ('optimize')";

/// Refills the search index from the customers table (after a migration or a restore).
/// Each customer's pinyin and initials columns are written again from its
/// name too (a backup or an older schema may hold another spelling). The
/// index ends as one segment, as a bulk import leaves it: a search reads
/// each segment's entries of its tokens, and a million names inserted one by
/// one left several (after the migration to schema 13, an initials search
/// took 10% longer than on the imported index).
fn rebuild_search(t: &Connection) -> Result<()> {
    t.execute_batch("INSERT INTO customer_search (customer_search) VALUES ('delete-all')")
        .map_err(sq)?;
    t.execute_batch(SEARCH_BIG_HASH).map_err(sq)?;
    let mut st = t
        .prepare("SELECT id, name, pinyin, initials FROM customers ORDER BY id")
        .map_err(sq)?;
    let mut rows = st.query([]).map_err(sq)?;
    let mut respell = t
        .prepare("UPDATE customers SET pinyin = ?2, initials = ?3 WHERE id = ?1")
        .map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let id: i64 = r.get(0).map_err(sq)?;
        let name: String = r.get(1).map_err(sq)?;
        let k = keqing_domain::search::name_keys(&name);
        if r.get_ref(2).map_err(sq)?.as_str().ok() != Some(k.pinyin.as_str())
            || r.get_ref(3).map_err(sq)?.as_str().ok() != Some(k.initials.as_str())
        {
            respell
                .execute(params![id, k.pinyin, k.initials])
                .map_err(sq)?;
        }
        let keyed = fts::Keyed {
            name: &name,
            pinyin: &k.pinyin,
            initials: &k.initials,
        };
        insert_search_keys(t, id, &fts::tokens(&keyed))?;
    }
    t.execute_batch(SEARCH_SETTLE).map_err(sq)?;
    Ok(())
}

const USER_COLS: &str = "id, username, display_name, role, team_id, region, active";

fn user_row(r: &Row) -> rusqlite::Result<User> {
    let role: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        team_id: r.get(4)?,
        region: r.get(5)?,
        active: r.get(6)?,
    })
}

const CUSTOMER_COLS: &str = "id, version, doc, owner_id, team_id, rfm_class, clv, last_follow_up_at, created_at, updated_at, deleted_at, merged_into, p_alive";

fn customer_row(r: &Row) -> rusqlite::Result<Customer> {
    let doc = json_col(&r.get::<_, String>(2)?)?;
    // The document is the validated domain type: parse it once, here.
    let fields = customer_input(&doc).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Customer {
        id: r.get(0)?,
        version: r.get(1)?,
        fields,
        owner_id: r.get(3)?,
        team_id: r.get(4)?,
        rfm_class: r.get(5)?,
        clv: r.get(6)?,
        last_follow_up_at: opt_ts(r.get(7)?)?,
        created_at: parse_ts(&r.get::<_, String>(8)?)?,
        updated_at: parse_ts(&r.get::<_, String>(9)?)?,
        deleted_at: opt_ts(r.get(10)?)?,
        merged_into: r.get(11)?,
        p_alive: r.get(12)?,
    })
}

fn get_customer(c: &Connection, id: i64) -> Result<Option<Customer>> {
    // Every customer page reads this: the statement stays prepared.
    c.prepare_cached(&format!(
        "SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1"
    ))
    .map_err(sq)?
    .query_row([id], customer_row)
    .optional()
    .map_err(sq)
}

fn must_customer(c: &Connection, id: i64) -> Result<Customer> {
    get_customer(c, id)?.ok_or(StoreError::NotFound)
}

fn dup_ids(c: &Connection, input: &CustomerInput, except: Option<i64>) -> Result<Vec<i64>> {
    let idx = CustomerIndex::of(input);
    // Two lookups, each on its own (partial, unique) index: one query with OR
    // would scan the table for every imported row.
    let mut ids = vec![];
    for (sql, key) in [
        (
            "SELECT id FROM customers WHERE external_code = ?1 AND deleted_at IS NULL",
            &idx.external_code,
        ),
        (
            "SELECT id FROM customers WHERE dedup_key = ?1 AND deleted_at IS NULL",
            &idx.dedup_key,
        ),
    ] {
        if let Some(k) = key {
            let mut st = c.prepare_cached(sql).map_err(sq)?;
            for id in st.query_map([k], |r| r.get::<_, i64>(0)).map_err(sq)? {
                ids.push(id.map_err(sq)?);
            }
        }
    }
    ids.retain(|id| Some(*id) != except);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn owner_team(c: &Connection, owner: Option<i64>) -> Result<Option<i64>> {
    match owner {
        None => Ok(None),
        Some(o) => c
            .query_row("SELECT team_id FROM users WHERE id = ?1", [o], |r| r.get(0))
            .optional()
            .map_err(sq)?
            .ok_or_else(|| refuse::no_user(o)),
    }
}

fn insert_customer(
    t: &Connection,
    input: &CustomerInput,
    owner: Option<i64>,
    actor: Option<i64>,
    now: &str,
) -> Result<i64> {
    let dups = dup_ids(t, input, None)?;
    if !dups.is_empty() {
        return Err(StoreError::Duplicate(dups));
    }
    let team = owner_team(t, owner)?;
    let idx = CustomerIndex::of(input);
    let inserted = CustomerInsert::new(t, owner, team, now)?.insert(&idx)?;
    let Some(id) = inserted else {
        return Err(StoreError::Duplicate(dup_ids(t, input, None)?));
    };
    insert_search_keys(t, id, &idx.search_tokens())?;
    log_owner(t, id, None, owner, "create", actor, now)?;
    Ok(id)
}

/// Stores a customer row, storing nothing when a unique index (external
/// code, or name + phone) already holds a live customer with the same key.
const INSERT_CUSTOMER: &str =
    "INSERT INTO customers (version, name, pinyin, initials, phone_rev, province, class, tier, stage, tags,
        external_code, dedup_key, doc, owner_id, team_id, owned_since, created_at, updated_at)
     VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?15)
     ON CONFLICT DO NOTHING";

/// [`INSERT_CUSTOMER`] prepared, with the values that every row of a
/// batch shares (owner, team, time) bound once: an import binds only each
/// row's own (a statement keeps its bindings from one run to the next).
struct CustomerInsert<'c> {
    st: rusqlite::CachedStatement<'c>,
    t: &'c Connection,
}

impl<'c> CustomerInsert<'c> {
    fn new(
        t: &'c Connection,
        owner: Option<i64>,
        team: Option<i64>,
        now: &str,
    ) -> Result<CustomerInsert<'c>> {
        let mut st = t.prepare_cached(INSERT_CUSTOMER).map_err(sq)?;
        st.raw_bind_parameter(13, owner).map_err(sq)?;
        st.raw_bind_parameter(14, team).map_err(sq)?;
        st.raw_bind_parameter(15, now).map_err(sq)?;
        Ok(CustomerInsert { st, t })
    }

    /// Stores a customer's row: `None` when a unique index refused it.
    fn insert(&mut self, idx: &CustomerIndex) -> Result<Option<i64>> {
        let own: [&dyn rusqlite::ToSql; 12] = [
            &idx.name,
            &idx.pinyin,
            &idx.initials,
            &idx.phone_rev,
            &idx.province,
            &idx.class,
            &idx.tier,
            &idx.stage,
            &idx.tags,
            &idx.external_code,
            &idx.dedup_key,
            &idx.doc,
        ];
        for (i, v) in own.into_iter().enumerate() {
            self.st.raw_bind_parameter(i + 1, v).map_err(sq)?;
        }
        let n = self.st.raw_execute().map_err(sq)?;
        Ok((n == 1).then(|| self.t.last_insert_rowid()))
    }
}

fn log_owner(
    t: &Connection,
    customer: i64,
    from: Option<i64>,
    to: Option<i64>,
    reason: &str,
    actor: Option<i64>,
    now: &str,
) -> Result<()> {
    // A customer created in the pool changed no hands: nothing to log (an
    // import of a million such customers wrote a million empty events).
    if from.is_none() && to.is_none() {
        return Ok(());
    }
    t.prepare_cached(
        "INSERT INTO ownership_log (customer_id, at, from_user, to_user, reason, actor_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(sq)?
    .execute(params![customer, now, from, to, reason, actor])
    .map_err(sq)?;
    Ok(())
}

/// Puts a region a user or team is given on the list of regions when it is
/// not there yet, so every region in use is listed.
fn ensure_region(t: &Connection, region: Option<&str>) -> Result<()> {
    if let Some(r) = region.filter(|r| !r.is_empty()) {
        t.prepare_cached(
            "INSERT INTO regions (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        )
        .map_err(sq)?
        .execute(params![r, ts(Utc::now())])
        .map_err(sq)?;
    }
    Ok(())
}

const REGION_SELECT: &str = "SELECT r.id, r.name,
        (SELECT count(*) FROM users u WHERE u.region = r.name),
        (SELECT count(*) FROM teams t WHERE t.region = r.name)
     FROM regions r";

fn region_row(r: &Row) -> rusqlite::Result<Region> {
    Ok(Region {
        id: r.get(0)?,
        name: r.get(1)?,
        users: r.get(2)?,
        teams: r.get(3)?,
    })
}

/// A team name another team has: refused, not a database failure.
fn team_name_taken(e: rusqlite::Error, name: &str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            refuse::team_exists(name)
        }
        e => sq(e),
    }
}

fn audit_row(
    t: &Connection,
    user: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: &serde_json::Value,
    now: &str,
) -> Result<()> {
    t.prepare_cached(
        "INSERT INTO audit_log (at, user_id, action, entity, entity_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(sq)?
    .execute(params![now, user, action, entity, entity_id, detail.to_string()])
    .map_err(sq)?;
    Ok(())
}

fn insert_contact(
    t: &Connection,
    customer_id: i64,
    input: &ContactInput,
    now: &str,
) -> Result<i64> {
    insert_contact_doc(t, customer_id, &contact_doc(0, input), now)
}

/// A contact ready to store: its document serialised, its mobile reversed,
/// its birthday's key computed.
struct ContactDoc {
    line: u64,
    name: String,
    mobile_rev: Option<String>,
    birthday_key: Option<String>,
    doc: String,
}

fn contact_doc(line: u64, input: &ContactInput) -> ContactDoc {
    ContactDoc {
        line,
        name: input.name.clone(),
        mobile_rev: input.mobile.as_ref().map(|m| rev(&m.digits())),
        birthday_key: input.birthday.as_ref().map(crate::birthday_key),
        doc: crate::stored_contact_doc(input),
    }
}

const INSERT_CONTACT: &str =
    "INSERT INTO contacts (customer_id, version, name, mobile_rev, birthday_key, doc, created_at)
     VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)";

fn insert_contact_doc(t: &Connection, customer_id: i64, c: &ContactDoc, now: &str) -> Result<i64> {
    ContactInsert::new(t, now)?.insert(customer_id, c)
}

/// [`INSERT_CONTACT`] prepared, with the time bound once (as
/// [`CustomerInsert`]).
struct ContactInsert<'c> {
    st: rusqlite::CachedStatement<'c>,
    t: &'c Connection,
}

impl<'c> ContactInsert<'c> {
    fn new(t: &'c Connection, now: &str) -> Result<ContactInsert<'c>> {
        let mut st = t.prepare_cached(INSERT_CONTACT).map_err(sq)?;
        st.raw_bind_parameter(6, now).map_err(sq)?;
        Ok(ContactInsert { st, t })
    }

    fn insert(&mut self, customer_id: i64, c: &ContactDoc) -> Result<i64> {
        let st = &mut self.st;
        st.raw_bind_parameter(1, customer_id).map_err(sq)?;
        st.raw_bind_parameter(2, &c.name).map_err(sq)?;
        st.raw_bind_parameter(3, &c.mobile_rev).map_err(sq)?;
        st.raw_bind_parameter(4, &c.birthday_key).map_err(sq)?;
        st.raw_bind_parameter(5, &c.doc).map_err(sq)?;
        st.raw_execute().map_err(sq)?;
        Ok(self.t.last_insert_rowid())
    }
}

/// An imported customer with everything computed that needs no database:
/// prepared on one core while the other stores the previous batch.
struct PreparedCustomer {
    line: u64,
    index: CustomerIndex,
    /// The name's search tokens.
    tokens: String,
    contact: Option<ContactDoc>,
}

impl PreparedCustomer {
    /// Asks the processor for the texts the writer binds, a few rows before
    /// it binds them: they were made on the preparing thread a batch or two
    /// before and are no longer in this core's caches, and copying them in
    /// (`sqlite3_bind_text`) waited for memory a dozen times a row, one
    /// text after the other. At a million customers, six runs each in
    /// turn: storing the rows took 9.5 s instead of 9.8 (medians), the
    /// import 17.8 s instead of 18.6, and was faster in five pairs of six.
    /// (The search tokens are not asked for: the writer only hands them on
    /// to the search index thread, when it builds the index beside.)
    fn prefetch(&self) {
        let i = &self.index;
        let texts = [
            Some(&i.name),
            Some(&i.pinyin),
            Some(&i.initials),
            i.phone_rev.as_ref(),
            i.province.as_ref(),
            i.class.as_ref(),
            i.tier.as_ref(),
            Some(&i.stage),
            Some(&i.tags),
            i.external_code.as_ref(),
            i.dedup_key.as_ref(),
            Some(&i.doc),
        ];
        texts.into_iter().flatten().for_each(|t| prefetch(t));
        if let Some(c) = &self.contact {
            c.prefetch();
        }
    }
}

impl ContactDoc {
    /// As [`PreparedCustomer::prefetch`].
    fn prefetch(&self) {
        [
            Some(&self.name),
            self.mobile_rev.as_ref(),
            self.birthday_key.as_ref(),
            Some(&self.doc),
        ]
        .into_iter()
        .flatten()
        .for_each(|t| prefetch(t));
    }
}

/// How many rows ahead of the one it stores a bulk import's writer asks for
/// the texts of the next (`prefetch`).
const PREFETCH_AHEAD: usize = 2;

/// The rows of a batch in order; as each is handed out, `texts` asks the
/// processor for the texts of the row [`PREFETCH_AHEAD`] after it.
fn prefetching<T>(batch: &mut [T], texts: fn(&T)) -> impl Iterator<Item = &mut T> {
    let mut rows = batch.iter_mut();
    std::iter::from_fn(move || {
        let row = rows.next()?;
        if let Some(ahead) = rows.as_slice().get(PREFETCH_AHEAD - 1) {
            texts(ahead);
        }
        Some(row)
    })
}

/// Asks the processor to bring each cache line of `s` into its caches.
fn prefetch(s: &str) {
    #[cfg(target_arch = "x86_64")]
    for line in s.as_bytes().chunks(64) {
        // SAFETY: a prefetch is a hint that never faults and changes no
        // memory the program sees, whatever the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = s;
}

fn prepare_customer(row: &ImportCustomer) -> PreparedCustomer {
    let index = CustomerIndex::of(&row.customer);
    PreparedCustomer {
        line: row.line,
        tokens: index.search_tokens(),
        index,
        contact: row.contact.as_ref().map(|c| contact_doc(row.line, c)),
    }
}

fn prepare_contact(row: &ImportContact) -> (i64, ContactDoc) {
    (row.customer_id, contact_doc(row.line, &row.contact))
}

const CONTACT_COLS: &str = "id, customer_id, version, doc, created_at, deleted_at";

fn contact_row(r: &Row) -> rusqlite::Result<(i64, i64, i64, String, String, Option<String>)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn finish_contact(t: (i64, i64, i64, String, String, Option<String>)) -> Result<Contact> {
    let doc = json_col(&t.3).map_err(sq)?;
    Ok(Contact {
        id: t.0,
        customer_id: t.1,
        version: t.2,
        fields: contact_input(&doc)?,
        created_at: parse_ts(&t.4).map_err(sq)?,
        deleted_at: opt_ts(t.5).map_err(sq)?,
    })
}

fn get_contact(c: &Connection, id: i64) -> Result<Option<Contact>> {
    c.query_row(
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = ?1"),
        [id],
        contact_row,
    )
    .optional()
    .map_err(sq)?
    .map(finish_contact)
    .transpose()
}

/// The conditions of a customer list on the `customers` table.
struct CustomerWhere {
    /// `WHERE …` with every condition (empty when there is none).
    clause: String,
    /// The conditions but the name search, joined with AND (empty when none):
    /// they read the first `rest_params` of `params` only.
    rest: String,
    rest_params: usize,
    /// Whether `rest` reads no column but those of `customers_rank` (id,
    /// scope, length of the name).
    rest_narrow: bool,
    /// The name search, as the FTS index (`customer_search`) answers it:
    /// one or more parts whose matches together are the answer.
    search: Vec<SearchPart>,
    params: Vec<SqlValue>,
}

/// One part of a name search: the customers the FTS query `fts` finds, of
/// which `check` (when its tokens are not exact) keeps those that match.
struct SearchPart {
    /// An FTS5 query on `customer_search`.
    fts: String,
    /// Every check reads a column `customers_rank` lacks (name, pinyin or
    /// initials): a part without one joins that narrow index.
    check: Option<Check>,
    /// The part's whole test, tried first on the first [`SCAN_ROWS`]
    /// customers in scope (on `customers_scope`, in id order): for a prefix
    /// query so short (one or two letters of pinyin, one character of a
    /// name) that the FTS index
    /// merges the entries of thousands of tokens before it gives the first
    /// match, where the matches are common enough to fill the page in a
    /// short scan. Only where the other conditions read the scope alone.
    scan: Option<Check>,
}

/// How many customers in scope a [`SearchPart::scan`] reads at most before
/// it leaves the part to the FTS index.
const SCAN_ROWS: i64 = 20_000;

/// A test on a customer's columns with one parameter: `before ?N after`.
#[derive(Clone)]
struct Check {
    before: &'static str,
    after: &'static str,
    value: SqlValue,
}

impl Check {
    fn sql(&self, placeholder: &str) -> String {
        format!("{}{placeholder}{}", self.before, self.after)
    }
}

impl SearchPart {
    /// The part as conditions numbered from `?{first}`, with their values.
    fn sql(&self, first: usize) -> (String, Option<String>, Vec<SqlValue>) {
        let mut values = vec![SqlValue::from(self.fts.clone())];
        let fts = format!("customer_search MATCH ?{first}");
        let check = self.check.as_ref().map(|c| {
            values.push(c.value.clone());
            c.sql(&format!("?{}", first + 1))
        });
        (fts, check, values)
    }
}

fn customer_where(f: &CustomerFilter) -> CustomerWhere {
    let mut w: Vec<String> = vec![];
    let mut p: Vec<SqlValue> = vec![];
    // Cleared by each condition on a column that customers_rank lacks.
    let mut narrow = true;
    let arg = |p: &mut Vec<SqlValue>, v: SqlValue| {
        p.push(v);
        format!("?{}", p.len())
    };
    if f.deleted_only {
        w.push("deleted_at IS NOT NULL".into());
    } else if !f.include_deleted {
        w.push("deleted_at IS NULL".into());
    }
    match &f.visibility {
        Visibility::All => {}
        Visibility::OwnerOrPool(u) => {
            let a = arg(&mut p, (*u).into());
            w.push(format!("(owner_id IS NULL OR owner_id = {a})"));
        }
        Visibility::TeamOrPool { user, team } => {
            let a = arg(&mut p, (*user).into());
            let b = arg(&mut p, team.map(SqlValue::from).unwrap_or(SqlValue::Null));
            w.push(format!(
                "(owner_id IS NULL OR owner_id = {a} OR team_id = {b})"
            ));
        }
        Visibility::RegionOrPool { user, region } => {
            let a = arg(&mut p, (*user).into());
            let b = arg(
                &mut p,
                region.clone().map(SqlValue::from).unwrap_or(SqlValue::Null),
            );
            w.push(format!(
                "(owner_id IS NULL OR owner_id = {a} OR province = {b})"
            ));
        }
    }
    if let Some(o) = f.owner_id {
        let a = arg(&mut p, o.into());
        w.push(format!("owner_id = {a}"));
    }
    if f.in_pool {
        w.push("owner_id IS NULL".into());
    }
    if f.owned_only {
        w.push("owner_id IS NOT NULL".into());
    }
    if let Some(after) = f.after_id {
        let a = arg(&mut p, after.into());
        w.push(format!("id > {a}"));
    }
    if let Some((k, v)) = &f.custom {
        let a = arg(
            &mut p,
            format!("$.custom.\"{}\"", k.replace('"', "")).into(),
        );
        let b = arg(&mut p, v.clone().into());
        w.push(format!(
            "EXISTS (SELECT 1 FROM json_each(customers.doc, {a}) WHERE CAST(value AS TEXT) = {b})"
        ));
        narrow = false;
    }
    if let Some(t) = &f.tag {
        let a = arg(&mut p, format!("%|{}|%", like_escape(t)).into());
        w.push(format!("tags LIKE {a} ESCAPE '\\'"));
        narrow = false;
    }
    for (col, v) in [
        ("province", &f.province),
        ("class", &f.class),
        ("tier", &f.tier),
        ("stage", &f.stage),
    ] {
        if let Some(v) = v {
            let a = arg(&mut p, v.clone().into());
            w.push(format!("{col} = {a}"));
            narrow &= col == "province";
        }
    }
    let rest = w.join(" AND ");
    let rest_params = p.len();
    // The name search comes last: its parameters follow those of `rest`.
    let mut search: Vec<SearchPart> = vec![];
    let mut part = |q: fts::FtsQuery, check: Check, scan: bool| {
        let scan = scan.then(|| check.clone());
        let check = (!q.exact).then_some(check);
        search.push(SearchPart {
            fts: q.fts5(),
            check,
            scan,
        });
    };
    let like = |before: &'static str, v: String| Check {
        before,
        after: " ESCAPE '\\'",
        value: v.into(),
    };
    match &f.query {
        None => {}
        // The index finds the candidates; where its tokens are not exact,
        // the same test as on PostgreSQL decides (fts.rs), on the columns
        // customers_scope holds beside the ids it joins on. Text without a
        // token is matched by a scan.
        Some(NameQuery::Text(t)) => {
            let check = like("name LIKE ", format!("%{}%", like_escape(t)));
            match fts::text_match(t) {
                // One character: a prefix query of its bigrams, as broad.
                Some(m) => part(m, check, t.chars().count() == 1),
                None => {
                    let a = arg(&mut p, check.value.clone());
                    w.push(check.sql(&a));
                    narrow = false;
                }
            }
        }
        Some(NameQuery::Pinyin(q)) => {
            let q = q.to_ascii_lowercase();
            let full = Check {
                before: "keqing_pinyin_matches(pinyin, ",
                after: ")",
                value: q.clone().into(),
            };
            let initials = like(
                "initials LIKE ",
                keqing_domain::search::subsequence_pattern(&like_escape(&q)),
            );
            match fts::pinyin_match(&q) {
                // Two parts, the full pinyin and the initials, each with
                // its own check: a check implies its tokens, so (full or
                // initials tokens) and (either check) is exactly (full
                // check) or (initials LIKE).
                Some(m) => {
                    part(m.full, full, q.len() <= 2);
                    part(m.initials, initials, false);
                }
                None => {
                    let a = arg(&mut p, full.value.clone());
                    let b = arg(&mut p, initials.value.clone());
                    w.push(format!("({} OR {})", full.sql(&a), initials.sql(&b)));
                    narrow = false;
                }
            }
        }
        Some(NameQuery::PhoneSuffix(d)) => {
            let r = rev(d);
            let a = arg(&mut p, r.clone().into());
            let b = arg(&mut p, format!("{r}:").into());
            w.push(format!(
                "((phone_rev >= {a} AND phone_rev < {b}) OR id IN (SELECT customer_id FROM contacts
                   WHERE deleted_at IS NULL AND mobile_rev >= {a} AND mobile_rev < {b}))"
            ));
            narrow = false;
        }
    }
    // The whole search as one condition: any part, each checked.
    if !search.is_empty() {
        let mut any = vec![];
        for s in &search {
            let (fts, check, values) = s.sql(p.len() + 1);
            p.extend(values);
            let found = format!("id IN (SELECT rowid FROM customer_search WHERE {fts})");
            any.push(match check {
                Some(c) => format!("({found} AND {c})"),
                None => found,
            });
        }
        w.push(format!("({})", any.join(" OR ")));
    }
    let clause = if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    };
    CustomerWhere {
        clause,
        rest,
        rest_params,
        rest_narrow: narrow,
        search,
        params: p,
    }
}

/// The matches of one part of a search, in id order: found by a short scan,
/// or as the FTS index gives them.
enum Stream<'a> {
    Found(std::vec::IntoIter<(i64, SqlValue)>),
    Rows(rusqlite::Rows<'a>),
}

impl Stream<'_> {
    /// The next match: its id and sort key.
    fn next(&mut self) -> Result<Option<(i64, SqlValue)>> {
        match self {
            Stream::Found(rows) => Ok(rows.next()),
            Stream::Rows(rows) => match rows.next().map_err(sq)? {
                Some(r) => Ok(Some((r.get(0).map_err(sq)?, r.get(1).map_err(sq)?))),
                None => Ok(None),
            },
        }
    }
}

/// One page of a name search. The FTS index drives: the matches of each of
/// the search's parts come in id order, each is scoped (and, where the
/// part's tokens are not exact, checked) on a covering index —
/// `customers_rank` where that holds every column read, `customers_scope`
/// otherwise — and the parts are merged in id order, each customer once.
/// The scan stops after [`SEARCH_COUNT_CAP`] matches (or the end of the page asked
/// for, if further): a query of one or two letters matching half the
/// customers costs no more than one matching a thousand. Up to the cap the
/// count is exact and the order is over all matches (shorter names first,
/// or by name); past it the page says `capped`, and the matches of every
/// page of such a search are in id order, the order the index gives them
/// in, so that paging on (an export) neither repeats nor skips one. Only the page's rows are read from the
/// table.
fn search_page(
    c: &Connection,
    f: &CustomerFilter,
    w: &CustomerWhere,
    limit: i64,
) -> Result<Page<Customer>> {
    let by_name = f.sort == CustomerSort::NameAsc;
    let key = if by_name {
        "customers.name"
    } else {
        "length(customers.name)"
    };
    let offset = f.offset.max(0);
    let cap = SEARCH_COUNT_CAP.max(offset + limit);
    // The other conditions, after the search's (`AND …`) or alone (`WHERE …`).
    let (rest, scope) = match w.rest.as_str() {
        "" => (String::new(), String::new()),
        r => (format!("AND {r}"), format!("WHERE {r}")),
    };
    // The parts a short scan answers, then a statement for each of the others.
    let mut found: Vec<Option<Vec<(i64, SqlValue)>>> = vec![];
    for part in &w.search {
        // Not where a condition reads the table: 20,000 rows read for it.
        let Some(test) = part.scan.as_ref().filter(|_| w.rest_narrow) else {
            found.push(None);
            continue;
        };
        let first = c
            .prepare_cached(&format!(
                "SELECT id, k FROM (
                   SELECT customers.id AS id, {key} AS k, customers.pinyin AS pinyin,
                     customers.initials AS initials, customers.name AS name
                   FROM customers INDEXED BY customers_scope {scope}
                   ORDER BY customers.id LIMIT {SCAN_ROWS})
                 WHERE {}
                 ORDER BY id LIMIT {}",
                test.sql(&format!("?{}", w.rest_params + 1)),
                cap + 1
            ))
            .map_err(sq)?
            .query_map(
                params_from_iter(w.params[..w.rest_params].iter().chain([&test.value])),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sq)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sq)?;
        // Fewer: the rest of them are further on, which the index finds.
        found.push((first.len() as i64 > cap).then_some(first));
    }
    let mut statements = vec![];
    let mut values = vec![];
    for (part, _) in w.search.iter().zip(&found).filter(|(_, f)| f.is_none()) {
        // The narrow index holds the length of the name, not the name.
        let index = if part.check.is_none() && w.rest_narrow && !by_name {
            "customers_rank"
        } else {
            "customers_scope"
        };
        let (fts, check, own) = part.sql(w.rest_params + 1);
        let check = check.map(|c| format!("AND {c}")).unwrap_or_default();
        statements.push(
            c.prepare_cached(&format!(
                "SELECT customers.id, {key}
                 FROM customer_search CROSS JOIN customers INDEXED BY {index}
                   ON customers.id = customer_search.rowid
                 WHERE {fts} {check} {rest}
                 ORDER BY customer_search.rowid
                 LIMIT {}",
                cap + 1
            ))
            .map_err(sq)?,
        );
        values.push(own);
    }
    let mut queried = statements
        .iter_mut()
        .zip(&values)
        .map(|(st, own)| {
            st.query(params_from_iter(
                w.params[..w.rest_params].iter().chain(own),
            ))
            .map_err(sq)
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    let mut streams: Vec<Stream> = found
        .into_iter()
        .map(|f| match f {
            Some(rows) => Some(Stream::Found(rows.into_iter())),
            None => queried.next().map(Stream::Rows),
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| StoreError::Db("a search part without its statement".into()))?;
    let mut heads = streams
        .iter_mut()
        .map(Stream::next)
        .collect::<Result<Vec<_>>>()?;
    let mut hits: Vec<(SqlValue, i64)> = vec![];
    while (hits.len() as i64) <= cap {
        let Some(id) = heads.iter().flatten().map(|h| h.0).min() else {
            break;
        };
        let mut key = None;
        for (head, rows) in heads.iter_mut().zip(streams.iter_mut()) {
            if head.as_ref().is_some_and(|h| h.0 == id) {
                key = head.take().map(|h| h.1);
                *head = rows.next()?;
            }
        }
        hits.push((key.unwrap_or(SqlValue::Null), id));
    }
    drop(streams);
    let capped = hits.len() as i64 > cap;
    hits.truncate(cap as usize);
    // SQLite orders text by its bytes and integers as numbers: so do these.
    // Past the cap (here or on an earlier page), they stay in the index's id order.
    let broad = hits.len() as i64 > SEARCH_COUNT_CAP;
    hits.sort_by(|a, b| {
        if broad {
            return a.1.cmp(&b.1);
        }
        let k = match (&a.0, &b.0) {
            (SqlValue::Integer(x), SqlValue::Integer(y)) => x.cmp(y),
            (SqlValue::Text(x), SqlValue::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            _ => std::cmp::Ordering::Equal,
        };
        k.then(a.1.cmp(&b.1))
    });
    let ids: Vec<i64> = hits
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|h| h.1)
        .collect();
    let mut items = Vec::with_capacity(ids.len());
    let mut one = c
        .prepare_cached(&format!(
            "SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1"
        ))
        .map_err(sq)?;
    for id in ids {
        items.push(one.query_row([id], customer_row).map_err(sq)?);
    }
    Ok(Page {
        capped: capped && !f.skip_total,
        items,
        total: if f.skip_total { -1 } else { hits.len() as i64 },
        offset,
        limit,
    })
}

fn history_insert(
    t: &Connection,
    customer: i64,
    user: Option<i64>,
    changes: &[FieldChange],
    now: &str,
) -> Result<()> {
    let mut st = t
        .prepare_cached(
            "INSERT INTO customer_history (customer_id, at, user_id, field, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(sq)?;
    for ch in changes {
        st.execute(params![
            customer,
            now,
            user,
            ch.field,
            ch.old.to_string(),
            ch.new.to_string()
        ])
        .map_err(sq)?;
    }
    Ok(())
}

fn write_customer_doc(t: &Connection, id: i64, input: &CustomerInput, now: &str) -> Result<()> {
    let idx = CustomerIndex::of(input);
    t.prepare_cached(
        "UPDATE customers SET version = version + 1, name = ?2, pinyin = ?3, initials = ?4, phone_rev = ?5,
            province = ?6, class = ?7, tier = ?8, stage = ?9, tags = ?10, external_code = ?11, dedup_key = ?12,
            doc = ?13, updated_at = ?14 WHERE id = ?1",
    )
    .map_err(sq)?
    .execute(params![
        id,
        idx.name,
        idx.pinyin,
        idx.initials,
        idx.phone_rev,
        idx.province,
        idx.class,
        idx.tier,
        idx.stage,
        idx.tags,
        idx.external_code,
        idx.dedup_key,
        idx.doc,
        now
    ])
    .map_err(sq)?;
    t.prepare_cached("DELETE FROM customer_search WHERE rowid = ?1")
        .map_err(sq)?
        .execute([id])
        .map_err(sq)?;
    insert_search_keys(t, id, &idx.search_tokens())?;
    Ok(())
}

fn map_unique(
    e: StoreError,
    t: &Connection,
    input: &CustomerInput,
    except: Option<i64>,
) -> StoreError {
    match &e {
        StoreError::Db(m) if m.contains("UNIQUE") => match dup_ids(t, input, except) {
            Ok(ids) if !ids.is_empty() => StoreError::Duplicate(ids),
            _ => e,
        },
        _ => e,
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        self.read(|c| {
            let mut st = c
                .prepare(&format!("{REGION_SELECT} ORDER BY r.id"))
                .map_err(sq)?;
            let v = st
                .query_map([], region_row)
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn create_region(&self, name: &str, actor: Option<i64>) -> Result<Region> {
        let name = name.to_string();
        self.tx(move |t| {
            let existing: Option<i64> = t
                .query_row("SELECT id FROM regions WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sq)?;
            if let Some(id) = existing {
                return Err(StoreError::Duplicate(vec![id]));
            }
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO regions (name, created_at) VALUES (?1, ?2)",
                params![name, now],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            audit_row(
                t,
                actor,
                "create",
                "region",
                Some(id),
                &serde_json::json!({"name": name}),
                &now,
            )?;
            t.query_row(
                &format!("{REGION_SELECT} WHERE r.id = ?1"),
                [id],
                region_row,
            )
            .map_err(sq)
        })
        .await
    }

    async fn delete_region(&self, id: i64, actor: Option<i64>) -> Result<()> {
        self.tx(move |t| {
            let r = t
                .query_row(
                    &format!("{REGION_SELECT} WHERE r.id = ?1"),
                    [id],
                    region_row,
                )
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            if r.users > 0 || r.teams > 0 {
                return Err(refuse::region_in_use(&r.name, r.users, r.teams));
            }
            t.execute("DELETE FROM regions WHERE id = ?1", [id])
                .map_err(sq)?;
            audit_row(
                t,
                actor,
                "delete",
                "region",
                Some(id),
                &serde_json::json!({"name": r.name}),
                &ts(Utc::now()),
            )
        })
        .await
    }

    async fn update_team(&self, id: i64, change: &TeamChange, actor: Option<i64>) -> Result<Team> {
        let change = change.clone();
        self.tx(move |t| {
            let old = t
                .query_row(
                    "SELECT id, name, region FROM teams WHERE id = ?1",
                    [id],
                    |r| {
                        Ok(Team {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            region: r.get(2)?,
                        })
                    },
                )
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            let new = change.apply(&old);
            let Some(detail) = team_change_detail(&old, &new) else {
                return Ok(old);
            };
            ensure_region(t, new.region.as_deref())?;
            t.execute(
                "UPDATE teams SET name = ?2, region = ?3 WHERE id = ?1",
                params![id, new.name, new.region],
            )
            .map_err(|e| team_name_taken(e, &new.name))?;
            audit_row(
                t,
                actor,
                "update",
                "team",
                Some(id),
                &detail,
                &ts(Utc::now()),
            )?;
            Ok(new)
        })
        .await
    }

    async fn create_team(&self, name: &str, region: Option<&str>) -> Result<Team> {
        let (name, region) = (name.to_string(), region.map(str::to_string));
        self.tx(move |t| {
            ensure_region(t, region.as_deref())?;
            t.execute(
                "INSERT INTO teams (name, region) VALUES (?1, ?2)",
                params![name, region],
            )
            .map_err(|e| team_name_taken(e, &name))?;
            Ok(Team {
                id: t.last_insert_rowid(),
                name,
                region,
            })
        })
        .await
    }

    async fn teams(&self) -> Result<Vec<Team>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT id, name, region FROM teams ORDER BY id")
                .map_err(sq)?;
            let v = st
                .query_map([], |r| {
                    Ok(Team {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        region: r.get(2)?,
                    })
                })
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn create_user(&self, u: &NewUser) -> Result<User> {
        let u = u.clone();
        self.tx(move |t| {
            let now = ts(Utc::now());
            ensure_region(t, u.region.as_deref())?;
            t.execute(
                "INSERT INTO users (username, display_name, role, team_id, region, password_hash, active, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
                params![u.username, u.display_name, u.role.as_str(), u.team_id, u.region, u.password_hash, now],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    refuse::user_exists(&u.username)
                }
                e => sq(e),
            })?;
            let id = t.last_insert_rowid();
            t.query_row(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"), [id], user_row).map_err(sq)
        })
        .await
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()
            .map_err(sq)
        })
        .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>> {
        let name = username.to_string();
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = ?1"),
                [name],
                |r| Ok((user_row(r)?, r.get(7)?)),
            )
            .optional()
            .map_err(sq)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            let mut st = c
                .prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))
                .map_err(sq)?;
            let v = st
                .query_map([], user_row)
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn set_password(&self, user_id: i64, hash: &str) -> Result<()> {
        let hash = hash.to_string();
        self.tx(move |t| {
            let n = t
                .execute(
                    "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                    params![user_id, hash],
                )
                .map_err(sq)?;
            // A new password ends every session of the old one.
            t.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
                .map_err(sq)?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn set_user_active(&self, user_id: i64, active: bool) -> Result<()> {
        self.tx(move |t| {
            let n = t
                .execute(
                    "UPDATE users SET active = ?2 WHERE id = ?1",
                    params![user_id, active],
                )
                .map_err(sq)?;
            if !active {
                t.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
                    .map_err(sq)?;
            }
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn update_user(&self, id: i64, change: &UserChange, actor: Option<i64>) -> Result<User> {
        let change = change.clone();
        self.tx(move |t| {
            let old = t
                .query_row(
                    &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                    [id],
                    user_row,
                )
                .optional()
                .map_err(sq)?
                .ok_or(StoreError::NotFound)?;
            let new = change.apply(&old);
            let Some(detail) = user_change_detail(&old, &new) else {
                return Ok(old);
            };
            if new.team_id != old.team_id {
                if let Some(team) = new.team_id {
                    let exists = t
                        .query_row("SELECT 1 FROM teams WHERE id = ?1", [team], |_| Ok(()))
                        .optional()
                        .map_err(sq)?
                        .is_some();
                    if !exists {
                        return Err(refuse::no_team(team));
                    }
                }
            }
            let other_admins: i64 = t
                .query_row(
                    "SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND id <> ?1",
                    [id],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            if removes_last_admin(&old, &new, other_admins) {
                return Err(refuse::last_admin());
            }
            ensure_region(t, new.region.as_deref())?;
            t.execute(
                "UPDATE users SET role = ?2, team_id = ?3, region = ?4, active = ?5 WHERE id = ?1",
                params![id, new.role.as_str(), new.team_id, new.region, new.active],
            )
            .map_err(sq)?;
            if !new.active {
                t.execute("DELETE FROM sessions WHERE user_id = ?1", [id])
                    .map_err(sq)?;
            }
            let mut detail = detail;
            if new.team_id != old.team_id {
                // Team scope follows the owner: their customers move with them.
                let moved = t
                    .execute(
                        "UPDATE customers SET team_id = ?2 WHERE owner_id = ?1",
                        params![id, new.team_id],
                    )
                    .map_err(sq)?;
                detail["customers_moved"] = moved.into();
            }
            audit_row(
                t,
                actor,
                "update",
                "user",
                Some(id),
                &detail,
                &ts(Utc::now()),
            )?;
            Ok(new)
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let h = token_hash.to_string();
        self.tx(move |t| {
            let now = Utc::now();
            t.execute("DELETE FROM sessions WHERE expires_at < ?1", [ts(now)]).map_err(sq)?;
            t.execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![h, user_id, ts(expires_at), ts(now)],
            )
            .map_err(sq)?;
            Ok(())
        })
        .await
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let h = token_hash.to_string();
        self.read(move |c| {
            // Every request with a token asks this: prepared once per connection.
            static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                format!(
                    "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active = 1",
                    USER_COLS
                        .split(", ")
                        .map(|c| format!("u.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            c.prepare_cached(&SQL)
                .map_err(sq)?
                .query_row(params![h, ts(now)], user_row)
                .optional()
                .map_err(sq)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let h = token_hash.to_string();
        self.tx(move |t| {
            t.execute("DELETE FROM sessions WHERE token_hash = ?1", [h])
                .map_err(sq)?;
            Ok(())
        })
        .await
    }

    async fn find_duplicates(&self, input: &CustomerInput) -> Result<Vec<i64>> {
        let input = input.clone();
        self.read(move |c| dup_ids(c, &input, None)).await
    }

    async fn create_customer(
        &self,
        input: &CustomerInput,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<Customer> {
        let (input, actor) = (input.clone(), actor.id);
        self.tx(move |t| {
            let now = ts(Utc::now());
            let id = insert_customer(t, &input, owner_id, Some(actor), &now)
                .map_err(|e| map_unique(e, t, &input, None))?;
            audit_row(
                t,
                Some(actor),
                "create",
                "customer",
                Some(id),
                &serde_json::json!({"name": input.name}),
                &now,
            )?;
            must_customer(t, id)
        })
        .await
    }

    async fn customer(&self, id: i64) -> Result<Option<Customer>> {
        self.read(move |c| get_customer(c, id)).await
    }

    async fn customers_by_ids(&self, ids: &[i64]) -> Result<Vec<Customer>> {
        let ids = ids.to_vec();
        self.read(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(x) = get_customer(c, id)? {
                    out.push(x);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_customer(
        &self,
        id: i64,
        expected_version: i64,
        input: &CustomerInput,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Customer> {
        let (input, changes, actor) = (input.clone(), changes.to_vec(), actor.id);
        self.tx(move |t| {
            let current: i64 = t
                .query_row("SELECT version FROM customers WHERE id = ?1 AND deleted_at IS NULL", [id], |r| r.get(0))
                .map_err(sq)?;
            if current != expected_version {
                return Err(StoreError::Conflict { expected: expected_version, current });
            }
            let dups = dup_ids(t, &input, Some(id))?;
            if !dups.is_empty() {
                return Err(StoreError::Duplicate(dups));
            }
            let now = ts(Utc::now());
            write_customer_doc(t, id, &input, &now)?;
            history_insert(t, id, Some(actor), &changes, &now)?;
            audit_row(t, Some(actor), "update", "customer", Some(id), &serde_json::json!({"fields": changes.iter().map(|c| &c.field).collect::<Vec<_>>()}), &now)?;
            must_customer(t, id)
        })
        .await
    }

    async fn delete_customer(&self, id: i64, actor: &User) -> Result<()> {
        let actor = actor.id;
        self.tx(move |t| {
            let now = ts(Utc::now());
            let n = t
                .execute("UPDATE customers SET deleted_at = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL", params![id, now])
                .map_err(sq)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            history_insert(t, id, Some(actor), &[FieldChange { field: "deleted".into(), old: false.into(), new: true.into() }], &now)?;
            audit_row(t, Some(actor), "delete", "customer", Some(id), &serde_json::Value::Null, &now)
        })
        .await
    }

    async fn restore_customer(&self, id: i64, actor: &User) -> Result<Customer> {
        let actor = actor.id;
        self.tx(move |t| {
            let c = must_customer(t, id)?;
            if c.deleted_at.is_none() {
                return Ok(c);
            }
            let dups = dup_ids(t, &c.fields, Some(id))?;
            if !dups.is_empty() {
                return Err(StoreError::Duplicate(dups));
            }
            let now = ts(Utc::now());
            t.execute("UPDATE customers SET deleted_at = NULL, merged_into = NULL, version = version + 1, updated_at = ?2 WHERE id = ?1", params![id, now])
                .map_err(sq)?;
            history_insert(t, id, Some(actor), &[FieldChange { field: "deleted".into(), old: true.into(), new: false.into() }], &now)?;
            audit_row(t, Some(actor), "restore", "customer", Some(id), &serde_json::Value::Null, &now)?;
            must_customer(t, id)
        })
        .await
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Page<Customer>> {
        let f = f.clone();
        self.read(move |c| {
            let cw = customer_where(&f);
            // A name search counts, scopes and orders its candidates on the
            // narrow customers_scope index, then reads only the page's rows.
            let searched = !cw.search.is_empty();
            let from = if searched {
                "customers INDEXED BY customers_scope"
            } else {
                "customers"
            };
            let limit = f.limit.clamp(1, 1000);
            if searched && matches!(f.sort, CustomerSort::IdAsc | CustomerSort::NameAsc) {
                return search_page(c, &f, &cw, limit);
            }
            let (w, mut p) = (cw.clause, cw.params);
            let (total, capped) = if f.skip_total {
                (-1, false)
            } else {
                let n = list_count_limit(f.offset, limit);
                let counted: i64 = c
                    .prepare_cached(&format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {from} {w} LIMIT {n})"
                    ))
                    .map_err(sq)?
                    .query_row(params_from_iter(p.iter()), |r| r.get(0))
                    .map_err(sq)?;
                capped_total(counted, n)
            };
            let order = match (&f.query, f.sort) {
                // Shorter names first: the closest matches.
                (Some(NameQuery::Pinyin(_) | NameQuery::Text(_)), CustomerSort::IdAsc) => {
                    "length(name), id"
                }
                (_, CustomerSort::IdAsc) => "id",
                (_, CustomerSort::NameAsc) => "name, id",
                (_, CustomerSort::UpdatedDesc) => "updated_at DESC, id",
                (_, CustomerSort::LastFollowUpAsc) => {
                    "last_follow_up_at IS NOT NULL, last_follow_up_at, id"
                }
            };
            p.push(limit.into());
            p.push(f.offset.max(0).into());
            let sql = if searched {
                format!(
                    "SELECT {CUSTOMER_COLS} FROM customers WHERE id IN
                       (SELECT id FROM {from} {w} ORDER BY {order} LIMIT ?{} OFFSET ?{})
                     ORDER BY {order}",
                    p.len() - 1,
                    p.len()
                )
            } else {
                format!(
                    "SELECT {CUSTOMER_COLS} FROM customers {w} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
                    p.len() - 1,
                    p.len()
                )
            };
            let mut st = c.prepare_cached(&sql).map_err(sq)?;
            let items = st
                .query_map(params_from_iter(p.iter()), customer_row)
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(Page {
                capped,
                items,
                total,
                offset: f.offset.max(0),
                limit,
            })
        })
        .await
    }

    async fn history(&self, customer_id: i64) -> Result<Vec<HistoryEntry>> {
        self.read(move |c| {
            let mut st = c
                .prepare("SELECT id, customer_id, at, user_id, field, old, new FROM customer_history WHERE customer_id = ?1 ORDER BY id")
                .map_err(sq)?;
            let v = st
                .query_map([customer_id], |r| {
                    Ok(HistoryEntry {
                        id: r.get(0)?,
                        customer_id: r.get(1)?,
                        at: parse_ts(&r.get::<_, String>(2)?)?,
                        user_id: r.get(3)?,
                        field: r.get(4)?,
                        old: json_col(&r.get::<_, String>(5)?)?,
                        new: json_col(&r.get::<_, String>(6)?)?,
                    })
                })
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn merge_customers(&self, keep: i64, other: i64, actor: &User) -> Result<Customer> {
        let actor = actor.id;
        if keep == other {
            return Err(refuse::merge_into_itself());
        }
        self.tx(move |t| {
            let k = must_customer(t, keep)?;
            let o = must_customer(t, other)?;
            if k.deleted_at.is_some() || o.deleted_at.is_some() {
                return Err(refuse::merge_live_only());
            }
            let now = ts(Utc::now());
            for table in ["contacts", "activities", "orders", "customer_history", "ownership_log", "change_reports"] {
                t.execute(&format!("UPDATE {table} SET customer_id = ?1 WHERE customer_id = ?2"), params![keep, other])
                    .map_err(sq)?;
            }
            t.execute(
                "UPDATE customers SET deleted_at = ?3, merged_into = ?1, version = version + 1, updated_at = ?3 WHERE id = ?2",
                params![keep, other, now],
            )
            .map_err(sq)?;
            t.execute("UPDATE customers SET version = version + 1, updated_at = ?2 WHERE id = ?1", params![keep, now])
                .map_err(sq)?;
            history_insert(t, keep, Some(actor), &[FieldChange { field: "merged".into(), old: serde_json::Value::Null, new: serde_json::json!({"id": other, "name": o.fields.name}) }], &now)?;
            audit_row(t, Some(actor), "merge", "customer", Some(keep), &serde_json::json!({"merged": other}), &now)?;
            must_customer(t, keep)
        })
        .await
    }

    async fn transfer_customers(
        &self,
        ids: &[i64],
        to_user: i64,
        reason: &str,
        actor: &User,
    ) -> Result<u64> {
        let (ids, reason, actor) = (ids.to_vec(), reason.to_string(), actor.id);
        self.tx(move |t| {
            let team = owner_team(t, Some(to_user))?;
            let now = ts(Utc::now());
            let mut n = 0;
            for id in &ids {
                let from: Option<i64> = t
                    .query_row("SELECT owner_id FROM customers WHERE id = ?1 AND deleted_at IS NULL", [id], |r| r.get(0))
                    .map_err(sq)?;
                if from == Some(to_user) {
                    continue;
                }
                t.execute(
                    "UPDATE customers SET owner_id = ?2, team_id = ?3, owned_since = ?4, version = version + 1, updated_at = ?4 WHERE id = ?1",
                    params![id, to_user, team, now],
                )
                .map_err(sq)?;
                log_owner(t, *id, from, Some(to_user), "transfer", Some(actor), &now)?;
                history_insert(t, *id, Some(actor), &[FieldChange { field: "owner_id".into(), old: from.into(), new: to_user.into() }], &now)?;
                n += 1;
            }
            audit_row(t, Some(actor), "transfer", "customer", None, &serde_json::json!({"ids": ids, "to": to_user, "reason": reason}), &now)?;
            Ok(n)
        })
        .await
    }

    async fn release_stale(
        &self,
        rules: &PoolRules,
        now: DateTime<Utc>,
        actor: &User,
    ) -> Result<Vec<i64>> {
        let (rules, actor) = (rules.clone(), actor.id);
        self.tx(move |t| {
            let mut st = t
                .prepare("SELECT id, owner_id, class, coalesce(max(last_follow_up_at, owned_since), owned_since, created_at) FROM customers WHERE owner_id IS NOT NULL AND deleted_at IS NULL")
                .map_err(sq)?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, String>(3)?)))
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            let stamp = ts(now);
            let mut released = vec![];
            for (id, owner, class, last) in rows {
                let last = parse_ts(&last).map_err(sq)?;
                if last < rules.cutoff(class.as_deref(), now) {
                    t.execute("UPDATE customers SET owner_id = NULL, team_id = NULL, owned_since = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1", params![id, stamp])
                        .map_err(sq)?;
                    log_owner(t, id, Some(owner), None, "release", Some(actor), &stamp)?;
                    history_insert(t, id, Some(actor), &[FieldChange { field: "owner_id".into(), old: owner.into(), new: serde_json::Value::Null }], &stamp)?;
                    released.push(id);
                }
            }
            if !released.is_empty() {
                audit_row(t, Some(actor), "release", "customer", None, &serde_json::json!({"ids": released}), &stamp)?;
            }
            Ok(released)
        })
        .await
    }

    async fn claim(&self, customer_id: i64, user: &User, max_owned: i64) -> Result<Customer> {
        let (uid, team) = (user.id, user.team_id);
        self.tx(move |t| {
            let owner: Option<i64> = t
                .query_row("SELECT owner_id FROM customers WHERE id = ?1 AND deleted_at IS NULL", [customer_id], |r| r.get(0))
                .map_err(sq)?;
            if owner.is_some() {
                return Err(refuse::not_in_pool());
            }
            let owned: i64 = t
                .query_row("SELECT count(*) FROM customers WHERE owner_id = ?1 AND deleted_at IS NULL", [uid], |r| r.get(0))
                .map_err(sq)?;
            if owned >= max_owned {
                return Err(refuse::pool_limit(owned, max_owned));
            }
            let now = ts(Utc::now());
            t.execute(
                "UPDATE customers SET owner_id = ?2, team_id = ?3, owned_since = ?4, version = version + 1, updated_at = ?4 WHERE id = ?1",
                params![customer_id, uid, team, now],
            )
            .map_err(sq)?;
            log_owner(t, customer_id, None, Some(uid), "claim", Some(uid), &now)?;
            history_insert(t, customer_id, Some(uid), &[FieldChange { field: "owner_id".into(), old: serde_json::Value::Null, new: uid.into() }], &now)?;
            audit_row(t, Some(uid), "claim", "customer", Some(customer_id), &serde_json::Value::Null, &now)?;
            must_customer(t, customer_id)
        })
        .await
    }

    async fn ownership_log(&self, customer_id: i64) -> Result<Vec<OwnershipEvent>> {
        self.read(move |c| {
            let mut st = c
                .prepare("SELECT id, customer_id, at, from_user, to_user, reason, actor_id FROM ownership_log WHERE customer_id = ?1 ORDER BY id")
                .map_err(sq)?;
            let v = st
                .query_map([customer_id], |r| {
                    Ok(OwnershipEvent {
                        id: r.get(0)?,
                        customer_id: r.get(1)?,
                        at: parse_ts(&r.get::<_, String>(2)?)?,
                        from_user: r.get(3)?,
                        to_user: r.get(4)?,
                        reason: r.get(5)?,
                        actor_id: r.get(6)?,
                    })
                })
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn set_values(&self, updates: &[ValueUpdate]) -> Result<()> {
        let updates = updates.to_vec();
        self.tx(move |t| {
            for u in &updates {
                let Some(mut c) = get_customer(t, u.customer_id)? else { continue };
                c.fields.class = u.class.clone().or(c.fields.class);
                c.fields.tier = u.tier.clone().or(c.fields.tier);
                let idx = CustomerIndex::of(&c.fields);
                t.execute(
                    "UPDATE customers SET class = ?2, tier = ?3, doc = ?4, rfm_class = coalesce(?5, rfm_class), clv = coalesce(?6, clv), p_alive = coalesce(?7, p_alive) WHERE id = ?1",
                    params![u.customer_id, idx.class, idx.tier, idx.doc, u.rfm_class, u.clv, u.p_alive],
                )
                .map_err(sq)?;
            }
            Ok(())
        })
        .await
    }

    async fn create_contact(
        &self,
        customer_id: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        let (input, actor) = (input.clone(), actor.id);
        self.tx(move |t| {
            let live: Option<Option<String>> = t
                .query_row(
                    "SELECT deleted_at FROM customers WHERE id = ?1",
                    [customer_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sq)?;
            if !matches!(live, Some(None)) {
                return Err(StoreError::NotFound);
            }
            let now = ts(Utc::now());
            let id = insert_contact(t, customer_id, &input, &now)?;
            audit_row(
                t,
                Some(actor),
                "create",
                "contact",
                Some(id),
                &serde_json::json!({"customer_id": customer_id}),
                &now,
            )?;
            get_contact(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        self.read(move |c| get_contact(c, id)).await
    }

    async fn contacts(&self, customer_id: i64) -> Result<Vec<Contact>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!("SELECT {CONTACT_COLS} FROM contacts WHERE customer_id = ?1 AND deleted_at IS NULL ORDER BY id"))
                .map_err(sq)?;
            let rows = st.query_map([customer_id], contact_row).map_err(sq)?.collect::<rusqlite::Result<Vec<_>>>().map_err(sq)?;
            rows.into_iter().map(finish_contact).collect()
        })
        .await
    }

    async fn update_contact(
        &self,
        id: i64,
        expected_version: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        let (input, actor) = (input.clone(), actor.id);
        self.tx(move |t| {
            let current: i64 = t
                .query_row("SELECT version FROM contacts WHERE id = ?1 AND deleted_at IS NULL", [id], |r| r.get(0))
                .map_err(sq)?;
            if current != expected_version {
                return Err(StoreError::Conflict { expected: expected_version, current });
            }
            let now = ts(Utc::now());
            let c = contact_doc(0, &input);
            t.execute(
                "UPDATE contacts SET version = version + 1, name = ?2, mobile_rev = ?3, birthday_key = ?4, doc = ?5 WHERE id = ?1",
                params![id, c.name, c.mobile_rev, c.birthday_key, c.doc],
            )
            .map_err(sq)?;
            audit_row(t, Some(actor), "update", "contact", Some(id), &serde_json::Value::Null, &now)?;
            get_contact(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn delete_contact(&self, id: i64, actor: &User) -> Result<()> {
        let actor = actor.id;
        self.tx(move |t| {
            let now = ts(Utc::now());
            let n = t
                .execute("UPDATE contacts SET deleted_at = ?2, version = version + 1 WHERE id = ?1 AND deleted_at IS NULL", params![id, now])
                .map_err(sq)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            audit_row(t, Some(actor), "delete", "contact", Some(id), &serde_json::Value::Null, &now)
        })
        .await
    }

    async fn add_activity(
        &self,
        customer_id: i64,
        a: &NewActivity,
        actor: &User,
    ) -> Result<Activity> {
        let (mut a, actor) = (a.clone(), actor.id);
        self.tx(move |t| insert_activity(t, customer_id, &mut a, actor))
            .await
    }

    async fn activities(&self, customer_id: i64) -> Result<Vec<Activity>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached("SELECT id, customer_id, user_id, at, doc FROM activities WHERE customer_id = ?1 ORDER BY at DESC, id DESC")
                .map_err(sq)?;
            let rows = st
                .query_map([customer_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?)))
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            rows.into_iter()
                .map(|(id, cid, uid, at, doc)| {
                    Ok(Activity {
                        id,
                        customer_id: cid,
                        user_id: uid,
                        fields: activity_input(&json_col(&doc).map_err(sq)?)?,
                        at: parse_ts(&at).map_err(sq)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn add_orders(&self, orders: &[NewOrder]) -> Result<OrderImportOutcome> {
        let orders = orders.to_vec();
        let mut out = OrderImportOutcome::default();
        for chunk in orders.chunks(IMPORT_BATCH * 5) {
            let chunk = chunk.to_vec();
            let (i, e) = self
                .tx(move |t| {
                    let mut st = t
                        .prepare_cached(
                            "INSERT INTO orders (customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (external_id) DO NOTHING",
                        )
                        .map_err(sq)?;
                    let (mut i, mut e) = (0u64, 0u64);
                    for o in &chunk {
                        let n = st
                            .execute(params![
                                o.customer_id,
                                o.external_id,
                                ts(o.ordered_at),
                                o.amount.fen(),
                                o.quantity,
                                o.product,
                                o.channel,
                                o.store,
                                o.due_date.map(|d| d.to_string()),
                                o.paid_date.map(|d| d.to_string())
                            ])
                            .map_err(sq)?;
                        if n == 1 { i += 1 } else { e += 1 }
                    }
                    Ok((i, e))
                })
                .await?;
            out.imported += i;
            out.existing += e;
        }
        Ok(out)
    }

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached("SELECT id, customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date FROM orders WHERE customer_id = ?1 ORDER BY ordered_at DESC, id DESC")
                .map_err(sq)?;
            let v = st
                .query_map([customer_id], |r| {
                    Ok(Order {
                        id: r.get(0)?,
                        fields: NewOrder {
                            customer_id: r.get(1)?,
                            external_id: r.get(2)?,
                            ordered_at: parse_ts(&r.get::<_, String>(3)?)?,
                            amount: keqing_domain::Money(r.get(4)?),
                            quantity: r.get(5)?,
                            product: r.get(6)?,
                            channel: r.get(7)?,
                            store: r.get(8)?,
                            due_date: r.get::<_, Option<String>>(9)?.map(|s| parse_date(&s)).transpose()?,
                            paid_date: r.get::<_, Option<String>>(10)?.map(|s| parse_date(&s)).transpose()?,
                        },
                    })
                })
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn order_facts(&self) -> Result<Vec<OrderFact>> {
        self.read(|c| {
            let mut st = c
                .prepare("SELECT o.customer_id, substr(o.ordered_at, 1, 10), o.amount_fen FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.deleted_at IS NULL")
                .map_err(sq)?;
            let v = st
                .query_map([], |r| Ok(OrderFact { customer_id: r.get(0)?, date: parse_date(&r.get::<_, String>(1)?)?, amount_fen: r.get(2)? }))
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn resolve_codes(&self, codes: &[String]) -> Result<Vec<Option<i64>>> {
        let codes: Vec<String> = codes.iter().map(|c| c.to_ascii_uppercase()).collect();
        self.read(move |c| {
            // One read transaction for all of them: a lookup each in its own
            // would take and release the WAL read lock a million times.
            let t = c.unchecked_transaction().map_err(sq)?;
            let mut st = t
                .prepare_cached(
                    "SELECT id FROM customers WHERE external_code = ?1 AND deleted_at IS NULL",
                )
                .map_err(sq)?;
            let mut out = Vec::with_capacity(codes.len());
            for code in codes {
                out.push(st.query_row([&code], |r| r.get(0)).optional().map_err(sq)?);
            }
            drop(st);
            t.finish().map_err(sq)?;
            Ok(out)
        })
        .await
    }

    async fn resolve_customer(
        &self,
        external_code: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<i64>> {
        let (code, name) = (
            external_code.map(|s| s.to_ascii_uppercase()),
            name.map(str::to_string),
        );
        self.read(move |c| {
            if let Some(code) = code {
                return c
                    .query_row(
                        "SELECT id FROM customers WHERE external_code = ?1 AND deleted_at IS NULL",
                        [code],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sq);
            }
            if let Some(name) = name {
                let mut st = c
                    .prepare_cached(
                        "SELECT id FROM customers WHERE name = ?1 AND deleted_at IS NULL LIMIT 2",
                    )
                    .map_err(sq)?;
                let ids = st
                    .query_map([name], |r| r.get::<_, i64>(0))
                    .map_err(sq)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(sq)?;
                return Ok(if ids.len() == 1 { Some(ids[0]) } else { None });
            }
            Ok(None)
        })
        .await
    }

    async fn report_change(
        &self,
        customer_id: i64,
        note: &str,
        reported_on: NaiveDate,
        actor: &User,
    ) -> Result<ChangeReport> {
        let (note, actor) = (note.to_string(), actor.id);
        self.tx(move |t| {
            must_customer(t, customer_id)?;
            let due = keqing_domain::archive::change_due(reported_on);
            t.execute(
                "INSERT INTO change_reports (customer_id, note, reported_on, due_on, reported_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![customer_id, note, reported_on.to_string(), due.to_string(), actor],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            Ok(ChangeReport { id, customer_id, note, reported_on, due_on: due, registered_on: None, reported_by: Some(actor) })
        })
        .await
    }

    async fn register_change(&self, id: i64, on: NaiveDate, actor: &User) -> Result<ChangeReport> {
        let actor = actor.id;
        self.tx(move |t| {
            let n = t
                .execute("UPDATE change_reports SET registered_on = ?2 WHERE id = ?1 AND registered_on IS NULL", params![id, on.to_string()])
                .map_err(sq)?;
            if n == 1 {
                audit_row(t, Some(actor), "register_change", "change_report", Some(id), &serde_json::Value::Null, &ts(Utc::now()))?;
            }
            change_report(t, id)
        })
        .await
    }

    async fn open_changes(&self, owner_id: Option<i64>) -> Result<Vec<ChangeReport>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT r.id FROM change_reports r JOIN customers c ON c.id = r.customer_id
                     WHERE r.registered_on IS NULL AND c.deleted_at IS NULL AND (?1 IS NULL OR c.owner_id = ?1) ORDER BY r.due_on, r.id",
                )
                .map_err(sq)?;
            let ids = st.query_map([owner_id], |r| r.get::<_, i64>(0)).map_err(sq)?.collect::<rusqlite::Result<Vec<_>>>().map_err(sq)?;
            ids.into_iter().map(|id| change_report(c, id)).collect()
        })
        .await
    }

    async fn import_customers(
        &self,
        rows: ImportRows<ImportCustomer>,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let team = self.read(move |c| owner_team(c, owner_id)).await?;
        let actor = actor.clone();
        self.import_pipelined(
            rows,
            ImportPlan {
                tables: &["customers", "contacts", "ownership_log"],
                // The partial indexes of deleted rows take none of the new
                // ones, and that of customers under a care rule of their own
                // (an owner and a class, or key dates…) takes them in id order:
                // building them again would only read the whole table once more.
                // Those that take every row (the scope, the owner's) are built
                // again too: at a million customers, adding to them row by row,
                // in order, made storing the rows 2.5-3 s slower and the whole
                // import 1-4 s (three runs each, in turn); with the search
                // index built beside the writer, 2 s (one run each).
                keep: &["customers_care", "customers_deleted", "contacts_deleted"],
                // A file without birthdays leaves the index of birthdays
                // as it is.
                held: &["contacts_birthday_key"],
                late: &[
                    "customers_name",
                    "customers_phone_rev",
                    "contacts_mobile_rev",
                    "contacts_birthday_key",
                ],
                reads_meanwhile: false,
                searched: true,
                unique_later: true,
            },
            prepare_customer,
            move |t, batch, now, search, later| {
                let (mut n, mut existing) = (0u64, vec![]);
                let rows = batch.len();
                // Prepared once a batch: looked up in the statement cache a
                // row at a time, their SQL was hashed two million times.
                let mut customer = CustomerInsert::new(t, owner_id, team, now)?;
                let mut contact = ContactInsert::new(t, now)?;
                for row in prefetching(batch, PreparedCustomer::prefetch) {
                    later.admit(
                        t,
                        &[
                            row.index.external_code.as_deref(),
                            row.index.dedup_key.as_deref(),
                        ],
                    )?;
                    // The unique indexes on external code and name + phone
                    // refuse a customer stored already: it is counted as existing.
                    let Some(id) = customer.insert(&row.index)? else {
                        existing.push(row.line);
                        continue;
                    };
                    search.add(t, id, std::mem::take(&mut row.tokens))?;
                    log_owner(t, id, None, owner_id, "create", Some(actor.id), now)?;
                    if let Some(ct) = &row.contact {
                        later.contact(t, ct)?;
                        contact.insert(id, ct)?;
                    }
                    n += 1;
                }
                audit_row(
                    t,
                    Some(actor.id),
                    "import",
                    "customer",
                    None,
                    &serde_json::json!({"rows": rows, "imported": n}),
                    now,
                )?;
                Ok((n, existing))
            },
        )
        .await
    }

    async fn import_contacts(
        &self,
        rows: ImportRows<ImportContact>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let actor = actor.clone();
        // Whether a contact is stored already is looked up by customer; the
        // partial index of deleted contacts takes none of the new ones.
        let keep = &["contacts_customer", "contacts_deleted"];
        self.import_pipelined(
            rows,
            ImportPlan {
                tables: &["contacts"],
                keep,
                // A file without birthdays (second contacts, as often as
                // not) leaves the index of birthdays as it is: at a million
                // contacts, its build took 0.6-0.9 s of the import.
                held: &["contacts_birthday_key"],
                late: &["contacts_mobile_rev", "contacts_birthday_key"],
                // The server looks up each batch's customers while the
                // batch before is stored.
                reads_meanwhile: true,
                searched: false,
                unique_later: false,
            },
            prepare_contact,
            move |t, batch, now, _, later| {
                let (mut n, mut existing) = (0u64, vec![]);
                let mut same = t
                    .prepare_cached(
                        "SELECT 1 FROM contacts WHERE customer_id = ?1 AND name = ?2
                     AND mobile_rev IS ?3 AND deleted_at IS NULL",
                    )
                    .map_err(sq)?;
                let mut insert = ContactInsert::new(t, now)?;
                let rows = batch.len();
                for (customer_id, ct) in
                    prefetching(batch, |(_, ct): &(i64, ContactDoc)| ct.prefetch())
                {
                    let customer_id = *customer_id;
                    let found = same
                        .exists(params![customer_id, ct.name, ct.mobile_rev])
                        .map_err(sq)?;
                    if found {
                        existing.push(ct.line);
                        continue;
                    }
                    later.contact(t, ct)?;
                    insert.insert(customer_id, ct)?;
                    n += 1;
                }
                audit_row(
                    t,
                    Some(actor.id),
                    "import",
                    "contact",
                    None,
                    &serde_json::json!({"rows": rows, "imported": n}),
                    now,
                )?;
                Ok((n, existing))
            },
        )
        .await
    }

    async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let (action, entity) = (action.to_string(), entity.to_string());
        self.tx(move |t| {
            audit_row(
                t,
                user_id,
                &action,
                &entity,
                entity_id,
                &detail,
                &ts(Utc::now()),
            )
        })
        .await
    }

    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        self.read(move |c| {
            let mut st = c
                .prepare("SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log ORDER BY id DESC LIMIT ?1")
                .map_err(sq)?;
            let v = st
                .query_map([limit], |r| {
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        at: parse_ts(&r.get::<_, String>(1)?)?,
                        user_id: r.get(2)?,
                        action: r.get(3)?,
                        entity: r.get(4)?,
                        entity_id: r.get(5)?,
                        detail: json_col(&r.get::<_, String>(6)?)?,
                    })
                })
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(v)
        })
        .await
    }

    async fn table_counts(&self) -> Result<TableCounts> {
        self.read(|c| {
            TABLES
                .iter()
                .map(|t| {
                    c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                        .map(|n| (t.to_string(), n))
                        .map_err(sq)
                })
                .collect()
        })
        .await
    }

    async fn export_all(&self, out: &mut (dyn std::io::Write + Send)) -> Result<TableCounts> {
        // One read transaction, so the export is a consistent snapshot.
        let lines = self
            .read(|c| {
                c.execute_batch("BEGIN").map_err(sq)?;
                let mut lines = vec![];
                let r = export_rows(c, &mut |table, row| {
                    lines.push((
                        table,
                        serde_json::json!({"table": table, "row": row}).to_string(),
                    ));
                    Ok(())
                });
                c.execute_batch("COMMIT").map_err(sq)?;
                r.map(|()| lines)
            })
            .await?;
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for (table, l) in &lines {
            writeln!(out, "{l}").map_err(db_err)?;
            *counts.entry(table).or_default() += 1;
        }
        Ok(TABLES
            .iter()
            .map(|t| (t.to_string(), counts.get(t).copied().unwrap_or(0)))
            .collect())
    }

    async fn import_all(&self, input: &mut (dyn std::io::BufRead + Send)) -> Result<TableCounts> {
        let mut rows = vec![];
        rows.extend(read_backup(input)?);
        upgrade_backup(&mut rows);
        // One transaction: a row that fails or a difference found by the
        // verification leaves the database as empty as it was.
        self.tx(move |t| {
            let existing: i64 = t
                .query_row(
                    "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM customers)",
                    [],
                    |r| r.get(0),
                )
                .map_err(sq)?;
            if existing > 0 {
                return Err(refuse::restore_needs_empty());
            }
            t.execute_batch("PRAGMA defer_foreign_keys = ON")
                .map_err(sq)?;
            for v in &rows {
                let table = v["table"].as_str().unwrap_or_default();
                if !TABLES.contains(&table) {
                    return Err(StoreError::Db(format!(
                        "unknown table in backup: {table:?}"
                    )));
                }
                let Some(row) = v["row"].as_object() else {
                    continue;
                };
                let (cols, vals): (Vec<&str>, Vec<SqlValue>) = if table == "care_tasks" {
                    care_task_from_backup(row)?.into_iter().unzip()
                } else {
                    row.iter()
                        .map(|(c, v)| (c.as_str(), json_to_sql(c, v)))
                        .unzip()
                };
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    cols.iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    (1..=cols.len())
                        .map(|i| format!("?{i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                t.prepare_cached(&sql)
                    .map_err(sq)?
                    .execute(params_from_iter(vals.iter()))
                    .map_err(sq)?;
            }
            rebuild_search(t)?;
            derive_columns(t)?;
            // Verify before the commit: the rows read back as a backup
            // writes them must be the backup's.
            let mut check = crate::verify::RestoreCheck::new(&rows);
            export_rows(t, &mut |table, row| {
                check.row(table, &row);
                Ok(())
            })?;
            check.finish()
        })
        .await
    }

    async fn insert_care_tasks(&self, batch: CareTaskBatch) -> Result<u64> {
        if batch.tasks.is_empty() {
            return Ok(0);
        }
        let n = self
            .write(move |c| {
                // No checkpoint after this commit: a checkpoint copies the pages
                // into the database file and waits for the disk, and the next
                // batch need not wait with it (see `checkpoint_soon`).
                let every: i64 = c
                    .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                    .map_err(sq)?;
                c.execute_batch("PRAGMA wal_autocheckpoint = 0")
                    .map_err(sq)?;
                let stored = (|| {
                    let t = c
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .map_err(sq)?;
                    let n = insert_care_batch(&t, &batch)?;
                    t.commit().map_err(sq)?;
                    Ok(n)
                })();
                c.execute_batch(&format!("PRAGMA wal_autocheckpoint = {every}"))
                    .map_err(sq)?;
                stored
            })
            .await?;
        self.checkpoint_soon();
        Ok(n)
    }

    async fn care_tasks(&self, f: &CareTaskFilter) -> Result<Page<CareTaskRow>> {
        let f = f.clone();
        self.read(move |c| {
            let Some((q, p)) = care_task_query(&f) else {
                return Ok(Page::empty(f.offset, f.limit));
            };
            let total: i64 = c
                .query_row(
                    &format!("SELECT count(*) FROM ({q})"),
                    params_from_iter(p.iter()),
                    |r| r.get(0),
                )
                .map_err(sq)?;
            let limit = if f.limit > 0 { f.limit } else { -1 };
            let sql = format!(
                "SELECT * FROM ({q}) ORDER BY date, id LIMIT {limit} OFFSET {}",
                f.offset.max(0)
            );
            let mut rows = care_task_rows(c, &sql, &p)?;
            if f.details {
                care_task_details(c, &mut rows)?;
            }
            Ok(Page {
                capped: false,
                items: rows.into_iter().map(|r| r.row).collect(),
                total,
                offset: f.offset,
                limit: f.limit,
            })
        })
        .await
    }

    async fn care_task(&self, id: i64) -> Result<Option<CareTaskRow>> {
        self.read(move |c| get_care_task(c, id)).await
    }

    async fn set_care_task_status(
        &self,
        id: i64,
        change: &CareStatusChange,
        actor: &User,
    ) -> Result<CareTaskRow> {
        let (change, actor) = (change.clone(), actor.id);
        self.tx(move |t| {
            let task = get_care_task(t, id)?.ok_or(StoreError::NotFound)?;
            if task.status != change.expected {
                return Err(refuse::task_moved_on(&task.status, &change.expected));
            }
            let activity_id = match (change.activity.clone(), task.customer_id) {
                (Some(mut a), Some(customer)) => Some(insert_activity(t, customer, &mut a, actor)?.id),
                _ => task.activity_id,
            };
            let at = Utc::now();
            let now = ts(at);
            let status = care_status_code(&change.status).ok_or_else(|| {
                StoreError::Db(format!("unknown care task status {:?}", change.status))
            })?;
            // Closed (status >= 2), a customer's task keeps the customer's
            // owner of now; open again, it follows the customer's owner again.
            t.execute(
                "UPDATE care_tasks SET status = ?2, reason = ?3, snoozed_until = ?4, activity_id = ?5, updated_at = ?6,
                        owner_id = CASE WHEN subject <= 0 THEN owner_id
                                        WHEN ?2 >= 2 THEN (SELECT c.owner_id FROM customers c WHERE c.id = care_tasks.subject) END
                 WHERE id = ?1",
                params![id, status, change.reason, change.snoozed_until.map(day_number), activity_id, at.timestamp_micros()],
            )
            .map_err(sq)?;
            audit_row(t, Some(actor), &change.status, "care_task", Some(id), &serde_json::json!({"from": task.status}), &now)?;
            get_care_task(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn care_templates(&self) -> Result<Vec<CareTemplate>> {
        self.read(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id, name, body, occasion, active FROM care_templates ORDER BY id",
                )
                .map_err(sq)?;
            let rows = st
                .query_map([], care_template_row)
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(rows)
        })
        .await
    }

    async fn create_care_template(&self, n: &NewCareTemplate) -> Result<CareTemplate> {
        let n = n.clone();
        self.tx(move |t| {
            t.execute(
                "INSERT INTO care_templates (name, body, occasion, active) VALUES (?1, ?2, ?3, ?4)",
                params![n.name, n.body, n.occasion, n.active],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            t.query_row(
                "SELECT id, name, body, occasion, active FROM care_templates WHERE id = ?1",
                [id],
                care_template_row,
            )
            .map_err(sq)
        })
        .await
    }

    async fn update_care_template(&self, id: i64, n: &NewCareTemplate) -> Result<CareTemplate> {
        let n = n.clone();
        self.tx(move |t| {
            let k = t
                .execute(
                    "UPDATE care_templates SET name = ?2, body = ?3, occasion = ?4, active = ?5 WHERE id = ?1",
                    params![id, n.name, n.body, n.occasion, n.active],
                )
                .map_err(sq)?;
            if k == 0 {
                return Err(StoreError::NotFound);
            }
            t.query_row("SELECT id, name, body, occasion, active FROM care_templates WHERE id = ?1", [id], care_template_row)
                .map_err(sq)
        })
        .await
    }

    async fn delete_care_template(&self, id: i64) -> Result<()> {
        self.tx(move |t| {
            let k = t
                .execute("DELETE FROM care_templates WHERE id = ?1", [id])
                .map_err(sq)?;
            if k == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn care_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let key = key.to_string();
        self.read(move |c| {
            let v: Option<String> = c
                .query_row(
                    "SELECT value FROM care_settings WHERE key = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sq)?;
            v.map(|v| json_col(&v).map_err(sq)).transpose()
        })
        .await
    }

    async fn put_care_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.tx(move |t| {
            t.execute(
                "INSERT INTO care_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![key, value, ts(Utc::now())],
            )
            .map_err(sq)?;
            Ok(())
        })
        .await
    }

    async fn care_customers(&self, q: &CareCustomerQuery) -> Result<Vec<CareCustomerFacts>> {
        let q = q.clone();
        self.read(move |c| {
            let mut out = vec![];
            if q.all {
                let sql = format!("SELECT {CARE_CUSTOMER_COLS} FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL ORDER BY id");
                care_customer_rows(c, &sql, &[], &mut out)?;
                return Ok(out);
            }
            // The same condition as the partial index `customers_care`.
            let sql = format!(
                "SELECT {CARE_CUSTOMER_COLS} FROM customers INDEXED BY customers_care
                 WHERE deleted_at IS NULL AND owner_id IS NOT NULL
                   AND (class IS NOT NULL OR tier IS NOT NULL OR json_extract(doc, '$.key_customer') = 1
                        OR json_extract(doc, '$.key_dates') <> '[]'
                        OR json_extract(doc, '$.custom.order_weekdays') IS NOT NULL)"
            );
            care_customer_rows(c, &sql, &[], &mut out)?;
            let mut ids = q.ids.clone();
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let sql = format!("SELECT {CARE_CUSTOMER_COLS} FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL AND id IN ({marks})");
                let p: Vec<SqlValue> = chunk.iter().map(|i| SqlValue::Integer(*i)).collect();
                care_customer_rows(c, &sql, &p, &mut out)?;
            }
            out.sort_unstable_by_key(|f| f.id);
            out.dedup_by_key(|f| f.id);
            Ok(out)
        })
        .await
    }

    async fn care_contacts(
        &self,
        keys: Option<&[String]>,
        customer_ids: &[i64],
    ) -> Result<Vec<CareContactFacts>> {
        let keys = keys.map(<[String]>::to_vec);
        let mut ids = customer_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.read(move |c| {
            let base = "SELECT p.id, p.customer_id, p.name, json_extract(p.doc, '$.title'),
                               json_extract(p.doc, '$.level'), json_extract(p.doc, '$.birthday')
                        FROM contacts p JOIN customers c ON c.id = p.customer_id
                        WHERE p.deleted_at IS NULL AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL";
            let mut out = vec![];
            let Some(keys) = keys else {
                care_contact_rows(c, &format!("{base} ORDER BY p.customer_id, p.id"), &[], &mut out)?;
                return Ok(out);
            };
            if !keys.is_empty() {
                let sql = format!(
                    "{base} AND p.birthday_key IS NOT NULL AND p.birthday_key IN ({})",
                    vec!["?"; keys.len()].join(", ")
                );
                let p: Vec<SqlValue> = keys.iter().map(|s| SqlValue::Text(s.clone())).collect();
                care_contact_rows(c, &sql, &p, &mut out)?;
            }
            for chunk in ids.chunks(500) {
                let sql = format!("{base} AND p.customer_id IN ({})", vec!["?"; chunk.len()].join(", "));
                let p: Vec<SqlValue> = chunk.iter().map(|i| SqlValue::Integer(*i)).collect();
                care_contact_rows(c, &sql, &p, &mut out)?;
            }
            out.sort_unstable_by_key(|p| (p.customer_id, p.id));
            out.dedup_by_key(|p| p.id);
            Ok(out)
        })
        .await
    }

    async fn care_roster(&self, after: i64, limit: i64) -> Result<CareRoster> {
        self.read(move |c| {
            // One snapshot for the three reads.
            c.execute_batch("BEGIN").map_err(sq)?;
            let r = (|| {
                // In id order from the narrow customers_scope index (owner
                // ids are positive: written so), without reading the rows.
                let mut customers: Vec<(i64, i64)> = vec![];
                let mut st = c
                    .prepare_cached(
                        "SELECT id, owner_id FROM customers INDEXED BY customers_scope
                         WHERE id > ?1 AND deleted_at IS NULL AND owner_id > 0 ORDER BY id LIMIT ?2",
                    )
                    .map_err(sq)?;
                let mut rows = st.query(params![after, limit]).map_err(sq)?;
                while let Some(r) = rows.next().map_err(sq)? {
                    customers.push((r.get(0).map_err(sq)?, r.get(1).map_err(sq)?));
                }
                let (Some(&(lo, _)), Some(&(hi, _))) = (customers.first(), customers.last()) else {
                    return Ok(CareRoster::default());
                };
                let mut deleted: Vec<i64> = c
                    .prepare_cached(
                        "SELECT id FROM contacts
                         WHERE deleted_at IS NOT NULL AND customer_id >= ?1 AND customer_id <= ?2",
                    )
                    .map_err(sq)?
                    .query_map([lo, hi], |r| r.get(0))
                    .map_err(sq)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(sq)?;
                deleted.sort_unstable();
                // The page's contacts from the index by customer, less the
                // deleted ones and those of customers not listed (pool, deleted).
                let mut contacts = vec![];
                let mut st = c
                    .prepare_cached(
                        "SELECT id, customer_id FROM contacts
                         WHERE customer_id >= ?1 AND customer_id <= ?2 ORDER BY customer_id, id",
                    )
                    .map_err(sq)?;
                let mut rows = st.query([lo, hi]).map_err(sq)?;
                let mut k = 0;
                while let Some(r) = rows.next().map_err(sq)? {
                    let (id, customer): (i64, i64) = (r.get(0).map_err(sq)?, r.get(1).map_err(sq)?);
                    while k < customers.len() && customers[k].0 < customer {
                        k += 1;
                    }
                    if k < customers.len() && customers[k].0 == customer && deleted.binary_search(&id).is_err() {
                        contacts.push((id, customer));
                    }
                }
                Ok(CareRoster { customers, contacts })
            })();
            c.execute_batch("COMMIT").map_err(sq)?;
            r
        })
        .await
    }

    async fn care_task_contacts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        planned: (NaiveDate, NaiveDate),
    ) -> Result<CareTaskContacts> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT kind, subject, contact, planned_for, date FROM care_tasks
                     WHERE date >= ?1 AND date <= ?2 AND status = 0 AND subject > 0
                     UNION ALL
                     SELECT kind, subject, contact, planned_for, snoozed_until FROM care_tasks
                     WHERE status = 1 AND snoozed_until >= ?1 AND snoozed_until <= ?2 AND subject > 0",
                )
                .map_err(sq)?;
            let mut rows = st.query(params![day_number(from), day_number(to)]).map_err(sq)?;
            let mut out = CareTaskContacts::default();
            while let Some(r) = rows.next().map_err(sq)? {
                let contact: i64 = r.get(2).map_err(sq)?;
                let task = CareTaskContact {
                    kind: care_code_name(&CARE_KIND_CODES, r.get(0).map_err(sq)?)?,
                    customer_id: r.get(1).map_err(sq)?,
                    contact_id: (contact != 0).then_some(contact),
                    planned_for: day_of_number(r.get(3).map_err(sq)?)?,
                    date: day_of_number(r.get(4).map_err(sq)?)?,
                };
                out.push(task, planned);
            }
            Ok(out.finish())
        })
        .await
    }

    async fn activity_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        stages_from: DateTime<Utc>,
    ) -> Result<Vec<ActivityFact>> {
        self.read(move |c| {
            // The activities by time (a scan: they are in time order), less
            // those of deleted customers (a short list, by its own index),
            // a customer's file read only for the stage of a recent visit:
            // joining every activity to its customer reads the customers
            // at random.
            let mut st = c
                .prepare_cached(
                    "SELECT a.customer_id, a.user_id, a.kind, a.at,
                            CASE WHEN a.kind = 'visit' AND a.at >= ?3
                                 THEN (SELECT json_extract(c.doc, '$.business_stage') FROM customers c WHERE c.id = a.customer_id) END
                     FROM activities a NOT INDEXED
                     WHERE a.at >= ?1 AND a.at < ?2
                       AND a.customer_id NOT IN (SELECT id FROM customers WHERE deleted_at IS NOT NULL)
                     ORDER BY a.at, a.id",
                )
                .map_err(sq)?;
            let mut rows = st.query(params![ts(from), ts(to), ts(stages_from)]).map_err(sq)?;
            let mut out = vec![];
            while let Some(r) = rows.next().map_err(sq)? {
                let kind: String = r.get(2).map_err(sq)?;
                let Ok(kind) = keqing_domain::activity::ActivityKind::parse(&kind) else {
                    continue;
                };
                out.push(ActivityFact {
                    customer_id: r.get(0).map_err(sq)?,
                    user_id: r.get(1).map_err(sq)?,
                    kind,
                    at: parse_ts(&r.get::<_, String>(3).map_err(sq)?).map_err(sq)?,
                    customer_stage: r.get(4).map_err(sq)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn create_analysis_snapshot(&self, n: &NewAnalysisSnapshot) -> Result<AnalysisSnapshot> {
        let n = n.clone();
        self.tx(move |t| {
            let now = ts(Utc::now());
            t.execute(
                "INSERT INTO analysis_snapshots (kind, name, params, as_of, summary, members, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    n.kind,
                    n.name,
                    n.params.to_string(),
                    n.as_of.map(|d| d.format("%Y-%m-%d").to_string()),
                    n.summary.to_string(),
                    n.members.len() as i64,
                    now,
                    n.created_by
                ],
            )
            .map_err(sq)?;
            let id = t.last_insert_rowid();
            let mut st = t
                .prepare_cached(
                    "INSERT INTO analysis_snapshot_members (snapshot_id, customer_id, class, data) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sq)?;
            for m in &n.members {
                st.execute(params![id, m.customer_id, m.class, m.data.to_string()])
                    .map_err(sq)?;
            }
            get_snapshot(t, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn analysis_snapshots(&self, created_by: Option<i64>) -> Result<Vec<AnalysisSnapshot>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {SNAPSHOT_COLS} FROM analysis_snapshots
                     WHERE ?1 IS NULL OR created_by = ?1 ORDER BY id DESC"
                ))
                .map_err(sq)?;
            let rows = st
                .query_map([created_by], snapshot_row)
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(rows)
        })
        .await
    }

    async fn analysis_snapshot(&self, id: i64) -> Result<Option<AnalysisSnapshot>> {
        self.read(move |c| get_snapshot(c, id)).await
    }

    async fn analysis_snapshot_members(
        &self,
        id: i64,
        f: &SnapshotMemberFilter,
    ) -> Result<Page<SnapshotMemberRow>> {
        let f = f.clone();
        self.read(move |c| {
            // The caller's scope over live customers, as a customer list has it.
            let CustomerWhere {
                clause: w,
                params: mut p,
                ..
            } = customer_where(&CustomerFilter {
                visibility: f.visibility.clone(),
                ..Default::default()
            });
            let scope = w.strip_prefix("WHERE ").unwrap_or("1 = 1");
            p.push(id.into());
            let sid = p.len();
            p.push(
                f.class
                    .clone()
                    .map(SqlValue::from)
                    .unwrap_or(SqlValue::Null),
            );
            let class = p.len();
            let from = format!(
                "FROM analysis_snapshot_members m JOIN customers c ON c.id = m.customer_id
                 WHERE m.snapshot_id = ?{sid} AND (?{class} IS NULL OR m.class = ?{class})
                   AND m.customer_id IN (SELECT id FROM customers WHERE {scope})"
            );
            let total: i64 = c
                .query_row(
                    &format!("SELECT count(*) {from}"),
                    params_from_iter(p.iter()),
                    |r| r.get(0),
                )
                .map_err(sq)?;
            let limit = if f.limit > 0 { f.limit } else { -1 };
            let mut st = c
                .prepare(&format!(
                    "SELECT m.customer_id, c.name, c.owner_id, m.class, m.data {from}
                     ORDER BY m.id LIMIT {limit} OFFSET {}",
                    f.offset.max(0)
                ))
                .map_err(sq)?;
            let items = st
                .query_map(params_from_iter(p.iter()), |r| {
                    let data: String = r.get(4)?;
                    Ok(SnapshotMemberRow {
                        customer_id: r.get(0)?,
                        name: r.get(1)?,
                        owner_id: r.get(2)?,
                        class: r.get(3)?,
                        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                    })
                })
                .map_err(sq)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sq)?;
            Ok(Page {
                capped: false,
                items,
                total,
                offset: f.offset.max(0),
                limit: f.limit,
            })
        })
        .await
    }

    async fn delete_analysis_snapshot(&self, id: i64) -> Result<()> {
        self.tx(move |t| {
            t.execute(
                "DELETE FROM analysis_snapshot_members WHERE snapshot_id = ?1",
                [id],
            )
            .map_err(sq)?;
            if t.execute("DELETE FROM analysis_snapshots WHERE id = ?1", [id])
                .map_err(sq)?
                == 0
            {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}

const SNAPSHOT_COLS: &str =
    "id, kind, name, params, as_of, summary, created_at, created_by, members";

fn snapshot_row(r: &Row) -> rusqlite::Result<AnalysisSnapshot> {
    let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
        let s: String = r.get(i)?;
        Ok(serde_json::from_str(&s).unwrap_or(serde_json::Value::Null))
    };
    let as_of: Option<String> = r.get(4)?;
    Ok(AnalysisSnapshot {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        params: json(3)?,
        as_of: as_of.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        summary: json(5)?,
        created_at: parse_ts(&r.get::<_, String>(6)?)?,
        created_by: r.get(7)?,
        members: r.get(8)?,
    })
}

fn get_snapshot(c: &Connection, id: i64) -> Result<Option<AnalysisSnapshot>> {
    c.query_row(
        &format!("SELECT {SNAPSHOT_COLS} FROM analysis_snapshots WHERE id = ?1"),
        [id],
        snapshot_row,
    )
    .optional()
    .map_err(sq)
}

/// Logs an activity; a follow-up also stamps the customer's last follow-up.
fn insert_activity(
    t: &Connection,
    customer_id: i64,
    a: &mut NewActivity,
    actor: i64,
) -> Result<Activity> {
    must_customer(t, customer_id)?;
    let at = *a.at.get_or_insert_with(Utc::now);
    let doc = serde_json::to_value(&*a).map_err(db_err)?;
    t.execute(
        "INSERT INTO activities (customer_id, contact_id, user_id, kind, at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![customer_id, a.contact_id, actor, a.kind.as_str(), ts(at), doc.to_string()],
    )
    .map_err(sq)?;
    let id = t.last_insert_rowid();
    if a.kind.is_follow_up() {
        t.execute(
            "UPDATE customers SET last_follow_up_at = ?2 WHERE id = ?1 AND (last_follow_up_at IS NULL OR last_follow_up_at < ?2)",
            params![customer_id, ts(at)],
        )
        .map_err(sq)?;
    }
    Ok(Activity {
        id,
        customer_id,
        user_id: Some(actor),
        fields: a.clone(),
        at,
    })
}

fn change_report(c: &Connection, id: i64) -> Result<ChangeReport> {
    c.query_row(
        "SELECT id, customer_id, note, reported_on, due_on, registered_on, reported_by FROM change_reports WHERE id = ?1",
        [id],
        |r| {
            Ok(ChangeReport {
                id: r.get(0)?,
                customer_id: r.get(1)?,
                note: r.get(2)?,
                reported_on: parse_date(&r.get::<_, String>(3)?)?,
                due_on: parse_date(&r.get::<_, String>(4)?)?,
                registered_on: r.get::<_, Option<String>>(5)?.map(|s| parse_date(&s)).transpose()?,
                reported_by: r.get(6)?,
            })
        },
    )
    .map_err(sq)
}

/// Every row of every table in a backup's shape, tables in [`TABLES`]
/// order, rows in key order, to `row`.
fn export_rows(
    c: &Connection,
    row: &mut dyn FnMut(&'static str, serde_json::Map<String, serde_json::Value>) -> Result<()>,
) -> Result<()> {
    for &table in TABLES {
        if table == "care_tasks" {
            // Stored in integers, backed up as version 6 wrote them.
            let mut st = c.prepare(CARE_TASK_STORED).map_err(sq)?;
            let mut rows = st.query([]).map_err(sq)?;
            while let Some(r) = rows.next().map_err(sq)? {
                row(table, care_task_to_backup(r)?)?;
            }
            continue;
        }
        let mut st = c
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .map_err(sq)?;
        let cols: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = st.query([]).map_err(sq)?;
        while let Some(r) = rows.next().map_err(sq)? {
            let mut m = serde_json::Map::new();
            for (i, col) in cols.iter().enumerate() {
                if DERIVED_COLUMNS.contains(&(table, col.as_str())) {
                    continue;
                }
                let v: SqlValue = r.get(i).map_err(sq)?;
                m.insert(col.clone(), sql_to_json(col, v));
            }
            row(table, m)?;
        }
    }
    Ok(())
}

/// Backups carry SQLite's own values: integers, text, reals, nulls.
fn sql_to_json(col: &str, v: SqlValue) -> serde_json::Value {
    match v {
        // JSON columns travel as JSON, so a backup restores into either backend.
        SqlValue::Text(s) if JSON_COLUMNS.contains(&col) => {
            serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
        }
        SqlValue::Null => serde_json::Value::Null,
        SqlValue::Integer(i) => i.into(),
        SqlValue::Real(f) => f.into(),
        SqlValue::Text(s) => s.into(),
        SqlValue::Blob(b) => b
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
            .into(),
    }
}

fn json_to_sql(col: &str, v: &serde_json::Value) -> SqlValue {
    if JSON_COLUMNS.contains(&col) {
        return SqlValue::Text(v.to_string());
    }
    match v {
        serde_json::Value::Null => SqlValue::Null,
        serde_json::Value::Bool(b) => SqlValue::Integer(*b as i64),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(SqlValue::Integer)
            .unwrap_or_else(|| SqlValue::Real(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

impl SqliteStore {
    /// Checkpoints the write-ahead log beside the writer, on a reader
    /// connection: a passive checkpoint never blocks the writer, so a bulk
    /// of care tasks goes on being stored while its pages reach the
    /// database file. One at a time; more calls meanwhile do nothing.
    fn checkpoint_soon(&self) {
        use std::sync::atomic::{AtomicBool, Ordering};
        static RUNNING: AtomicBool = AtomicBool::new(false);
        if self.memory || RUNNING.swap(true, Ordering::AcqRel) {
            return;
        }
        let (readers, slots) = (self.readers.clone(), self.reader_slots.clone());
        tokio::spawn(async move {
            if let Ok(_slot) = slots.acquire_owned().await {
                let _ = tokio::task::spawn_blocking(move || {
                    let conn = readers.lock().ok()?.pop()?;
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    readers.lock().ok()?.push(conn);
                    Some(())
                })
                .await;
            }
            RUNNING.store(false, Ordering::Release);
        });
    }
}

// --- care tasks as stored (schema version 7, sqlite_schema_v7.sql) ---

/// The stored codes of the kinds (index = code), and of the statuses.
const CARE_KIND_CODES: [&str; 5] = ["greeting", "cadence", "quota", "deadline", "order_day"];
const CARE_STATUS_CODES: [&str; 4] = ["open", "snoozed", "done", "skipped"];

fn care_kind_code(kind: &str) -> Option<i64> {
    CARE_KIND_CODES
        .iter()
        .position(|k| *k == kind)
        .map(|i| i as i64)
}

fn care_status_code(status: &str) -> Option<i64> {
    CARE_STATUS_CODES
        .iter()
        .position(|k| *k == status)
        .map(|i| i as i64)
}

fn care_code_name(names: &[&'static str], code: i64) -> Result<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| names.get(i).copied())
        .ok_or_else(|| StoreError::Db(format!("unknown care task code {code}")))
}

/// Days from 0001-01-01 to 1970-01-01 (chrono counts from the former).
const UNIX_DAY_CE: i32 = 719_163;

/// A day as stored: days since 1970-01-01.
fn day_number(d: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(d.num_days_from_ce() - UNIX_DAY_CE)
}

fn day_of_number(n: i64) -> Result<NaiveDate> {
    i32::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(UNIX_DAY_CE))
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| StoreError::Db(format!("day number {n} out of range")))
}

fn time_of_micros(us: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Db(format!("time {us} µs out of range")))
}

/// A task's subject as its key stores it: the customer, or minus the
/// salesperson of a task without one.
fn care_subject(customer_id: Option<i64>, salesperson_id: Option<i64>) -> i64 {
    customer_id.unwrap_or(-salesperson_id.unwrap_or(0))
}

/// Stores a batch of care tasks in the transaction `t`; returns how many
/// were new.
fn insert_care_batch(t: &Transaction, batch: &CareTaskBatch) -> Result<u64> {
    if let Some(k) = batch
        .tasks
        .iter()
        .find(|k| care_kind_code(k.kind).is_none())
    {
        return Err(StoreError::Db(format!(
            "unknown care task kind {:?}",
            k.kind
        )));
    }
    // The statements of care_insert_sql stay prepared.
    t.set_prepared_statement_cache_capacity(64);
    let texts = care_text_ids(t, &batch.texts)?;
    let text = |i: u32| {
        texts
            .get(i as usize)
            .copied()
            .ok_or_else(|| StoreError::Db(format!("care task text {i} is not in the batch")))
    };
    let now = Utc::now().timestamp_micros();
    let mut n = 0u64;
    // Runs of tasks that differ only in customer and contact (a
    // festival's greetings), many rows per statement, the shared
    // values bound once per statement.
    let shared = |k: &NewCareTask| {
        (
            k.kind,
            k.planned_for,
            k.date,
            k.salesperson_id,
            k.occasions,
            k.template,
            k.message,
            k.channel,
        )
    };
    // One statement per number of rows, prepared once for the batch.
    let mut statements: Vec<Option<rusqlite::CachedStatement>> =
        (0..=CARE_INSERT_ROWS.ilog2()).map(|_| None).collect();
    let mut rest = batch.tasks.as_slice();
    while let Some(first) = rest.first() {
        let key = shared(first);
        let len = rest
            .iter()
            .position(|k| shared(k) != key)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        rest = tail;
        let kind = care_kind_code(first.kind).unwrap_or_default();
        let (planned_for, date) = (day_number(first.planned_for), day_number(first.date));
        let mut run = run;
        while !run.is_empty() {
            let rows = care_insert_rows(run.len());
            let (part, after) = run.split_at(rows);
            run = after;
            let st = match &mut statements[rows.ilog2() as usize] {
                Some(st) => st,
                slot => slot.insert(t.prepare_cached(care_insert_sql(rows)).map_err(sq)?),
            };
            st.raw_bind_parameter(1, now).map_err(sq)?;
            st.raw_bind_parameter(2, kind).map_err(sq)?;
            st.raw_bind_parameter(3, planned_for).map_err(sq)?;
            st.raw_bind_parameter(4, date).map_err(sq)?;
            st.raw_bind_parameter(5, first.salesperson_id).map_err(sq)?;
            st.raw_bind_parameter(6, text(first.occasions)?)
                .map_err(sq)?;
            st.raw_bind_parameter(7, first.template.map(text).transpose()?)
                .map_err(sq)?;
            st.raw_bind_parameter(8, first.message.map(text).transpose()?)
                .map_err(sq)?;
            st.raw_bind_parameter(9, first.channel).map_err(sq)?;
            for (i, k) in part.iter().enumerate() {
                st.raw_bind_parameter(10 + 2 * i, care_subject(k.customer_id, k.salesperson_id))
                    .map_err(sq)?;
                st.raw_bind_parameter(11 + 2 * i, k.contact_id.unwrap_or(0))
                    .map_err(sq)?;
            }
            n += st.raw_execute().map_err(sq)? as u64;
        }
    }
    Ok(n)
}

/// The most rows one statement stores.
const CARE_INSERT_ROWS: usize = 256;

/// How many of `left` rows the next statement stores: all it can, then
/// powers of two, so a handful of statements (kept prepared) do any run.
fn care_insert_rows(left: usize) -> usize {
    if left >= CARE_INSERT_ROWS {
        CARE_INSERT_ROWS
    } else {
        1 << left.ilog2()
    }
}

/// `INSERT OR IGNORE … VALUES (…), (…)` for `rows` tasks (a power of two
/// up to [`CARE_INSERT_ROWS`]) that share ?1 the time, ?2 the kind, ?3 the
/// planned day, ?4 the due day, ?5 the salesperson, ?6..?8 the texts, ?9
/// the channel; each row its subject and contact. OR IGNORE rather than ON
/// CONFLICT DO NOTHING: a statement that cannot fail half-way needs no
/// journal to undo itself (15% of the time); the rows are checked before
/// (kind), so a conflicting key is the only row it skips.
fn care_insert_sql(rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        (0..=CARE_INSERT_ROWS.ilog2())
            .map(|p| {
                let values: Vec<String> = (0..1usize << p)
                    .map(|i| format!("(?2, ?{}, ?3, ?{}, ?4, ?5, ?6, ?7, ?8, ?9, ?1)", 10 + 2 * i, 11 + 2 * i))
                    .collect();
                format!(
                    "INSERT OR IGNORE INTO care_tasks (kind, subject, planned_for, contact, date, owner_id, occasions_id, template_id, message_id, channel, created_at) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    &all[rows.ilog2() as usize]
}

/// The ids of `texts` in care_texts, storing the new ones.
fn care_text_ids(t: &Connection, texts: &[String]) -> Result<Vec<i64>> {
    let mut put = t
        .prepare_cached("INSERT INTO care_texts (body) VALUES (?1) ON CONFLICT (body) DO NOTHING")
        .map_err(sq)?;
    let mut get = t
        .prepare_cached("SELECT id FROM care_texts WHERE body = ?1")
        .map_err(sq)?;
    let mut ids = Vec::with_capacity(texts.len());
    for body in texts {
        put.execute([body]).map_err(sq)?;
        ids.push(get.query_row([body], |r| r.get(0)).map_err(sq)?);
    }
    Ok(ids)
}

/// Whose a task is (see [`CareTaskRow::owner_id`]), with customers as `c`:
/// an open or snoozed (status < 2) customer task is its customer's owner's.
const CARE_TASK_OWNER: &str =
    "CASE WHEN t.subject > 0 AND t.status < 2 THEN c.owner_id ELSE t.owner_id END";

fn care_task_cols(owner: &str) -> String {
    format!(
        "t.id AS id, t.kind, t.planned_for, t.date AS date, t.subject, t.contact, {owner} AS owner_id, t.channel, t.status, t.reason, t.snoozed_until, t.activity_id, t.created_at, coalesce(t.updated_at, t.created_at), t.occasions_id, t.template_id, t.message_id"
    )
}

/// The query (and parameters) of the tasks a filter selects, columns as
/// [`care_task_cols`]; `None` when it selects nothing. With owners, three
/// parts: the open tasks of the customers the owners have now — those due
/// on the day they were planned for through the key (customer, planned
/// day), the others (deferred, late) through their own small index — and
/// the tasks that keep their owner (closed ones, quota tasks).
fn care_task_query(f: &CareTaskFilter) -> Option<(String, Vec<SqlValue>)> {
    let mut p: Vec<SqlValue> = vec![];
    let mut w = vec![
        "(t.contact = 0 OR EXISTS (SELECT 1 FROM contacts p WHERE p.id = t.contact AND p.deleted_at IS NULL))".to_string(),
    ];
    // The same bounds on the planned day, for tasks due on it.
    let mut planned = vec![];
    if let Some(d) = f.from {
        p.push(SqlValue::Integer(day_number(d)));
        w.push(format!("t.date >= ?{}", p.len()));
        planned.push(format!("t.planned_for >= ?{}", p.len()));
    }
    if let Some(d) = f.to {
        p.push(SqlValue::Integer(day_number(d)));
        w.push(format!("t.date <= ?{}", p.len()));
        planned.push(format!("t.planned_for <= ?{}", p.len()));
    }
    // A status or kind that is not stored matches nothing.
    if let Some(s) = &f.status {
        p.push(SqlValue::Integer(care_status_code(s)?));
        w.push(format!("t.status = ?{}", p.len()));
    }
    if let Some(k) = &f.kind {
        p.push(SqlValue::Integer(care_kind_code(k)?));
        w.push(format!("t.kind = ?{}", p.len()));
    }
    let wh = w.join(" AND ");
    planned.push("t.date = t.planned_for".into());
    let planned = planned.join(" AND ");
    let sql = match &f.owners {
        None => format!(
            "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.subject
             WHERE (t.subject <= 0 OR c.deleted_at IS NULL) AND {wh}",
            care_task_cols(CARE_TASK_OWNER)
        ),
        Some(owners) if owners.is_empty() => return None,
        Some(owners) => {
            let list = owners
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let mine = format!(
                "SELECT {} FROM customers c CROSS JOIN care_tasks t
                 WHERE c.owner_id IN ({list}) AND c.deleted_at IS NULL AND t.status < 2",
                care_task_cols("c.owner_id")
            );
            format!(
                "{mine} AND t.subject = c.id AND {planned} AND {wh}
                 UNION ALL
                 {mine} AND t.subject = c.id AND t.date <> t.planned_for AND {wh}
                 UNION ALL
                 SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.subject
                 WHERE (t.subject <= 0 OR t.status >= 2) AND t.owner_id IN ({list})
                   AND (t.subject <= 0 OR c.deleted_at IS NULL) AND {wh}",
                care_task_cols("t.owner_id")
            )
        }
    };
    Some((sql, p))
}

fn care_task_rows(c: &Connection, sql: &str, p: &[SqlValue]) -> Result<Vec<CareTaskBase>> {
    let mut st = c.prepare_cached(sql).map_err(sq)?;
    let mut rows = st.query(params_from_iter(p.iter())).map_err(sq)?;
    let mut out = vec![];
    while let Some(r) = rows.next().map_err(sq)? {
        let kind = care_code_name(&CARE_KIND_CODES, r.get(1).map_err(sq)?)?;
        let planned_for = day_of_number(r.get(2).map_err(sq)?)?;
        let (subject, contact, owner_id): (i64, i64, Option<i64>) = (
            r.get(4).map_err(sq)?,
            r.get(5).map_err(sq)?,
            r.get(6).map_err(sq)?,
        );
        let customer_id = (subject > 0).then_some(subject);
        let contact_id = (contact != 0).then_some(contact);
        out.push(CareTaskBase {
            row: CareTaskRow {
                id: r.get(0).map_err(sq)?,
                key: care_task_key(kind, customer_id, contact_id, owner_id, planned_for),
                kind: kind.to_string(),
                planned_for,
                date: day_of_number(r.get(3).map_err(sq)?)?,
                customer_id,
                contact_id,
                owner_id,
                occasions: serde_json::Value::Null,
                channel: r.get(7).map_err(sq)?,
                message: None,
                template: None,
                status: care_code_name(&CARE_STATUS_CODES, r.get(8).map_err(sq)?)?.to_string(),
                reason: r.get(9).map_err(sq)?,
                snoozed_until: r
                    .get::<_, Option<i64>>(10)
                    .map_err(sq)?
                    .map(day_of_number)
                    .transpose()?,
                activity_id: r.get(11).map_err(sq)?,
                created_at: time_of_micros(r.get(12).map_err(sq)?)?,
                updated_at: time_of_micros(r.get(13).map_err(sq)?)?,
                facts: None,
            },
            occasions_id: r.get(14).map_err(sq)?,
            template_id: r.get(15).map_err(sq)?,
            message_id: r.get(16).map_err(sq)?,
        });
    }
    Ok(out)
}

/// The columns of a care task in a backup, in order: version 6's shape,
/// which both backends write and read.
const CARE_TASK_BACKUP_COLS: [&str; 17] = [
    "id",
    "kind",
    "planned_for",
    "date",
    "customer_id",
    "contact_id",
    "owner_id",
    "occasions_id",
    "template_id",
    "message_id",
    "channel",
    "status",
    "reason",
    "snoozed_until",
    "activity_id",
    "created_at",
    "updated_at",
];

/// The stored columns read for [`care_task_to_backup`].
const CARE_TASK_STORED: &str = "SELECT id, kind, planned_for, date, subject, contact, owner_id, occasions_id, template_id, message_id, channel, status, reason, snoozed_until, activity_id, created_at, updated_at FROM care_tasks ORDER BY id";

/// A stored care task (as [`CARE_TASK_STORED`] reads it) in a backup's shape.
fn care_task_to_backup(r: &Row) -> Result<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let int = |i: usize| -> Result<Option<i64>> { r.get(i).map_err(sq) };
    let text = |i: usize| -> Result<Value> {
        Ok(r.get::<_, Option<String>>(i)
            .map_err(sq)?
            .map_or(Value::Null, Value::from))
    };
    let day = |i: usize| -> Result<Value> {
        Ok(match int(i)? {
            Some(n) => Value::from(day_of_number(n)?.format("%Y-%m-%d").to_string()),
            None => Value::Null,
        })
    };
    let time = |i: usize| -> Result<Value> {
        Ok(match int(i)? {
            Some(us) => Value::from(ts(time_of_micros(us)?)),
            None => Value::Null,
        })
    };
    let subject = int(4)?.unwrap_or_default();
    let contact = int(5)?.unwrap_or_default();
    let values = [
        Value::from(int(0)?),
        Value::from(care_code_name(&CARE_KIND_CODES, int(1)?.unwrap_or(-1))?),
        day(2)?,
        day(3)?,
        Value::from((subject > 0).then_some(subject)),
        Value::from((contact != 0).then_some(contact)),
        Value::from(int(6)?),
        Value::from(int(7)?),
        Value::from(int(8)?),
        Value::from(int(9)?),
        text(10)?,
        Value::from(care_code_name(&CARE_STATUS_CODES, int(11)?.unwrap_or(-1))?),
        text(12)?,
        day(13)?,
        Value::from(int(14)?),
        time(15)?,
        time(16)?,
    ];
    Ok(CARE_TASK_BACKUP_COLS
        .iter()
        .map(|c| c.to_string())
        .zip(values)
        .collect())
}

/// A care task of a backup (version 6's shape) as the columns to store.
fn care_task_from_backup(
    row: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(&'static str, SqlValue)>> {
    use serde_json::Value;
    let bad = |col: &str| {
        StoreError::Db(format!(
            "backup care_tasks.{col}: unexpected value {}",
            row.get(col).unwrap_or(&Value::Null)
        ))
    };
    let int = |col: &str| -> Result<Option<i64>> {
        match row.get(col) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| bad(col)),
        }
    };
    let text = |col: &str| -> Result<Option<&str>> {
        match row.get(col) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or_else(|| bad(col)),
        }
    };
    let day = |col: &str| -> Result<SqlValue> {
        Ok(match text(col)? {
            Some(s) => SqlValue::Integer(day_number(parse_date(s).map_err(|_| bad(col))?)),
            None => SqlValue::Null,
        })
    };
    let time = |col: &str| -> Result<SqlValue> {
        Ok(match text(col)? {
            Some(s) => SqlValue::Integer(parse_ts(s).map_err(|_| bad(col))?.timestamp_micros()),
            None => SqlValue::Null,
        })
    };
    let opt = |v: Option<i64>| v.map_or(SqlValue::Null, SqlValue::Integer);
    let owner = int("owner_id")?;
    let customer = int("customer_id")?;
    Ok(vec![
        ("id", opt(int("id")?)),
        ("subject", SqlValue::Integer(care_subject(customer, owner))),
        ("planned_for", day("planned_for")?),
        (
            "contact",
            SqlValue::Integer(int("contact_id")?.unwrap_or(0)),
        ),
        (
            "kind",
            SqlValue::Integer(
                text("kind")?
                    .and_then(care_kind_code)
                    .ok_or_else(|| bad("kind"))?,
            ),
        ),
        ("date", day("date")?),
        ("owner_id", opt(owner)),
        ("occasions_id", opt(int("occasions_id")?)),
        ("template_id", opt(int("template_id")?)),
        ("message_id", opt(int("message_id")?)),
        (
            "channel",
            text("channel")?.map_or(SqlValue::Null, |s| SqlValue::Text(s.into())),
        ),
        (
            "status",
            SqlValue::Integer(
                text("status")?
                    .map_or(Some(0), care_status_code)
                    .ok_or_else(|| bad("status"))?,
            ),
        ),
        (
            "reason",
            text("reason")?.map_or(SqlValue::Null, |s| SqlValue::Text(s.into())),
        ),
        ("snoozed_until", day("snoozed_until")?),
        ("activity_id", opt(int("activity_id")?)),
        ("created_at", time("created_at")?),
        ("updated_at", time("updated_at")?),
    ])
}

/// Reads the texts of `rows` and the facts their channel and message are
/// made from: the customer, the contact and the owner as they are now.
fn care_task_details(c: &Connection, rows: &mut [CareTaskBase]) -> Result<()> {
    fn by_ids<T>(
        c: &Connection,
        sql: &str,
        ids: &mut Vec<i64>,
        mut f: impl FnMut(&Row) -> rusqlite::Result<(i64, T)>,
    ) -> Result<HashMap<i64, T>> {
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let mut st = c.prepare(&sql.replace("{ids}", &list)).map_err(sq)?;
            let mut rows = st.query([]).map_err(sq)?;
            while let Some(r) = rows.next().map_err(sq)? {
                let (id, v) = f(r).map_err(sq)?;
                out.insert(id, v);
            }
        }
        Ok(out)
    }
    let mut ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [Some(r.occasions_id), r.template_id, r.message_id])
        .flatten()
        .collect();
    let texts = by_ids(
        c,
        "SELECT id, body FROM care_texts WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.row.customer_id).collect();
    let customers = by_ids(
        c,
        "SELECT id, name, json_extract(doc, '$.business_stage'), json_extract(doc, '$.card.gifts_forbidden') FROM customers WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, (r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, Option<bool>>(3)?.unwrap_or(false)))),
    )?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.row.contact_id).collect();
    let contacts = by_ids(
        c,
        "SELECT id, name, json_extract(doc, '$.title'), json_extract(doc, '$.level') FROM contacts WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, (r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, Option<String>>(3)?))),
    )?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.row.owner_id).collect();
    let owners = by_ids(
        c,
        "SELECT id, display_name FROM users WHERE id IN ({ids})",
        &mut ids,
        |r| Ok((r.get(0)?, r.get::<_, String>(1)?)),
    )?;
    fill_care_task_details(rows, &texts, &customers, &contacts, &owners)
}

/// One task (whatever the state of its customer and contact), with details.
fn get_care_task(c: &Connection, id: i64) -> Result<Option<CareTaskRow>> {
    let sql = format!(
        "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.subject WHERE t.id = ?1",
        care_task_cols(CARE_TASK_OWNER)
    );
    let mut rows = care_task_rows(c, &sql, &[SqlValue::Integer(id)])?;
    care_task_details(c, &mut rows)?;
    Ok(rows.pop().map(|b| b.row))
}

fn care_template_row(r: &Row) -> rusqlite::Result<CareTemplate> {
    Ok(CareTemplate {
        id: r.get(0)?,
        name: r.get(1)?,
        body: r.get(2)?,
        occasion: r.get(3)?,
        active: r.get(4)?,
    })
}

/// Columns derived from others: left out of a backup (another backend has
/// no such column) and computed again on restore.
const DERIVED_COLUMNS: &[(&str, &str)] = &[("contacts", "birthday_key")];

/// Fills the derived columns of restored rows.
fn derive_columns(t: &Connection) -> Result<()> {
    let mut st = t
        .prepare("SELECT id, doc FROM contacts WHERE json_extract(doc, '$.birthday') IS NOT NULL")
        .map_err(sq)?;
    let rows: Vec<(i64, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sq)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sq)?;
    let mut set = t
        .prepare("UPDATE contacts SET birthday_key = ?2 WHERE id = ?1")
        .map_err(sq)?;
    for (id, doc) in rows {
        let input = contact_input(&json_col(&doc).map_err(sq)?)?;
        set.execute(params![
            id,
            input.birthday.as_ref().map(crate::birthday_key)
        ])
        .map_err(sq)?;
    }
    Ok(())
}

const CARE_CUSTOMER_COLS: &str = "id, name, owner_id, team_id, class, tier, doc";

/// The parts of a customer's document care planning reads, parsed here:
/// quicker than asking SQLite for each (it parses the document per field).
#[derive(serde::Deserialize)]
struct CareCustomerDoc {
    #[serde(default)]
    business_stage: Option<String>,
    #[serde(default)]
    key_customer: Option<bool>,
    #[serde(default)]
    card: Option<CareCardDoc>,
    #[serde(default)]
    key_dates: Option<Vec<keqing_domain::customer::KeyDate>>,
    #[serde(default)]
    custom: Option<CareCustomDoc>,
}

#[derive(serde::Deserialize)]
struct CareCardDoc {
    #[serde(default)]
    gifts_forbidden: Option<bool>,
}

#[derive(serde::Deserialize)]
struct CareCustomDoc {
    #[serde(default)]
    order_weekdays: Option<serde_json::Value>,
}

fn care_customer_rows(
    c: &Connection,
    sql: &str,
    p: &[SqlValue],
    out: &mut Vec<CareCustomerFacts>,
) -> Result<()> {
    let mut st = c.prepare(sql).map_err(sq)?;
    let mut rows = st.query(params_from_iter(p.iter())).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let doc: CareCustomerDoc = serde_json::from_str(
            r.get_ref(6)
                .map_err(sq)?
                .as_str()
                .map_err(|e| sq(e.into()))?,
        )
        .map_err(db_err)?;
        out.push(CareCustomerFacts {
            id: r.get(0).map_err(sq)?,
            name: r.get(1).map_err(sq)?,
            owner_id: r.get(2).map_err(sq)?,
            team_id: r.get(3).map_err(sq)?,
            class: r.get(4).map_err(sq)?,
            tier: r.get(5).map_err(sq)?,
            business_stage: doc.business_stage,
            key_customer: doc.key_customer.unwrap_or(false),
            gifts_forbidden: doc.card.and_then(|c| c.gifts_forbidden).unwrap_or(false),
            key_dates: doc.key_dates.unwrap_or_default(),
            order_weekdays: doc
                .custom
                .and_then(|c| c.order_weekdays)
                .filter(|v| !v.is_null()),
        });
    }
    Ok(())
}

fn care_contact_rows(
    c: &Connection,
    sql: &str,
    p: &[SqlValue],
    out: &mut Vec<CareContactFacts>,
) -> Result<()> {
    let mut st = c.prepare(sql).map_err(sq)?;
    let mut rows = st.query(params_from_iter(p.iter())).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let level: Option<String> = r.get(4).map_err(sq)?;
        let birthday: Option<String> = r.get(5).map_err(sq)?;
        out.push(CareContactFacts {
            id: r.get(0).map_err(sq)?,
            customer_id: r.get(1).map_err(sq)?,
            name: r.get(2).map_err(sq)?,
            title: r.get(3).map_err(sq)?,
            level: level
                .as_deref()
                .and_then(|l| keqing_domain::contact::ContactLevel::parse(l).ok()),
            birthday: birthday
                .as_deref()
                .and_then(|b| keqing_domain::contact::Birthday::parse(b).ok()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(v: serde_json::Value) -> ContactDoc {
        contact_doc(2, &ContactInput::from_json(v.as_object().unwrap()).unwrap())
    }

    fn has_index(t: &Transaction, name: &str) -> bool {
        t.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    }

    /// A held index stands while the contacts stored have no birthday; the
    /// first with one drops it (once), its statement kept for the end.
    #[test]
    fn a_held_index_is_dropped_at_the_first_row_it_takes() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = open_conn(dir.path().join("held.db").to_str().unwrap()).unwrap();
        migrate(&mut c).unwrap();
        let t = c.transaction().unwrap();
        let mut later = Later {
            held: vec!["contacts_birthday_key"],
            ..Default::default()
        };
        later
            .contact(
                &t,
                &contact(serde_json::json!({"name": "乙", "mobile": "13900001111"})),
            )
            .unwrap();
        assert!(has_index(&t, "contacts_birthday_key"));
        assert!(later.dropped.is_empty());
        let born = contact(serde_json::json!({"name": "丙", "birthday": "农历1975-08-15"}));
        later.contact(&t, &born).unwrap();
        assert!(!has_index(&t, "contacts_birthday_key"));
        assert_eq!(later.dropped.len(), 1);
        assert_eq!(later.dropped[0].0, "contacts_birthday_key");
        assert!(later.dropped[0]
            .1
            .starts_with("CREATE INDEX contacts_birthday_key"));
        later.contact(&t, &born).unwrap();
        assert_eq!(later.dropped.len(), 1, "dropped once");
        // Built again from its statement, it is the index it was.
        t.execute_batch(&later.dropped[0].1).unwrap();
        assert!(has_index(&t, "contacts_birthday_key"));
        // An import that holds nothing drops nothing.
        let mut none = Later::default();
        none.contact(&t, &born).unwrap();
        assert!(none.dropped.is_empty() && has_index(&t, "contacts_birthday_key"));
    }
}
