//! Dates and times as users type them in order files.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use keqing_domain::customer::KeyDate;

/// China Standard Time: a date or time in a file without a zone is
/// wall-clock time in China (UTC+8, no daylight saving).
pub const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

fn help(s: &str) -> String {
    format!("不是日期 not a date: {s:?} (write 2025-03-01, 20250301 or 2025/3/1, with or without a time such as 14:30)")
}

/// Parses `2025-03-01`, `20250301`, `2025/3/1`, `2025.3.1`, `2025年3月1日`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let (d, t) = split(s).ok_or_else(|| help(s))?;
    if t.is_some() {
        // A date with a time where only a date is wanted: keep the date.
        parse_datetime(s).map(|dt| dt.date())
    } else {
        date_part(d).ok_or_else(|| help(s))
    }
}

/// Parses a date as [`parse_date`] does, optionally followed by a time
/// (`14:30`, `14:30:05`, `14:30:05.250`, separated by a space or `T`), or an
/// RFC 3339 timestamp with a zone (converted to China time).
pub fn parse_datetime(s: &str) -> Result<NaiveDateTime, String> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        if let Some(cn) = FixedOffset::east_opt(CHINA_OFFSET_SECONDS) {
            return Ok(dt.with_timezone(&cn).naive_local());
        }
    }
    let (d, time) = split(t).ok_or_else(|| help(s))?;
    let date = date_part(d).ok_or_else(|| help(s))?;
    let time = match time {
        None => NaiveTime::MIN,
        Some(tp) => time_part(tp).ok_or_else(|| help(s))?,
    };
    Ok(date.and_time(time))
}

/// Wall-clock time in China as a UTC instant.
pub fn china_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    (local - Duration::seconds(i64::from(CHINA_OFFSET_SECONDS))).and_utc()
}

fn split(s: &str) -> Option<(&str, Option<&str>)> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match t.find([' ', 'T', '\u{3000}']) {
        Some(i) => {
            let rest = t[i + 1..].trim();
            Some((&t[..i], (!rest.is_empty()).then_some(rest)))
        }
        None => Some((t, None)),
    }
}

fn date_part(d: &str) -> Option<NaiveDate> {
    let d = d.trim().trim_end_matches('日');
    let parts: Vec<&str> = if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        vec![&d[..4], &d[4..6], &d[6..]]
    } else {
        d.split(['-', '/', '.', '年', '月']).collect()
    };
    let [y, m, day] = parts.as_slice() else {
        return None;
    };
    // A four-digit year first: 3/1/2025 is refused rather than guessed.
    if y.len() != 4 || [y, m, day].iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, day.parse().ok()?)
}

fn time_part(t: &str) -> Option<NaiveTime> {
    let t = t.trim();
    let parts: Vec<&str> = t.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [h, m] => (*h, *m, "0"),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    let s = s.split('.').next().unwrap_or("0");
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, s.parse().ok()?)
}

/// How a file writes a customer's key dates (重要日期): each a name and a
/// date, a lunar one (stored as its lunar year, month and day) after 农历, the
/// dates apart by `；`. [`parse_key_dates`] reads it back.
pub fn key_dates_text(dates: &[KeyDate]) -> String {
    dates
        .iter()
        .map(|d| {
            let lunar = if d.lunar { "农历" } else { "" };
            format!("{} {lunar}{}", d.name, d.date.format("%Y-%m-%d"))
        })
        .collect::<Vec<_>>()
        .join("；")
}

fn key_dates_help(s: &str) -> String {
    format!(
        "重要日期格式不正确 bad key dates: {s:?} (write 公司成立日 2006-05-18；周年庆 农历2001-08-15)"
    )
}

/// A cell of key dates as [`key_dates_text`] writes them; the dates may also
/// be apart by `;` or a line break, a name from its date by `:` or `：`, and a
/// date in any form [`parse_date`] reads.
pub fn parse_key_dates(s: &str) -> Result<Vec<KeyDate>, String> {
    let mut out = vec![];
    for entry in s
        .split(['；', ';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let sep = |c: char| c.is_whitespace() || c == ':' || c == '：';
        let (name, date) = entry
            .rsplit_once(sep)
            .map(|(n, d)| (n.trim_end_matches(sep).trim(), d))
            .filter(|(n, d)| !n.is_empty() && !d.is_empty())
            .ok_or_else(|| key_dates_help(entry))?;
        let (lunar, date) = ["农历", "阴历"]
            .iter()
            .find_map(|p| date.strip_prefix(p))
            .map_or((false, date), |d| (true, d));
        let date = parse_date(date).map_err(|_| key_dates_help(entry))?;
        out.push(KeyDate {
            name: name.to_string(),
            date,
            lunar,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_users_type() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        for s in [
            "2025-03-01",
            "20250301",
            "2025/3/1",
            "2025.3.1",
            "2025年3月1日",
            " 2025-3-01 ",
        ] {
            assert_eq!(parse_date(s), Ok(d), "{s}");
            assert_eq!(parse_datetime(s), Ok(d.and_time(NaiveTime::MIN)), "{s}");
        }
        let dt = d.and_hms_opt(14, 30, 0).unwrap();
        for s in [
            "2025-03-01 14:30",
            "2025/3/1 14:30:00",
            "2025-03-01T14:30:00",
            "2025-03-01T06:30:00Z",
            "2025-03-01 14:30:00.000",
        ] {
            assert_eq!(parse_datetime(s), Ok(dt), "{s}");
        }
        assert_eq!(parse_date("2025-03-01 14:30"), Ok(d));
        for s in [
            "",
            "2025-02-30",
            "3/1/2025",
            "2025-03",
            "yesterday",
            "2025-03-01 25:00",
        ] {
            assert!(parse_datetime(s).is_err(), "{s}");
        }
        assert_eq!(china_to_utc(dt).to_rfc3339(), "2025-03-01T06:30:00+00:00");
    }

    #[test]
    fn key_dates_as_a_cell() {
        let d = |name: &str, date: &str, lunar| KeyDate {
            name: name.into(),
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            lunar,
        };
        let dates = vec![
            d("公司成立日", "2006-05-18", false),
            d("周年 庆典", "2001-08-15", true),
        ];
        let text = key_dates_text(&dates);
        assert_eq!(text, "公司成立日 2006-05-18；周年 庆典 农历2001-08-15");
        assert_eq!(parse_key_dates(&text).unwrap(), dates);
        assert_eq!(
            parse_key_dates("公司成立日：2006/5/18; 周年 庆典:阴历2001年8月15日\n").unwrap(),
            dates
        );
        assert_eq!(parse_key_dates(" ").unwrap(), vec![]);
        for bad in ["2006-05-18", "公司成立日", "公司成立日 去年", "成立日 农历"] {
            let e = parse_key_dates(bad).unwrap_err();
            assert!(e.starts_with("重要日期格式不正确"), "{bad}: {e}");
        }
    }
}
