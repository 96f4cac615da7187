//! Birthdays and company dates (生日, 公司成立日…) kept as solar or lunar
//! month-days, and the solar dates on which they fall in a given range.
//!
//! Rules for dates a year lacks (SPEC §4 "falls on a defined day"):
//! - a solar **Feb 29** falls on **Feb 28** in common years;
//! - a lunar **30th** falls on the **29th** in a year whose month has 29 days
//!   (a lunar month has 29 or 30 days, never fewer);
//! - a **leap-month** date (闰月) falls on that day of the leap month in years
//!   that have that leap month, and in the **ordinary month of the same
//!   number** in all other years (the common Chinese practice: someone born
//!   in 闰四月 celebrates in 四月 when there is no 闰四月);
//! - an **ordinary-month** date always falls in the ordinary month, also in
//!   years that have a leap month of that number;
//! - when the original year is known, no occurrence is given before the
//!   original date itself (a company founded in 2010 has no 2009 founding
//!   day); the occurrence's `years` is the number of years since then.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{CareError, Result};
use crate::lunar::{self, LunarDate};

fn is_leap_year(year: i32) -> bool {
    NaiveDate::from_ymd_opt(year, 2, 29).is_some()
}

/// A solar (Gregorian) month and day, with the original year when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MonthDay {
    month: u32,
    day: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<i32>,
}

impl MonthDay {
    /// `month`-`day` (Feb 29 allowed), with the original `year` if known; a
    /// known year must contain the date.
    pub fn new(month: u32, day: u32, year: Option<i32>) -> Result<Self> {
        // 2000 is a leap year: every month-day that exists at all exists in it.
        let check_year = year.unwrap_or(2000);
        if NaiveDate::from_ymd_opt(check_year, month, day).is_none() {
            return Err(CareError::InvalidDate {
                calendar: "solar",
                detail: match year {
                    Some(y) => format!("{y}-{month:02}-{day:02} does not exist"),
                    None => format!("--{month:02}-{day:02} does not exist"),
                },
            });
        }
        Ok(Self { month, day, year })
    }

    /// From a full solar date (the original year is kept).
    pub fn from_date(date: NaiveDate) -> Self {
        Self {
            month: date.month(),
            day: date.day(),
            year: Some(date.year()),
        }
    }

    pub fn month(self) -> u32 {
        self.month
    }
    pub fn day(self) -> u32 {
        self.day
    }
    pub fn year(self) -> Option<i32> {
        self.year
    }

    /// The day it falls on in solar `year` (Feb 29 → Feb 28 in common
    /// years); `None` before the original year.
    pub fn in_year(self, year: i32) -> Option<NaiveDate> {
        if self.year.is_some_and(|y| year < y) {
            return None;
        }
        if self.month == 2 && self.day == 29 && !is_leap_year(year) {
            return NaiveDate::from_ymd_opt(year, 2, 28);
        }
        NaiveDate::from_ymd_opt(year, self.month, self.day)
    }
}

impl<'de> Deserialize<'de> for MonthDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            month: u32,
            day: u32,
            #[serde(default)]
            year: Option<i32>,
        }
        let r = Raw::deserialize(d)?;
        MonthDay::new(r.month, r.day, r.year).map_err(serde::de::Error::custom)
    }
}

/// A lunar month and day (农历), leap flag, and the original lunar year when
/// known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LunarMonthDay {
    month: u32,
    day: u32,
    #[serde(default)]
    leap: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<i32>,
}

impl LunarMonthDay {
    /// Lunar `month` 1–12, `day` 1–30, `leap` for a leap-month (闰月) date,
    /// with the original lunar `year` if known. A known year within
    /// 1900–2099 must contain the date (a leap month that year really had, a
    /// 30th its month really had); older years are taken as given.
    pub fn new(month: u32, day: u32, leap: bool, year: Option<i32>) -> Result<Self> {
        if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
            return Err(CareError::InvalidDate {
                calendar: "lunar",
                detail: format!("month {month} day {day} (month 1..=12, day 1..=30)"),
            });
        }
        if let Some(y) = year {
            if (lunar::FIRST_YEAR - 1..=lunar::LAST_YEAR).contains(&y) {
                LunarDate::new(y, month, day, leap)?;
            }
        }
        Ok(Self {
            month,
            day,
            leap,
            year,
        })
    }

    /// From a full lunar date (the original year is kept).
    pub fn from_date(date: LunarDate) -> Self {
        Self {
            month: date.month(),
            day: date.day(),
            leap: date.is_leap(),
            year: Some(date.year()),
        }
    }

    pub fn month(self) -> u32 {
        self.month
    }
    pub fn day(self) -> u32 {
        self.day
    }
    pub fn is_leap(self) -> bool {
        self.leap
    }
    pub fn year(self) -> Option<i32> {
        self.year
    }

    /// The lunar date it falls on in lunar year `year`, with the module's
    /// rules for a missing leap month or 30th; `None` before the original
    /// year.
    pub fn in_lunar_year(self, year: i32) -> Result<Option<LunarDate>> {
        if self.year.is_some_and(|y| year < y) {
            return Ok(None);
        }
        Ok(Some(
            lunar::resolve(year, self.month, self.day, self.leap)?.0,
        ))
    }

    /// The solar date it falls on in lunar year `year` (see
    /// [`Self::in_lunar_year`]).
    pub fn solar_in_lunar_year(self, year: i32) -> Result<Option<NaiveDate>> {
        if self.year.is_some_and(|y| year < y) {
            return Ok(None);
        }
        Ok(Some(
            lunar::resolve(year, self.month, self.day, self.leap)?.1,
        ))
    }
}

impl<'de> Deserialize<'de> for LunarMonthDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            month: u32,
            day: u32,
            #[serde(default)]
            leap: bool,
            #[serde(default)]
            year: Option<i32>,
        }
        let r = Raw::deserialize(d)?;
        LunarMonthDay::new(r.month, r.day, r.leap, r.year).map_err(serde::de::Error::custom)
    }
}

/// A yearly date kept in either calendar: a birthday (生日, 公历或农历) or a
/// company's important date. JSON: `{"calendar":"lunar","month":4,"day":30,"leap":true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "calendar", rename_all = "snake_case")]
pub enum Anniversary {
    Solar(MonthDay),
    Lunar(LunarMonthDay),
}

/// One occurrence of an [`Anniversary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AnniversaryDate {
    pub date: NaiveDate,
    /// Years since the original date, when its year is known (a birthday's
    /// age, a company's 10th anniversary).
    pub years: Option<u32>,
}

impl Anniversary {
    /// Every solar date from `from` to `to` (inclusive, both within
    /// 1901–2099) on which this anniversary falls, in order.
    pub fn dates(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<AnniversaryDate>> {
        lunar::check_date(from)?;
        lunar::check_date(to)?;
        if from > to {
            return Err(CareError::EmptyRange { from, to });
        }
        let mut out = Vec::new();
        match *self {
            Anniversary::Solar(md) => {
                for y in from.year()..=to.year() {
                    if let Some(date) = md.in_year(y) {
                        if date >= from && date <= to {
                            let years = md.year.map(|oy| (y - oy) as u32);
                            out.push(AnniversaryDate { date, years });
                        }
                    }
                }
            }
            Anniversary::Lunar(lmd) => {
                // A lunar year starts in Jan/Feb of the solar year of the
                // same number, so its dates lie in that solar year or early
                // the next one.
                let first = (from.year() - 1).max(lunar::FIRST_YEAR - 1);
                for y in first..=to.year() {
                    if let Some(date) = lmd.solar_in_lunar_year(y)? {
                        if date >= from && date <= to {
                            let years = lmd.year.map(|oy| (y - oy) as u32);
                            out.push(AnniversaryDate { date, years });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The key this anniversary is indexed under (see [`keys_on`]).
    pub fn key(&self) -> AnniversaryKey {
        match *self {
            Anniversary::Solar(md) => AnniversaryKey::Solar {
                month: md.month,
                day: md.day,
            },
            Anniversary::Lunar(l) => AnniversaryKey::Lunar {
                month: l.month,
                day: l.day,
                leap: l.leap,
            },
        }
    }

    /// The original year (solar or lunar), if known.
    pub fn origin_year(&self) -> Option<i32> {
        match self {
            Anniversary::Solar(md) => md.year,
            Anniversary::Lunar(l) => l.year,
        }
    }
}

/// An anniversary without its year: what is looked up per day when
/// planning for many contacts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnniversaryKey {
    Solar { month: u32, day: u32 },
    Lunar { month: u32, day: u32, leap: bool },
}

impl AnniversaryKey {
    /// Number of distinct keys: [`Self::dense_index`] is below it.
    pub const COUNT: usize = 12 * 31 + 12 * 30 * 2;

    /// A distinct small number per key, for table lookups.
    pub fn dense_index(self) -> usize {
        match self {
            Self::Solar { month, day } => ((month - 1) * 31 + (day - 1)) as usize,
            Self::Lunar { month, day, leap } => {
                12 * 31 + (((month - 1) * 30 + (day - 1)) * 2 + u32::from(leap)) as usize
            }
        }
    }
}

/// The keys of every anniversary that falls on solar `date`, whose lunar
/// date is `lunar`, under this module's rules (at most 2 solar and 4 lunar
/// keys). Check [`not_before_origin`] for anniversaries with a known year.
pub fn keys_on(date: NaiveDate, lunar: LunarDate) -> Result<Vec<AnniversaryKey>> {
    let mut keys = Vec::with_capacity(6);
    keys.push(AnniversaryKey::Solar {
        month: date.month(),
        day: date.day(),
    });
    if date.month() == 2 && date.day() == 28 && !is_leap_year(date.year()) {
        keys.push(AnniversaryKey::Solar { month: 2, day: 29 });
    }
    let (y, m, d, leap) = (lunar.year(), lunar.month(), lunar.day(), lunar.is_leap());
    let mut days = vec![d];
    if d == 29 && lunar::month_days(y, m, leap)? == 29 {
        days.push(30);
    }
    for day in days {
        keys.push(AnniversaryKey::Lunar {
            month: m,
            day,
            leap,
        });
        if !leap && lunar::leap_month(y)? != Some(m) {
            keys.push(AnniversaryKey::Lunar {
                month: m,
                day,
                leap: true,
            });
        }
    }
    Ok(keys)
}

/// Whether `a` may fall on `date` (lunar date `lunar`) under the
/// not-before-the-original-year rule.
pub fn not_before_origin(a: &Anniversary, date: NaiveDate, lunar: LunarDate) -> bool {
    match a {
        Anniversary::Solar(md) => md.year.is_none_or(|y| date.year() >= y),
        Anniversary::Lunar(l) => l.year.is_none_or(|y| lunar.year() >= y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn dates(a: Anniversary, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        a.dates(from, to)
            .unwrap()
            .into_iter()
            .map(|x| x.date)
            .collect()
    }

    #[test]
    fn feb_29_falls_on_feb_28_in_common_years() {
        let a = Anniversary::Solar(MonthDay::new(2, 29, Some(2000)).unwrap());
        assert_eq!(
            dates(a, d(2023, 1, 1), d(2024, 12, 31)),
            vec![d(2023, 2, 28), d(2024, 2, 29)]
        );
        let occ = a.dates(d(2024, 1, 1), d(2024, 12, 31)).unwrap();
        assert_eq!(occ[0].years, Some(24));
        assert!(MonthDay::new(2, 29, Some(2001)).is_err());
        assert!(MonthDay::new(4, 31, None).is_err());
    }

    #[test]
    fn lunar_30th_falls_on_29th_in_short_months() {
        // Whatever the first month's length, the 30th lands on its last day.
        let a = Anniversary::Lunar(LunarMonthDay::new(1, 30, false, None).unwrap());
        for year in 2020..2030 {
            let len = lunar::month_days(year, 1, false).unwrap();
            let got = a.dates(d(year, 1, 1), d(year, 12, 31)).unwrap();
            assert_eq!(got.len(), 1);
            let l = LunarDate::from_solar(got[0].date).unwrap();
            assert_eq!((l.month(), l.day(), l.is_leap()), (1, len, false));
        }
    }

    #[test]
    fn leap_month_birthday() {
        // Born 2023 闰二月 15: in 2023 on the leap month's day, in 2024–2025
        // (no leap 2nd month) in the ordinary 2nd month.
        let a = Anniversary::Lunar(LunarMonthDay::new(2, 15, true, Some(2023)).unwrap());
        let got = dates(a, d(2022, 1, 1), d(2025, 12, 31));
        assert_eq!(got, vec![d(2023, 4, 5), d(2024, 3, 24), d(2025, 3, 14)]);
        assert_eq!(
            LunarDate::from_solar(d(2023, 4, 5)).unwrap().to_string(),
            "2023-闰02-15"
        );
        assert_eq!(
            LunarDate::from_solar(d(2024, 3, 24)).unwrap().to_string(),
            "2024-02-15"
        );
        // An ordinary 2nd-month date in 2023 stays in the ordinary month.
        let b = Anniversary::Lunar(LunarMonthDay::new(2, 15, false, None).unwrap());
        assert_eq!(
            dates(b, d(2023, 1, 1), d(2023, 12, 31)),
            vec![d(2023, 3, 6)]
        );
        // A leap month the original year did not have is refused.
        assert!(LunarMonthDay::new(3, 1, true, Some(2023)).is_err());
    }

    #[test]
    fn keys_on_agrees_with_dates() {
        let cases = [
            Anniversary::Lunar(LunarMonthDay::new(2, 30, true, None).unwrap()),
            Anniversary::Lunar(LunarMonthDay::new(2, 29, false, None).unwrap()),
            Anniversary::Lunar(LunarMonthDay::new(12, 30, false, None).unwrap()),
            Anniversary::Solar(MonthDay::new(2, 29, None).unwrap()),
        ];
        let from = d(2022, 1, 1);
        let to = d(2025, 12, 31);
        for a in cases {
            let expected = dates(a, from, to);
            let mut got = Vec::new();
            for (date, l) in lunar::lunar_days(from, to).unwrap() {
                if keys_on(date, l).unwrap().contains(&a.key()) {
                    got.push(date);
                }
            }
            assert_eq!(got, expected, "{a:?}");
        }
    }

    #[test]
    fn json_shape() {
        let a: Anniversary =
            serde_json::from_str(r#"{"calendar":"lunar","month":4,"day":30,"leap":true}"#).unwrap();
        assert_eq!(
            a,
            Anniversary::Lunar(LunarMonthDay::new(4, 30, true, None).unwrap())
        );
        assert!(
            serde_json::from_str::<Anniversary>(r#"{"calendar":"solar","month":2,"day":30}"#)
                .is_err()
        );
    }
}
