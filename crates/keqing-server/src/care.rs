//! Relationship care (客情维护, SPEC §4): the task list, message templates,
//! care settings, the compliance report, and [`generate`], which plans the
//! tasks with keqing-care's rules and stores them under their keys.
//!
//! The rules themselves live in `keqing-care` (pure functions); this module
//! reads the facts from the store, maps them onto the rules' input types,
//! and stores what comes out. `generate` is shared by the API
//! (`POST /care/run`), the command line (`keqing care run`) and the daily job.

use crate::auth::CurrentUser;
use crate::error::{ApiError, JsonObject};
use crate::extract::{Json, Paging, Path, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use keqing_care::anniversary::{Anniversary, LunarMonthDay, MonthDay};
use keqing_care::cadence::{self, CadenceCustomer, CadenceStandard};
use keqing_care::cap::{self, CapDecision, CustomerContact, FrequencyCap, PlannedContact};
use keqing_care::channel::{BusinessStage, Channel, ContactLevel};
use keqing_care::greeting::{
    self, GreetingContact, GreetingCustomer, GreetingReason, GreetingTask, KeyDate,
};
use keqing_care::order_day::{self, OrderDayCustomer};
use keqing_care::quota::{self, DailyQuota, SalesActivity};
use keqing_care::task::{
    CareTask, TaskAction, TaskDetail, TaskKey, TaskKind, TaskStatus, Transition,
};
use keqing_care::template::Template;
use keqing_care::{Calendar, CalendarConfig, CareError};
use keqing_domain::access::{Action, Resource, Scope};
use keqing_domain::activity::ActivityKind as DomainKind;
use keqing_domain::{NewActivity, Role, User};
use keqing_store::{
    CareCustomerFacts, CareCustomerQuery, CareRoster, CareStatusChange, CareTaskBatch,
    CareTaskContact, CareTaskContacts, CareTaskFilter, CareTaskRow, NewCareTask, NewCareTemplate,
    Store, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The company name signing greetings when the settings name none.
pub const DEFAULT_COMPANY_NAME: &str = "客情演示商贸有限公司";

/// Used when no active template fits: signed "company name + personal name" (000).
pub const DEFAULT_TEMPLATE: &str =
    "{联系人}您好！值此{节日}之际，祝您身体健康、万事如意！——{公司名称} {经理姓名}";

/// The longest range one run or report covers.
const MAX_RANGE_DAYS: i64 = 366;

/// Care dates are Beijing dates (UTC+8): the users' calendar.
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&beijing()).date_naive()
}

/// Midnight of `d` in Beijing, as UTC.
fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN)
        .and_local_timezone(beijing())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_time(NaiveTime::MIN).and_utc())
}

// ---------------------------------------------------------------------------
// Settings

/// The care settings (`care_settings` rows), defaults filled in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CareSettings {
    pub company_name: String,
    pub cadence_standards: Vec<CadenceStandard>,
    pub daily_quota: DailyQuota,
    pub frequency_cap: FrequencyCap,
    /// The deployment's calendar: built-ins switched off, occasions added.
    pub occasions: CalendarConfig,
}

impl Default for CareSettings {
    fn default() -> Self {
        CareSettings {
            company_name: DEFAULT_COMPANY_NAME.into(),
            cadence_standards: cadence::default_standards(),
            daily_quota: DailyQuota::default(),
            // 000: too many calls annoyed a customer; at most 3 contacts a week.
            frequency_cap: FrequencyCap {
                max_contacts: 3,
                period_days: 7,
            },
            occasions: CalendarConfig::default(),
        }
    }
}

const SETTING_KEYS: &[&str] = &[
    "company_name",
    "cadence_standards",
    "daily_quota",
    "frequency_cap",
    "occasions",
];

/// Why a setting cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("未知的关怀设置 unknown care setting {0:?}; known: company_name, cadence_standards, daily_quota, frequency_cap, occasions")]
    Unknown(String),
    #[error("关怀设置有误 care setting {key}: {message}")]
    Invalid { key: String, message: String },
}

impl CareSettings {
    pub async fn load(store: &dyn Store) -> Result<CareSettings, GenerateError> {
        let mut s = serde_json::to_value(CareSettings::default())
            .map_err(|e| GenerateError::Settings(e.to_string()))?;
        for key in SETTING_KEYS {
            if let Some(v) = store.care_setting(key).await? {
                s[*key] = v;
            }
        }
        serde_json::from_value(s).map_err(|e| GenerateError::Settings(e.to_string()))
    }

    /// Applies a partial update (`{key: value}`), checking every value.
    pub fn patched(&self, body: &serde_json::Map<String, Value>) -> Result<Self, SettingsError> {
        let mut s = serde_json::to_value(self).map_err(|e| SettingsError::Invalid {
            key: "settings".into(),
            message: e.to_string(),
        })?;
        for (k, v) in body {
            if !SETTING_KEYS.contains(&k.as_str()) {
                return Err(SettingsError::Unknown(k.clone()));
            }
            s[k.as_str()] = v.clone();
        }
        let new: CareSettings = serde_json::from_value(s).map_err(|e| SettingsError::Invalid {
            key: body.keys().cloned().collect::<Vec<_>>().join(", "),
            message: e.to_string(),
        })?;
        let bad = |key: &str, message: String| SettingsError::Invalid {
            key: key.into(),
            message,
        };
        if new.company_name.trim().is_empty() {
            return Err(bad(
                "company_name",
                "must not be empty: it signs every greeting".into(),
            ));
        }
        Calendar::new(&new.occasions).map_err(|e| bad("occasions", e.to_string()))?;
        cadence::cadence_report(&new.cadence_standards, &[], &[], NaiveDate::MIN)
            .map_err(|e| bad("cadence_standards", e.to_string()))?;
        cap::apply_frequency_cap(new.frequency_cap, &[], &[])
            .map_err(|e| bad("frequency_cap", e.to_string()))?;
        Ok(new)
    }
}

// ---------------------------------------------------------------------------
// Generation

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

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), GenerateError> {
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

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

fn stage_of(s: Option<&str>) -> BusinessStage {
    match s {
        Some("intent") => BusinessStage::Intent,
        Some("existing") => BusinessStage::Existing,
        _ => BusinessStage::New,
    }
}

fn level_of(l: Option<keqing_domain::ContactLevel>) -> ContactLevel {
    use keqing_domain::ContactLevel as L;
    match l {
        Some(L::DecisionMaker) => ContactLevel::DecisionMaker,
        Some(L::PersonInCharge) => ContactLevel::PersonInCharge,
        // Unknown level: the most reserved suggestion (SMS / call).
        Some(L::Executor) | None => ContactLevel::Executor,
    }
}

fn birthday_of(b: keqing_domain::Birthday) -> Option<Anniversary> {
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

fn key_date_of(k: &keqing_domain::customer::KeyDate) -> Option<KeyDate> {
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

fn care_kind(k: DomainKind) -> Option<keqing_care::activity::ActivityKind> {
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
fn anniversary_key(k: keqing_care::anniversary::AnniversaryKey) -> String {
    use keqing_care::anniversary::AnniversaryKey as K;
    match k {
        K::Solar { month, day } => format!("S{month:02}-{day:02}"),
        K::Lunar { month, day, leap } => {
            format!("{}{month:02}-{day:02}", if leap { "LL" } else { "L" })
        }
    }
}

fn channel_str(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "sms",
        Channel::Call => "call",
        Channel::Visit => "visit",
        Channel::Meal => "meal",
    }
}

/// The channel and message of a task of the rules (not a greeting).
fn rule_task_text(t: &CareTask, standards: &[CadenceStandard]) -> (Option<&'static str>, String) {
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

/// The template for a greeting: an active one for one of its occasions,
/// else an active general one, else [`DEFAULT_TEMPLATE`].
struct Templates {
    by_occasion: HashMap<String, Template>,
    general: Template,
}

impl Templates {
    async fn load(store: &dyn Store) -> Result<Templates, GenerateError> {
        let mut by_occasion = HashMap::new();
        let mut general = None;
        for t in store
            .care_templates()
            .await?
            .into_iter()
            .filter(|t| t.active)
        {
            // Templates are checked when saved; one that no longer parses is skipped.
            let Ok(parsed) = Template::parse(&t.body) else {
                continue;
            };
            match t.occasion {
                Some(o) => {
                    by_occasion.entry(o).or_insert(parsed);
                }
                None => {
                    general.get_or_insert(parsed);
                }
            }
        }
        let general = match general {
            Some(g) => g,
            None => Template::parse(DEFAULT_TEMPLATE).map_err(CareError::from)?,
        };
        Ok(Templates {
            by_occasion,
            general,
        })
    }

    fn for_task(&self, t: &GreetingTask) -> &Template {
        use keqing_care::greeting::GreetingReason as R;
        t.reasons
            .iter()
            .find_map(|r| {
                let id = match r {
                    R::Occasion { occasion, .. } => occasion.as_ref(),
                    R::Birthday { .. } => "birthday",
                    R::KeyDate { .. } => "key_date",
                };
                self.by_occasion.get(id)
            })
            .unwrap_or(&self.general)
    }
}

/// Plans the care tasks of `from..=to` (Beijing dates) and stores the new
/// ones: greetings (one per contact per day, all the day's occasions in
/// it), cadence tasks for customers behind their standard, order-day
/// reminders (when `now` is past the cut-off on an order day), deadline
/// tasks for change reports open past 15 days, and each manager's daily
/// quota; the frequency cap is applied across them. Customers in the pool
/// get no tasks. Idempotent: a re-run stores nothing new.
pub async fn generate(
    store: &dyn Store,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<GenerateReport, GenerateError> {
    check_range(from, to)?;
    let settings = CareSettings::load(store).await?;
    let calendar = Calendar::new(&settings.occasions)?;
    let templates = Templates::load(store).await?;
    let users: HashMap<i64, User> = store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let has_occasions = !calendar.occasions(from, to)?.is_empty();

    // The contacts whose birthday falls in the range, by key through an
    // index; and the customers under a rule of their own (cadence class,
    // key dates, order days), with those and the ones with open changes.
    let mut birthday_keys = vec![];
    for (date, lunar) in keqing_care::lunar::lunar_days(from, to)? {
        birthday_keys.extend(
            keqing_care::anniversary::keys_on(date, lunar)?
                .into_iter()
                .map(anniversary_key),
        );
    }
    birthday_keys.sort_unstable();
    birthday_keys.dedup();
    // Activities: from the start of the longest period any rule looks back
    // over (a cadence quarter or year, the cap's window) to the end of `to`.
    let period = u64::from(settings.frequency_cap.period_days);
    let mut since = from - Days::new(period);
    // The last day a planned task can be moved to (a cadence line's period end).
    let mut latest = to;
    for s in &settings.cadence_standards {
        for r in &s.requirements {
            since = since.min(r.per.bounds(from).0);
            latest = latest.max(r.per.bounds(to).1);
        }
    }
    // The reads are independent: run them side by side.
    let people = async {
        let (birthday_facts, open_changes) = tokio::try_join!(
            store.care_contacts(Some(&birthday_keys), &[]),
            store.open_changes(None)
        )?;
        let mut ids: Vec<i64> = birthday_facts.iter().map(|p| p.customer_id).collect();
        ids.extend(open_changes.iter().map(|c| c.customer_id));
        let customers = store
            .care_customers(&CareCustomerQuery { all: false, ids })
            .await?;
        Ok::<_, StoreError>((birthday_facts, open_changes, customers))
    };
    let ((birthday_facts, open_changes, customers), activities, stored) = tokio::try_join!(
        people,
        store.activity_facts(
            day_start(since),
            day_start(to + Days::new(1)),
            day_start(from)
        ),
        store.care_task_contacts(
            from - Days::new(period),
            latest + Days::new(period),
            (from, to)
        ),
    )?;
    let mut birthdays: Vec<(i64, Anniversary)> = birthday_facts
        .iter()
        .filter_map(|p| Some((p.id, birthday_of(p.birthday?)?)))
        .collect();
    birthdays.sort_unstable_by_key(|b| b.0);
    let mut key_dates: Vec<(i64, Vec<KeyDate>)> = customers
        .iter()
        .filter(|c| !c.key_dates.is_empty())
        .map(|c| (c.id, c.key_dates.iter().filter_map(key_date_of).collect()))
        .collect();
    key_dates.sort_unstable_by_key(|k| k.0);
    let owner_of: HashMap<i64, i64> = customers.iter().map(|c| (c.id, c.owner_id)).collect();

    let mut rule_tasks: Vec<CareTask> = vec![];

    // Cadence: one report per day of the range; a line that stays behind
    // keeps one key, so the days add nothing twice.
    let cadence_customers: Vec<CadenceCustomer> = customers
        .iter()
        .filter_map(|c| {
            let classes = cadence_classes(c, &settings.cadence_standards);
            (!classes.is_empty()).then_some(CadenceCustomer {
                customer_id: c.id,
                manager_id: c.owner_id,
                classes,
            })
        })
        .collect();
    if !cadence_customers.is_empty() {
        let care_acts: Vec<keqing_care::activity::Activity> = activities
            .iter()
            .filter_map(|a| {
                Some(keqing_care::activity::Activity {
                    customer_id: a.customer_id,
                    kind: care_kind(a.kind)?,
                    date: local_date(a.at),
                })
            })
            .collect();
        for day in days(from, to) {
            let report = cadence::cadence_report(
                &settings.cadence_standards,
                &cadence_customers,
                &care_acts,
                day,
            )?;
            rule_tasks.extend(cadence::cadence_tasks(&report, 0));
        }
    }

    // Order day (003 A14): only for the day `now` is in, once past 14:30.
    let today = local_date(now);
    if (from..=to).contains(&today) {
        let with_days: Vec<(i64, Vec<Weekday>)> = customers
            .iter()
            .filter_map(|c| {
                let w = order_weekdays(c.order_weekdays.as_ref()?);
                (!w.is_empty()).then_some((c.id, w))
            })
            .collect();
        if !with_days.is_empty() {
            let mut last: HashMap<i64, NaiveDate> = HashMap::new();
            for o in store.order_facts().await? {
                let e = last.entry(o.customer_id).or_insert(o.date);
                *e = (*e).max(o.date);
            }
            let input: Vec<OrderDayCustomer> = with_days
                .into_iter()
                .map(|(id, w)| OrderDayCustomer {
                    customer_id: id,
                    order_weekdays: w,
                    last_order_at: last.get(&id).map(|d| d.and_time(NaiveTime::MIN)),
                })
                .collect();
            let local_now = now.with_timezone(&beijing()).naive_local();
            rule_tasks.extend(order_day::order_day_reminders(
                local_now,
                order_day::default_cutoff(),
                &input,
            ));
        }
    }

    // Deadline (000: register a change within 15 days): as of the range's end.
    let changes: Vec<keqing_care::deadline::DataChange> = open_changes
        .into_iter()
        .filter(|c| owner_of.contains_key(&c.customer_id))
        .map(|c| keqing_care::deadline::DataChange {
            change_id: c.id,
            customer_id: c.customer_id,
            reported_on: c.reported_on,
            registered_on: c.registered_on,
        })
        .collect();
    rule_tasks.extend(keqing_care::deadline::overdue_change_tasks(
        to.min(today.max(from)),
        &changes,
    ));
    rule_tasks.sort_by_key(|t| (t.key.customer_id, t.key));

    // Daily quota (001 篇7) of every active customer manager, working days.
    let sales: Vec<SalesActivity> = activities
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
        .collect();
    let mut managers: Vec<i64> = users
        .values()
        .filter(|u| u.active && u.role == Role::Manager)
        .map(|u| u.id)
        .collect();
    managers.sort_unstable();
    let mut quota_tasks = vec![];
    for day in days(from, to) {
        for &m in &managers {
            let p = quota::quota_progress(
                &settings.daily_quota,
                m,
                day,
                quota::is_weekday(day),
                &sales,
            );
            quota_tasks.extend(p.task());
        }
    }

    // What the frequency cap counts besides the planned tasks: contacts
    // made (logged activities) and the open tasks already stored around
    // the range, by customer: the greetings of other days (which this run
    // cannot plan again) as the days they contact a customer, the others
    // as tasks, whose keys this run may plan again.
    let CareTaskContacts {
        tasks: mut stored,
        days: stored_days,
    } = stored;
    let mut made: Vec<CustomerContact> = activities
        .iter()
        .filter(|a| care_kind(a.kind).is_some())
        .map(|a| CustomerContact {
            customer_id: a.customer_id,
            date: local_date(a.at),
        })
        .chain(
            stored_days
                .into_iter()
                .map(|(customer_id, date)| CustomerContact { customer_id, date }),
        )
        .collect();
    made.sort_unstable_by_key(|c| c.customer_id);
    drop(activities);
    // In place: on a festival's re-run these are millions of rows.
    stored.retain(|t| task_kind(t.kind).is_some_and(|k| k.contacts_customer()));
    stored.sort_unstable_by_key(|t| t.customer_id);

    // Whom the greetings are for: on a calendar occasion every owned
    // customer and contact (ids only, from the store's indexes, a page at a
    // time inside the loop below); otherwise the customers read above and
    // the contacts with a birthday, plus all contacts of customers with a
    // key date in the range.
    let mut roster = if has_occasions {
        RosterPages::Read { after: 0 }
    } else {
        {
            let mut contacts: Vec<(i64, i64)> = birthday_facts
                .iter()
                .map(|p| (p.id, p.customer_id))
                .collect();
            let with_date: Vec<i64> = customers
                .iter()
                .filter(|c| {
                    key_dates
                        .binary_search_by_key(&c.id, |k| k.0)
                        .is_ok_and(|i| {
                            key_dates[i].1.iter().any(|k| {
                                birthday_keys
                                    .binary_search(&anniversary_key(k.date.key()))
                                    .is_ok()
                            })
                        })
                })
                .map(|c| c.id)
                .collect();
            if !with_date.is_empty() {
                contacts.extend(
                    store
                        .care_contacts(Some(&[]), &with_date)
                        .await?
                        .iter()
                        .map(|p| (p.id, p.customer_id)),
                );
            }
            // A customer released to the pool between the reads: no task.
            contacts.retain(|p| owner_of.contains_key(&p.1));
            contacts.sort_unstable_by_key(|&(id, customer)| (customer, id));
            contacts.dedup();
            RosterPages::Listed {
                roster: CareRoster {
                    customers: customers.iter().map(|c| (c.id, c.owner_id)).collect(),
                    contacts,
                },
                next: 0,
            }
        }
    };
    drop(birthday_facts);

    // Customers in batches: plan a batch's greetings, apply the cap to them
    // and the batch's rule tasks, and store the greetings while the next
    // batch is planned. Memory holds one batch of tasks, not the day's.
    let plan = Planning {
        calendar: &calendar,
        templates: &templates,
        from,
        to,
        cap: settings.frequency_cap,
        key_dates: &key_dates,
        birthdays: &birthdays,
    };
    let mut report = GenerateReport {
        from,
        to,
        ..Default::default()
    };
    let (mut greetings_planned, mut greetings_created) = (0u64, 0u64);
    let mut decided_rules: Vec<(CareTask, NaiveDate)> = vec![];
    let mut inflight: Option<CareTaskBatch> = None;
    // Three things at once: the store stores the greetings of batch k - 1
    // and reads the customers of batch k + 1 (each on a thread or a
    // connection of its own) while batch k is planned here. On a re-run
    // nothing is stored, and the reads alone are still overlapped.
    let mut page = roster.next(store).await?;
    while page.is_some() || inflight.is_some() {
        let current = page.take();
        let store_it = async {
            match inflight.take() {
                Some(b) => store.insert_care_tasks(b).await.map(Some),
                None => Ok(None),
            }
        };
        let read_it = async {
            match current {
                Some(_) => roster.next(store).await,
                None => Ok(None),
            }
        };
        let plan_it = async {
            // Let the insert and the read start first.
            tokio::task::yield_now().await;
            let Some(page) = &current else {
                return Ok(None);
            };
            let c = &page.customers;
            let (lo, hi) = (c[0].0, c[c.len() - 1].0);
            let rules = &rule_tasks[rule_tasks.partition_point(|t| t.key.customer_id < Some(lo))
                ..rule_tasks.partition_point(|t| t.key.customer_id <= Some(hi))];
            let made = &made[made.partition_point(|m| m.customer_id < lo)
                ..made.partition_point(|m| m.customer_id <= hi)];
            let stored = &stored[stored.partition_point(|s| s.customer_id < lo)
                ..stored.partition_point(|s| s.customer_id <= hi)];
            plan.batch(c, &page.contacts, rules, made, stored).map(Some)
        };
        let (created, next, planned) = tokio::join!(store_it, read_it, plan_it);
        greetings_created += created?.unwrap_or(0);
        page = next?;
        if let Some(p) = planned? {
            greetings_planned += p.planned;
            report.deferred_by_cap += p.deferred;
            report.dropped_by_cap += p.dropped;
            decided_rules.extend(p.rules);
            inflight = (!p.greetings.tasks.is_empty()).then_some(p.greetings);
        }
    }
    drop(rule_tasks);

    // The rule tasks, by kind; then the daily quota.
    let mut by_kind: BTreeMap<TaskKind, CareTaskBatch> = BTreeMap::new();
    for (t, date) in decided_rules
        .iter()
        .map(|(t, d)| (t, *d))
        .chain(quota_tasks.iter().map(|t| (t, t.due)))
    {
        let (channel, message) = rule_task_text(t, &settings.cadence_standards);
        let b = by_kind.entry(t.key.kind).or_default();
        let occasions = b.text(&serde_json::to_string(&t.detail).unwrap_or_default());
        let message = b.text(&message);
        b.tasks.push(NewCareTask {
            kind: t.key.kind.as_str(),
            planned_for: t.key.date,
            date,
            customer_id: t.key.customer_id,
            contact_id: t.key.contact_id,
            salesperson_id: t
                .key
                .customer_id
                .is_none()
                .then_some(t.key.salesperson_id)
                .flatten(),
            occasions,
            template: None,
            message: Some(message),
            channel,
        });
    }
    let greeting = TaskKind::Greeting.as_str().to_string();
    report.planned.insert(greeting.clone(), greetings_planned);
    report.created.insert(greeting, greetings_created);
    for (kind, batch) in by_kind {
        let planned = batch.tasks.len() as u64;
        let n = store.insert_care_tasks(batch).await?;
        report.planned.insert(kind.as_str().into(), planned);
        report.created.insert(kind.as_str().into(), n);
    }
    Ok(report)
}

/// Customers planned (and greetings stored) at a time: about fifty
/// thousand tasks on a festival.
const CUSTOMERS_PER_BATCH: usize = 25_000;

/// Whom a run greets, a batch of customers at a time: read from the store
/// page by page (a calendar occasion greets everyone: the next page is read
/// while the tasks of this one are stored), or listed already.
enum RosterPages {
    Read { after: i64 },
    Listed { roster: CareRoster, next: usize },
}

impl RosterPages {
    /// The next batch of customers (ascending) and their contacts; `None` at the end.
    async fn next(&mut self, store: &dyn Store) -> Result<Option<CareRoster>, GenerateError> {
        match self {
            RosterPages::Read { after } => {
                let page = store
                    .care_roster(*after, CUSTOMERS_PER_BATCH as i64)
                    .await?;
                let Some(&(last, _)) = page.customers.last() else {
                    return Ok(None);
                };
                *after = last;
                Ok(Some(page))
            }
            RosterPages::Listed { roster, next } => {
                let end = (*next + CUSTOMERS_PER_BATCH).min(roster.customers.len());
                let customers = &roster.customers[*next..end];
                let (Some(&(lo, _)), Some(&(hi, _))) = (customers.first(), customers.last()) else {
                    return Ok(None);
                };
                *next = end;
                let contacts = &roster.contacts[roster.contacts.partition_point(|p| p.1 < lo)
                    ..roster.contacts.partition_point(|p| p.1 <= hi)];
                Ok(Some(CareRoster {
                    customers: customers.to_vec(),
                    contacts: contacts.to_vec(),
                }))
            }
        }
    }
}

fn task_kind(kind: &str) -> Option<TaskKind> {
    [
        TaskKind::Greeting,
        TaskKind::Cadence,
        TaskKind::Quota,
        TaskKind::Deadline,
        TaskKind::OrderDay,
    ]
    .into_iter()
    .find(|k| k.as_str() == kind)
}

/// Sorted keys, asked for mostly in ascending order (a batch's greetings
/// are planned in key order): a cursor walks forward through them, and a
/// key before the last one asked for is found by binary search.
struct SortedKeys {
    keys: Vec<TaskKey>,
    at: usize,
}

impl SortedKeys {
    fn new(mut keys: Vec<TaskKey>) -> SortedKeys {
        keys.sort_unstable();
        SortedKeys { keys, at: 0 }
    }

    fn contains(&mut self, key: &TaskKey) -> bool {
        // keys[..at] are all below the key asked for last.
        if self.at > 0 && self.keys[self.at - 1] >= *key {
            self.at = self.keys.partition_point(|k| k < key);
        }
        while self.at < self.keys.len() && self.keys[self.at] < *key {
            self.at += 1;
        }
        self.keys.get(self.at) == Some(key)
    }
}

/// What stays the same for every batch of one run.
struct Planning<'a> {
    calendar: &'a Calendar,
    templates: &'a Templates,
    from: NaiveDate,
    to: NaiveDate,
    cap: FrequencyCap,
    /// By customer id.
    key_dates: &'a [(i64, Vec<KeyDate>)],
    /// By contact id.
    birthdays: &'a [(i64, Anniversary)],
}

/// One batch planned: its greetings to store, its rule tasks with the day
/// the cap gave them.
struct PlannedBatch {
    /// The greetings to store: those planned less those stored already.
    greetings: CareTaskBatch,
    /// Greetings planned, stored already or not.
    planned: u64,
    rules: Vec<(CareTask, NaiveDate)>,
    deferred: u64,
    dropped: u64,
}

impl Planning<'_> {
    /// Plans the greetings of `customers` (id, owner; ascending) and their
    /// `contacts` (id, customer), and applies the frequency cap to them and
    /// the customers' rule tasks, against the contacts `made` and the tasks
    /// `stored` before (a stored task planned again now is not counted
    /// twice: the cap decides from the same facts on every run).
    fn batch(
        &self,
        customers: &[(i64, i64)],
        contacts: &[(i64, i64)],
        rules: &[CareTask],
        made: &[CustomerContact],
        stored: &[CareTaskContact],
    ) -> Result<PlannedBatch, GenerateError> {
        // Kinds are known (the caller kept only those that contact a customer).
        let mut stored: Vec<(TaskKey, NaiveDate)> = stored
            .iter()
            .filter_map(|t| {
                let key = TaskKey::customer(
                    task_kind(t.kind)?,
                    t.customer_id,
                    t.contact_id,
                    t.planned_for,
                );
                Some((key, t.date))
            })
            .collect();
        stored.sort_unstable_by_key(|s| s.0);
        let greeting_customers: Vec<GreetingCustomer> = customers
            .iter()
            .map(|&(id, _)| GreetingCustomer {
                id,
                key_dates: self
                    .key_dates
                    .binary_search_by_key(&id, |k| k.0)
                    .map(|i| self.key_dates[i].1.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let greeting_contacts: Vec<GreetingContact> = contacts
            .iter()
            .map(|&(id, customer_id)| GreetingContact {
                id,
                customer_id,
                birthday: self
                    .birthdays
                    .binary_search_by_key(&id, |b| b.0)
                    .ok()
                    .map(|i| self.birthdays[i].1),
            })
            .collect();
        let greetings = greeting::plan_greetings(
            self.calendar,
            self.from,
            self.to,
            &greeting_customers,
            &greeting_contacts,
        )?;
        let mut planned: Vec<PlannedContact> = greetings.iter().map(PlannedContact::from).collect();
        planned.extend(rules.iter().map(PlannedContact::from));
        let mut already: Vec<CustomerContact> = made.to_vec();
        // Open tasks with a planned key are stored already: a re-run sends
        // them to the store no second time (its unique key would refuse them).
        // Sorted keys walked in step, not hash sets: on a festival's re-run
        // these are two million keys, hashed twice each otherwise.
        let mut stored_keys = SortedKeys::new(stored.iter().map(|(k, _)| *k).collect());
        if !stored.is_empty() {
            let mut keys = SortedKeys::new(planned.iter().map(|p| p.key).collect());
            already.extend(
                stored
                    .iter()
                    .filter(|(k, _)| !keys.contains(k))
                    .map(|(k, date)| CustomerContact {
                        customer_id: k.customer_id.unwrap_or_default(),
                        date: *date,
                    }),
            );
        }
        let decisions: HashMap<TaskKey, CapDecision> =
            cap::apply_frequency_cap(self.cap, &already, &planned)?
                .into_iter()
                .filter(|(_, d)| *d != CapDecision::Keep)
                .collect();
        let (mut deferred, mut dropped) = (0u64, 0u64);
        let mut decide = |key: &TaskKey, date: NaiveDate| match decisions.get(key) {
            None | Some(CapDecision::Keep) => Some(date),
            Some(CapDecision::Defer { to }) => {
                deferred += 1;
                Some(*to)
            }
            Some(CapDecision::Drop { .. }) => {
                dropped += 1;
                None
            }
        };
        // The occasions and the template of a greeting depend only on its
        // reasons: stored once per distinct set.
        let mut batch = CareTaskBatch::default();
        let mut texts: HashMap<&[GreetingReason], (u32, u32)> = HashMap::new();
        // The last distinct reasons seen and their texts.
        type Texts<'r> = (&'r Arc<[GreetingReason]>, (u32, u32));
        let mut last: Option<Texts> = None;
        batch.tasks.reserve(greetings.len());
        let mut kept = 0u64;
        for g in &greetings {
            let Some(date) = decide(&g.key, g.date()) else {
                continue;
            };
            kept += 1;
            if stored_keys.contains(&g.key) {
                continue;
            }
            let (occasions, template) = match last {
                // Most greetings of a day share the day's occasions.
                Some((reasons, t)) if Arc::ptr_eq(reasons, &g.reasons) => t,
                _ => {
                    let t = *texts.entry(&g.reasons).or_insert_with(|| {
                        let json = serde_json::to_string(&g.reasons).unwrap_or_default();
                        (
                            batch.text(&json),
                            batch.text(self.templates.for_task(g).source()),
                        )
                    });
                    last = Some((&g.reasons, t));
                    t
                }
            };
            batch.tasks.push(NewCareTask {
                kind: TaskKind::Greeting.as_str(),
                planned_for: g.key.date,
                date,
                customer_id: Some(g.customer_id()),
                contact_id: g.contact_id(),
                salesperson_id: None,
                occasions,
                template: Some(template),
                message: None,
                channel: None,
            });
        }
        let rules = rules
            .iter()
            .filter_map(|t| Some((t.clone(), decide(&t.key, t.due)?)))
            .collect();
        Ok(PlannedBatch {
            planned: kept,
            greetings: batch,
            rules,
            deferred,
            dropped,
        })
    }
}

// ---------------------------------------------------------------------------
// HTTP

impl From<GenerateError> for ApiError {
    fn from(e: GenerateError) -> ApiError {
        match e {
            GenerateError::Store(e) => e.into(),
            GenerateError::Range { .. } => ApiError::invalid("to", e.to_string()),
            GenerateError::Care(e) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            GenerateError::Settings(m) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m)
            }
        }
    }
}

/// The owners whose tasks the caller may see (`None`: everyone's), from
/// the caller's customer scope (SPEC §9): a manager their own, a
/// supervisor their team's, a director or administrator all.
async fn task_owners(st: &AppState, u: &User) -> Result<Option<Vec<i64>>, ApiError> {
    let scope = st
        .grants
        .scope(u.role, Resource::Customer, Action::Read)
        .ok_or_else(|| ApiError::forbidden("read care tasks"))?;
    if u.role == Role::Agent || u.role == Role::Finance {
        // Read-only roles do not work care tasks.
        return Err(ApiError::forbidden("read care tasks"));
    }
    Ok(match scope {
        Scope::All => None,
        Scope::Own => Some(vec![u.id]),
        Scope::Team | Scope::Region => {
            let mut ids: Vec<i64> = st
                .store
                .users()
                .await?
                .into_iter()
                .filter(|o| {
                    o.id == u.id
                        || match scope {
                            Scope::Team => u.team_id.is_some() && o.team_id == u.team_id,
                            _ => u.region.is_some() && o.region == u.region,
                        }
                })
                .map(|o| o.id)
                .collect();
            ids.sort_unstable();
            Some(ids)
        }
    })
}

/// The company name signing greetings (the `company_name` setting).
async fn company_name(store: &dyn Store) -> Result<String, ApiError> {
    Ok(store
        .care_setting("company_name")
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| DEFAULT_COMPANY_NAME.to_string()))
}

/// A task's channel and message as shown. A rule task's are stored. A
/// greeting's are made now from the current facts: the channel suggested
/// by the customer's stage and gift policy and the contact's level (000
/// article 3), the message rendered from the template chosen when it was
/// planned, addressed to the contact and signed by the company and the
/// task's owner (000: "署名的格式为公司名称 + 个人姓名").
fn shown(t: &CareTaskRow, company_name: &str) -> (Option<String>, Option<String>) {
    let Some(f) = t
        .facts
        .as_ref()
        .filter(|_| t.kind == TaskKind::Greeting.as_str())
    else {
        return (t.channel.clone(), t.message.clone());
    };
    let channel = t.channel.clone().or_else(|| {
        let s = keqing_care::channel::suggest(
            stage_of(f.business_stage.as_deref()),
            t.contact_id.map(|_| level_of(f.contact_level)),
            f.gifts_forbidden,
        );
        Some(channel_str(s.channels.0).to_string())
    });
    let message = t.message.clone().or_else(|| {
        let template = Template::parse(t.template.as_deref()?).ok()?;
        let reasons: Vec<GreetingReason> = serde_json::from_value(t.occasions.clone()).ok()?;
        let values = greeting::template_values(
            &reasons,
            f.customer_name.as_deref().unwrap_or_default(),
            t.contact_id.map(|_| {
                (
                    f.contact_name.as_deref().unwrap_or_default(),
                    f.contact_title.as_deref(),
                )
            }),
            f.owner_name.as_deref().unwrap_or_default(),
            company_name,
        );
        template.render(&values).ok()
    });
    (channel, message)
}

fn task_json(t: &CareTaskRow, company_name: &str) -> Value {
    let (channel, message) = shown(t, company_name);
    json!({
        "id": t.id,
        "key": t.key,
        "kind": t.kind,
        "date": t.date,
        "customer_id": t.customer_id,
        "contact_id": t.contact_id,
        "owner_id": t.owner_id,
        "occasions": t.occasions,
        "channel": channel,
        "message": message,
        "status": t.status,
        "reason": t.reason,
        "snoozed_until": t.snoozed_until,
        "activity_id": t.activity_id,
    })
}

fn parse_date(field: &str, s: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    s.map(|s| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::invalid(
                field,
                format!("日期格式不正确 {s:?} is not a date (YYYY-MM-DD)"),
            )
        })
    })
    .transpose()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListParams {
    /// first due day (YYYY-MM-DD)
    from: Option<String>,
    /// last due day (YYYY-MM-DD)
    to: Option<String>,
    /// open, done, skipped or snoozed
    status: Option<String>,
    /// the task's kind (occasion, birthday, cadence, quota, …)
    kind: Option<String>,
    /// the manager's user id
    owner: Option<i64>,
    /// 1-based page
    page: Option<i64>,
    /// rows a page
    per_page: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/care/tasks",
    tag = "care",
    operation_id = "care_list_tasks",
    description = "Care tasks in your scope (from, to, status, kind, owner, page, per_page): {items, total}",
    params(TaskListParams),
    responses((status = 200, description = "{items: [task], total}", body = crate::openapi::AnyObject))
)]
pub async fn list_tasks(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<TaskListParams>,
) -> Result<Json<Value>, ApiError> {
    let mut owners = task_owners(&st, &u).await?;
    if let Some(o) = p.owner {
        owners = Some(match owners {
            None => vec![o],
            Some(v) => v.into_iter().filter(|x| *x == o).collect(),
        });
    }
    if let Some(s) = &p.status {
        if !["open", "done", "skipped", "snoozed"].contains(&s.as_str()) {
            return Err(ApiError::invalid(
                "status",
                "任务状态不正确 one of open, done, skipped, snoozed",
            ));
        }
    }
    let Paging {
        page,
        per_page,
        offset,
    } = Paging::new(p.page, p.per_page, 100, 1000)?;
    let f = CareTaskFilter {
        from: parse_date("from", p.from.as_deref())?,
        to: parse_date("to", p.to.as_deref())?,
        status: p.status,
        kind: p.kind,
        owners,
        details: true,
        offset,
        limit: per_page,
    };
    let r = st.store.care_tasks(&f).await?;
    let company = company_name(st.store.as_ref()).await?;
    Ok(Json(json!({
        "items": r.items.iter().map(|t| task_json(t, &company)).collect::<Vec<_>>(),
        "total": r.total,
        "page": page,
        "per_page": per_page,
    })))
}

/// A task the caller may work on, or 404 (another manager's task is not
/// revealed).
async fn own_task(st: &AppState, u: &User, id: i64) -> Result<CareTaskRow, ApiError> {
    let t = st
        .store
        .care_task(id)
        .await?
        .ok_or_else(|| ApiError::not_found("care task"))?;
    let visible = match task_owners(st, u).await? {
        None => true,
        Some(owners) => t.owner_id.is_some_and(|o| owners.contains(&o)),
    };
    if !visible {
        return Err(ApiError::not_found("care task"));
    }
    // A task of a deleted contact or customer is closed with it.
    if let Some(c) = t.contact_id {
        if st
            .store
            .contact(c)
            .await?
            .is_none_or(|p| p.deleted_at.is_some())
        {
            return Err(ApiError::not_found("care task"));
        }
    }
    if let Some(c) = t.customer_id {
        if st
            .store
            .customer(c)
            .await?
            .is_none_or(|c| c.deleted_at.is_some())
        {
            return Err(ApiError::not_found("care task"));
        }
    }
    Ok(t)
}

fn status_of(t: &CareTaskRow) -> TaskStatus {
    match t.status.as_str() {
        "done" => TaskStatus::Done,
        "skipped" => TaskStatus::Skipped {
            reason: t.reason.clone().unwrap_or_default(),
        },
        "snoozed" => TaskStatus::Snoozed {
            until: t.snoozed_until.unwrap_or(t.date),
        },
        _ => TaskStatus::Open,
    }
}

fn activity_kind(channel: Option<&str>) -> DomainKind {
    match channel {
        Some("sms") => DomainKind::Sms,
        Some("visit") => DomainKind::Visit,
        Some("meal") => DomainKind::Meal,
        Some("email") => DomainKind::Email,
        Some("wechat") => DomainKind::Wechat,
        _ => DomainKind::Call,
    }
}

async fn act(
    st: &AppState,
    u: &User,
    id: i64,
    action: TaskAction,
    summary: Option<String>,
) -> Result<Json<Value>, ApiError> {
    let today = local_date(Utc::now());
    let company = company_name(st.store.as_ref()).await?;
    for _ in 0..3 {
        let t = own_task(st, u, id).await?;
        let (channel, message) = shown(&t, &company);
        let next = match status_of(&t).apply(&action, today) {
            Ok(Transition::NoOp) => return Ok(Json(task_json(&t, &company))),
            Ok(Transition::Changed(s)) => s,
            Err(CareError::InvalidTransition { from, to }) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "invalid_transition",
                    format!("任务状态不能这样变更 a {from} task cannot become {to}"),
                ))
            }
            Err(CareError::InvalidParameter { name, detail }) => {
                return Err(ApiError::invalid(name, format!("参数有误 {detail}")))
            }
            Err(e) => return Err(ApiError::bad_request(e.to_string())),
        };
        let (status, reason, until) = match &next {
            TaskStatus::Open => ("open", None, None),
            TaskStatus::Done => ("done", None, None),
            TaskStatus::Skipped { reason } => ("skipped", Some(reason.clone()), None),
            TaskStatus::Snoozed { until } => ("snoozed", None, Some(*until)),
        };
        // Completing logs the contact on the customer's timeline, in the
        // same transaction as the status: once, however often it is sent.
        let activity = (next == TaskStatus::Done && t.customer_id.is_some()).then(|| NewActivity {
            kind: activity_kind(channel.as_deref()),
            contact_id: t.contact_id,
            at: None,
            summary: Some(summary.clone().unwrap_or_else(|| {
                message
                    .clone()
                    .unwrap_or_else(|| format!("客情任务 {}", t.key))
            })),
            gift_item: None,
            gift_value: None,
            help_kind: None,
            matter: None,
            feedback_kind: None,
        });
        let change = CareStatusChange {
            expected: t.status.clone(),
            status: status.into(),
            reason,
            snoozed_until: until,
            activity,
        };
        match st.store.set_care_task_status(id, &change, u).await {
            Ok(row) => return Ok(Json(task_json(&row, &company))),
            // Someone changed it meanwhile: decide again from what is stored.
            Err(StoreError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        "任务正在被他人修改，请重试 the task keeps changing; try again",
    ))
}

/// An optional JSON object body: empty is `{}`.
fn body_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            "请求内容应为JSON对象 the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "请求内容不是有效的JSON the body is not valid JSON: {e}"
        ))),
    }
}

fn body_str(body: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_string)
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/complete",
    tag = "care",
    operation_id = "care_complete_task",
    description = "Complete a care task; logs the contact on the customer's timeline once (a second complete logs nothing)",
    params(("id" = i64, Path, description = "care task id")),
    request_body = crate::openapi::TaskActionBody,
    responses((status = 200, description = "The task", body = crate::openapi::AnyObject), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn complete_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let summary = body_str(&body_object(&body)?, "summary");
    act(&st, &u, id, TaskAction::Complete, summary).await
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/skip",
    tag = "care",
    operation_id = "care_skip_task",
    description = "Skip a care task with {reason} (required)",
    params(("id" = i64, Path, description = "care task id")),
    request_body = crate::openapi::TaskActionBody,
    responses((status = 200, description = "The task", body = crate::openapi::AnyObject), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn skip_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let reason = body_str(&body_object(&body)?, "reason").unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(ApiError::invalid(
            "reason",
            "跳过任务需填写原因 a skipped task needs a reason",
        ));
    }
    act(&st, &u, id, TaskAction::Skip { reason }, None).await
}

#[utoipa::path(
    post,
    path = "/care/tasks/{id}/snooze",
    tag = "care",
    operation_id = "care_snooze_task",
    description = "Snooze a care task {until: YYYY-MM-DD}",
    params(("id" = i64, Path, description = "care task id")),
    request_body = crate::openapi::TaskActionBody,
    responses((status = 200, description = "The task", body = crate::openapi::AnyObject), (status = 409, description = "refused: the task is not open", body = crate::openapi::ErrorBody))
)]
pub async fn snooze_task(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let until = body_str(&body_object(&body)?, "until");
    let until = parse_date("until", until.as_deref())?.ok_or_else(|| {
        ApiError::invalid(
            "until",
            "请填写延后到哪一天 snooze until which day (YYYY-MM-DD)?",
        )
    })?;
    act(&st, &u, id, TaskAction::Snooze { until }, None).await
}

// --- templates ---

fn may_edit_templates(u: &User) -> Result<(), ApiError> {
    match u.role {
        Role::Admin | Role::Director | Role::Supervisor => Ok(()),
        _ => Err(ApiError::forbidden("change message templates")),
    }
}

fn template_input(
    body: &serde_json::Map<String, Value>,
    base: Option<&keqing_store::CareTemplate>,
) -> Result<NewCareTemplate, ApiError> {
    let name = body_str(body, "name").or_else(|| base.map(|b| b.name.clone()));
    let text = body_str(body, "body").or_else(|| base.map(|b| b.body.clone()));
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name", "缺少模板名称 a template needs a name"))?;
    let text =
        text.ok_or_else(|| ApiError::invalid("body", "缺少模板内容 a template needs a body"))?;
    // 000: every greeting is signed "company name + personal name".
    Template::parse(&text).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let occasion = match body.get("occasion") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => {
            return Err(ApiError::invalid(
                "occasion",
                "节日格式不正确 an occasion id or null",
            ))
        }
        None => base.and_then(|b| b.occasion.clone()),
    };
    let active = match body.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("active", "应填true或false true or false")),
        None => base.is_none_or(|b| b.active),
    };
    Ok(NewCareTemplate {
        name: name.trim().to_string(),
        body: text,
        occasion,
        active,
    })
}

#[utoipa::path(
    get,
    path = "/care/templates",
    tag = "care",
    operation_id = "care_list_templates",
    description = "Greeting message templates",
    responses((status = 200, description = "The templates, the default text and the placeholders a template may use", body = TemplateList))
)]
pub async fn list_templates(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<TemplateList>, ApiError> {
    let items = st.store.care_templates().await?;
    // What a template may insert, spelled in English or Chinese.
    let placeholders = keqing_care::template::Placeholder::ALL
        .iter()
        .map(|p| PlaceholderName {
            name: p.name(),
            alias_zh: p.alias_zh(),
        })
        .collect();
    Ok(Json(TemplateList {
        total: items.len(),
        items,
        default: DEFAULT_TEMPLATE,
        placeholders,
    }))
}

#[utoipa::path(
    post,
    path = "/care/templates",
    tag = "care",
    operation_id = "care_create_template",
    description = "Create a template; it must end with the signature {公司名称} {经理姓名} (422 otherwise)",
    request_body = crate::openapi::CareTemplateBody,
    responses((status = 201, description = "The template created", body = crate::openapi::CareTemplate))
)]
pub async fn create_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<crate::openapi::CareTemplateBody>,
) -> Result<(StatusCode, Json<keqing_store::CareTemplate>), ApiError> {
    may_edit_templates(&u)?;
    let input = template_input(&body, None)?;
    let t = st.store.create_care_template(&input).await?;
    st.store
        .audit(
            Some(u.id),
            "create",
            "care_template",
            Some(t.id),
            json!({"name": t.name}),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(
    patch,
    path = "/care/templates/{id}",
    tag = "care",
    operation_id = "care_update_template",
    description = "Change a template (signature rule as on create)",
    params(("id" = i64, Path, description = "template id")),
    request_body = crate::openapi::CareTemplateBody,
    responses((status = 200, description = "The template changed", body = crate::openapi::CareTemplate))
)]
pub async fn update_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    JsonObject(body, _): JsonObject<crate::openapi::CareTemplateBody>,
) -> Result<Json<keqing_store::CareTemplate>, ApiError> {
    may_edit_templates(&u)?;
    let base = st
        .store
        .care_templates()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("template"))?;
    let input = template_input(&body, Some(&base))?;
    let t = st.store.update_care_template(id, &input).await?;
    st.store
        .audit(Some(u.id), "update", "care_template", Some(id), Value::Null)
        .await?;
    Ok(Json(t))
}

#[utoipa::path(
    delete,
    path = "/care/templates/{id}",
    tag = "care",
    operation_id = "care_delete_template",
    description = "Delete a template",
    params(("id" = i64, Path, description = "template id")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete_template(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    may_edit_templates(&u)?;
    st.store
        .delete_care_template(id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("template"),
            e => e.into(),
        })?;
    st.store
        .audit(Some(u.id), "delete", "care_template", Some(id), Value::Null)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- settings ---

/// `GET /api/v1/care/settings`: the settings, and beside them (read-only, for
/// the forms) the built-in occasions one may switch off and the solar terms
/// an added occasion may fall on.
#[utoipa::path(
    get,
    path = "/care/settings",
    tag = "care",
    operation_id = "care_get_settings",
    description = "Care settings: company name, cadence standards, daily quota, frequency cap, occasions; and, read-only, builtin_occasions [{id, name_zh, name_en, rule}] and solar_terms",
    responses((status = 200, description = "The settings with builtin_occasions and solar_terms", body = crate::openapi::AnyObject))
)]
pub async fn get_settings(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let settings = CareSettings::load(st.store.as_ref()).await?;
    let mut v =
        serde_json::to_value(&settings).map_err(|e| ApiError::bad_request(e.to_string()))?;
    v["builtin_occasions"] = keqing_care::calendar::BuiltinOccasion::ALL
        .iter()
        .map(|o| json!({"id": o.id(), "name_zh": o.name_zh(), "name_en": o.name_en(), "rule": o.rule()}))
        .collect();
    v["solar_terms"] = json!(keqing_care::lunar::SOLAR_TERMS);
    Ok(Json(v))
}

#[utoipa::path(
    put,
    path = "/care/settings",
    tag = "care",
    operation_id = "care_put_settings",
    description = "Change care settings (administrators; any subset of the keys)",
    request_body = crate::openapi::AnyObject,
    responses((status = 200, description = "The settings stored", body = crate::openapi::AnyObject))
)]
pub async fn put_settings(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    JsonObject(body, _): JsonObject<crate::openapi::AnyObject>,
) -> Result<Json<CareSettings>, ApiError> {
    if u.role != Role::Admin {
        return Err(ApiError::forbidden("change care settings"));
    }
    let current = CareSettings::load(st.store.as_ref()).await?;
    let new = current.patched(&body).map_err(|e| match &e {
        SettingsError::Unknown(k) => ApiError::invalid(k, e.to_string()),
        SettingsError::Invalid { key, .. } => ApiError::invalid(key, e.to_string()),
    })?;
    let all = serde_json::to_value(&new).map_err(|e| ApiError::bad_request(e.to_string()))?;
    for k in body.keys() {
        st.store.put_care_setting(k, &all[k.as_str()]).await?;
    }
    st.store
        .audit(
            Some(u.id),
            "update",
            "care_settings",
            None,
            Value::Object(body),
        )
        .await?;
    Ok(Json(new))
}

// --- run ---

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// first day (YYYY-MM-DD)
    from: Option<String>,
    /// last day (YYYY-MM-DD)
    to: Option<String>,
}

fn range(p: &RangeParams) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let today = local_date(Utc::now());
    let from = parse_date("from", p.from.as_deref())?.unwrap_or(today);
    let to = parse_date("to", p.to.as_deref())?.unwrap_or(from);
    if from > to {
        return Err(ApiError::invalid(
            "to",
            "结束日期早于开始日期 to is before from",
        ));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(ApiError::invalid(
            "to",
            "一次最多查询366天 at most 366 days at a time",
        ));
    }
    Ok((from, to))
}

#[utoipa::path(
    post,
    path = "/care/run",
    tag = "care",
    operation_id = "care_run",
    description = "Generate the care tasks of from..=to (supervisors and above); idempotent",
    params(RangeParams),
    responses((status = 200, description = "What was planned and stored, per task kind", body = crate::openapi::GenerateReport))
)]
pub async fn run(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<RangeParams>,
) -> Result<Json<GenerateReport>, ApiError> {
    if !matches!(u.role, Role::Admin | Role::Director | Role::Supervisor) {
        return Err(ApiError::forbidden("run care task generation"));
    }
    let (from, to) = range(&p)?;
    let r = generate(st.store.as_ref(), from, to, Utc::now()).await?;
    st.store
        .audit(Some(u.id), "run", "care_tasks", None, json!(r))
        .await?;
    Ok(Json(r))
}

// --- compliance ---

#[derive(Debug, Default, Serialize)]
struct Share {
    due: u64,
    made: u64,
    /// made / due; `null` when nothing was due.
    share: Option<f64>,
}

impl Share {
    fn add(&mut self, due: u64, made: u64) {
        self.due += due;
        self.made += made;
        self.share = (self.due > 0).then(|| self.made as f64 / self.due as f64);
    }
}

/// A team's sums in the compliance report.
#[derive(Debug, Default)]
struct TeamTotals {
    tasks: Share,
    cadence: Share,
    behind: Vec<i64>,
    managers: Vec<i64>,
    quota: Share,
}

#[derive(Debug, Default, Serialize)]
struct QuotaDay {
    date: Option<NaiveDate>,
    working_day: bool,
    required: u64,
    made: u64,
    met: bool,
    new_customer_visits: [u32; 2],
    existing_customer_visits: [u32; 2],
    calls: [u32; 2],
}

/// Fulfilment per manager and team over `from..=to` (SPEC §4): the share of
/// due care contacts made (the care tasks due in the range, with the ids
/// behind each number), the customers behind their cadence standard as of
/// `to` (with the list), and the daily quota by day.
#[utoipa::path(
    get,
    path = "/care/compliance",
    tag = "care",
    operation_id = "care_compliance",
    description = "Care compliance per manager and team (from, to): tasks made, customers behind their cadence standard, daily quota by day",
    params(RangeParams),
    responses((status = 200, description = "{managers, teams, quota}", body = crate::openapi::AnyObject))
)]
pub async fn compliance(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<RangeParams>,
) -> Result<Json<Value>, ApiError> {
    let owners = task_owners(&st, &u).await?;
    let (from, to) = range(&p)?;
    if (to - from).num_days() > 92 {
        return Err(ApiError::invalid(
            "to",
            "合规报告最多覆盖93天 a compliance report covers at most 93 days",
        ));
    }
    let settings = CareSettings::load(st.store.as_ref()).await?;
    let users = st.store.users().await?;
    let in_scope = |id: i64| owners.as_ref().is_none_or(|o| o.contains(&id));
    let managers: Vec<&User> = users
        .iter()
        .filter(|x| x.role == Role::Manager && in_scope(x.id))
        .collect();

    // Care tasks due in the range: done / due, with the task ids.
    let tasks = st
        .store
        .care_tasks(&CareTaskFilter {
            from: Some(from),
            to: Some(to),
            owners: owners.clone(),
            ..Default::default()
        })
        .await?;
    // Cadence as of `to`, from the activities of the standards' periods.
    // The customers under a cadence standard are among those with a rule of their own.
    let customers = st
        .store
        .care_customers(&CareCustomerQuery::default())
        .await?;
    let mut since = from;
    for s in &settings.cadence_standards {
        for r in &s.requirements {
            since = since.min(r.per.bounds(to).0);
        }
    }
    let acts = st
        .store
        .activity_facts(
            day_start(since),
            day_start(to + Days::new(1)),
            day_start(from),
        )
        .await?;
    let cadence_customers: Vec<CadenceCustomer> = customers
        .iter()
        .filter(|c| in_scope(c.owner_id))
        .filter_map(|c| {
            let classes = cadence_classes(c, &settings.cadence_standards);
            (!classes.is_empty()).then_some(CadenceCustomer {
                customer_id: c.id,
                manager_id: c.owner_id,
                classes,
            })
        })
        .collect();
    let care_acts: Vec<keqing_care::activity::Activity> = acts
        .iter()
        .filter_map(|a| {
            Some(keqing_care::activity::Activity {
                customer_id: a.customer_id,
                kind: care_kind(a.kind)?,
                date: local_date(a.at),
            })
        })
        .collect();
    let report = cadence::cadence_report(
        &settings.cadence_standards,
        &cadence_customers,
        &care_acts,
        to,
    )
    .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))?;

    let sales: Vec<SalesActivity> = acts
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
        .collect();

    let mut teams: BTreeMap<Option<i64>, TeamTotals> = BTreeMap::new();
    let mut rows = vec![];
    for m in &managers {
        let mine: Vec<&CareTaskRow> = tasks
            .items
            .iter()
            .filter(|t| t.owner_id == Some(m.id))
            .collect();
        let mut task_share = Share::default();
        task_share.add(
            mine.len() as u64,
            mine.iter().filter(|t| t.status == "done").count() as u64,
        );
        let open_ids: Vec<i64> = mine
            .iter()
            .filter(|t| t.status != "done")
            .map(|t| t.id)
            .collect();
        let done_ids: Vec<i64> = mine
            .iter()
            .filter(|t| t.status == "done")
            .map(|t| t.id)
            .collect();
        let mc = report.managers.iter().find(|x| x.manager_id == m.id);
        let mut cad = Share::default();
        cad.add(
            mc.map_or(0, |x| u64::from(x.due)),
            mc.map_or(0, |x| u64::from(x.made)),
        );
        let behind: Vec<i64> = mc.map(|x| x.customers_behind.clone()).unwrap_or_default();
        let behind_lines: Vec<Value> = report
            .lines
            .iter()
            .filter(|l| l.manager_id == m.id && l.behind)
            .map(|l| json!({"customer_id": l.customer_id, "class": l.class, "counted": l.requirement.counted, "per": l.requirement.per, "required": l.required, "due_so_far": l.due_so_far, "made": l.made, "period_start": l.period_start, "period_end": l.period_end}))
            .collect();
        let mut quota_days = vec![];
        let mut quota_share = Share::default();
        for day in days(from, to) {
            let q = quota::quota_progress(
                &settings.daily_quota,
                m.id,
                day,
                quota::is_weekday(day),
                &sales,
            );
            let counts = [q.new_customer_visits, q.existing_customer_visits, q.calls];
            let required: u64 = counts.iter().map(|c| u64::from(c.required)).sum();
            // Extra contacts beyond the quota do not make up for another kind.
            let made: u64 = counts
                .iter()
                .map(|c| u64::from(c.made.min(c.required)))
                .sum();
            quota_share.add(required, made);
            quota_days.push(QuotaDay {
                date: Some(day),
                working_day: q.working_day,
                required,
                made,
                met: q.met(),
                new_customer_visits: [q.new_customer_visits.required, q.new_customer_visits.made],
                existing_customer_visits: [
                    q.existing_customer_visits.required,
                    q.existing_customer_visits.made,
                ],
                calls: [q.calls.required, q.calls.made],
            });
        }
        let team = teams.entry(m.team_id).or_default();
        team.tasks.add(task_share.due, task_share.made);
        team.cadence.add(cad.due, cad.made);
        team.behind.extend(&behind);
        team.managers.push(m.id);
        team.quota.add(quota_share.due, quota_share.made);
        rows.push(json!({
            "manager_id": m.id,
            "name": m.display_name,
            "team_id": m.team_id,
            "tasks": {"due": task_share.due, "made": task_share.made, "share": task_share.share, "done_task_ids": done_ids, "not_done_task_ids": open_ids},
            "cadence": {"due": cad.due, "made": cad.made, "share": cad.share, "customers_behind": behind, "lines_behind": behind_lines},
            "quota": {"required": quota_share.due, "made": quota_share.made, "share": quota_share.share, "days": quota_days},
        }));
    }
    let team_names: HashMap<i64, String> = st
        .store
        .teams()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let team_rows: Vec<Value> = teams
        .into_iter()
        .map(|(id, mut t)| {
            t.behind.sort_unstable();
            let (tasks, cad, behind, managers, quota) =
                (t.tasks, t.cadence, t.behind, t.managers, t.quota);
            json!({
                "team_id": id,
                "name": id.and_then(|i| team_names.get(&i).cloned()),
                "managers": managers,
                "tasks": tasks,
                "cadence": {"due": cad.due, "made": cad.made, "share": cad.share, "customers_behind": behind},
                "quota": quota,
            })
        })
        .collect();
    Ok(Json(json!({
        "from": from,
        "to": to,
        "managers": rows,
        "teams": team_rows,
    })))
}

// --- a customer's coming occasions ---

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OccasionParams {
    /// First day (YYYY-MM-DD, Beijing); today when absent.
    from: Option<String>,
    /// How many days from `from` (1–366, default 60).
    days: Option<i64>,
}

/// `GET /api/v1/customers/{id}/occasions?days=60`: the occasions coming for
/// one customer, by date — the deployment's calendar (festivals greet every
/// customer), each contact's birthday (solar or lunar, keqing-care's rules
/// for a missing 30th or leap month) and the company's key dates. Checked
/// like reading the customer and its contacts.
#[utoipa::path(
    get,
    path = "/customers/{id}/occasions",
    tag = "care",
    operation_id = "care_customer_occasions",
    description = "The customer's coming occasions (from=YYYY-MM-DD, default today; days=1..366, default 60): festivals of the deployment's calendar, each contact's birthday (solar or lunar), the company's key dates",
    params(("id" = i64, Path, description = "customer id"), OccasionParams),
    responses((status = 200, description = "{from, to, items: [{date, kind: occasion|birthday|key_date, occasion, name_zh, name_en, contact_id, contact_name, name, lunar, years}]}", body = crate::openapi::AnyObject))
)]
pub async fn customer_occasions(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(id): Path<i64>,
    Query(p): Query<OccasionParams>,
) -> Result<Json<Value>, ApiError> {
    let c = crate::customers::authorized(&st, &u, id, Resource::Customer, Action::Read).await?;
    let days = p.days.unwrap_or(60);
    if !(1..=MAX_RANGE_DAYS).contains(&days) {
        return Err(ApiError::invalid("days", "天数应为1到366 1 to 366 days"));
    }
    let from = parse_date("from", p.from.as_deref())?.unwrap_or_else(|| local_date(Utc::now()));
    let to = from + Days::new(days as u64 - 1);
    let contacts = if st.grants.allows(
        &u,
        Resource::Contact,
        Action::Read,
        crate::customers::row(&c),
    ) {
        st.store.contacts(id).await?
    } else {
        vec![]
    };
    let settings = CareSettings::load(st.store.as_ref()).await?;
    let calendar = Calendar::new(&settings.occasions).map_err(GenerateError::from)?;
    let mut items: Vec<Value> = vec![];
    for o in calendar.occasions(from, to).map_err(GenerateError::from)? {
        items.push(json!({
            "date": o.date, "kind": "occasion", "occasion": o.id,
            "name_zh": o.name_zh, "name_en": o.name_en,
        }));
    }
    for k in contacts.iter().filter(|k| k.deleted_at.is_none()) {
        let Some((b, a)) = k.fields.birthday.and_then(|b| Some((b, birthday_of(b)?))) else {
            continue;
        };
        let lunar = matches!(b, keqing_domain::Birthday::Lunar { .. });
        for d in a.dates(from, to).map_err(GenerateError::from)? {
            // Before the year of birth (a wrapped negative age): no birthday yet.
            if d.years.is_some_and(|y| y > 1000) {
                continue;
            }
            items.push(json!({
                "date": d.date, "kind": "birthday", "contact_id": k.id,
                "contact_name": k.fields.name, "lunar": lunar,
                "years": d.years.filter(|y| *y > 0),
            }));
        }
    }
    for kd in &c.fields.key_dates {
        let Some(k) = key_date_of(kd) else { continue };
        for d in k.date.dates(from, to).map_err(GenerateError::from)? {
            if d.years.is_some_and(|y| y > 1000) {
                continue;
            }
            items.push(json!({
                "date": d.date, "kind": "key_date", "name": k.name, "lunar": kd.lunar,
                "years": d.years.filter(|y| *y > 0),
            }));
        }
    }
    // By date; on one day festivals first, then key dates, then birthdays (as greetings list them).
    let rank = |v: &Value| match v["kind"].as_str() {
        Some("occasion") => 0,
        Some("key_date") => 1,
        _ => 2,
    };
    items.sort_by(|a, b| (a["date"].as_str(), rank(a)).cmp(&(b["date"].as_str(), rank(b))));
    Ok(Json(json!({"from": from, "to": to, "items": items})))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cursor answers as a search of the whole list would, whatever
    /// order the keys are asked in: ascending (the usual case), repeated,
    /// going back, and past the end.
    #[test]
    fn sorted_keys_answer_in_any_order() {
        let day: NaiveDate = "2026-09-25".parse().unwrap();
        let key = |c: i64, p: Option<i64>| TaskKey::customer(TaskKind::Greeting, c, p, day);
        let stored = vec![
            key(5, Some(2)),
            key(1, None),
            key(3, Some(7)),
            key(1, Some(1)),
        ];
        let mut keys = SortedKeys::new(stored.clone());
        let asked = [
            key(1, None),
            key(1, Some(1)),
            key(1, Some(1)),
            key(2, Some(1)),
            key(5, Some(2)),
            key(3, Some(7)),
            key(1, None),
            key(9, None),
            key(0, None),
            key(5, Some(2)),
        ];
        for k in asked {
            assert_eq!(keys.contains(&k), stored.contains(&k), "{k}");
        }
        assert!(!SortedKeys::new(vec![]).contains(&key(1, None)));
    }
}

/// `GET /care/templates`: the templates and what a template may use.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    #[schema(value_type = Vec<crate::openapi::CareTemplate>)]
    pub items: Vec<keqing_store::CareTemplate>,
    pub total: usize,
    /// the text a new template starts from
    pub default: &'static str,
    pub placeholders: Vec<PlaceholderName>,
}

/// A placeholder a template may insert, spelled in English or Chinese.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PlaceholderName {
    pub name: &'static str,
    pub alias_zh: &'static str,
}
