//! A restore's verification: what the database holds after the load, read
//! back as a backup writes it, against what the backup holds, table by
//! table, row by row (by key), field by field. Values are compared by what
//! they mean, not by their bytes: numbers by value (a float to the bit, 1
//! and 1.0 alike), JSON documents whatever the order of their keys (JSONB
//! keeps its own). Strings, timestamps among them, must be equal.

use crate::{refuse, Result, TableCounts, TABLES};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// How many differences a failed verification names (it counts them all).
pub const DIFFERENCES_SHOWN: usize = 10;

/// The column a table's rows are known by in a backup.
pub(crate) fn key_column(table: &str) -> &'static str {
    match table {
        "care_settings" => "key",
        "pay_settings" => "name",
        _ => "id",
    }
}

/// The rows of a backup (after [`crate::upgrade_backup`]) the database
/// must hold, and what was found so far.
pub(crate) struct RestoreCheck<'a> {
    expected: HashMap<(&'a str, String), &'a Map<String, Value>>,
    counts: HashMap<&'static str, i64>,
    shown: Vec<String>,
    differences: u64,
}

impl<'a> RestoreCheck<'a> {
    pub fn new(rows: &'a [Value]) -> RestoreCheck<'a> {
        let mut expected = HashMap::with_capacity(rows.len());
        for v in rows {
            let (Some(table), Some(row)) = (v["table"].as_str(), v["row"].as_object()) else {
                continue;
            };
            let key = row.get(key_column(table)).unwrap_or(&Value::Null);
            expected.insert((table, key.to_string()), row);
        }
        RestoreCheck {
            expected,
            counts: HashMap::new(),
            shown: vec![],
            differences: 0,
        }
    }

    fn differ(&mut self, text: impl FnOnce() -> String) {
        self.differences += 1;
        if self.shown.len() < DIFFERENCES_SHOWN {
            self.shown.push(text());
        }
    }

    /// One row of the database, as a backup writes it.
    pub fn row(&mut self, table: &'static str, db: &Map<String, Value>) {
        *self.counts.entry(table).or_default() += 1;
        let key_col = key_column(table);
        let key = db.get(key_col).unwrap_or(&Value::Null).to_string();
        let Some(backup) = self.expected.remove(&(table, key.clone())) else {
            self.differ(|| {
                format!(
                    "{table} {key_col} {key}: 备份中没有此行 in the database, not in the backup"
                )
            });
            return;
        };
        for (field, want) in backup {
            let got = db.get(field).unwrap_or(&Value::Null);
            if same(want, got) || rederived(table, field, backup, got) {
                continue;
            }
            let (path, want, got) = first_difference(field.clone(), want, got);
            self.differ(|| {
                format!(
                    "{table} {key_col} {key} {path}: 备份 backup {}, 数据库 database {}",
                    shorten(want),
                    shorten(got)
                )
            });
        }
    }

    /// Every row of the database was seen: the restored rows per table, or
    /// the differences (rows of the backup the database lacks among them).
    pub fn finish(mut self) -> Result<TableCounts> {
        let mut missing: Vec<(usize, &str, String)> = self
            .expected
            .keys()
            .map(|(t, k)| {
                (
                    TABLES.iter().position(|x| x == t).unwrap_or(usize::MAX),
                    *t,
                    k.clone(),
                )
            })
            .collect();
        missing.sort();
        for (_, table, key) in missing {
            let key_col = key_column(table);
            self.differ(|| {
                format!(
                    "{table} {key_col} {key}: 数据库中没有此行 in the backup, not in the database"
                )
            });
        }
        if self.differences > 0 {
            return Err(refuse::restore_not_verified(self.differences, &self.shown));
        }
        Ok(TABLES
            .iter()
            .map(|t| (t.to_string(), self.counts.get(t).copied().unwrap_or(0)))
            .collect())
    }
}

/// Columns a restore writes again from others (a backup of an older
/// version spells pinyin otherwise): equal when the database holds what
/// the backup's own name gives today.
fn rederived(table: &str, field: &str, backup: &Map<String, Value>, got: &Value) -> bool {
    if table != "customers" || !matches!(field, "pinyin" | "initials") {
        return false;
    }
    let Some(name) = backup.get("name").and_then(Value::as_str) else {
        return false;
    };
    let keys = keqing_domain::search::name_keys(name);
    let today = if field == "pinyin" {
        keys.pinyin
    } else {
        keys.initials
    };
    got.as_str() == Some(today.as_str())
}

/// Two values mean the same: numbers by value, objects whatever their key
/// order, a boolean and its 0 or 1.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Bool(p), Value::Number(n)) | (Value::Number(n), Value::Bool(p)) => {
            n.as_i64() == Some(*p as i64)
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// Where inside two differing values they differ: the path (field, then
/// `.key` and `[i]` into documents) and the two values there.
fn first_difference<'v>(
    path: String,
    a: &'v Value,
    b: &'v Value,
) -> (String, &'v Value, &'v Value) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if same(v, w) => {}
                    Some(w) => return first_difference(format!("{path}.{k}"), v, w),
                    None => return (format!("{path}.{k}"), v, &Value::Null),
                }
            }
            match y.iter().find(|(k, _)| !x.contains_key(*k)) {
                Some((k, w)) => (format!("{path}.{k}"), &Value::Null, w),
                None => (path, a, b),
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            match x.iter().zip(y).position(|(v, w)| !same(v, w)) {
                Some(i) => first_difference(format!("{path}[{i}]"), &x[i], &y[i]),
                None => (path, a, b),
            }
        }
        _ => (path, a, b),
    }
}

/// A value as JSON, cut after 120 characters.
fn shorten(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use serde_json::json;

    #[test]
    fn numbers_are_compared_by_value_and_documents_whatever_their_key_order() {
        assert!(same(&json!(1), &json!(1.0)));
        assert!(same(&json!(0.9975822398426251), &json!(0.9975822398426251)));
        assert!(!same(
            &json!(0.9975822398426251),
            &json!(0.9975822398426252)
        ));
        assert!(same(
            &json!({"a": 1, "b": [1, 2]}),
            &json!({"b": [1, 2.0], "a": 1})
        ));
        assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": null})));
        assert!(same(&json!(true), &json!(1)));
        assert!(!same(&json!("15007.52"), &json!(15007.52)));
        assert!(!same(
            &json!("2026-01-01T00:00:00Z"),
            &json!("2026-01-01T00:00:00+00:00")
        ));
    }

    #[test]
    fn a_float_reads_back_as_the_double_it_was_written_from() {
        // serde_json's reader without float_roundtrip answered …252.
        let x: f64 = serde_json::from_str("0.9975822398426251").unwrap();
        assert_eq!(x.to_bits(), 0x3fefec3196e6395e);
        let v: Value = serde_json::from_str("[0.9975822398426251]").unwrap();
        assert_eq!(v[0].as_f64().map(f64::to_bits), Some(0x3fefec3196e6395e));
    }

    #[test]
    fn a_difference_names_its_table_row_field_and_both_values() {
        let rows = vec![
            json!({"table": "customers", "row": {"id": 3, "p_alive": 0.5, "doc": {"card": {"a": 1}}}}),
            json!({"table": "customers", "row": {"id": 4}}),
            json!({"table": "care_settings", "row": {"key": "daily_quota", "value": 1}}),
        ];
        let mut check = RestoreCheck::new(&rows);
        let db = json!({"id": 3, "p_alive": 0.25, "doc": {"card": {"a": 2}}});
        check.row("customers", db.as_object().unwrap());
        let db = json!({"key": "daily_quota", "value": 1});
        check.row("care_settings", db.as_object().unwrap());
        let db = json!({"id": 9});
        check.row("orders", db.as_object().unwrap());
        let Err(StoreError::Refused(m)) = check.finish() else {
            panic!("verified")
        };
        assert!(m.contains("4 "), "{m}");
        assert!(
            m.contains("customers id 3 p_alive: 备份 backup 0.5, 数据库 database 0.25"),
            "{m}"
        );
        assert!(
            m.contains("customers id 3 doc.card.a: 备份 backup 1, 数据库 database 2"),
            "{m}"
        );
        assert!(m.contains("orders id 9: 备份中没有此行"), "{m}");
        assert!(m.contains("customers id 4: 数据库中没有此行"), "{m}");

        let rows = vec![json!({"table": "teams", "row": {"id": 1, "name": "x"}})];
        let mut check = RestoreCheck::new(&rows);
        check.row("teams", json!({"id": 1, "name": "x"}).as_object().unwrap());
        let counts = check.finish().unwrap();
        assert_eq!(counts.len(), TABLES.len());
        assert!(counts.contains(&("teams".to_string(), 1)));
    }
}
