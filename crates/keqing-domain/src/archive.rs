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

/// Public-pool rules (公海, SPEC §1): days without follow-up before release,
/// per class, and the claim limit. A deployment's are a setting an
/// administrator changes (`keqing_app::pool`); these are the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PoolRules {
    /// Days without follow-up before a customer of no listed class is released.
    pub default_days: i64,
    /// Days for a class (A, B, C, D) that differs from the default.
    #[serde(default)]
    pub days_by_class: BTreeMap<String, i64>,
    /// The most customers one manager may own; a claim beyond it is refused.
    pub max_owned: i64,
}

/// The most days a pool rule may wait (ten years).
pub const POOL_DAYS_MAX: i64 = 3650;
/// The highest claim limit.
pub const POOL_OWNED_MAX: i64 = 1_000_000;
/// The longest reason of a transfer or a release by hand, in characters.
pub const HAND_OVER_REASON_MAX: usize = 200;

/// Why customers are handed over or released by hand: required, trimmed,
/// at most [`HAND_OVER_REASON_MAX`] characters.
pub fn hand_over_reason(text: Option<&str>) -> Result<String, crate::ValidationError> {
    let t = text.unwrap_or("").trim();
    if t.is_empty() {
        return Err(crate::ValidationError::one(
            "reason",
            "请填写原因 give a reason (it is kept in the customer's ownership history)",
        ));
    }
    if t.chars().count() > HAND_OVER_REASON_MAX {
        return Err(crate::ValidationError::one(
            "reason",
            format!("原因最多{HAND_OVER_REASON_MAX}个字 at most {HAND_OVER_REASON_MAX} characters"),
        ));
    }
    Ok(t.to_string())
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
    /// Refuses days outside 1..=[`POOL_DAYS_MAX`], a class other than A–D
    /// and a claim limit outside 1..=[`POOL_OWNED_MAX`], naming each field.
    pub fn check(&self) -> Result<(), crate::ValidationError> {
        let mut c = crate::error::Collector::default();
        let days = |d: i64| (1..=POOL_DAYS_MAX).contains(&d);
        let days_msg =
            format!("天数应为1到{POOL_DAYS_MAX} days must be between 1 and {POOL_DAYS_MAX}");
        if !days(self.default_days) {
            c.push("default_days", days_msg.clone());
        }
        for (class, d) in &self.days_by_class {
            if !["A", "B", "C", "D"].contains(&class.as_str()) {
                c.push(
                    format!("days_by_class.{class}"),
                    "客户等级应为 A、B、C 或 D the class must be A, B, C or D",
                );
            } else if !days(*d) {
                c.push(format!("days_by_class.{class}"), days_msg.clone());
            }
        }
        if !(1..=POOL_OWNED_MAX).contains(&self.max_owned) {
            c.push(
                "max_owned",
                format!("认领上限应为1到{POOL_OWNED_MAX} the claim limit must be between 1 and {POOL_OWNED_MAX}"),
            );
        }
        c.finish()
    }

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
    fn pool_rules_are_checked_field_by_field() {
        assert!(PoolRules::default().check().is_ok());
        let mut r = PoolRules {
            default_days: 0,
            max_owned: 0,
            ..Default::default()
        };
        r.days_by_class.insert("A".into(), 90);
        r.days_by_class.insert("B".into(), 5000);
        r.days_by_class.insert("Z".into(), 10);
        let e = r.check().unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "default_days",
                "days_by_class.B",
                "days_by_class.Z",
                "max_owned"
            ]
        );
        assert!(e.errors.iter().all(|f| !f.message.is_ascii()));
    }

    #[test]
    fn a_hand_over_needs_a_reason() {
        assert_eq!(hand_over_reason(Some("  离职交接 ")).unwrap(), "离职交接");
        assert_eq!(
            hand_over_reason(None).unwrap_err().errors[0].field,
            "reason"
        );
        assert!(hand_over_reason(Some("   ")).is_err());
        assert!(hand_over_reason(Some(&"长".repeat(201))).is_err());
    }

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
