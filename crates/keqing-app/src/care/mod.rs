//! The care generation job (SPEC §4): [`generate`] plans the tasks of a
//! range with keqing-care's rules and stores them under their keys, from
//! the [`CareSettings`] of the deployment. The rules themselves live in
//! `keqing-care` (pure functions); this module reads the facts from the
//! store, maps them onto the rules' input types, and stores what comes out.
//! `generate` is shared by the API (`POST /care/run`), the command line
//! (`keqing care run`) and the daily job; the mappings here are the API's
//! too (the task list, the compliance report).

mod generate;
mod settings;

pub use generate::{generate, generate_with_progress};
pub use settings::{CareSettings, SettingsError, SettingsPatch};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use keqing_care::anniversary::{Anniversary, LunarMonthDay, MonthDay};
use keqing_care::cadence::{CadenceCustomer, CadenceStandard};
use keqing_care::channel::{BusinessStage, Channel, ContactLevel};
use keqing_care::greeting::KeyDate;
use keqing_care::quota::SalesActivity;
use keqing_care::task::{CareTask, TaskDetail};
use keqing_care::CareError;
use keqing_domain::activity::ActivityKind as DomainKind;
use keqing_store::{ActivityFact, CareCustomerFacts, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The company name signing greetings when the settings name none.
pub const DEFAULT_COMPANY_NAME: &str = "客情演示商贸有限公司";

/// Used when no active template fits: signed "company name + personal name" (000).
pub const DEFAULT_TEMPLATE: &str =
    "{联系人}您好！值此{节日}之际，祝您身体健康、万事如意！——{公司名称} {经理姓名}";

/// The longest range one run or report covers.
pub const MAX_RANGE_DAYS: i64 = 366;

/// Care dates are Beijing dates (UTC+8): the users' calendar.
pub(crate) fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&beijing()).date_naive()
}

/// Midnight of `d` in Beijing, as UTC.
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN)
        .and_local_timezone(beijing())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_time(NaiveTime::MIN).and_utc())
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Care(#[from] CareError),
    #[error("care settings: {0}")]
    Settings(String),
    #[error("日期范围有误 range {from}..={to}: {message}")]
    Range {
        from: NaiveDate,
        to: NaiveDate,
        message: String,
    },
}

/// What one run planned and stored, per task kind.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenerateReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Tasks planned (after the frequency cap), per kind.
    pub planned: BTreeMap<String, u64>,
    /// Of those, new (a re-run finds them stored and creates nothing).
    pub created: BTreeMap<String, u64>,
    /// Planned contacts the frequency cap dropped.
    pub dropped_by_cap: u64,
    /// Planned contacts the frequency cap moved to a later day.
    pub deferred_by_cap: u64,
}

impl GenerateReport {
    pub fn total_created(&self) -> u64 {
        self.created.values().sum()
    }
}

pub(crate) fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), GenerateError> {
    let message = if from > to {
        "from is after to"
    } else if (to - from).num_days() >= MAX_RANGE_DAYS {
        "at most 366 days at a time"
    } else {
        return Ok(());
    };
    Err(GenerateError::Range {
        from,
        to,
        message: message.into(),
    })
}

pub fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

pub fn stage_of(s: Option<&str>) -> BusinessStage {
    match s {
        Some("intent") => BusinessStage::Intent,
        Some("existing") => BusinessStage::Existing,
        _ => BusinessStage::New,
    }
}

pub fn level_of(l: Option<keqing_domain::ContactLevel>) -> ContactLevel {
    use keqing_domain::ContactLevel as L;
    match l {
        Some(L::DecisionMaker) => ContactLevel::DecisionMaker,
        Some(L::PersonInCharge) => ContactLevel::PersonInCharge,
        // Unknown level: the most reserved suggestion (SMS / call).
        Some(L::Executor) | None => ContactLevel::Executor,
    }
}

pub fn birthday_of(b: keqing_domain::Birthday) -> Option<Anniversary> {
    use keqing_domain::Birthday as B;
    match b {
        B::Solar { year, month, day } => MonthDay::new(month, day, year)
            .or_else(|_| MonthDay::new(month, day, None))
            .ok()
            .map(Anniversary::Solar),
        B::Lunar {
            year,
            month,
            day,
            leap,
        } => LunarMonthDay::new(month, day, leap, year)
            .or_else(|_| LunarMonthDay::new(month, day, leap, None))
            .ok()
            .map(Anniversary::Lunar),
    }
}

pub fn key_date_of(k: &keqing_domain::customer::KeyDate) -> Option<KeyDate> {
    let (y, m, d) = (k.date.year(), k.date.month(), k.date.day());
    let date = if k.lunar {
        LunarMonthDay::new(m, d, false, Some(y))
            .or_else(|_| LunarMonthDay::new(m, d, false, None))
            .ok()
            .map(Anniversary::Lunar)?
    } else {
        MonthDay::new(m, d, Some(y)).ok().map(Anniversary::Solar)?
    };
    Some(KeyDate {
        name: k.name.clone(),
        date,
    })
}

/// The cadence classes (SPEC §4, 003 A13, 000 item 4) a customer falls under:
/// from its class (A → `class_a`), its tier (水晶 → `crystal`, 商务A/A+ →
/// `business_a_plus`, 大客户 → `large`) and the key-customer flag (`large`);
/// a class or tier spelled as a standard's own id counts too.
pub fn cadence_classes(c: &CareCustomerFacts, standards: &[CadenceStandard]) -> Vec<String> {
    let mut out: Vec<&str> = vec![];
    for v in [c.class.as_deref(), c.tier.as_deref()]
        .into_iter()
        .flatten()
    {
        let t = v.trim();
        if let Some(s) = standards.iter().find(|s| s.class == t) {
            out.push(&s.class);
        }
        match t {
            "A" | "a" | "A类" => out.push("class_a"),
            _ if t.contains("水晶") || t.eq_ignore_ascii_case("crystal") => out.push("crystal"),
            _ if t.contains("商务A") || t.contains("A+") => out.push("business_a_plus"),
            _ if t.contains("大客户") || t.eq_ignore_ascii_case("large") => out.push("large"),
            _ => {}
        }
    }
    if c.key_customer {
        out.push("large");
    }
    let mut classes: Vec<String> = vec![];
    for k in out {
        if standards.iter().any(|s| s.class == k) && !classes.iter().any(|x| x == k) {
            classes.push(k.to_string());
        }
    }
    classes
}

pub fn care_kind(k: DomainKind) -> Option<keqing_care::activity::ActivityKind> {
    use keqing_care::activity::ActivityKind as C;
    Some(match k {
        DomainKind::Visit => C::Visit,
        DomainKind::Call => C::Call,
        DomainKind::Sms => C::Sms,
        DomainKind::Email => C::Email,
        DomainKind::Wechat => C::Wechat,
        DomainKind::Meal => C::Meeting,
        DomainKind::Gift => C::Gift,
        DomainKind::Help => C::Help,
        DomainKind::Opportunity | DomainKind::Feedback => return None,
    })
}

/// The customers under a cadence standard, each with its classes.
pub fn cadence_customers<'a>(
    customers: impl IntoIterator<Item = &'a CareCustomerFacts>,
    standards: &[CadenceStandard],
) -> Vec<CadenceCustomer> {
    customers
        .into_iter()
        .filter_map(|c| {
            let classes = cadence_classes(c, standards);
            (!classes.is_empty()).then_some(CadenceCustomer {
                customer_id: c.id,
                manager_id: c.owner_id,
                classes,
            })
        })
        .collect()
}

/// Logged activities as the cadence rules count them (the kinds they know).
pub fn care_activities(facts: &[ActivityFact]) -> Vec<keqing_care::activity::Activity> {
    facts
        .iter()
        .filter_map(|a| {
            Some(keqing_care::activity::Activity {
                customer_id: a.customer_id,
                kind: care_kind(a.kind)?,
                date: local_date(a.at),
            })
        })
        .collect()
}

/// Logged activities from `from` on as the daily quota counts them: by
/// salesperson, with the customer's stage.
pub fn sales_activities(facts: &[ActivityFact], from: NaiveDate) -> Vec<SalesActivity> {
    facts
        .iter()
        .filter_map(|a| {
            Some(SalesActivity {
                salesperson_id: a.user_id?,
                date: local_date(a.at),
                kind: care_kind(a.kind)?,
                stage: stage_of(a.customer_stage.as_deref()),
            })
        })
        .filter(|a| a.date >= from)
        .collect()
}

/// A customer's order weekdays from its custom field `order_weekdays`:
/// `"mon,thu"`, `"周一 周四"`, `[1, 4]` (Monday = 1) or `["星期一"]`.
pub fn order_weekdays(v: &Value) -> Vec<Weekday> {
    fn one(s: &str) -> Option<Weekday> {
        let s = s.trim().to_lowercase();
        let tail = s
            .trim_start_matches("星期")
            .trim_start_matches("周")
            .to_string();
        Some(match tail.as_str() {
            "1" | "一" | "mon" | "monday" => Weekday::Mon,
            "2" | "二" | "tue" | "tuesday" => Weekday::Tue,
            "3" | "三" | "wed" | "wednesday" => Weekday::Wed,
            "4" | "四" | "thu" | "thursday" => Weekday::Thu,
            "5" | "五" | "fri" | "friday" => Weekday::Fri,
            "6" | "六" | "sat" | "saturday" => Weekday::Sat,
            "7" | "日" | "天" | "sun" | "sunday" => Weekday::Sun,
            _ => return None,
        })
    }
    let mut out: Vec<Weekday> = match v {
        Value::String(s) => s
            .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
            .filter_map(one)
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => one(s),
                Value::Number(n) => one(&n.to_string()),
                _ => None,
            })
            .collect(),
        Value::Number(n) => one(&n.to_string()).into_iter().collect(),
        _ => vec![],
    };
    out.dedup();
    out
}

/// The store's key for an anniversary key (see `keqing_store::birthday_key`).
pub(crate) fn anniversary_key(k: keqing_care::anniversary::AnniversaryKey) -> String {
    use keqing_care::anniversary::AnniversaryKey as K;
    match k {
        K::Solar { month, day } => format!("S{month:02}-{day:02}"),
        K::Lunar { month, day, leap } => {
            format!("{}{month:02}-{day:02}", if leap { "LL" } else { "L" })
        }
    }
}

pub fn channel_str(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "sms",
        Channel::Call => "call",
        Channel::Visit => "visit",
        Channel::Meal => "meal",
    }
}

/// The channel and message of a task of the rules (not a greeting).
pub(crate) fn rule_task_text(
    t: &CareTask,
    standards: &[CadenceStandard],
) -> (Option<&'static str>, String) {
    match &t.detail {
        TaskDetail::Cadence {
            class,
            requirement,
            made,
        } => {
            use keqing_care::cadence::{Counted, Period};
            let name = standards
                .iter()
                .find(|s| &s.class == class)
                .map_or(class.as_str(), |s| s.name_zh.as_str());
            let (what, channel) = match requirement.counted {
                Counted::Visit => ("拜访", "visit"),
                Counted::Call => ("电话", "call"),
                Counted::Help => ("帮助", "visit"),
                Counted::FaceToFace => ("面谈", "visit"),
            };
            let per = match requirement.per {
                Period::Week => "每周",
                Period::Month => "每月",
                Period::Quarter => "每季度",
                Period::Year => "每年",
            };
            (
                Some(channel),
                format!(
                    "{name}联系标准：{per}{what}{}次，本期已{made}次",
                    requirement.times
                ),
            )
        }
        TaskDetail::Quota {
            new_customer_visits,
            existing_customer_visits,
            calls,
        } => (
            None,
            format!("今日还需：新客户拜访{new_customer_visits}次、老客户拜访{existing_customer_visits}次、电话{calls}次"),
        ),
        TaskDetail::Deadline {
            change_ids,
            deadline,
        } => (
            None,
            format!(
                "客户资料变更须在15日内登记（截止{deadline}），尚未登记 {} 项",
                change_ids.len()
            ),
        ),
        TaskDetail::OrderDay { cutoff } => (
            Some("call"),
            format!("今天是订货日，客户{}前仍未订货，请电话联系", cutoff.format("%H:%M")),
        ),
    }
}
