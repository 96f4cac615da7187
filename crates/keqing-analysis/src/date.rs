//! Calendar days as integers (days since 1970-01-01) and date parsing.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number.
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ISO form `2025-03-01`.
pub fn format_day(day: i32) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `2025-03-01`, `20250301`, `2025/3/1`, `2025.3.1`, `2025年3月1日`, each
/// optionally followed by a time (` 12:30:00`, `T12:30`), which is ignored.
#[inline]
pub fn parse_date(s: &[u8]) -> Result<i32, &'static str> {
    // Fast path for the common `2025-03-01`, inlined into the readers.
    if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *s {
        let v = |c: u8| u32::from(c.wrapping_sub(b'0'));
        let (a, b, c, d, e, f, g, h) = (v(y0), v(y1), v(y2), v(y3), v(m0), v(m1), v(d0), v(d1));
        if a < 10 && b < 10 && c < 10 && d < 10 && e < 10 && f < 10 && g < 10 && h < 10 {
            let (y, m, d) = (a * 1000 + b * 100 + c * 10 + d, e * 10 + f, g * 10 + h);
            if (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y as i32, m) {
                return Ok(days_from_civil(y as i32, m, d));
            }
        }
    }
    parse_date_general(s)
}

/// Every accepted form, with the reason when none fits.
#[inline(never)]
fn parse_date_general(s: &[u8]) -> Result<i32, &'static str> {
    let s = trim(s);
    if s.is_empty() {
        return Err("empty date");
    }
    let (y, m, d, rest) = if s.len() >= 8 && s[..8].iter().all(u8::is_ascii_digit) {
        let n = |a: usize, b: usize| {
            s[a..b]
                .iter()
                .fold(0u32, |v, c| v * 10 + u32::from(c - b'0'))
        };
        (n(0, 4), n(4, 6), n(6, 8), &s[8..])
    } else {
        let mut parts = [0u32; 3];
        let mut i = 0;
        for (k, part) in parts.iter_mut().enumerate() {
            let start = i;
            while i < s.len() && s[i].is_ascii_digit() && i - start < 4 {
                *part = *part * 10 + u32::from(s[i] - b'0');
                i += 1;
            }
            if i == start {
                return Err("not a date (expected 2025-03-01, 20250301 or 2025/3/1)");
            }
            if k == 0 && i - start != 4 {
                return Err("year must have four digits");
            }
            // Separator: '-', '/', '.', or the Chinese 年 / 月 (3 bytes each), 日 after the day.
            if k < 2 {
                if i < s.len() && matches!(s[i], b'-' | b'/' | b'.') {
                    i += 1;
                } else if s[i..].starts_with("年".as_bytes()) || s[i..].starts_with("月".as_bytes())
                {
                    i += 3;
                } else {
                    return Err("not a date (expected 2025-03-01, 20250301 or 2025/3/1)");
                }
            } else if s[i..].starts_with("日".as_bytes()) {
                i += 3;
            }
        }
        (parts[0], parts[1], parts[2], &s[i..])
    };
    if !rest.is_empty() && !matches!(rest[0], b' ' | b'T' | b't') {
        return Err("unexpected text after the date");
    }
    if !(1..=12).contains(&m) {
        return Err("month out of range");
    }
    if d == 0 || d > days_in_month(y as i32, m) {
        return Err("day out of range for the month");
    }
    Ok(days_from_civil(y as i32, m, d))
}

pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_civil_dates() {
        for z in -800_000..800_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_day(days_from_civil(2025, 3, 1)), "2025-03-01");
    }

    #[test]
    fn parses_all_accepted_forms() {
        let want = days_from_civil(2025, 3, 1);
        for s in [
            "2025-03-01",
            "20250301",
            "2025/3/1",
            "2025/03/01 08:15:00",
            "2025-03-01T23:59:59+08:00",
            "2025.3.1",
            "2025年3月1日",
            " 2025-3-1 ",
        ] {
            assert_eq!(parse_date(s.as_bytes()), Ok(want), "{s}");
        }
    }

    #[test]
    fn refuses_bad_dates() {
        for s in [
            "",
            "2025-13-01",
            "2025-02-29",
            "25-03-01",
            "2025-03",
            "yesterday",
            "2025-03-01x",
        ] {
            assert!(parse_date(s.as_bytes()).is_err(), "{s}");
        }
        assert!(parse_date(b"2024-02-29").is_ok());
    }
}
