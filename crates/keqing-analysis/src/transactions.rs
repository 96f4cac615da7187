//! The in-memory columnar transaction table every analysis takes.
//!
//! Build it from database orders with [`TransactionsBuilder`], or from a file
//! with [`crate::read_csv`] / `read_parquet`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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
    interner: Interner,
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
        self.interner.intern(customer.as_bytes(), &mut self.tx.customer_ids)
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

/// FxHash (rustc's hasher): keys are short ids, no DoS concern for local files.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut b = bytes;
        while b.len() >= 8 {
            let w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(SEED);
            b = &b[8..];
        }
        if b.len() >= 4 {
            let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            h = (h.rotate_left(5) ^ u64::from(w)).wrapping_mul(SEED);
            b = &b[4..];
        }
        for &c in b {
            h = (h.rotate_left(5) ^ u64::from(c)).wrapping_mul(SEED);
        }
        self.0 = h;
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(SEED);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(SEED);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// Maps customer keys (bytes) to dense indices.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    map: HashMap<Box<[u8]>, CustomerIdx, FxBuild>,
}

impl Interner {
    pub(crate) fn intern(&mut self, key: &[u8], ids: &mut Vec<String>) -> CustomerIdx {
        if let Some(&i) = self.map.get(key) {
            return i;
        }
        let i = ids.len() as CustomerIdx;
        ids.push(String::from_utf8_lossy(key).into_owned());
        self.map.insert(key.into(), i);
        i
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
}
