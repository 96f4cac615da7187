//! The in-memory columnar transaction table every analysis takes.
//!
//! Build it from database orders with [`TransactionsBuilder`], or from a file
//! with [`crate::read_csv`] / `read_parquet`.

use crate::error::{AnalysisError, Result};

/// Index of a customer in [`Transactions::customer_ids`].
pub type CustomerIdx = u32;

/// Transactions as three parallel columns plus the interned customer ids.
///
/// Row `i` is one purchase: customer `customer[i]` bought on day `day[i]`
/// (days since 1970-01-01, see [`crate::date`]) for `amount_fen[i]` fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transactions {
    /// Customer keys as given (客户编号), in order of first appearance.
    pub customer_ids: Vec<String>,
    pub customer: Vec<CustomerIdx>,
    pub day: Vec<i32>,
    pub amount_fen: Vec<i64>,
}

impl Transactions {
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    pub fn customer_count(&self) -> usize {
        self.customer_ids.len()
    }

    /// First and last day in the data.
    pub fn day_range(&self) -> Option<(i32, i32)> {
        let min = self.day.iter().copied().min()?;
        let max = self.day.iter().copied().max()?;
        Some((min, max))
    }

    /// The default as-of date of the analyses: the day after the last purchase.
    pub fn default_as_of(&self) -> Option<i32> {
        self.day_range().map(|(_, max)| max + 1)
    }

    /// Checks that the columns have the same length and indices are in range.
    pub fn validate(&self) -> Result<()> {
        let n = self.customer.len();
        if self.day.len() != n || self.amount_fen.len() != n {
            return Err(AnalysisError::InvalidParameter(
                "transaction columns differ in length".into(),
            ));
        }
        let k = self.customer_ids.len();
        if self.customer.iter().any(|&c| c as usize >= k) {
            return Err(AnalysisError::InvalidParameter(
                "customer index out of range".into(),
            ));
        }
        Ok(())
    }

    /// Only the rows whose day is in `from..=to`; customer indices are kept.
    pub fn filter_days(&self, from: i32, to: i32) -> Transactions {
        let mut out = Transactions {
            customer_ids: self.customer_ids.clone(),
            ..Default::default()
        };
        for i in 0..self.len() {
            if (from..=to).contains(&self.day[i]) {
                out.customer.push(self.customer[i]);
                out.day.push(self.day[i]);
                out.amount_fen.push(self.amount_fen[i]);
            }
        }
        out
    }
}

/// Per-customer totals of the purchases on or before `up_to`: all RFM needs.
/// Built from [`Transactions`] or read straight from a CSV file with
/// [`crate::csv::read_csv_totals`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerTotals {
    pub customer_ids: Vec<String>,
    /// Last purchase day (`i32::MIN` without purchases).
    pub last_day: Vec<i32>,
    pub purchases: Vec<u64>,
    pub amount_fen: Vec<i64>,
    /// Rows counted.
    pub rows: u64,
    /// Last day among the rows counted.
    pub max_day: Option<i32>,
    /// Rows after this day were left out (`None`: none were).
    pub up_to: Option<i32>,
}

impl CustomerTotals {
    /// Totals of the rows on or before `up_to` (all rows when `None`); two
    /// threads on large tables.
    pub fn from_transactions(tx: &Transactions, up_to: Option<i32>) -> CustomerTotals {
        let k = tx.customer_count();
        let limit = up_to.unwrap_or(i32::MAX);
        let run = |lo: usize, hi: usize| {
            let mut t = CustomerTotals {
                last_day: vec![i32::MIN; k],
                purchases: vec![0; k],
                amount_fen: vec![0; k],
                up_to,
                ..Default::default()
            };
            for i in lo..hi {
                let d = tx.day[i];
                if d > limit {
                    continue;
                }
                let c = tx.customer[i] as usize;
                t.last_day[c] = t.last_day[c].max(d);
                t.purchases[c] += 1;
                t.amount_fen[c] += tx.amount_fen[i];
                t.rows += 1;
                t.max_day = t.max_day.max(Some(d));
            }
            t
        };
        let n = tx.len();
        let mut t = if n < 1_000_000 {
            run(0, n)
        } else {
            let mid = n / 2;
            let (mut a, b) = std::thread::scope(|s| {
                let h = s.spawn(|| run(mid, n));
                (run(0, mid), h.join())
            });
            match b {
                Ok(b) => {
                    for c in 0..k {
                        a.last_day[c] = a.last_day[c].max(b.last_day[c]);
                        a.purchases[c] += b.purchases[c];
                        a.amount_fen[c] += b.amount_fen[c];
                    }
                    a.rows += b.rows;
                    a.max_day = a.max_day.max(b.max_day);
                    a
                }
                Err(_) => run(0, n),
            }
        };
        t.customer_ids = tx.customer_ids.clone();
        t
    }
}

/// Builds [`Transactions`] row by row, interning customer keys.
///
/// ```
/// use keqing_analysis::{TransactionsBuilder, date::days_from_civil};
/// let mut b = TransactionsBuilder::new();
/// b.push("C001", days_from_civil(2025, 3, 1), 123_450);
/// b.push("C002", days_from_civil(2025, 3, 2), 9_900);
/// b.push("C001", days_from_civil(2025, 4, 1), 100);
/// let tx = b.finish();
/// assert_eq!(tx.customer_count(), 2);
/// assert_eq!(tx.len(), 3);
/// ```
#[derive(Debug, Default)]
pub struct TransactionsBuilder {
    keys: KeyTable,
    tx: Transactions,
}

impl TransactionsBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(rows: usize) -> Self {
        let mut b = Self::default();
        b.tx.customer.reserve(rows);
        b.tx.day.reserve(rows);
        b.tx.amount_fen.reserve(rows);
        b
    }

    /// Index of a customer key, adding it when new.
    pub fn intern(&mut self, customer: &str) -> CustomerIdx {
        let (id, new) = self.keys.get_or_insert(customer.as_bytes());
        if new {
            self.tx.customer_ids.push(customer.to_string());
        }
        id
    }

    pub fn push(&mut self, customer: &str, day: i32, amount_fen: i64) {
        let c = self.intern(customer);
        self.push_idx(c, day, amount_fen);
    }

    /// Adds a row for an already interned customer.
    pub fn push_idx(&mut self, customer: CustomerIdx, day: i32, amount_fen: i64) {
        self.tx.customer.push(customer);
        self.tx.day.push(day);
        self.tx.amount_fen.push(amount_fen);
    }

    pub fn finish(self) -> Transactions {
        self.tx
    }
}

/// Hash of a customer key: 8 bytes at a time with a multiply-rotate round and
/// a final avalanche, so ids differing only in their last bytes spread over
/// all bits. No DoS concern: keys come from the user's own files.
#[inline]
pub(crate) fn hash_key(b: &[u8]) -> u64 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xBF58_476D_1CE4_E5B9;
    let mut h = (b.len() as u64).wrapping_mul(K1);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(K2).rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf))
            .wrapping_mul(K2)
            .rotate_left(31);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(K1);
    h ^ (h >> 29)
}

const EMPTY: u32 = u32::MAX;

/// One slot of [`KeyTable`] (16 bytes): a tag (high hash bits, with the key
/// length in the low 5 bits) and the first 8 key bytes, so keys of up to 8
/// bytes are compared without leaving the slot.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Slot<V> {
    tag: u32,
    id: u32,
    head: u64,
    /// A value kept beside the key (e.g. running totals), so that updating it
    /// touches the cache line the lookup already loaded.
    val: V,
}

impl<V: Copy + Default> Slot<V> {
    fn empty() -> Slot<V> {
        Slot {
            tag: 0,
            id: EMPTY,
            head: 0,
            val: V::default(),
        }
    }
}

fn tag_and_head(hash: u64, key: &[u8]) -> (u32, u64) {
    let tag = ((hash >> 32) as u32 & !31) | key.len().min(31) as u32;
    let mut head = [0u8; 8];
    let n = key.len().min(8);
    head[..n].copy_from_slice(&key[..n]);
    (tag, u64::from_le_bytes(head))
}

/// Open-addressing (linear probing) table from customer keys to dense ids,
/// keys stored once in an arena in id order.
#[derive(Clone)]
pub(crate) struct KeyTable<V = ()> {
    slots: Vec<Slot<V>>,
    mask: usize,
    arena: Vec<u8>,
    /// End offset in `arena` of each id's key.
    ends: Vec<u32>,
}

impl<V: Copy + Default> Default for KeyTable<V> {
    fn default() -> Self {
        Self::with_capacity(1024)
    }
}

impl<V> std::fmt::Debug for KeyTable<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyTable")
            .field("len", &self.ends.len())
            .finish()
    }
}

impl<V: Copy + Default> KeyTable<V> {
    pub(crate) fn with_capacity(n: usize) -> KeyTable<V> {
        let cap = (n.max(16) * 4 / 3).next_power_of_two();
        KeyTable {
            slots: alloc_slots(cap),
            mask: cap - 1,
            arena: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Prefetches the first slot `hash` probes, so that a batch of lookups
    /// can have its cache misses in flight together.
    #[inline]
    pub(crate) fn touch(&self, hash: u64) {
        let slot = &self.slots[hash as usize & self.mask];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch is only a hint: it never faults and changes
            // nothing; the address is a slot of this table. Unlike a load it
            // does not hold up the instructions after it, so the misses of a
            // whole batch are in flight together. (Large tables, the ones
            // that miss the cache, are page-aligned allocations of 16- or
            // 32-byte slots, so one line holds the whole slot.)
            unsafe { _mm_prefetch::<_MM_HINT_T0>((slot as *const Slot<V>).cast::<i8>()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        std::hint::black_box(slot.id);
    }

    /// Number of keys.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Adds every key of `other` to this table, calling
    /// `f(other_id, id, new, value, other_value)` for each. Walking `other`'s
    /// slots in order probes this table in nearly ascending slot order too
    /// (both place a key by its hash), so the merge reads memory mostly in
    /// sequence.
    pub(crate) fn absorb(
        &mut self,
        other: &KeyTable<V>,
        mut f: impl FnMut(u32, u32, bool, &mut V, &V),
    ) {
        for s in other.slots.iter().filter(|s| s.id != EMPTY) {
            let len = (s.tag & 31) as usize;
            let head = s.head.to_le_bytes();
            let key: &[u8] = if len <= 8 {
                &head[..len]
            } else {
                other.key(s.id)
            };
            let (id, new, v) = self.entry(key, hash_key(key));
            f(s.id, id, new, v, &s.val);
        }
    }

    /// Every key's id and value.
    pub(crate) fn values(&self) -> impl Iterator<Item = (u32, &V)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.id != EMPTY)
            .map(|s| (s.id, &s.val))
    }

    pub(crate) fn key(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.arena[start..self.ends[i] as usize]
    }

    /// Id of `key`, adding it when new; the flag tells whether it was new.
    #[inline]
    pub(crate) fn get_or_insert(&mut self, key: &[u8]) -> (u32, bool) {
        let (id, new, _) = self.entry(key, hash_key(key));
        (id, new)
    }

    /// Id of `key` (whose [`hash_key`] is `hash`), whether it is new, and its value.
    #[inline]
    pub(crate) fn entry(&mut self, key: &[u8], hash: u64) -> (u32, bool, &mut V) {
        let (tag, head) = tag_and_head(hash, key);
        let mut i = hash as usize & self.mask;
        loop {
            let s = self.slots[i];
            if s.id == EMPTY {
                break;
            }
            if s.tag == tag && s.head == head && (key.len() <= 8 || self.key(s.id) == key) {
                return (s.id, false, &mut self.slots[i].val);
            }
            i = (i + 1) & self.mask;
        }
        let id = self.ends.len() as u32;
        self.arena.extend_from_slice(key);
        self.ends.push(self.arena.len() as u32);
        self.slots[i] = Slot {
            tag,
            id,
            head,
            val: V::default(),
        };
        if self.ends.len() * 4 >= self.slots.len() * 3 {
            self.grow();
            // The slot moved: find it again.
            let mut j = hash as usize & self.mask;
            while self.slots[j].id != id {
                j = (j + 1) & self.mask;
            }
            i = j;
        }
        (id, true, &mut self.slots[i].val)
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, alloc_slots(cap));
        self.mask = cap - 1;
        for s in old.into_iter().filter(|s| s.id != EMPTY) {
            let mut i = hash_key(self.key(s.id)) as usize & self.mask;
            while self.slots[i].id != EMPTY {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = s;
        }
    }
}

/// A table's slots, on huge pages where the system offers them: a lookup in
/// a table of tens of megabytes is a random access, and with 4 KiB pages
/// nearly every one also misses the TLB.
fn alloc_slots<V: Copy + Default>(cap: usize) -> Vec<Slot<V>> {
    let mut v: Vec<Slot<V>> = Vec::with_capacity(cap);
    #[cfg(target_os = "linux")]
    advise_huge_pages(
        v.as_mut_ptr().cast::<u8>(),
        cap * std::mem::size_of::<Slot<V>>(),
    );
    v.resize(cap, Slot::empty());
    v
}

/// Asks for transparent huge pages on the 2 MiB-aligned part of a fresh,
/// not yet touched allocation (the advice must come before the first write).
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < 2 * HUGE {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize + len) & !(HUGE - 1);
    if end > start {
        // SAFETY: madvise only gives advice about memory this process owns
        // (inside the Vec's allocation); it changes no contents, and an
        // error (e.g. no THP support) leaves the memory as it was.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_keys_in_order_of_first_appearance() {
        let mut b = TransactionsBuilder::new();
        b.push("b", 1, 10);
        b.push("a", 2, 20);
        b.push("b", 3, 30);
        let tx = b.finish();
        assert_eq!(tx.customer_ids, vec!["b", "a"]);
        assert_eq!(tx.customer, vec![0, 1, 0]);
        assert_eq!(tx.default_as_of(), Some(4));
        tx.validate().unwrap();
        let f = tx.filter_days(2, 3);
        assert_eq!(f.customer, vec![1, 0]);
    }

    #[test]
    fn key_table_keeps_short_and_long_keys_apart_through_growth() {
        let mut t: KeyTable = KeyTable::with_capacity(4);
        let keys: Vec<String> = (0..50_000)
            .map(|i| {
                if i % 3 == 0 {
                    format!("a-long-customer-key-{i:08}")
                } else {
                    format!("C{i:07}")
                }
            })
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.get_or_insert(k.as_bytes()), (i as u32, true));
        }
        for (i, k) in keys.iter().enumerate().rev() {
            assert_eq!(t.get_or_insert(k.as_bytes()), (i as u32, false));
            assert_eq!(t.key(i as u32), k.as_bytes());
        }
        assert_eq!(t.ends.len(), 50_000);
        // Same 8-byte head, different tails; keys differing only by a trailing NUL.
        let (a, _) = t.get_or_insert(b"01234567X");
        let (b, _) = t.get_or_insert(b"01234567Y");
        assert_ne!(a, b);
        let (c, _) = t.get_or_insert(b"C1");
        let (d, _) = t.get_or_insert(b"C1\0");
        assert_ne!(c, d);
    }
}
