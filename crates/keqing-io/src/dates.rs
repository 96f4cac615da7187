//! Dates and times as users type them in order files.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

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
}
