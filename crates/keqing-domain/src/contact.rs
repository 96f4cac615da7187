//! A person at a customer (SPEC §1, contacts).

use crate::customer::{opt_lines, opt_text, parse_with};
use crate::error::{Collector, ValidationError};
use crate::fields::Fields;
use crate::phone::{Email, Phone};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

labeled_enum!(
    /// Contact level (000): decides how a greeting is made.
    ContactLevel {
    Executor = "executor", "执行人员", "执行";
    PersonInCharge = "person_in_charge", "负责人";
    DecisionMaker = "decision_maker", "决策者";
});

labeled_enum!(
    /// Role in the buying centre (004).
    BuyingRole {
    Initiator = "initiator", "发起者";
    Decider = "decider", "决策者";
    Designer = "designer", "设计者";
    Evaluator = "evaluator", "评估者";
    User = "user", "使用者";
});

labeled_enum!(
    /// Communication style (004).
    CommStyle {
    Analytical = "analytical", "分析型";
    Expressive = "expressive", "表现型";
    Amiable = "amiable", "亲切型", "和蔼型";
    Driver = "driver", "支配型", "驾驭型";
});

/// A birthday on the solar (Gregorian) or the lunar calendar; the year is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birthday {
    Solar {
        year: Option<i32>,
        month: u32,
        day: u32,
    },
    Lunar {
        year: Option<i32>,
        month: u32,
        day: u32,
        leap: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("生日格式不正确 not a birthday: {0:?} (write 1980-05-03, 05-03, or 农历1980-04-30 / 农历闰04-30 for a lunar date)")]
pub struct BirthdayError(String);

impl Birthday {
    /// Parses `1980-05-03`, `05-03`, `1980/5/3`, `19800503`, and lunar forms
    /// `农历1980-04-30`, `农历04-30`, `lunar:04-30`, `农历闰04-30`.
    pub fn parse(input: &str) -> Result<Birthday, BirthdayError> {
        let bad = || BirthdayError(input.to_string());
        let mut s = input.trim();
        let mut lunar = false;
        for p in ["农历", "阴历", "lunar:", "lunar", "L:"] {
            if let Some(rest) = s.strip_prefix(p) {
                lunar = true;
                s = rest.trim();
                break;
            }
        }
        let mut leap = false;
        if let Some(rest) = s.strip_prefix('闰').or_else(|| s.strip_prefix("leap:")) {
            leap = true;
            s = rest.trim();
        }
        if leap && !lunar {
            return Err(bad());
        }
        let parts: Vec<&str> = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
            vec![&s[..4], &s[4..6], &s[6..]]
        } else {
            s.split(['-', '/', '.']).collect()
        };
        let num = |x: &str| x.trim().parse::<u32>().map_err(|_| bad());
        let (year, month, day) = match parts.as_slice() {
            [y, m, d] => (Some(num(y)? as i32), num(m)?, num(d)?),
            [m, d] => (None, num(m)?, num(d)?),
            _ => return Err(bad()),
        };
        if let Some(y) = year {
            if !(1900..=2100).contains(&y) {
                return Err(bad());
            }
        }
        if lunar {
            if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
                return Err(bad());
            }
            Ok(Birthday::Lunar {
                year,
                month,
                day,
                leap,
            })
        } else {
            // Validate against a leap year so 02-29 without a year is allowed.
            let y = year.unwrap_or(2000);
            NaiveDate::from_ymd_opt(y, month, day).ok_or_else(bad)?;
            Ok(Birthday::Solar { year, month, day })
        }
    }
}

impl fmt::Display for Birthday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, year, month, day, leap) = match *self {
            Birthday::Solar { year, month, day } => ("", year, month, day, false),
            Birthday::Lunar {
                year,
                month,
                day,
                leap,
            } => ("农历", year, month, day, leap),
        };
        f.write_str(prefix)?;
        if leap {
            f.write_str("闰")?;
        }
        // Digit by digit where every part fits its width (every parsed
        // birthday): an import writes one for each contact it stores.
        let mut text = *b"0000-00-00";
        match year {
            Some(y) if (0..=9999).contains(&y) && month < 100 && day < 100 => {
                put_digits(&mut text[..4], y as u32);
                put_digits(&mut text[5..7], month);
                put_digits(&mut text[8..], day);
                f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
            }
            None if month < 100 && day < 100 => {
                put_digits(&mut text[5..7], month);
                put_digits(&mut text[8..], day);
                f.write_str(std::str::from_utf8(&text[5..]).map_err(|_| fmt::Error)?)
            }
            Some(y) => write!(f, "{y:04}-{month:02}-{day:02}"),
            None => write!(f, "{month:02}-{day:02}"),
        }
    }
}

/// Writes the last `out.len()` decimal digits of `n` into `out`.
pub fn put_digits(out: &mut [u8], mut n: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

impl Serialize for Birthday {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Birthday {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Birthday::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Consent to be contacted, per channel (SPEC §5: never send to an opted-out address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    pub phone: bool,
    pub sms: bool,
    pub email: bool,
    pub wechat: bool,
}

impl Default for Consent {
    fn default() -> Self {
        // A business contact may be called and messaged unless they said no;
        // marketing e-mail needs an explicit opt-in.
        Consent {
            phone: true,
            sms: true,
            email: false,
            wechat: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactInput {
    pub name: String,
    pub mobile: Option<Phone>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub wechat: Option<String>,
    pub qq: Option<String>,
    pub title: Option<String>,
    pub level: Option<ContactLevel>,
    pub buying_role: Option<BuyingRole>,
    pub style: Option<CommStyle>,
    pub birthday: Option<Birthday>,
    pub hobbies: Option<String>,
    pub notes: Option<String>,
    pub consent: Consent,
}

pub const CONTACT_FIELDS: &[&str] = &[
    "name",
    "mobile",
    "phone",
    "email",
    "wechat",
    "qq",
    "title",
    "level",
    "buying_role",
    "style",
    "birthday",
    "hobbies",
    "notes",
    "consent",
];

impl ContactInput {
    pub fn from_json(obj: &Map<String, Value>) -> Result<ContactInput, ValidationError> {
        ContactInput::from_fields(obj)
    }

    /// [`ContactInput::from_json`] reading the members from any [`Fields`]: a
    /// file's row gives them without building a JSON object.
    pub fn from_fields(obj: &(impl Fields + ?Sized)) -> Result<ContactInput, ValidationError> {
        let mut c = Collector::default();
        obj.each_name(&mut |key| {
            if !CONTACT_FIELDS.contains(&key) {
                c.push(key, "未知字段 unknown field");
            }
        });
        let g = |k: &str| obj.field(k);
        let name_read = opt_text(g("name"));
        let name_bad = name_read.is_err();
        let name = c.take("name", name_read).flatten();
        if name.is_none() && !name_bad {
            c.push("name", "缺少联系人姓名 a contact needs a name");
        }
        let mobile = c
            .take("mobile", parse_with(g("mobile"), Phone::parse))
            .flatten();
        if let Some(m) = &mobile {
            if !m.is_mobile() {
                c.push(
                    "mobile",
                    format!("手机号码格式不正确 not a mobile number: {m}"),
                );
            }
        }
        let qq = c.take("qq", opt_text(g("qq"))).flatten();
        if let Some(q) = &qq {
            if !(5..=12).contains(&q.len()) || !q.bytes().all(|b| b.is_ascii_digit()) {
                c.push(
                    "qq",
                    format!("应为5到12位数字的QQ号 a QQ number is 5 to 12 digits: {q:?}"),
                );
            }
        }
        let consent = match g("consent") {
            None | Some(Value::Null) => Some(Consent::default()),
            Some(v) => c.take(
                "consent",
                serde_json::from_value::<Consent>(v.clone())
                    .map_err(|e| format!("联系许可格式不正确 bad consent: {e}")),
            ),
        };
        let input = ContactInput {
            name: name.unwrap_or_default(),
            mobile,
            phone: c
                .take("phone", parse_with(g("phone"), Phone::parse))
                .flatten(),
            email: c
                .take("email", parse_with(g("email"), Email::parse))
                .flatten(),
            wechat: c.take("wechat", opt_text(g("wechat"))).flatten(),
            qq,
            title: c.take("title", opt_text(g("title"))).flatten(),
            level: c
                .take("level", parse_with(g("level"), ContactLevel::parse))
                .flatten(),
            buying_role: c
                .take(
                    "buying_role",
                    parse_with(g("buying_role"), BuyingRole::parse),
                )
                .flatten(),
            style: c
                .take("style", parse_with(g("style"), CommStyle::parse))
                .flatten(),
            birthday: c
                .take("birthday", parse_with(g("birthday"), Birthday::parse))
                .flatten(),
            hobbies: c.take("hobbies", opt_lines(g("hobbies"))).flatten(),
            notes: c.take("notes", opt_lines(g("notes"))).flatten(),
            consent: consent.unwrap_or_default(),
        };
        c.finish()?;
        Ok(input)
    }

    pub fn to_json(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: i64,
    pub customer_id: i64,
    pub version: i64,
    #[serde(flatten)]
    pub fields: ContactInput,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn birthdays_written_as_format_writes_them() {
        for year in [
            None,
            Some(0),
            Some(7),
            Some(999),
            Some(1900),
            Some(2026),
            Some(9999),
            Some(10000),
            Some(-5),
        ] {
            for month in [0, 1, 9, 10, 12, 99, 100, 123] {
                for day in [0, 1, 9, 10, 31, 99, 100] {
                    let mut want = String::new();
                    match year {
                        Some(y) => write!(want, "{y:04}-{month:02}-{day:02}").unwrap(),
                        None => write!(want, "{month:02}-{day:02}").unwrap(),
                    }
                    let solar = Birthday::Solar { year, month, day };
                    assert_eq!(solar.to_string(), want);
                    let lunar = Birthday::Lunar {
                        year,
                        month,
                        day,
                        leap: true,
                    };
                    assert_eq!(lunar.to_string(), format!("农历闰{want}"));
                }
            }
        }
    }

    #[test]
    fn birthdays_solar_and_lunar() {
        assert_eq!(
            Birthday::parse("1980-05-03").unwrap(),
            Birthday::Solar {
                year: Some(1980),
                month: 5,
                day: 3
            }
        );
        assert_eq!(
            Birthday::parse("02-29").unwrap(),
            Birthday::Solar {
                year: None,
                month: 2,
                day: 29
            }
        );
        assert_eq!(
            Birthday::parse("农历闰04-30").unwrap(),
            Birthday::Lunar {
                year: None,
                month: 4,
                day: 30,
                leap: true
            }
        );
        assert_eq!(
            Birthday::parse("农历1975-08-15").unwrap().to_string(),
            "农历1975-08-15"
        );
        assert!(Birthday::parse("1981-02-29").is_err());
        assert!(Birthday::parse("农历13-01").is_err());
        assert!(Birthday::parse("闰04-01").is_err());
        for s in ["1980-05-03", "05-03", "农历04-30", "农历闰1984-10-01"] {
            assert_eq!(Birthday::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn contact_rejects_landline_as_mobile() {
        let m = serde_json::json!({"name": "王经理", "mobile": "010-62345678"});
        let e = ContactInput::from_json(m.as_object().unwrap()).unwrap_err();
        assert_eq!(e.errors[0].field, "mobile");
        assert!(
            e.errors[0]
                .message
                .starts_with("手机号码格式不正确 not a mobile number"),
            "{:?}",
            e.errors[0]
        );
    }
}
