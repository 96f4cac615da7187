//! Two years of orders (SPEC §2) with the shape the value analysis looks for:
//! an 80/20 skew, one-off buyers, churned and new customers, credit customers
//! with due and paid dates, some of them late.

use crate::archive::{Kind, Pattern, Profile};
use crate::rng::{exp, Rng};
use crate::vocab::PRODUCTS;
use crate::TEAMS;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use keqing_domain::{Money, NewOrder};

/// Days of history: the two years up to `today`. Orders end yesterday, so
/// no order lies in the future whenever on `today` the demo starts.
pub(crate) const HISTORY_DAYS: i64 = 730;
/// Orders per customer on average (2,000 customers → about 50,000 orders).
const ORDERS_PER_CUSTOMER: f64 = 25.0;
/// Share of a customer's size that shows in how often they buy; the rest
/// shows in how much they buy each time.
const FREQUENCY_SHARE: f64 = 0.55;

/// Relative order volume by month: the Spring Festival dip, 618, Double 11
/// and the year-end rush.
const SEASON: [f64; 12] = [
    1.05, 0.55, 0.95, 1.0, 1.0, 1.05, 0.9, 0.9, 1.05, 0.95, 1.15, 1.2,
];

/// The local (Beijing time, UTC+8) moment `minutes` after midnight on `date`.
pub(crate) fn beijing(date: NaiveDate, minutes: i64) -> DateTime<Utc> {
    (date.and_time(NaiveTime::MIN) + Duration::minutes(minutes - 8 * 60)).and_utc()
}

/// The active span of a customer in days before today: (first, last).
fn span(rng: &mut Rng, p: &Profile) -> Option<(i64, i64)> {
    match p.pattern {
        Pattern::Prospect => None,
        Pattern::OneTime => {
            let d = rng.range(1, HISTORY_DAYS);
            Some((d, d))
        }
        Pattern::Regular => Some((HISTORY_DAYS, 1)),
        Pattern::New => Some((rng.range(20, 270), 1)),
        // Stopped buying more than a year ago.
        Pattern::Churned => Some((HISTORY_DAYS, rng.range(370, 560))),
    }
}

pub(crate) fn generate(
    rng: &mut Rng,
    today: NaiveDate,
    profiles: &[Profile],
) -> Vec<Vec<NewOrder>> {
    let spans: Vec<Option<(i64, i64)>> = profiles.iter().map(|p| span(rng, p)).collect();
    let intensity = |p: &Profile, s: (i64, i64)| {
        let active = (s.0 - s.1 + 1) as f64 / HISTORY_DAYS as f64;
        pow(p.weight, FREQUENCY_SHARE) * active
    };
    let one_timers = profiles
        .iter()
        .filter(|p| p.pattern == Pattern::OneTime)
        .count() as f64;
    let total_intensity: f64 = profiles
        .iter()
        .zip(&spans)
        .filter(|(p, _)| p.pattern != Pattern::OneTime)
        .filter_map(|(p, s)| s.map(|s| intensity(p, s)))
        .sum();
    let target = ORDERS_PER_CUSTOMER * profiles.len() as f64 - one_timers;
    let scale = if total_intensity > 0.0 {
        target.max(0.0) / total_intensity
    } else {
        0.0
    };

    let mut all: Vec<Vec<NewOrder>> = Vec::with_capacity(profiles.len());
    for (i, (p, s)) in profiles.iter().zip(&spans).enumerate() {
        let Some(s) = *s else {
            all.push(Vec::new());
            continue;
        };
        let count = if p.pattern == Pattern::OneTime {
            1
        } else {
            ((intensity(p, s) * scale + 0.5) as usize).max(2)
        };
        all.push(customer_orders(rng, today, i, p, s, count));
    }
    number(&mut all);
    all
}

fn customer_orders(
    rng: &mut Rng,
    today: NaiveDate,
    index: usize,
    p: &Profile,
    span: (i64, i64),
    count: usize,
) -> Vec<NewOrder> {
    let ticket_fen = p.ticket_yuan() * 100.0 * pow(p.weight, 1.0 - FREQUENCY_SHARE);
    let discount = rng.range(0, 8);
    let individual = p.kind == Kind::Individual;
    let usual_channel = channel(rng, individual);
    let mut orders = Vec::with_capacity(count);
    for _ in 0..count {
        let date = loop {
            let d = today - Duration::days(rng.range(span.1, span.0));
            if rng.unit() * 1.2 < SEASON[d.month0() as usize] {
                break d;
            }
        };
        let ordered_at = beijing(date, rng.range(8 * 60, 20 * 60 - 1));
        let wanted = ticket_fen * rng.log_normal(0.35);
        let product = pick_product(rng, p.products(), wanted);
        let (name, list) = PRODUCTS[product];
        // A customer discount, rounded to the jiao.
        let unit = (list * (100 - discount) / 100 + 5) / 10 * 10;
        let quantity = ((wanted / unit as f64 + 0.5) as i64).max(1);
        let ch = if rng.chance(0.7) {
            usual_channel
        } else {
            channel(rng, individual)
        };
        let (due_date, paid_date) = match p.term_days {
            Some(term) => payment(rng, today, date, term, p.late_payer),
            None => (None, None),
        };
        orders.push(NewOrder {
            external_id: None,
            customer_id: index as i64 + 1,
            ordered_at,
            amount: Money(unit * quantity),
            quantity,
            unit: None,
            product: Some(name.to_string()),
            channel: Some(ch.to_string()),
            store: Some(store(rng, ch, p.team).to_string()),
            due_date,
            paid_date,
        });
    }
    orders.sort_by_key(|o| o.ordered_at);
    orders
}

/// A product the wanted amount buys between 1 and 500 units of; failing
/// that the dearest one it affords, or the cheapest.
fn pick_product(rng: &mut Rng, products: &[usize], wanted: f64) -> usize {
    let price = |k: usize| PRODUCTS[k].1 as f64;
    let fits: Vec<usize> = products
        .iter()
        .copied()
        .filter(|k| price(*k) <= wanted && price(*k) * 500.0 >= wanted)
        .collect();
    if !fits.is_empty() {
        return *rng.pick(&fits);
    }
    let affordable = products.iter().copied().filter(|k| price(*k) <= wanted);
    affordable
        .max_by_key(|k| PRODUCTS[*k].1)
        .or_else(|| products.iter().copied().min_by_key(|k| PRODUCTS[*k].1))
        .unwrap_or(0)
}

fn channel(rng: &mut Rng, individual: bool) -> &'static str {
    if individual {
        rng.weighted(&[
            ("门店", 50),
            ("天猫旗舰店", 20),
            ("京东自营", 15),
            ("微信小程序", 15),
        ])
    } else {
        rng.weighted(&[
            ("业务员下单", 45),
            ("电话订购", 25),
            ("微信小程序", 10),
            ("经销商", 10),
            ("官网商城", 7),
            ("展会", 3),
        ])
    }
}

fn store(rng: &mut Rng, channel: &str, team: usize) -> &'static str {
    match channel {
        "天猫旗舰店" | "京东自营" | "微信小程序" | "官网商城" => "线上商城",
        "门店" if TEAMS[team].region == "江苏" => "南京新街口门店",
        "门店" => "杭州武林门店",
        // Company orders ship from the team's warehouse, a few from the shop.
        _ if TEAMS[team].region == "江苏" => {
            rng.weighted(&[("南京江宁仓库", 4), ("南京新街口门店", 1)])
        }
        _ => rng.weighted(&[("杭州萧山仓库", 4), ("杭州武林门店", 1)]),
    }
}

/// Due date from the payment term; paid on time mostly, late for a late
/// payer; not yet paid when the paid date would be after today.
fn payment(
    rng: &mut Rng,
    today: NaiveDate,
    date: NaiveDate,
    term: i64,
    late_payer: bool,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let due = date + Duration::days(term);
    let paid = if late_payer && rng.chance(0.7) {
        due + Duration::days(rng.range(5, 90))
    } else if rng.chance(0.08) {
        due + Duration::days(rng.range(1, 15))
    } else {
        date + Duration::days(rng.range(term / 3, term))
    };
    (Some(due), (paid <= today).then_some(paid))
}

/// Order numbers: `SO` + date + the order's place that day, in time order
/// over the whole company, so every number is unique.
fn number(all: &mut [Vec<NewOrder>]) {
    let mut keys: Vec<(DateTime<Utc>, usize, usize)> = all
        .iter()
        .enumerate()
        .flat_map(|(c, os)| {
            os.iter()
                .enumerate()
                .map(move |(k, o)| (o.ordered_at, c, k))
        })
        .collect();
    keys.sort_unstable();
    let mut day = None;
    let mut seq = 0;
    for (at, c, k) in keys {
        let d = (at + Duration::hours(8)).date_naive();
        if day != Some(d) {
            day = Some(d);
            seq = 0;
        }
        seq += 1;
        all[c][k].external_id = Some(format!(
            "SO{:04}{:02}{:02}-{seq:04}",
            d.year(),
            d.month(),
            d.day()
        ));
    }
}

/// `x^y` for `x > 0` through [`exp`] and a platform-independent logarithm.
pub(crate) fn pow(x: f64, y: f64) -> f64 {
    exp(y * ln(x))
}

/// Natural logarithm by halving the argument into [1, 2) and the series of
/// atanh; bit-identical on every platform.
pub(crate) fn ln(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let mut m = x;
    let mut k = 0.0;
    while m >= 2.0 {
        m /= 2.0;
        k += 1.0;
    }
    while m < 1.0 {
        m *= 2.0;
        k -= 1.0;
    }
    // ln(m) = 2 atanh((m - 1) / (m + 1)), |t| ≤ 1/3
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let mut term = t;
    let mut sum = 0.0;
    for n in 0..30 {
        sum += term / (2 * n + 1) as f64;
        term *= t2;
    }
    2.0 * sum + k * LN2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_and_pow_match_std() {
        for x in [0.01, 0.5, 1.0, 2.0, 3.7, 150.0] {
            assert!((ln(x) - x.ln()).abs() < 1e-12, "ln({x})");
            assert!(
                (pow(x, 0.45) - x.powf(0.45)).abs() / x.powf(0.45) < 1e-9,
                "pow({x})"
            );
        }
    }

    #[test]
    fn beijing_morning_is_the_same_utc_day() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(beijing(d, 9 * 60).to_rfc3339(), "2026-11-23T01:00:00+00:00");
    }
}
