//! Custom profile fields defined per deployment (SPEC §1: a salon's skin
//! file, a hotel's guest preferences): typed (text, number, date, single
//! choice, multi choice), validated, searchable. A customer's values live in
//! `CustomerInput::custom` under each definition's key; keys without a
//! definition are kept as given (rules such as the order weekdays of the care
//! engine use their own keys).

use crate::error::{FieldError, ValidationError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FieldKind {
    Text,
    Number,
    /// A solar date, stored as `YYYY-MM-DD`.
    Date,
    Choice {
        options: Vec<String>,
    },
    MultiChoice {
        options: Vec<String>,
    },
}

impl FieldKind {
    pub fn label_zh(&self) -> &'static str {
        match self {
            FieldKind::Text => "文本",
            FieldKind::Number => "数字",
            FieldKind::Date => "日期",
            FieldKind::Choice { .. } => "单选",
            FieldKind::MultiChoice { .. } => "多选",
        }
    }
}

/// One custom field of the customer file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomFieldDef {
    /// The key under `custom`: a lower-case letter, then letters, digits or `_`.
    pub key: String,
    /// What users see (肤质, 房型偏好).
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
}

fn valid_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Checks a whole set of definitions: keys well-formed and unique, labels
/// given and unique, choice options given and unique. Fields are reported as
/// `fields[i].key` and so on.
pub fn check_definitions(defs: &[CustomFieldDef]) -> Result<(), ValidationError> {
    let mut errors = vec![];
    let mut keys = BTreeSet::new();
    let mut labels = BTreeSet::new();
    let mut err = |i: usize, f: &str, m: String| {
        errors.push(FieldError {
            field: format!("fields[{i}].{f}"),
            message: m,
        })
    };
    for (i, d) in defs.iter().enumerate() {
        if !valid_key(&d.key) {
            err(i, "key", format!("字段标识格式不正确 {:?}: a key is a lower-case letter, then lower-case letters, digits or _ (at most 40)", d.key));
        } else if !keys.insert(d.key.as_str()) {
            err(
                i,
                "key",
                format!("字段标识重复 {:?} is defined twice", d.key),
            );
        }
        let label = d.label.trim();
        if label.is_empty() {
            err(i, "label", "缺少字段名称 a field needs a label".into());
        } else if !labels.insert(label) {
            err(i, "label", format!("字段名称重复 {label:?} is used twice"));
        }
        if let FieldKind::Choice { options } | FieldKind::MultiChoice { options } = &d.kind {
            if options.iter().all(|o| o.trim().is_empty()) {
                err(i, "options", "缺少选项 a choice needs options".into());
            }
            let mut seen = BTreeSet::new();
            for o in options {
                if o.trim().is_empty() || !seen.insert(o.trim()) {
                    err(
                        i,
                        "options",
                        format!("选项为空或重复 option {o:?} is empty or given twice"),
                    );
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { errors })
    }
}

/// Parses a date as users type it: 2025-03-01, 2025/3/1, 20250301, and as
/// Chinese spreadsheets write it, 2025.3.1 and 2025年3月1日.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// What separates the options of a multi choice written in one text (a
/// spreadsheet cell, or a string sent to the API), the ways Chinese users
/// write a list: the enumeration comma 、, commas and semicolons, slashes and
/// bars (each half- or full-width: `,` `，` `;` `；` `/` `／` `|` `｜`) and line
/// breaks (Alt+Enter in an Excel cell). Spaces do not separate: an option
/// may hold one (`T区 偏油`).
pub const CHOICE_SEPARATORS: &[char] =
    &['、', ',', '，', ';', '；', '/', '／', '|', '｜', '\n', '\r'];

/// The options written in one text, split at [`CHOICE_SEPARATORS`], each
/// trimmed. An option that itself holds a separator (`油性/混合`) is read
/// whole where it is written out, the longest such option first.
pub fn split_choices<'a>(options: &[String], text: &'a str) -> Vec<&'a str> {
    let is_sep = |c: char| CHOICE_SEPARATORS.contains(&c);
    let mut out = vec![];
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || is_sep(c));
        if rest.is_empty() {
            return out;
        }
        let whole = options
            .iter()
            .filter(|o| o.contains(is_sep) && rest.starts_with(o.as_str()))
            .filter(|o| {
                rest[o.len()..]
                    .trim_start()
                    .chars()
                    .next()
                    .is_none_or(is_sep)
            })
            .map(String::len)
            .max();
        let end = whole.unwrap_or_else(|| rest.find(is_sep).unwrap_or(rest.len()));
        out.push(rest[..end].trim());
        rest = &rest[end..];
    }
}

/// A stored value as a user writes it in a cell, which [`normalise_value`]
/// reads back to the same value: text and dates as they are, numbers in
/// plain digits, a multi choice joined with 、 (or, when an option of the
/// field holds 、, the first of `,` `;` `|` `/` that none holds).
pub fn value_text(def: &CustomFieldDef, v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let options = match &def.kind {
                FieldKind::MultiChoice { options } | FieldKind::Choice { options } => {
                    options.as_slice()
                }
                _ => &[],
            };
            let sep = ['、', ',', ';', '|', '/']
                .into_iter()
                .find(|c| !options.iter().any(|o| o.contains(*c)))
                .unwrap_or('、');
            items
                .iter()
                .map(|x| value_text(def, x))
                .collect::<Vec<_>>()
                .join(&sep.to_string())
        }
        other => other.to_string(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// One value for a definition, normalised (a number typed as text becomes a
/// number, a date `YYYY-MM-DD`, a multi choice a list), or why not.
pub fn normalise_value(def: &CustomFieldDef, v: &Value) -> Result<Value, String> {
    match (&def.kind, v) {
        (FieldKind::Text, Value::String(s)) => {
            crate::text::check_text(s.trim(), true)?;
            Ok(Value::String(s.trim().to_string()))
        }
        (FieldKind::Text, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (FieldKind::Number, Value::Number(_)) => Ok(v.clone()),
        (FieldKind::Number, Value::String(s)) => {
            let t = s.trim().replace([',', '，'], "");
            if let Ok(i) = t.parse::<i64>() {
                return Ok(Value::from(i));
            }
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("不是数字 {s:?} is not a number"))
        }
        (FieldKind::Date, Value::String(s)) => parse_date(s)
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .ok_or_else(|| format!("日期格式不正确 {s:?} is not a date (2025-03-01)")),
        (FieldKind::Choice { options }, Value::String(s)) => {
            let s = s.trim();
            if options.iter().any(|o| o == s) {
                Ok(Value::String(s.to_string()))
            } else {
                Err(format!(
                    "不在可选项中 {s:?} is not one of {}",
                    options.join("、")
                ))
            }
        }
        (FieldKind::MultiChoice { options }, _) => {
            let items: Vec<String> = match v {
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => Ok(s.trim().to_string()),
                        other => Err(format!("不是有效选项 {other} is not an option")),
                    })
                    .collect::<Result<_, _>>()?,
                // A spreadsheet cell: 干性、敏感, 干性,敏感, 干性/敏感…
                Value::String(s) => split_choices(options, s)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                other => {
                    return Err(format!(
                        "应为选项列表 expected a list of options, got {other}"
                    ))
                }
            };
            let mut out: Vec<String> = vec![];
            for it in items {
                if !options.contains(&it) {
                    return Err(format!(
                        "不在可选项中 {it:?} is not one of {}",
                        options.join("、")
                    ));
                }
                if !out.contains(&it) {
                    out.push(it);
                }
            }
            Ok(Value::from(out))
        }
        (kind, other) => Err(format!(
            "应为{} expected {}, got {other}",
            kind.label_zh(),
            kind_name(kind)
        )),
    }
}

fn kind_name(k: &FieldKind) -> &'static str {
    match k {
        FieldKind::Text => "text",
        FieldKind::Number => "number",
        FieldKind::Date => "date",
        FieldKind::Choice { .. } => "choice",
        FieldKind::MultiChoice { .. } => "multi_choice",
    }
}

/// Checks and normalises a customer's custom values against the
/// definitions. Empty values are dropped; a required field must have one.
/// Errors name the field as `custom.KEY`.
pub fn check_values(
    defs: &[CustomFieldDef],
    custom: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, ValidationError> {
    let mut out = BTreeMap::new();
    let mut errors = vec![];
    for (k, v) in custom {
        match defs.iter().find(|d| &d.key == k) {
            None => {
                out.insert(k.clone(), v.clone());
            }
            Some(_) if is_empty(v) => {}
            Some(d) => match normalise_value(d, v) {
                Ok(n) => {
                    out.insert(k.clone(), n);
                }
                Err(m) => errors.push(FieldError {
                    field: format!("custom.{k}"),
                    message: format!("{}: {m}", d.label),
                }),
            },
        }
    }
    for d in defs.iter().filter(|d| d.required) {
        if !out.contains_key(&d.key)
            && !errors
                .iter()
                .any(|e| e.field == format!("custom.{}", d.key))
        {
            errors.push(FieldError {
                field: format!("custom.{}", d.key),
                message: format!("{}: 必填 required", d.label),
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ValidationError { errors })
    }
}

/// Definitions from their stored JSON form (`{"fields": [...]}`).
pub fn definitions_from_json(v: &Value) -> Result<Vec<CustomFieldDef>, ValidationError> {
    let fields = v.get("fields").cloned().unwrap_or(Value::Array(vec![]));
    let defs: Vec<CustomFieldDef> = serde_json::from_value(fields).map_err(|e| {
        ValidationError::one(
            "fields",
            format!("自定义字段定义格式不正确 bad field definitions: {e}"),
        )
    })?;
    check_definitions(&defs)?;
    Ok(defs)
}

pub fn definitions_to_json(defs: &[CustomFieldDef]) -> Value {
    let mut m = Map::new();
    m.insert(
        "fields".into(),
        serde_json::to_value(defs).unwrap_or(Value::Array(vec![])),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<CustomFieldDef> {
        definitions_from_json(&json!({"fields": [
            {"key": "skin", "label": "肤质", "type": "choice", "options": ["干性", "油性", "混合"], "required": true},
            {"key": "concerns", "label": "护理需求", "type": "multi_choice", "options": ["补水", "美白", "抗衰"]},
            {"key": "visits", "label": "到店次数", "type": "number"},
            {"key": "first_visit", "label": "首次到店", "type": "date"},
            {"key": "note", "label": "备注", "type": "text"}
        ]}))
        .unwrap()
    }

    fn vals(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn values_are_normalised() {
        let got = check_values(
            &defs(),
            &vals(json!({"skin": "干性", "concerns": "补水、美白、补水", "visits": "1,200",
                         "first_visit": "2025/3/1", "note": 42, "order_weekdays": [1, 3], "extra": ""})),
        )
        .unwrap();
        assert_eq!(
            Value::Object(got.into_iter().collect()),
            json!({"skin": "干性", "concerns": ["补水", "美白"], "visits": 1200,
                   "first_visit": "2025-03-01", "note": "42", "order_weekdays": [1, 3], "extra": ""})
        );
    }

    #[test]
    fn every_bad_value_is_named() {
        let e = check_values(
            &defs(),
            &vals(json!({"concerns": ["补水", "瘦身"], "visits": "很多", "first_visit": "2025-02-30", "note": [1]})),
        )
        .unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "custom.concerns",
                "custom.first_visit",
                "custom.note",
                "custom.visits",
                "custom.skin"
            ]
        );
        assert!(e.errors[0].message.contains("瘦身"), "{:?}", e.errors[0]);
        assert!(e.errors[4].message.contains("required"));
    }

    #[test]
    fn a_multi_choice_is_split_the_ways_chinese_users_write_lists() {
        let d = &defs()[1];
        for cell in [
            "补水、美白",
            "补水,美白",
            "补水，美白",
            "补水;美白",
            "补水；美白",
            "补水/美白",
            "补水／美白",
            "补水|美白",
            "补水｜美白",
            "补水\n美白",
            " 补水 、、 美白 ,",
        ] {
            assert_eq!(
                normalise_value(d, &json!(cell)),
                Ok(json!(["补水", "美白"])),
                "{cell:?}"
            );
        }
        // A space is part of an option, not a separator.
        assert!(normalise_value(d, &json!("补水 美白")).is_err());
        // An option holding a separator is read whole where it is written.
        let opts: Vec<String> = ["油性/混合", "油性", "混合", "敏感"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            split_choices(&opts, "油性/混合、敏感/油性"),
            ["油性/混合", "敏感", "油性"]
        );
        assert_eq!(split_choices(&opts, "油性/混合"), ["油性/混合"]);
        assert_eq!(split_choices(&opts, "混合/油性"), ["混合", "油性"]);
    }

    #[test]
    fn a_value_as_text_reads_back_to_itself() {
        let tricky = CustomFieldDef {
            key: "pick".into(),
            label: "选择".into(),
            kind: FieldKind::MultiChoice {
                options: ["甲、乙", "甲", "乙", "丙/丁"].map(String::from).to_vec(),
            },
            required: false,
        };
        let mut all = defs();
        all.push(tricky);
        let values = [
            json!("干性"),
            json!(["美白", "补水"]),
            json!(1200),
            json!(-3.25),
            json!("2025-03-01"),
            json!("第一行\n第二行, 有逗号"),
            json!(["甲", "乙"]),
            json!(["甲、乙", "丙/丁"]),
        ];
        for (d, v) in [0, 1, 2, 2, 3, 4, 5, 5].iter().zip(values) {
            let d = &all[*d];
            let text = value_text(d, &v);
            assert_eq!(
                normalise_value(d, &Value::String(text.clone())),
                Ok(v.clone()),
                "{} {text:?}",
                d.key
            );
        }
        assert_eq!(value_text(&all[1], &json!(["美白", "补水"])), "美白、补水");
    }

    #[test]
    fn dates_as_chinese_spreadsheets_write_them() {
        let d = &defs()[3];
        for s in [
            "2025-03-01",
            "2025/3/1",
            "20250301",
            "2025.3.1",
            "2025年3月1日",
        ] {
            assert_eq!(
                normalise_value(d, &json!(s)),
                Ok(json!("2025-03-01")),
                "{s}"
            );
        }
        assert!(normalise_value(d, &json!("3/1/2025")).is_err());
    }

    #[test]
    fn definitions_are_checked() {
        let e = definitions_from_json(&json!({"fields": [
            {"key": "Skin", "label": "肤质", "type": "text"},
            {"key": "a", "label": "肤质", "type": "choice", "options": []},
            {"key": "a", "label": "", "type": "number"}
        ]}))
        .unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "fields[0].key",
                "fields[1].label",
                "fields[1].options",
                "fields[2].key",
                "fields[2].label"
            ]
        );
        assert!(definitions_from_json(
            &json!({"fields": [{"key": "a", "label": "x", "type": "colour"}]})
        )
        .is_err());
        assert_eq!(definitions_from_json(&json!({})).unwrap(), vec![]);
        let d = defs();
        assert_eq!(definitions_from_json(&definitions_to_json(&d)).unwrap(), d);
    }
}
