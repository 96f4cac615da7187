//! Customers and their contacts (客户档案, SPEC §1): who they are, where they
//! are, who owns them and what a manager knows about them.

use crate::rng::Rng;
use crate::vocab::{self, City, CITIES, INDUSTRIES};
use crate::{managers_of, ANCHOR_CUSTOMER, ANCHOR_OWNER, TEAMS};
use chrono::{Datelike, Duration, NaiveDate};
use keqing_domain::{ContactInput, CustomerInput, NewOrder};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// What kind of customer: decides the name, the contacts and the products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Enterprise {
        industry: usize,
        company_type: &'static str,
    },
    Hospital,
    School,
    Government,
    Individual,
}

/// How a customer buys over the two years of history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// Never bought: 待识别, 潜在 or 销售机会.
    Prospect,
    /// Bought exactly once (002: a low repeat rate).
    OneTime,
    /// Bought regularly, then stopped more than a year ago (churn signal).
    Churned,
    /// First bought within the last months.
    New,
    Regular,
}

/// The decisions about one customer taken before anything is written out.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub anchor: bool,
    pub kind: Kind,
    pub city: &'static City,
    pub team: usize,
    /// Index into `USERS`; `None` is the public pool.
    pub owner: Option<usize>,
    /// Who followed the customer up before it went to the pool.
    pub former_owner: usize,
    /// Size of the customer's business with us (log-normal, median 1).
    pub weight: f64,
    pub pattern: Pattern,
    /// Payment term in days for customers buying on account (账期).
    pub term_days: Option<i64>,
    pub late_payer: bool,
    pub gifts_forbidden: bool,
}

/// Spread of customer size; tuned so the top 20% of customers bring about
/// 80% of sales (002, 004).
const WEIGHT_SIGMA: f64 = 1.4;

impl Profile {
    pub(crate) fn products(&self) -> &'static [usize] {
        match self.kind {
            Kind::Enterprise { industry, .. } => INDUSTRIES[industry].products,
            Kind::Individual => vocab::RETAIL_PRODUCTS,
            _ => vocab::PUBLIC_SECTOR_PRODUCTS,
        }
    }

    /// Median order amount in yuan for a customer of median size.
    pub(crate) fn ticket_yuan(&self) -> f64 {
        match self.kind {
            Kind::Enterprise { industry, .. } => INDUSTRIES[industry].ticket_yuan,
            Kind::Individual => 260.0,
            Kind::Hospital | Kind::School => 3000.0,
            Kind::Government => 2000.0,
        }
    }

    pub(crate) fn is_individual(&self) -> bool {
        self.kind == Kind::Individual
    }
}

/// Decides kind, place, owner, size and buying pattern of every customer.
pub(crate) fn plan(rng: &mut Rng, n: usize) -> Vec<Profile> {
    let city_weights: Vec<(usize, u32)> = CITIES
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.weight))
        .collect();
    let industry_weights: Vec<(usize, u32)> = INDUSTRIES
        .iter()
        .enumerate()
        .map(|(i, d)| (i, d.weight))
        .collect();
    let team_managers: Vec<Vec<usize>> = (0..TEAMS.len()).map(managers_of).collect();

    // A few dozen customers sit in the public pool (公海): 1 in 50.
    let mut pool = vec![false; n];
    let mut candidates: Vec<usize> = (1..n).collect();
    for k in 0..(n / 50).min(candidates.len()) {
        let j = k + rng.below(candidates.len() - k);
        candidates.swap(k, j);
        pool[candidates[k]] = true;
    }

    let mut out = Vec::with_capacity(n);
    for (i, in_pool) in pool.into_iter().enumerate() {
        if i == 0 {
            out.push(anchor_profile());
            continue;
        }
        let kind = match rng.weighted(&[(0u8, 800), (1, 12), (2, 13), (3, 25), (4, 150)]) {
            0 => Kind::Enterprise {
                industry: rng.weighted(&industry_weights),
                company_type: rng.weighted(&[
                    ("private", 74),
                    ("state_owned", 10),
                    ("foreign", 8),
                    ("other", 8),
                ]),
            },
            1 => Kind::Hospital,
            2 => Kind::School,
            3 => Kind::Government,
            _ => Kind::Individual,
        };
        let city = &CITIES[rng.weighted(&city_weights)];
        let team = TEAMS
            .iter()
            .position(|t| t.provinces.contains(&city.province))
            .unwrap_or(0);
        let managers = &team_managers[team];
        let manager = *rng.pick(managers);
        let public = matches!(kind, Kind::Hospital | Kind::School | Kind::Government);
        let pattern = if public {
            rng.weighted(&[
                (Pattern::Regular, 85),
                (Pattern::New, 10),
                (Pattern::Prospect, 5),
            ])
        } else {
            rng.weighted(&[
                (Pattern::Regular, 71),
                (Pattern::OneTime, 10),
                (Pattern::New, 10),
                (Pattern::Prospect, 5),
                (Pattern::Churned, 4),
            ])
        };
        let on_account = kind != Kind::Individual && (public || rng.chance(0.45));
        let term_days = on_account.then(|| *rng.pick(&[30, 30, 30, 60, 60, 90]));
        out.push(Profile {
            anchor: false,
            kind,
            city,
            team,
            owner: (!in_pool).then_some(manager),
            former_owner: manager,
            weight: rng.log_normal(WEIGHT_SIGMA),
            pattern,
            term_days,
            late_payer: on_account && rng.chance(0.2),
            gifts_forbidden: public
                || (matches!(
                    kind,
                    Kind::Enterprise {
                        company_type: "state_owned",
                        ..
                    }
                ) && rng.chance(0.4)),
        });
    }
    out
}

fn anchor_profile() -> Profile {
    Profile {
        anchor: true,
        kind: Kind::Enterprise {
            industry: 0,
            company_type: "private",
        },
        city: &CITIES[0],
        team: 0,
        owner: Some(ANCHOR_OWNER),
        former_owner: ANCHOR_OWNER,
        // Three standard deviations up: one of the very largest customers.
        weight: crate::rng::exp(WEIGHT_SIGMA * 3.0),
        pattern: Pattern::Regular,
        term_days: Some(30),
        late_payer: false,
        gifts_forbidden: false,
    }
}

/// A customer's file and contacts, parsed by the domain.
pub(crate) struct Archive {
    pub input: CustomerInput,
    pub contacts: Vec<ContactInput>,
    /// Index of an earlier customer who referred this one (004 referral tracking).
    pub referred_by: Option<usize>,
}

/// ABC classes by cumulative share of sales (SPEC §3: A up to 70%, B the next
/// 20%, C the next 5%, D the rest); customers without sales get none.
fn abc_classes(orders: &[Vec<NewOrder>]) -> Vec<Option<&'static str>> {
    let sales: Vec<i64> = orders
        .iter()
        .map(|o| o.iter().map(|x| x.amount.fen()).sum())
        .collect();
    let total: i128 = sales.iter().map(|s| *s as i128).sum();
    let mut order: Vec<usize> = (0..sales.len()).filter(|i| sales[*i] > 0).collect();
    order.sort_by(|a, b| sales[*b].cmp(&sales[*a]).then(a.cmp(b)));
    let mut out = vec![None; sales.len()];
    let mut before: i128 = 0;
    for i in order {
        // Share of sales before this customer, compared in integers.
        let class = if before * 100 < total * 70 {
            "A"
        } else if before * 100 < total * 90 {
            "B"
        } else if before * 100 < total * 95 {
            "C"
        } else {
            "D"
        };
        out[i] = Some(class);
        before += sales[i] as i128;
    }
    out
}

/// Builds every customer file and its contacts.
pub(crate) fn build(
    rng: &mut Rng,
    today: NaiveDate,
    profiles: &[Profile],
    orders: &[Vec<NewOrder>],
) -> Vec<Archive> {
    let classes = abc_classes(orders);
    let n = profiles.len();
    // Contacts whose birthday is today or within the week, so the care
    // calendar has work on the first morning of the demo.
    let mut birthday_in: Vec<Option<i64>> = vec![None; n];
    if n > 1 {
        for k in 0..(n / 250).max(1) + (n / 80).max(1) {
            let i = 1 + rng.below(n - 1);
            birthday_in[i] = Some(if k < (n / 250).max(1) {
                0
            } else {
                rng.range(1, 7)
            });
        }
    }
    let mut names = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for (i, p) in profiles.iter().enumerate() {
        let archive = if p.anchor {
            anchor_archive(today)
        } else {
            let ctx = Ctx {
                index: i,
                today,
                class: classes[i],
                orders: &orders[i],
                birthday_in: birthday_in[i],
            };
            customer(rng, p, &ctx, &mut names)
        };
        names.insert(archive.input.name.clone());
        out.push(archive);
    }
    out
}

struct Ctx<'a> {
    index: usize,
    today: NaiveDate,
    class: Option<&'static str>,
    orders: &'a [NewOrder],
    birthday_in: Option<i64>,
}

fn customer(rng: &mut Rng, p: &Profile, ctx: &Ctx<'_>, names: &mut HashSet<String>) -> Archive {
    let city = p.city;
    let mut district = *rng.pick(city.districts);
    let mut m = Map::new();
    let mut domain = None;
    let (name, industry, company_type, code_prefix) = match p.kind {
        Kind::Enterprise {
            industry,
            company_type,
        } => {
            let ind = &INDUSTRIES[industry];
            let (name, d) = unique(names, rng, |rng| {
                enterprise_name(rng, city, ind, company_type)
            });
            domain = Some(d);
            (name, ind.name, company_type, "91")
        }
        Kind::Hospital => {
            let name = unique(names, rng, |rng| {
                (hospital_name(rng, city, district), String::new())
            })
            .0;
            (name, vocab::INDUSTRY_HEALTH, "institution", "12")
        }
        Kind::School => {
            let name = unique(names, rng, |rng| {
                (school_name(rng, city, district), String::new())
            })
            .0;
            (name, vocab::INDUSTRY_EDUCATION, "institution", "12")
        }
        Kind::Government => {
            let (name, seat) = unique(names, rng, |rng| {
                let d = *rng.pick(city.districts);
                let name = format!("{}{}", district_full(city, d), rng.pick(vocab::AGENCIES));
                (name, d.to_string())
            });
            // The office sits in the district it is named after.
            district = city
                .districts
                .iter()
                .copied()
                .find(|d| *d == seat)
                .unwrap_or(district);
            (name, vocab::INDUSTRY_GOVERNMENT, "government", "11")
        }
        Kind::Individual => (person_name(rng), "", "", ""),
    };
    m.insert("name".into(), json!(name));
    m.insert("province".into(), json!(city.province));
    m.insert("city".into(), json!(city.city));
    m.insert("district".into(), json!(district));
    let individual = p.is_individual();
    if individual {
        m.insert("kind".into(), json!("individual"));
        m.insert("phone".into(), json!(mobile(rng)));
        if rng.chance(0.6) {
            m.insert(
                "address".into(),
                json!(format!(
                    "{}{}{}号{}幢{}室",
                    district_full(city, district),
                    rng.pick(vocab::STREETS),
                    rng.range(1, 399),
                    rng.range(1, 30),
                    rng.range(1, 28) * 100 + rng.range(1, 4)
                )),
            );
        }
    } else {
        m.insert("kind".into(), json!("company"));
        m.insert("company_type".into(), json!(company_type));
        m.insert("industry".into(), json!(industry));
        m.insert("address".into(), json!(address(rng, city, district)));
        m.insert("phone".into(), json!(landline(rng, city)));
        if code_prefix != "91" || rng.chance(0.9) {
            m.insert(
                "external_code".into(),
                json!(credit_code(rng, code_prefix, city.division)),
            );
        }
        if let Some(d) = domain.filter(|_| rng.chance(0.55)) {
            m.insert("website".into(), json!(format!("www.{d}")));
            if rng.chance(0.8) {
                m.insert(
                    "email".into(),
                    json!(format!(
                        "{}@{d}",
                        rng.pick(&["sales", "info", "service", "purchase"])
                    )),
                );
            }
        }
    }
    let source = rng.weighted(&[
        ("referral", 30),
        ("advertising", 15),
        ("media", 10),
        ("walk_in", 25),
        ("other", 10),
        ("", 10),
    ]);
    m.insert("source".into(), json!(source));
    // Half the referrals name the customer who referred them.
    let referred_by = (source == "referral" && rng.chance(0.5)).then(|| rng.below(ctx.index));
    let (stage, business_stage) = stages(rng, p, ctx);
    m.insert("stage".into(), json!(stage));
    m.insert("business_stage".into(), json!(business_stage));
    if let Some(c) = ctx.class {
        m.insert("class".into(), json!(c));
    }
    let mut tags: Vec<&str> = Vec::new();
    if p.term_days.is_some() {
        tags.push("账期客户");
    }
    for _ in 0..rng.below(3) {
        let t = *rng.pick(vocab::TAGS);
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    m.insert("tags".into(), json!(tags));
    let key = ctx.class == Some("A") && rng.chance(0.3);
    m.insert("key_customer".into(), json!(key));

    let contacts = contacts(rng, p, ctx, &m);
    let mut card = Map::new();
    if let Some(h) = contacts.first().and_then(|c| c.get("hobbies")) {
        card.insert("interests".into(), h.clone());
    }
    if rng.chance(0.25) {
        card.insert(
            "recent_events".into(),
            json!(rng.pick(vocab::RECENT_EVENTS)),
        );
    }
    if !individual && rng.chance(0.3) {
        card.insert("business_progress".into(), json!(rng.pick(vocab::PROGRESS)));
    }
    if rng.chance(0.15) {
        card.insert("taboos".into(), json!(rng.pick(vocab::TABOOS)));
    }
    if p.gifts_forbidden {
        card.insert("gifts_forbidden".into(), json!(true));
        card.insert(
            "gift_policy".into(),
            json!("单位规定不得收受礼品，节日只电话或短信问候"),
        );
    }
    if rng.chance(0.4) {
        card.insert(
            "preferred_contact_time".into(),
            json!(rng.pick(vocab::CONTACT_TIMES)),
        );
    }
    m.insert("card".into(), Value::Object(card));
    if !individual && rng.chance(0.4) {
        let founded = NaiveDate::from_ymd_opt(rng.range(1993, 2021) as i32, 1, 1)
            .unwrap_or(ctx.today)
            .with_ordinal(rng.range(1, 365) as u32)
            .unwrap_or(ctx.today);
        m.insert(
            "key_dates".into(),
            json!([{"name": "公司成立日", "date": founded.to_string()}]),
        );
    }
    Archive {
        input: parse_customer(&m),
        contacts: contacts.iter().map(parse_contact).collect(),
        referred_by,
    }
}

/// Draws names until one is new; after a few tries the district makes it unique.
fn unique(
    names: &HashSet<String>,
    rng: &mut Rng,
    mut draw: impl FnMut(&mut Rng) -> (String, String),
) -> (String, String) {
    let mut last = draw(rng);
    for _ in 0..20 {
        if !names.contains(&last.0) {
            return last;
        }
        last = draw(rng);
    }
    let base = last.0;
    let mut k = 2;
    loop {
        let candidate = format!("{base}第{k}分公司");
        if !names.contains(&candidate) {
            return (candidate, last.1);
        }
        k += 1;
    }
}

fn enterprise_name(
    rng: &mut Rng,
    city: &City,
    ind: &vocab::Industry,
    company_type: &str,
) -> (String, String) {
    let (brand, brand_py) = *rng.pick(if company_type == "foreign" {
        vocab::FOREIGN_BRANDS
    } else {
        vocab::BRANDS
    });
    let (word, word_py) = *rng.pick(ind.words);
    let place = if rng.chance(0.25) {
        city.province
    } else {
        city.city
    };
    let suffix = match company_type {
        "state_owned" => *rng.pick(&["集团有限公司", "有限公司", "股份有限公司"]),
        // Foreign-invested: 松本电子（苏州）有限公司, the place in brackets.
        "foreign" => {
            let tld = if rng.chance(0.5) { "com" } else { "cn" };
            return (
                format!("{brand}{word}（{}）有限公司", city.city),
                format!("{brand_py}{word_py}.{tld}"),
            );
        }
        _ => rng.weighted(&[("有限公司", 85), ("股份有限公司", 10), ("集团有限公司", 5)]),
    };
    let tld = if rng.chance(0.5) { "com" } else { "com.cn" };
    (
        format!("{place}{brand}{word}{suffix}"),
        format!("{brand_py}{word_py}.{tld}"),
    )
}

fn hospital_name(rng: &mut Rng, city: &City, district: &str) -> String {
    match rng.below(3) {
        0 => format!(
            "{}市第{}人民医院",
            city.city,
            rng.pick(&["一", "二", "三", "四", "五", "六"])
        ),
        1 => format!("{}人民医院", district_full(city, district)),
        _ => format!(
            "{}市{}医院",
            city.city,
            rng.pick(&["中医", "妇幼保健", "口腔", "儿童"])
        ),
    }
}

fn school_name(rng: &mut Rng, city: &City, district: &str) -> String {
    match rng.below(3) {
        0 => format!(
            "{}{}职业技术学院",
            city.city,
            rng.pick(&["工业", "商贸", "交通", "信息"])
        ),
        1 => format!("{}市第{}中学", city.city, rng.range(1, 15)),
        _ => format!("{}实验小学", district_full(city, district)),
    }
}

/// "南京市江宁区", "上海市浦东新区", "苏州市昆山市".
fn district_full(city: &City, district: &str) -> String {
    format!("{}市{district}", city.city)
}

fn address(rng: &mut Rng, city: &City, district: &str) -> String {
    let mut a = format!(
        "{}{}{}号",
        district_full(city, district),
        rng.pick(vocab::STREETS),
        rng.range(1, 888)
    );
    if rng.chance(0.3) {
        a.push_str(&format!(
            "{}栋{}室",
            rng.range(1, 12),
            rng.range(1, 20) * 100 + rng.range(1, 12)
        ));
    }
    a
}

pub(crate) fn person_name(rng: &mut Rng) -> String {
    format!(
        "{}{}",
        rng.pick(vocab::SURNAMES),
        rng.pick(vocab::GIVEN_NAMES)
    )
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

pub(crate) fn mobile(rng: &mut Rng) -> String {
    const PREFIXES: &[&str] = &[
        "139", "138", "137", "136", "135", "150", "151", "152", "158", "159", "182", "187", "188",
        "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "177",
        "199", "166", "173",
    ];
    format!("{}{}", rng.pick(PREFIXES), digits(rng, 8))
}

/// A landline with the city's area code, 8 digits starting 5–8 ("025-8xxxxxxx").
fn landline(rng: &mut Rng, city: &City) -> String {
    format!("{}-{}{}", city.area_code, rng.range(5, 8), digits(rng, 7))
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015): registration
/// authority and category (91 enterprise, 12 institution, 11 government
/// office), division code, organisation code and the check character.
pub(crate) fn credit_code(rng: &mut Rng, prefix: &str, division: &str) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut code = format!("{prefix}{division}");
    for k in 0..9 {
        // Organisation codes are mostly digits; a letter now and then.
        let c = if k < 8 || rng.chance(0.7) {
            CHARS[rng.below(10)]
        } else {
            CHARS[rng.below(CHARS.len())]
        };
        code.push(char::from(c));
    }
    code.push(credit_code_check(&code));
    code
}

/// The 18th character of a unified social credit code from the first 17.
pub(crate) fn credit_code_check(first17: &str) -> char {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| CHARS.iter().position(|c| *c == b).unwrap_or(0) as u32 * w)
        .sum();
    char::from(CHARS[((31 - sum % 31) % 31) as usize])
}

fn stages(rng: &mut Rng, p: &Profile, ctx: &Ctx<'_>) -> (&'static str, &'static str) {
    let recent_first = ctx
        .orders
        .first()
        .is_some_and(|o| (ctx.today - o.ordered_at.date_naive()).num_days() < 180);
    match p.pattern {
        Pattern::Prospect => *rng.pick(&[
            ("to_identify", "new"),
            ("potential", "new"),
            ("potential", "intent"),
            ("opportunity", "intent"),
        ]),
        Pattern::New => ("order_customer", "new"),
        Pattern::OneTime if recent_first => ("order_customer", "new"),
        Pattern::OneTime => ("order_customer", "existing"),
        _ if ctx.orders.len() >= 3 => ("user", "existing"),
        _ => ("order_customer", "existing"),
    }
}

/// Contacts as JSON objects (parsed at the end): company customers get the
/// person in charge first, then a decision maker and an executor; an
/// individual customer is their own contact.
fn contacts(
    rng: &mut Rng,
    p: &Profile,
    ctx: &Ctx<'_>,
    customer: &Map<String, Value>,
) -> Vec<Map<String, Value>> {
    let public = matches!(p.kind, Kind::Hospital | Kind::School | Kind::Government);
    let count = if p.is_individual() {
        1
    } else {
        rng.weighted(&[(1usize, 30), (2, 45), (3, 25)])
    };
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let mut c = Map::new();
        let name = if p.is_individual() {
            customer["name"].as_str().unwrap_or_default().to_string()
        } else {
            person_name(rng)
        };
        c.insert("name".into(), json!(name));
        let mobile = if p.is_individual() {
            customer["phone"].as_str().map(str::to_string)
        } else {
            (k == 0 || rng.chance(0.9)).then(|| mobile(rng))
        };
        if !p.is_individual() {
            let (level, titles) = match (k, public) {
                (0, false) => ("person_in_charge", vocab::IN_CHARGE_TITLES),
                (1, false) => ("decision_maker", vocab::DECISION_TITLES),
                (_, false) => ("executor", vocab::EXECUTOR_TITLES),
                (0, true) => ("person_in_charge", vocab::PUBLIC_IN_CHARGE_TITLES),
                (1, true) => ("decision_maker", vocab::PUBLIC_DECISION_TITLES),
                (_, true) => ("executor", vocab::PUBLIC_EXECUTOR_TITLES),
            };
            c.insert("level".into(), json!(level));
            c.insert("title".into(), json!(rng.pick(titles)));
            // A direct office line. Not "总机转分机": the domain stores an
            // extension as 025-52101888-801, which its parser does not accept back.
            if rng.chance(0.3) {
                c.insert("phone".into(), json!(landline(rng, p.city)));
            }
            if rng.chance(0.5) {
                let role = match level {
                    "decision_maker" => "decider",
                    "executor" => *rng.pick(&["user", "initiator"]),
                    _ => *rng.pick(&["evaluator", "designer", "initiator"]),
                };
                c.insert("buying_role".into(), json!(role));
            }
        }
        if rng.chance(0.5) {
            c.insert(
                "style".into(),
                json!(rng.pick(&["analytical", "expressive", "amiable", "driver"])),
            );
        }
        let qq = rng.chance(0.3).then(|| {
            let len = 4 + rng.below(6);
            format!("{}{}", rng.range(1, 9), digits(rng, len))
        });
        if let Some(q) = &qq {
            c.insert("qq".into(), json!(q));
        }
        if let Some(m) = &mobile {
            c.insert("mobile".into(), json!(m));
            if rng.chance(0.4) {
                c.insert("wechat".into(), json!(m));
            }
        }
        if rng.chance(0.3) {
            match (&qq, &mobile) {
                (Some(q), _) => c.insert("email".into(), json!(format!("{q}@qq.com"))),
                (None, Some(m)) => c.insert("email".into(), json!(format!("{m}@139.com"))),
                _ => None,
            };
        }
        let birthday = match ctx.birthday_in.filter(|_| k == 0) {
            Some(days) => Some(soon_birthday(rng, ctx.today + Duration::days(days))),
            None => rng.chance(0.75).then(|| birthday(rng)),
        };
        if let Some(b) = birthday {
            c.insert("birthday".into(), json!(b));
        }
        if rng.chance(0.6) {
            let a = *rng.pick(vocab::HOBBIES);
            let b = *rng.pick(vocab::HOBBIES);
            let h = if a == b || rng.chance(0.5) {
                a.to_string()
            } else {
                format!("{a}、{b}")
            };
            c.insert("hobbies".into(), json!(h));
        }
        if rng.chance(0.1) {
            c.insert(
                "notes".into(),
                json!(rng.pick(&[
                    "喜欢喝绿茶",
                    "对价格敏感",
                    "做事严谨，重数据",
                    "老乡，安徽人",
                    "孩子在读高中"
                ])),
            );
        }
        if rng.chance(0.05) {
            c.insert(
                "consent".into(),
                json!({"phone": true, "sms": false, "email": false, "wechat": true}),
            );
        }
        out.push(c);
    }
    out
}

/// A solar birthday on `date`'s month and day, with a plausible year.
fn soon_birthday(rng: &mut Rng, date: NaiveDate) -> String {
    let mut year = rng.range(1962, 1995) as i32;
    if date.month() == 2 && date.day() == 29 {
        year = 1964 + 4 * rng.range(0, 7) as i32;
    }
    format!("{year:04}-{:02}-{:02}", date.month(), date.day())
}

/// About 30% lunar (农历1975-08-15), a few on a lunar 30th or in a leap
/// month; some without a year.
fn birthday(rng: &mut Rng) -> String {
    if rng.chance(0.3) {
        if rng.chance(0.03) {
            let (y, m) = *rng.pick(vocab::LEAP_MONTHS);
            return format!("农历闰{y:04}-{m:02}-{:02}", rng.range(1, 29));
        }
        let day = if rng.chance(0.04) {
            30
        } else {
            rng.range(1, 29)
        };
        return format!(
            "农历{:04}-{:02}-{day:02}",
            rng.range(1958, 1998),
            rng.range(1, 12)
        );
    }
    let year = rng.range(1958, 1998) as i32;
    let date = NaiveDate::from_yo_opt(year, rng.range(1, 365) as u32).unwrap_or_default();
    if rng.chance(0.1) {
        format!("{:02}-{:02}", date.month(), date.day())
    } else {
        date.to_string()
    }
}

/// 江苏恒远钢业有限公司: the customer the tutorials use, with a complete
/// A-class file (000 "客户档案内容齐全").
fn anchor_archive(today: NaiveDate) -> Archive {
    let birthday_soon = today + Duration::days(3);
    let m = json!({
        "name": ANCHOR_CUSTOMER,
        "kind": "company",
        "company_type": "private",
        "industry": "钢铁",
        "province": "江苏",
        "city": "南京",
        "district": "江宁区",
        "address": "南京市江宁区秣陵街道天元东路388号",
        "phone": "025-52101888",
        "website": "www.hengyuansteel.com.cn",
        "email": "sales@hengyuansteel.com.cn",
        "external_code": format!("{ANCHOR_CODE17}{}", credit_code_check(ANCHOR_CODE17)),
        "source": "referral",
        "stage": "user",
        "business_stage": "existing",
        "class": "A",
        "tags": ["钢材", "重点客户", "账期客户"],
        "key_customer": true,
        "card": {
            "interests": "高尔夫、茶道",
            "recent_events": "新厂房二期刚投产",
            "business_progress": "正在洽谈明年的年度框架协议",
            "taboos": "忌送钟表",
            "preferred_contact_time": "工作日上午"
        },
        "key_dates": [{"name": "公司成立日", "date": "2006-05-18"}]
    });
    let contacts = [
        json!({
            "name": "刘海燕", "mobile": "13905171234", "phone": "025-52101801",
            "title": "采购部经理", "level": "person_in_charge", "buying_role": "evaluator",
            "style": "analytical", "wechat": "13905171234",
            "birthday": format!(
                "{}-{:02}-{:02}",
                if birthday_soon.month() == 2 && birthday_soon.day() == 29 { 1976 } else { 1978 },
                birthday_soon.month(),
                birthday_soon.day()
            ),
            "hobbies": "瑜伽、旅游", "email": "liuhaiyan@hengyuansteel.com.cn"
        }),
        json!({
            "name": "陈建国", "mobile": "13851801688", "title": "总经理", "level": "decision_maker",
            "buying_role": "decider", "style": "driver", "birthday": "农历1965-08-15",
            "hobbies": "高尔夫、茶道", "notes": "创始人，重承诺，喜欢喝龙井"
        }),
        json!({
            "name": "周晓东", "mobile": "18951702345", "title": "仓库主管", "level": "executor",
            "buying_role": "user", "birthday": "农历1988-04-30", "hobbies": "钓鱼"
        }),
    ];
    let obj = |v: &Value| v.as_object().cloned().unwrap_or_default();
    Archive {
        input: parse_customer(&obj(&m)),
        contacts: contacts.iter().map(|c| parse_contact(&obj(c))).collect(),
        referred_by: None,
    }
}

/// The first 17 characters of the anchor's credit code (江宁区, 320115).
const ANCHOR_CODE17: &str = "91320115MA1MXY8Q3";

fn parse_customer(m: &Map<String, Value>) -> CustomerInput {
    match CustomerInput::from_json(m) {
        Ok(c) => c,
        Err(e) => panic!("demo customer {:?} is invalid: {e}", m.get("name")),
    }
}

fn parse_contact(m: &Map<String, Value>) -> ContactInput {
    match ContactInput::from_json(m) {
        Ok(c) => c,
        Err(e) => panic!("demo contact {:?} is invalid: {e}", m.get("name")),
    }
}
