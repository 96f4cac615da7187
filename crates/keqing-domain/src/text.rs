//! What a text a user types (or a file brings) may hold.
//!
//! A name, a phone or a note is shown on pages, printed on exports and
//! searched: a NUL byte, an escape sequence, a bell, a right-to-left
//! override or a name made only of zero-width characters is never what a
//! user meant, and each can hide or disguise what a page shows. Single-line
//! fields refuse every control character (line breaks and tabs too);
//! multi-line fields (notes, the relationship card) allow line breaks and
//! tabs and refuse the rest.

/// Why `s` may not be stored in a field, or `None` when it may. `s` is
/// already trimmed; an empty `s` is the caller's business.
pub fn text_problem(s: &str, multiline: bool) -> Option<&'static str> {
    // Most texts hold none of the bytes that can begin a character of
    // concern: C0 controls and DEL, C1 controls (0xC2 0x80-0x9F), and the
    // general punctuation block (0xE2: zero-width, direction marks and
    // overrides), U+180E (0xE1) and U+FEFF (0xEF).
    if !s
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || matches!(b, 0xc2 | 0xe1 | 0xe2 | 0xef))
    {
        return None;
    }
    let mut visible = false;
    for ch in s.chars() {
        match ch {
            '\n' | '\r' | '\t' if multiline => {}
            '\n' | '\r' => return Some("不能含有换行 must be one line, without line breaks"),
            c if c.is_control() => {
                return Some("含有控制字符 contains a control character (such as NUL, ESC or BEL)")
            }
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                return Some("含有文字方向控制符 contains a text direction override")
            }
            '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{180e}' => {}
            c if c.is_whitespace() => {}
            _ => visible = true,
        }
    }
    if visible {
        None
    } else {
        Some("只有不可见字符 holds only invisible characters")
    }
}

/// [`text_problem`] as a `Result`, for a field's parser.
pub fn check_text(s: &str, multiline: bool) -> Result<(), String> {
    match text_problem(s, multiline) {
        None => Ok(()),
        Some(m) => Err(m.to_string()),
    }
}

/// The first character of `s` no text field holds, whatever the field: NUL
/// and the other C0 controls but line breaks and tabs, DEL, C1 controls.
/// For free texts that are not a field of their own (a search, a body's
/// strings before they are parsed).
pub fn has_forbidden_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for s in [
            "江苏恒远钢业有限公司",
            "“老王”烟酒店（新街口店）",
            "ACME Ltd.",
            "张 三",
            "①号仓库",
            "Café Ω",
        ] {
            assert_eq!(text_problem(s, false), None, "{s}");
        }
    }

    #[test]
    fn controls_overrides_and_invisible_names_are_refused() {
        for s in [
            "客户\u{0}名",
            "客户\u{1b}[31m",
            "铃\u{7}",
            "abc\u{202e}fdp.exe",
            "隔离\u{2066}x",
            "\u{200b}\u{200c}\u{200d}",
            "\u{feff}",
            "\u{200b} \u{2060}",
            "c1\u{85}",
            "del\u{7f}",
        ] {
            assert!(text_problem(s, false).is_some(), "{s:?}");
            assert!(text_problem(s, true).is_some(), "{s:?} multiline");
        }
    }

    #[test]
    fn line_breaks_only_where_the_field_is_multi_line() {
        assert!(text_problem("第一行\n第二行", false).is_some());
        assert!(text_problem("第一行\r\n第二行", false).is_some());
        assert!(text_problem("a\tb", false).is_some());
        assert_eq!(text_problem("第一行\n第二行\t完", true), None);
    }

    #[test]
    fn forbidden_controls_in_free_text() {
        assert!(has_forbidden_control("\u{0}"));
        assert!(has_forbidden_control("a\u{1b}"));
        assert!(!has_forbidden_control("两行\n文字"));
        assert!(!has_forbidden_control("jsgy"));
    }
}
