//! Pay (issue 26, seeds 000 and 003): the monthly pay P = A + B + C, the
//! year-end bonus pool and the 70/30 scorecard. Plain arithmetic on integer
//! fen; every division rounds half up to the fen (half away from zero).

use crate::error::{Collector, ValidationError};
use crate::Money;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The rate of the hard-target pay B when neither the person nor their role
/// has one: 15% (000), in basis points (1/100 of a percent).
pub const DEFAULT_RATE_BP: i64 = 1500;
/// The year-end bonus pool's share of the year's sales: 5% (000), in basis points.
pub const DEFAULT_BONUS_RATE_BP: i64 = 500;
/// Basis points in one whole.
pub const BP: i64 = 10_000;

/// `n / d` rounded half up (away from zero) to an integer; `d` > 0.
pub fn div_half_up(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// A rate in basis points as the percent people read: 1500 → "15%", 1250 → "12.5%".
pub fn rate_text(bp: i64) -> String {
    let whole = bp / 100;
    let frac = (bp % 100).abs();
    if frac == 0 {
        format!("{whole}%")
    } else if frac % 10 == 0 {
        format!("{whole}.{}%", frac / 10)
    } else {
        format!("{whole}.{frac:02}%")
    }
}

/// Parses a rate given as a fraction ("0.15", 0.15 as text) or a percent
/// ("15%") into basis points, 0 to 100%, at most two decimals of a percent.
pub fn parse_rate(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let bad = || {
        format!("比例格式不正确，应为 0 到 1 之间的小数或百分数 not a rate between 0 and 1 (or a percent): {t:?}")
    };
    let (digits, scale) = match t.strip_suffix('%') {
        Some(p) => (p.trim(), 100i64),
        None => (t, 10_000i64),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 6
    {
        return Err(bad());
    }
    // value = int.frac × scale, exact only when frac has few enough digits.
    let places = (scale as f64).log10().round() as usize;
    if frac.len() > places {
        return Err(bad());
    }
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut f = frac.to_string();
    while f.len() < places {
        f.push('0');
    }
    let frac: i64 = if f.is_empty() {
        0
    } else {
        f.parse().map_err(|_| bad())?
    };
    let bp = int * scale + frac;
    if !(0..=BP).contains(&bp) {
        return Err(bad());
    }
    Ok(bp)
}

/// The hard-target pay B of one month and why it is what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardPay {
    pub amount: Money,
    /// The formula with its figures, or why B is 0.
    pub text: String,
}

/// B = (actual ÷ plan) × actual × rate (000), in fen, half up to the fen.
/// No plan (or a plan of 0) gives 0 with the reason; so does an actual of 0
/// or less (returns exceeding sales earn no negative B).
pub fn hard_pay(actual: Money, plan: Option<Money>, rate_bp: i64) -> HardPay {
    let Some(plan) = plan.filter(|p| p.fen() > 0) else {
        return HardPay {
            amount: Money(0),
            text: "B = 0：本月没有计划销售额 no sales plan for the month".into(),
        };
    };
    if actual.fen() <= 0 {
        return HardPay {
            amount: Money(0),
            text: format!("B = 0：本月实际销售额为 {actual} no sales in the month"),
        };
    }
    let a = actual.fen() as i128;
    let fen = div_half_up(a * a * rate_bp as i128, plan.fen() as i128 * BP as i128);
    let amount = Money(fen.min(i64::MAX as i128) as i64);
    HardPay {
        amount,
        text: format!(
            "B = ({actual} ÷ {plan}) × {actual} × {} = {amount}",
            rate_text(rate_bp)
        ),
    }
}

/// What keqing already knows that bears on a duty, offered to the supervisor
/// as evidence (never a score by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Changes of customer files registered within 15 days (change_reports).
    ChangesRegistered,
    /// Greetings done in the month (care tasks of occasion kinds, done).
    GreetingsDone,
    /// Weeks in which the person helped an A-class customer (activities of kind help).
    HelpWeeks,
}

/// One soft-target duty (000 article 1): full score earns `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Duty {
    /// The duty's number in the list, 1 to 10.
    pub no: u32,
    /// What the duty asks, Chinese.
    pub title: String,
    /// Its weight in the soft score, percent; the weights add up to 100.
    pub weight: u32,
    /// What a full score (100) earns in a month, yuan.
    pub amount: Money,
    /// The facts offered as evidence when the supervisor scores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// The ten duties of 000 article 1. The scraped seed lacks item 3; keqing
/// supplies "visit regularly", the duty the list's other items (files,
/// knowing the customer, weekly help) take for granted.
pub fn default_duties() -> Vec<Duty> {
    let d = |no: u32, title: &str, evidence: Option<Evidence>| Duty {
        no,
        title: title.into(),
        weight: 10,
        amount: Money::from_yuan(100),
        evidence,
    };
    vec![
        d(
            1,
            "客户档案齐全准确，资料变更 15 天内登记",
            Some(Evidence::ChangesRegistered),
        ),
        d(2, "与客户双向熟悉，熟记客情关系卡", None),
        d(
            3,
            "定期拜访客户，A 类客户每月至少拜访一次并记录拜访日志",
            None,
        ),
        d(4, "每周至少帮 A 类客户做一件事", Some(Evidence::HelpWeeks)),
        d(5, "客户首荐我们的产品或服务", None),
        d(6, "及时反馈客户意见、竞品动向、竞争对手活动", None),
        d(
            7,
            "重要节日、客户生日署名问候",
            Some(Evidence::GreetingsDone),
        ),
        d(8, "计划、总结、工作日记、报表按时规范上报", None),
        d(9, "关心公司发展，提出改进意见和建议", None),
        d(10, "完成领导临时交办的其他工作", None),
    ]
}

/// Checks a duty list: numbered 1.., titled, weights summing to 100, no
/// negative amounts. Errors name `duties`.
pub fn check_duties(duties: &[Duty]) -> Result<(), ValidationError> {
    let mut c = Collector::default();
    if duties.is_empty() || duties.len() > 20 {
        c.push("duties", "职责应为 1 到 20 项 between 1 and 20 duties");
    }
    let sum: u32 = duties.iter().map(|d| d.weight).sum();
    if sum != 100 {
        c.push(
            "duties",
            format!(
                "各项职责权重之和应为 100，现为 {sum} the weights must add up to 100, not {sum}"
            ),
        );
    }
    for (i, d) in duties.iter().enumerate() {
        if d.no as usize != i + 1 {
            c.push(
                format!("duties[{i}].no"),
                format!("编号应为 {} the number must be {}", i + 1, i + 1),
            );
        }
        if d.title.trim().is_empty() || d.title.chars().count() > 200 {
            c.push(
                format!("duties[{i}].title"),
                "职责内容应为 1 到 200 字 the title must have 1 to 200 characters",
            );
        }
        if d.amount.fen() < 0 {
            c.push(
                format!("duties[{i}].amount"),
                "金额不能为负 the amount may not be negative",
            );
        }
    }
    c.finish()
}

/// One duty's score for a month, 0 to 100 (percent of the duty done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DutyScore {
    pub no: u32,
    pub score: u32,
}

/// The soft pay C: each duty's amount × its score ÷ 100, half up to the fen;
/// unscored duties earn nothing. Returns C and the per-duty amounts.
pub fn soft_pay(duties: &[Duty], scores: &[DutyScore]) -> (Money, Vec<(u32, u32, Money)>) {
    let mut total = 0i64;
    let mut parts = Vec::with_capacity(duties.len());
    for d in duties {
        let score = scores
            .iter()
            .find(|s| s.no == d.no)
            .map_or(0, |s| s.score.min(100));
        let fen = div_half_up(d.amount.fen() as i128 * score as i128, 100) as i64;
        total += fen;
        parts.push((d.no, score, Money(fen)));
    }
    (Money(total), parts)
}

/// "P = A + B + C = 5000.00 + 18750.00 + 800.00 = 24550.00"
pub fn pay_text(base: Money, hard: Money, soft: Money) -> String {
    let total = Money(base.fen() + hard.fen() + soft.fen());
    format!("P = A + B + C = {base} + {hard} + {soft} = {total}")
}

/// The year-end bonus pool: rate × the year's sales, half up to the fen.
pub fn bonus_pool(sales: Money, rate_bp: i64) -> Money {
    Money(div_half_up(sales.fen() as i128 * rate_bp as i128, BP as i128) as i64)
}

/// Whole months of service from `start` to the end of `year` (the first of
/// January after it); 0 for someone who started after the year.
pub fn months_of_service(start: NaiveDate, year: i32) -> u32 {
    let end = NaiveDate::from_ymd_opt(year + 1, 1, 1).expect("a year");
    if start >= end {
        return 0;
    }
    let mut months = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
    if end.day() < start.day() {
        months -= 1;
    }
    months.max(0) as u32
}

/// The bonus factor in percent: 100 from 3 months of service, 10 less for
/// each month missing (2 → 90, 1 → 80, 0 → 70).
pub fn service_factor(months: u32) -> u32 {
    100 - 10 * 3u32.saturating_sub(months)
}

/// One person's share of the pool: pay ÷ all pay × pool × factor, half up.
pub fn bonus_share(pay: Money, all_pay: Money, pool: Money, factor_pct: u32) -> Money {
    if all_pay.fen() <= 0 || pay.fen() <= 0 {
        return Money(0);
    }
    let n = pay.fen() as i128 * pool.fen() as i128 * factor_pct as i128;
    Money(div_half_up(n, all_pay.fen() as i128 * 100) as i64)
}

/// A scorecard item's group (003): quantitative 70, qualitative 30.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScoreGroup {
    /// 定量 (70%): sales, key brands, shelf rate, out-of-province share.
    Quantitative,
    /// 定性 (30%): relationship management, platform, training, discipline.
    Qualitative,
}

/// One scorecard item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoreItem {
    /// A stable key, letters, digits and `_`.
    pub key: String,
    /// Its name, Chinese.
    pub name: String,
    /// Quantitative or qualitative.
    pub group: ScoreGroup,
    /// Its weight, percent; all items add up to 100.
    pub weight: u32,
    /// A performance metric (`sales_amount`, …) whose completion fills the
    /// score (100% completion or more = 100), for quantitative items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

/// 003's scorecard: four quantitative items (70) and four qualitative (30).
pub fn default_score_items() -> Vec<ScoreItem> {
    let i = |key: &str, name: &str, group, weight, metric: Option<&str>| ScoreItem {
        key: key.into(),
        name: name.into(),
        group,
        weight,
        metric: metric.map(str::to_string),
    };
    use ScoreGroup::*;
    vec![
        i(
            "area_sales",
            "辖区销量",
            Quantitative,
            25,
            Some("sales_amount"),
        ),
        i("key_brands", "重点品牌销量", Quantitative, 15, None),
        i("shelf_rate", "上柜率", Quantitative, 15, None),
        i("out_of_province", "省外烟销售比例", Quantitative, 15, None),
        i("relationships", "客户关系管理", Qualitative, 10, None),
        i("platform", "工作平台", Qualitative, 7, None),
        i("training", "学习培训", Qualitative, 7, None),
        i("discipline", "劳动纪律", Qualitative, 6, None),
    ]
}

/// Checks scorecard items: weights sum to 100, keys unique and plain, names
/// given. Errors name `items`.
pub fn check_score_items(items: &[ScoreItem]) -> Result<(), ValidationError> {
    let mut c = Collector::default();
    let sum: u32 = items.iter().map(|i| i.weight).sum();
    if sum != 100 {
        c.push(
            "items",
            format!("评分项权重之和应为 100，现为 {sum} the weights must add up to 100, not {sum}"),
        );
    }
    if items.is_empty() || items.len() > 30 {
        c.push("items", "评分项应为 1 到 30 项 between 1 and 30 items");
    }
    for (n, it) in items.iter().enumerate() {
        let plain = !it.key.is_empty()
            && it.key.len() <= 40
            && it
                .key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !plain {
            c.push(
                format!("items[{n}].key"),
                "键只能含字母、数字和下划线 the key may hold letters, digits and _ only",
            );
        } else if items[..n].iter().any(|o| o.key == it.key) {
            c.push(
                format!("items[{n}].key"),
                format!("键重复 duplicate key {}", it.key),
            );
        }
        if it.name.trim().is_empty() || it.name.chars().count() > 100 {
            c.push(
                format!("items[{n}].name"),
                "名称应为 1 到 100 字 the name must have 1 to 100 characters",
            );
        }
    }
    c.finish()
}

/// The weighted total of a person's scores (0–100 each), in hundredths of a
/// point (8650 = 86.50); items without a score count 0.
pub fn weighted_total(items: &[ScoreItem], score_of: impl Fn(&str) -> Option<u32>) -> i64 {
    items
        .iter()
        .map(|i| i.weight as i64 * score_of(&i.key).unwrap_or(0).min(100) as i64)
        .sum()
}

/// Standard competition ranks (1, 2, 2, 4) of totals, highest first, in the
/// order given.
pub fn ranks(totals: &[i64]) -> Vec<u32> {
    totals
        .iter()
        .map(|t| 1 + totals.iter().filter(|o| *o > t).count() as u32)
        .collect()
}

/// "YYYY-MM" → (year, month).
pub fn parse_month(s: &str) -> Result<(i32, u32), String> {
    let bad = || format!("月份格式应为 YYYY-MM not a month YYYY-MM: {s:?}");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if !(2000..=2100).contains(&y) || !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}

/// The first and last day of a month.
pub fn month_bounds(year: i32, month: u32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("a month");
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("a month");
    (first, next.pred_opt().expect("a day"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_pay_fixture_of_000() {
        let b = hard_pay(
            Money::from_yuan(100_000),
            Some(Money::from_yuan(80_000)),
            DEFAULT_RATE_BP,
        );
        assert_eq!(b.amount, Money::from_yuan(18_750));
        assert_eq!(
            b.text,
            "B = (100000.00 ÷ 80000.00) × 100000.00 × 15% = 18750.00"
        );
    }

    #[test]
    fn hard_pay_without_plan_is_zero_and_says_why() {
        let b = hard_pay(Money::from_yuan(100), None, DEFAULT_RATE_BP);
        assert_eq!(b.amount, Money(0));
        assert!(b.text.contains("没有计划"), "{}", b.text);
        assert_eq!(hard_pay(Money(5), Some(Money(0)), 1500).amount, Money(0));
        assert_eq!(
            hard_pay(Money(-500), Some(Money(100)), 1500).amount,
            Money(0)
        );
    }

    #[test]
    fn hard_pay_rounds_half_up_to_the_fen() {
        // 1 × 1 × 0.15 / 2 = 0.075 fen → 0; 10 × 10 × 0.15 / 3 = 5 fen exactly.
        assert_eq!(hard_pay(Money(10), Some(Money(3)), 1500).amount, Money(5));
        // 3 × 3 × 0.15 / 2 = 0.675 → 1 fen; 1 × 1 × 0.5 / 1 = 0.5 → 1 (half up).
        assert_eq!(hard_pay(Money(3), Some(Money(2)), 1500).amount, Money(1));
        assert_eq!(hard_pay(Money(1), Some(Money(1)), 5000).amount, Money(1));
        assert_eq!(div_half_up(-5, 10), -1);
        assert_eq!(div_half_up(4, 10), 0);
    }

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(parse_rate("0.15"), Ok(1500));
        assert_eq!(parse_rate("15%"), Ok(1500));
        assert_eq!(parse_rate("12.5%"), Ok(1250));
        assert_eq!(parse_rate("0.055"), Ok(550));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("abc").is_err());
        assert!(parse_rate("0.123456").is_err());
        assert_eq!(rate_text(1500), "15%");
        assert_eq!(rate_text(1250), "12.5%");
        assert_eq!(rate_text(1234), "12.34%");
    }

    #[test]
    fn soft_pay_and_the_formula_text() {
        let duties = default_duties();
        assert_eq!(duties.len(), 10);
        check_duties(&duties).unwrap();
        let scores: Vec<DutyScore> = (1..=10).map(|no| DutyScore { no, score: 80 }).collect();
        let (c, parts) = soft_pay(&duties, &scores);
        assert_eq!(c, Money::from_yuan(800));
        assert_eq!(parts.len(), 10);
        assert_eq!(
            pay_text(Money::from_yuan(5000), Money::from_yuan(18_750), c),
            "P = A + B + C = 5000.00 + 18750.00 + 800.00 = 24550.00"
        );
        let mut bad = duties.clone();
        bad[0].weight = 50;
        let e = check_duties(&bad).unwrap_err();
        assert_eq!(e.errors[0].field, "duties");
    }

    #[test]
    fn bonus_pool_fixture_of_000() {
        assert_eq!(
            bonus_pool(Money::from_yuan(1_000_000), DEFAULT_BONUS_RATE_BP),
            Money::from_yuan(50_000)
        );
        let pool = Money::from_yuan(50_000);
        let all = Money::from_yuan(100_000);
        assert_eq!(
            bonus_share(Money::from_yuan(25_000), all, pool, 100),
            Money::from_yuan(12_500)
        );
        assert_eq!(
            bonus_share(Money::from_yuan(25_000), all, pool, 90),
            Money::from_yuan(11_250)
        );
        assert_eq!(bonus_share(Money(0), all, pool, 100), Money(0));
    }

    #[test]
    fn months_of_service_and_factors() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(months_of_service(d(2020, 3, 1), 2026), 82);
        assert_eq!(months_of_service(d(2026, 10, 1), 2026), 3);
        assert_eq!(months_of_service(d(2026, 10, 2), 2026), 2);
        assert_eq!(months_of_service(d(2026, 11, 1), 2026), 2);
        assert_eq!(months_of_service(d(2026, 12, 1), 2026), 1);
        assert_eq!(months_of_service(d(2026, 12, 15), 2026), 0);
        assert_eq!(months_of_service(d(2027, 2, 1), 2026), 0);
        assert_eq!(service_factor(12), 100);
        assert_eq!(service_factor(3), 100);
        assert_eq!(service_factor(2), 90);
        assert_eq!(service_factor(1), 80);
        assert_eq!(service_factor(0), 70);
    }

    #[test]
    fn scorecard_is_70_30_and_must_sum_to_100() {
        let items = default_score_items();
        check_score_items(&items).unwrap();
        let q: u32 = items
            .iter()
            .filter(|i| i.group == ScoreGroup::Quantitative)
            .map(|i| i.weight)
            .sum();
        assert_eq!(q, 70);
        let mut bad = items.clone();
        bad[0].weight += 1;
        let e = check_score_items(&bad).unwrap_err();
        assert_eq!(e.errors[0].field, "items");
        assert!(e.errors[0].message.contains("101"));
        let total = weighted_total(&items, |_| Some(90));
        assert_eq!(total, 9000);
        assert_eq!(ranks(&[9000, 8000, 9000, 7000]), vec![1, 3, 1, 4]);
    }

    #[test]
    fn months_parse() {
        assert_eq!(parse_month("2026-11"), Ok((2026, 11)));
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("2026/11").is_err());
        let (a, b) = month_bounds(2026, 2);
        assert_eq!((a.day(), b.day()), (1, 28));
    }
}
