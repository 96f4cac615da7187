//! Working days on the Chinese statutory calendar (SPEC §6: time progress
//! counts working days only).
//!
//! A day is a working day when it is Monday to Friday and not a statutory
//! holiday, or when it is a make-up working day (调休) on a weekend. The
//! holidays and make-up days come from `tyme4rs`' legal-holiday data (the
//! State Council's yearly notices, 2001 onwards), read once into a sorted
//! map; nothing here is a hand-made table. A year the data does not cover
//! yet (the notice for year N comes out late in year N − 1) counts Monday to
//! Friday only: [`holidays_known`] says which years are covered.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tyme4rs::tyme::holiday::LEGAL_HOLIDAY_DATA;

/// Each day the statutory calendar changes: `true` a make-up working day,
/// `false` a holiday.
fn overrides() -> &'static BTreeMap<NaiveDate, bool> {
    static MAP: OnceLock<BTreeMap<NaiveDate, bool>> = OnceLock::new();
    MAP.get_or_init(|| {
        // Records of 13 characters: YYYYMMDD, 0 (working) or 1 (holiday),
        // the holiday's index, and a signed offset to the holiday itself.
        let bytes = LEGAL_HOLIDAY_DATA.as_bytes();
        bytes
            .chunks_exact(13)
            .filter_map(|rec| {
                let s = std::str::from_utf8(rec).ok()?;
                let day = NaiveDate::parse_from_str(&s[..8], "%Y%m%d").ok()?;
                Some((day, &s[8..9] == "0"))
            })
            .collect()
    })
}

/// Whether the statutory calendar of `year` is in the data.
pub fn holidays_known(year: i32) -> bool {
    let (from, to) = year_bounds(year);
    overrides().range(from..=to).next().is_some()
}

fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX),
    )
}

fn weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Whether `day` is a working day: a weekday that is no holiday, or a
/// make-up working day.
pub fn is_working_day(day: NaiveDate) -> bool {
    match overrides().get(&day) {
        Some(&work) => work,
        None => !weekend(day),
    }
}

/// Monday-to-Friday days from `from` to `to`, both included (0 when `to` is
/// before `from`).
fn weekdays(from: NaiveDate, to: NaiveDate) -> u32 {
    if to < from {
        return 0;
    }
    let days = (to - from).num_days() + 1;
    let full_weeks = days / 7;
    let mut n = full_weeks * 5;
    let mut d = from + chrono::Duration::days(full_weeks * 7);
    while d <= to {
        if !weekend(d) {
            n += 1;
        }
        d = d.succ_opt().unwrap_or(NaiveDate::MAX);
        if d == NaiveDate::MAX {
            break;
        }
    }
    n as u32
}

/// Working days from `from` to `to`, both included: weekdays, less the
/// holidays that fall on one, plus the make-up days that fall on a weekend.
pub fn working_days(from: NaiveDate, to: NaiveDate) -> u32 {
    if to < from {
        return 0;
    }
    let mut n = weekdays(from, to) as i64;
    for (&day, &work) in overrides().range(from..=to) {
        match (weekend(day), work) {
            (true, true) => n += 1,
            (false, false) => n -= 1,
            _ => {}
        }
    }
    n.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn spring_festival_and_its_make_up_days() {
        // 2026: 春节 15–23 February off; Saturday 14 and Saturday 28 worked.
        assert!(is_working_day(d(2026, 2, 14)));
        assert!(!is_working_day(d(2026, 2, 16)));
        assert!(is_working_day(d(2026, 2, 28)));
        assert!(!is_working_day(d(2026, 2, 21)));
        // February 2026: 20 weekdays, 6 of them holidays (16–20, 23), 2
        // make-up Saturdays.
        assert_eq!(working_days(d(2026, 2, 1), d(2026, 2, 28)), 16);
        // October 2026: National Day 1–7 off (5 weekdays), Saturday 10 worked.
        assert_eq!(working_days(d(2026, 10, 1), d(2026, 10, 31)), 22 - 5 + 1);
    }

    #[test]
    fn a_year_counts_the_statutory_calendar() {
        // Day by day through tyme4rs' own lookup, against the counting.
        use tyme4rs::tyme::holiday::LegalHoliday;
        for year in [2008, 2024, 2025, 2026] {
            let (from, to) = year_bounds(year);
            let by_library = from
                .iter_days()
                .take_while(|&x| x <= to)
                .filter(|x| {
                    match LegalHoliday::from_ymd(
                        year as isize,
                        x.month() as usize,
                        x.day() as usize,
                    ) {
                        Some(h) => h.is_work(),
                        None => !weekend(*x),
                    }
                })
                .count() as u32;
            assert_eq!(working_days(from, to), by_library, "{year}");
        }
        // 2025 had 248 working days on the State Council's calendar.
        assert_eq!(working_days(d(2025, 1, 1), d(2025, 12, 31)), 248);
        assert!(holidays_known(2025));
        assert!(!holidays_known(2099));
        // A year without data: Monday to Friday.
        assert_eq!(working_days(d(2099, 1, 1), d(2099, 1, 31)), 22);
        assert_eq!(working_days(d(2026, 3, 2), d(2026, 3, 1)), 0);
    }
}
