//! The demo company (`serve --demo`) loaded into a store.

use crate::AppError;
use keqing_demo::DemoCompany;
use keqing_domain::day::{china_day, china_today};
use keqing_domain::User;
use keqing_store::{CustomerFilter, Store};
use std::collections::HashMap;

/// Whether `company` may be loaded into `store`: it has no customers (not
/// even deleted ones) and no user with a demo user's name.
pub async fn fits(store: &dyn Store, company: &DemoCompany) -> Result<bool, AppError> {
    let empty = store
        .list_customers(&CustomerFilter {
            limit: 1,
            include_deleted: true,
            ..Default::default()
        })
        .await?
        .total
        == 0;
    Ok(empty
        && store
            .users()
            .await?
            .iter()
            .all(|u| company.user(&u.username).is_none()))
}

/// Loads the demo company; answers its administrator.
pub async fn load(store: &dyn Store, company: &DemoCompany) -> Result<User, AppError> {
    let mut teams = HashMap::new();
    for t in &company.teams {
        teams.insert(
            t.name.clone(),
            store.create_team(&t.name, Some(&t.region)).await?.id,
        );
    }
    // Every demo user has the same password: hash it once.
    let hash = crate::password::hash_password(keqing_demo::DEMO_PASSWORD)
        .map_err(|e| AppError::Invalid(keqing_domain::ValidationError::one("password", e)))?;
    let mut users: HashMap<String, User> = HashMap::new();
    for u in &company.users {
        let made = store
            .create_user(&keqing_store::NewUser {
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: u.role,
                team_id: u.team.as_ref().and_then(|t| teams.get(t).copied()),
                region: u.region.clone(),
                password_hash: hash.clone(),
            })
            .await?;
        users.insert(u.username.clone(), made);
    }
    let admin = users
        .values()
        .find(|u| u.role == keqing_domain::Role::Admin)
        .cloned()
        .ok_or_else(|| AppError::NotFound("the demo's administrator".into()))?;
    let mut ids: Vec<i64> = Vec::with_capacity(company.customers.len());
    let mut orders = vec![];
    for c in &company.customers {
        let mut input = c.input.clone();
        input.referrer_id = c.referred_by.and_then(|i| ids.get(i).copied());
        let owner = c.owner.as_ref().and_then(|o| users.get(o));
        let made = store
            .create_customer(&input, owner.map(|u| u.id), &admin)
            .await?;
        ids.push(made.id);
        let mut contact_ids = vec![];
        for k in &c.contacts {
            contact_ids.push(store.create_contact(made.id, k, &admin).await?.id);
        }
        for a in &c.activities {
            let mut act = a.activity.clone();
            act.contact_id = a.contact.and_then(|i| contact_ids.get(i).copied());
            let by = users.get(&a.by).unwrap_or(&admin);
            store.add_activity(made.id, &act, by).await?;
        }
        for o in &c.orders {
            let mut o = o.clone();
            o.customer_id = made.id;
            orders.push(o);
        }
    }
    // 回款: an order without a credit term was paid at the till on its day
    // (China); an imported paid order gets its one full payment.
    for o in orders.iter_mut() {
        if o.due_date.is_none() && o.paid_date.is_none() {
            o.paid_date = Some(china_day(o.ordered_at));
        }
    }
    store.add_orders(&orders).await?;
    part_payments(store, company, &ids, &users, &admin).await?;
    // The demo's people have worked there since its history began: their
    // quotas count from then, not from the day the demo was loaded.
    let began = company
        .customers
        .iter()
        .flat_map(|c| c.activities.iter().filter_map(|a| a.activity.at))
        .chain(orders.iter().map(|o| o.ordered_at))
        .min();
    if let Some(began) = began {
        for u in users.values() {
            store.set_user_since(u.id, began).await?;
        }
    }
    load_targets(store, company, &users, &teams).await?;
    // Pay (issue 26): bases, two locked runs, the checklist and a scorecard.
    let today = china_today();
    crate::pay::load_demo(store, &admin, today).await?;
    Ok(admin)
}

/// Part-payments (回款 in instalments): of the credit orders still open,
/// every other one (by id) got 40% a week after it was placed (or today),
/// recorded by finance; the rest stay wholly owed, overdue when their due
/// day has passed. Receivables have real figures on first start.
async fn part_payments(
    store: &dyn Store,
    company: &DemoCompany,
    ids: &[i64],
    users: &HashMap<String, User>,
    admin: &User,
) -> Result<(), AppError> {
    let by = users
        .values()
        .find(|u| u.role == keqing_domain::Role::Finance)
        .unwrap_or(admin);
    let today = china_today();
    for (c, &id) in company.customers.iter().zip(ids) {
        if !c
            .orders
            .iter()
            .any(|o| o.due_date.is_some() && o.paid_date.is_none())
        {
            continue;
        }
        for o in store.orders(id).await? {
            let open = o.payments.is_empty() && o.fields.paid_date.is_none();
            if !open || o.fields.due_date.is_none() || o.id % 2 == 0 {
                continue;
            }
            // 40%, in whole yuan when the order is large enough.
            let fen = o.fields.amount.fen() * 2 / 5;
            let fen = if fen >= 100 { fen / 100 * 100 } else { fen };
            if fen <= 0 {
                continue;
            }
            let paid = (china_day(o.fields.ordered_at) + chrono::Duration::days(7)).min(today);
            let p = keqing_domain::NewPayment {
                amount: keqing_domain::Money(fen),
                due_date: o.fields.due_date,
                paid_date: Some(paid),
            };
            store.add_payment(o.id, &p, by).await?;
        }
    }
    Ok(())
}

/// The demo's yearly targets (keqing-demo's `targets`), set by its director
/// through the store as `POST /targets` would, each parsed by the domain;
/// then the company's revision (市局修正任务) as `PATCH /targets/{id}`.
async fn load_targets(
    store: &dyn Store,
    company: &DemoCompany,
    users: &HashMap<String, User>,
    teams: &HashMap<String, i64>,
) -> Result<(), AppError> {
    use keqing_demo::DemoSubject;
    use keqing_domain::performance::{RevisionInput, TargetInput};
    let Some(director) = users
        .values()
        .find(|u| u.role == keqing_domain::Role::Director)
    else {
        return Ok(());
    };
    let regions: HashMap<String, i64> = store
        .regions()
        .await?
        .into_iter()
        .map(|r| (r.name, r.id))
        .collect();
    let missing = |what: &str| AppError::NotFound(format!("the demo's {what}"));
    for d in &company.targets {
        let subject = match &d.subject {
            DemoSubject::Company => None,
            DemoSubject::Team(name) => Some(*teams.get(name).ok_or_else(|| missing(name))?),
            DemoSubject::Region(name) => Some(*regions.get(name).ok_or_else(|| missing(name))?),
            DemoSubject::User(name) => Some(users.get(name).ok_or_else(|| missing(name))?.id),
        };
        let yuan = |fen: i64| format!("{}.{:02}", fen / 100, fen % 100);
        let amount = if d.metric == "visits" {
            serde_json::json!(d.amount)
        } else {
            serde_json::json!(yuan(d.amount))
        };
        let body = serde_json::json!({
            "level": d.subject.level(),
            "subject_id": subject,
            "metric": d.metric,
            "year": d.year,
            "amount": amount,
            "months": d.months,
        });
        let serde_json::Value::Object(body) = body else {
            unreachable!("a JSON object")
        };
        let input = TargetInput::from_json(&body)?;
        let mut target = store.create_target(&input, director).await?;
        for r in &d.revisions {
            let by = users.get(&r.by).unwrap_or(director);
            let revision = RevisionInput {
                version: target.version,
                amount: r.amount,
                months: None,
                effective_from: r.effective_from,
                reason: r.reason.clone(),
            };
            let months = revision.months_from(&target.current().months);
            target = store
                .revise_target(target.id, &revision, months, by)
                .await?;
        }
    }
    Ok(())
}
