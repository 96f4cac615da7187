//! The name search index of both backends: on SQLite an FTS5 table
//! `customer_search` whose one indexed column holds tokens made here, on
//! PostgreSQL the same tokens as a customer's `search` tsvector under a GIN
//! index (schema 14; the queries are told to both, [`FtsQuery`]), so that
//! a search by part of the name, by pinyin or by pinyin initials reads a few
//! posting lists instead of scanning every customer (issue 2: p99 ≤ 10 ms at
//! a million customers). Each token is one word for FTS5's `ascii`
//! tokenizer (ASCII letters or digits, then any characters outside ASCII),
//! and its first letter says its kind:
//!
//! - `b` + two neighbouring characters of the name (letters and digits, any
//!   script, lower-case), and `e` + the last one: part of the name;
//! - `p` + up to eight letters of the pinyin from each syllable's start on:
//!   pinyin read from a syllable on (`keqing_domain::search::pinyin_matches`;
//!   a query of up to eight letters is a prefix query, and exact: two
//!   syllables typed in full mostly are, `hengyuan`, `shanghai`). Schema
//!   versions 4–10 took every letter as a start, 36 tokens for a
//!   ten-character name against 10 now; versions 11 and 12 took six letters;
//! - `f` + the first initial, and `o` + each ordered pair of initials (one
//!   somewhere before the other): initials typed in order from the first
//!   (`jsgy` for 江苏恒远钢业, initials `jshygy`). Pairing only the first
//!   initial with each later one (9 tokens instead of up to 45) was tried
//!   and measured: `shth` (上海泰和…) then had ten times the candidates to
//!   confirm, 60–140 ms instead of 12–20 ms at a million customers.
//!
//! Schemas 11 and 13 rebuilt the index with the pinyin tokens of their time.
//!
//! The tokens find the candidates. Where a token is exact (one or two
//! characters of a name, up to eight letters of pinyin, one initial) the
//! candidates are the answer; otherwise the name, pinyin or initials that
//! the index `customers_scope` holds confirm each one with the test the
//! PostgreSQL backend runs, so both backends give the same results. The FTS
//! table stores nothing but the tokens (schema 11).

/// Letters of pinyin in one `p` token.
const PINYIN_GRAM: usize = 8;

/// Stands for an ASCII space or punctuation mark, which the `ascii`
/// tokenizer would take as the end of a token.
const PUNCT: char = '\u{E000}';

/// The name as the index sees it: ASCII letters and digits in lower case
/// (`LIKE` ignores their case), other ASCII as [`PUNCT`], the rest as typed.
fn name_chars(s: &str) -> Vec<char> {
    s.chars()
        .map(|c| match c {
            _ if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ if c.is_ascii() => PUNCT,
            _ => c,
        })
        .collect()
}

/// A name with its readings (`keqing_domain::search::name_keys`), which the
/// index takes as they are computed for the customer row already.
pub(crate) struct Keyed<'a> {
    pub name: &'a str,
    pub pinyin: &'a str,
    pub initials: &'a str,
}

/// The search tokens of a name, separated by spaces.
///
/// Written as bytes into one buffer, each neighbouring pair of the name's
/// characters as the slice of the name that holds both: an import makes
/// them for every customer on the thread that prepares its rows.
pub(crate) fn tokens(k: &Keyed) -> String {
    let mut t: Vec<u8> = Vec::with_capacity(k.name.len() * 4 + k.pinyin.len() * 3 + 256);
    // The name as the index sees it (`name_chars`); most names need no
    // change.
    let plain = |b: u8| !b.is_ascii() || b.is_ascii_lowercase() || b.is_ascii_digit();
    let changed: String;
    let name = match k.name.bytes().all(plain) {
        true => k.name,
        false => {
            changed = name_chars(k.name).into_iter().collect();
            &changed
        }
    };
    // Where each character ends: the bigram of characters i and i + 1 is
    // the name from the start of i to the end of i + 1.
    let mut ends = name
        .char_indices()
        .map(|(i, _)| i)
        .skip(1)
        .chain(std::iter::once(name.len()));
    if let Some(first_end) = ends.next().filter(|_| !name.is_empty()) {
        let (mut start, mut mid) = (0, first_end);
        for end in ends {
            t.push(b'b');
            t.extend_from_slice(&name.as_bytes()[start..end]);
            t.push(b' ');
            (start, mid) = (mid, end);
        }
        t.push(b'e');
        t.extend_from_slice(&name.as_bytes()[start..mid]);
        t.push(b' ');
    }
    // From each syllable's start, its letters and the next ones': the
    // reading's letters without the spaces between syllables, and where
    // each syllable starts in them. Readings are ASCII letters and digits
    // (`for_each_syllable`); a byte outside ASCII would be written as the
    // character of that number.
    let py = k.pinyin.as_bytes();
    let mut letters = Vec::with_capacity(py.len());
    let mut starts = Vec::with_capacity(py.len() / 2 + 1);
    for (i, &b) in py.iter().enumerate() {
        if i == 0 || py[i - 1] == b' ' {
            starts.push(letters.len());
        }
        if b != b' ' {
            letters.push(b);
        }
    }
    for s in starts {
        t.push(b'p');
        let gram = &letters[s..letters.len().min(s + PINYIN_GRAM)];
        match gram.is_ascii() {
            true => t.extend_from_slice(gram),
            false => gram.iter().for_each(|&b| push_byte(&mut t, b)),
        }
        t.push(b' ');
    }
    let ini = k.initials.as_bytes();
    if let Some(&first) = ini.first() {
        t.push(b'f');
        push_byte(&mut t, first);
        t.push(b' ');
        // Every ordered pair of initials (a somewhere before b), once: a bit
        // for each pair of ASCII bytes, on the stack.
        let mut seen = [0u128; 128];
        for (i, &a) in ini.iter().enumerate() {
            let row = &mut seen[usize::from(a & 0x7f)];
            for &b in &ini[i + 1..] {
                let bit = 1u128 << (b & 0x7f);
                if *row & bit == 0 {
                    *row |= bit;
                    if a.is_ascii() && b.is_ascii() {
                        t.extend_from_slice(&[b'o', a, b, b' ']);
                    } else {
                        t.push(b'o');
                        push_byte(&mut t, a);
                        push_byte(&mut t, b);
                        t.push(b' ');
                    }
                }
            }
        }
    }
    t.pop();
    // SAFETY: `t` holds whole characters of the name (slices of a `str`
    // between character boundaries), ASCII bytes, and characters encoded
    // by `push_byte`: UTF-8 throughout. Checking it again took a fifth of
    // this function's instructions.
    unsafe { String::from_utf8_unchecked(t) }
}

/// A reading's byte as the character of that number, in UTF-8.
fn push_byte(t: &mut Vec<u8>, b: u8) {
    match b.is_ascii() {
        true => t.push(b),
        false => t.extend_from_slice(char::from(b).encode_utf8(&mut [0; 4]).as_bytes()),
    }
}

/// One token of a query: matched whole, or as the start of longer tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub token: String,
    pub prefix: bool,
}

impl Term {
    fn whole(token: String) -> Term {
        Term {
            token,
            prefix: false,
        }
    }

    fn prefix(token: String) -> Term {
        Term {
            token,
            prefix: true,
        }
    }
}

/// A query on the tokens, and whether its matches are the answer without a
/// `LIKE`: all of its terms (`any` false) or any of them. It is told to
/// SQLite's FTS5 ([`FtsQuery::fts5`]) and to PostgreSQL's text search
/// ([`FtsQuery::tsquery`]), which both hold the tokens of [`tokens`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FtsQuery {
    pub terms: Vec<Term>,
    pub any: bool,
    pub exact: bool,
}

impl FtsQuery {
    /// The FTS5 query (`"b恒远" AND "b远钢"`, `"b恒"* OR "e恒"`). Tokens hold
    /// no ASCII mark (`name_chars`, pinyin letters), so none needs quoting.
    pub fn fts5(&self) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| match t.prefix {
                true => format!("\"{}\"*", t.token),
                false => format!("\"{}\"", t.token),
            })
            .collect();
        terms.join(if self.any { " OR " } else { " AND " })
    }

    /// The same query as PostgreSQL `tsquery` text (`'b恒远' & 'b远钢'`,
    /// `'b恒':* | 'e恒'`), in parentheses: its lexemes are taken as written.
    pub fn tsquery(&self) -> String {
        let terms: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                let lexeme = t.token.replace('\\', "\\\\").replace('\'', "''");
                match t.prefix {
                    true => format!("'{lexeme}':*"),
                    false => format!("'{lexeme}'"),
                }
            })
            .collect();
        format!("({})", terms.join(if self.any { " | " } else { " & " }))
    }
}

/// The FTS5 query for part of a name, or `None` when the text has no
/// character to look up.
pub(crate) fn text_match(q: &str) -> Option<FtsQuery> {
    let chars = name_chars(q);
    // PUNCT stands for any ASCII mark: a query with one needs the LIKE.
    let plain = !chars.contains(&PUNCT);
    match chars.as_slice() {
        [] => None,
        [c] => Some(FtsQuery {
            terms: vec![Term::prefix(format!("b{c}")), Term::whole(format!("e{c}"))],
            any: true,
            exact: plain,
        }),
        _ => {
            let mut grams: Vec<String> = chars
                .windows(2)
                .map(|w| format!("b{}{}", w[0], w[1]))
                .collect();
            grams.sort();
            grams.dedup();
            Some(FtsQuery {
                terms: grams.into_iter().map(Term::whole).collect(),
                any: false,
                exact: plain && chars.len() == 2,
            })
        }
    }
}

/// The FTS5 queries for pinyin or initials typed as lower-case ASCII letters
/// (`None` for anything else).
pub(crate) struct PinyinQuery {
    /// Part of the full pinyin.
    pub full: FtsQuery,
    /// Initials in order from the first.
    pub initials: FtsQuery,
}

pub(crate) fn pinyin_match(q: &str) -> Option<PinyinQuery> {
    if q.is_empty() || !q.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let full = if q.len() <= PINYIN_GRAM {
        FtsQuery {
            terms: vec![Term::prefix(format!("p{q}"))],
            any: false,
            exact: true,
        }
    } else {
        FtsQuery {
            terms: vec![Term::whole(format!("p{}", &q[..PINYIN_GRAM]))],
            any: false,
            exact: false,
        }
    };
    let b = q.as_bytes();
    let initials = if b.len() == 1 {
        FtsQuery {
            terms: vec![Term::whole(format!("f{q}"))],
            any: false,
            exact: true,
        }
    } else {
        // The first initial, and each typed letter before the next: the
        // LIKE then checks the whole order.
        let mut terms: Vec<String> = b
            .windows(2)
            .map(|w| format!("o{}{}", w[0] as char, w[1] as char))
            .collect();
        terms.push(format!("f{}", b[0] as char));
        terms.sort();
        terms.dedup();
        FtsQuery {
            terms: terms.into_iter().map(Term::whole).collect(),
            any: false,
            exact: false,
        }
    };
    Some(PinyinQuery { full, initials })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_name() {
        let keys = |name: &str| {
            let k = keqing_domain::search::name_keys(name);
            tokens(&Keyed {
                name,
                pinyin: &k.pinyin,
                initials: &k.initials,
            })
        };
        let tokens = keys("江苏恒远钢业");
        let t: Vec<&str> = tokens.split(' ').collect();
        assert_eq!(
            t,
            [
                "b江苏",
                "b苏恒",
                "b恒远",
                "b远钢",
                "b钢业",
                "e业",
                "pjiangsuh",
                "psuhengyu",
                "phengyuan",
                "pyuangang",
                "pgangye",
                "pye",
                "fj",
                "ojs",
                "ojh",
                "ojy",
                "ojg",
                "osh",
                "osy",
                "osg",
                "ohy",
                "ohg",
                "oyg",
                "oyy",
                "ogy"
            ]
        );
        assert!(keys("ABC 贸易").ends_with(" fa oab oac oam oay obc obm oby ocm ocy omy"));
        assert_eq!(
            keys("A B"),
            "ba\u{E000} b\u{E000}b eb pab pb fa oab",
            "ASCII marks stay in the bigrams as one stand-in character"
        );
    }

    /// The tokens as schema 13 first wrote them, character by character.
    fn tokens_by_char(k: &Keyed) -> String {
        let chars = name_chars(k.name);
        let mut t = String::new();
        for (i, c) in chars.iter().enumerate() {
            match chars.get(i + 1) {
                Some(n) => t.extend(['b', *c, *n, ' ']),
                None => t.extend(['e', *c, ' ']),
            }
        }
        let py = k.pinyin.as_bytes();
        for s in (0..py.len()).filter(|&s| s == 0 || py[s - 1] == b' ') {
            t.push('p');
            let gram = py[s..].iter().filter(|&&b| b != b' ').take(PINYIN_GRAM);
            t.extend(gram.map(|&b| char::from(b)));
            t.push(' ');
        }
        let ini = k.initials.as_bytes();
        if let Some(&first) = ini.first() {
            t.extend(['f', first as char, ' ']);
            let mut pairs = vec![];
            for (i, &a) in ini.iter().enumerate() {
                for &b in &ini[i + 1..] {
                    if !pairs.contains(&(a & 0x7f, b & 0x7f)) {
                        pairs.push((a & 0x7f, b & 0x7f));
                        t.extend(['o', a as char, b as char, ' ']);
                    }
                }
            }
        }
        t.pop();
        t
    }

    #[test]
    fn tokens_as_written_character_by_character() {
        let names = [
            "",
            "恒",
            "江苏恒远钢业",
            "ABC 贸易",
            "A B",
            "a",
            "Ab-9号",
            "上海 Tech.有限公司",
            "  空格  ",
            "ÄÖ GmbH",
            "🙂笑脸店",
            "x1y2z3",
            "重庆重重重",
            "中国银行(北京)分行",
            "江苏省南京市玄武区恒远钢铁贸易有限责任公司第一分公司",
        ];
        for name in names {
            let k = keqing_domain::search::name_keys(name);
            let keyed = Keyed {
                name,
                pinyin: &k.pinyin,
                initials: &k.initials,
            };
            assert_eq!(tokens(&keyed), tokens_by_char(&keyed), "{name:?}");
        }
        // Readings with bytes outside ASCII and repeated initials.
        let keyed = Keyed {
            name: "张张",
            pinyin: "zhang zhang",
            initials: "zzé",
        };
        assert_eq!(tokens(&keyed), tokens_by_char(&keyed));
    }

    #[test]
    fn queries() {
        let t = |q: &str| text_match(q).map(|m| (m.fts5(), m.exact));
        assert_eq!(t("恒远钢"), Some(("\"b恒远\" AND \"b远钢\"".into(), false)));
        assert_eq!(t("恒远"), Some(("\"b恒远\"".into(), true)));
        assert_eq!(t("恒"), Some(("\"b恒\"* OR \"e恒\"".into(), true)));
        assert_eq!(t("A"), Some(("\"ba\"* OR \"ea\"".into(), true)));
        assert_eq!(
            t("a b"),
            Some(("\"ba\u{E000}\" AND \"b\u{E000}b\"".into(), false)),
            "ASCII marks need the LIKE"
        );
        assert_eq!(t(""), None);
        let p = pinyin_match("jsgy").unwrap();
        assert_eq!((p.full.fts5().as_str(), p.full.exact), ("\"pjsgy\"*", true));
        assert_eq!(
            (p.initials.fts5().as_str(), p.initials.exact),
            ("\"fj\" AND \"ogy\" AND \"ojs\" AND \"osg\"", false)
        );
        let p = pinyin_match("hengyuan").unwrap();
        assert_eq!(
            (p.full.fts5().as_str(), p.full.exact),
            ("\"phengyuan\"*", true)
        );
        assert_eq!(
            p.initials.fts5(),
            "\"fh\" AND \"oan\" AND \"oen\" AND \"ogy\" AND \"ohe\" AND \"ong\" AND \"oua\" AND \"oyu\""
        );
        let p = pinyin_match("jiangsuheng").unwrap();
        assert_eq!(
            (p.full.fts5().as_str(), p.full.exact),
            ("\"pjiangsuh\"", false),
            "past eight letters the pinyin needs its check"
        );
        let p = pinyin_match("j").unwrap();
        assert_eq!(
            (p.full.fts5().as_str(), p.initials.fts5().as_str()),
            ("\"pj\"*", "\"fj\"")
        );
        assert!(p.full.exact && p.initials.exact);
        assert!(pinyin_match("Jiang").is_none());
    }

    #[test]
    fn postgres_queries() {
        assert_eq!(text_match("恒").unwrap().tsquery(), "('b恒':* | 'e恒')");
        assert_eq!(
            text_match("恒远钢").unwrap().tsquery(),
            "('b恒远' & 'b远钢')"
        );
        let p = pinyin_match("jsgy").unwrap();
        assert_eq!(p.full.tsquery(), "('pjsgy':*)");
        assert_eq!(p.initials.tsquery(), "('fj' & 'ogy' & 'ojs' & 'osg')");
        let odd = FtsQuery {
            terms: vec![Term::whole("a'b\\c".into())],
            any: false,
            exact: false,
        };
        assert_eq!(
            odd.tsquery(),
            "('a''b\\\\c')",
            "quotes doubled, backslashes escaped"
        );
    }
}
