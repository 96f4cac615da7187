//! A record's document as stored: its JSON without the fields that have no
//! value (`null`), at every level. Reading treats a missing field as empty,
//! and the stored row is about half as long (a million-row import writes
//! less).
//!
//! A customer's and a contact's document also leave out the top-level
//! members that hold their default (`stored_customer_doc`, `stored_contact_doc`): no
//! tags, not a key customer, an empty relationship card, no key dates, no
//! custom fields, the default consent. Reading takes a missing member as its
//! default already (the domain's `from_json`, and every SQL that reads a
//! document's member: `coalesce`, `unwrap_or`). In the benchmark's import
//! of a million customers a customer row is about 100 bytes shorter and a
//! contact row about 45.
//!
//! The text is written straight from the record's `Serialize`, dropping a
//! `"key":null` pair as it is written, instead of building a
//! `serde_json::Value` to strip and print: at a million imported customers
//! and contacts that tree was a tenth of the import's instructions.

use serde::Serialize;
use std::cell::RefCell;
use std::io;
use std::sync::LazyLock;

/// The stored JSON text of `v`: `null` members of objects left out (nulls in
/// arrays stay: they hold a place).
pub(crate) fn stored_doc<T: Serialize + ?Sized>(v: &T) -> String {
    stored_doc_without(v, &[])
}

/// A customer's stored document: [`stored_doc`] without the top-level
/// members that hold their default.
pub(crate) fn stored_customer_doc(c: &keqing_domain::CustomerInput) -> String {
    static CARD: LazyLock<String> =
        LazyLock::new(|| stored_doc(&keqing_domain::customer::RelationshipCard::default()));
    stored_doc_without(
        c,
        &[
            ("tags", "[]"),
            ("key_customer", "false"),
            ("card", &CARD),
            ("key_dates", "[]"),
            ("custom", "{}"),
        ],
    )
}

/// A contact's stored document: [`stored_doc`] without the default consent.
pub(crate) fn stored_contact_doc(c: &keqing_domain::ContactInput) -> String {
    static CONSENT: LazyLock<String> =
        LazyLock::new(|| stored_doc(&keqing_domain::contact::Consent::default()));
    stored_doc_without(c, &[("consent", &CONSENT)])
}

/// [`stored_doc`], leaving out each top-level member `(key, text)` of
/// `defaults` whose value is written as that text.
fn stored_doc_without<T: Serialize + ?Sized>(v: &T, defaults: &[(&str, &str)]) -> String {
    let buf = RefCell::new(Vec::with_capacity(256));
    let mut ser = serde_json::Serializer::with_formatter(
        Shared(&buf),
        NoNulls {
            buf: &buf,
            levels: vec![],
            defaults,
        },
    );
    // Serialising a domain record into memory cannot fail: its maps have
    // string keys and it holds no floats that JSON lacks.
    if v.serialize(&mut ser).is_err() {
        return "{}".into();
    }
    drop(ser);
    String::from_utf8(buf.into_inner()).unwrap_or_else(|_| "{}".into())
}

/// The buffer the serializer writes into; [`NoNulls`] holds it too, to take
/// back a key whose value turns out to be `null`.
struct Shared<'a>(&'a RefCell<Vec<u8>>);

impl io::Write for Shared<'_> {
    #[inline]
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }

    // serde_json writes a document in many small pieces: one call each.
    #[inline]
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Level {
    Array,
    Object {
        /// A member is written already: the next one needs a comma.
        any: bool,
        /// Where the member being written starts (its comma, or its key).
        member: usize,
        /// Where its value starts: a `null` written right there is dropped
        /// with its key.
        value: usize,
        dropped: bool,
    },
}

struct NoNulls<'a> {
    buf: &'a RefCell<Vec<u8>>,
    levels: Vec<Level>,
    /// Top-level members left out when their value is written as this text.
    defaults: &'a [(&'a str, &'a str)],
}

impl NoNulls<'_> {
    fn len(&self) -> usize {
        self.buf.borrow().len()
    }
}

impl serde_json::ser::Formatter for NoNulls<'_> {
    fn write_null<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let len = self.len();
        if let Some(Level::Object {
            member,
            value,
            dropped,
            ..
        }) = self.levels.last_mut()
        {
            if *value == len {
                self.buf.borrow_mut().truncate(*member);
                *dropped = true;
                return Ok(());
            }
        }
        w.write_all(b"null")
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.levels.push(Level::Array);
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.levels.pop();
        w.write_all(b"]")
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.levels.push(Level::Object {
            any: false,
            member: 0,
            value: usize::MAX,
            dropped: false,
        });
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.levels.pop();
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        _first: bool,
    ) -> io::Result<()> {
        let len = self.len();
        if let Some(Level::Object {
            any,
            member,
            dropped,
            ..
        }) = self.levels.last_mut()
        {
            *member = len;
            *dropped = false;
            if *any {
                return w.write_all(b",");
            }
        }
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b":")?;
        let len = self.len();
        if let Some(Level::Object { value, .. }) = self.levels.last_mut() {
            *value = len;
        }
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        let top = self.levels.len() == 1;
        if let Some(Level::Object {
            any,
            member,
            value,
            dropped,
        }) = self.levels.last_mut()
        {
            if top && !*dropped && !self.defaults.is_empty() {
                let mut buf = self.buf.borrow_mut();
                // The member as written: an optional comma, `"key":`, the value.
                let key = buf[*member..*value - 1]
                    .strip_prefix(b",")
                    .unwrap_or(&buf[*member..*value - 1]);
                let text = &buf[*value..];
                if self.defaults.iter().any(|(k, d)| {
                    key.len() == k.len() + 2
                        && &key[1..key.len() - 1] == k.as_bytes()
                        && text == d.as_bytes()
                }) {
                    buf.truncate(*member);
                    *dropped = true;
                }
            }
            *any |= !*dropped;
            *value = usize::MAX;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_of_objects_are_left_out_at_every_level() {
        let v = json!({
            "a": null, "b": 1, "c": {"x": null, "y": [null, 2, {"z": null, "w": "s"}]},
            "d": null, "e": {"only": null}, "f": [], "g": "null", "h": null
        });
        assert_eq!(
            stored_doc(&v),
            r#"{"b":1,"c":{"y":[null,2,{"w":"s"}]},"e":{},"f":[],"g":"null"}"#
        );
        assert_eq!(stored_doc(&json!({"a": null})), "{}");
        assert_eq!(
            stored_doc(&json!({"a": null, "b": false})),
            r#"{"b":false}"#
        );
        assert_eq!(stored_doc(&json!([null, {"a": null}])), r#"[null,{}]"#);
    }

    #[test]
    fn a_customer_reads_back_the_same() {
        let c = keqing_domain::CustomerInput::from_json(
            json!({"name": "江苏恒远钢业有限公司", "phone": "025-83334444", "tags": ["钢材"],
                   "card": {"interests": "钓鱼"}, "key_dates": [{"date": "2001-05-18", "name": "成立日"}]})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        let text = stored_customer_doc(&c);
        assert!(!text.contains("null"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            keqing_domain::CustomerInput::from_json(back.as_object().unwrap()).unwrap(),
            c
        );
    }

    #[test]
    fn a_customer_leaves_out_only_the_members_that_hold_their_default() {
        let c = |v: serde_json::Value| {
            keqing_domain::CustomerInput::from_json(v.as_object().unwrap()).unwrap()
        };
        let plain = c(json!({"name": "杭州远成物流有限公司", "custom": {"listed": false}}));
        let text = stored_customer_doc(&plain);
        for gone in ["tags", "key_customer", "card", "key_dates"] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        // A custom field set to false is an answer: it stays.
        assert!(text.contains(r#""custom":{"listed":false}"#), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(c(back), plain);

        let set = c(
            json!({"name": "江苏恒远", "tags": ["钢材"], "key_customer": true,
                           "card": {"gifts_forbidden": true}, "key_dates": [{"date": "2001-05-18", "name": "成立日"}]}),
        );
        let text = stored_customer_doc(&set);
        for kept in [
            r#""tags":["钢材"]"#,
            r#""key_customer":true"#,
            r#""card":{"gifts_forbidden":true}"#,
            r#""key_dates":[{"#,
        ] {
            assert!(text.contains(kept), "{kept} not in {text}");
        }
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(c(back), set);
    }

    #[test]
    fn a_contact_leaves_out_the_default_consent_and_keeps_any_other() {
        let c = |v: serde_json::Value| {
            keqing_domain::ContactInput::from_json(v.as_object().unwrap()).unwrap()
        };
        let plain = c(json!({"name": "曹英秀", "mobile": "13000012344"}));
        let text = stored_contact_doc(&plain);
        assert!(!text.contains("consent"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(c(back), plain);
        // An opt-out differs from the default (phone: true): it is kept.
        let no_calls = c(json!({"name": "曹英秀", "consent": {"phone": false}}));
        let text = stored_contact_doc(&no_calls);
        assert!(text.contains(r#""consent":{"phone":false,"#), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(c(back), no_calls);
    }
}
