//! Field-level change history (SPEC §1: who, when, old, new).

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// The fields whose values differ between two versions of a record.
pub fn diff(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<FieldChange> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let o = old.get(k).cloned().unwrap_or(Value::Null);
            let n = new.get(k).cloned().unwrap_or(Value::Null);
            (o != n).then(|| FieldChange {
                field: k.clone(),
                old: o,
                new: n,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_fields_only() {
        let a = json!({"name": "甲", "city": "南京", "tags": ["x"]});
        let b = json!({"name": "甲", "city": "苏州", "tags": ["x", "y"], "industry": "钢铁"});
        let d = diff(a.as_object().unwrap(), b.as_object().unwrap());
        let f: Vec<_> = d.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(f, vec!["city", "industry", "tags"]);
        assert_eq!(d[0].old, json!("南京"));
    }
}
