//! What a manager did with a customer (SPEC §2): the timeline.

use crate::customer::{opt_id, opt_lines, opt_text, parse_with, RelationshipCard};
use crate::error::{Collector, ValidationError};
use crate::money::Money;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

labeled_enum!(ActivityKind {
    Visit = "visit", "拜访";
    Call = "call", "电话";
    Sms = "sms", "短信";
    Email = "email", "邮件";
    Wechat = "wechat", "微信";
    Meal = "meal", "宴请";
    Gift = "gift", "礼品", "送礼";
    Help = "help", "帮助";
    Opportunity = "opportunity", "商机";
    Feedback = "feedback", "反馈";
});

impl ActivityKind {
    /// Counts as a follow-up that keeps the customer out of the public pool.
    pub fn is_follow_up(self) -> bool {
        !matches!(self, ActivityKind::Feedback)
    }

    /// Face-to-face contact (003 A12: large customers need one a quarter).
    pub fn is_face_to_face(self) -> bool {
        matches!(self, ActivityKind::Visit | ActivityKind::Meal)
    }
}

labeled_enum!(
    /// The seven kinds of help of 000 article 1 item 4.
    HelpKind {
    Favour = "favour", "帮忙";
    ProblemSolved = "problem_solved", "解决问题";
    ComplaintHandled = "complaint_handled", "处理投诉";
    Advice = "advice", "建议";
    NeedLearned = "need_learned", "了解需求";
    WorkDone = "work_done", "完成工作";
    Proposal = "proposal", "顾问式方案", "方案";
});

labeled_enum!(
    /// 公事 or 私事 (000).
    Matter {
    Company = "company", "公事";
    Personal = "personal", "私事";
});

labeled_enum!(
    /// Feedback records (000).
    FeedbackKind {
    Opinion = "opinion", "意见建议", "意见";
    CompetitorProduct = "competitor_product", "竞品动向";
    CompetitorActivity = "competitor_activity", "竞争对手活动";
});

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewActivity {
    pub kind: ActivityKind,
    pub contact_id: Option<i64>,
    pub at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub gift_item: Option<String>,
    pub gift_value: Option<Money>,
    pub help_kind: Option<HelpKind>,
    pub matter: Option<Matter>,
    pub feedback_kind: Option<FeedbackKind>,
    /// Set by the server, never sent: the rule of the customer's card this
    /// gift broke when it was logged anyway (`forbidden`, `over_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_breach: Option<String>,
}

const FIELDS: &[&str] = &[
    "kind",
    "contact_id",
    "at",
    "summary",
    "gift_item",
    "gift_value",
    "help_kind",
    "matter",
    "feedback_kind",
    "card_breach",
];

impl NewActivity {
    pub fn from_json(obj: &Map<String, Value>) -> Result<NewActivity, ValidationError> {
        let mut c = Collector::default();
        for k in obj.keys() {
            if !FIELDS.contains(&k.as_str()) {
                c.push(k, "未知字段 unknown field");
            }
        }
        let g = |k: &str| obj.get(k);
        let kind = c
            .take("kind", parse_with(g("kind"), ActivityKind::parse))
            .flatten();
        if kind.is_none() && obj.get("kind").is_none_or(|v| v.is_null()) {
            c.push("kind", "缺少活动类型 an activity needs a kind");
        }
        let at = c
            .take(
                "at",
                parse_with(g("at"), |s| {
                    DateTime::parse_from_rfc3339(s)
                        .map(|d| d.with_timezone(&Utc))
                        .map_err(|e| {
                            format!(
                                "时间格式不正确 not a time such as 2025-03-01T14:30:00+08:00: {e}"
                            )
                        })
                }),
            )
            .flatten();
        let a = NewActivity {
            kind: kind.unwrap_or(ActivityKind::Call),
            contact_id: c.take("contact_id", opt_id(g("contact_id"))).flatten(),
            at,
            summary: c.take("summary", opt_lines(g("summary"))).flatten(),
            gift_item: c.take("gift_item", opt_text(g("gift_item"))).flatten(),
            gift_value: c
                .take("gift_value", parse_with(g("gift_value"), Money::parse))
                .flatten(),
            help_kind: c
                .take("help_kind", parse_with(g("help_kind"), HelpKind::parse))
                .flatten(),
            matter: c
                .take("matter", parse_with(g("matter"), Matter::parse))
                .flatten(),
            feedback_kind: c
                .take(
                    "feedback_kind",
                    parse_with(g("feedback_kind"), FeedbackKind::parse),
                )
                .flatten(),
            card_breach: c.take("card_breach", opt_text(g("card_breach"))).flatten(),
        };
        if a.kind == ActivityKind::Help && a.help_kind.is_none() {
            c.push(
                "help_kind",
                "缺少帮助类型 a help needs its kind (one of the seven of 000)",
            );
        }
        if a.kind == ActivityKind::Gift && a.gift_item.is_none() {
            c.push("gift_item", "缺少礼品名称 a gift needs the item given");
        }
        if a.kind == ActivityKind::Feedback && a.feedback_kind.is_none() {
            c.push("feedback_kind", "缺少反馈类型 feedback needs its kind");
        }
        c.finish()?;
        Ok(a)
    }
}

impl NewActivity {
    /// What a newly logged activity must hold beyond its shape: something
    /// said of it (a gift's item is enough), and a time not in the future
    /// (`now` plus a few minutes for clocks that differ).
    pub fn check_new(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        let mut c = Collector::default();
        if self.summary.is_none() && self.kind != ActivityKind::Gift {
            c.push(
                "summary",
                "请填写内容：这次联系做了什么、谈了什么 say what was done or said",
            );
        }
        if self
            .at
            .is_some_and(|at| at > now + chrono::Duration::minutes(5))
        {
            c.push(
                "at",
                "时间不能晚于现在：只记已经发生的联系 an activity cannot be in the future",
            );
        }
        c.finish()
    }

    /// The rule of `card` a gift breaks: the card forbids gifts, or its gift
    /// policy names an amount the gift's value is above. `None` for other
    /// activities and for gifts within the card.
    pub fn gift_breach(&self, card: &RelationshipCard) -> Option<GiftBreach> {
        if self.kind != ActivityKind::Gift {
            return None;
        }
        if card.gifts_forbidden {
            return Some(GiftBreach::Forbidden);
        }
        let limit = card.gift_policy.as_deref().and_then(gift_limit)?;
        match self.gift_value {
            Some(v) if v.0 > limit.0 => Some(GiftBreach::OverLimit { limit }),
            _ => None,
        }
    }
}

/// A rule of the relationship card a gift breaks (000: 禁止送礼, 礼品政策).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiftBreach {
    Forbidden,
    OverLimit { limit: Money },
}

impl GiftBreach {
    pub fn code(self) -> &'static str {
        match self {
            GiftBreach::Forbidden => "forbidden",
            GiftBreach::OverLimit { .. } => "over_limit",
        }
    }
}

/// The amount a gift policy such as "单笔不超过200元" or "礼品限 1,000 元以内"
/// allows: its first number, in yuan. `None` when it names none.
pub fn gift_limit(policy: &str) -> Option<Money> {
    let start = policy.find(|c: char| c.is_ascii_digit())?;
    let number: String = policy[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '，'))
        .collect();
    let number = number.trim_end_matches(['.', ',', '，']);
    let rest = &policy[start..][number.len()..];
    let money = Money::parse(number).ok()?;
    // 万 and 千 after the number multiply it.
    let scale = match rest.trim_start().chars().next() {
        Some('万') => 10_000,
        Some('千') => 1_000,
        _ => 1,
    };
    money.0.checked_mul(scale).map(Money)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: i64,
    pub customer_id: i64,
    pub user_id: Option<i64>,
    #[serde(flatten)]
    pub fields: NewActivity,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(v: Value) -> NewActivity {
        NewActivity::from_json(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn a_gift_policy_names_its_limit() {
        assert_eq!(gift_limit("单笔不超过200元"), Some(Money(20_000)));
        assert_eq!(gift_limit("礼品限 1,000 元以内"), Some(Money(100_000)));
        assert_eq!(gift_limit("每年合计不超过1.5万"), Some(Money(1_500_000)));
        assert_eq!(gift_limit("不超过 2 千元"), Some(Money(200_000)));
        assert_eq!(gift_limit("只送公司宣传品"), None);
    }

    #[test]
    fn a_gift_against_the_card_is_named() {
        let gift = parsed(json!({"kind": "gift", "gift_item": "茶叶", "gift_value": "388"}));
        let mut card = RelationshipCard {
            gift_policy: Some("单笔不超过200元".into()),
            ..Default::default()
        };
        assert_eq!(
            gift.gift_breach(&card),
            Some(GiftBreach::OverLimit {
                limit: Money(20_000)
            })
        );
        let small = parsed(json!({"kind": "gift", "gift_item": "台历", "gift_value": "200"}));
        assert_eq!(small.gift_breach(&card), None);
        card.gifts_forbidden = true;
        assert_eq!(small.gift_breach(&card), Some(GiftBreach::Forbidden));
        let visit = parsed(json!({"kind": "visit", "summary": "拜访"}));
        assert_eq!(visit.gift_breach(&card), None);
    }

    #[test]
    fn a_new_activity_says_what_happened_and_is_not_in_the_future() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let empty = parsed(json!({"kind": "visit"}));
        let e = empty.check_new(now).unwrap_err();
        assert_eq!(
            e.errors
                .iter()
                .map(|f| f.field.as_str())
                .collect::<Vec<_>>(),
            vec!["summary"]
        );
        let blank = parsed(json!({"kind": "call", "summary": "  "}));
        assert!(blank.check_new(now).is_err(), "blank text is no content");
        let gift = parsed(json!({"kind": "gift", "gift_item": "月饼"}));
        assert!(
            gift.check_new(now).is_ok(),
            "a gift's item says what it was"
        );
        let yesterday = parsed(
            json!({"kind": "visit", "summary": "谈二期", "at": "2026-12-06T15:00:00+08:00"}),
        );
        assert!(yesterday.check_new(now).is_ok());
        let tomorrow = parsed(
            json!({"kind": "visit", "summary": "谈二期", "at": "2026-12-08T15:00:00+08:00"}),
        );
        assert_eq!(tomorrow.check_new(now).unwrap_err().errors[0].field, "at");
    }
}
