//! China's day: keqing's users are in China (UTC+8, no summer time), so
//! "today", an instant's day and a day's start are China's wherever the
//! server runs. One place for the offset, used by every area.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The day in China of an instant.
pub fn china_day(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(8)).date_naive()
}

/// Today in China.
pub fn china_today() -> NaiveDate {
    china_day(Utc::now())
}

/// The instant (UTC) China's day `d` starts at: its midnight in China.
pub fn china_midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::hours(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_turn_at_midnight_in_china() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            china_day(at("2026-03-31T15:59:59Z")).to_string(),
            "2026-03-31"
        );
        assert_eq!(
            china_day(at("2026-03-31T16:00:00Z")).to_string(),
            "2026-04-01"
        );
        let d: NaiveDate = "2026-04-01".parse().unwrap();
        assert_eq!(china_midnight(d), at("2026-03-31T16:00:00Z"));
        assert_eq!(china_day(china_midnight(d)), d);
    }
}
