//! The greeting plan (节日问候, SPEC §4; 000 article 1 item 7): on every
//! occasion, birthday and company date, every relevant contact is contacted
//! once by phone or SMS, greeting signed "company name + personal name".
//!
//! Who is greeted for what:
//! - a calendar occasion ([`Calendar`]): every contact of every customer,
//!   and every customer that has no contacts (an individual customer);
//! - a contact's birthday (solar or lunar, [`Anniversary`]): that contact;
//! - a customer's key date (founding day…): every contact of that customer,
//!   or the customer itself when it has no contacts.
//!
//! One task per contact (or contact-less customer) per day, listing all of
//! that day's reasons: calendar occasions first (calendar order), then the
//! customer's key dates (their order), then the birthday. Its key is
//! (greeting, customer, contact, date) and does not depend on the reasons,
//! so re-planning a range, or an overlapping one, after the configuration
//! changed still yields the same key for the same person and day.
//!
//! Planning needs only ids, birthdays and key dates. How a greeting is made
//! — the channel ([`crate::channel::suggest`], from the customer's stage
//! and gift policy and the contact's level) and the message (a
//! [`Template`](crate::template::Template) filled with [`template_values`])
//! — is decided from the people's facts when the task is shown, so a
//! festival that greets millions of contacts does not read their files.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::anniversary::{keys_on, not_before_origin, Anniversary, AnniversaryKey};
use crate::calendar::Calendar;
use crate::error::{CareError, Result};
use crate::lunar;
use crate::task::{TaskKey, TaskKind};
use crate::template::TemplateValues;

/// A person at a customer company, as far as planning greetings needs one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreetingContact {
    pub id: i64,
    pub customer_id: i64,
    /// Solar or lunar; `None` when unknown (or not in the planned range).
    pub birthday: Option<Anniversary>,
}

/// A customer's own important date (公司成立日, 店庆…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDate {
    /// Shown in the task and the message, e.g. "成立纪念日".
    pub name: String,
    pub date: Anniversary,
}

/// A customer, as far as planning greetings needs one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreetingCustomer {
    pub id: i64,
    pub key_dates: Vec<KeyDate>,
}

/// Why a greeting is due.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum GreetingReason {
    /// A calendar occasion (built-in or the deployment's).
    Occasion {
        occasion: Arc<str>,
        name_zh: Arc<str>,
        name_en: Arc<str>,
    },
    /// The contact's birthday; `years` is the age when the birth year is known.
    Birthday { years: Option<u32> },
    /// One of the customer's key dates; `years` since the original date.
    KeyDate { name: Arc<str>, years: Option<u32> },
}

impl GreetingReason {
    /// The name used for `{occasion}` in a Chinese message.
    pub fn name_zh(&self) -> &str {
        match self {
            Self::Occasion { name_zh, .. } => name_zh,
            Self::Birthday { .. } => "生日",
            Self::KeyDate { name, .. } => name,
        }
    }

    /// The name used for `{occasion}` in an English message.
    pub fn name_en(&self) -> &str {
        match self {
            Self::Occasion { name_en, .. } => name_en,
            Self::Birthday { .. } => "birthday",
            Self::KeyDate { name, .. } => name,
        }
    }
}

/// All reasons for `{occasion}`, Chinese: "中秋节、国庆节".
pub fn occasion_zh(reasons: &[GreetingReason]) -> String {
    reasons
        .iter()
        .map(GreetingReason::name_zh)
        .collect::<Vec<_>>()
        .join("、")
}

/// The values to render a greeting's message with: occasions in Chinese,
/// addressed to the contact (name and title), or to the customer by its
/// name when the greeting has no contact.
pub fn template_values(
    reasons: &[GreetingReason],
    customer_name: &str,
    contact: Option<(&str, Option<&str>)>,
    manager_name: &str,
    company_name: &str,
) -> TemplateValues {
    TemplateValues {
        contact_name: contact.map_or(customer_name, |(name, _)| name).to_owned(),
        contact_title: contact
            .and_then(|(_, title)| title)
            .unwrap_or_default()
            .to_owned(),
        customer_name: customer_name.to_owned(),
        occasion: occasion_zh(reasons),
        manager_name: manager_name.to_owned(),
        company_name: company_name.to_owned(),
    }
}

/// One greeting to make: one contact (or contact-less customer), one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreetingTask {
    /// (greeting, customer, contact, date): the idempotency key.
    pub key: TaskKey,
    /// Shared by the day's greetings that have the same reasons (on a
    /// festival, nearly all of them).
    pub reasons: Arc<[GreetingReason]>,
}

impl GreetingTask {
    pub fn date(&self) -> NaiveDate {
        self.key.date
    }
    pub fn customer_id(&self) -> i64 {
        self.key.customer_id.unwrap_or_default()
    }
    pub fn contact_id(&self) -> Option<i64> {
        self.key.contact_id
    }
    /// All reasons for `{occasion}`, Chinese: "中秋节、国庆节".
    pub fn occasion_zh(&self) -> String {
        occasion_zh(&self.reasons)
    }
    /// All reasons for `{occasion}`, English: "Mid-Autumn Festival, National Day".
    pub fn occasion_en(&self) -> String {
        self.reasons
            .iter()
            .map(GreetingReason::name_en)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Plans the greetings from `from` to `to` inclusive: tasks ordered by date,
/// then customer id, then contact id (a contact-less customer's own task has
/// no contact id). A contact whose customer is not in `customers`, or two
/// customers with one id, is an error.
///
/// Cost: one pass over customers and contacts to group them, then per day
/// one task per greeted person; birthdays and key dates are matched through
/// the few anniversary keys of the range's days, not per contact.
pub fn plan_greetings(
    calendar: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
    customers: &[GreetingCustomer],
    contacts: &[GreetingContact],
) -> Result<Vec<GreetingTask>> {
    let occasions = calendar.occasions(from, to)?;
    let days = lunar::lunar_days(from, to)?;
    let day_keys: Vec<Vec<AnniversaryKey>> = days
        .iter()
        .map(|&(date, l)| keys_on(date, l))
        .collect::<Result<_>>()?;
    let mut wanted = vec![false; AnniversaryKey::COUNT];
    for k in day_keys.iter().flatten() {
        wanted[k.dense_index()] = true;
    }

    // Customers in id order; contacts grouped by customer, in id order.
    // (Callers usually pass both in id order: then no sorting is needed.)
    let mut customer_order: Vec<u32> = (0..customers.len() as u32).collect();
    if !customers.is_sorted_by_key(|c| c.id) {
        customer_order.sort_unstable_by_key(|&i| customers[i as usize].id);
    }
    if let Some(w) = customer_order
        .windows(2)
        .find(|w| customers[w[0] as usize].id == customers[w[1] as usize].id)
    {
        return Err(CareError::InvalidParameter {
            name: "customers",
            detail: format!("customer id {} appears twice", customers[w[0] as usize].id),
        });
    }
    let mut contact_order: Vec<u32> = (0..contacts.len() as u32).collect();
    if !contacts.is_sorted_by_key(|p| (p.customer_id, p.id)) {
        contact_order.sort_unstable_by_key(|&i| {
            let p = &contacts[i as usize];
            (p.customer_id, p.id)
        });
    }
    if let Some(w) = contact_order.windows(2).find(|w| {
        let (a, b) = (&contacts[w[0] as usize], &contacts[w[1] as usize]);
        (a.customer_id, a.id) == (b.customer_id, b.id)
    }) {
        return Err(CareError::InvalidParameter {
            name: "contacts",
            detail: format!("contact id {} appears twice", contacts[w[0] as usize].id),
        });
    }
    // contacts_of[position in customer_order] = range in contact_order.
    let mut contacts_of: Vec<(u32, u32)> = Vec::with_capacity(customers.len());
    let mut next = 0usize;
    for &ci in &customer_order {
        let id = customers[ci as usize].id;
        let start = next;
        while next < contact_order.len() {
            let cid = contacts[contact_order[next] as usize].customer_id;
            if cid > id {
                break;
            }
            if cid < id {
                let p = &contacts[contact_order[next] as usize];
                return Err(unknown_customer(p));
            }
            next += 1;
        }
        contacts_of.push((start as u32, next as u32));
    }
    if let Some(&pi) = contact_order.get(next) {
        return Err(unknown_customer(&contacts[pi as usize]));
    }

    // Only the yearly dates that can fall in the range: (key, position of
    // the customer in customer_order, contact index or key-date index).
    let mut birthdays: Vec<(usize, u32, u32)> = Vec::new();
    let mut key_dates: Vec<(usize, u32, u32)> = Vec::new();
    for (pos, &ci) in customer_order.iter().enumerate() {
        let c = &customers[ci as usize];
        for (ki, k) in c.key_dates.iter().enumerate() {
            let key = k.date.key().dense_index();
            if wanted[key] {
                key_dates.push((key, pos as u32, ki as u32));
            }
        }
        let (s, e) = contacts_of[pos];
        for &pi in &contact_order[s as usize..e as usize] {
            if let Some(b) = &contacts[pi as usize].birthday {
                let key = b.key().dense_index();
                if wanted[key] {
                    birthdays.push((key, pos as u32, pi));
                }
            }
        }
    }

    // Sorted by key for per-day lookups (stable: customer order kept).
    key_dates.sort_by_key(|x| x.0);
    birthdays.sort_by_key(|x| x.0);

    let mut tasks = Vec::new();
    let mut occ = occasions.iter().peekable();
    for ((date, lunar_date), keys) in days.into_iter().zip(day_keys) {
        let mut calendar_reasons: Vec<GreetingReason> = Vec::new();
        while let Some(o) = occ.next_if(|o| o.date == date) {
            calendar_reasons.push(GreetingReason::Occasion {
                occasion: o.id.clone(),
                name_zh: o.name_zh.clone(),
                name_en: o.name_en.clone(),
            });
        }
        // The entries of `index` (sorted by key) whose key is one of today's.
        let todays = |index: &'_ [(usize, u32, u32)]| -> Vec<(u32, u32)> {
            let mut out = Vec::new();
            for k in &keys {
                let k = k.dense_index();
                let from = index.partition_point(|x| x.0 < k);
                let to = index.partition_point(|x| x.0 <= k);
                out.extend(index[from..to].iter().map(|&(_, pos, i)| (pos, i)));
            }
            out
        };

        // The day's own dates: (target (customer position, contact id or
        // None), rank (key dates in their order, then the birthday), reason).
        let mut extra: Vec<((u32, Option<i64>), u32, GreetingReason)> = Vec::new();
        for (pos, ki) in todays(&key_dates) {
            let c = &customers[customer_order[pos as usize] as usize];
            let kd = &c.key_dates[ki as usize];
            if !not_before_origin(&kd.date, date, lunar_date) {
                continue;
            }
            let reason = GreetingReason::KeyDate {
                name: Arc::from(kd.name.as_str()),
                years: years_since(&kd.date, date, lunar_date),
            };
            let (s, e) = contacts_of[pos as usize];
            if s == e {
                extra.push(((pos, None), ki, reason));
            } else {
                for &pi in &contact_order[s as usize..e as usize] {
                    extra.push(((pos, Some(contacts[pi as usize].id)), ki, reason.clone()));
                }
            }
        }
        for (pos, pi) in todays(&birthdays) {
            let p = &contacts[pi as usize];
            if let Some(b) = &p.birthday {
                if not_before_origin(b, date, lunar_date) {
                    let years = years_since(b, date, lunar_date);
                    extra.push((
                        (pos, Some(p.id)),
                        u32::MAX,
                        GreetingReason::Birthday { years },
                    ));
                }
            }
        }
        extra.sort_by_key(|(target, rank, _)| (*target, *rank));
        let extra = extra
            .into_iter()
            .map(|(target, _, reason)| (target, reason));
        let mut extra = extra.peekable();

        let task = |customer: &GreetingCustomer, contact: Option<&GreetingContact>, reasons| {
            GreetingTask {
                key: TaskKey::customer(
                    TaskKind::Greeting,
                    customer.id,
                    contact.map(|p| p.id),
                    date,
                ),
                reasons,
            }
        };
        if calendar_reasons.is_empty() {
            // Sparse day: only the people with a birthday or key date.
            while let Some(((pos, contact_id), reason)) = extra.next() {
                let mut reasons = vec![reason];
                while let Some((_, r)) = extra.next_if(|(t, _)| *t == (pos, contact_id)) {
                    reasons.push(r);
                }
                let reasons: Arc<[GreetingReason]> = reasons.into();
                let customer = &customers[customer_order[pos as usize] as usize];
                let contact = contact_id.and_then(|id| {
                    let (s, e) = contacts_of[pos as usize];
                    contact_order[s as usize..e as usize]
                        .iter()
                        .map(|&pi| &contacts[pi as usize])
                        .find(|p| p.id == id)
                });
                tasks.push(task(customer, contact, reasons));
            }
        } else {
            let shared: Arc<[GreetingReason]> = calendar_reasons.as_slice().into();
            tasks.reserve(contacts.len().max(customers.len()));
            for (pos, &ci) in customer_order.iter().enumerate() {
                let customer = &customers[ci as usize];
                let (s, e) = contacts_of[pos];
                let pos = pos as u32;
                let mut emit = |contact: Option<&GreetingContact>| {
                    let target = (pos, contact.map(|p| p.id));
                    let reasons = match extra.next_if(|(t, _)| *t == target) {
                        None => shared.clone(),
                        Some((_, first)) => {
                            let mut reasons = calendar_reasons.clone();
                            reasons.push(first);
                            while let Some((_, r)) = extra.next_if(|(t, _)| *t == target) {
                                reasons.push(r);
                            }
                            reasons.into()
                        }
                    };
                    tasks.push(task(customer, contact, reasons));
                };
                if s == e {
                    emit(None);
                } else {
                    for &pi in &contact_order[s as usize..e as usize] {
                        emit(Some(&contacts[pi as usize]));
                    }
                }
            }
        }
    }
    Ok(tasks)
}

fn unknown_customer(p: &GreetingContact) -> CareError {
    CareError::InvalidParameter {
        name: "contacts",
        detail: format!(
            "contact {} belongs to unknown customer {}",
            p.id, p.customer_id
        ),
    }
}

fn years_since(a: &Anniversary, date: NaiveDate, lunar_date: lunar::LunarDate) -> Option<u32> {
    use chrono::Datelike;
    let year = match a {
        Anniversary::Solar(_) => date.year(),
        Anniversary::Lunar(_) => lunar_date.year(),
    };
    a.origin_year().map(|y| (year - y).max(0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anniversary::{LunarMonthDay, MonthDay};
    use crate::calendar::CalendarConfig;
    use std::collections::HashSet;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn customer(id: i64, key_dates: Vec<KeyDate>) -> GreetingCustomer {
        GreetingCustomer { id, key_dates }
    }

    fn contact(id: i64, customer_id: i64, birthday: Option<Anniversary>) -> GreetingContact {
        GreetingContact {
            id,
            customer_id,
            birthday,
        }
    }

    fn fixture() -> (Vec<GreetingCustomer>, Vec<GreetingContact>) {
        let founded = KeyDate {
            name: "成立纪念日".into(),
            date: Anniversary::Solar(MonthDay::new(10, 1, Some(2016)).unwrap()),
        };
        let customers = vec![
            customer(2, vec![founded.clone()]),
            customer(1, vec![]),
            // No contacts: greeted itself.
            customer(
                3,
                vec![KeyDate {
                    name: "店庆".into(),
                    date: Anniversary::Solar(MonthDay::new(6, 1, None).unwrap()),
                }],
            ),
        ];
        let contacts = vec![
            // Lunar birthday 8-15: in 2026, Mid-Autumn, Sept 25.
            contact(
                11,
                1,
                Some(Anniversary::Lunar(
                    LunarMonthDay::new(8, 15, false, Some(1980)).unwrap(),
                )),
            ),
            contact(10, 1, None),
            contact(
                20,
                2,
                Some(Anniversary::Solar(MonthDay::new(6, 1, None).unwrap())),
            ),
        ];
        (customers, contacts)
    }

    #[test]
    fn one_task_per_contact_per_day_with_all_reasons() {
        let (customers, contacts) = fixture();
        let cal = Calendar::builtin();
        let tasks =
            plan_greetings(&cal, d(2026, 9, 25), d(2026, 9, 25), &customers, &contacts).unwrap();
        let keys: Vec<String> = tasks.iter().map(|t| t.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "greeting:c1:p10:2026-09-25",
                "greeting:c1:p11:2026-09-25",
                "greeting:c2:p20:2026-09-25",
                "greeting:c3:-:2026-09-25"
            ]
        );
        assert_eq!(tasks[1].occasion_zh(), "中秋节、生日");
        assert_eq!(
            tasks[1].reasons[1],
            GreetingReason::Birthday { years: Some(46) }
        );
        assert_eq!(tasks[0].occasion_zh(), "中秋节");
        assert_eq!(tasks[3].contact_id(), None);
        let template = crate::template::Template::parse(
            "尊敬的{联系人}{职务}：祝您{节日}快乐！——{公司名称} {经理姓名}",
        )
        .unwrap();
        let values = template_values(
            &tasks[1].reasons,
            "客户1",
            Some(("联系人11", Some("经理"))),
            "李明",
            "客情科技",
        );
        assert_eq!(
            template.render(&values).unwrap(),
            "尊敬的联系人11经理：祝您中秋节、生日快乐！——客情科技 李明"
        );
        // A contact-less customer is addressed by its name.
        let values = template_values(&tasks[3].reasons, "客户3", None, "李明", "客情科技");
        assert_eq!(
            (values.contact_name.as_str(), values.contact_title.as_str()),
            ("客户3", "")
        );

        // National Day is customer 2's founding day: its contact gets both.
        let tasks =
            plan_greetings(&cal, d(2026, 10, 1), d(2026, 10, 1), &customers, &contacts).unwrap();
        let t = tasks.iter().find(|t| t.contact_id() == Some(20)).unwrap();
        assert_eq!(t.occasion_en(), "National Day, 成立纪念日");
        assert_eq!(
            t.reasons[1],
            GreetingReason::KeyDate {
                name: "成立纪念日".into(),
                years: Some(10)
            }
        );
    }

    #[test]
    fn sparse_days_only_greet_the_people_concerned() {
        let (customers, contacts) = fixture();
        let cal = Calendar::builtin();
        let tasks =
            plan_greetings(&cal, d(2026, 6, 1), d(2026, 6, 1), &customers, &contacts).unwrap();
        let keys: Vec<String> = tasks.iter().map(|t| t.key.to_string()).collect();
        // Contact 20's birthday; customer 3 (no contacts) its shop day.
        assert_eq!(
            keys,
            ["greeting:c2:p20:2026-06-01", "greeting:c3:-:2026-06-01"]
        );
        assert_eq!(tasks[1].occasion_zh(), "店庆");
        assert!(
            plan_greetings(&cal, d(2026, 6, 2), d(2026, 6, 2), &customers, &contacts)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn replanning_creates_nothing_new() {
        let (customers, contacts) = fixture();
        let cal = Calendar::builtin();
        let mut store: HashSet<TaskKey> = HashSet::new();
        let first =
            plan_greetings(&cal, d(2026, 1, 1), d(2026, 12, 31), &customers, &contacts).unwrap();
        let n = first.len();
        store.extend(first.iter().map(|t| t.key));
        assert_eq!(store.len(), n, "keys are unique within a plan");
        // Overlapping range, and a changed calendar: same keys for the same days.
        let config = CalendarConfig {
            disabled: vec!["christmas".into()],
            ..Default::default()
        };
        let again = plan_greetings(
            &Calendar::new(&config).unwrap(),
            d(2026, 6, 1),
            d(2026, 12, 24),
            &customers,
            &contacts,
        )
        .unwrap();
        let before = store.len();
        store.extend(again.iter().map(|t| t.key));
        assert_eq!(store.len(), before);
        // 10 occasions × 4 targets + contact 20's birthday + customer 3's shop day
        // (National Day merges the founding day; Mid-Autumn the lunar birthday).
        assert_eq!(n, 10 * 4 + 2);
    }

    #[test]
    fn duplicate_ids_are_errors() {
        let (mut customers, mut contacts) = fixture();
        let cal = Calendar::builtin();
        let day = d(2026, 1, 1);
        contacts[1].id = contacts[0].id;
        assert!(plan_greetings(&cal, day, day, &customers, &contacts).is_err());
        let (_, contacts) = fixture();
        customers[1].id = customers[0].id;
        assert!(plan_greetings(&cal, day, day, &customers, &contacts).is_err());
    }

    #[test]
    fn unknown_customer_is_an_error() {
        let (customers, mut contacts) = fixture();
        contacts[0].customer_id = 99;
        assert!(matches!(
            plan_greetings(
                &Calendar::builtin(),
                d(2026, 1, 1),
                d(2026, 1, 1),
                &customers,
                &contacts
            ),
            Err(CareError::InvalidParameter { .. })
        ));
    }
}
