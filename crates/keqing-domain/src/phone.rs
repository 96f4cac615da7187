//! Phone numbers and e-mail addresses, validated the way Chinese customer files need.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A Chinese mobile number (11 digits, 1[3-9]…) or a landline with its area
/// code (0 + 2–3 digits, then 7–8 digits, optional extension).
///
/// Stored normalised: mobile `13812345678`, landline `010-62345678` or
/// `0571-87654321-123`. `+86`/`0086` prefixes, spaces, dashes and brackets are
/// accepted on input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("电话号码格式不正确 not a Chinese mobile or landline number: {0:?}")]
    Invalid(String),
}

/// Two-digit area codes; every other area code has three digits after the 0.
const TWO_DIGIT_AREAS: [&str; 9] = [
    "010", "020", "021", "022", "023", "024", "025", "027", "028",
];

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        // The stored form of a landline with an extension, `0755-86013388-123`:
        // a third dash-separated group after a valid landline is the extension.
        let t = input.trim();
        if t.starts_with('0') && t.matches('-').count() == 2 {
            if let Some((main, ext)) = t.rsplit_once('-') {
                if let Ok(p) = Phone::parse(&format!("{main}转{ext}")) {
                    return Ok(p);
                }
            }
        }
        let bad = || PhoneError::Invalid(input.to_string());
        let mut s = input.trim();
        let (main, ext) = match s.find(['转', '#', 'x', 'X']) {
            Some(i) => {
                let e = s[i..].trim_start_matches(['转', '#', 'x', 'X']).trim();
                (&s[..i], Some(e))
            }
            None => (s, None),
        };
        s = main;
        let mut digits = String::with_capacity(16);
        for c in s.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if digits.is_empty() => {}
                ' ' | '-' | '(' | ')' | '（' | '）' | '\u{3000}' => {}
                _ => return Err(bad()),
            }
        }
        if let Some(rest) = digits.strip_prefix("0086") {
            digits = rest.to_string();
        } else if digits.len() == 13 && digits.starts_with("86") {
            digits = digits[2..].to_string();
        }
        let ext = match ext {
            Some(e) if !e.is_empty() && e.len() <= 6 && e.bytes().all(|b| b.is_ascii_digit()) => {
                Some(e)
            }
            Some(_) => return Err(bad()),
            None => None,
        };
        // Mobile: 11 digits starting 1[3-9].
        if digits.len() == 11 && digits.starts_with('1') {
            let second = digits.as_bytes()[1];
            if (b'3'..=b'9').contains(&second) && ext.is_none() {
                return Ok(Phone(digits));
            }
            return Err(bad());
        }
        // Landline: area code + local number of 7 or 8 digits (first digit not 0 or 1).
        if digits.starts_with('0') {
            let area_len = if TWO_DIGIT_AREAS.contains(&&digits[..3.min(digits.len())]) {
                3
            } else {
                4
            };
            if digits.len() > area_len {
                let (area, local) = digits.split_at(area_len);
                let ok_local = (7..=8).contains(&local.len())
                    && !local.starts_with('0')
                    && !local.starts_with('1');
                if ok_local && area.as_bytes()[1] != b'0' {
                    let mut out = format!("{area}-{local}");
                    if let Some(e) = ext {
                        out.push('-');
                        out.push_str(e);
                    }
                    return Ok(Phone(out));
                }
            }
        }
        Err(bad())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_mobile(&self) -> bool {
        self.0.len() == 11 && self.0.starts_with('1')
    }

    /// The digits alone, for suffix search ("the last four digits").
    pub fn digits(&self) -> String {
        self.digit_chars().collect()
    }

    /// The digits of the number, one by one (for a key that holds them
    /// after other text, without a string of their own).
    pub fn digit_chars(&self) -> impl Iterator<Item = char> + '_ {
        self.0.chars().filter(|c| c.is_ascii_digit())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An e-mail address: one `@`, a non-empty local part, a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("电子邮箱格式不正确 not an e-mail address: {0:?}")]
    Invalid(String),
}

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let s = input.trim();
        let bad = || EmailError::Invalid(input.to_string());
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let ok_local = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.');
        let labels: Vec<&str> = domain.split('.').collect();
        let ok_domain = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2);
        if ok_local && ok_domain && s.len() <= 254 {
            Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        assert_eq!(
            Phone::parse("138 1234 5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Phone::parse("+86 138-1234-5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Phone::parse("008613812345678").unwrap().as_str(),
            "13812345678"
        );
        assert!(Phone::parse("12812345678").is_err());
        assert!(Phone::parse("1381234567").is_err());
        assert!(Phone::parse("138123456789").is_err());
        assert!(Phone::parse("138abc45678").is_err());
    }

    #[test]
    fn landlines() {
        assert_eq!(
            Phone::parse("010-62345678").unwrap().as_str(),
            "010-62345678"
        );
        assert_eq!(
            Phone::parse("(0571)87654321").unwrap().as_str(),
            "0571-87654321"
        );
        assert_eq!(Phone::parse("025 8765432").unwrap().as_str(), "025-8765432");
        assert_eq!(
            Phone::parse("0755-86013388转123").unwrap().as_str(),
            "0755-86013388-123"
        );
        assert!(Phone::parse("010-0123456").is_err());
        assert!(Phone::parse("010-123").is_err());
        assert!(Phone::parse("0010-62345678").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Li.Ming@Example.COM ").unwrap().as_str(),
            "Li.Ming@example.com"
        );
        assert!(Email::parse("no-at-sign").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a@@b.cn").is_err());
        assert!(Email::parse("@b.cn").is_err());
        assert!(Email::parse("a b@c.cn").is_err());
    }
}
