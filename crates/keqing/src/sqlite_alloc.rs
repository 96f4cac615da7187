//! SQLite's memory: from mimalloc, the allocator of the rest of the
//! program, instead of the C library's, and without SQLite's own
//! statistics, which take a global mutex on every allocation.
//!
//! A bulk import allocates and frees millions of small blocks inside
//! SQLite (FTS5 grows a buffer for every token it indexes, each statement
//! step allocates its records): with glibc's allocator, its free-list work
//! (`unlink_chunk`, `_int_malloc`, `malloc_consolidate`) and the statistics
//! mutex were 3-4% of a million-customer import's profile.

use libsqlite3_sys as ffi;
use std::ffi::{c_int, c_void};

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    // SAFETY: mimalloc's malloc takes any size; SQLite never asks for a
    // negative one (it checks before calling).
    unsafe { libmimalloc_sys::mi_malloc(n.max(0) as usize) }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    // SAFETY: `p` came from x_malloc or x_realloc (or is null).
    unsafe { libmimalloc_sys::mi_free(p) }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SAFETY: as x_malloc and x_free.
    unsafe { libmimalloc_sys::mi_realloc(p, n.max(0) as usize) }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    // SAFETY: `p` came from x_malloc or x_realloc; sizes fit in c_int since
    // SQLite asked for them as c_int (mimalloc rounds up to at most 1/8 more).
    unsafe { libmimalloc_sys::mi_usable_size(p).min(c_int::MAX as usize) as c_int }
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    // SAFETY: a pure function of the size.
    let good = unsafe { libmimalloc_sys::mi_good_size(n.max(0) as usize) };
    good.min(c_int::MAX as usize) as c_int
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Points SQLite at mimalloc. Call before any database is opened (SQLite
/// refuses a configuration once it is initialised: then this does nothing).
pub fn configure() {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: sqlite3_config is called before sqlite3_initialize (first in
    // main, before the runtime and any connection); SQLite copies the
    // methods, functions that live as long as the program.
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        );
    }
}

#[cfg(test)]
mod tests {
    /// After `configure`, SQLite's blocks come from mimalloc's heap, and
    /// SQLite works on them (a table, an index, FTS5), statistics off.
    #[test]
    fn sqlite_allocates_from_mimalloc() {
        // The only test of this binary's that touches SQLite: nothing has
        // initialised it before.
        super::configure();
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t (x TEXT); CREATE INDEX t_x ON t (x);
             CREATE VIRTUAL TABLE s USING fts5(k);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO t SELECT printf('客户%d', i) FROM n;
             INSERT INTO s SELECT x FROM t;",
        )
        .unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM t WHERE x > '客户5'", [], |r| {
                r.get(0)
            })
            .unwrap();
        // Text order: 客户50…59, 500…599, 5000…5999 (1,110) and those from
        // 客户6 on (4 + 40 + 400 + 4,000).
        assert_eq!(n, 5554);
        let found: i64 = c
            .query_row(
                "SELECT count(*) FROM s WHERE s MATCH '客户1999'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1);
        // SAFETY: a block SQLite allocates, freed by SQLite.
        unsafe {
            let p = libsqlite3_sys::sqlite3_malloc(100);
            assert!(!p.is_null());
            assert!(libmimalloc_sys::mi_is_in_heap_region(p));
            assert!(libsqlite3_sys::sqlite3_msize(p) >= 100);
            libsqlite3_sys::sqlite3_free(p);
            // Statistics off: SQLite counts nothing.
            assert_eq!(libsqlite3_sys::sqlite3_memory_used(), 0);
        }
    }
}
