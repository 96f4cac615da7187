//! Invariants of the calendar over the whole 1901–2099 range.

use chrono::{Datelike, Days, NaiveDate};
use keqing_care::anniversary::{keys_on, not_before_origin, Anniversary, LunarMonthDay, MonthDay};
use keqing_care::calendar::{occasions, BuiltinOccasion, Calendar, CalendarConfig};
use keqing_care::lunar::{self, LunarDate};
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    let first = d(1901, 1, 1);
    let days = (d(2099, 12, 31) - first).num_days() as u64;
    (0..=days).prop_map(move |n| first + Days::new(n))
}

#[test]
fn every_year_has_each_builtin_once_in_order() {
    let cal = Calendar::builtin();
    for year in 1901..=2099 {
        let got = cal.occasions(d(year, 1, 1), d(year, 12, 31)).unwrap();
        assert_eq!(got.len(), 10, "{year}");
        for o in BuiltinOccasion::ALL {
            assert_eq!(
                got.iter().filter(|x| &*x.id == o.id()).count(),
                1,
                "{year} {}",
                o.id()
            );
        }
        assert!(
            got.windows(2).all(|w| w[0].date <= w[1].date),
            "{year} not sorted"
        );
        let date_of = |id: &str| got.iter().find(|x| &*x.id == id).map(|x| x.date).unwrap();
        let sf = date_of("spring_festival");
        assert!(
            sf >= d(year, 1, 21) && sf <= d(year, 2, 20),
            "{year} spring festival {sf}"
        );
        assert_eq!(date_of("lantern") - sf, chrono::Duration::days(14));
        let qm = date_of("qingming");
        assert!(
            qm >= d(year, 4, 4) && qm <= d(year, 4, 6),
            "{year} qingming {qm}"
        );
        assert!(date_of("lantern") < date_of("dragon_boat"));
        assert!(date_of("dragon_boat") < date_of("mid_autumn"));
        let tg = date_of("thanksgiving");
        assert_eq!(tg.weekday(), chrono::Weekday::Thu);
        assert!((22..=28).contains(&tg.day()));
        for (lunar_id, m, day) in [
            ("spring_festival", 1, 1),
            ("lantern", 1, 15),
            ("dragon_boat", 5, 5),
            ("mid_autumn", 8, 15),
        ] {
            let l = LunarDate::from_solar(date_of(lunar_id)).unwrap();
            assert_eq!(
                (l.year(), l.month(), l.day(), l.is_leap()),
                (year, m, day, false),
                "{lunar_id}"
            );
        }
    }
}

#[test]
fn consecutive_days_advance_the_lunar_calendar_by_one() {
    let days = lunar::lunar_days(d(1901, 1, 1), d(2099, 12, 31)).unwrap();
    let mut months_seen = 0;
    for w in days.windows(2) {
        let (a, b) = (w[0].1, w[1].1);
        if b.day() == 1 {
            months_seen += 1;
            assert!(a.day() == 29 || a.day() == 30, "{a} -> {b}");
            // Next month: same number as the leap month after an ordinary
            // month, else the next number (12 -> 1 of the next year).
            let same_number_leap = b.is_leap() && b.month() == a.month() && !a.is_leap();
            let next = (a.month() % 12) + 1 == b.month() && !b.is_leap();
            assert!(same_number_leap || next, "{a} -> {b}");
            if b.month() == 1 && !b.is_leap() {
                assert_eq!(b.year(), a.year() + 1);
            }
        } else {
            assert_eq!(
                (b.year(), b.month(), b.is_leap(), b.day()),
                (a.year(), a.month(), a.is_leap(), a.day() + 1)
            );
        }
    }
    // 199 years × ~12.37 lunations.
    assert!((2455..=2465).contains(&months_seen), "{months_seen}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn solar_lunar_solar_round_trip(date in any_date()) {
        let l = LunarDate::from_solar(date).unwrap();
        prop_assert_eq!(l.to_solar().unwrap(), date);
        // And the lunar date rebuilds through the validating constructor.
        let again = LunarDate::new(l.year(), l.month(), l.day(), l.is_leap()).unwrap();
        prop_assert_eq!(again, l);
    }

    #[test]
    fn lunar_solar_lunar_round_trip(year in 1901i32..=2098, month in 1u32..=12, day in 1u32..=30, leap in any::<bool>()) {
        match LunarDate::new(year, month, day, leap) {
            Ok(l) => prop_assert_eq!(LunarDate::from_solar(l.to_solar().unwrap()).unwrap(), l),
            Err(_) => {
                // Only a leap month the year lacks, or a 30th of a short month, is refused.
                let lacks_leap = leap && lunar::leap_month(year).unwrap() != Some(month);
                let short = day == 30 && !lacks_leap && lunar::month_days(year, month, leap).unwrap() == 29;
                prop_assert!(lacks_leap || short);
            }
        }
    }

    #[test]
    fn lunar_anniversary_once_a_lunar_year_on_a_defined_day(year in 1901i32..=2098, month in 1u32..=12, day in 1u32..=30, leap in any::<bool>()) {
        let a = LunarMonthDay::new(month, day, leap, None).unwrap();
        let l = a.in_lunar_year(year).unwrap().unwrap();
        prop_assert_eq!(l.month(), month);
        prop_assert_eq!(l.is_leap(), leap && lunar::leap_month(year).unwrap() == Some(month));
        prop_assert_eq!(l.day(), day.min(lunar::month_days(year, month, l.is_leap()).unwrap()));
        // keys_on finds it on exactly that solar day.
        let solar = l.to_solar().unwrap();
        let any = Anniversary::Lunar(a);
        prop_assert!(keys_on(solar, l).unwrap().contains(&any.key()));
        prop_assert!(!keys_on(solar - Days::new(1), LunarDate::from_solar(solar - Days::new(1)).unwrap()).unwrap().contains(&any.key()));
    }

    #[test]
    fn anniversary_dates_match_per_day_keys(from in any_date(), span in 0u64..800, month in 1u32..=12, day in 1u32..=31, lunar_cal in any::<bool>(), leap in any::<bool>(), origin in proptest::option::of(1900i32..=2099)) {
        let to = (from + Days::new(span)).min(d(2099, 12, 31));
        let a = if lunar_cal {
            match LunarMonthDay::new(month, day.min(30), leap, origin) { Ok(x) => Anniversary::Lunar(x), Err(_) => return Ok(()) }
        } else {
            match MonthDay::new(month, day, origin) { Ok(x) => Anniversary::Solar(x), Err(_) => return Ok(()) }
        };
        let listed: Vec<NaiveDate> = a.dates(from, to).unwrap().into_iter().map(|x| x.date).collect();
        prop_assert!(listed.windows(2).all(|w| w[0] < w[1]));
        let scanned: Vec<NaiveDate> = lunar::lunar_days(from, to).unwrap().into_iter()
            .filter(|(date, l)| keys_on(*date, *l).unwrap().contains(&a.key()) && not_before_origin(&a, *date, *l))
            .map(|(date, _)| date)
            .collect();
        prop_assert_eq!(listed, scanned);
    }

    #[test]
    fn a_range_is_a_slice_of_the_years(from in any_date(), span in 0u64..1200) {
        let to = (from + Days::new(span)).min(d(2099, 12, 31));
        let part = occasions(from, to, &CalendarConfig::default()).unwrap();
        let whole = occasions(d(from.year(), 1, 1), d(to.year(), 12, 31), &CalendarConfig::default()).unwrap();
        let sliced: Vec<_> = whole.into_iter().filter(|o| o.date >= from && o.date <= to).collect();
        prop_assert_eq!(part, sliced);
    }
}
