//! Money is an integer number of fen (分), never a float (SPEC §2).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("金额为空 empty amount")]
    Empty,
    #[error("金额格式不正确 not an amount: {0:?}")]
    Invalid(String),
    #[error("金额最多保留两位小数 more than two decimals: {0:?}")]
    TooPrecise(String),
    #[error("金额过大 amount too large: {0:?}")]
    Overflow(String),
}

impl Money {
    pub fn fen(self) -> i64 {
        self.0
    }

    pub fn from_yuan(yuan: i64) -> Money {
        Money(yuan * 100)
    }

    /// Parses "1234.5", "¥1,234.50", "￥ 12", "-3.20", "1234元".
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        let t: String = s
            .trim()
            .trim_start_matches(['¥', '￥'])
            .trim_end_matches('元')
            .chars()
            .filter(|c| *c != ',' && *c != '，' && !c.is_whitespace())
            .collect();
        if t.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t.as_str()),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
            return Err(MoneyError::Invalid(s.to_string()));
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooPrecise(s.to_string()));
        }
        let overflow = || MoneyError::Overflow(s.to_string());
        let mut fen: i64 = 0;
        for b in int.bytes() {
            fen = fen
                .checked_mul(10)
                .and_then(|v| v.checked_add((b - b'0') as i64))
                .ok_or_else(overflow)?;
        }
        fen = fen.checked_mul(100).ok_or_else(overflow)?;
        let mut f = frac.bytes().map(|b| (b - b'0') as i64);
        fen += f.next().unwrap_or(0) * 10 + f.next().unwrap_or(0);
        Ok(Money(if neg { -fen } else { fen }))
    }
}

impl fmt::Display for Money {
    /// Plain decimal yuan with two places: "1234.50".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

/// In JSON, money is a decimal string in yuan ("1234.50"): exact, and never a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) => Money::parse(&s).map_err(serde::de::Error::custom),
            Raw::I(i) => Ok(Money::from_yuan(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_type() {
        assert_eq!(Money::parse("1234.5").unwrap(), Money(123450));
        assert_eq!(Money::parse("¥1,234.50").unwrap(), Money(123450));
        assert_eq!(Money::parse("￥ 12").unwrap(), Money(1200));
        assert_eq!(Money::parse("-3.2").unwrap(), Money(-320));
        assert_eq!(Money::parse("88元").unwrap(), Money(8800));
        assert_eq!(Money::parse(".5").unwrap(), Money(50));
        assert!(matches!(
            Money::parse("1.234"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(Money::parse("abc"), Err(MoneyError::Invalid(_))));
        assert!(matches!(Money::parse(""), Err(MoneyError::Empty)));
        assert!(Money::parse("99999999999999999999").is_err());
    }

    #[test]
    fn budget_lines_add_exactly() {
        // SPEC §5 (003 A4): 10798.63 + 8068.88 + 11436.5 = 30304.01
        let total: i64 = ["10798.63", "8068.88", "11436.5"]
            .iter()
            .map(|s| Money::parse(s).unwrap().0)
            .sum();
        assert_eq!(Money(total).to_string(), "30304.01");
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(fen in -10_000_000_000i64..10_000_000_000) {
            proptest::prop_assert_eq!(Money::parse(&Money(fen).to_string()).unwrap(), Money(fen));
        }
    }
}
