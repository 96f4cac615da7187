//! A realistic demo company for `keqing serve --demo` (SPEC §10).
//!
//! [`generate`] is pure and deterministic: the same seed, date and size give
//! the same company, value for value, on every machine. It has no database
//! and no web dependency; the binary inserts what it returns.
//!
//! What the company looks like (the numbers are for the default 2,000
//! customers):
//! - two sales teams, 南京一部 (江苏, 安徽, 山东) and 杭州二部 (浙江, 上海,
//!   广东), an admin, a director, a supervisor per team, seven customer
//!   managers, a finance user and a service agent;
//! - about 85% company customers across six provinces and ten industries,
//!   plus hospitals, schools and government offices (gifts forbidden), and
//!   about 15% individual customers; a few dozen sit in the public pool (公海);
//!   江苏恒远钢业有限公司 is always the first customer, class A, owned by 王芳;
//! - two years of orders (≈ 25 per customer) with an 80/20 skew, one-off
//!   buyers, churned customers who stopped a year ago, new customers, credit
//!   customers with due and paid dates and some late payers;
//! - contacts with titles, levels, mobiles, hobbies and birthdays (≈ 30%
//!   lunar, a few on a lunar 30th or in a leap month, some today or within
//!   the week);
//! - follow-up activities over the last months, most recent within 30 days,
//!   some older: candidates for release to the pool;
//! - yearly targets (last year's and this year's) for the company, each team,
//!   each region and each manager, on sales and visits, made from the demo's
//!   own figures; the company's revised once (市局修正任务).
//!
//! Every customer, contact and activity is built through the domain's own
//! parsers (`CustomerInput::from_json`, `ContactInput::from_json`,
//! `NewActivity::from_json`), so the data is valid by construction.
//!
//! ```
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
//! let demo = keqing_demo::generate(keqing_demo::DEFAULT_SEED, today, 50);
//! let hengyuan = demo.customer(keqing_demo::ANCHOR_CUSTOMER).unwrap();
//! assert_eq!(hengyuan.owner.as_deref(), Some("wangfang"));
//! assert_eq!(hengyuan.input.class.as_deref(), Some("A"));
//! ```

mod activities;
mod archive;
mod orders;
mod rng;
mod targets;
mod vocab;

pub use targets::{DemoRevision, DemoSubject, DemoTarget, COMPANY_MONTH_WEIGHTS, REVISION_REASON};

use chrono::NaiveDate;
use keqing_domain::{ContactInput, CustomerInput, NewActivity, NewOrder, Role};
use serde::Serialize;

/// Size of the default demo company.
pub const DEFAULT_CUSTOMERS: usize = 2_000;
/// The seed `keqing serve --demo` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 20_261_123;
/// Every demo user's password (readable on purpose: it is printed at start-up).
pub const DEMO_PASSWORD: &str = "keqing-demo-2026";
/// The customer every demo and tutorial refers to.
pub const ANCHOR_CUSTOMER: &str = "江苏恒远钢业有限公司";
/// Name of the demo company itself (signs greetings: 000 "公司名称 + 个人姓名").
pub const COMPANY_NAME: &str = "客情演示商贸有限公司";

/// The whole demo company.
#[derive(Debug, Clone, Serialize)]
pub struct DemoCompany {
    pub name: String,
    pub teams: Vec<DemoTeam>,
    pub users: Vec<DemoUser>,
    pub customers: Vec<DemoCustomer>,
    /// Yearly targets for last year and this: the company, each team, each
    /// region and each customer manager, on sales and visits; the company's
    /// sales this year split by month weights and revised once.
    pub targets: Vec<DemoTarget>,
}

/// A sales team (销售团队) and the province it is responsible for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoTeam {
    pub name: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoUser {
    /// ASCII pinyin, e.g. `wangfang`.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Name of the user's team, for supervisors and customer managers.
    pub team: Option<String>,
    /// The province a regional scope covers (the team's region).
    pub region: Option<String>,
    pub password: String,
}

/// One customer with everything that hangs off it.
#[derive(Debug, Clone, Serialize)]
pub struct DemoCustomer {
    pub input: CustomerInput,
    /// Username of the responsible customer manager; `None`: the public pool (公海).
    pub owner: Option<String>,
    /// The team whose region the customer is in (also for pool customers).
    pub team: String,
    /// For some customers who came by referral (亲友介绍): the index in
    /// [`DemoCompany::customers`] of the customer who referred them, always
    /// an earlier one; map it to `input.referrer_id` once that one is stored.
    pub referred_by: Option<usize>,
    /// Company customers have 1–3 contacts; an individual customer has one
    /// contact, the person themself (so birthdays reach the care calendar).
    pub contacts: Vec<ContactInput>,
    /// Orders in time order. `customer_id` is the customer's 1-based position
    /// in [`DemoCompany::customers`]; overwrite it with the stored id.
    pub orders: Vec<NewOrder>,
    /// Activities in time order.
    pub activities: Vec<DemoActivity>,
}

/// An activity and who logged it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoActivity {
    /// Username of the user who logged it (the owner, or a former owner for
    /// a pool customer).
    pub by: String,
    /// Index into the customer's `contacts`; map it to the stored contact id
    /// (`activity.contact_id` is left empty).
    pub contact: Option<usize>,
    pub activity: NewActivity,
}

impl DemoCompany {
    pub fn order_count(&self) -> usize {
        self.customers.iter().map(|c| c.orders.len()).sum()
    }

    pub fn activity_count(&self) -> usize {
        self.customers.iter().map(|c| c.activities.len()).sum()
    }

    pub fn user(&self, username: &str) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.username == username)
    }

    pub fn customer(&self, name: &str) -> Option<&DemoCustomer> {
        self.customers.iter().find(|c| c.input.name == name)
    }
}

/// A team: name, region (province) and the provinces whose customers it serves.
pub(crate) struct TeamDef {
    pub name: &'static str,
    pub region: &'static str,
    pub provinces: &'static [&'static str],
}

pub(crate) const TEAMS: &[TeamDef] = &[
    TeamDef {
        name: "南京一部",
        region: "江苏",
        provinces: &["江苏", "安徽", "山东"],
    },
    TeamDef {
        name: "杭州二部",
        region: "浙江",
        provinces: &["浙江", "上海", "广东"],
    },
];

/// A user: username, display name, role, team index.
pub(crate) struct UserDef {
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: Role,
    pub team: Option<usize>,
}

pub(crate) const USERS: &[UserDef] = &[
    UserDef {
        username: "admin",
        display_name: "系统管理员",
        role: Role::Admin,
        team: None,
    },
    UserDef {
        username: "zhaomin",
        display_name: "赵敏",
        role: Role::Director,
        team: None,
    },
    UserDef {
        username: "chenjing",
        display_name: "陈静",
        role: Role::Supervisor,
        team: Some(0),
    },
    UserDef {
        username: "wangfang",
        display_name: "王芳",
        role: Role::Manager,
        team: Some(0),
    },
    UserDef {
        username: "lilei",
        display_name: "李磊",
        role: Role::Manager,
        team: Some(0),
    },
    UserDef {
        username: "zhangwei",
        display_name: "张伟",
        role: Role::Manager,
        team: Some(0),
    },
    UserDef {
        username: "sunli",
        display_name: "孙丽",
        role: Role::Manager,
        team: Some(0),
    },
    UserDef {
        username: "liuyang",
        display_name: "刘洋",
        role: Role::Supervisor,
        team: Some(1),
    },
    UserDef {
        username: "zhouqiang",
        display_name: "周强",
        role: Role::Manager,
        team: Some(1),
    },
    UserDef {
        username: "wuxia",
        display_name: "吴霞",
        role: Role::Manager,
        team: Some(1),
    },
    UserDef {
        username: "xuming",
        display_name: "徐明",
        role: Role::Manager,
        team: Some(1),
    },
    UserDef {
        username: "hejuan",
        display_name: "何娟",
        role: Role::Finance,
        team: None,
    },
    UserDef {
        username: "maxiaoyu",
        display_name: "马晓雨",
        role: Role::Agent,
        team: None,
    },
];

/// The manager who owns 江苏恒远钢业有限公司.
pub(crate) const ANCHOR_OWNER: usize = 3;

/// Indexes into [`USERS`] of a team's customer managers.
pub(crate) fn managers_of(team: usize) -> Vec<usize> {
    USERS
        .iter()
        .enumerate()
        .filter(|(_, u)| u.role == Role::Manager && u.team == Some(team))
        .map(|(i, _)| i)
        .collect()
}

/// Generates the demo company for `seed` as of `today`, with `customers`
/// customers ([`DEFAULT_CUSTOMERS`] for the standard demo).
///
/// # Panics
/// Only on a bug in the generator: every value is parsed by the domain, and
/// a value the domain refuses is a generator bug, which the tests catch.
pub fn generate(seed: u64, today: NaiveDate, customers: usize) -> DemoCompany {
    let mut rng = rng::Rng::new(seed);
    let mut plan_rng = rng.fork(1);
    let mut order_rng = rng.fork(2);
    let mut archive_rng = rng.fork(3);
    let mut activity_rng = rng.fork(4);

    let profiles = archive::plan(&mut plan_rng, customers);
    let orders = orders::generate(&mut order_rng, today, &profiles);
    let archives = archive::build(&mut archive_rng, today, &profiles, &orders);
    let activities = activities::generate(&mut activity_rng, today, &profiles, &archives);

    let teams = TEAMS
        .iter()
        .map(|t| DemoTeam {
            name: t.name.to_string(),
            region: t.region.to_string(),
        })
        .collect();
    let users = USERS
        .iter()
        .map(|u| DemoUser {
            username: u.username.to_string(),
            display_name: u.display_name.to_string(),
            role: u.role,
            team: u.team.map(|t| TEAMS[t].name.to_string()),
            region: u.team.map(|t| TEAMS[t].region.to_string()),
            password: DEMO_PASSWORD.to_string(),
        })
        .collect();
    let customers = profiles
        .iter()
        .zip(archives)
        .zip(orders)
        .zip(activities)
        .map(|(((p, a), o), acts)| DemoCustomer {
            input: a.input,
            owner: p.owner.map(|u| USERS[u].username.to_string()),
            team: TEAMS[p.team].name.to_string(),
            referred_by: a.referred_by,
            contacts: a.contacts,
            orders: o,
            activities: acts,
        })
        .collect::<Vec<DemoCustomer>>();
    let made: Vec<_> = customers
        .iter()
        .map(|c| {
            (
                c.owner.clone(),
                c.orders.as_slice(),
                c.activities.as_slice(),
            )
        })
        .collect();
    let targets = targets::generate(today, TEAMS, USERS, &made);
    DemoCompany {
        name: COMPANY_NAME.to_string(),
        teams,
        users,
        customers,
        targets,
    }
}

#[cfg(test)]
mod tests;
