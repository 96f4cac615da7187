//! The greeting calendar (节日问候日历, SPEC §4; 000 article 1 item 7):
//! the ten built-in occasions, per-deployment occasions, and the occasions
//! in a date range.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::anniversary::{LunarMonthDay, MonthDay};
use crate::error::{CareError, Result};
use crate::lunar;

/// The ten occasions every deployment starts with (000: "元旦、春节、元宵节、
/// 清明节、五一节、端午节、中秋节、国庆节、感恩节、圣诞节").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinOccasion {
    NewYear,
    SpringFestival,
    Lantern,
    Qingming,
    LabourDay,
    DragonBoat,
    MidAutumn,
    NationalDay,
    Thanksgiving,
    Christmas,
}

impl BuiltinOccasion {
    /// All built-in occasions in calendar order.
    pub const ALL: [BuiltinOccasion; 10] = [
        Self::NewYear,
        Self::SpringFestival,
        Self::Lantern,
        Self::Qingming,
        Self::LabourDay,
        Self::DragonBoat,
        Self::MidAutumn,
        Self::NationalDay,
        Self::Thanksgiving,
        Self::Christmas,
    ];

    /// Stable id, as stored and shown in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Self::NewYear => "new_year",
            Self::SpringFestival => "spring_festival",
            Self::Lantern => "lantern",
            Self::Qingming => "qingming",
            Self::LabourDay => "labour_day",
            Self::DragonBoat => "dragon_boat",
            Self::MidAutumn => "mid_autumn",
            Self::NationalDay => "national_day",
            Self::Thanksgiving => "thanksgiving",
            Self::Christmas => "christmas",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::NewYear => "元旦",
            Self::SpringFestival => "春节",
            Self::Lantern => "元宵节",
            Self::Qingming => "清明节",
            Self::LabourDay => "劳动节",
            Self::DragonBoat => "端午节",
            Self::MidAutumn => "中秋节",
            Self::NationalDay => "国庆节",
            Self::Thanksgiving => "感恩节",
            Self::Christmas => "圣诞节",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Self::NewYear => "New Year's Day",
            Self::SpringFestival => "Spring Festival",
            Self::Lantern => "Lantern Festival",
            Self::Qingming => "Qingming Festival",
            Self::LabourDay => "Labour Day",
            Self::DragonBoat => "Dragon Boat Festival",
            Self::MidAutumn => "Mid-Autumn Festival",
            Self::NationalDay => "National Day",
            Self::Thanksgiving => "Thanksgiving",
            Self::Christmas => "Christmas",
        }
    }

    /// How its date is found.
    pub fn rule(self) -> OccasionRule {
        use OccasionRule::*;
        match self {
            Self::NewYear => Solar { month: 1, day: 1 },
            Self::SpringFestival => Lunar {
                month: 1,
                day: 1,
                leap: false,
            },
            Self::Lantern => Lunar {
                month: 1,
                day: 15,
                leap: false,
            },
            Self::Qingming => SolarTerm {
                term: "清明".to_owned(),
            },
            Self::LabourDay => Solar { month: 5, day: 1 },
            Self::DragonBoat => Lunar {
                month: 5,
                day: 5,
                leap: false,
            },
            Self::MidAutumn => Lunar {
                month: 8,
                day: 15,
                leap: false,
            },
            Self::NationalDay => Solar { month: 10, day: 1 },
            Self::Thanksgiving => NthWeekday {
                month: 11,
                weekday: Weekday::Thu,
                nth: Nth::Fourth,
            },
            Self::Christmas => Solar { month: 12, day: 25 },
        }
    }

    /// The built-in occasion with this id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.id() == id)
    }
}

/// Which weekday of a month: the first … fifth, or the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Nth {
    First,
    Second,
    Third,
    Fourth,
    /// Months without a fifth such weekday have no occurrence that year.
    Fifth,
    Last,
}

/// How an occasion's date is found each year. JSON, as in a deployment's
/// configuration file:
/// - `{"rule":"solar","month":9,"day":10}` — a fixed solar date (Feb 29 falls
///   on Feb 28 in common years);
/// - `{"rule":"lunar","month":12,"day":8}` — a lunar date, `"leap": true`
///   for a leap-month date (rules of [`crate::anniversary`] for a missing
///   30th or leap month);
/// - `{"rule":"nth_weekday","month":5,"weekday":"Sun","nth":"second"}` —
///   n-th weekday of a month, `"nth":"last"` for the last one;
/// - `{"rule":"solar_term","term":"冬至"}` — one of the 24 solar terms
///   ([`lunar::SOLAR_TERMS`]), Beijing time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OccasionRule {
    Solar {
        month: u32,
        day: u32,
    },
    Lunar {
        month: u32,
        day: u32,
        #[serde(default)]
        leap: bool,
    },
    NthWeekday {
        month: u32,
        /// Mon, Tue, … Sun
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        weekday: Weekday,
        nth: Nth,
    },
    SolarTerm {
        term: String,
    },
}

/// A rule checked once, ready to be evaluated for many years.
#[derive(Debug, Clone, Copy)]
enum CompiledRule {
    Solar(MonthDay),
    Lunar(LunarMonthDay),
    NthWeekday {
        month: u32,
        weekday: Weekday,
        nth: Nth,
    },
    SolarTerm(usize),
}

impl OccasionRule {
    fn compile(&self) -> Result<CompiledRule> {
        Ok(match self {
            OccasionRule::Solar { month, day } => {
                CompiledRule::Solar(MonthDay::new(*month, *day, None)?)
            }
            OccasionRule::Lunar { month, day, leap } => {
                CompiledRule::Lunar(LunarMonthDay::new(*month, *day, *leap, None)?)
            }
            OccasionRule::NthWeekday {
                month,
                weekday,
                nth,
            } => {
                if !(1..=12).contains(month) {
                    return Err(CareError::InvalidDate {
                        calendar: "solar",
                        detail: format!("month {month} is not 1..=12"),
                    });
                }
                CompiledRule::NthWeekday {
                    month: *month,
                    weekday: *weekday,
                    nth: *nth,
                }
            }
            OccasionRule::SolarTerm { term } => {
                let index = lunar::SOLAR_TERMS
                    .iter()
                    .position(|t| t == term)
                    .ok_or_else(|| {
                        CareError::InvalidConfig(format!(
                            "unknown solar term {term:?}; expected one of {}",
                            lunar::SOLAR_TERMS.join(" ")
                        ))
                    })?;
                CompiledRule::SolarTerm(index)
            }
        })
    }
}

/// The `nth` `weekday` of `month` in `year`, if there is one.
pub fn nth_weekday(year: i32, month: u32, weekday: Weekday, nth: Nth) -> Option<NaiveDate> {
    let n = match nth {
        Nth::First => 1,
        Nth::Second => 2,
        Nth::Third => 3,
        Nth::Fourth => 4,
        Nth::Fifth => 5,
        Nth::Last => {
            let next = if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year, month + 1, 1)
            }?;
            let last = next.pred_opt()?;
            let back =
                (last.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
            return last.checked_sub_days(chrono::Days::new(u64::from(back)));
        }
    };
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

impl CompiledRule {
    /// Dates of this rule from `from` to `to` (already range-checked).
    fn dates(self, from: NaiveDate, to: NaiveDate, out: &mut Vec<NaiveDate>) -> Result<()> {
        let mut push = |d: Option<NaiveDate>| {
            if let Some(d) = d.filter(|d| *d >= from && *d <= to) {
                out.push(d);
            }
        };
        match self {
            CompiledRule::Lunar(l) => {
                // A lunar year's days lie in the solar year of the same
                // number or early in the next one.
                let first = (from.year() - 1).max(lunar::FIRST_YEAR - 1);
                for y in first..=to.year() {
                    push(l.solar_in_lunar_year(y)?);
                }
            }
            CompiledRule::Solar(md) => (from.year()..=to.year()).for_each(|y| push(md.in_year(y))),
            CompiledRule::NthWeekday {
                month,
                weekday,
                nth,
            } => (from.year()..=to.year()).for_each(|y| push(nth_weekday(y, month, weekday, nth))),
            CompiledRule::SolarTerm(i) => {
                for y in from.year()..=to.year() {
                    push(Some(lunar::solar_term_date(y, i)?));
                }
            }
        }
        Ok(())
    }
}

/// A per-deployment occasion (e.g. 教师节, 腊八, 冬至, the company's own day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomOccasion {
    /// Lower-case ASCII letters, digits and `_`; unique, and not a built-in id.
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    #[serde(flatten)]
    pub rule: OccasionRule,
}

/// A deployment's calendar: which built-ins are switched off, which
/// occasions are added. The default is the ten built-ins. JSON:
/// `{"disabled":["thanksgiving","christmas"],"occasions":[{"id":"teachers_day",
/// "name_zh":"教师节","name_en":"Teachers' Day","rule":"solar","month":9,"day":10}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarConfig {
    /// Ids of occasions (built-in or added) switched off.
    pub disabled: Vec<String>,
    /// Occasions added by this deployment.
    pub occasions: Vec<CustomOccasion>,
}

/// One occasion on one day. JSON: `{"date","occasion","name_zh","name_en"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Occasion {
    pub date: NaiveDate,
    #[serde(rename = "occasion")]
    pub id: Arc<str>,
    pub name_zh: Arc<str>,
    pub name_en: Arc<str>,
}

#[derive(Debug, Clone)]
struct Entry {
    id: Arc<str>,
    name_zh: Arc<str>,
    name_en: Arc<str>,
    rule: CompiledRule,
}

/// A checked calendar configuration; build once, ask for many ranges.
#[derive(Debug, Clone)]
pub struct Calendar {
    entries: Vec<Entry>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Calendar {
    /// The ten built-in occasions.
    pub fn builtin() -> Self {
        // The built-in rules are constants that always compile (the
        // `every_year_has_each_builtin_once_in_order` test counts all ten).
        let entries = BuiltinOccasion::ALL
            .into_iter()
            .filter_map(|o| {
                Some(Entry {
                    id: o.id().into(),
                    name_zh: o.name_zh().into(),
                    name_en: o.name_en().into(),
                    rule: o.rule().compile().ok()?,
                })
            })
            .collect();
        Self { entries }
    }

    /// Checks a deployment's configuration: ids well-formed and unique (also
    /// against the built-ins), names present, rules valid, every disabled id
    /// known (a typo must not silently keep an occasion on).
    pub fn new(config: &CalendarConfig) -> Result<Self> {
        let mut cal = Self::builtin();
        let mut ids: HashSet<String> = cal.entries.iter().map(|e| e.id.to_string()).collect();
        for o in &config.occasions {
            if !valid_id(&o.id) {
                return Err(CareError::InvalidConfig(format!(
                    "occasion id {:?} must be lower-case ASCII letters, digits and _",
                    o.id
                )));
            }
            if !ids.insert(o.id.clone()) {
                return Err(CareError::InvalidConfig(format!(
                    "occasion id {:?} is used twice",
                    o.id
                )));
            }
            if o.name_zh.trim().is_empty() || o.name_en.trim().is_empty() {
                return Err(CareError::InvalidConfig(format!(
                    "occasion {:?} needs name_zh and name_en",
                    o.id
                )));
            }
            let rule = o
                .rule
                .compile()
                .map_err(|e| CareError::InvalidConfig(format!("occasion {:?}: {e}", o.id)))?;
            cal.entries.push(Entry {
                id: o.id.as_str().into(),
                name_zh: o.name_zh.trim().into(),
                name_en: o.name_en.trim().into(),
                rule,
            });
        }
        for id in &config.disabled {
            if !ids.contains(id) {
                return Err(CareError::InvalidConfig(format!(
                    "cannot disable unknown occasion {id:?}"
                )));
            }
        }
        cal.entries
            .retain(|e| !config.disabled.iter().any(|d| **d == *e.id));
        Ok(cal)
    }

    /// Ids of the occasions switched on, built-ins first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| &*e.id)
    }

    /// Every occasion from `from` to `to` inclusive (both within
    /// 1901-01-01..=2099-12-31), ordered by date, then built-ins in
    /// [`BuiltinOccasion::ALL`] order, then added occasions in configuration
    /// order.
    pub fn occasions(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Occasion>> {
        lunar::check_date(from)?;
        lunar::check_date(to)?;
        if from > to {
            return Err(CareError::EmptyRange { from, to });
        }
        let mut out = Vec::new();
        let mut dates = Vec::new();
        for (order, e) in self.entries.iter().enumerate() {
            dates.clear();
            e.rule.dates(from, to, &mut dates)?;
            out.extend(dates.iter().map(|&date| {
                (
                    order,
                    Occasion {
                        date,
                        id: e.id.clone(),
                        name_zh: e.name_zh.clone(),
                        name_en: e.name_en.clone(),
                    },
                )
            }));
        }
        out.sort_by_key(|(order, o)| (o.date, *order));
        Ok(out.into_iter().map(|(_, o)| o).collect())
    }
}

/// The occasions from `from` to `to` inclusive under `config` (see
/// [`Calendar::occasions`]). Build a [`Calendar`] instead when asking for
/// many ranges.
pub fn occasions(from: NaiveDate, to: NaiveDate, config: &CalendarConfig) -> Result<Vec<Occasion>> {
    Calendar::new(config)?.occasions(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn year_2026() {
        let got: Vec<(String, String)> =
            occasions(d(2026, 1, 1), d(2026, 12, 31), &CalendarConfig::default())
                .unwrap()
                .into_iter()
                .map(|o| (o.date.to_string(), o.id.to_string()))
                .collect();
        let want = [
            ("2026-01-01", "new_year"),
            ("2026-02-17", "spring_festival"),
            ("2026-03-03", "lantern"),
            ("2026-04-05", "qingming"),
            ("2026-05-01", "labour_day"),
            ("2026-06-19", "dragon_boat"),
            ("2026-09-25", "mid_autumn"),
            ("2026-10-01", "national_day"),
            ("2026-11-26", "thanksgiving"),
            ("2026-12-25", "christmas"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn same_day_keeps_builtin_order() {
        // 2025: Mid-Autumn on Oct 6 — no clash; 2001: National Day and
        // Mid-Autumn both on Oct 1.
        let got = occasions(d(2001, 10, 1), d(2001, 10, 1), &CalendarConfig::default()).unwrap();
        let ids: Vec<&str> = got.iter().map(|o| &*o.id).collect();
        assert_eq!(ids, ["mid_autumn", "national_day"]);
    }

    #[test]
    fn deployment_occasions_and_switches() {
        let config: CalendarConfig = serde_json::from_str(
            r#"{"disabled":["thanksgiving","christmas"],"occasions":[
                {"id":"teachers_day","name_zh":"教师节","name_en":"Teachers' Day","rule":"solar","month":9,"day":10},
                {"id":"laba","name_zh":"腊八节","name_en":"Laba Festival","rule":"lunar","month":12,"day":8},
                {"id":"mothers_day","name_zh":"母亲节","name_en":"Mother's Day","rule":"nth_weekday","month":5,"weekday":"Sun","nth":"second"},
                {"id":"last_friday","name_zh":"月末周五","name_en":"Last Friday of Feb","rule":"nth_weekday","month":2,"weekday":"Fri","nth":"last"},
                {"id":"winter_solstice","name_zh":"冬至","name_en":"Winter Solstice","rule":"solar_term","term":"冬至"}
            ]}"#,
        )
        .unwrap();
        let got = occasions(d(2026, 1, 1), d(2026, 12, 31), &config).unwrap();
        let find = |id: &str| {
            got.iter()
                .filter(|o| &*o.id == id)
                .map(|o| o.date)
                .collect::<Vec<_>>()
        };
        assert!(find("thanksgiving").is_empty());
        assert!(find("christmas").is_empty());
        assert_eq!(find("teachers_day"), [d(2026, 9, 10)]);
        // 腊八 of lunar 2025 is 2026-01-26; of lunar 2026, 2027-01-15.
        assert_eq!(find("laba"), [d(2026, 1, 26)]);
        assert_eq!(find("mothers_day"), [d(2026, 5, 10)]);
        assert_eq!(find("last_friday"), [d(2026, 2, 27)]);
        assert_eq!(find("winter_solstice"), [d(2026, 12, 22)]);
        let cal = Calendar::new(&config).unwrap();
        assert_eq!(cal.ids().count(), 13);
    }

    #[test]
    fn bad_configs_are_refused() {
        let bad = [
            r#"{"disabled":["thanksgivng"]}"#,
            r#"{"occasions":[{"id":"new_year","name_zh":"x","name_en":"x","rule":"solar","month":1,"day":2}]}"#,
            r#"{"occasions":[{"id":"Bad Id","name_zh":"x","name_en":"x","rule":"solar","month":1,"day":2}]}"#,
            r#"{"occasions":[{"id":"x","name_zh":"","name_en":"x","rule":"solar","month":1,"day":2}]}"#,
            r#"{"occasions":[{"id":"x","name_zh":"x","name_en":"x","rule":"solar","month":2,"day":30}]}"#,
            r#"{"occasions":[{"id":"x","name_zh":"x","name_en":"x","rule":"lunar","month":13,"day":1}]}"#,
            r#"{"occasions":[{"id":"x","name_zh":"x","name_en":"x","rule":"solar_term","term":"清明节"}]}"#,
        ];
        for json in bad {
            let config: CalendarConfig = serde_json::from_str(json).unwrap();
            assert!(
                matches!(
                    Calendar::new(&config),
                    Err(CareError::InvalidConfig(_)) | Err(CareError::InvalidDate { .. })
                ),
                "{json}"
            );
        }
        assert!(serde_json::from_str::<CalendarConfig>(r#"{"disable":[]}"#).is_err());
        // A misspelt field must not be ignored silently.
        let typo = r#"{"occasions":[{"id":"x","name_zh":"x","name_en":"x","rule":"lunar","month":4,"day":1,"leep":true}]}"#;
        assert!(serde_json::from_str::<CalendarConfig>(typo).is_err());
    }

    #[test]
    fn range_errors() {
        let c = CalendarConfig::default();
        assert!(matches!(
            occasions(d(2026, 2, 1), d(2026, 1, 1), &c),
            Err(CareError::EmptyRange { .. })
        ));
        assert!(matches!(
            occasions(d(1900, 1, 1), d(1901, 1, 1), &c),
            Err(CareError::DateOutOfRange { .. })
        ));
        assert!(matches!(
            occasions(d(2099, 1, 1), d(2100, 1, 1), &c),
            Err(CareError::DateOutOfRange { .. })
        ));
    }

    #[test]
    fn nth_weekday_last_and_fifth() {
        assert_eq!(
            nth_weekday(2026, 11, Weekday::Thu, Nth::Fourth),
            Some(d(2026, 11, 26))
        );
        assert_eq!(
            nth_weekday(2026, 12, Weekday::Thu, Nth::Last),
            Some(d(2026, 12, 31))
        );
        assert_eq!(nth_weekday(2026, 2, Weekday::Mon, Nth::Fifth), None);
    }

    #[test]
    fn json_output_shape() {
        let o = &occasions(d(2026, 1, 1), d(2026, 1, 1), &CalendarConfig::default()).unwrap()[0];
        assert_eq!(
            serde_json::to_string(o).unwrap(),
            r#"{"date":"2026-01-01","occasion":"new_year","name_zh":"元旦","name_en":"New Year's Day"}"#
        );
    }
}
