//! What a manager did with a customer (SPEC §2): the timeline.

use crate::customer::{opt_id, opt_lines, opt_text, parse_with};
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
