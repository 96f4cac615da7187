//! Follow-ups over the last months (SPEC §2): visits, calls, messages,
//! gifts, the seven kinds of help, opportunities and feedback. Most owned
//! customers were followed up within 30 days; some were not, and are the
//! candidates for release to the public pool (SPEC §1).

use crate::archive::{Archive, Pattern, Profile};
use crate::orders::{beijing, pow};
use crate::rng::Rng;
use crate::vocab;
use crate::{DemoActivity, USERS};
use chrono::{Datelike, Duration, NaiveDate, SecondsFormat, Weekday};
use keqing_domain::NewActivity;
use serde_json::{json, Map, Value};

/// The pool release default (SPEC §1: no follow-up for 30 days).
const RELEASE_DAYS: i64 = 30;
/// How far back the activity log goes.
const LOG_DAYS: i64 = 180;

pub(crate) fn generate(
    rng: &mut Rng,
    today: NaiveDate,
    profiles: &[Profile],
    archives: &[Archive],
) -> Vec<Vec<DemoActivity>> {
    profiles
        .iter()
        .zip(archives)
        .map(|(p, a)| customer_activities(rng, today, p, a))
        .collect()
}

fn customer_activities(
    rng: &mut Rng,
    today: NaiveDate,
    p: &Profile,
    a: &Archive,
) -> Vec<DemoActivity> {
    // Days since the last follow-up.
    let (by, gap, count) = match p.owner {
        Some(owner) => {
            let overdue = if p.pattern == Pattern::Churned {
                0.5
            } else {
                0.12
            };
            let gap = if p.anchor {
                2
            } else if rng.chance(overdue) {
                rng.range(RELEASE_DAYS + 1, 120)
            } else {
                // From yesterday back: nothing is logged later than the demo starts.
                rng.range(1, RELEASE_DAYS - 1)
            };
            let count = 2 + (3.0 * pow(p.weight, 0.3)).min(12.0) as usize + rng.below(4);
            (owner, gap, count)
        }
        // Released to the pool after the former owner stopped following up.
        None => (p.former_owner, rng.range(45, 240), 1 + rng.below(3)),
    };
    let by = USERS[by].username;
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let days_ago = if k == 0 {
            gap
        } else {
            off_weekend(today, rng.range(gap, gap + LOG_DAYS))
        };
        let contact =
            (!a.contacts.is_empty() && rng.chance(0.8)).then(|| rng.below(a.contacts.len()));
        let who = contact
            .map(|c| {
                let c = &a.contacts[c];
                format!("{}{}", c.title.as_deref().unwrap_or(""), c.name)
            })
            .unwrap_or_else(|| "客户".to_string());
        // The latest activity is a real follow-up: it fixes the gap.
        let mut m = if k == 0 {
            follow_up(rng, &who)
        } else {
            let hobbies = contact.and_then(|c| a.contacts[c].hobbies.as_deref());
            activity(rng, p, &who, hobbies)
        };
        let at = beijing(
            today - Duration::days(days_ago),
            rng.range(8 * 60 + 30, 18 * 60 + 30),
        );
        m.insert(
            "at".into(),
            json!(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
        out.push(DemoActivity {
            by: by.to_string(),
            contact,
            activity: parse(&m),
        });
    }
    out.sort_by_key(|d| d.activity.at);
    out
}

/// Moves a weekend day to the Friday before: managers rarely log on Sundays.
fn off_weekend(today: NaiveDate, days_ago: i64) -> i64 {
    match (today - Duration::days(days_ago)).weekday() {
        Weekday::Sat => days_ago + 1,
        Weekday::Sun => days_ago + 2,
        _ => days_ago,
    }
}

fn follow_up(rng: &mut Rng, who: &str) -> Map<String, Value> {
    let topic = rng.pick(vocab::TOPICS);
    match rng.below(3) {
        0 => obj(json!({"kind": "visit", "summary": format!("上门拜访{who}，沟通{topic}")})),
        1 => obj(json!({"kind": "call", "summary": format!("电话联系{who}，沟通{topic}")})),
        _ => obj(json!({"kind": "wechat", "summary": format!("微信联系{who}，沟通{topic}")})),
    }
}

fn activity(rng: &mut Rng, p: &Profile, who: &str, hobbies: Option<&str>) -> Map<String, Value> {
    let topic = rng.pick(vocab::TOPICS);
    let gift_weight = if p.gifts_forbidden { 0 } else { 5 };
    let meal_weight = if p.gifts_forbidden { 0 } else { 4 };
    let kind = rng.weighted(&[
        ("call", 30),
        ("visit", 18),
        ("wechat", 15),
        ("sms", 10),
        ("help", 8),
        ("feedback", 5),
        ("gift", gift_weight),
        ("meal", meal_weight),
        ("opportunity", 3),
        ("email", 2),
    ]);
    let v = match kind {
        "visit" => json!({"kind": kind, "summary": format!("上门拜访{who}，沟通{topic}")}),
        "call" => json!({"kind": kind, "summary": format!("电话沟通{topic}")}),
        "wechat" => {
            json!({"kind": kind, "summary": rng.pick(&["微信发送最新报价单", "微信发送新品资料", "微信确认到货情况"])})
        }
        "sms" => {
            json!({"kind": kind, "summary": rng.pick(&["发送节日问候短信", "短信通知新品到货", "短信提醒对账"])})
        }
        "email" => json!({"kind": kind, "summary": format!("邮件发送{topic}相关资料")}),
        "meal" => json!({"kind": kind, "summary": format!("宴请{who}，交流{topic}")}),
        "gift" => {
            let (item, yuan) = gift(rng, hobbies);
            json!({"kind": kind, "summary": format!("给{who}送{item}"), "gift_item": item, "gift_value": yuan.to_string()})
        }
        "help" => {
            let (help, matter, summary) = *rng.pick(&[
                ("favour", "personal", "帮忙预约医院专家号"),
                ("favour", "company", "帮客户联系物流车辆"),
                ("problem_solved", "company", "协调仓库解决到货破损问题"),
                ("complaint_handled", "company", "处理交货延迟投诉，已补发"),
                ("advice", "company", "建议调整备货结构，降低库存"),
                ("need_learned", "company", "了解到客户明年有扩产需求"),
                ("work_done", "company", "协助完成年度对账"),
                ("proposal", "company", "提交包装降本顾问式方案"),
                ("advice", "personal", "为客户孩子填报志愿提供建议"),
            ]);
            json!({"kind": kind, "help_kind": help, "matter": matter, "summary": summary})
        }
        "opportunity" => {
            json!({"kind": kind, "summary": rng.pick(&["发现商机：新厂房需采购劳保用品", "发现商机：下属公司有包装材料需求", "发现商机：明年预算增加三成"])})
        }
        _ => {
            let (fk, summary) = *rng.pick(&[
                ("opinion", "客户建议增加月结选项"),
                ("opinion", "客户反映送货时间不稳定"),
                ("competitor_product", "竞品降价5%，客户在观望"),
                ("competitor_activity", "竞争对手在做满减促销"),
            ]);
            json!({"kind": "feedback", "feedback_kind": fk, "summary": summary})
        }
    };
    obj(v)
}

/// A gift to the contact's hobby when one fits (000: gifts to their
/// hobbies), otherwise a seasonal or local one.
fn gift(rng: &mut Rng, hobbies: Option<&str>) -> (&'static str, i64) {
    let fitting = vocab::HOBBY_GIFTS
        .iter()
        .filter(|(hobby, _)| hobbies.is_some_and(|h| h.contains(hobby)))
        .map(|(_, gift)| *gift)
        .next();
    match fitting {
        Some(g) if rng.chance(0.7) => g,
        _ => *rng.pick(vocab::GIFTS),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn parse(m: &Map<String, Value>) -> NewActivity {
    match NewActivity::from_json(m) {
        Ok(a) => a,
        Err(e) => panic!("demo activity {m:?} is invalid: {e}"),
    }
}
