//! Measures the calendar and the greeting planner. Run in release:
//! `cargo run -p keqing-care --release --example bench_calendar`
//!
//! - the built-in calendar for 1901–2099 (199 years, 1990 occasions);
//! - greeting plans for 1,000,000 customers with 2,000,000 contacts (half
//!   with a birthday, a quarter of those lunar; a tenth of the customers
//!   with a key date) for one festival day (every contact greeted) and one
//!   ordinary day (birthdays and key dates only);
//! - the frequency cap over the festival day's tasks.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use keqing_care::anniversary::{Anniversary, LunarMonthDay, MonthDay};
use keqing_care::calendar::{Calendar, CalendarConfig, CustomOccasion, OccasionRule};
use keqing_care::cap::{apply_frequency_cap, CustomerContact, FrequencyCap, PlannedContact};
use keqing_care::greeting::{plan_greetings, GreetingContact, GreetingCustomer, KeyDate};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

/// Best and median of `runs` timings.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[runs / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    let cal = Calendar::builtin();
    let (best, median) = time(21, || {
        cal.occasions(d(1901, 1, 1), d(2099, 12, 31))
            .expect("calendar")
    });
    let n = cal
        .occasions(d(1901, 1, 1), d(2099, 12, 31))
        .expect("calendar")
        .len();
    println!(
        "calendar 1901-2099, built-in ({n} occasions): best {}, median {}",
        ms(best),
        ms(median)
    );

    let config = CalendarConfig {
        disabled: vec![],
        occasions: vec![
            CustomOccasion {
                id: "laba".into(),
                name_zh: "腊八节".into(),
                name_en: "Laba Festival".into(),
                rule: OccasionRule::Lunar {
                    month: 12,
                    day: 8,
                    leap: false,
                },
            },
            CustomOccasion {
                id: "winter_solstice".into(),
                name_zh: "冬至".into(),
                name_en: "Winter Solstice".into(),
                rule: OccasionRule::SolarTerm {
                    term: "冬至".into(),
                },
            },
        ],
    };
    let cal2 = Calendar::new(&config).expect("config");
    let (best, median) = time(21, || {
        cal2.occasions(d(1901, 1, 1), d(2099, 12, 31))
            .expect("calendar")
    });
    println!(
        "calendar 1901-2099, built-in + 腊八 + 冬至: best {}, median {}",
        ms(best),
        ms(median)
    );

    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let start = Instant::now();
    let customers: Vec<GreetingCustomer> = (1..=1_000_000i64)
        .map(|id| GreetingCustomer {
            id,
            key_dates: if rng.below(10) == 0 {
                vec![KeyDate {
                    name: "成立纪念日".into(),
                    date: Anniversary::Solar(
                        MonthDay::new(1 + rng.below(12) as u32, 1 + rng.below(28) as u32, None)
                            .expect("valid"),
                    ),
                }]
            } else {
                Vec::new()
            },
        })
        .collect();
    let contacts: Vec<GreetingContact> = (1..=2_000_000i64)
        .map(|id| {
            let birthday = match rng.below(8) {
                0..=2 => Some(Anniversary::Solar(
                    MonthDay::new(1 + rng.below(12) as u32, 1 + rng.below(28) as u32, None)
                        .expect("valid"),
                )),
                3 => Some(Anniversary::Lunar(
                    LunarMonthDay::new(
                        1 + rng.below(12) as u32,
                        1 + rng.below(30) as u32,
                        rng.below(20) == 0,
                        None,
                    )
                    .expect("valid"),
                )),
                _ => None,
            };
            GreetingContact {
                id,
                customer_id: (id + 1) / 2,
                birthday,
            }
        })
        .collect();
    println!(
        "generated 1,000,000 customers / 2,000,000 contacts in {}",
        ms(start.elapsed())
    );

    for (label, day) in [
        ("Mid-Autumn 2026-09-25", d(2026, 9, 25)),
        ("ordinary day 2026-11-24", d(2026, 11, 24)),
    ] {
        let (best, median) = time(5, || {
            plan_greetings(&cal, day, day, &customers, &contacts).expect("plan")
        });
        let tasks = plan_greetings(&cal, day, day, &customers, &contacts).expect("plan");
        let reasons: usize = tasks.iter().map(|t| t.reasons.len()).sum();
        println!(
            "greeting plan, {label}: {} tasks ({reasons} reasons): best {}, median {}",
            tasks.len(),
            ms(best),
            ms(median)
        );
    }

    let day = d(2026, 9, 25);
    let tasks = plan_greetings(&cal, day, day, &customers, &contacts).expect("plan");
    let planned: Vec<PlannedContact> = tasks.iter().map(PlannedContact::from).collect();
    let already: Vec<CustomerContact> = (1..=1_000_000i64)
        .filter(|id| id % 3 == 0)
        .map(|customer_id| CustomerContact {
            customer_id,
            date: d(2026, 9, 20),
        })
        .collect();
    let cap = FrequencyCap {
        max_contacts: 1,
        period_days: 7,
    };
    let (best, median) = time(3, || {
        apply_frequency_cap(cap, &already, &planned).expect("cap")
    });
    let decided = apply_frequency_cap(cap, &already, &planned).expect("cap");
    let dropped = decided
        .iter()
        .filter(|(_, d)| !matches!(d, keqing_care::cap::CapDecision::Keep))
        .count();
    println!(
        "frequency cap over {} tasks ({} customers contacted 5 days before): {dropped} not kept: best {}, median {}",
        planned.len(),
        already.len(),
        ms(best),
        ms(median)
    );
}
