//! Rules of the customer archive (SPEC §1): completeness of A-class files, the
//! 15-day change deadline and release to the public pool.

use crate::contact::{Contact, ContactLevel};
use crate::customer::Customer;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A piece of a key customer's file that is missing (000, "客户档案内容齐全").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    CompanyName,
    PersonInCharge,
    DetailedAddress,
    CompanyPhone,
    PersonInChargeMobile,
}

impl Missing {
    pub fn label_zh(self) -> &'static str {
        match self {
            Missing::CompanyName => "单位名称",
            Missing::PersonInCharge => "主要负责人",
            Missing::DetailedAddress => "详细地址",
            Missing::CompanyPhone => "单位电话",
            Missing::PersonInChargeMobile => "负责人手机",
        }
    }
}

/// Whether the rule applies: A-class customers and those marked key (重点客户).
pub fn needs_complete_file(c: &Customer) -> bool {
    c.fields.class.as_deref() == Some("A") || c.fields.key_customer
}

/// What an A-class file lacks: company name, main person in charge, a detailed
/// address, a company phone and that person's mobile (000).
pub fn missing_fields(c: &Customer, contacts: &[Contact]) -> Vec<Missing> {
    let mut out = vec![];
    if c.fields.name.trim().is_empty() {
        out.push(Missing::CompanyName);
    }
    let alive = contacts.iter().filter(|k| k.deleted_at.is_none());
    let head = alive
        .clone()
        .find(|k| k.fields.level == Some(ContactLevel::PersonInCharge))
        .or_else(|| {
            alive
                .clone()
                .find(|k| k.fields.level == Some(ContactLevel::DecisionMaker))
        });
    // A detailed address names more than the city: at least 6 characters.
    if c.fields
        .address
        .as_ref()
        .is_none_or(|a| a.chars().count() < 6)
    {
        out.push(Missing::DetailedAddress);
    }
    if c.fields.phone.is_none() {
        out.push(Missing::CompanyPhone);
    }
    match head {
        None => {
            out.push(Missing::PersonInCharge);
            out.push(Missing::PersonInChargeMobile);
        }
        Some(h) if h.fields.mobile.is_none() => out.push(Missing::PersonInChargeMobile),
        Some(_) => {}
    }
    out.sort_by_key(|m| *m as u8);
    out
}

/// Days a reported change may wait before the file must be updated (000: 15日内调整登记表).
pub const CHANGE_DEADLINE_DAYS: i64 = 15;

pub fn change_due(reported: NaiveDate) -> NaiveDate {
    reported + Duration::days(CHANGE_DEADLINE_DAYS)
}

/// Overdue when today is past the due day and the change is not registered.
pub fn change_overdue(
    reported: NaiveDate,
    registered: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    registered.is_none() && today > change_due(reported)
}

/// Public-pool rules (公海): days without follow-up before release, per class.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PoolRules {
    pub default_days: i64,
    #[serde(default)]
    pub days_by_class: BTreeMap<String, i64>,
    /// The most customers one manager may own; a claim beyond it is refused.
    pub max_owned: i64,
}

impl Default for PoolRules {
    fn default() -> Self {
        PoolRules {
            default_days: 30,
            days_by_class: BTreeMap::new(),
            max_owned: 300,
        }
    }
}

impl PoolRules {
    pub fn days_for(&self, class: Option<&str>) -> i64 {
        class
            .and_then(|c| self.days_by_class.get(c))
            .copied()
            .unwrap_or(self.default_days)
    }

    /// The moment before which a customer's last follow-up releases it.
    pub fn cutoff(&self, class: Option<&str>, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(self.days_for(class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_day_deadline() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(
            change_due(d),
            NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
        );
        assert!(!change_overdue(
            d,
            None,
            NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
        ));
        assert!(change_overdue(
            d,
            None,
            NaiveDate::from_ymd_opt(2026, 11, 17).unwrap()
        ));
        assert!(!change_overdue(
            d,
            Some(d),
            NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()
        ));
    }

    #[test]
    fn pool_days_per_class() {
        let mut r = PoolRules::default();
        r.days_by_class.insert("A".into(), 60);
        assert_eq!(r.days_for(Some("A")), 60);
        assert_eq!(r.days_for(Some("C")), 30);
        assert_eq!(r.days_for(None), 30);
    }
}
