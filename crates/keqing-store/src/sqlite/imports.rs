//! Imports of customers and contacts, and the lookups an import of contacts or orders makes.

use super::*;

#[async_trait]
impl ImportStore for SqliteStore {
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
                audit_import(t, actor.id, "customer", rows, n, now)?;
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
                audit_import(t, actor.id, "contact", rows, n, now)?;
                Ok((n, existing))
            },
        )
        .await
    }
}

/// Audits a batch of an import of `entity`: `n` of its `rows` stored.
fn audit_import(
    t: &Connection,
    actor: i64,
    entity: &str,
    rows: usize,
    n: u64,
    now: &str,
) -> Result<()> {
    let detail = crate::imports::import_detail(rows, n);
    audit_row(t, Some(actor), "import", entity, None, &detail, now)
}

impl SqliteStore {
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
