//! The name search index of the SQLite backend: an FTS5 table
//! `customer_search` whose one indexed column holds tokens made here, so that
//! a search by part of the name, by pinyin or by pinyin initials reads a few
//! posting lists instead of scanning every customer (issue 2: p99 ≤ 10 ms at
//! a million customers). Each token is one word for FTS5's `ascii`
//! tokenizer (ASCII letters or digits, then any characters outside ASCII),
//! and its first letter says its kind:
//!
//! - `b` + two neighbouring characters of the name (letters and digits, any
//!   script, lower-case), and `e` + the last one: part of the name;
//! - `p` + up to six letters of the full pinyin from each letter on: any
//!   part of the pinyin (a query of up to six letters is a prefix query);
//! - `f` + the first initial, and `i` + the first initial + each later
//!   initial: initials typed in order from the first (`jsgy` for
//!   江苏恒远钢业, initials `jshygy`).
//!
//! The tokens narrow the candidates; the stored name, pinyin and initials
//! then confirm each one with the same `LIKE` the other backend uses, so a
//! token can over-match but never decides a result alone.

use keqing_domain::search::for_each_syllable;

/// Letters of pinyin in one `p` token.
const PINYIN_GRAM: usize = 6;

/// The name as the index sees it: letters and digits of any script, lower-case.
fn name_chars(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Search keys of one name: the token text, the full pinyin and the initials.
pub(crate) struct SearchKeys {
    pub tokens: String,
    pub pinyin: String,
    pub initials: String,
}

pub(crate) fn keys(name: &str) -> SearchKeys {
    let chars = name_chars(name);
    let mut t = String::with_capacity(name.len() * 10);
    for (i, c) in chars.iter().enumerate() {
        match chars.get(i + 1) {
            Some(n) => {
                t.push('b');
                t.push(*c);
                t.push(*n);
            }
            None => {
                t.push('e');
                t.push(*c);
            }
        }
        t.push(' ');
    }
    let mut pinyin = String::with_capacity(name.len() * 2);
    let mut initials = String::with_capacity(name.len());
    for_each_syllable(name, |_, s| {
        pinyin.push_str(s);
        initials.push_str(&s[..1]);
    });
    // Readings are ASCII (`for_each_syllable`); the slicing below relies on it.
    pinyin.retain(|c| c.is_ascii());
    for s in 0..pinyin.len() {
        t.push('p');
        t.push_str(&pinyin[s..(s + PINYIN_GRAM).min(pinyin.len())]);
        t.push(' ');
    }
    let ini = initials.as_bytes();
    if let Some(&first) = ini.first() {
        t.push('f');
        t.push(first as char);
        t.push(' ');
        let mut seen = [false; 128];
        for &c in &ini[1..] {
            if !std::mem::replace(&mut seen[usize::from(c & 0x7f)], true) {
                t.push('i');
                t.push(first as char);
                t.push(c as char);
                t.push(' ');
            }
        }
    }
    t.pop();
    SearchKeys {
        tokens: t,
        pinyin,
        initials,
    }
}

/// The FTS5 query for part of a name, or `None` when the text has no letter
/// or digit to look up (the caller then scans).
pub(crate) fn text_match(q: &str) -> Option<String> {
    let chars = name_chars(q);
    match chars.as_slice() {
        [] => None,
        [c] => Some(format!("\"b{c}\"* OR \"e{c}\"")),
        _ => {
            let mut grams: Vec<String> = chars
                .windows(2)
                .map(|w| format!("\"b{}{}\"", w[0], w[1]))
                .collect();
            grams.sort();
            grams.dedup();
            Some(grams.join(" AND "))
        }
    }
}

/// The FTS5 query for pinyin or initials typed as lower-case ASCII letters
/// (`None` for anything else).
pub(crate) fn pinyin_match(q: &str) -> Option<String> {
    if q.is_empty() || !q.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let full = if q.len() <= PINYIN_GRAM {
        format!("\"p{q}\"*")
    } else {
        format!("\"p{}\"", &q[..PINYIN_GRAM])
    };
    let b = q.as_bytes();
    let initials = if b.len() == 1 {
        format!("\"f{q}\"")
    } else {
        let mut pairs: Vec<String> = b[1..]
            .iter()
            .map(|&c| format!("\"i{}{}\"", b[0] as char, c as char))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs.join(" AND ")
    };
    Some(format!("({full}) OR ({initials})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_name() {
        let k = keys("江苏恒远（钢业）");
        assert_eq!(k.pinyin, "jiangsuhengyuangangye");
        assert_eq!(k.initials, "jshygy");
        let t: Vec<&str> = k.tokens.split(' ').collect();
        assert_eq!(
            t,
            [
                "b江苏", "b苏恒", "b恒远", "b远钢", "b钢业", "e业", "pjiangs", "piangsu",
                "pangsuh", "pngsuhe", "pgsuhen", "psuheng", "puhengy", "phengyu", "pengyua",
                "pngyuan", "pgyuang", "pyuanga", "puangan", "pangang", "pngangy", "pgangye",
                "pangye", "pngye", "pgye", "pye", "pe", "fj", "ijs", "ijh", "ijy", "ijg"
            ]
        );
        assert_eq!(keys("ABC 贸易").initials, "abcmy");
    }

    #[test]
    fn queries() {
        assert_eq!(
            text_match("恒远钢").as_deref(),
            Some("\"b恒远\" AND \"b远钢\"")
        );
        assert_eq!(text_match("恒").as_deref(), Some("\"b恒\"* OR \"e恒\""));
        assert_eq!(text_match("（）"), None);
        assert_eq!(
            pinyin_match("jsgy").as_deref(),
            Some("(\"pjsgy\"*) OR (\"ijg\" AND \"ijs\" AND \"ijy\")")
        );
        assert_eq!(
            pinyin_match("hengyuan").as_deref(),
            Some("(\"phengyu\") OR (\"iha\" AND \"ihe\" AND \"ihg\" AND \"ihn\" AND \"ihu\" AND \"ihy\")")
        );
        assert_eq!(pinyin_match("j").as_deref(), Some("(\"pj\"*) OR (\"fj\")"));
        assert_eq!(pinyin_match("Jiang"), None);
    }
}
