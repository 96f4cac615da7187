//! The customer file (客户档案, SPEC §1).

use crate::error::{Collector, ValidationError};
use crate::fields::Fields;
use crate::phone::{Email, Phone};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

labeled_enum!(CustomerKind {
    Company = "company", "公司", "企业", "单位", "公司客户", "企业客户", "单位客户";
    Individual = "individual", "个人", "个人客户";
});

labeled_enum!(
    /// Company type (企业性质).
    CompanyType {
    StateOwned = "state_owned", "国有", "国企", "国有企业";
    Private = "private", "民营", "民企", "私营";
    Foreign = "foreign", "外资", "外企";
    Institution = "institution", "事业单位", "事业";
    Government = "government", "政府", "政府机关";
    Other = "other", "其他";
});

labeled_enum!(
    /// Where the customer came from (客户来源, 002).
    Source {
    Referral = "referral", "亲友介绍", "介绍", "转介绍";
    Advertising = "advertising", "广告";
    Media = "media", "媒体";
    WalkIn = "walk_in", "上门", "自然进店", "walk-in";
    Other = "other", "其他";
});

labeled_enum!(
    /// Lifecycle stage (002).
    LifecycleStage {
    ToIdentify = "to_identify", "待识别";
    Potential = "potential", "潜在客户", "潜在";
    Opportunity = "opportunity", "销售机会";
    OrderCustomer = "order_customer", "订单客户";
    User = "user", "用户";
});

labeled_enum!(
    /// Business stage used by the care rules (000 article 3).
    BusinessStage {
    New = "new", "新开发", "新客户";
    Intent = "intent", "意向", "意向客户";
    Existing = "existing", "老客户";
});

/// 客情关系卡 (000): what a manager must know by heart about a customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelationshipCard {
    /// 兴趣爱好
    pub interests: Option<String>,
    /// 近期的喜怒哀乐
    pub recent_events: Option<String>,
    /// 业务进展
    pub business_progress: Option<String>,
    /// 禁忌与习俗
    pub taboos: Option<String>,
    /// The company forbids gifts (000): no gift is ever suggested.
    pub gifts_forbidden: bool,
    pub gift_policy: Option<String>,
    /// 方便联系的时间
    pub preferred_contact_time: Option<String>,
}

impl RelationshipCard {
    /// The card's free texts by field name.
    pub fn texts(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("interests", self.interests.as_deref()),
            ("recent_events", self.recent_events.as_deref()),
            ("business_progress", self.business_progress.as_deref()),
            ("taboos", self.taboos.as_deref()),
            ("gift_policy", self.gift_policy.as_deref()),
            (
                "preferred_contact_time",
                self.preferred_contact_time.as_deref(),
            ),
        ]
    }
}

/// A date that matters to a customer company (founding day, anniversary…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyDate {
    pub name: String,
    pub date: NaiveDate,
    /// True when the date is a lunar one (stored as the lunar month and day in `date`).
    #[serde(default)]
    pub lunar: bool,
}

/// Every field of a customer a user can set. Parsed as a whole from JSON (API,
/// import rows, patches) with every wrong field reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerInput {
    pub name: String,
    pub kind: CustomerKind,
    pub company_type: Option<CompanyType>,
    pub industry: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub address: Option<String>,
    pub phone: Option<Phone>,
    pub website: Option<String>,
    pub email: Option<Email>,
    /// 统一社会信用代码 or another external code; links a company's accounts (001).
    pub external_code: Option<String>,
    pub source: Option<Source>,
    pub referrer_id: Option<i64>,
    pub stage: LifecycleStage,
    pub business_stage: BusinessStage,
    /// ABC / value class (A, B, C, D) as computed by the analysis engine or set by hand.
    pub class: Option<String>,
    pub tier: Option<String>,
    pub tags: Vec<String>,
    pub key_customer: bool,
    pub card: RelationshipCard,
    pub key_dates: Vec<KeyDate>,
    pub custom: BTreeMap<String, Value>,
    pub parent_id: Option<i64>,
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: i64,
    /// Optimistic concurrency: every update must name the version it read.
    pub version: i64,
    #[serde(flatten)]
    pub fields: CustomerInput,
    /// The responsible customer manager; `None` means the public pool (公海).
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub rfm_class: Option<String>,
    /// Discounted customer lifetime value in yuan (a decimal string), from the analysis.
    pub clv: Option<String>,
    /// P(alive): the probability that the customer is still buying (BG/NBD, 0..=1).
    pub p_alive: Option<f64>,
    pub last_follow_up_at: Option<DateTime<Utc>>,
    /// When the customer last bought (the latest of its orders).
    pub last_order_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub merged_into: Option<i64>,
}

const CLASSES: [&str; 4] = ["A", "B", "C", "D"];

/// Field names accepted in customer input, in the order exports use.
pub const CUSTOMER_FIELDS: &[&str] = &[
    "name",
    "kind",
    "company_type",
    "industry",
    "province",
    "city",
    "district",
    "address",
    "phone",
    "website",
    "email",
    "external_code",
    "source",
    "referrer_id",
    "stage",
    "business_stage",
    "class",
    "tier",
    "tags",
    "key_customer",
    "card",
    "key_dates",
    "custom",
    "parent_id",
];

/// Reads an optional one-line string: absent, null and blank are all
/// "none"; control characters, line breaks, direction overrides and a text
/// of invisible characters only are refused ([`crate::text`]).
pub(crate) fn opt_text(v: Option<&Value>) -> Result<Option<String>, String> {
    read_text(v, false)
}

/// [`opt_text`] for a field that may hold several lines (a note).
pub(crate) fn opt_lines(v: Option<&Value>) -> Result<Option<String>, String> {
    read_text(v, true)
}

fn read_text(v: Option<&Value>, multiline: bool) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            crate::text::check_text(s, multiline)?;
            Ok(Some(s.to_string()))
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("应为文本 expected text, got {other}")),
    }
}

pub(crate) fn opt_id(v: Option<&Value>) -> Result<Option<i64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("不是有效的ID not an id: {n}")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("不是有效的ID not an id: {s:?}")),
        Some(other) => Err(format!("不是有效的ID not an id: {other}")),
    }
}

pub(crate) fn flag(v: Option<&Value>) -> Result<bool, String> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" | "n" | "否" | "不是" => Ok(false),
            "1" | "true" | "yes" | "y" | "是" => Ok(true),
            other => Err(format!("应填“是”或“否” expected yes/no, got {other:?}")),
        },
        Some(Value::Number(n)) => Ok(n.as_i64() != Some(0)),
        Some(other) => Err(format!("应填“是”或“否” expected yes/no, got {other}")),
    }
}

pub(crate) fn parse_with<T, E: std::fmt::Display>(
    v: Option<&Value>,
    f: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, String> {
    match opt_text(v)? {
        None => Ok(None),
        Some(s) => f(&s).map(Some).map_err(|e| e.to_string()),
    }
}

fn tags(v: Option<&Value>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = match v {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) => s
            .split([',', '，', ';', '；', '、', '\n', '\r'])
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        Some(Value::Array(items)) => {
            let mut out = vec![];
            for it in items {
                match it {
                    Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                    other => {
                        return Err(format!(
                            "标签不能为空 a tag must be non-empty text, got {other}"
                        ))
                    }
                }
            }
            out
        }
        Some(other) => Err(format!("标签应为列表 expected a list of tags, got {other}"))?,
    };
    out.dedup();
    for t in &out {
        crate::text::check_text(t, false).map_err(|m| format!("标签 tag {t:?}: {m}"))?;
    }
    if out.iter().any(|t| t.chars().count() > 32) {
        return Err("标签不能超过32个字 a tag has more than 32 characters".into());
    }
    Ok(out)
}

impl CustomerInput {
    /// Parses a whole customer from a JSON object; every invalid field is reported.
    pub fn from_json(obj: &Map<String, Value>) -> Result<CustomerInput, ValidationError> {
        CustomerInput::from_fields(obj)
    }

    /// [`CustomerInput::from_json`] reading the members from any [`Fields`]: a
    /// file's row gives them without building a JSON object.
    pub fn from_fields(obj: &(impl Fields + ?Sized)) -> Result<CustomerInput, ValidationError> {
        let mut c = Collector::default();
        obj.each_name(&mut |key| {
            if !CUSTOMER_FIELDS.contains(&key) {
                c.push(key, "未知字段 unknown field");
            }
        });
        let g = |k: &str| obj.field(k);
        let name_read = opt_text(g("name"));
        let name_bad = name_read.is_err();
        let name = c.take("name", name_read).flatten();
        match &name {
            None if name_bad => {}
            None => c.push("name", "缺少客户名称 a customer needs a name"),
            Some(n) if n.chars().count() > 200 => {
                c.push("name", "客户名称不能超过200个字 longer than 200 characters")
            }
            _ => {}
        }
        let kind = c
            .take("kind", parse_with(g("kind"), CustomerKind::parse))
            .flatten()
            .unwrap_or(CustomerKind::Company);
        let class = c
            .take("class", opt_text(g("class")))
            .flatten()
            // A 类, A类客户 and ａ read as A.
            .map(|s| {
                let s = s.trim_end_matches("客户").trim_end_matches('类').trim();
                s.chars()
                    .map(|c| match c {
                        'ａ'..='ｚ' | 'Ａ'..='Ｚ' => {
                            char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                        }
                        c => c,
                    })
                    .collect::<String>()
                    .to_ascii_uppercase()
            });
        if let Some(cl) = &class {
            if !CLASSES.contains(&cl.as_str()) {
                c.push(
                    "class",
                    format!("客户分类只能是A、B、C或D class must be A, B, C or D, got {cl:?}"),
                );
            }
        }
        let website = c.take("website", opt_text(g("website"))).flatten();
        if let Some(w) = &website {
            if w.contains(char::is_whitespace) || !w.contains('.') {
                c.push(
                    "website",
                    format!("网址格式不正确 not a web address: {w:?}"),
                );
            }
        }
        let card = match g("card") {
            None | Some(Value::Null) => Some(RelationshipCard::default()),
            Some(v) => {
                // A spreadsheet cell says 是 / 否: the flag reads text as key_customer does.
                let mut v = v.clone();
                let gifts = v.get("gifts_forbidden").filter(|g| g.is_string()).cloned();
                if let Some(g) = gifts {
                    // A bad flag is reported once, on its own field.
                    let b = c
                        .take("card.gifts_forbidden", flag(Some(&g)))
                        .unwrap_or(false);
                    v["gifts_forbidden"] = Value::Bool(b);
                }
                c.take(
                    "card",
                    serde_json::from_value::<RelationshipCard>(v)
                        .map_err(|e| format!("客情关系卡格式不正确 bad relationship card: {e}")),
                )
            }
        };
        if let Some(card) = &card {
            for (field, text) in card.texts() {
                if let Some(t) = text {
                    if let Some(m) = crate::text::text_problem(t, true) {
                        c.push(format!("card.{field}"), m);
                    }
                }
            }
        }
        let key_dates = match g("key_dates") {
            None | Some(Value::Null) => Some(vec![]),
            Some(v) => c.take(
                "key_dates",
                serde_json::from_value::<Vec<KeyDate>>(v.clone())
                    .map_err(|e| format!("重要日期格式不正确 bad key dates: {e}")),
            ),
        };
        for (i, d) in key_dates.iter().flatten().enumerate() {
            if let Some(m) = crate::text::text_problem(d.name.trim(), false) {
                c.push(format!("key_dates[{i}].name"), m);
            }
        }
        let custom = match g("custom") {
            None | Some(Value::Null) => Some(BTreeMap::new()),
            Some(Value::Object(m)) => Some(m.clone().into_iter().collect()),
            Some(other) => {
                c.push(
                    "custom",
                    format!("自定义字段应为对象 expected an object, got {other}"),
                );
                None
            }
        };
        let input = CustomerInput {
            name: name.clone().unwrap_or_default(),
            kind,
            company_type: c
                .take(
                    "company_type",
                    parse_with(g("company_type"), CompanyType::parse),
                )
                .flatten(),
            industry: c.take("industry", opt_text(g("industry"))).flatten(),
            province: c.take("province", opt_text(g("province"))).flatten(),
            city: c.take("city", opt_text(g("city"))).flatten(),
            district: c.take("district", opt_text(g("district"))).flatten(),
            address: c.take("address", opt_lines(g("address"))).flatten(),
            phone: c
                .take("phone", parse_with(g("phone"), Phone::parse))
                .flatten(),
            website,
            email: c
                .take("email", parse_with(g("email"), Email::parse))
                .flatten(),
            external_code: c
                .take("external_code", opt_text(g("external_code")))
                .flatten()
                .map(|s| s.to_ascii_uppercase()),
            source: c
                .take("source", parse_with(g("source"), Source::parse))
                .flatten(),
            referrer_id: c.take("referrer_id", opt_id(g("referrer_id"))).flatten(),
            stage: c
                .take("stage", parse_with(g("stage"), LifecycleStage::parse))
                .flatten()
                .unwrap_or(LifecycleStage::ToIdentify),
            business_stage: c
                .take(
                    "business_stage",
                    parse_with(g("business_stage"), BusinessStage::parse),
                )
                .flatten()
                .unwrap_or(BusinessStage::New),
            class,
            tier: c.take("tier", opt_text(g("tier"))).flatten(),
            tags: c.take("tags", tags(g("tags"))).unwrap_or_default(),
            key_customer: c
                .take("key_customer", flag(g("key_customer")))
                .unwrap_or(false),
            card: card.unwrap_or_default(),
            key_dates: key_dates.unwrap_or_default(),
            custom: custom.unwrap_or_default(),
            parent_id: c.take("parent_id", opt_id(g("parent_id"))).flatten(),
        };
        c.finish()?;
        Ok(input)
    }

    /// The input as a JSON object: the form history and patches work on.
    pub fn to_json(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    /// Applies a JSON merge patch (RFC 7386 at the top level: a present key
    /// replaces the field, `null` clears it) and re-validates the result.
    pub fn patched(&self, patch: &Map<String, Value>) -> Result<CustomerInput, ValidationError> {
        let mut m = self.to_json();
        for (k, v) in patch {
            m.insert(k.clone(), v.clone());
        }
        CustomerInput::from_json(&m)
    }

    /// The key that marks two files as the same customer: normalised name + phone (SPEC §1).
    pub fn dedup_key(&self) -> Option<String> {
        self.phone.as_ref().map(|p| {
            let mut key = normalise_name(&self.name);
            key.reserve(p.as_str().len() + 1);
            key.push('|');
            key.extend(p.digit_chars());
            key
        })
    }
}

/// Name normalised for duplicate detection: full-width to half-width,
/// lower-case, without spaces and punctuation.
pub fn normalise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        // The common characters without a look-up in Unicode's tables (an
        // import normalises a million names): ASCII, and the CJK unified
        // ideographs, which are letters without case.
        match c {
            'a'..='z' | '0'..='9' | '\u{4E00}'..='\u{9FFF}' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            _ if c.is_ascii() => {}
            _ if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn names_normalise_as_unicode_says() {
        // The definition, without the fast paths.
        let plain = |name: &str| -> String {
            name.chars()
                .map(|c| match c {
                    '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                    _ => c,
                })
                .filter(|c| c.is_alphanumeric())
                .flat_map(|c| c.to_lowercase())
                .collect()
        };
        for name in [
            "江苏恒远钢业有限公司",
            "ＡＢＣ　贸易（南京）",
            "Hello, World-42!",
            "Ωμέγα ΣΟΦΙΑ",
            "㐀䶵 龥 𠀀",
            "İstanbul ǅ",
            "",
        ] {
            assert_eq!(normalise_name(name), plain(name), "{name}");
        }
        assert_eq!(normalise_name("ＡＢＣ　贸易（南京）"), "abc贸易南京");
    }

    #[test]
    fn a_customer_needs_a_name_and_reports_every_bad_field() {
        let err = CustomerInput::from_json(&obj(json!({
            "phone": "123", "email": "x", "class": "Z", "colour": "red"
        })))
        .unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        for f in ["name", "phone", "email", "class", "colour"] {
            assert!(fields.contains(&f), "{f} missing in {fields:?}");
        }
        // Chinese first, then the English words (users read the first; logs grep the second).
        for e in &err.errors {
            assert!(
                e.message
                    .starts_with(|c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
                "{e:?}"
            );
        }
        assert!(err
            .errors
            .iter()
            .any(|e| e.message == "缺少客户名称 a customer needs a name"));
        assert!(err
            .errors
            .iter()
            .any(|e| e.message == "未知字段 unknown field"));
    }

    #[test]
    fn chinese_labels_parse() {
        let c = CustomerInput::from_json(&obj(json!({
            "name": "江苏恒远钢业有限公司", "company_type": "民营", "source": "亲友介绍",
            "stage": "潜在客户", "business_stage": "老客户", "tags": "钢材,重点", "key_customer": "是"
        })))
        .unwrap();
        assert_eq!(c.company_type, Some(CompanyType::Private));
        assert_eq!(c.source, Some(Source::Referral));
        assert_eq!(c.stage, LifecycleStage::Potential);
        assert_eq!(c.business_stage, BusinessStage::Existing);
        assert_eq!(c.tags, vec!["钢材", "重点"]);
        assert!(c.key_customer);
    }

    #[test]
    fn patch_replaces_and_clears() {
        let c = CustomerInput::from_json(&obj(
            json!({"name": "甲", "city": "南京", "phone": "13812345678"}),
        ))
        .unwrap();
        let p = c
            .patched(&obj(json!({"city": null, "industry": "钢铁"})))
            .unwrap();
        assert_eq!(p.city, None);
        assert_eq!(p.industry.as_deref(), Some("钢铁"));
        assert_eq!(p.phone, c.phone);
        assert!(c.patched(&obj(json!({"name": ""}))).is_err());
    }

    #[test]
    fn dedup_key_ignores_spacing_and_width() {
        let a = CustomerInput::from_json(&obj(
            json!({"name": "恒远 钢业（南京）", "phone": "138-1234-5678"}),
        ))
        .unwrap();
        let b = CustomerInput::from_json(&obj(
            json!({"name": "恒远钢业(南京)", "phone": "+86 13812345678"}),
        ))
        .unwrap();
        assert_eq!(a.dedup_key(), b.dedup_key());
    }
}
