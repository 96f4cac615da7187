//! The demo company must look like a real one to the analysis and care
//! engines, and every value in it must be one the domain accepts.

use super::*;
use chrono::{Datelike, Duration};
use keqing_domain::contact::Birthday;
use keqing_domain::customer::CompanyType;
use keqing_domain::{ActivityKind, ContactLevel, CustomerKind, Money, Phone};
use std::collections::HashSet;
use std::sync::OnceLock;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// The default company, generated once for all tests.
fn demo() -> &'static DemoCompany {
    static DEMO: OnceLock<DemoCompany> = OnceLock::new();
    DEMO.get_or_init(|| generate(DEFAULT_SEED, today(), DEFAULT_CUSTOMERS))
}

fn sales(c: &DemoCustomer) -> i64 {
    c.orders.iter().map(|o| o.amount.fen()).sum()
}

/// Share of sales of the top 20% of `sales` (sorted descending).
fn top_fifth_share(mut sales: Vec<i64>) -> f64 {
    sales.sort_unstable_by(|a, b| b.cmp(a));
    let total: i64 = sales.iter().sum();
    let top: i64 = sales.iter().take(sales.len() / 5).sum();
    top as f64 / total as f64
}

/// Beijing date of an order.
fn order_day(o: &NewOrder) -> NaiveDate {
    (o.ordered_at + Duration::hours(8)).date_naive()
}

#[test]
fn teams_and_users() {
    let d = demo();
    assert_eq!(d.teams.len(), 2);
    assert_eq!(
        d.teams[0],
        DemoTeam {
            name: "南京一部".into(),
            region: "江苏".into()
        }
    );
    assert_eq!(d.teams[1].region, "浙江");
    let count = |r: Role| d.users.iter().filter(|u| u.role == r).count();
    assert_eq!(count(Role::Admin), 1);
    assert_eq!(count(Role::Director), 1);
    assert_eq!(count(Role::Finance), 1);
    assert_eq!(count(Role::Agent), 1);
    for t in &d.teams {
        let of = |r: Role| {
            d.users
                .iter()
                .filter(|u| u.role == r && u.team.as_ref() == Some(&t.name))
                .count()
        };
        assert_eq!(of(Role::Supervisor), 1, "{}", t.name);
        assert!((3..=4).contains(&of(Role::Manager)), "{}", t.name);
    }
    let mut names = HashSet::new();
    for u in &d.users {
        assert!(u.username.is_ascii() && keqing_domain::user::valid_username(&u.username));
        assert!(names.insert(&u.username), "duplicate {}", u.username);
        assert!(u.password.chars().count() >= 10);
        assert!(!u.display_name.is_ascii());
        assert_eq!(u.region.is_some(), u.team.is_some());
    }
}

#[test]
fn the_anchor_customer_is_a_complete_a_class_file() {
    let d = demo();
    let c = d
        .customer(ANCHOR_CUSTOMER)
        .expect("江苏恒远钢业有限公司 exists");
    assert_eq!(
        d.customers
            .iter()
            .filter(|c| c.input.name == ANCHOR_CUSTOMER)
            .count(),
        1
    );
    let i = &c.input;
    assert_eq!(i.class.as_deref(), Some("A"));
    assert!(i.key_customer);
    assert!(i
        .phone
        .as_ref()
        .is_some_and(|p| p.as_str().starts_with("025-")));
    assert!(i.address.is_some() && i.website.is_some() && i.email.is_some());
    assert_eq!(i.external_code.as_ref().map(|s| s.len()), Some(18));
    let owner = d.user(c.owner.as_deref().unwrap()).unwrap();
    assert_eq!(owner.role, Role::Manager);
    assert_eq!(owner.team.as_deref(), Some("南京一部"));
    let pic = c
        .contacts
        .iter()
        .find(|k| k.level == Some(ContactLevel::PersonInCharge))
        .unwrap();
    assert!(pic.mobile.as_ref().is_some_and(Phone::is_mobile));
    assert!(!c.orders.is_empty());
    // It is really one of the big customers, not just labelled so.
    let bigger = d.customers.iter().filter(|o| sales(o) > sales(c)).count();
    assert!(
        bigger < d.customers.len() / 20,
        "{bigger} customers buy more"
    );
}

#[test]
fn sizes_and_buying_patterns() {
    let d = demo();
    let n = d.customers.len();
    assert_eq!(n, DEFAULT_CUSTOMERS);
    let orders = d.order_count();
    assert!((40_000..=60_000).contains(&orders), "{orders} orders");

    let buyers: Vec<i64> = d.customers.iter().map(sales).filter(|s| *s > 0).collect();
    let share = top_fifth_share(buyers);
    assert!(
        (0.70..=0.90).contains(&share),
        "top 20% of buyers bring {share:.3}"
    );
    let all = top_fifth_share(d.customers.iter().map(sales).collect());
    assert!(
        (0.70..=0.90).contains(&all),
        "top 20% of customers bring {all:.3}"
    );

    let once = d.customers.iter().filter(|c| c.orders.len() == 1).count();
    assert!(
        (n * 7 / 100..=n * 13 / 100).contains(&once),
        "{once} bought once"
    );
    let year_ago = today() - Duration::days(365);
    let churned = d
        .customers
        .iter()
        .filter(|c| c.orders.len() >= 2 && c.orders.last().is_some_and(|o| order_day(o) < year_ago))
        .count();
    assert!((n / 100..=n / 10).contains(&churned), "{churned} churned");
    let pool = d.customers.iter().filter(|c| c.owner.is_none()).count();
    assert!((20..=60).contains(&pool), "{pool} in the pool");

    let individuals = d
        .customers
        .iter()
        .filter(|c| c.input.kind == CustomerKind::Individual)
        .count();
    assert!(
        (n / 10..=n / 5).contains(&individuals),
        "{individuals} individuals"
    );
    let companies: Vec<_> = d
        .customers
        .iter()
        .filter(|c| c.input.kind == CustomerKind::Company)
        .collect();
    let coded = companies
        .iter()
        .filter(|c| c.input.external_code.is_some())
        .count();
    assert!(
        coded * 10 >= companies.len() * 8,
        "{coded} of {} have a credit code",
        companies.len()
    );
    let provinces: HashSet<_> = d
        .customers
        .iter()
        .filter_map(|c| c.input.province.as_deref())
        .collect();
    assert!(provinces.len() >= 6, "{provinces:?}");
    let industries: HashSet<_> = companies
        .iter()
        .filter_map(|c| c.input.industry.as_deref())
        .collect();
    assert!(industries.len() >= 9, "{industries:?}");
    let names: HashSet<_> = companies.iter().map(|c| &c.input.name).collect();
    assert_eq!(names.len(), companies.len(), "company names are unique");
    assert!(companies.iter().any(|c| c.input.card.gifts_forbidden
        && matches!(
            c.input.company_type,
            Some(CompanyType::Government | CompanyType::StateOwned)
        )));
    let referred = d
        .customers
        .iter()
        .filter(|c| c.referred_by.is_some())
        .count();
    assert!(referred > n / 20, "{referred} referred");
    let key = d.customers.iter().filter(|c| c.input.key_customer).count();
    assert!(key > 10 && key < n / 5, "{key} key customers");

    let late = d
        .customers
        .iter()
        .flat_map(|c| &c.orders)
        .filter(|o| matches!((o.due_date, o.paid_date), (Some(due), Some(paid)) if paid > due))
        .count();
    let with_due = d
        .customers
        .iter()
        .flat_map(|c| &c.orders)
        .filter(|o| o.due_date.is_some())
        .count();
    assert!(
        with_due > orders / 5 && late > with_due / 50 && late < with_due / 2,
        "{late} late of {with_due}"
    );
}

#[test]
fn orders_are_plausible_and_numbered_uniquely() {
    let d = demo();
    let first = today() - Duration::days(730);
    let mut ids = HashSet::new();
    let (mut products, mut channels, mut stores) = (HashSet::new(), HashSet::new(), HashSet::new());
    for (i, c) in d.customers.iter().enumerate() {
        for w in c.orders.windows(2) {
            assert!(w[0].ordered_at <= w[1].ordered_at);
        }
        for o in &c.orders {
            assert_eq!(o.customer_id, i as i64 + 1);
            assert!(
                ids.insert(o.external_id.clone().unwrap()),
                "duplicate {:?}",
                o.external_id
            );
            assert!((first..today()).contains(&order_day(o)));
            assert!(o.amount > Money(0) && o.quantity >= 1);
            assert_eq!(
                o.amount.fen() % o.quantity,
                0,
                "amount = quantity × unit price"
            );
            assert_eq!(Money::parse(&o.amount.to_string()).unwrap(), o.amount);
            if let Some(paid) = o.paid_date {
                assert!(paid <= today() && paid >= order_day(o));
                assert!(o.due_date.is_some());
            }
            if let Some(due) = o.due_date {
                assert!(due > order_day(o));
            }
            products.insert(o.product.clone().unwrap());
            channels.insert(o.channel.clone().unwrap());
            stores.insert(o.store.clone().unwrap());
        }
    }
    assert!(products.len() >= 10 && channels.len() >= 6 && stores.len() >= 4);
}

#[test]
fn every_value_passes_the_domain_parsers() {
    check_valid(demo());
}

fn check_valid(d: &DemoCompany) {
    for (i, c) in d.customers.iter().enumerate() {
        assert!(c.referred_by.is_none_or(|r| r < i));
        if c.referred_by.is_some() {
            assert_eq!(
                c.input.source,
                Some(keqing_domain::customer::Source::Referral)
            );
        }
        assert_eq!(
            CustomerInput::from_json(&c.input.to_json()).as_ref(),
            Ok(&c.input)
        );
        if let Some(p) = &c.input.phone {
            assert_eq!(Phone::parse(p.as_str()).as_ref(), Ok(p));
        }
        if let Some(code) = &c.input.external_code {
            assert_eq!(code.len(), 18, "{code}");
            assert_eq!(
                archive::credit_code_check(&code[..17]),
                code.chars().last().unwrap(),
                "{code}"
            );
        }
        if let Some(owner) = &c.owner {
            let u = d.user(owner).unwrap();
            assert_eq!(u.role, Role::Manager);
            assert_eq!(u.team.as_ref(), Some(&c.team));
        }
        if c.input.kind == CustomerKind::Company {
            assert!((1..=3).contains(&c.contacts.len()));
            assert_eq!(c.contacts[0].level, Some(ContactLevel::PersonInCharge));
        } else {
            assert_eq!(c.contacts.len(), 1);
            assert_eq!(c.contacts[0].name, c.input.name);
        }
        for k in &c.contacts {
            assert_eq!(ContactInput::from_json(&k.to_json()).as_ref(), Ok(k));
            if let Some(m) = &k.mobile {
                assert!(m.is_mobile() && Phone::parse(m.as_str()).is_ok());
            }
        }
        for a in &c.activities {
            let v = serde_json::to_value(&a.activity).unwrap();
            let back = NewActivity::from_json(v.as_object().unwrap()).unwrap();
            assert_eq!(back, a.activity);
            assert!(a.contact.is_none_or(|i| i < c.contacts.len()));
            assert!(d.user(&a.by).is_some_and(|u| u.role == Role::Manager));
            if c.input.card.gifts_forbidden {
                assert_ne!(a.activity.kind, ActivityKind::Gift, "{}", c.input.name);
            }
        }
    }
}

#[test]
fn birthdays_lunar_and_soon() {
    let d = demo();
    let birthdays: Vec<Birthday> = d
        .customers
        .iter()
        .flat_map(|c| &c.contacts)
        .filter_map(|k| k.birthday)
        .collect();
    let lunar: Vec<_> = birthdays
        .iter()
        .filter(|b| matches!(b, Birthday::Lunar { .. }))
        .collect();
    let share = lunar.len() as f64 / birthdays.len() as f64;
    assert!((0.2..=0.4).contains(&share), "{share:.2} lunar");
    assert!(lunar
        .iter()
        .any(|b| matches!(b, Birthday::Lunar { day: 30, .. })));
    assert!(lunar
        .iter()
        .any(|b| matches!(b, Birthday::Lunar { leap: true, .. })));
    assert!(birthdays.iter().any(
        |b| b.to_string().starts_with("农历") && b.to_string().len() == "农历1975-08-15".len()
    ));
    let on = |date: NaiveDate| {
        birthdays
            .iter()
            .filter(|b| matches!(b, Birthday::Solar { month, day, .. } if *month == date.month() && *day == date.day()))
            .count()
    };
    assert!(on(today()) >= 5, "{} birthdays today", on(today()));
    let week: usize = (1..=7).map(|k| on(today() + Duration::days(k))).sum();
    assert!(week >= 20, "{week} birthdays this week");
}

#[test]
fn follow_ups_leave_some_customers_for_the_pool() {
    let d = demo();
    let now = today();
    let gaps: Vec<i64> = d
        .customers
        .iter()
        .filter(|c| c.owner.is_some())
        .map(|c| {
            let last = c
                .activities
                .iter()
                .filter(|a| a.activity.kind.is_follow_up())
                .filter_map(|a| a.activity.at)
                .max()
                .unwrap();
            (now - (last + Duration::hours(8)).date_naive()).num_days()
        })
        .collect();
    assert!(
        gaps.iter().all(|g| *g >= 1),
        "nothing is logged today or later"
    );
    let overdue = gaps.iter().filter(|g| **g > 30).count();
    assert!(
        overdue * 20 > gaps.len() && overdue * 4 < gaps.len(),
        "{overdue} of {} overdue",
        gaps.len()
    );
    for c in d.customers.iter().filter(|c| c.owner.is_some()) {
        assert!(c.activities.iter().all(|a| Some(&a.by) == c.owner.as_ref()));
    }
    let kinds: HashSet<_> = d
        .customers
        .iter()
        .flat_map(|c| &c.activities)
        .map(|a| a.activity.kind)
        .collect();
    assert_eq!(kinds.len(), ActivityKind::ALL.len(), "{kinds:?}");
    let helps: HashSet<_> = d
        .customers
        .iter()
        .flat_map(|c| &c.activities)
        .filter_map(|a| a.activity.help_kind)
        .collect();
    assert_eq!(helps.len(), 7);
}

#[test]
fn a_seed_gives_the_same_company() {
    let a = generate(7, today(), 300);
    let b = generate(7, today(), 300);
    let c = generate(8, today(), 300);
    let json = |d: &DemoCompany| serde_json::to_string(d).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_ne!(json(&a), json(&c));
}

#[test]
fn other_seeds_dates_and_sizes_are_valid_too() {
    // A today just before 29 February puts leap-day birthdays into the week.
    let leap = NaiveDate::from_ymd_opt(2028, 2, 24).unwrap();
    for (seed, day, n) in [
        (1, today(), 0),
        (2, today(), 1),
        (3, today(), 7),
        (4, leap, 400),
        (5, leap, 1000),
    ] {
        let d = generate(seed, day, n);
        assert_eq!(d.customers.len(), n);
        assert_eq!(n > 0, d.customer(ANCHOR_CUSTOMER).is_some());
        check_valid(&d);
    }
}

#[test]
fn credit_code_check_character() {
    // 华为技术有限公司's published code.
    assert_eq!(archive::credit_code_check("91440300192203821"), '6');
}

#[test]
#[ignore = "prints a summary; run with --ignored --nocapture"]
fn summary() {
    let t = std::time::Instant::now();
    let d = generate(DEFAULT_SEED, today(), DEFAULT_CUSTOMERS);
    eprintln!("generated in {:?}", t.elapsed());
    let buyers: Vec<i64> = d.customers.iter().map(sales).filter(|s| *s > 0).collect();
    let total: i64 = buyers.iter().sum();
    eprintln!(
        "customers {} orders {} activities {} contacts {} buyers {} total {} top20 {:.3} / all {:.3}",
        d.customers.len(),
        d.order_count(),
        d.activity_count(),
        d.customers.iter().map(|c| c.contacts.len()).sum::<usize>(),
        buyers.len(),
        Money(total),
        top_fifth_share(buyers.clone()),
        top_fifth_share(d.customers.iter().map(sales).collect()),
    );
    let mut by_sales: Vec<&DemoCustomer> = d.customers.iter().collect();
    by_sales.sort_by_key(|c| -sales(c));
    for c in by_sales.iter().take(8) {
        eprintln!(
            "{} {} orders {} sales {}",
            c.input.name,
            c.input.class.as_deref().unwrap_or("-"),
            c.orders.len(),
            Money(sales(c))
        );
    }
    for c in d.customers.iter().skip(1).take(12) {
        eprintln!("{}", serde_json::to_string(&c.input).unwrap());
        eprintln!("  {}", serde_json::to_string(&c.contacts).unwrap());
        eprintln!("  {}", serde_json::to_string(&c.orders.last()).unwrap());
        eprintln!("  {}", serde_json::to_string(&c.activities.last()).unwrap());
    }
    let classes = ["A", "B", "C", "D"].map(|k| {
        d.customers
            .iter()
            .filter(|c| c.input.class.as_deref() == Some(k))
            .count()
    });
    eprintln!("classes {classes:?}");
}

#[test]
#[ignore = "statistics over seeds; run with --ignored --nocapture"]
fn seeds_stats() {
    for seed in 1..=12 {
        let d = generate(seed, today(), DEFAULT_CUSTOMERS);
        let buyers: Vec<i64> = d.customers.iter().map(sales).filter(|s| *s > 0).collect();
        let once = d.customers.iter().filter(|c| c.orders.len() == 1).count();
        eprintln!(
            "seed {seed}: orders {} top20 {:.3} once {once}",
            d.order_count(),
            top_fifth_share(buyers)
        );
    }
}

#[test]
fn targets_for_every_level_on_sales_and_visits() {
    let d = demo();
    let this = today().year();
    for year in [this - 1, this] {
        for metric in ["sales_amount", "visits"] {
            let of = |s: &DemoSubject| {
                d.targets
                    .iter()
                    .filter(|x| &x.subject == s && x.metric == metric && x.year == year)
                    .count()
            };
            assert_eq!(of(&DemoSubject::Company), 1, "{year} {metric}");
            for t in &d.teams {
                assert_eq!(of(&DemoSubject::Team(t.name.clone())), 1);
                assert_eq!(of(&DemoSubject::Region(t.region.clone())), 1);
            }
            for u in d.users.iter().filter(|u| u.role == Role::Manager) {
                assert_eq!(
                    of(&DemoSubject::User(u.username.clone())),
                    1,
                    "{}",
                    u.username
                );
            }
        }
    }
    assert!(d.targets.iter().all(|x| x.amount > 0));
    // A team's own target asks a little more than its members' sum (the gap shows).
    let team = &d.teams[0];
    let members: i64 = d
        .users
        .iter()
        .filter(|u| u.team.as_deref() == Some(&team.name) && u.role == Role::Manager)
        .map(|u| {
            d.targets
                .iter()
                .find(|x| {
                    x.subject == DemoSubject::User(u.username.clone())
                        && x.metric == "sales_amount"
                        && x.year == this
                })
                .unwrap()
                .amount
        })
        .sum();
    let own = d
        .targets
        .iter()
        .find(|x| {
            x.subject == DemoSubject::Team(team.name.clone())
                && x.metric == "sales_amount"
                && x.year == this
        })
        .unwrap()
        .amount;
    assert!(own > members, "{own} > {members}");
    // This year's sales target is a stretch over last year's actual.
    let wang_last: i64 = d
        .customers
        .iter()
        .filter(|c| c.owner.as_deref() == Some("wangfang"))
        .flat_map(|c| &c.orders)
        .filter(|o| (o.ordered_at + Duration::hours(8)).year() == this - 1)
        .map(|o| o.amount.fen())
        .sum();
    let wang = d
        .targets
        .iter()
        .find(|x| {
            x.subject == DemoSubject::User("wangfang".into())
                && x.metric == "sales_amount"
                && x.year == this
        })
        .unwrap();
    assert!(
        wang.amount >= wang_last * 108 / 100 && wang.amount < wang_last * 108 / 100 + 1_000_000
    );
}

#[test]
fn the_company_target_is_split_by_month_and_revised_once() {
    let d = demo();
    let this = today().year();
    let c = d
        .targets
        .iter()
        .find(|x| x.subject == DemoSubject::Company && x.metric == "sales_amount" && x.year == this)
        .unwrap();
    let weights = c.months.expect("month weights");
    assert_eq!(weights.iter().sum::<u32>(), 100);
    assert_eq!(c.revisions.len(), 1);
    let r = &c.revisions[0];
    assert_eq!(r.reason, REVISION_REASON);
    assert_eq!(
        r.effective_from,
        NaiveDate::from_ymd_opt(this, 7, 1).unwrap()
    );
    // Upward by 2%, as 2.5万 → 2.55万.
    assert!(r.amount > c.amount && r.amount <= c.amount * 102 / 100 + 1_000_000);
    assert!(d.user(&r.by).is_some_and(|u| u.role == Role::Director));
}
