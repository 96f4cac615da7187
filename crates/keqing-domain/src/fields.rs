//! Where an input's parser reads the members of a record: a JSON object (the
//! API), or the cells of a row of a file, without building an object first.
//!
//! An import of a million customers built a `serde_json::Map` for each row,
//! its keys allocated and hashed (with the SipHash of the map the binary's
//! `serde_json` uses), only to look each field up once: a quarter of the
//! time of the thread that reads the file. [`FieldList`] is the same
//! members in a list that borrows its names, looked up by comparing them.

use serde_json::{Map, Value};

/// The members of one record, by name.
pub trait Fields {
    /// The member named `key`, if the record has it.
    fn field(&self, key: &str) -> Option<&Value>;
    /// Calls `f` with each member's name, in the record's order.
    fn each_name(&self, f: &mut dyn FnMut(&str));
    /// Whether the record has no member.
    fn no_fields(&self) -> bool;
}

impl Fields for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }

    fn each_name(&self, f: &mut dyn FnMut(&str)) {
        self.keys().for_each(|k| f(k));
    }

    fn no_fields(&self) -> bool {
        self.is_empty()
    }
}

/// A record's members as a list: for the dozen fields a file's row has,
/// comparing names costs less than hashing them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldList<'k> {
    members: Vec<(&'k str, Value)>,
}

impl<'k> FieldList<'k> {
    pub fn with_capacity(n: usize) -> FieldList<'k> {
        FieldList {
            members: Vec::with_capacity(n),
        }
    }

    /// Sets the member `key` (replacing one of that name, as an object's
    /// insert does).
    pub fn insert(&mut self, key: &'k str, value: Value) {
        match self.members.iter_mut().find(|(k, _)| same_name(k, key)) {
            Some(m) => m.1 = value,
            None => self.members.push((key, value)),
        }
    }

    /// Takes the member `key` out.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.members.iter().position(|(k, _)| same_name(k, key))?;
        Some(self.members.remove(i).1)
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members as a JSON object.
    pub fn to_map(&self) -> Map<String, Value> {
        self.members
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

/// Whether two names are the same: their lengths and first bytes first,
/// which tell most names apart without a call to compare the rest.
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

impl Fields for FieldList<'_> {
    fn field(&self, key: &str) -> Option<&Value> {
        self.members
            .iter()
            .find(|(k, _)| same_name(k, key))
            .map(|(_, v)| v)
    }

    fn each_name(&self, f: &mut dyn FnMut(&str)) {
        self.members.iter().for_each(|(k, _)| f(k));
    }

    fn no_fields(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_list_reads_as_the_object_of_its_fields() {
        let mut l = FieldList::with_capacity(4);
        l.insert("name", json!("江苏恒远"));
        l.insert("phone", json!("025-83334444"));
        l.insert("nam", json!("a name's prefix is another name"));
        l.insert("name", json!("replaced, in its place"));
        assert_eq!(l.field("name"), Some(&json!("replaced, in its place")));
        assert_eq!(
            l.field("nam"),
            Some(&json!("a name's prefix is another name"))
        );
        assert_eq!(l.field("names"), None);
        let mut names = vec![];
        l.each_name(&mut |n| names.push(n.to_string()));
        assert_eq!(names, ["name", "phone", "nam"]);
        let m = l.to_map();
        assert_eq!(m.get("phone"), l.field("phone"));
        assert_eq!(m.len(), 3);
        assert_eq!(l.remove("phone"), Some(json!("025-83334444")));
        assert_eq!(l.field("phone"), None);
        assert!(!l.no_fields() && !l.is_empty());
        assert!(FieldList::default().no_fields());
        // Parsed from either, a customer is the same.
        let mut row = FieldList::default();
        row.insert("name", json!("杭州远成物流有限公司"));
        row.insert("phone", json!("0571-82634817"));
        row.insert("class", json!("b"));
        let from_list = crate::CustomerInput::from_fields(&row).unwrap();
        assert_eq!(
            from_list,
            crate::CustomerInput::from_json(&row.to_map()).unwrap()
        );
        assert_eq!(from_list.class.as_deref(), Some("B"));
        row.insert("colour", json!("red"));
        let e = crate::CustomerInput::from_fields(&row).unwrap_err();
        assert_eq!(e.errors[0].field, "colour");
    }
}
