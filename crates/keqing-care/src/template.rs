//! Greeting message templates (问候短信模板).
//!
//! Placeholders, English or Chinese:
//!
//! | placeholder        | alias        | value                              |
//! |--------------------|--------------|------------------------------------|
//! | `{contact_name}`   | `{联系人}`   | the contact's name                 |
//! | `{contact_title}`  | `{职务}`     | the contact's title (经理, 总…)    |
//! | `{customer_name}`  | `{客户名称}` | the customer company's name        |
//! | `{occasion}`       | `{节日}`     | the occasion(s): "中秋节、国庆节"  |
//! | `{manager_name}`   | `{经理姓名}` | the customer manager's own name    |
//! | `{company_name}`   | `{公司名称}` | our company's name                 |
//!
//! `{{` and `}}` write literal braces. Every greeting must be signed
//! "company name + personal name" (000 item 7: "署名的格式为公司名称 + 个人
//! 姓名", so the customer knows who cares about them): a template is
//! refused unless it **ends** with `{company_name}`, then only spaces,
//! punctuation or dashes, then `{manager_name}` (trailing white space
//! allowed), e.g. `…中秋快乐！——{公司名称} {经理姓名}`.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A value a template can insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placeholder {
    ContactName,
    ContactTitle,
    CustomerName,
    Occasion,
    ManagerName,
    CompanyName,
}

impl Placeholder {
    /// Every placeholder, in the order of the table above.
    pub const ALL: [Placeholder; 6] = [
        Self::ContactName,
        Self::ContactTitle,
        Self::CustomerName,
        Self::Occasion,
        Self::ManagerName,
        Self::CompanyName,
    ];

    /// The English spelling, without braces.
    pub fn name(self) -> &'static str {
        match self {
            Self::ContactName => "contact_name",
            Self::ContactTitle => "contact_title",
            Self::CustomerName => "customer_name",
            Self::Occasion => "occasion",
            Self::ManagerName => "manager_name",
            Self::CompanyName => "company_name",
        }
    }

    /// The Chinese alias, without braces.
    pub fn alias_zh(self) -> &'static str {
        match self {
            Self::ContactName => "联系人",
            Self::ContactTitle => "职务",
            Self::CustomerName => "客户名称",
            Self::Occasion => "节日",
            Self::ManagerName => "经理姓名",
            Self::CompanyName => "公司名称",
        }
    }

    /// The placeholder spelled `name` (English or Chinese), trimmed.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name || p.alias_zh() == name)
    }
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("未知的占位符 unknown placeholder {{{name}}} at character {at}; known: {{contact_name}} {{contact_title}} {{customer_name}} {{occasion}} {{manager_name}} {{company_name}} (or {{联系人}} {{职务}} {{客户名称}} {{节日}} {{经理姓名}} {{公司名称}})")]
    UnknownPlaceholder { name: String, at: usize },
    #[error("大括号未闭合 unclosed {{ at character {at}; write {{{{ for a literal brace")]
    Unclosed { at: usize },
    #[error("多余的右大括号 unmatched }} at character {at}; write }}}} for a literal brace")]
    Unmatched { at: usize },
    #[error("祝福语须以“公司名称 + 个人姓名”署名结尾 the greeting must end with the signature \"company name + personal name\": {{company_name}} then {{manager_name}}, e.g. \"……节日快乐！——{{公司名称}} {{经理姓名}}\"")]
    MissingSignature,
    #[error("无法署名 cannot sign the greeting: {0} is empty")]
    EmptySignature(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Value(Placeholder),
}

/// A checked template: known placeholders only, signed at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

/// The values a template is filled with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateValues {
    pub contact_name: String,
    pub contact_title: String,
    pub customer_name: String,
    pub occasion: String,
    pub manager_name: String,
    pub company_name: String,
}

impl TemplateValues {
    fn get(&self, p: Placeholder) -> &str {
        match p {
            Placeholder::ContactName => &self.contact_name,
            Placeholder::ContactTitle => &self.contact_title,
            Placeholder::CustomerName => &self.customer_name,
            Placeholder::Occasion => &self.occasion,
            Placeholder::ManagerName => &self.manager_name,
            Placeholder::CompanyName => &self.company_name,
        }
    }
}

fn parse_segments(text: &str) -> Result<Vec<Segment>, TemplateError> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                literal.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                literal.push('}');
                i += 2;
            }
            '{' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '}' || c == '{')
                    .filter(|&n| chars[i + 1 + n] == '}')
                    .ok_or(TemplateError::Unclosed { at: i })?;
                let name: String = chars[i + 1..i + 1 + close].iter().collect();
                let p = Placeholder::parse(&name)
                    .ok_or(TemplateError::UnknownPlaceholder { name, at: i })?;
                if !literal.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Value(p));
                i += close + 2;
            }
            '}' => return Err(TemplateError::Unmatched { at: i }),
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    Ok(segments)
}

/// Separators allowed between the company name and the personal name:
/// white space, punctuation, dashes — anything but letters, digits and
/// Chinese characters.
fn is_separator(s: &str) -> bool {
    s.chars().all(|c| !c.is_alphanumeric())
}

impl Template {
    /// Checks `text`: known placeholders, balanced braces, and the
    /// signature at the end.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let segments = parse_segments(text)?;
        let mut tail = segments.as_slice();
        if let [rest @ .., Segment::Text(t)] = tail {
            if t.trim().is_empty() {
                tail = rest;
            }
        }
        let signed = match tail {
            [.., Segment::Value(Placeholder::CompanyName), Segment::Value(Placeholder::ManagerName)] => {
                true
            }
            [.., Segment::Value(Placeholder::CompanyName), Segment::Text(sep), Segment::Value(Placeholder::ManagerName)] => {
                is_separator(sep)
            }
            _ => false,
        };
        if !signed {
            return Err(TemplateError::MissingSignature);
        }
        Ok(Self {
            source: text.to_owned(),
            segments,
        })
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholders used, in order of first use.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut out = Vec::new();
        for s in &self.segments {
            if let Segment::Value(p) = s {
                if !out.contains(p) {
                    out.push(*p);
                }
            }
        }
        out
    }

    /// The message. Refused when the signature would be empty.
    pub fn render(&self, values: &TemplateValues) -> Result<String, TemplateError> {
        if values.company_name.trim().is_empty() {
            return Err(TemplateError::EmptySignature("company_name"));
        }
        if values.manager_name.trim().is_empty() {
            return Err(TemplateError::EmptySignature("manager_name"));
        }
        let mut out = String::with_capacity(self.source.len() + 32);
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Value(p) => out.push_str(values.get(*p).trim()),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Template::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TemplateValues {
        TemplateValues {
            contact_name: "王伟".into(),
            contact_title: "总经理".into(),
            customer_name: "华泰商贸".into(),
            occasion: "中秋节".into(),
            manager_name: "李明".into(),
            company_name: "客情科技".into(),
        }
    }

    #[test]
    fn renders_english_and_chinese_placeholders() {
        let t = Template::parse("尊敬的{联系人}{职务}：{occasion}快乐！感谢{客户名称}的支持。——{公司名称} {manager_name}").unwrap();
        assert_eq!(
            t.render(&values()).unwrap(),
            "尊敬的王伟总经理：中秋节快乐！感谢华泰商贸的支持。——客情科技 李明"
        );
        assert_eq!(t.placeholders().len(), 6);
        let t = Template::parse(
            "{{VIP}} {contact_name}, happy {occasion}! {company_name} - {manager_name}\n",
        )
        .unwrap();
        assert_eq!(
            t.render(&values()).unwrap(),
            "{VIP} 王伟, happy 中秋节! 客情科技 - 李明\n"
        );
    }

    #[test]
    fn signature_must_end_the_text() {
        for ok in [
            "{occasion}快乐{company_name}{manager_name}",
            "{occasion}快乐 —— {公司名称}·{经理姓名}  ",
            "{occasion}快乐！{company_name}，{manager_name}",
        ] {
            assert!(Template::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "{occasion}快乐！",
            "{occasion}快乐！{manager_name}",
            "{occasion}快乐！{manager_name} {company_name}",
            "{company_name}{manager_name} 祝您{occasion}快乐！",
            "{occasion}快乐！{company_name} 销售部 {manager_name}",
            "{occasion}快乐！{company_name} {manager_name}。",
        ] {
            assert_eq!(
                Template::parse(bad),
                Err(TemplateError::MissingSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_and_broken_placeholders() {
        assert!(matches!(
            Template::parse("{name}好 {company_name}{manager_name}"),
            Err(TemplateError::UnknownPlaceholder { ref name, at: 0 }) if name == "name"
        ));
        assert_eq!(
            Template::parse("{occasion {company_name}{manager_name}"),
            Err(TemplateError::Unclosed { at: 0 })
        );
        assert_eq!(
            Template::parse("a} {company_name}{manager_name}"),
            Err(TemplateError::Unmatched { at: 1 })
        );
        let msg = Template::parse("x").unwrap_err().to_string();
        assert!(msg.contains("公司名称 + 个人姓名"), "{msg}");
    }

    #[test]
    fn empty_signature_values_are_refused() {
        let t = Template::parse("{occasion}快乐 {company_name} {manager_name}").unwrap();
        let mut v = values();
        v.manager_name = " ".into();
        assert_eq!(
            t.render(&v),
            Err(TemplateError::EmptySignature("manager_name"))
        );
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<Template>(r#""no signature""#).is_err());
        let t: Template = serde_json::from_str(r#""{节日}快乐 {公司名称}{经理姓名}""#).unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""{节日}快乐 {公司名称}{经理姓名}""#
        );
    }
}
