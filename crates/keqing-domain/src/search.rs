//! Search keys for customer names: full pinyin and pinyin initials, so that
//! typing `jiangsu` or `jshy` finds 江苏恒远 (SPEC §10, issue 2).
//!
//! Pinyin is matched from the start of a syllable, as a pinyin keyboard
//! reads it: `suheng`, `hengyuan` and `heng` find 江苏恒远, `engyuan` does not
//! (and `he` finds 和, 何 and 恒, not every name with 浙 zhe or 城 cheng in
//! it). Initials are matched in order from the first ([`subsequence_pattern`]).

use pinyin::ToPinyin;

/// The keys one name is found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameKeys {
    /// Pinyin without tones, a space before each syllable but the first:
    /// 江苏恒远 → `jiang su heng yuan` (see [`pinyin_matches`]).
    pub pinyin: String,
    /// First letters: 江苏恒远 → `jshy`.
    pub initials: String,
}

pub fn name_keys(name: &str) -> NameKeys {
    let mut py = String::with_capacity(name.len() * 3);
    let mut ini = String::with_capacity(name.len());
    for_each_syllable(name, |_, s| {
        if !py.is_empty() {
            py.push(' ');
        }
        py.push_str(s);
        ini.push_str(&s[..1]);
    });
    NameKeys {
        pinyin: py,
        initials: ini,
    }
}

/// Whether pinyin `q` (lower-case letters) is read from the start of one of
/// the syllables of `pinyin` (as [`name_keys`] writes it) on: `suheng` in
/// `jiang su heng yuan`, not `engyuan`.
pub fn pinyin_matches(pinyin: &str, q: &str) -> bool {
    let p = pinyin.as_bytes();
    let q = q.as_bytes();
    if q.is_empty() {
        return true;
    }
    (0..p.len())
        .filter(|&i| i == 0 || p[i - 1] == b' ')
        .any(|start| {
            let mut letters = p[start..].iter().filter(|&&b| b != b' ');
            q.iter().all(|c| letters.next() == Some(c))
        })
}

/// A POSIX regular expression (PostgreSQL's `~`) true exactly where
/// [`pinyin_matches`] is: the typed letters from a syllable's start, a space
/// allowed between any two of them.
pub fn pinyin_regex(q: &str) -> String {
    let mut r = String::from("(^| )");
    for (i, c) in q.chars().filter(char::is_ascii_lowercase).enumerate() {
        if i > 0 {
            r.push_str(" ?");
        }
        r.push(c);
    }
    r
}

/// Calls `f` with each character of `name` that has a reading, and that
/// reading: the toneless pinyin of a Chinese character, with `ü` written `v`
/// as on a pinyin keyboard (绿 → `lv`), or a Latin letter or digit itself
/// (lower-case). Other characters (spaces, brackets) are skipped. Readings
/// are ASCII.
pub fn for_each_syllable(name: &str, mut f: impl FnMut(char, &str)) {
    let mut buf = [0u8; 4];
    for (c, p) in name.chars().zip(name.to_pinyin()) {
        match p {
            Some(p) if p.plain().is_ascii() => f(c, p.plain()),
            Some(p) => f(c, &p.plain().replace('ü', "v")),
            None if c.is_ascii_alphanumeric() => {
                let l = c.to_ascii_lowercase();
                f(l, l.encode_utf8(&mut buf));
            }
            None => {}
        }
    }
}

/// What a search query is, judged from what was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Digits only: a phone number or its last digits.
    PhoneDigits(String),
    /// Latin letters only: pinyin or pinyin initials (lower-case).
    Pinyin(String),
    /// Anything else: part of the name.
    Text(String),
}

pub fn classify(q: &str) -> Option<Query> {
    let t = q.trim();
    if t.is_empty() {
        return None;
    }
    let digits: String = t.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() >= 3 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Query::PhoneDigits(digits));
    }
    if t.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(Query::Pinyin(t.to_ascii_lowercase()));
    }
    Some(Query::Text(t.to_string()))
}

/// SQL LIKE pattern that matches `initials` having the typed letters in
/// order, so `jsgy` finds 江苏恒远钢业 (`jshygy`).
pub fn subsequence_pattern(letters: &str) -> String {
    let mut p = String::with_capacity(letters.len() * 2 + 1);
    for c in letters.chars() {
        p.push(c);
        p.push('%');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_company_name() {
        let k = name_keys("江苏恒远钢业有限公司");
        assert_eq!(k.pinyin, "jiang su heng yuan gang ye you xian gong si");
        assert_eq!(k.initials, "jshygyyxgs");
        let k = name_keys("ABC 贸易");
        assert_eq!(
            (k.pinyin.as_str(), k.initials.as_str()),
            ("a b c mao yi", "abcmy")
        );
        assert_eq!(name_keys("绿源").pinyin, "lv yuan");
    }

    #[test]
    fn pinyin_is_read_from_a_syllable_on() {
        let p = name_keys("江苏恒远钢业").pinyin;
        for q in [
            "jiangsu",
            "j",
            "suheng",
            "hengyuan",
            "heng",
            "h",
            "gangye",
            "yuangangye",
            "ye",
        ] {
            assert!(pinyin_matches(&p, q), "{q}");
        }
        for q in [
            "engyuan",
            "iang",
            "an",
            "gangyes",
            "jiangsuhengyuangangyeyou",
        ] {
            assert!(!pinyin_matches(&p, q), "{q}");
        }
        assert!(pinyin_matches(&name_keys("ABC 贸易").pinyin, "bcmao"));
        assert_eq!(pinyin_regex("suh"), "(^| )s ?u ?h");
    }

    #[test]
    fn queries_are_classified() {
        assert_eq!(classify("5678"), Some(Query::PhoneDigits("5678".into())));
        assert_eq!(classify("JSGY"), Some(Query::Pinyin("jsgy".into())));
        assert_eq!(classify("恒远"), Some(Query::Text("恒远".into())));
        assert_eq!(classify("  "), None);
        assert_eq!(subsequence_pattern("jsgy"), "j%s%g%y%");
    }
}
