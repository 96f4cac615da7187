//! Money as integer fen (分). Never f64 in storage.

/// Parses an amount in yuan to fen: `¥1,234.50` → 123450, `-12.3` → -1230,
/// `1234元` → 123400. Accepts ¥ (U+00A5), ￥ (U+FFE5), `RMB`, thousands
/// separators and at most two decimals (more only when the extra digits are 0).
#[inline]
pub fn parse_amount_fen(s: &[u8]) -> Result<i64, &'static str> {
    // Fast path for plain `1234.56` / `1234.5` / `1234` (up to 15 digits of
    // yuan, so no overflow), inlined into the readers.
    let digit = |c: u8| i64::from(c.wrapping_sub(b'0'));
    let mut yuan: i64 = 0;
    let mut i = 0;
    while i < s.len().min(15) {
        let d = digit(s[i]);
        if !(0..10).contains(&d) {
            break;
        }
        yuan = yuan * 10 + d;
        i += 1;
    }
    if i > 0 {
        match s[i..] {
            [] => return Ok(yuan * 100),
            [b'.', a] if (0..10).contains(&digit(a)) => return Ok(yuan * 100 + digit(a) * 10),
            [b'.', a, b] if (0..10).contains(&digit(a)) && (0..10).contains(&digit(b)) => {
                return Ok(yuan * 100 + digit(a) * 10 + digit(b))
            }
            _ => {}
        }
    }
    parse_amount_general(s)
}

/// Every accepted form, with the reason when none fits.
#[inline(never)]
fn parse_amount_general(s: &[u8]) -> Result<i64, &'static str> {
    let mut s = crate::date::trim(s);
    let mut negative = false;
    if let [b'-', rest @ ..] = s {
        negative = true;
        s = rest;
    }
    for prefix in ["¥".as_bytes(), "￥".as_bytes(), b"RMB", b"CNY"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = crate::date::trim(rest);
            break;
        }
    }
    if let Some(rest) = s.strip_suffix("元".as_bytes()) {
        s = crate::date::trim(rest);
    }
    if let [b'-', rest @ ..] = s {
        if negative {
            return Err("not an amount");
        }
        negative = true;
        s = rest;
    }
    if s.is_empty() {
        return Err("empty amount");
    }
    let mut yuan: i64 = 0;
    let mut fen: i64 = 0;
    let mut digits = 0;
    let mut decimals: Option<u32> = None;
    for &c in s {
        match c {
            b'0'..=b'9' => {
                let d = i64::from(c - b'0');
                match decimals.as_mut() {
                    None => {
                        yuan = yuan
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(d))
                            .ok_or("amount too large")?;
                        digits += 1;
                    }
                    Some(n) => {
                        *n += 1;
                        if *n <= 2 {
                            fen = fen * 10 + d;
                        } else if d != 0 {
                            return Err("more than two decimal places (fen)");
                        }
                    }
                }
            }
            b',' if decimals.is_none() && digits > 0 => {}
            b'.' if decimals.is_none() => decimals = Some(0),
            _ => return Err("not an amount"),
        }
    }
    if digits == 0 && decimals.unwrap_or(0) == 0 {
        return Err("not an amount");
    }
    if decimals == Some(1) {
        fen *= 10;
    }
    let v = yuan
        .checked_mul(100)
        .and_then(|v| v.checked_add(fen))
        .ok_or("amount too large")?;
    Ok(if negative { -v } else { v })
}

/// `123450` → `"1234.50"`.
pub fn format_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yuan_to_fen() {
        let cases: &[(&str, i64)] = &[
            ("¥1,234.50", 123_450),
            ("￥1,234.5", 123_450),
            ("1234.5", 123_450),
            ("1234", 123_400),
            ("0.01", 1),
            (".5", 50),
            ("-12.30", -1230),
            ("¥-3", -300),
            ("RMB 88", 8800),
            ("1234元", 123_400),
            ("1.500", 150),
            (" 7 ", 700),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_amount_fen(s.as_bytes()), Ok(want), "{s}");
        }
    }

    #[test]
    fn refuses_non_amounts() {
        for s in [
            "",
            "abc",
            "1.234",
            "1,2a",
            "--1",
            "¥",
            ",100",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(parse_amount_fen(s.as_bytes()).is_err(), "{s}");
        }
    }

    #[test]
    fn formats_fen() {
        assert_eq!(format_fen(123_450), "1234.50");
        assert_eq!(format_fen(-5), "-0.05");
    }
}
