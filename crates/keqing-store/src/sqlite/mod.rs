//! The embedded backend: SQLite through rusqlite.
//!
//! One writer connection behind a mutex (SQLite has one writer at a time, so
//! queuing here avoids busy errors) and a few reader connections in WAL mode.
//! Blocking calls run on tokio's blocking pool.

mod analysis;
mod backup;
mod care;
mod customers;
mod imports;
mod pay;
mod people;
mod performance;
mod records;

use crate::search_build::{self, SideIndex};
use crate::*;
use keqing_domain::access::Role;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Transaction};
use std::collections::HashMap;
use std::sync::Mutex;

const SCHEMA_VERSION: i64 = 20;
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

/// Every row a prepared statement answers for `p`, each read by `f`.
fn rows_of<T, P: rusqlite::Params>(
    st: &mut rusqlite::Statement<'_>,
    p: P,
    f: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    st.query_map(p, f)
        .map_err(sq)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sq)
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
        // The permit goes with the work, not with this future: a request
        // cancelled while its query runs drops the future, but its reader is
        // busy until the query ends, and the slot must stay taken until then.
        let slot = self
            .reader_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(db_err)?;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let lent = Lent::take(&readers, slot)?;
            f(lent.conn())
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

/// A reader connection taken from the pool with its slot's permit; both go
/// back when it is dropped, however the work using it ended (a panic too).
struct Lent<'a> {
    readers: &'a Mutex<Vec<Connection>>,
    conn: Option<Connection>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl<'a> Lent<'a> {
    /// A free reader: with the permit held there is always one, since every
    /// reader in use holds a permit of its own until it is back.
    fn take(
        readers: &'a Mutex<Vec<Connection>>,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<Lent<'a>> {
        let conn = readers.lock().map_err(db_err)?.pop();
        match conn {
            Some(conn) => Ok(Lent {
                readers,
                conn: Some(conn),
                _slot: slot,
            }),
            None => Err(StoreError::Db(
                "a reader slot was free but no reader was back".into(),
            )),
        }
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("held until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // The connection goes back before the permit is released (fields
            // drop after this body), so a waiter always finds it.
            let mut readers = match self.readers.lock() {
                Ok(r) => r,
                Err(poisoned) => poisoned.into_inner(),
            };
            readers.push(conn);
        }
    }
}

/// How long a connection waits for another's lock before it answers busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One schema version: its number, its script, then what SQL alone cannot
/// do (`step`), in the same transaction as the version number.
struct Migration {
    version: i64,
    sql: &'static str,
    step: Option<fn(&Transaction) -> Result<()>>,
}

/// Every schema version, numbers ascending; an open runs those the database
/// lacks, each in a transaction of its own.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("schema.sql"),
        step: None,
    },
    Migration {
        version: 2,
        sql: include_str!("schema_v2.sql"),
        step: None,
    },
    Migration {
        version: 3,
        sql: include_str!("schema_v3.sql"),
        step: None,
    },
    Migration {
        version: 4,
        sql: include_str!("schema_v4.sql"),
        step: Some(|t| rebuild_search(t)),
    },
    Migration {
        version: 5,
        sql: include_str!("schema_v5.sql"),
        step: None,
    },
    Migration {
        version: 6,
        sql: include_str!("schema_v6.sql"),
        step: None,
    },
    Migration {
        version: 7,
        sql: include_str!("schema_v7.sql"),
        step: None,
    },
    Migration {
        version: 8,
        sql: include_str!("schema_v8.sql"),
        step: None,
    },
    Migration {
        version: 9,
        sql: include_str!("schema_v9.sql"),
        step: None,
    },
    Migration {
        version: 10,
        sql: include_str!("schema_v10.sql"),
        step: None,
    },
    Migration {
        version: 11,
        sql: include_str!("schema_v11.sql"),
        step: Some(|t| rebuild_search(t)),
    },
    Migration {
        version: 12,
        sql: include_str!("schema_v12.sql"),
        step: None,
    },
    Migration {
        version: 13,
        sql: include_str!("schema_v13.sql"),
        step: Some(|t| rebuild_search(t)),
    },
    // Version 14 lets care tasks be follow-ups (kind 5).
    Migration {
        version: 14,
        sql: "SELECT 1",
        step: Some(|t| widen_care_kinds(t, 5)),
    },
    // Version 15 indexes the audit log for its filters.
    Migration {
        version: 15,
        sql: include_str!("schema_v15.sql"),
        step: None,
    },
    // Version 16 keeps why a customer changed hands, and indexes the
    // provinces and tags the list's filters offer.
    Migration {
        version: 16,
        sql: include_str!("schema_v16.sql"),
        step: None,
    },
    // Version 17 gives orders entered by hand their unit, and indexes a
    // group's members by their parent.
    Migration {
        version: 17,
        sql: include_str!("schema_v17.sql"),
        step: None,
    },
    // Version 18: orders credited to their seller, the daily performance
    // totals and their triggers, targets and their revisions.
    Migration {
        version: 18,
        sql: include_str!("schema_v18.sql"),
        step: None,
    },
    // Version 19 versions orders and pays them in instalments (payments),
    // whose paid amounts feed the receivables metric.
    Migration {
        version: 19,
        sql: include_str!("schema_v19.sql"),
        step: None,
    },
    // Version 20 stores pay: bases, rates, settings, scores, runs, lines.
    Migration {
        version: 20,
        sql: include_str!("schema_v20.sql"),
        step: None,
    },
];

/// Lets `care_tasks.kind` go up to `last`: the CHECK constraint is changed
/// in the stored schema, as SQLite documents for changes that leave every
/// stored row valid (a wider range does), instead of copying the table.
fn widen_care_kinds(t: &Transaction, last: i64) -> Result<()> {
    let table: String = t
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'care_tasks'",
            [],
            |r| r.get(0),
        )
        .map_err(sq)?;
    let Some(at) = table.find("kind >= 0 AND kind <= ") else {
        return Err(StoreError::Db(format!(
            "care_tasks has no kind range to widen: {table}"
        )));
    };
    let from = at + "kind >= 0 AND kind <= ".len();
    let to = from + table[from..].find(')').unwrap_or(0);
    let widened = format!("{}{last}{}", &table[..from], &table[to..]);
    let version: i64 = t
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .map_err(sq)?;
    t.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, false)
        .map_err(sq)?;
    t.execute_batch("PRAGMA writable_schema = ON").map_err(sq)?;
    t.execute(
        "UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = 'care_tasks'",
        [&widened],
    )
    .map_err(sq)?;
    t.execute_batch(&format!(
        "PRAGMA schema_version = {}; PRAGMA writable_schema = OFF",
        version + 1
    ))
    .map_err(sq)
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
    debug_assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
    debug_assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    for m in MIGRATIONS {
        let n = m.version;
        if v >= n {
            continue;
        }
        let t = c.transaction().map_err(sq)?;
        t.execute_batch(m.sql).map_err(sq)?;
        if let Some(step) = m.step {
            step(&t)?;
        }
        t.execute_batch(&format!("PRAGMA user_version = {n}"))
            .map_err(sq)?;
        t.commit().map_err(sq)?;
    }
    Ok(())
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

/// A customer's columns as [`customer_row`] reads them (the last, its
/// latest order, one seek on `orders_customer`).
const CUSTOMER_COLS: &str = "id, version, doc, owner_id, team_id, rfm_class, clv, last_follow_up_at, created_at, updated_at, deleted_at, merged_into, p_alive,
    (SELECT max(ordered_at) FROM orders WHERE orders.customer_id = customers.id) AS last_order_at";

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
        last_order_at: opt_ts(r.get(13)?)?,
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
    log_owner_note(t, customer, (from, to), reason, None, actor, now)
}

/// [`log_owner`] with why, in the actor's words (a transfer or a release
/// by hand).
fn log_owner_note(
    t: &Connection,
    customer: i64,
    (from, to): (Option<i64>, Option<i64>),
    reason: &str,
    note: Option<&str>,
    actor: Option<i64>,
    now: &str,
) -> Result<()> {
    // A customer created in the pool changed no hands: nothing to log (an
    // import of a million such customers wrote a million empty events).
    if from.is_none() && to.is_none() {
        return Ok(());
    }
    t.prepare_cached(
        "INSERT INTO ownership_log (customer_id, at, from_user, to_user, reason, actor_id, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(sq)?
    .execute(params![customer, now, from, to, reason, actor, note])
    .map_err(sq)?;
    Ok(())
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

/// Adds a customer list's value and answers its placeholder.
fn arg(p: &mut Vec<SqlValue>, v: SqlValue) -> String {
    p.push(v);
    format!("?{}", p.len())
}

impl crate::customers::BindCustomer for Vec<SqlValue> {
    fn int(&mut self, v: i64) -> String {
        arg(self, v.into())
    }

    fn text(&mut self, v: String) -> String {
        arg(self, v.into())
    }

    fn opt_int(&mut self, v: Option<i64>) -> String {
        arg(self, v.map(SqlValue::from).unwrap_or(SqlValue::Null))
    }

    fn opt_text(&mut self, v: Option<String>) -> String {
        arg(self, v.map(SqlValue::from).unwrap_or(SqlValue::Null))
    }

    fn real(&mut self, v: f64) -> String {
        arg(self, v.into())
    }

    fn time(&mut self, v: DateTime<Utc>) -> String {
        arg(self, ts(v).into())
    }
}

/// The customers whose phone, or a live contact's mobile, ends in `digits`.
fn phone_condition(p: &mut Vec<SqlValue>, digits: &str) -> String {
    let r = rev(digits);
    let a = arg(p, r.clone().into());
    let b = arg(p, format!("{r}:").into());
    format!(
        "((phone_rev >= {a} AND phone_rev < {b}) OR id IN (SELECT customer_id FROM contacts
           WHERE deleted_at IS NULL AND mobile_rev >= {a} AND mobile_rev < {b}))"
    )
}

fn customer_where(f: &CustomerFilter) -> CustomerWhere {
    let mut w: Vec<String> = vec![];
    let mut p: Vec<SqlValue> = vec![];
    // Cleared by each condition on a column that customers_rank lacks.
    let mut narrow = true;
    crate::customers::scope_conditions(f, &mut w, &mut p);
    crate::customers::owner_conditions(f, &mut w, &mut p);
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
    if let Some(parent) = f.parent_id {
        // The expression of the partial index customers_parent (schema_v17.sql).
        let a = arg(&mut p, parent.into());
        w.push(format!("json_extract(customers.doc, '$.parent_id') = {a}"));
        narrow = false;
    }
    narrow &= crate::customers::column_conditions(f, &mut w, &mut p);
    narrow &= !crate::customers::value_conditions(f, &mut w, &mut p);
    // A search of several words: the first drives (its index finds the
    // candidates); each other word is a condition like the others, tested
    // on customers_scope, and unless it is one letter of pinyin it narrows
    // the driving word's index query too (`customers::narrows`).
    let words = crate::customers::search_words(f);
    let (driver, others) = match words.split_first() {
        Some((d, o)) => (Some(*d), o),
        None => (None, &[][..]),
    };
    let mut narrowing: Vec<String> = vec![];
    for q in others {
        narrow = false;
        match q {
            NameQuery::Text(t) => {
                let a = arg(&mut p, format!("%{}%", like_escape(t)).into());
                w.push(format!("name LIKE {a} ESCAPE '\\'"));
                if let Some(m) = fts::text_match(t).filter(|_| crate::customers::narrows(q)) {
                    narrowing.push(m.fts5());
                }
            }
            NameQuery::Pinyin(q0) => {
                let q1 = q0.to_ascii_lowercase();
                let a = arg(&mut p, q1.clone().into());
                let b = arg(
                    &mut p,
                    keqing_domain::search::subsequence_pattern(&like_escape(&q1)).into(),
                );
                w.push(format!(
                    "(keqing_pinyin_matches(pinyin, {a}) OR initials LIKE {b} ESCAPE '\\')"
                ));
                if let Some(m) = fts::pinyin_match(&q1).filter(|_| crate::customers::narrows(q)) {
                    narrowing.push(format!("({}) OR ({})", m.full.fts5(), m.initials.fts5()));
                }
            }
            NameQuery::PhoneSuffix(d) => w.push(phone_condition(&mut p, d)),
        }
    }
    let rest = w.join(" AND ");
    let rest_params = p.len();
    // The name search comes last: its parameters follow those of `rest`.
    let mut search: Vec<SearchPart> = vec![];
    let mut part = |q: fts::FtsQuery, check: Check, scan: bool| {
        let scan = scan.then(|| check.clone());
        let check = (!q.exact).then_some(check);
        let mut fts = q.fts5();
        for n in &narrowing {
            fts = format!("({fts}) AND ({n})");
        }
        search.push(SearchPart { fts, check, scan });
    };
    let like = |before: &'static str, v: String| Check {
        before,
        after: " ESCAPE '\\'",
        value: v.into(),
    };
    match driver {
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
            w.push(phone_condition(&mut p, d));
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

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
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

// --- care tasks as stored (schema version 7, sqlite/schema_v7.sql) ---

/// The stored codes of the kinds (index = code), and of the statuses.
const CARE_KIND_CODES: [&str; 6] = CARE_KINDS;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A read whose request was cancelled while its query ran keeps its
    /// slot until the query ends: reads meanwhile wait for a reader, and
    /// none fails for want of one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_read_keeps_its_slot_until_its_reader_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let store = Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
        let (started, is_running) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let slow = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .read(move |c| {
                        started.send(()).unwrap();
                        released.recv().unwrap();
                        c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                            .map_err(sq)
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || is_running.recv().unwrap())
            .await
            .unwrap();
        // The request goes away; its query still holds a reader.
        slow.abort();
        assert!(slow.await.unwrap_err().is_cancelled());

        // As many reads as there are readers, each kept busy until the gate
        // opens: the last must wait for the cancelled one's reader.
        let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let (began, has_begun) = mpsc::channel();
        let reads: Vec<_> = (0..READERS)
            .map(|_| {
                let (store, gate, began) = (store.clone(), gate.clone(), began.clone());
                tokio::spawn(async move {
                    store
                        .read(move |c| {
                            let _ = began.send(());
                            let (open, turn) = &*gate;
                            let mut open = open.lock().unwrap();
                            while !*open {
                                open = turn.wait(open).unwrap();
                            }
                            c.query_row("SELECT 2", [], |r| r.get::<_, i64>(0))
                                .map_err(sq)
                        })
                        .await
                })
            })
            .collect();
        tokio::task::spawn_blocking(move || {
            for _ in 1..READERS {
                has_begun.recv().unwrap();
            }
        })
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        release.send(()).unwrap();
        for r in reads {
            assert_eq!(r.await.unwrap().unwrap(), 2);
        }
    }
}
