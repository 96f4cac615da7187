//! The Chinese lunisolar calendar (农历) and the 24 solar terms (节气), for
//! the years 1901–2099.
//!
//! All astronomy comes from [`tyme4rs`] (ShouXing / 寿星 algorithms: computed
//! new moons and solar terms in Beijing time, UTC+8). This module only puts
//! typed, range-checked, panic-free wrappers around it: tyme4rs panics on
//! invalid input in its `from_*` constructors, so every call here goes
//! through its validating `new` functions or is guarded by a range check
//! first. See the crate README for why tyme4rs was chosen and how it is
//! cross-checked.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use tyme4rs::tyme::lunar::{LunarMonth, LunarYear};
use tyme4rs::tyme::solar::{SolarDay, SolarTerm};
use tyme4rs::tyme::Tyme;

use crate::error::{CareError, Result};

/// First solar year the calendar is supported (and cross-checked) for.
pub const FIRST_YEAR: i32 = 1901;
/// Last solar year the calendar is supported (and cross-checked) for.
pub const LAST_YEAR: i32 = 2099;

/// First supported solar date, 1901-01-01.
pub fn first_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Last supported solar date, 2099-12-31.
pub fn last_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Refuses a solar date outside 1901-01-01..=2099-12-31.
pub fn check_date(date: NaiveDate) -> Result<()> {
    let (first, last) = (first_date(), last_date());
    if date < first || date > last {
        return Err(CareError::DateOutOfRange { date, first, last });
    }
    Ok(())
}

/// Refuses a year outside 1901..=2099.
pub fn check_year(year: i32) -> Result<()> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(CareError::YearOutOfRange {
            year,
            first: FIRST_YEAR,
            last: LAST_YEAR,
        });
    }
    Ok(())
}

/// Lunar years that have days inside the supported solar range: lunar 1900
/// (which runs into 1901) to lunar 2099.
fn check_lunar_year(year: i32) -> Result<()> {
    if !(FIRST_YEAR - 1..=LAST_YEAR).contains(&year) {
        return Err(CareError::YearOutOfRange {
            year,
            first: FIRST_YEAR - 1,
            last: LAST_YEAR,
        });
    }
    Ok(())
}

fn tyme_month(year: i32, month: u32, leap: bool) -> Result<LunarMonth> {
    check_lunar_year(year)?;
    if !(1..=12).contains(&month) {
        return Err(CareError::InvalidDate {
            calendar: "lunar",
            detail: format!("month {month} is not 1..=12"),
        });
    }
    if leap && leap_month(year)? != Some(month) {
        return Err(CareError::NoSuchLeapMonth { year, month });
    }
    let signed = if leap {
        -(month as isize)
    } else {
        month as isize
    };
    LunarMonth::new(year as isize, signed).map_err(|e| CareError::InvalidDate {
        calendar: "lunar",
        detail: e,
    })
}

fn to_naive(day: &SolarDay) -> Result<NaiveDate> {
    let (y, m, d) = (day.get_year(), day.get_month(), day.get_day());
    NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32).ok_or_else(|| CareError::InvalidDate {
        calendar: "solar",
        detail: format!("{y}-{m}-{d} from the calendar library"),
    })
}

/// The leap month (闰月) of a lunar year, if it has one.
pub fn leap_month(year: i32) -> Result<Option<u32>> {
    check_lunar_year(year)?;
    let m = LunarYear::new(year as isize)
        .map_err(|e| CareError::InvalidDate {
            calendar: "lunar",
            detail: e,
        })?
        .get_leap_month();
    Ok((m > 0).then_some(m as u32))
}

/// Number of days (29 or 30) of a lunar month.
pub fn month_days(year: i32, month: u32, leap: bool) -> Result<u32> {
    Ok(tyme_month(year, month, leap)?.get_day_count() as u32)
}

/// A date of the Chinese lunar calendar: lunar year, month 1–12, leap flag,
/// day 1–30. Only dates that exist can be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LunarDate {
    year: i32,
    month: u32,
    leap: bool,
    day: u32,
}

impl LunarDate {
    /// The lunar date `year`-`month`-`day`, `leap` for a day of the leap
    /// month (闰月). Refuses days the month does not have and leap months the
    /// year does not have.
    pub fn new(year: i32, month: u32, day: u32, leap: bool) -> Result<Self> {
        let m = tyme_month(year, month, leap)?;
        if day == 0 || day as usize > m.get_day_count() {
            return Err(CareError::InvalidDate {
                calendar: "lunar",
                detail: format!(
                    "{year} {}month {month} has {} days, not day {day}",
                    if leap { "leap " } else { "" },
                    m.get_day_count()
                ),
            });
        }
        Ok(Self {
            year,
            month,
            leap,
            day,
        })
    }

    /// The lunar date of a solar date.
    pub fn from_solar(date: NaiveDate) -> Result<Self> {
        check_date(date)?;
        let day = SolarDay::new(
            date.year() as isize,
            date.month() as usize,
            date.day() as usize,
        )
        .map_err(|e| CareError::InvalidDate {
            calendar: "solar",
            detail: e,
        })?
        .get_lunar_day();
        let signed = day.get_month();
        Ok(Self {
            year: day.get_year() as i32,
            month: signed.unsigned_abs() as u32,
            leap: signed < 0,
            day: day.get_day() as u32,
        })
    }

    /// The solar (Gregorian) date of this lunar date.
    pub fn to_solar(self) -> Result<NaiveDate> {
        let m = tyme_month(self.year, self.month, self.leap)?;
        let first = m.get_first_julian_day().get_solar_day();
        let first = to_naive(&first)?;
        Ok(first + chrono::Days::new(u64::from(self.day - 1)))
    }

    /// Lunar year (the year in which its first month starts).
    pub fn year(self) -> i32 {
        self.year
    }
    /// Lunar month 1–12.
    pub fn month(self) -> u32 {
        self.month
    }
    /// Whether the day is in the leap month (闰月).
    pub fn is_leap(self) -> bool {
        self.leap
    }
    /// Day of the month 1–30.
    pub fn day(self) -> u32 {
        self.day
    }
}

impl fmt::Display for LunarDate {
    /// `2023-闰02-30` style: year, month (闰 for a leap month), day.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let leap = if self.leap { "闰" } else { "" };
        write!(f, "{}-{leap}{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl<'de> Deserialize<'de> for LunarDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            year: i32,
            month: u32,
            #[serde(default)]
            leap: bool,
            day: u32,
        }
        let r = Raw::deserialize(d)?;
        LunarDate::new(r.year, r.month, r.day, r.leap).map_err(serde::de::Error::custom)
    }
}

/// Where a lunar month-day falls in lunar year `year`, with the anniversary
/// rules of [`crate::anniversary`]: a leap-month date the year lacks falls in
/// the ordinary month, a 30th the month lacks on the 29th. Returns the lunar
/// date actually used and its solar date. One month lookup: cheap enough to
/// call for every year of a 200-year calendar.
pub fn resolve(year: i32, month: u32, day: u32, leap: bool) -> Result<(LunarDate, NaiveDate)> {
    check_lunar_year(year)?;
    if !(1..=30).contains(&day) {
        return Err(CareError::InvalidDate {
            calendar: "lunar",
            detail: format!("day {day} is not 1..=30"),
        });
    }
    let leap = leap && leap_month(year)? == Some(month);
    let m = tyme_month(year, month, leap)?;
    // Months have 29 or 30 days: only a 30th needs the month's length.
    let day = if day == 30 {
        day.min(m.get_day_count() as u32)
    } else {
        day
    };
    let first = to_naive(&m.get_first_julian_day().get_solar_day())?;
    let lunar = LunarDate {
        year,
        month,
        leap,
        day,
    };
    Ok((lunar, first + chrono::Days::new(u64::from(day - 1))))
}

/// The lunar date of every solar day from `from` to `to` inclusive, in order.
/// Much cheaper than calling [`LunarDate::from_solar`] per day: months are
/// walked, not recomputed.
pub fn lunar_days(from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, LunarDate)>> {
    check_date(from)?;
    check_date(to)?;
    if from > to {
        return Err(CareError::EmptyRange { from, to });
    }
    let start = LunarDate::from_solar(from)?;
    let mut month = tyme_month(start.year, start.month, start.leap)?;
    let mut month_len = month.get_day_count() as u32;
    let mut cur = start;
    let mut out = Vec::with_capacity((to - from).num_days() as usize + 1);
    let mut date = from;
    loop {
        out.push((date, cur));
        if date >= to {
            break;
        }
        date = date.succ_opt().ok_or(CareError::DateOutOfRange {
            date,
            first: first_date(),
            last: last_date(),
        })?;
        if cur.day < month_len {
            cur.day += 1;
        } else {
            month = month.next(1);
            month_len = month.get_day_count() as u32;
            let signed = month.get_month_with_leap();
            cur = LunarDate {
                year: month.get_year() as i32,
                month: signed.unsigned_abs() as u32,
                leap: signed < 0,
                day: 1,
            };
        }
    }
    Ok(out)
}

/// The 24 solar terms (二十四节气) in calendar-year order, starting with
/// 小寒 (early January) and ending with 冬至 (late December).
pub const SOLAR_TERMS: [&str; 24] = [
    "小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满", "芒种", "夏至",
    "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至",
];

/// Index of 清明 in [`SOLAR_TERMS`].
pub const QINGMING: usize = 6;

/// The day (Beijing time) of solar term `term` (index into [`SOLAR_TERMS`])
/// in solar year `year`.
pub fn solar_term_date(year: i32, term: usize) -> Result<NaiveDate> {
    check_year(year)?;
    if term >= SOLAR_TERMS.len() {
        return Err(CareError::InvalidParameter {
            name: "term",
            detail: format!("solar term index {term} is not 0..24"),
        });
    }
    // tyme4rs counts a year's terms from the previous December's 冬至 (index
    // 0): 小寒 of `year` is its index 1, and `year`'s own 冬至 is index 0 of
    // `year + 1`.
    let t = if term == 23 {
        SolarTerm::from_index(year as isize + 1, 0)
    } else {
        SolarTerm::from_index(year as isize, term as isize + 1)
    };
    to_naive(&t.get_solar_day())
}

/// Qingming (清明) of a solar year, in Beijing time.
pub fn qingming(year: i32) -> Result<NaiveDate> {
    solar_term_date(year, QINGMING)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn known_dates() {
        // 2026 Spring Festival is Feb 17; 2023 had a leap 2nd month.
        assert_eq!(
            LunarDate::new(2026, 1, 1, false)
                .unwrap()
                .to_solar()
                .unwrap(),
            d(2026, 2, 17)
        );
        assert_eq!(leap_month(2023).unwrap(), Some(2));
        assert_eq!(leap_month(2026).unwrap(), None);
        assert_eq!(
            LunarDate::new(2023, 2, 1, true)
                .unwrap()
                .to_solar()
                .unwrap(),
            d(2023, 3, 22)
        );
        let l = LunarDate::from_solar(d(2023, 3, 22)).unwrap();
        assert_eq!(
            (l.year(), l.month(), l.day(), l.is_leap()),
            (2023, 2, 1, true)
        );
        assert_eq!(l.to_string(), "2023-闰02-01");
        // The first supported day is still in lunar 1900.
        assert_eq!(LunarDate::from_solar(d(1901, 1, 1)).unwrap().year(), 1900);
    }

    #[test]
    fn refuses_impossible_dates() {
        assert!(matches!(
            LunarDate::new(2026, 2, 1, true),
            Err(CareError::NoSuchLeapMonth {
                year: 2026,
                month: 2
            })
        ));
        assert!(LunarDate::new(2026, 13, 1, false).is_err());
        assert!(LunarDate::new(2026, 1, 0, false).is_err());
        assert!(LunarDate::new(2026, 1, 31, false).is_err());
        assert!(LunarDate::from_solar(d(1900, 12, 31)).is_err());
        assert!(LunarDate::from_solar(d(2100, 1, 1)).is_err());
        assert!(qingming(2100).is_err());
    }

    #[test]
    fn solar_terms() {
        assert_eq!(qingming(2026).unwrap(), d(2026, 4, 5));
        assert_eq!(qingming(2025).unwrap(), d(2025, 4, 4));
        assert_eq!(solar_term_date(2026, 0).unwrap(), d(2026, 1, 5)); // 小寒
        assert_eq!(solar_term_date(2026, 23).unwrap(), d(2026, 12, 22)); // 冬至
    }

    #[test]
    fn lunar_days_walks_months() {
        let days = lunar_days(d(2023, 3, 20), d(2023, 4, 21)).unwrap();
        for (solar, lunar) in &days {
            assert_eq!(LunarDate::from_solar(*solar).unwrap(), *lunar, "{solar}");
        }
        assert_eq!(days.len(), 33);
    }

    #[test]
    fn lunar_date_deserialize_validates() {
        let ok: LunarDate = serde_json::from_str(r#"{"year":2023,"month":2,"leap":true,"day":29}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ok.is_leap());
        // 2023 闰二月 has 29 days.
        assert!(serde_json::from_str::<LunarDate>(
            r#"{"year":2023,"month":2,"leap":true,"day":30}"#
        )
        .is_err());
        assert!(serde_json::from_str::<LunarDate>(
            r#"{"year":2026,"month":2,"leap":true,"day":1}"#
        )
        .is_err());
    }
}
