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
//! and contacts that tree was a tenth of the import's instructions. A record
//! whose nested members all hold their defaults (most imported rows) is
//! written member by member instead ([`Members`]), the same text.

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
///
/// A customer whose card, key dates and custom fields all hold their
/// default (every row of most imports) is written member by member by
/// [`Members`], the same text in a quarter of the instructions; any other
/// goes through `Serialize`. The tests hold the two to the same text.
pub(crate) fn stored_customer_doc(c: &keqing_domain::CustomerInput) -> String {
    if c.key_dates.is_empty() && c.custom.is_empty() && c.card == Default::default() {
        return plain_customer_doc(c);
    }
    serialized_customer_doc(c)
}

/// A customer's document as [`stored_customer_doc`] writes it when its
/// card, key dates and custom fields hold their defaults (left out).
fn plain_customer_doc(c: &keqing_domain::CustomerInput) -> String {
    let mut m = Members::new();
    m.text("name", Some(&c.name));
    m.word("kind", Some(c.kind.as_str()));
    m.word("company_type", c.company_type.map(|v| v.as_str()));
    m.text("industry", c.industry.as_deref());
    m.text("province", c.province.as_deref());
    m.text("city", c.city.as_deref());
    m.text("district", c.district.as_deref());
    m.text("address", c.address.as_deref());
    m.text("phone", c.phone.as_ref().map(|p| p.as_str()));
    m.text("website", c.website.as_deref());
    m.text("email", c.email.as_ref().map(|e| e.as_str()));
    m.text("external_code", c.external_code.as_deref());
    m.word("source", c.source.map(|v| v.as_str()));
    m.number("referrer_id", c.referrer_id);
    m.word("stage", Some(c.stage.as_str()));
    m.word("business_stage", Some(c.business_stage.as_str()));
    m.text("class", c.class.as_deref());
    m.text("tier", c.tier.as_deref());
    if !c.tags.is_empty() {
        m.key("tags");
        m.buf.push('[');
        for (i, t) in c.tags.iter().enumerate() {
            if i > 0 {
                m.buf.push(',');
            }
            escaped(&mut m.buf, t);
        }
        m.buf.push(']');
    }
    if c.key_customer {
        m.key("key_customer");
        m.buf.push_str("true");
    }
    m.number("parent_id", c.parent_id);
    m.end()
}

/// A customer's document through `Serialize` (the definition the fast
/// path must match).
fn serialized_customer_doc(c: &keqing_domain::CustomerInput) -> String {
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

/// A contact's stored document: [`stored_doc`] without the default consent,
/// written member by member ([`Members`]) when the consent is the default.
pub(crate) fn stored_contact_doc(c: &keqing_domain::ContactInput) -> String {
    if c.consent != Default::default() {
        return serialized_contact_doc(c);
    }
    let mut m = Members::new();
    m.text("name", Some(&c.name));
    m.text("mobile", c.mobile.as_ref().map(|p| p.as_str()));
    m.text("phone", c.phone.as_ref().map(|p| p.as_str()));
    m.text("email", c.email.as_ref().map(|e| e.as_str()));
    m.text("wechat", c.wechat.as_deref());
    m.text("qq", c.qq.as_deref());
    m.text("title", c.title.as_deref());
    m.word("level", c.level.map(|v| v.as_str()));
    m.word("buying_role", c.buying_role.map(|v| v.as_str()));
    m.word("style", c.style.map(|v| v.as_str()));
    if let Some(b) = &c.birthday {
        m.text("birthday", Some(&b.to_string()));
    }
    m.text("hobbies", c.hobbies.as_deref());
    m.text("notes", c.notes.as_deref());
    m.end()
}

/// A contact's document through `Serialize`.
fn serialized_contact_doc(c: &keqing_domain::ContactInput) -> String {
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

/// A JSON object written member by member, as `serde_json` writes one: the
/// members in the order given, an absent value left out (as [`NoNulls`]
/// leaves out a `null`).
struct Members {
    buf: String,
}

impl Members {
    fn new() -> Members {
        let mut buf = String::with_capacity(256);
        buf.push('{');
        Members { buf }
    }

    /// A member's name: one of the document's own, which need no escape.
    fn key(&mut self, key: &'static str) {
        debug_assert!(!needs_escape(key), "{key}");
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        self.buf.push('"');
        self.buf.push_str(key);
        self.buf.push_str("\":");
    }

    fn text(&mut self, key: &'static str, v: Option<&str>) {
        if let Some(v) = v {
            self.key(key);
            escaped(&mut self.buf, v);
        }
    }

    /// A value that is one of the domain's names for an enum's variants
    /// (`company`, `to_identify`), which need no escape either.
    fn word(&mut self, key: &'static str, v: Option<&'static str>) {
        if let Some(v) = v {
            debug_assert!(!needs_escape(v), "{v}");
            self.key(key);
            self.buf.push('"');
            self.buf.push_str(v);
            self.buf.push('"');
        }
    }

    fn number(&mut self, key: &'static str, v: Option<i64>) {
        if let Some(v) = v {
            self.key(key);
            self.buf.push_str(&v.to_string());
        }
    }

    fn end(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// Whether `s` holds a character that JSON escapes. Most texts hold none:
/// found out 16 bytes at a time, without a branch per byte (the loop the
/// compiler turns into vector compares).
fn needs_escape(s: &str) -> bool {
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let mut chunks = s.as_bytes().chunks_exact(16);
    let tail = chunks.remainder();
    chunks.any(|c| c.iter().fold(false, |any, &b| any | needs(b))) || tail.iter().any(|&b| needs(b))
}

/// `s` as a JSON string, escaped as `serde_json` escapes one: `"` and `\`,
/// and the control characters below U+0020 (`\b \t \n \f \r` by name,
/// the others as `\u00XX` in lower-case hex); everything else as it is.
fn escaped(buf: &mut String, s: &str) {
    buf.push('"');
    if !needs_escape(s) {
        buf.push_str(s);
        buf.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        buf.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            buf.push_str("\\u00");
            buf.push(char::from(HEX[usize::from(b >> 4)]));
            buf.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            buf.push_str(esc);
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
    buf.push('"');
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

    /// Texts that JSON escapes, or that look as if it might.
    const AWKWARD: [&str; 7] = [
        "江苏恒远钢业有限公司",
        "a long text, whose escapes come late: \" then \u{7} and \\ at the end",
        "say \"hi\" \\ back/slash",
        "line\nbreak\ttab\rreturn",
        "\u{1}\u{8}\u{c}\u{1f}\u{7f}",
        "表情😀 ＡＢＣ",
        "",
    ];

    /// `text` as the domain takes it today (no control characters); the
    /// awkward text itself is put on the parsed value afterwards, as a
    /// document stored before the domain refused it holds it.
    fn accepted(text: &str) -> String {
        text.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    }

    #[test]
    fn a_plain_customer_is_written_as_serialize_writes_it() {
        let mut n = 0;
        for (i, raw) in AWKWARD.iter().enumerate() {
            let text = &accepted(raw);
            for set in 0..4 {
                let mut v = json!({"name": format!("{text}{i}")});
                let m = v.as_object_mut().unwrap();
                if set & 1 == 1 {
                    for k in [
                        "industry", "province", "city", "district", "address", "website", "tier",
                    ] {
                        m.insert(k.into(), json!(format!("{k}:{text}")));
                    }
                    m.insert("website".into(), json!("https://example.com/a\"b"));
                    m.insert("class".into(), json!("b"));
                    m.insert("external_code".into(), json!("91320000abc"));
                    m.insert("phone".into(), json!("025-83334444"));
                    m.insert("email".into(), json!("a.b@example.com"));
                    m.insert("kind".into(), json!("个人"));
                    m.insert("company_type".into(), json!("民营"));
                    m.insert("source".into(), json!("广告"));
                    m.insert("stage".into(), json!("potential"));
                    m.insert("business_stage".into(), json!("existing"));
                }
                if set & 2 == 2 {
                    m.insert("tags".into(), json!([text, "钢材", "a,b"]));
                    m.insert("key_customer".into(), json!(true));
                    m.insert("referrer_id".into(), json!(-42));
                    m.insert("parent_id".into(), json!(9_007_199_254_740_993i64));
                }
                let Ok(mut c) = keqing_domain::CustomerInput::from_json(m) else {
                    continue;
                };
                c.name = format!("{raw}{i}");
                for (k, f) in [
                    ("industry", &mut c.industry),
                    ("province", &mut c.province),
                    ("city", &mut c.city),
                    ("district", &mut c.district),
                    ("address", &mut c.address),
                    ("tier", &mut c.tier),
                ] {
                    if f.is_some() {
                        *f = Some(format!("{k}:{raw}"));
                    }
                }
                if set & 2 == 2 && !raw.is_empty() {
                    c.tags[0] = raw.to_string();
                }
                assert_eq!(plain_customer_doc(&c), serialized_customer_doc(&c), "{v}");
                assert_eq!(stored_customer_doc(&c), serialized_customer_doc(&c));
                n += 1;
            }
        }
        assert!(n >= 20, "only {n} customers were valid");
        // Any other card, key dates or custom fields go through Serialize.
        let c = keqing_domain::CustomerInput::from_json(
            json!({"name": "x", "card": {"interests": "钓鱼"}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert!(stored_customer_doc(&c).contains(r#""card":{"interests":"钓鱼""#));
    }

    #[test]
    fn a_contact_is_written_as_serialize_writes_it() {
        let mut n = 0;
        for (i, raw) in AWKWARD.iter().enumerate() {
            let text = &accepted(raw);
            for birthday in [
                None,
                Some("1987-11-14"),
                Some("农历1961-08-15"),
                Some("农历闰1990-04-01"),
            ] {
                let mut v = json!({"name": format!("{text}{i}")});
                let m = v.as_object_mut().unwrap();
                if let Some(b) = birthday {
                    m.insert("birthday".into(), json!(b));
                    for k in ["wechat", "title", "hobbies", "notes"] {
                        m.insert(k.into(), json!(format!("{k}{text}")));
                    }
                    m.insert("mobile".into(), json!("13912345678"));
                    m.insert("phone".into(), json!("0571-82634817"));
                    m.insert("email".into(), json!("x@example.cn"));
                    m.insert("qq".into(), json!("123456"));
                    m.insert("level".into(), json!("决策者"));
                    m.insert("style".into(), json!("分析型"));
                    m.insert("buying_role".into(), json!("决策者"));
                }
                let Ok(mut c) = keqing_domain::ContactInput::from_json(m) else {
                    panic!("{v} is a valid contact");
                };
                c.name = format!("{raw}{i}");
                for (k, f) in [
                    ("wechat", &mut c.wechat),
                    ("title", &mut c.title),
                    ("hobbies", &mut c.hobbies),
                    ("notes", &mut c.notes),
                ] {
                    if f.is_some() {
                        *f = Some(format!("{k}{raw}"));
                    }
                }
                assert_eq!(stored_contact_doc(&c), serialized_contact_doc(&c), "{v}");
                n += 1;
            }
        }
        assert_eq!(n, AWKWARD.len() * 4);
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
