//! The greeting planner against the simple per-anniversary computation.

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate};
use keqing_care::anniversary::{Anniversary, LunarMonthDay, MonthDay};
use keqing_care::calendar::Calendar;
use keqing_care::greeting::{
    plan_greetings, GreetingContact, GreetingCustomer, GreetingReason, KeyDate,
};
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn anniversary() -> impl Strategy<Value = Option<Anniversary>> {
    prop_oneof![
        Just(None),
        (1u32..=12, 1u32..=31, proptest::option::of(1950i32..=2030)).prop_filter_map(
            "exists",
            |(m, day, y)| MonthDay::new(m, day, y)
                .ok()
                .map(|x| Some(Anniversary::Solar(x)))
        ),
        (
            1u32..=12,
            1u32..=30,
            any::<bool>(),
            proptest::option::of(1950i32..=2030)
        )
            .prop_filter_map("exists", |(m, day, leap, y)| LunarMonthDay::new(
                m, day, leap, y
            )
            .ok()
            .map(|x| Some(Anniversary::Lunar(x)))),
    ]
}

fn world() -> impl Strategy<Value = (Vec<GreetingCustomer>, Vec<GreetingContact>)> {
    let customers = proptest::collection::vec(proptest::collection::vec(anniversary(), 0..2), 1..6)
        .prop_map(|key_dates| {
            key_dates
                .into_iter()
                .enumerate()
                .map(|(i, dates)| GreetingCustomer {
                    id: 100 + i as i64,
                    key_dates: dates
                        .into_iter()
                        .flatten()
                        .map(|date| KeyDate {
                            name: "纪念日".into(),
                            date,
                        })
                        .collect(),
                })
                .collect::<Vec<_>>()
        });
    customers.prop_flat_map(|customers| {
        let n = customers.len();
        let contacts = proptest::collection::vec((0..n, anniversary()), 0..10).prop_map(|list| {
            list.into_iter()
                .enumerate()
                .map(|(i, (c, birthday))| GreetingContact {
                    id: 1000 - i as i64,
                    customer_id: 100 + c as i64,
                    birthday,
                })
                .collect::<Vec<_>>()
        });
        (Just(customers), contacts)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn plan_matches_the_definition((customers, contacts) in world(), start in 0u64..3000, span in 0u64..400) {
        let from = d(2020, 1, 1) + Days::new(start);
        let to = from + Days::new(span);
        let cal = Calendar::builtin();
        let tasks = plan_greetings(&cal, from, to, &customers, &contacts).unwrap();

        // Expected reasons per (customer, contact, date), from the definitions.
        let mut expected: HashMap<(i64, Option<i64>, NaiveDate), Vec<String>> = HashMap::new();
        let occasions = cal.occasions(from, to).unwrap();
        for c in &customers {
            let people: Vec<Option<i64>> = {
                let mut ids: Vec<i64> = contacts.iter().filter(|p| p.customer_id == c.id).map(|p| p.id).collect();
                ids.sort();
                if ids.is_empty() { vec![None] } else { ids.into_iter().map(Some).collect() }
            };
            for o in &occasions {
                for p in &people {
                    expected.entry((c.id, *p, o.date)).or_default().push(o.id.to_string());
                }
            }
            for k in &c.key_dates {
                for occ in k.date.dates(from, to).unwrap() {
                    for p in &people {
                        expected.entry((c.id, *p, occ.date)).or_default().push("key_date".into());
                    }
                }
            }
        }
        for p in &contacts {
            if let Some(b) = &p.birthday {
                for occ in b.dates(from, to).unwrap() {
                    expected.entry((p.customer_id, Some(p.id), occ.date)).or_default().push("birthday".into());
                }
            }
        }
        let got: HashMap<(i64, Option<i64>, NaiveDate), Vec<String>> = tasks
            .iter()
            .map(|t| {
                let reasons = t.reasons.iter().map(|r| match r {
                    GreetingReason::Occasion { occasion, .. } => occasion.to_string(),
                    GreetingReason::KeyDate { .. } => "key_date".to_string(),
                    GreetingReason::Birthday { .. } => "birthday".to_string(),
                }).collect();
                ((t.customer_id(), t.contact_id(), t.date()), reasons)
            })
            .collect();
        // One task per person and day.
        prop_assert_eq!(got.len(), tasks.len());
        prop_assert_eq!(&got, &expected);
        // Ordered by date, customer, contact.
        prop_assert!(tasks.windows(2).all(|w| (w[0].date(), w[0].customer_id(), w[0].contact_id()) < (w[1].date(), w[1].customer_id(), w[1].contact_id())));

        // Planning two halves gives the same keys as the whole.
        if span > 0 {
            let mid = from + Days::new(span / 2);
            let mut halves: HashSet<String> = plan_greetings(&cal, from, mid, &customers, &contacts).unwrap().iter().map(|t| t.key.to_string()).collect();
            halves.extend(plan_greetings(&cal, mid + Days::new(1), to, &customers, &contacts).unwrap().iter().map(|t| t.key.to_string()));
            let whole: HashSet<String> = tasks.iter().map(|t| t.key.to_string()).collect();
            prop_assert_eq!(halves, whole);
        }
    }
}
